/*
 * mmapbase: where the next mmap goes, without address randomization (see README.md).
 *
 *   mmapbase --pidfile=F --outfile=O [--legacy]
 *
 * Runs with ADDR_NO_RANDOMIZE (as under `setarch -R`, or a debugger), and with --legacy also
 * ADDR_COMPAT_LAYOUT (`setarch -L`: mmap searches bottom-up from a third of the address space):
 * it sets them and execs itself again, since an exec decides the layout. Then it maps two areas
 * with a pattern and notes where a further 8-page mmap lands (mapped and unmapped again), which
 * without randomization is a fixed address for a given set of mappings.
 * On SIGTERM: the personality is as set; the areas hold their patterns; a new 8-page mmap lands
 * at the noted address (a restore that kept every mapping but not the mmap base, or the search
 * direction, puts it elsewhere: a process with an unlimited stack loses its room to grow).
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <unistd.h>

#define AREA_PAGES 16
#define PROBE_PAGES 8

static unsigned g_personality;
static unsigned char *g_areas[2];
static void *g_next;
static size_t g_page;

static void *probe_next(void)
{
    void *p = mmap(NULL, PROBE_PAGES * g_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) munmap(p, PROBE_PAGES * g_page);
    return p;
}

static void setup(int legacy)
{
    g_page = (size_t)sysconf(_SC_PAGESIZE);
    for (int i = 0; i < 2; i++) {
        g_areas[i] = mmap(NULL, AREA_PAGES * g_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (g_areas[i] == MAP_FAILED) tp_die_errno("mmap of area %d", i);
        tp_pattern_fill(g_areas[i], AREA_PAGES * g_page, 100 + i, 0);
    }
    if ((g_next = probe_next()) == MAP_FAILED) tp_die_errno("mmap of the probe");
    /* The layout asked for is the one in force: bottom-up starts at a third of the 128 TiB user
     * address space, top-down just below the stack, near its top. */
    uintptr_t middle = (uintptr_t)1 << 46;
    int low = (uintptr_t)g_areas[0] < middle && (uintptr_t)g_areas[1] < middle && (uintptr_t)g_next < middle;
    int high = (uintptr_t)g_areas[0] > middle && (uintptr_t)g_areas[1] > middle && (uintptr_t)g_next > middle;
    if (legacy ? !low : !high)
        tp_die("mappings at %p, %p, then %p: not the %s layout", (void *)g_areas[0], (void *)g_areas[1], g_next, legacy ? "bottom-up" : "top-down");
}

static void check(void)
{
    unsigned now = (unsigned)personality(0xffffffff);
    if (now != g_personality) tp_fail("personality is %#x, expected %#x", now, g_personality);
    for (int i = 0; i < 2; i++) {
        ssize_t bad = tp_pattern_check(g_areas[i], AREA_PAGES * g_page, 100 + i, 0);
        if (bad >= 0) tp_fail("area %d at %p: wrong byte at offset %zd", i, (void *)g_areas[i], bad);
    }
    void *next = probe_next();
    if (next != g_next) tp_fail("a new %d-page mmap lands at %p, before the checkpoint at %p (areas at %p and %p)",
                                PROBE_PAGES, next, g_next, (void *)g_areas[0], (void *)g_areas[1]);
}

int main(int argc, char **argv)
{
    int legacy = 0;
    for (int i = 1; i < argc; i++) legacy |= strcmp(argv[i], "--legacy") == 0;
    unsigned want = ADDR_NO_RANDOMIZE | (legacy ? ADDR_COMPAT_LAYOUT : 0);
    int current = personality(0xffffffff);
    if (current < 0) { perror("personality"); return 1; }
    if (((unsigned)current & want) != want) {
        if (personality((unsigned)current | want) < 0) { perror("personality"); return 1; }
        execv("/proc/self/exe", argv);
        perror("execv /proc/self/exe");
        return 1;
    }
    g_personality = (unsigned)current;

    tp_init(argc, argv, "[--legacy]");
    tp_arg_flag("legacy");
    tp_args_done();
    setup(legacy);
    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();
    check();
    tp_finish();
    return 0;
}

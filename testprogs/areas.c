/*
 * areas: many small memory areas, and mapped files with awkward names (see README.md).
 *
 *   areas --pidfile=F --outfile=O [--count=1000] [--seed=N] [--plain-names]
 *
 * COUNT two-page areas side by side, kept apart by their protections: each holds a pattern of
 * its own in its first page; its second page is, in turn, PROT_NONE with a pattern written
 * before the mprotect, read-only with a pattern, write-only with a pattern, or PROT_NONE and
 * never touched. A process with tens of thousands of areas is what a per-area cost shows on.
 * Beside the outfile: a file whose name holds a newline, mapped shared and written through the
 * mapping, and one whose name holds the four characters "\012" (how /proc/PID/maps writes a
 * newline), mapped private and written (copy-on-write); with --plain-names they are named
 * O.shared and O.private (for benchmarks against builds that cannot map the awkward names).
 * On SIGTERM: every pattern (protections are lifted to read them), that the protections are
 * the ones set (from /proc/self/maps), and the contents of both files' mappings.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const int g_second_prot[4] = {PROT_NONE, PROT_READ, PROT_WRITE, PROT_NONE};

static size_t g_page;
static uint64_t g_seed;
static unsigned long long g_count;
static unsigned char *g_base;

/* The second page of area i holds a pattern unless it is the untouched PROT_NONE kind. */
static int second_patterned(unsigned long long i) { return i % 4 != 3; }

static unsigned char *page_of(unsigned long long i, int second) { return g_base + (2 * i + (unsigned)second) * g_page; }

static uint64_t seed_of(unsigned long long i, int second) { return g_seed + 2 * i + (unsigned)second; }

struct named_file {
    char path[4096];
    unsigned char *map;
    int shared;
};

static struct named_file g_files[2];

static void map_named_file(struct named_file *f, const char *suffix, int shared)
{
    snprintf(f->path, sizeof f->path, "%s%s", tp_outfile, suffix);
    int fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) tp_die_errno("open %s", f->path);
    unsigned char *content = malloc(2 * g_page);
    if (!content) tp_die("out of memory");
    tp_pattern_fill(content, 2 * g_page, g_seed ^ 0xf11e, 0);
    if (write(fd, content, 2 * g_page) != (ssize_t)(2 * g_page)) tp_die_errno("write %s", f->path);
    free(content);
    f->shared = shared;
    f->map = mmap(NULL, 2 * g_page, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE, fd, 0);
    if (f->map == MAP_FAILED) tp_die_errno("mmap %s", f->path);
    close(fd);
    /* The second page is written through the mapping: for the private one, a copy only the process has. */
    tp_pattern_fill(f->map + g_page, g_page, g_seed ^ 0xc0b1, 0);
}

static void check_named_file(const struct named_file *f)
{
    if (tp_pattern_check(f->map, g_page, g_seed ^ 0xf11e, 0) >= 0)
        tp_fail("the mapping of %s: its first page is not the file's", f->path);
    if (tp_pattern_check(f->map + g_page, g_page, g_seed ^ 0xc0b1, 0) >= 0)
        tp_fail("the mapping of %s: the page written through it is lost", f->path);
    /* Shared: the write reached the file. Private: the file is as written by write(). */
    int fd = open(f->path, O_RDONLY);
    unsigned char *page = malloc(g_page);
    if (fd < 0 || !page || pread(fd, page, g_page, (off_t)g_page) != (ssize_t)g_page)
        tp_fail("read back %s: %s", f->path, strerror(errno));
    else if (tp_pattern_check(page, g_page, f->shared ? g_seed ^ 0xc0b1 : g_seed ^ 0xf11e, f->shared ? 0 : g_page) >= 0)
        tp_fail("the file %s does not hold what the %s mapping implies", f->path, f->shared ? "shared" : "private");
    free(page);
    if (fd >= 0) close(fd);
}

/* Protection of the page at p in /proc/self/maps, as PROT_* bits, or -1 if not found. */
static int shown_protection(const unsigned char *p, FILE *maps)
{
    char line[4096];
    rewind(maps);
    while (fgets(line, sizeof line, maps)) {
        unsigned long start, end;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) != 3) continue;
        if ((unsigned long)p < start || (unsigned long)p >= end) continue;
        return (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) | (perms[2] == 'x' ? PROT_EXEC : 0);
    }
    return -1;
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--count=1000] [--seed=N] [--plain-names]");
    g_count = tp_arg_ull("count", 1000, 1, 30000);
    g_seed = tp_arg_ull("seed", (uint64_t)getpid() * 1000003u, 0, UINT64_MAX);
    int plain = tp_arg_flag("plain-names");
    tp_args_done();
    g_page = (size_t)sysconf(_SC_PAGESIZE);

    g_base = mmap(NULL, 2 * g_count * g_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g_base == MAP_FAILED) tp_die_errno("mmap of %llu areas", g_count);
    for (unsigned long long i = 0; i < g_count; i++) {
        tp_pattern_fill(page_of(i, 0), g_page, seed_of(i, 0), 0);
        if (second_patterned(i)) tp_pattern_fill(page_of(i, 1), g_page, seed_of(i, 1), 0);
        if (mprotect(page_of(i, 1), g_page, g_second_prot[i % 4]) < 0) tp_die_errno("mprotect of area %llu", i);
    }
    map_named_file(&g_files[0], plain ? ".shared" : ".new\nline", 1);
    map_named_file(&g_files[1], plain ? ".private" : ".back\\012slash", 0);

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) tp_fail("open /proc/self/maps: %s", strerror(errno));
    unsigned long long bad = 0, first_bad = 0;
    for (unsigned long long i = 0; i < g_count; i++) {
        int ok = 1;
        /* maps is only consulted for a sample: a full scan per area would take minutes. */
        if (maps && (i < 8 || i % 997 == 0)) {
            int shown = shown_protection(page_of(i, 1), maps);
            if (shown != g_second_prot[i % 4]) {
                tp_fail("area %llu: its second page has protection %d in /proc/self/maps, not %d", i, shown, g_second_prot[i % 4]);
                ok = 0;
            }
        }
        if (mprotect(page_of(i, 1), g_page, PROT_READ) < 0) { tp_fail("mprotect of area %llu: %s", i, strerror(errno)); ok = 0; }
        else if (tp_pattern_check(page_of(i, 0), g_page, seed_of(i, 0), 0) >= 0) ok = 0;
        else if (second_patterned(i) ? tp_pattern_check(page_of(i, 1), g_page, seed_of(i, 1), 0) >= 0
                                     : page_of(i, 1)[0] != 0 || page_of(i, 1)[g_page - 1] != 0) ok = 0;
        if (!ok && bad++ == 0) first_bad = i;
    }
    if (maps) fclose(maps);
    if (bad) tp_fail("%llu of %llu areas lost their contents or protection, the first is area %llu (kind %llu)", bad, g_count, first_bad, first_bad % 4);
    for (int i = 0; i < 2; i++) check_named_file(&g_files[i]);
    tp_finish();
}

/*
 * layout: memory areas with every kind of advice the kernel keeps per area (see README.md).
 *
 *   layout --pidfile=F --outfile=O [--seed=N] [--process-flags]
 *
 * Each area holds a pattern of its own and carries one piece of advice, which a fresh mmap would
 * not have: mlock, mlock2(MLOCK_ONFAULT), MADV_DONTDUMP, MADV_DONTFORK, MADV_WIPEONFORK,
 * MADV_HUGEPAGE (2 MiB aligned), MADV_NOHUGEPAGE, MADV_MERGEABLE (when the kernel has KSM),
 * MADV_SEQUENTIAL, MADV_RANDOM, and MAP_GROWSDOWN. Beside them: a read-only area with data, a
 * private mapping of /dev/zero, a PROT_NONE reservation with a writable window inside, a
 * read-write MAP_NORESERVE area larger than memory and swap together (a byte at each end), an
 * area whose pages 2 and 3 are a guard region (MADV_GUARD_INSTALL, 6.13+: they must fault), an area
 * moved and grown by mremap, and the whole process under PR_SET_THP_DISABLE. --process-flags
 * adds mlockall(MCL_FUTURE | MCL_ONFAULT), PR_SET_MEMORY_MERGE and PR_SET_MDWE (where the kernel has
 * them), checked through a new mapping (locked, not faulted in), prctl and a refused RWX mmap.
 * On SIGTERM: every pattern; every area's VmFlags in /proc/self/smaps name its advice (and its
 * neighbours' advice did not spread to it); VmLck counts the locked pages; THP_enabled is 0; and
 * a forked child finds the wipe-on-fork area zero-filled and the dont-fork area absent.
 */
#include "common.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

/* Newer than this system's headers (Linux 6.3 and 6.4). */
#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_GET_MDWE 66
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif
#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#define PR_GET_MEMORY_MERGE 68
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

static int g_merge, g_mdwe; /* --process-flags took PR_SET_MEMORY_MERGE, PR_SET_MDWE */

/* Guard regions (MADV_GUARD_INSTALL, 6.13+): pages 2 and 3 of a patterned area fault on access. */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
static unsigned char *g_guarded;
static int g_guards;
static sigjmp_buf g_fault;

static void on_fault(int sig)
{
    (void)sig;
    siglongjmp(g_fault, 1);
}

/* Whether reading *p faults (SIGSEGV), with the handler set only around the read. */
static int faults(volatile unsigned char *p)
{
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_fault;
    sigaction(SIGSEGV, &sa, &old);
    int faulted = 1;
    if (sigsetjmp(g_fault, 1) == 0) {
        (void)*p;
        faulted = 0;
    }
    sigaction(SIGSEGV, &old, NULL);
    return faulted;
}

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

#define AREA_PAGES 8
#define HUGE_SIZE (2UL << 20)

struct area {
    const char *name;
    const char *flag;      /* the smaps VmFlags name it must carry, NULL if none */
    unsigned char *start;
    size_t len;
    int prot;
    int patterned;         /* holds the pattern (PROT_NONE areas do not) */
};

static size_t g_page;
static unsigned char *g_sparse; /* MAP_NORESERVE, larger than memory and swap */
static size_t g_sparse_len;
static uint64_t g_seed;
static struct area g_areas[24];
static int g_count;

static unsigned char *map_anon(size_t len, int prot, int flags, const char *what)
{
    void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (p == MAP_FAILED) tp_die_errno("mmap of the %s area (%zu bytes)", what, len);
    return p;
}

static struct area *add(const char *name, const char *flag, unsigned char *start, size_t len, int prot, int patterned)
{
    struct area *a = &g_areas[g_count++];
    *a = (struct area){name, flag, start, len, prot, patterned};
    if (patterned) tp_pattern_fill(start, len, g_seed + (uint64_t)g_count, 0);
    return a;
}

/* An area of AREA_PAGES pages with a pattern, then madvise(advice) on it. */
static void advised(const char *name, const char *flag, int advice)
{
    unsigned char *p = map_anon(AREA_PAGES * g_page, PROT_READ | PROT_WRITE, 0, name);
    add(name, flag, p, AREA_PAGES * g_page, PROT_READ | PROT_WRITE, 1);
    if (madvise(p, AREA_PAGES * g_page, advice) < 0) tp_die_errno("madvise(%s)", name);
}

static int pattern_ok(const struct area *a)
{
    return !a->patterned || tp_pattern_check(a->start, a->len, g_seed + (uint64_t)(a - g_areas) + 1, 0) < 0;
}

/* The VmFlags line of the smaps entry that starts at `start`, or "" when there is none. */
static void vmflags_of(const unsigned char *start, char *out, size_t size)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) { tp_fail("open /proc/self/smaps: %s", strerror(errno)); out[0] = 0; return; }
    char line[512];
    int here = 0;
    out[0] = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ':') > strchr(line, ' ')) here = (unsigned char *)lo == start;
        else if (here && !strncmp(line, "VmFlags:", 8)) { snprintf(out, size, "%s", line + 8); break; }
    }
    fclose(f);
    out[strcspn(out, "\n")] = 0;
}

static int has_flag(const char *flags, const char *flag)
{
    char padded[520];
    snprintf(padded, sizeof padded, " %s ", flags);
    char want[8];
    snprintf(want, sizeof want, " %s ", flag);
    return strstr(padded, want) != NULL;
}

static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long value = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':') value = atol(line + n + 1);
    if (f) fclose(f);
    return value;
}

/* In a forked child: the wipe-on-fork area reads as zeros, the dont-fork one is not mapped. */
static void check_fork(const struct area *wipe, const struct area *dont)
{
    pid_t child = fork();
    if (child < 0) { tp_fail("fork: %s", strerror(errno)); return; }
    if (child == 0) {
        for (size_t i = 0; i < wipe->len; i++)
            if (wipe->start[i]) _exit(10);
        unsigned char vec;
        if (mincore(dont->start, g_page, &vec) == 0 || errno != ENOMEM) _exit(11);
        _exit(0);
    }
    int status;
    if (waitpid(child, &status, 0) != child) { tp_fail("waitpid: %s", strerror(errno)); return; }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        tp_fail("forked child: %s (status 0x%x)",
                WIFEXITED(status) && WEXITSTATUS(status) == 10 ? "the wipe-on-fork area is not zero-filled"
                : WIFEXITED(status) && WEXITSTATUS(status) == 11 ? "the dont-fork area is mapped in the child"
                : "ended abnormally", status);
}

/* --process-flags: what is asked of the memory as a whole, set last (everything mapped after
 * mlockall(MCL_FUTURE) is locked). PR_SET_MEMORY_MERGE (6.4+, KSM) and PR_SET_MDWE (6.3+) only
 * where the kernel has them. */

static void set_process_flags(void)
{
    if (mlockall(MCL_FUTURE | MCL_ONFAULT) < 0) tp_die_errno("mlockall(MCL_FUTURE | MCL_ONFAULT)");
    g_merge = prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) == 0;
    if (!g_merge) tp_log("no PR_SET_MEMORY_MERGE here (%s)", strerror(errno));
    g_mdwe = prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) == 0;
    if (!g_mdwe) tp_log("no PR_SET_MDWE here (%s)", strerror(errno));
}

static void check_process_flags(void)
{
    long before = status_kib("VmLck");
    unsigned char *p = mmap(NULL, g_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { tp_fail("mmap of a page: %s", strerror(errno)); return; }
    long after = status_kib("VmLck");
    if (after - before != (long)(g_page / 1024))
        tp_fail("a new mapping is not locked (VmLck %ld kB, then %ld kB): mlockall(MCL_FUTURE) was lost", before, after);
    unsigned char resident = 0;
    if (mincore(p, g_page, &resident) == 0 && (resident & 1))
        tp_fail("a new mapping was faulted in at once: MCL_ONFAULT was lost");
    munmap(p, g_page);
    if (g_merge && prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) != 1) tp_fail("PR_GET_MEMORY_MERGE is not 1: the KSM setting was lost");
    if (g_mdwe) {
        int mdwe = prctl(PR_GET_MDWE, 0, 0, 0, 0);
        if (mdwe != PR_MDWE_REFUSE_EXEC_GAIN) tp_fail("PR_GET_MDWE gives %d, expected %d", mdwe, PR_MDWE_REFUSE_EXEC_GAIN);
        void *x = mmap(NULL, g_page, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (x != MAP_FAILED) { tp_fail("a writable executable mapping was allowed: MDWE was lost"); munmap(x, g_page); }
    }
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--seed=N] [--process-flags]");
    g_seed = tp_arg_ull("seed", (uint64_t)getpid() * 1000003u, 0, UINT64_MAX);
    int process_flags = tp_arg_flag("process-flags");
    tp_args_done();
    g_page = (size_t)sysconf(_SC_PAGESIZE);

    if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0) tp_die_errno("prctl(PR_SET_THP_DISABLE)");

    unsigned char *p = map_anon(AREA_PAGES * g_page, PROT_READ | PROT_WRITE, 0, "locked");
    add("locked", "lo", p, AREA_PAGES * g_page, PROT_READ | PROT_WRITE, 1);
    if (mlock(p, AREA_PAGES * g_page) < 0) tp_die_errno("mlock");
    p = map_anon(AREA_PAGES * g_page, PROT_READ | PROT_WRITE, 0, "lock-on-fault");
    add("lock-on-fault", "lf", p, AREA_PAGES * g_page, PROT_READ | PROT_WRITE, 1);
    if (syscall(SYS_mlock2, p, AREA_PAGES * g_page, MLOCK_ONFAULT) < 0) tp_die_errno("mlock2(MLOCK_ONFAULT)");
    /* smaps names VM_LOCKONFAULT "lf" only since Linux 5.x: where it does not, only "lo" can be checked. */
    char shown[512];
    vmflags_of(p, shown, sizeof shown);
    if (!has_flag(shown, "lf")) {
        tp_log("smaps does not show lock-on-fault (VmFlags '%s'): only 'lo' is checked", shown);
        g_areas[g_count - 1].flag = "lo";
    }
    advised("dont-dump", "dd", MADV_DONTDUMP);
    advised("dont-fork", "dc", MADV_DONTFORK);
    struct area *dont = &g_areas[g_count - 1];
    advised("wipe-on-fork", "wf", MADV_WIPEONFORK);
    struct area *wipe = &g_areas[g_count - 1];
    advised("no-huge", "nh", MADV_NOHUGEPAGE);
    advised("sequential", "sr", MADV_SEQUENTIAL);
    advised("random", "rr", MADV_RANDOM);
    /* KSM is a kernel option: without it MADV_MERGEABLE fails with EINVAL, and nothing is checked. */
    p = map_anon(AREA_PAGES * g_page, PROT_READ | PROT_WRITE, 0, "mergeable");
    if (madvise(p, AREA_PAGES * g_page, MADV_MERGEABLE) == 0) add("mergeable", "mg", p, AREA_PAGES * g_page, PROT_READ | PROT_WRITE, 1);
    else if (errno != EINVAL) tp_die_errno("madvise(MADV_MERGEABLE)");
    else tp_log("no KSM in this kernel: MADV_MERGEABLE not checked");

    /* A 2 MiB aligned area in the middle of a larger reservation, under MADV_HUGEPAGE. */
    unsigned char *reserve = map_anon(3 * HUGE_SIZE, PROT_READ | PROT_WRITE, 0, "huge reservation");
    unsigned char *huge = (unsigned char *)(((uintptr_t)reserve + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1));
    size_t below = (size_t)(huge - reserve), above = 2 * HUGE_SIZE - below;
    if ((below && munmap(reserve, below) < 0) || munmap(huge + HUGE_SIZE, above) < 0) tp_die_errno("munmap around the huge area");
    if (madvise(huge, HUGE_SIZE, MADV_HUGEPAGE) < 0) tp_die_errno("madvise(MADV_HUGEPAGE)");
    add("huge", "hg", huge, HUGE_SIZE, PROT_READ | PROT_WRITE, 1);

    p = map_anon(AREA_PAGES * g_page, PROT_READ | PROT_WRITE, MAP_GROWSDOWN, "grows-down");
    add("grows-down", "gd", p, AREA_PAGES * g_page, PROT_READ | PROT_WRITE, 1);

    p = map_anon(AREA_PAGES * g_page, PROT_READ | PROT_WRITE, 0, "read-only");
    add("read-only", NULL, p, AREA_PAGES * g_page, PROT_READ, 1);
    if (mprotect(p, AREA_PAGES * g_page, PROT_READ) < 0) tp_die_errno("mprotect(read-only)");

    /* A private mapping of /dev/zero: anonymous memory named after the device (between
     * areas of other protections, so that a restored anonymous one merges with neither). */
    int zero = open("/dev/zero", O_RDWR);
    if (zero < 0) tp_die_errno("open /dev/zero");
    p = mmap(NULL, AREA_PAGES * g_page, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0);
    if (p == MAP_FAILED) tp_die_errno("mmap of /dev/zero");
    close(zero);
    add("dev-zero", NULL, p, AREA_PAGES * g_page, PROT_READ | PROT_WRITE, 1);

    /* 32 pages reserved PROT_NONE, pages 12..15 opened up and written. */
    p = map_anon(32 * g_page, PROT_NONE, MAP_NORESERVE, "reservation");
    if (mprotect(p + 12 * g_page, 4 * g_page, PROT_READ | PROT_WRITE) < 0) tp_die_errno("mprotect(window)");
    add("reservation-low", NULL, p, 12 * g_page, PROT_NONE, 0);
    add("window", NULL, p + 12 * g_page, 4 * g_page, PROT_READ | PROT_WRITE, 1);
    add("reservation-high", NULL, p + 16 * g_page, 16 * g_page, PROT_NONE, 0);

    g_guarded = map_anon(AREA_PAGES * g_page, PROT_READ | PROT_WRITE, 0, "guarded");
    tp_pattern_fill(g_guarded, AREA_PAGES * g_page, g_seed ^ 0x6767, 0);
    g_guards = madvise(g_guarded + 2 * g_page, 2 * g_page, MADV_GUARD_INSTALL) == 0;
    if (!g_guards) tp_log("no guard regions here (%s)", strerror(errno));

    /* MAP_NORESERVE, read-write and larger than memory and swap together: the kernel maps it only
     * because it need not commit it. A byte written at each end. */
    struct sysinfo si;
    if (sysinfo(&si) < 0) tp_die_errno("sysinfo");
    g_sparse_len = ((size_t)(si.totalram + si.totalswap) * si.mem_unit + (1UL << 30)) / HUGE_SIZE * HUGE_SIZE;
    g_sparse = map_anon(g_sparse_len, PROT_READ | PROT_WRITE, MAP_NORESERVE, "sparse");
    add("sparse", "nr", g_sparse, g_sparse_len, PROT_READ | PROT_WRITE, 0);
    g_sparse[0] = 0x11;
    g_sparse[g_sparse_len - 1] = 0x22;

    /* Written, then moved and grown to four times its size by mremap: the data moves with it. */
    p = map_anon(AREA_PAGES * g_page, PROT_READ | PROT_WRITE, 0, "moved");
    tp_pattern_fill(p, AREA_PAGES * g_page, g_seed ^ 0x5a5a, 0);
    unsigned char *moved = mremap(p, AREA_PAGES * g_page, 4 * AREA_PAGES * g_page, MREMAP_MAYMOVE);
    if (moved == MAP_FAILED) tp_die_errno("mremap");

    if (process_flags) set_process_flags();
    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    for (int i = 0; i < g_count; i++) {
        struct area *a = &g_areas[i];
        if (!pattern_ok(a)) tp_fail("%s area at %p: its pattern is not intact", a->name, (void *)a->start);
        char flags[512];
        vmflags_of(a->start, flags, sizeof flags);
        if (!flags[0]) { tp_fail("%s area at %p: no smaps entry starts there", a->name, (void *)a->start); continue; }
        if (a->flag && !has_flag(flags, a->flag))
            tp_fail("%s area at %p: VmFlags '%s' lack '%s'", a->name, (void *)a->start, flags, a->flag);
        /* No advice spread: only this area's own flag among the advised ones. */
        static const char *advice[] = {"lo", "lf", "dd", "dc", "wf", "hg", "nh", "mg", "sr", "rr", "gd"};
        for (size_t k = 0; k < sizeof advice / sizeof advice[0]; k++) {
            int own = a->flag && (!strcmp(a->flag, advice[k]) || (!strcmp(a->flag, "lf") && !strcmp(advice[k], "lo")));
            own |= g_merge && !strcmp(advice[k], "mg"); /* PR_SET_MEMORY_MERGE offers every area to KSM */
            if (!own && has_flag(flags, advice[k]))
                tp_fail("%s area at %p: VmFlags '%s' have '%s', which it was never given", a->name, (void *)a->start, flags, advice[k]);
        }
        int readable = has_flag(flags, "rd"), writable = has_flag(flags, "wr");
        if (readable != !!(a->prot & PROT_READ) || writable != !!(a->prot & PROT_WRITE))
            tp_fail("%s area at %p: VmFlags '%s' do not match its protection %d", a->name, (void *)a->start, flags, a->prot);
    }
    if (tp_pattern_check(moved, AREA_PAGES * g_page, g_seed ^ 0x5a5a, 0) >= 0) tp_fail("moved area: its pattern is not intact");
    if (tp_pattern_check(g_guarded, 2 * g_page, g_seed ^ 0x6767, 0) >= 0
        || (!g_guards && tp_pattern_check(g_guarded + 2 * g_page, 2 * g_page, g_seed ^ 0x6767, 2 * g_page) >= 0)
        || tp_pattern_check(g_guarded + 4 * g_page, (AREA_PAGES - 4) * g_page, g_seed ^ 0x6767, 4 * g_page) >= 0)
        tp_fail("guarded area: its pattern is not intact");
    if (g_guards && (!faults(g_guarded + 2 * g_page) || !faults(g_guarded + 4 * g_page - 1)))
        tp_fail("guarded area: pages 2 and 3 no longer fault: the guard region was lost");
    if (g_guards && faults(g_guarded + 4 * g_page)) tp_fail("guarded area: page 4 faults: the guard region grew");
    if (g_sparse[0] != 0x11 || g_sparse[g_sparse_len - 1] != 0x22) tp_fail("sparse area: the bytes at its ends are not intact");
    for (size_t i = AREA_PAGES * g_page; i < 4 * AREA_PAGES * g_page; i++)
        if (moved[i]) { tp_fail("moved area: byte %zu of the grown part is %u, not 0", i, moved[i]); break; }

    /* VmLck: the locked area in full, and of the lock-on-fault one the pages it faulted in (all). */
    long locked = status_kib("VmLck"), expected = (long)(2 * AREA_PAGES * g_page / 1024);
    /* With MCL_FUTURE whatever was mapped since counts too. */
    if (process_flags ? locked < expected : locked != expected) tp_fail("VmLck is %ld kB, expected %ld kB", locked, expected);
    long thp = status_kib("THP_enabled");
    if (thp != 0) tp_fail("THP_enabled is %ld, expected 0 (PR_SET_THP_DISABLE)", thp);
    int disabled = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
    if (disabled != 1) tp_fail("PR_GET_THP_DISABLE gives %d, expected 1", disabled);

    if (process_flags) check_process_flags();
    check_fork(wipe, dont);
    tp_finish();
}

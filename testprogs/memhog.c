/*
 * memhog: N MiB of anonymous private memory, every page written with a
 * pattern that depends on the page index and a per-run seed.
 *
 *   memhog --pidfile=F --outfile=O [--mib=64] [--seed=N] [--full-check]
 *
 * Word j (8 bytes) of page p holds base(p) + j * K, base(p) = hash(seed, p).
 * On SIGTERM every page is verified: 4 words of every page (first, last and
 * two that vary with the page index) and every word of one page in 61, or of
 * all pages with --full-check. A missing mapping (SIGSEGV/SIGBUS during the
 * check) is reported as a failure too. The first bad page is reported with
 * the word, expected and found values, plus the number of bad pages.
 * Timings go to stderr (this program is used by the benchmarks).
 */
#include "common.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define WORD_K 0x9e3779b97f4a7c15ULL
#define FULL_EVERY 61

static uint64_t g_seed;
static size_t g_words_per_page;

static inline uint64_t page_base(uint64_t p)
{
    return tp_mix64(g_seed ^ (p * 0xd1b54a32d192ed03ULL));
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static sigjmp_buf g_fault_jmp;
static volatile sig_atomic_t g_fault_sig;
static void *volatile g_fault_addr;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    g_fault_sig = sig;
    g_fault_addr = si->si_addr;
    siglongjmp(g_fault_jmp, 1);
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--mib=64] [--seed=N] [--full-check]");
    size_t mib = (size_t)tp_arg_ull("mib", 64, 1, 1ULL << 20);
    int seed_given = tp_arg_str("seed", NULL) != NULL;
    uint64_t seed = tp_arg_ull("seed", 0, 0, UINT64_MAX);
    int full = tp_arg_flag("full-check");
    tp_args_done();

    if (!seed_given)
        seed = tp_mix64(((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ 0x6d656d68ULL);
    g_seed = seed;

    long psz = sysconf(_SC_PAGESIZE);
    if (psz <= 0)
        tp_die_errno("sysconf(_SC_PAGESIZE)");
    size_t page = (size_t)psz;
    g_words_per_page = page / 8;
    size_t len = mib << 20;
    size_t npages = len / page;

    double t0 = now_s();
    uint64_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        tp_die_errno("mmap(%zu MiB)", mib);
    for (size_t p = 0; p < npages; p++) {
        uint64_t *w = mem + p * g_words_per_page;
        uint64_t v = page_base(p);
        for (size_t j = 0; j < g_words_per_page; j++, v += WORD_K)
            w[j] = v;
    }
    double t1 = now_s();
    tp_log("%zu MiB at %p (%zu pages of %zu bytes), seed 0x%llx, filled in %.3f s", mib,
           (void *)mem, npages, page, (unsigned long long)seed, t1 - t0);

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) != 0 || sigaction(SIGBUS, &sa, NULL) != 0)
        tp_log("sigaction(SIGSEGV/SIGBUS): %s (continuing without)", strerror(errno));

    double t2 = now_s();
    volatile size_t p = 0; /* volatile: survives the siglongjmp */
    size_t nbad = 0, nfull = 0;
    int reported = 0;
    const size_t last = g_words_per_page - 1;
    if (sigsetjmp(g_fault_jmp, 1) != 0) {
        tp_fail("%s at address %p while verifying page %zu of %zu (offset 0x%zx)",
                g_fault_sig == SIGBUS ? "SIGBUS" : "SIGSEGV", g_fault_addr, (size_t)p, npages,
                (size_t)p * page);
        tp_finish();
    }
    for (; p < npages; p++) {
        const uint64_t *w = mem + p * g_words_per_page;
        uint64_t base = page_base(p);
        size_t js[4] = {0, last, (p * 7 + 1) & last, (p * 131 + 300) & last};
        int bad = 0;
        size_t badj = 0;
        for (int k = 0; k < 4 && !bad; k++)
            if (w[js[k]] != base + js[k] * WORD_K)
                bad = 1, badj = js[k];
        if (!bad && (full || p % FULL_EVERY == 0)) {
            nfull++;
            uint64_t v = base;
            for (size_t j = 0; j < g_words_per_page; j++, v += WORD_K)
                if (w[j] != v) {
                    bad = 1, badj = j;
                    break;
                }
        }
        if (bad) {
            nbad++;
            if (!reported) {
                reported = 1;
                tp_log("first bad page %zu at %p", (size_t)p, (const void *)w);
                tp_fail("page %zu (offset 0x%zx) word %zu: expected 0x%016llx got 0x%016llx", 
                        (size_t)p, (size_t)p * page, badj,
                        (unsigned long long)(base + badj * WORD_K), (unsigned long long)w[badj]);
            }
        }
    }
    double t3 = now_s();
    if (nbad)
        tp_fail("%zu of %zu pages are bad", nbad, npages);
    tp_log("verified %zu pages (%zu fully) in %.3f s", npages, nfull, t3 - t2);
    tp_finish();
}

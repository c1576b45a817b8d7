/*
 * mutator: memory that keeps changing while a --leave-running checkpoint writes it (see README.md).
 *
 *   mutator --pidfile=F --outfile=O [--private-pages=1031] [--shared-pages=257]
 *
 * Two areas are rewritten without pause, sweep after sweep: a private anonymous one and a shared
 * anonymous one (MAP_SHARED | MAP_ANONYMOUS). Sweep g writes g into the first 8 bytes of each
 * page in turn, so at any instant an area holds g + 1 up to some page and g from there on: a
 * copy made at one instant has that shape, a copy read page by page while the sweeps go on
 * does not (the tests read the image for it). Two more areas hold a fixed pattern, one under
 * MADV_WIPEONFORK and one under MADV_DONTFORK: a fork of the process gets the first empty and
 * not the second at all.
 * On SIGTERM: both swept areas must still have the sweep's shape, and have been swept after
 * the restore too; both fixed areas must hold their pattern.
 */
#include "common.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FIXED_PAGES 67

static size_t g_page;

static unsigned char *map_area(size_t pages, int flags, const char *what)
{
    void *p = mmap(NULL, pages * g_page, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) tp_die_errno("mmap of the %s area (%zu pages)", what, pages);
    return p;
}

static inline unsigned char pattern_byte(size_t i, unsigned salt) { return (unsigned char)(i * 131 + salt); }

static void fill_pattern(unsigned char *p, unsigned salt)
{
    for (size_t i = 0; i < FIXED_PAGES * g_page; i++) p[i] = pattern_byte(i, salt);
}

static void check_pattern(const unsigned char *p, unsigned salt, const char *what)
{
    for (size_t i = 0; i < FIXED_PAGES * g_page; i++)
        if (p[i] != pattern_byte(i, salt)) {
            tp_fail("%s area: byte %zu is %u, expected %u", what, i, p[i], pattern_byte(i, salt));
            return;
        }
}

static void sweep(unsigned char *area, size_t pages, uint64_t generation)
{
    for (size_t i = 0; i < pages; i++) *(volatile uint64_t *)(area + i * g_page) = generation;
}

/* The sweep's shape: non-increasing from the first page to the last, by at most one in all. */
static uint64_t check_sweep(const unsigned char *area, size_t pages, const char *what)
{
    uint64_t first = *(const uint64_t *)area, last = *(const uint64_t *)(area + (pages - 1) * g_page);
    for (size_t i = 1; i < pages; i++) {
        uint64_t before = *(const uint64_t *)(area + (i - 1) * g_page), here = *(const uint64_t *)(area + i * g_page);
        if (here > before) {
            tp_fail("%s area: page %zu holds sweep %llu after page %zu with %llu (a torn copy)", what, i,
                    (unsigned long long)here, i - 1, (unsigned long long)before);
            return first;
        }
    }
    if (first == 0 || first - last > 1)
        tp_fail("%s area: sweeps %llu..%llu (expected one sweep and the next, from 1)", what,
                (unsigned long long)last, (unsigned long long)first);
    return first;
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--private-pages=1031] [--shared-pages=257]");
    size_t private_pages = (size_t)tp_arg_ull("private-pages", 1031, 2, 1 << 20);
    size_t shared_pages = (size_t)tp_arg_ull("shared-pages", 257, 2, 1 << 20);
    tp_args_done();
    g_page = (size_t)sysconf(_SC_PAGESIZE);

    /* Mapped first, the shared area lies above the private one (mmap works down), so a copy
     * written in address order reads it once the program has run on for a while. */
    unsigned char *shared_area = map_area(shared_pages, MAP_SHARED, "shared");
    unsigned char *private_area = map_area(private_pages, MAP_PRIVATE, "private");
    unsigned char *wipe = map_area(FIXED_PAGES, MAP_PRIVATE, "wipe-on-fork");
    unsigned char *dont = map_area(FIXED_PAGES, MAP_PRIVATE, "dont-fork");
    if (madvise(wipe, FIXED_PAGES * g_page, MADV_WIPEONFORK) < 0) tp_die_errno("madvise(MADV_WIPEONFORK)");
    if (madvise(dont, FIXED_PAGES * g_page, MADV_DONTFORK) < 0) tp_die_errno("madvise(MADV_DONTFORK)");
    fill_pattern(wipe, 7);
    fill_pattern(dont, 11);

    /* The tests find the swept areas in the image by these addresses. */
    tp_log("private area %p, %zu pages; shared area %p, %zu pages", (void *)private_area, private_pages,
           (void *)shared_area, shared_pages);

    uint64_t generation = 1;
    sweep(private_area, private_pages, generation);
    sweep(shared_area, shared_pages, generation);
    tp_ready();
    while (!tp_sigterm_pending()) {
        generation++;
        sweep(private_area, private_pages, generation);
        sweep(shared_area, shared_pages, generation);
    }

    tp_begin_check();
    uint64_t private_now = check_sweep(private_area, private_pages, "private");
    uint64_t shared_now = check_sweep(shared_area, shared_pages, "shared");
    if (private_now != generation || shared_now != generation)
        tp_fail("the loop is at sweep %llu, the areas at %llu and %llu", (unsigned long long)generation,
                (unsigned long long)private_now, (unsigned long long)shared_now);
    check_pattern(wipe, 7, "wipe-on-fork");
    check_pattern(dont, 11, "dont-fork");
    tp_finish();
}

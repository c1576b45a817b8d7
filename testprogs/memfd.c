/*
 * memfd: memfd_create objects held as descriptors and as mappings (see README.md).
 *
 *   memfd --pidfile=F --outfile=O [--child]
 *
 * - A: memfd "cryo-a" (MFD_ALLOW_SEALING), 1 MiB + 100 bytes (not a page multiple): a pattern in
 *   pages 0-2 and in the last, partial page (pwrite), the pages between them holes; fd 30 at
 *   offset 777, fd 31 a dup of it (one open file description); sealed F_SEAL_SHRINK|F_SEAL_GROW;
 *   its first 64 KiB mapped MAP_SHARED read-write twice, back to back (a "ring buffer": a
 *   128 KiB PROT_NONE reservation, then two MAP_FIXED mappings of offset 0); its first 2 pages
 *   mapped MAP_PRIVATE read-write with another pattern written into page 1 (copy-on-write: the
 *   object keeps its own page 1).
 * - B: memfd "cryo b" (a space in the name; MFD_CLOEXEC, no sealing), 3 pages written with
 *   write(), mode 0640; fd 32 (FD_CLOEXEC, O_RDWR, offset 3 pages) and fd 33, a second open of
 *   /proc/self/fd/32 O_RDONLY at offset 5000. Not mapped.
 * - C: memfd "cryo-c", 2 pages, sealed F_SEAL_WRITE|F_SEAL_SEAL, then mapped MAP_SHARED
 *   PROT_READ through a read-only reopen (closed afterwards); fd 34.
 * - D (where the kernel has F_SEAL_FUTURE_WRITE): memfd "cryo-d", 1 page mapped MAP_SHARED
 *   read-write, the pattern written through the mapping, then sealed F_SEAL_FUTURE_WRITE; its
 *   fd closed: D lives only in its mapping.
 * --child: a child (forked after tp_setsid) shares A's descriptors and mappings and answers
 *   requests over a pipe by writing ring[100] = ring[99] + 1 through A's first mapping.
 * Patterns depend on a per-run seed (pid, time).
 * On SIGTERM:
 * - A: size, seals, every pattern byte (pread), holes read as zeros, offset 777 shared by fds
 *   30 and 31, the /proc/self/fd link "/memfd:cryo-a (deleted)"; both ring mappings show the
 *   object (first 3 pages the pattern, the rest zeros) and each other; writes through the first
 *   (offset 10, last 4 bytes) show through the second and through pread; the private mapping's
 *   page 1 keeps its private pattern, the object's page 1 its own, the private page 0 shows the
 *   object; ftruncate(30, 0) is refused (EPERM); each of A's mappings in /proc/self/maps is
 *   "/memfd:cryo-a (deleted)" with fd 30's inode.
 * - B: content through fd 32 and 33, FD_CLOEXEC on 32 only, access modes O_RDWR / O_RDONLY,
 *   offsets 3 pages / 5000 and independent of each other, mode 0640, link "/memfd:cryo b
 *   (deleted)", seals F_SEAL_SEAL, write on fd 33 EBADF, one inode.
 * - C: seals, the mapping's content, write(34) EPERM, its maps permissions as at set-up
 *   ("r--s"), its maps name and inode (fd 34's).
 * - D: content, still writable through the mapping (rw-s), maps name; through
 *   /proc/self/map_files (skipped without the privilege): link name, seals F_SEAL_FUTURE_WRITE,
 *   write() and a new shared writable mmap refused (EPERM).
 * - --child: its answer shows through both ring mappings and pread; it exits 0 when the
 *   request pipe closes.
 * A SIGSEGV/SIGBUS while checking (a mapping lost) is reported as FAIL.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FD_A 30
#define FD_A2 31
#define FD_B 32
#define FD_B_RO 33
#define FD_C 34

#define A_SIZE ((off_t)(1 << 20) + 100)
#define A_OFFSET 777
#define RING (64 * 1024)
#define B_RO_OFFSET 5000

static size_t g_page;
static uint64_t g_seed;
static uint64_t seed_of(int which) { return g_seed + (uint64_t)which * 0x1000193ULL; }
enum { S_A = 1, S_APRIV, S_B, S_C, S_D };

static unsigned char *g_ring1, *g_ring2, *g_priv, *g_cm, *g_dm;

/* ---- set-up helpers ---- */

static int make_memfd(const char *name, unsigned flags)
{
    int fd = memfd_create(name, flags);
    if (fd < 0) tp_die_errno("memfd_create(\"%s\")", name);
    return fd;
}

static void pwrite_pattern(int fd, off_t off, size_t len, uint64_t seed, const char *what)
{
    unsigned char *buf = malloc(len);
    if (!buf) tp_die("malloc(%zu)", len);
    tp_pattern_fill(buf, len, seed, (uint64_t)off);
    if (pwrite(fd, buf, len, off) != (ssize_t)len) tp_die_errno("pwrite %s (%zu bytes at %lld)", what, len, (long long)off);
    free(buf);
}

static void move_fd(int fd, int target, int cloexec, const char *what)
{
    if (tp_move_fd(fd, target, cloexec) != target) tp_die_errno("move %s to fd %d", what, target);
}

/* ---- /proc/self/maps ---- */

struct maps_entry {
    unsigned long start, end, inode;
    char perms[5];
    char path[256];
};

/* The maps line of the area holding addr; 0 if found. */
static int maps_find(const void *addr, struct maps_entry *e)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    char line[512];
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long start, end, off, inode;
        char perms[5], dev[16];
        int n = 0;
        if (sscanf(line, "%lx-%lx %4s %lx %15s %lu %n", &start, &end, perms, &off, dev, &inode, &n) < 6) continue;
        if ((unsigned long)addr < start || (unsigned long)addr >= end) continue;
        e->start = start;
        e->end = end;
        e->inode = inode;
        memcpy(e->perms, perms, 5);
        snprintf(e->path, sizeof e->path, "%s", n > 0 ? line + n : "");
        e->path[strcspn(e->path, "\n")] = 0;
        found = 0;
        break;
    }
    fclose(f);
    return found;
}

/* ---- checks ---- */

static int read_at(int fd, void *buf, size_t len, off_t off, const char *what)
{
    ssize_t r = pread(fd, buf, len, off);
    if (r == (ssize_t)len) return 0;
    if (r < 0) tp_fail("%s: pread(%d, %zu bytes at %lld): %s", what, fd, len, (long long)off, strerror(errno));
    else tp_fail("%s: pread(%d, %zu bytes at %lld) gave %zd bytes", what, fd, len, (long long)off, r);
    return -1;
}

/* Bytes off..off+len-1 of an object, buf holding them, against stream seed (object offsets). */
static void check_pattern(const unsigned char *buf, size_t len, uint64_t seed, off_t off, const char *what)
{
    ssize_t at = tp_pattern_check(buf, len, seed, (uint64_t)off);
    if (at >= 0) {
        uint64_t i = (uint64_t)off + (uint64_t)at;
        tp_fail("%s: byte at offset %llu is 0x%02x, expected 0x%02x", what, (unsigned long long)i, buf[at], tp_pattern_byte(seed, i));
    }
}

static void check_pread_pattern(int fd, off_t off, size_t len, uint64_t seed, const char *what)
{
    unsigned char *buf = malloc(len);
    if (!buf) { tp_fail("malloc(%zu)", len); return; }
    if (read_at(fd, buf, len, off, what) == 0) check_pattern(buf, len, seed, off, what);
    free(buf);
}

static void check_zero(const unsigned char *buf, size_t len, off_t off, const char *what)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i]) {
            tp_fail("%s: byte at offset %lld is 0x%02x, expected 0 (a hole)", what, (long long)off + (long long)i, buf[i]);
            return;
        }
}

static void check_pread_zero(int fd, off_t off, size_t len, const char *what)
{
    unsigned char buf[64];
    if (len > sizeof buf) len = sizeof buf;
    if (read_at(fd, buf, len, off, what) == 0) check_zero(buf, len, off, what);
}

static void check_offset(int fd, off_t expected, const char *what)
{
    off_t at = lseek(fd, 0, SEEK_CUR);
    if (at < 0) tp_fail("%s: lseek(%d, 0, SEEK_CUR): %s", what, fd, strerror(errno));
    else if (at != expected) tp_fail("%s: fd %d is at offset %lld, expected %lld", what, fd, (long long)at, (long long)expected);
}

static void check_seals(int fd, int expected, const char *what)
{
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0) tp_fail("%s: fcntl(%d, F_GET_SEALS): %s", what, fd, strerror(errno));
    else if (seals != expected) tp_fail("%s: seals 0x%x, expected 0x%x", what, seals, expected);
}

static void check_link(const char *path, const char *expected, const char *what)
{
    char link[512];
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n < 0) { tp_fail("%s: readlink(%s): %s", what, path, strerror(errno)); return; }
    link[n] = 0;
    if (strcmp(link, expected) != 0) tp_fail("%s: %s -> \"%s\", expected \"%s\"", what, path, link, expected);
}

static void check_fd_link(int fd, const char *expected, const char *what)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    check_link(path, expected, what);
}

/* The maps line of addr: name, and inode = fd's (fd < 0: not compared). */
static void check_maps_object(const void *addr, const char *name, int fd, const char *what)
{
    struct maps_entry e;
    if (maps_find(addr, &e) != 0) { tp_fail("%s: no area at %p in /proc/self/maps", what, addr); return; }
    if (strcmp(e.path, name) != 0) tp_fail("%s: maps names the area at %p \"%s\", expected \"%s\"", what, addr, e.path, name);
    struct stat st;
    if (fd < 0) return;
    if (fstat(fd, &st) != 0) tp_fail("%s: fstat(%d): %s", what, fd, strerror(errno));
    else if (e.inode != (unsigned long)st.st_ino)
        tp_fail("%s: the area at %p maps inode %lu, but fd %d is inode %lu: not the same object", what, addr, e.inode, fd, (unsigned long)st.st_ino);
}

static int fd_flags(int fd, int getfd_or_getfl, const char *what)
{
    int v = fcntl(fd, getfd_or_getfl);
    if (v < 0) tp_fail("%s: fcntl(%d, %s): %s", what, fd, getfd_or_getfl == F_GETFD ? "F_GETFD" : "F_GETFL", strerror(errno));
    return v;
}

static void child_loop(int requests, int answers)
{
    char c;
    while (read(requests, &c, 1) == 1) {
        g_ring1[100] = (unsigned char)(g_ring1[99] + 1);
        if (write(answers, &c, 1) != 1) _exit(1);
    }
    _exit(0);
}

static sigjmp_buf g_fault_jmp;
static volatile sig_atomic_t g_fault_sig;
static void *volatile g_fault_addr;
static const char *volatile g_stage = "";

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    g_fault_sig = sig;
    g_fault_addr = si->si_addr;
    siglongjmp(g_fault_jmp, 1);
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--child]");
    int with_child = tp_arg_flag("child");
    tp_args_done();

    long psz = sysconf(_SC_PAGESIZE);
    if (psz <= 0) tp_die_errno("sysconf(_SC_PAGESIZE)");
    g_page = (size_t)psz;
    g_seed = tp_mix64(((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ 0x6d656d66ULL);
    const size_t P = g_page;
    const off_t a_last = A_SIZE / (off_t)P * (off_t)P; /* start of A's partial last page */
    const size_t a_tail = (size_t)(A_SIZE - a_last);

    /* ---- A ---- */
    int a = make_memfd("cryo-a", MFD_ALLOW_SEALING);
    if (ftruncate(a, A_SIZE) != 0) tp_die_errno("ftruncate A to %lld", (long long)A_SIZE);
    pwrite_pattern(a, 0, 3 * P, seed_of(S_A), "A pages 0-2");
    pwrite_pattern(a, a_last, a_tail, seed_of(S_A), "A last page");
    move_fd(a, FD_A, 0, "A");
    if (lseek(FD_A, A_OFFSET, SEEK_SET) != A_OFFSET) tp_die_errno("lseek A to %d", A_OFFSET);
    if (dup2(FD_A, FD_A2) != FD_A2) tp_die_errno("dup2(%d, %d)", FD_A, FD_A2);
    if (fcntl(FD_A, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) tp_die_errno("F_ADD_SEALS A");
    unsigned char *res = mmap(NULL, 2 * RING, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (res == MAP_FAILED) tp_die_errno("mmap (reserve %d bytes)", 2 * RING);
    g_ring1 = mmap(res, RING, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, FD_A, 0);
    if (g_ring1 != res) tp_die_errno("mmap A ring 1 at %p", (void *)res);
    g_ring2 = mmap(res + RING, RING, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, FD_A, 0);
    if (g_ring2 != res + RING) tp_die_errno("mmap A ring 2 at %p", (void *)(res + RING));
    g_priv = mmap(NULL, 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE, FD_A, 0);
    if (g_priv == MAP_FAILED) tp_die_errno("mmap A private");
    tp_pattern_fill(g_priv + P, P, seed_of(S_APRIV), P);

    /* ---- B ---- */
    int b = make_memfd("cryo b", MFD_CLOEXEC);
    {
        size_t len = 3 * P, done = 0;
        unsigned char *buf = malloc(len);
        if (!buf) tp_die("malloc(%zu)", len);
        tp_pattern_fill(buf, len, seed_of(S_B), 0);
        while (done < len) {
            ssize_t w = write(b, buf + done, len - done);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) tp_die_errno("write B (%zu of %zu bytes done)", done, len);
            done += (size_t)w;
        }
        free(buf);
    }
    if (fchmod(b, 0640) != 0) tp_die_errno("fchmod B 0640");
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", b);
    int b_ro = open(path, O_RDONLY);
    if (b_ro < 0) tp_die_errno("open %s O_RDONLY", path);
    move_fd(b_ro, FD_B_RO, 0, "B (read-only)");
    if (lseek(FD_B_RO, B_RO_OFFSET, SEEK_SET) != B_RO_OFFSET) tp_die_errno("lseek B read-only to %d", B_RO_OFFSET);
    move_fd(b, FD_B, 1, "B");

    /* ---- C ---- */
    int c = make_memfd("cryo-c", MFD_ALLOW_SEALING);
    if (ftruncate(c, 2 * P) != 0) tp_die_errno("ftruncate C");
    pwrite_pattern(c, 0, 2 * P, seed_of(S_C), "C");
    if (fcntl(c, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL) != 0) tp_die_errno("F_ADD_SEALS C");
    move_fd(c, FD_C, 0, "C");
    snprintf(path, sizeof path, "/proc/self/fd/%d", FD_C);
    int c_ro = open(path, O_RDONLY | O_CLOEXEC);
    if (c_ro < 0) tp_die_errno("open %s O_RDONLY", path);
    g_cm = mmap(NULL, 2 * P, PROT_READ, MAP_SHARED, c_ro, 0);
    if (g_cm == MAP_FAILED) tp_die_errno("mmap C (shared, read-only)");
    close(c_ro);
    struct maps_entry ce;
    if (maps_find(g_cm, &ce) != 0) tp_die("C's mapping at %p is not in /proc/self/maps", (void *)g_cm);
    char c_perms[5];
    memcpy(c_perms, ce.perms, 5);
    tp_log("C is mapped at %p as %s (\"%s\")", (void *)g_cm, c_perms, ce.path);

    /* ---- D ---- */
    int have_d = 0;
#ifdef F_SEAL_FUTURE_WRITE
    {
        int d = make_memfd("cryo-d", MFD_ALLOW_SEALING);
        if (ftruncate(d, P) != 0) tp_die_errno("ftruncate D");
        g_dm = mmap(NULL, P, PROT_READ | PROT_WRITE, MAP_SHARED, d, 0);
        if (g_dm == MAP_FAILED) tp_die_errno("mmap D");
        tp_pattern_fill(g_dm, P, seed_of(S_D), 0);
        if (fcntl(d, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) == 0) {
            have_d = 1;
        } else if (errno == EINVAL) {
            tp_log("F_SEAL_FUTURE_WRITE refused (EINVAL): this kernel lacks it, no D");
            munmap(g_dm, P);
            g_dm = NULL;
        } else {
            tp_die_errno("F_ADD_SEALS D F_SEAL_FUTURE_WRITE");
        }
        close(d);
    }
#else
    tp_log("F_SEAL_FUTURE_WRITE is not defined: no D");
#endif

    /* ---- the child ---- */
    int requests[2] = {-1, -1}, answers[2] = {-1, -1};
    pid_t child = -1;
    if (with_child) {
        tp_setsid();
        if (pipe(requests) < 0 || pipe(answers) < 0) tp_die_errno("pipe");
        child = fork();
        if (child < 0) tp_die_errno("fork");
        if (child == 0) {
            close(requests[1]);
            close(answers[0]);
            child_loop(requests[0], answers[1]);
        }
        close(requests[0]);
        close(answers[1]);
    }
    tp_log("A: fds %d/%d, ring %p + %p, private %p; B: fds %d/%d; C: fd %d, %p; D: %s%p; seed 0x%llx",
           FD_A, FD_A2, (void *)g_ring1, (void *)g_ring2, (void *)g_priv, FD_B, FD_B_RO, FD_C, (void *)g_cm,
           have_d ? "" : "none ", (void *)g_dm, (unsigned long long)g_seed);

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
    if (sigsetjmp(g_fault_jmp, 1) != 0) {
        tp_fail("%s at address %p while checking %s", g_fault_sig == SIGBUS ? "SIGBUS" : "SIGSEGV", g_fault_addr, g_stage);
        if (with_child) {
            close(requests[1]);
            waitpid(child, NULL, 0);
        }
        tp_finish();
    }

    struct stat st;
    unsigned char buf[64];

    /* ---- A ---- */
    g_stage = "A through its descriptors";
    if (fstat(FD_A, &st) != 0) tp_fail("A: fstat(%d): %s", FD_A, strerror(errno));
    else if (st.st_size != A_SIZE) tp_fail("A: size %lld, expected %lld", (long long)st.st_size, (long long)A_SIZE);
    check_seals(FD_A, F_SEAL_SHRINK | F_SEAL_GROW, "A");
    check_pread_pattern(FD_A, 0, 3 * P, seed_of(S_A), "A pages 0-2");
    check_pread_pattern(FD_A, a_last, a_tail, seed_of(S_A), "A last page");
    {
        ssize_t r = pread(FD_A, buf, 1, A_SIZE);
        if (r != 0) tp_fail("A: pread at the size %lld gave %zd (%s), expected 0 (EOF)", (long long)A_SIZE, r, r < 0 ? strerror(errno) : "data");
    }
    off_t holes[] = {3 * (off_t)P, 3 * (off_t)P + (off_t)P / 2, 4 * (off_t)P - 16, a_last - (off_t)P, a_last - (off_t)P / 2, a_last - 16};
    for (size_t i = 0; i < sizeof holes / sizeof holes[0]; i++) check_pread_zero(FD_A, holes[i], 16, "A hole");
    check_offset(FD_A, A_OFFSET, "A");
    check_offset(FD_A2, A_OFFSET, "A (the dup)");
    if (lseek(FD_A2, 1000, SEEK_SET) != 1000) tp_fail("A: lseek(%d, 1000): %s", FD_A2, strerror(errno));
    else check_offset(FD_A, 1000, "A after moving its dup (fd 31) to 1000: one open file description");
    check_fd_link(FD_A, "/memfd:cryo-a (deleted)", "A");
    {
        int fl = fd_flags(FD_A, F_GETFL, "A");
        if (fl >= 0 && (fl & O_ACCMODE) != O_RDWR) tp_fail("A: fd %d access mode 0%o, expected O_RDWR", FD_A, fl & O_ACCMODE);
    }

    g_stage = "A's private mapping";
    check_pattern(g_priv + P, P, seed_of(S_APRIV), P, "A private mapping page 1 (copy-on-write)");
    check_pread_pattern(FD_A, P, P, seed_of(S_A), "A page 1 under the private mapping's copy");
    {
        unsigned char *obj0 = malloc(P);
        if (!obj0) tp_fail("malloc(%zu)", P);
        else if (read_at(FD_A, obj0, P, 0, "A page 0") == 0 && memcmp(obj0, g_priv, P) != 0) {
            size_t i = 0;
            while (i < P && obj0[i] == g_priv[i]) i++;
            tp_fail("A private mapping page 0: byte %zu is 0x%02x, the object's (pread) is 0x%02x", i, g_priv[i], obj0[i]);
        }
        free(obj0);
    }

    g_stage = "A's ring mappings";
    check_pattern(g_ring1, 3 * P, seed_of(S_A), 0, "A ring mapping 1");
    check_zero(g_ring1 + 3 * P, RING - 3 * P, 3 * P, "A ring mapping 1");
    if (memcmp(g_ring1, g_ring2, RING) != 0) {
        size_t i = 0;
        while (i < RING && g_ring1[i] == g_ring2[i]) i++;
        tp_fail("A ring mappings differ at offset %zu: 0x%02x in the first, 0x%02x in the second", i, g_ring1[i], g_ring2[i]);
    }
    unsigned char v10 = (unsigned char)(tp_pattern_byte(seed_of(S_A), 10) ^ 0xff);
    g_ring1[10] = v10;
    if (g_ring2[10] != v10) tp_fail("A: 0x%02x written at offset 10 through the first mapping, the second shows 0x%02x: not one object", v10, g_ring2[10]);
    if (read_at(FD_A, buf, 1, 10, "A offset 10") == 0 && buf[0] != v10)
        tp_fail("A: 0x%02x written at offset 10 through the first mapping, pread(%d) gives 0x%02x: the mapping is not the object", v10, FD_A, buf[0]);
    uint32_t tail = 0xc0ffee00u ^ (uint32_t)g_seed, got = 0;
    memcpy(g_ring1 + RING - 4, &tail, 4);
    memcpy(&got, g_ring2 + RING - 4, 4);
    if (got != tail) tp_fail("A: 0x%08x written in the last 4 bytes of the first mapping, the second shows 0x%08x there", tail, got);
    if (read_at(FD_A, &got, 4, RING - 4, "A ring end") == 0 && got != tail)
        tp_fail("A: 0x%08x written in the last 4 bytes of the first mapping, pread(%d) at %d gives 0x%08x", tail, FD_A, RING - 4, got);
    check_maps_object(g_ring1, "/memfd:cryo-a (deleted)", FD_A, "A ring mapping 1");
    check_maps_object(g_ring2, "/memfd:cryo-a (deleted)", FD_A, "A ring mapping 2");
    check_maps_object(g_priv, "/memfd:cryo-a (deleted)", FD_A, "A private mapping");
    errno = 0;
    if (ftruncate(FD_A, 0) == 0) tp_fail("A: ftruncate(%d, 0) succeeded: F_SEAL_SHRINK is gone", FD_A);
    else if (errno != EPERM) tp_fail("A: ftruncate(%d, 0): %s, expected EPERM (sealed)", FD_A, strerror(errno));

    /* ---- B ---- */
    g_stage = "B";
    check_pread_pattern(FD_B, 0, 3 * P, seed_of(S_B), "B through fd 32");
    check_pread_pattern(FD_B_RO, 0, 3 * P, seed_of(S_B), "B through fd 33");
    int fdfl = fd_flags(FD_B, F_GETFD, "B");
    if (fdfl >= 0 && fdfl != FD_CLOEXEC) tp_fail("B: fd %d F_GETFD 0x%x, expected FD_CLOEXEC", FD_B, fdfl);
    fdfl = fd_flags(FD_B_RO, F_GETFD, "B");
    if (fdfl >= 0 && fdfl != 0) tp_fail("B: fd %d F_GETFD 0x%x, expected 0 (no FD_CLOEXEC)", FD_B_RO, fdfl);
    int fl = fd_flags(FD_B, F_GETFL, "B");
    if (fl >= 0 && (fl & O_ACCMODE) != O_RDWR) tp_fail("B: fd %d access mode 0%o, expected O_RDWR", FD_B, fl & O_ACCMODE);
    fl = fd_flags(FD_B_RO, F_GETFL, "B");
    if (fl >= 0 && (fl & O_ACCMODE) != O_RDONLY) tp_fail("B: fd %d access mode 0%o, expected O_RDONLY", FD_B_RO, fl & O_ACCMODE);
    check_offset(FD_B_RO, B_RO_OFFSET, "B (read-only)");
    check_offset(FD_B, (off_t)(3 * P), "B");
    if (lseek(FD_B_RO, 123, SEEK_SET) != 123) tp_fail("B: lseek(%d, 123): %s", FD_B_RO, strerror(errno));
    else check_offset(FD_B, (off_t)(3 * P), "B after moving fd 33 to 123: fd 32 must not follow (two open file descriptions)");
    if (fstat(FD_B, &st) != 0) tp_fail("B: fstat(%d): %s", FD_B, strerror(errno));
    else {
        if ((st.st_mode & 0777) != 0640) tp_fail("B: mode 0%o, expected 0640", st.st_mode & 0777);
        if (st.st_size != (off_t)(3 * P)) tp_fail("B: size %lld, expected %zu", (long long)st.st_size, 3 * P);
        struct stat st2;
        if (fstat(FD_B_RO, &st2) != 0) tp_fail("B: fstat(%d): %s", FD_B_RO, strerror(errno));
        else if (st2.st_ino != st.st_ino || st2.st_dev != st.st_dev)
            tp_fail("B: fd %d is inode %lu, fd %d inode %lu: not the same object", FD_B, (unsigned long)st.st_ino, FD_B_RO, (unsigned long)st2.st_ino);
    }
    check_fd_link(FD_B, "/memfd:cryo b (deleted)", "B");
    check_fd_link(FD_B_RO, "/memfd:cryo b (deleted)", "B (read-only)");
    check_seals(FD_B, F_SEAL_SEAL, "B (created without MFD_ALLOW_SEALING)");
    errno = 0;
    if (write(FD_B_RO, "x", 1) >= 0) tp_fail("B: write on the read-only fd %d succeeded", FD_B_RO);
    else if (errno != EBADF) tp_fail("B: write on the read-only fd %d: %s, expected EBADF", FD_B_RO, strerror(errno));

    /* ---- C ---- */
    g_stage = "C";
    check_seals(FD_C, F_SEAL_WRITE | F_SEAL_SEAL, "C");
    check_pattern(g_cm, 2 * P, seed_of(S_C), 0, "C mapping");
    check_pread_pattern(FD_C, 0, 2 * P, seed_of(S_C), "C through fd 34");
    errno = 0;
    if (write(FD_C, "x", 1) >= 0) tp_fail("C: write(%d) succeeded: F_SEAL_WRITE is gone", FD_C);
    else if (errno != EPERM) tp_fail("C: write(%d): %s, expected EPERM (sealed)", FD_C, strerror(errno));
    if (maps_find(g_cm, &ce) != 0) tp_fail("C: no area at %p in /proc/self/maps", (void *)g_cm);
    else if (strcmp(ce.perms, c_perms) != 0) tp_fail("C: the mapping at %p is %s in /proc/self/maps, %s at set-up", (void *)g_cm, ce.perms, c_perms);
    check_maps_object(g_cm, "/memfd:cryo-c (deleted)", FD_C, "C mapping");

    /* ---- D ---- */
    if (have_d) {
        g_stage = "D";
        check_pattern(g_dm, P, seed_of(S_D), 0, "D mapping");
        struct maps_entry de;
        if (maps_find(g_dm, &de) != 0) tp_fail("D: no area at %p in /proc/self/maps", (void *)g_dm);
        else {
            if (strcmp(de.perms, "rw-s") != 0) tp_fail("D: the mapping at %p is %s in /proc/self/maps, expected rw-s", (void *)g_dm, de.perms);
            else {
                unsigned char v = (unsigned char)(tp_pattern_byte(seed_of(S_D), 5) ^ 0x5a);
                g_dm[5] = v;
                if (((volatile unsigned char *)g_dm)[5] != v) tp_fail("D: 0x%02x written through the mapping reads back as 0x%02x", v, g_dm[5]);
            }
            check_maps_object(g_dm, "/memfd:cryo-d (deleted)", -1, "D mapping");
            char mf[96];
            snprintf(mf, sizeof mf, "/proc/self/map_files/%lx-%lx", de.start, de.end);
            int d = open(mf, O_RDWR | O_CLOEXEC);
            if (d < 0 && (errno == EACCES || errno == EPERM)) {
                tp_log("D: open %s: %s: seals and mmap refusal not checked", mf, strerror(errno));
            } else if (d < 0) {
                tp_fail("D: open %s O_RDWR: %s", mf, strerror(errno));
            } else {
                check_fd_link(d, "/memfd:cryo-d (deleted)", "D (through map_files)");
                check_seals(d, F_SEAL_FUTURE_WRITE, "D");
                errno = 0;
                if (pwrite(d, "x", 1, 0) >= 0) tp_fail("D: pwrite through %s succeeded: F_SEAL_FUTURE_WRITE is gone", mf);
                else if (errno != EPERM) tp_fail("D: pwrite through %s: %s, expected EPERM", mf, strerror(errno));
                errno = 0;
                void *m = mmap(NULL, P, PROT_READ | PROT_WRITE, MAP_SHARED, d, 0);
                if (m != MAP_FAILED) {
                    tp_fail("D: a new shared writable mmap through %s succeeded: F_SEAL_FUTURE_WRITE is gone", mf);
                    munmap(m, P);
                } else if (errno != EPERM) {
                    tp_fail("D: a new shared writable mmap through %s: %s, expected EPERM", mf, strerror(errno));
                }
                close(d);
            }
        }
    }

    /* ---- the child ---- */
    if (with_child) {
        g_stage = "the child's answer";
        unsigned char base = (unsigned char)(g_seed >> 8), want = (unsigned char)(base + 1);
        g_ring1[99] = base;
        g_ring1[100] = (unsigned char)(base + 77);
        char req = 'q';
        if (write(requests[1], &req, 1) != 1) tp_fail("request to the child: %s", strerror(errno));
        else if (tp_read_full(answers[0], &req, 1) != 1) tp_fail("the child did not answer");
        else {
            if (g_ring1[100] != want) tp_fail("the child's answer at offset 100 of the first mapping is 0x%02x, expected 0x%02x: A is not shared with it", g_ring1[100], want);
            if (g_ring2[100] != want) tp_fail("the child's answer at offset 100 of the second mapping is 0x%02x, expected 0x%02x", g_ring2[100], want);
            if (read_at(FD_A, buf, 1, 100, "A offset 100") == 0 && buf[0] != want)
                tp_fail("the child's answer at offset 100 through pread(%d) is 0x%02x, expected 0x%02x", FD_A, buf[0], want);
        }
        close(requests[1]);
        int status = 0;
        pid_t w = waitpid(child, &status, 0);
        if (w != child) tp_fail("waitpid(%d): %s", (int)child, w < 0 ? strerror(errno) : "another pid");
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) tp_fail("the child did not end well (status 0x%x, expected exit 0)", status);
    }
    tp_finish();
}

/*
 * deleted: regular files deleted while the program holds them (see README.md).
 *
 *   deleted --pidfile=F --outfile=O [--child]
 *
 * DIR is the outfile's directory (resolved with realpath); every file name carries the pid.
 * - T (as tmpfile() makes one): DIR/deleted-t.PID opened O_RDWR|O_CREAT|O_EXCL 0600, 10000
 *   bytes of a pattern written, unlinked; fd 30 at offset 1234, fd 31 a dup of it (one open
 *   file description).
 * - S (as a Python multiprocessing semaphore): /dev/shm/cryo-deleted-s.PID O_RDWR|O_CREAT|O_EXCL
 *   0600, ftruncate 8192, mapped MAP_SHARED read-write, a pattern written through the mapping,
 *   the fd closed and the file unlinked: only the mapping holds it.
 * - P: DIR/deleted-p.PID, 3 pages of a pattern written with write(), all 3 mapped MAP_PRIVATE
 *   read-write, another pattern written into the mapping's page 1 (copy-on-write: the file
 *   keeps its own page 1); the file reopened O_RDONLY at fd 32 (the O_RDWR one closed), then
 *   unlinked.
 * - W (a log deleted while written): DIR/deleted-w.PID opened O_WRONLY|O_APPEND|O_CREAT, 500
 *   bytes written, unlinked, mode 0640 (fchmod); fd 33.
 * --child: a child (forked after tp_setsid) inherits all of it and answers requests over a pipe
 *   by writing s[100] = s[99] + 1 through S's mapping; it exits 0 when the request pipe closes.
 * Patterns depend on a per-run seed (pid, time). Nothing is left in DIR or /dev/shm: the files
 * are unlinked at set-up (or removed if the set-up fails), and nothing is removed at the end.
 * On SIGTERM:
 * - T: st_nlink 0, size 10000, mode 0600, O_RDWR; offset 1234 on fds 30 and 31, shared (moving
 *   31 moves 30); every byte (pread); /proc/self/fd/30 is "DIR/NAME (deleted)" (the file came
 *   back in its own directory, under any name without a slash); 100 fresh bytes written at the
 *   end through fd 30 read back (size 10100, both offsets 10100).
 * - S: the mapping holds the pattern; a write through it reads back; /proc/self/maps shows it
 *   "rw-s" with a path "/dev/shm/... (deleted)".
 * - P: the mapping's pages 0 and 2 are the file's pattern, page 1 the private one; pread(32) of
 *   page 1 is the file's pattern; fd 32 O_RDONLY, st_nlink 0; maps shows the mapping "rw-p",
 *   its path ending " (deleted)", its inode fd 32's.
 * - W: fd 33 O_WRONLY|O_APPEND; mode 0640, st_nlink 0; after lseek(33, 0) 10 more bytes written
 *   (O_APPEND puts them at the end); /proc/self/fd/33 opened O_RDONLY reads exactly 510 bytes:
 *   the 500 of the pattern, then the 10.
 * - --child: its answer shows through S's mapping; it exits 0 when the request pipe closes.
 * A SIGSEGV/SIGBUS while checking (a mapping lost) is reported as FAIL.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#define FD_T 30
#define FD_T2 31
#define FD_P 32
#define FD_W 33

#define T_SIZE 10000
#define T_OFFSET 1234
#define T_MORE 100
#define S_SIZE 8192
#define W_SIZE 500
#define W_MORE 10

static size_t g_page;
static uint64_t g_seed;
static uint64_t seed_of(int which) { return g_seed + (uint64_t)which * 0x1000193ULL; }
enum { S_T = 1, S_TMORE, S_S, S_P, S_PPRIV, S_W, S_WMORE };

static char g_dir[PATH_MAX];
static char g_path_t[PATH_MAX + 64], g_path_s[64], g_path_p[PATH_MAX + 64], g_path_w[PATH_MAX + 64];
static int g_setup_done;
static unsigned char *g_s, *g_p;

/* A set-up that fails part way removes what it made (after set-up nothing is removed). */
static void remove_on_setup_failure(void)
{
    if (g_setup_done) return;
    const char *paths[] = {g_path_t, g_path_s, g_path_p, g_path_w};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (paths[i][0]) unlink(paths[i]);
}

/* ---- set-up helpers ---- */

static void write_all(int fd, const void *buf, size_t len, const char *what)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, (const char *)buf + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) tp_die_errno("write %s (%zu of %zu bytes done)", what, done, len);
        done += (size_t)w;
    }
}

static void write_pattern(int fd, size_t len, uint64_t seed, uint64_t off, const char *what)
{
    unsigned char *buf = malloc(len);
    if (!buf) tp_die("malloc(%zu)", len);
    tp_pattern_fill(buf, len, seed, off);
    write_all(fd, buf, len, what);
    free(buf);
}

static void move_fd(int fd, int target, const char *what)
{
    if (tp_move_fd(fd, target, 0) != target) tp_die_errno("move %s to fd %d", what, target);
}

/* Unlinked: forgotten, so a failing set-up does not remove another file of that name later. */
static void unlink_or_die(char *path)
{
    if (unlink(path) != 0) tp_die_errno("unlink %s", path);
    path[0] = 0;
}

/* ---- /proc/self/maps ---- */

struct maps_entry {
    unsigned long start, end, inode;
    char perms[5];
    char path[PATH_MAX + 64];
};

/* The maps line of the area holding addr; 0 if found. */
static int maps_find(const void *addr, struct maps_entry *e)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    char line[PATH_MAX + 256];
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

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static int read_at(int fd, void *buf, size_t len, off_t off, const char *what)
{
    ssize_t r = pread(fd, buf, len, off);
    if (r == (ssize_t)len) return 0;
    if (r < 0) tp_fail("%s: pread(%d, %zu bytes at %lld): %s", what, fd, len, (long long)off, strerror(errno));
    else tp_fail("%s: pread(%d, %zu bytes at %lld) gave %zd bytes", what, fd, len, (long long)off, r);
    return -1;
}

/* Bytes off..off+len-1 of a file, buf holding them, against stream seed (file offsets). */
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

static void check_offset(int fd, off_t expected, const char *what)
{
    off_t at = lseek(fd, 0, SEEK_CUR);
    if (at < 0) tp_fail("%s: lseek(%d, 0, SEEK_CUR): %s", what, fd, strerror(errno));
    else if (at != expected) tp_fail("%s: fd %d is at offset %lld, expected %lld", what, fd, (long long)at, (long long)expected);
}

static int fd_flags(int fd, int getfd_or_getfl, const char *what)
{
    int v = fcntl(fd, getfd_or_getfl);
    if (v < 0) tp_fail("%s: fcntl(%d, %s): %s", what, fd, getfd_or_getfl == F_GETFD ? "F_GETFD" : "F_GETFL", strerror(errno));
    return v;
}

/* fstat of a deleted file: st_nlink 0, size and mode (mode < 0: not compared). 0 if fstat worked. */
static int check_stat(int fd, off_t size, int mode, struct stat *st, const char *what)
{
    if (fstat(fd, st) != 0) { tp_fail("%s: fstat(%d): %s", what, fd, strerror(errno)); return -1; }
    if (!S_ISREG(st->st_mode)) tp_fail("%s: fd %d is not a regular file (st_mode 0%o)", what, fd, st->st_mode);
    if (st->st_nlink != 0) tp_fail("%s: fd %d has st_nlink %lu, expected 0 (deleted)", what, fd, (unsigned long)st->st_nlink);
    if (st->st_size != size) tp_fail("%s: fd %d has size %lld, expected %lld", what, fd, (long long)st->st_size, (long long)size);
    if (mode >= 0 && (int)(st->st_mode & 0777) != mode) tp_fail("%s: fd %d has mode 0%o, expected 0%o", what, fd, st->st_mode & 0777, mode);
    return 0;
}

static void child_loop(int requests, int answers)
{
    char c;
    while (read(requests, &c, 1) == 1) {
        g_s[100] = (unsigned char)(g_s[99] + 1);
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
    const size_t P = g_page;
    g_seed = tp_mix64(((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ 0x64656c65ULL);
    int pid = (int)getpid();

    {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", tp_outfile);
        char *slash = strrchr(dir, '/');
        if (slash == dir) dir[1] = 0;
        else if (slash) *slash = 0;
        else snprintf(dir, sizeof dir, ".");
        if (!realpath(dir, g_dir)) tp_die_errno("realpath(%s)", dir);
    }
    const char *sep = strcmp(g_dir, "/") == 0 ? "" : "/";
    char dir_prefix[PATH_MAX + 2];
    snprintf(dir_prefix, sizeof dir_prefix, "%s%s", g_dir, sep);
    if (atexit(remove_on_setup_failure) != 0) tp_die("atexit failed");

    /* ---- T ---- */
    snprintf(g_path_t, sizeof g_path_t, "%sdeleted-t.%d", dir_prefix, pid);
    int t = open(g_path_t, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (t < 0) { int e = errno; g_path_t[0] = 0; errno = e; tp_die_errno("open %sdeleted-t.%d O_RDWR|O_CREAT|O_EXCL", dir_prefix, pid); }
    write_pattern(t, T_SIZE, seed_of(S_T), 0, "T");
    unlink_or_die(g_path_t);
    move_fd(t, FD_T, "T");
    if (lseek(FD_T, T_OFFSET, SEEK_SET) != T_OFFSET) tp_die_errno("lseek T to %d", T_OFFSET);
    if (dup2(FD_T, FD_T2) != FD_T2) tp_die_errno("dup2(%d, %d)", FD_T, FD_T2);

    /* ---- S ---- */
    snprintf(g_path_s, sizeof g_path_s, "/dev/shm/cryo-deleted-s.%d", pid);
    int s = open(g_path_s, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (s < 0) { int e = errno; g_path_s[0] = 0; errno = e; tp_die_errno("open /dev/shm/cryo-deleted-s.%d O_RDWR|O_CREAT|O_EXCL", pid); }
    if (ftruncate(s, S_SIZE) != 0) tp_die_errno("ftruncate S to %d", S_SIZE);
    g_s = mmap(NULL, S_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
    if (g_s == MAP_FAILED) tp_die_errno("mmap S (shared, read-write)");
    tp_pattern_fill(g_s, S_SIZE, seed_of(S_S), 0);
    close(s);
    unlink_or_die(g_path_s);

    /* ---- P ---- */
    snprintf(g_path_p, sizeof g_path_p, "%sdeleted-p.%d", dir_prefix, pid);
    int p = open(g_path_p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (p < 0) { int e = errno; g_path_p[0] = 0; errno = e; tp_die_errno("open %sdeleted-p.%d O_RDWR|O_CREAT|O_EXCL", dir_prefix, pid); }
    write_pattern(p, 3 * P, seed_of(S_P), 0, "P");
    g_p = mmap(NULL, 3 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE, p, 0);
    if (g_p == MAP_FAILED) tp_die_errno("mmap P (private, read-write)");
    tp_pattern_fill(g_p + P, P, seed_of(S_PPRIV), P);
    int p_ro = open(g_path_p, O_RDONLY);
    if (p_ro < 0) tp_die_errno("open %s O_RDONLY", g_path_p);
    close(p);
    move_fd(p_ro, FD_P, "P (read-only)");
    unlink_or_die(g_path_p);

    /* ---- W ---- */
    snprintf(g_path_w, sizeof g_path_w, "%sdeleted-w.%d", dir_prefix, pid);
    int w = open(g_path_w, O_WRONLY | O_APPEND | O_CREAT | O_EXCL, 0600);
    if (w < 0) { int e = errno; g_path_w[0] = 0; errno = e; tp_die_errno("open %sdeleted-w.%d O_WRONLY|O_APPEND|O_CREAT", dir_prefix, pid); }
    write_pattern(w, W_SIZE, seed_of(S_W), 0, "W");
    unlink_or_die(g_path_w);
    move_fd(w, FD_W, "W");
    if (fchmod(FD_W, 0640) != 0) tp_die_errno("fchmod W 0640");

    /* ---- the child ---- */
    int requests[2] = {-1, -1}, answers[2] = {-1, -1};
    pid_t child = -1;
    if (with_child) {
        tp_setsid();
        if (pipe(requests) < 0 || pipe(answers) < 0) tp_die_errno("pipe");
        child = fork();
        if (child < 0) tp_die_errno("fork");
        if (child == 0) {
            g_setup_done = 1;
            close(requests[1]);
            close(answers[0]);
            child_loop(requests[0], answers[1]);
        }
        close(requests[0]);
        close(answers[1]);
    }
    g_setup_done = 1;
    tp_log("DIR %s; T: fds %d/%d; S: %p (%d bytes, no fd); P: %p (3 pages, private), fd %d; W: fd %d; seed 0x%llx%s",
           g_dir, FD_T, FD_T2, (void *)g_s, S_SIZE, (void *)g_p, FD_P, FD_W, (unsigned long long)g_seed,
           with_child ? "; with a child" : "");

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
    int fl;

    /* ---- T ---- */
    g_stage = "T";
    check_stat(FD_T, T_SIZE, 0600, &st, "T");
    fl = fd_flags(FD_T, F_GETFL, "T");
    if (fl >= 0 && (fl & O_ACCMODE) != O_RDWR) tp_fail("T: fd %d access mode 0%o, expected O_RDWR", FD_T, fl & O_ACCMODE);
    check_offset(FD_T, T_OFFSET, "T");
    check_offset(FD_T2, T_OFFSET, "T (the dup)");
    if (lseek(FD_T2, 4321, SEEK_SET) != 4321) tp_fail("T: lseek(%d, 4321): %s", FD_T2, strerror(errno));
    else check_offset(FD_T, 4321, "T after moving its dup (fd 31) to 4321: one open file description");
    check_pread_pattern(FD_T, 0, T_SIZE, seed_of(S_T), "T");
    {
        char link[PATH_MAX + 64];
        ssize_t n = readlink("/proc/self/fd/30", link, sizeof link - 1);
        if (n < 0) tp_fail("T: readlink(/proc/self/fd/%d): %s", FD_T, strerror(errno));
        else {
            link[n] = 0;
            size_t lp = strlen(dir_prefix), ld = strlen(" (deleted)");
            if (!ends_with(link, " (deleted)"))
                tp_fail("T: /proc/self/fd/%d -> \"%s\", expected it to end with \" (deleted)\"", FD_T, link);
            else if (!starts_with(link, dir_prefix) || (size_t)n < lp + ld + 1 || memchr(link + lp, '/', (size_t)n - lp - ld))
                tp_fail("T: /proc/self/fd/%d -> \"%s\", expected a file directly in \"%s\" (its own directory)", FD_T, link, g_dir);
        }
    }
    {
        unsigned char more[T_MORE], back[T_MORE];
        tp_pattern_fill(more, T_MORE, seed_of(S_TMORE), T_SIZE);
        off_t end = lseek(FD_T, 0, SEEK_END);
        ssize_t wr;
        if (end != T_SIZE) tp_fail("T: lseek(%d, 0, SEEK_END) gave %lld (%s), expected %d", FD_T, (long long)end, end < 0 ? strerror(errno) : "", T_SIZE);
        else if ((wr = write(FD_T, more, T_MORE)) != T_MORE)
            tp_fail("T: write of %d fresh bytes at the end through fd %d gave %zd (%s)", T_MORE, FD_T, wr, wr < 0 ? strerror(errno) : "short");
        else {
            check_offset(FD_T, T_SIZE + T_MORE, "T after writing at the end");
            check_offset(FD_T2, T_SIZE + T_MORE, "T (the dup) after writing at the end through fd 30");
            if (read_at(FD_T, back, T_MORE, T_SIZE, "T fresh bytes") == 0) check_pattern(back, T_MORE, seed_of(S_TMORE), T_SIZE, "T fresh bytes");
            check_stat(FD_T, T_SIZE + T_MORE, 0600, &st, "T after writing");
        }
    }

    /* ---- S ---- */
    g_stage = "S's mapping";
    check_pattern(g_s, S_SIZE, seed_of(S_S), 0, "S mapping");
    {
        unsigned char v = (unsigned char)(tp_pattern_byte(seed_of(S_S), 10) ^ 0xa5);
        ((volatile unsigned char *)g_s)[10] = v;
        unsigned char got = ((volatile unsigned char *)g_s)[10];
        if (got != v) tp_fail("S: 0x%02x written at offset 10 through the mapping reads back as 0x%02x", v, got);
    }
    {
        struct maps_entry e;
        if (maps_find(g_s, &e) != 0) tp_fail("S: no area at %p in /proc/self/maps", (void *)g_s);
        else {
            if (strcmp(e.perms, "rw-s") != 0) tp_fail("S: the mapping at %p is %s in /proc/self/maps, expected rw-s", (void *)g_s, e.perms);
            if (!starts_with(e.path, "/dev/shm/") || !ends_with(e.path, " (deleted)"))
                tp_fail("S: maps names the area at %p \"%s\", expected \"/dev/shm/... (deleted)\"", (void *)g_s, e.path);
            if (e.end - e.start != S_SIZE) tp_fail("S: the mapping at %p is %lu bytes in /proc/self/maps, expected %d", (void *)g_s, e.end - e.start, S_SIZE);
        }
    }

    /* ---- P ---- */
    g_stage = "P's mapping";
    check_pattern(g_p, P, seed_of(S_P), 0, "P mapping page 0");
    check_pattern(g_p + P, P, seed_of(S_PPRIV), (off_t)P, "P mapping page 1 (private, copy-on-write)");
    check_pattern(g_p + 2 * P, P, seed_of(S_P), 2 * (off_t)P, "P mapping page 2");
    g_stage = "P";
    check_pread_pattern(FD_P, (off_t)P, P, seed_of(S_P), "P page 1 of the file under the private copy (pread of fd 32)");
    check_stat(FD_P, 3 * (off_t)P, -1, &st, "P");
    fl = fd_flags(FD_P, F_GETFL, "P");
    if (fl >= 0 && (fl & O_ACCMODE) != O_RDONLY) tp_fail("P: fd %d access mode 0%o, expected O_RDONLY", FD_P, fl & O_ACCMODE);
    {
        struct maps_entry e;
        if (maps_find(g_p, &e) != 0) tp_fail("P: no area at %p in /proc/self/maps", (void *)g_p);
        else {
            if (strcmp(e.perms, "rw-p") != 0) tp_fail("P: the mapping at %p is %s in /proc/self/maps, expected rw-p", (void *)g_p, e.perms);
            if (!ends_with(e.path, " (deleted)")) tp_fail("P: maps names the area at %p \"%s\", expected a name ending with \" (deleted)\"", (void *)g_p, e.path);
            if (e.end - e.start != 3 * P) tp_fail("P: the mapping at %p is %lu bytes in /proc/self/maps, expected %zu", (void *)g_p, e.end - e.start, 3 * P);
            if (fstat(FD_P, &st) == 0 && e.inode != (unsigned long)st.st_ino)
                tp_fail("P: the area at %p maps inode %lu, but fd %d is inode %lu: not the same file", (void *)g_p, e.inode, FD_P, (unsigned long)st.st_ino);
        }
    }

    /* ---- W ---- */
    g_stage = "W";
    fl = fd_flags(FD_W, F_GETFL, "W");
    if (fl >= 0 && ((fl & O_ACCMODE) != O_WRONLY || !(fl & O_APPEND)))
        tp_fail("W: fd %d flags 0%o, expected O_WRONLY|O_APPEND", FD_W, fl);
    if (check_stat(FD_W, W_SIZE, 0640, &st, "W") == 0) {
        unsigned char more[W_MORE];
        tp_pattern_fill(more, W_MORE, seed_of(S_WMORE), W_SIZE);
        ssize_t wr;
        if (lseek(FD_W, 0, SEEK_SET) != 0) tp_fail("W: lseek(%d, 0, SEEK_SET): %s", FD_W, strerror(errno));
        else if ((wr = write(FD_W, more, W_MORE)) != W_MORE)
            tp_fail("W: write of %d more bytes through fd %d gave %zd (%s)", W_MORE, FD_W, wr, wr < 0 ? strerror(errno) : "short");
        else {
            int r = open("/proc/self/fd/33", O_RDONLY | O_CLOEXEC);
            if (r < 0) tp_fail("W: open /proc/self/fd/%d O_RDONLY: %s", FD_W, strerror(errno));
            else {
                unsigned char buf[W_SIZE + W_MORE + 1];
                size_t got = tp_read_full(r, buf, sizeof buf);
                if (got != W_SIZE + W_MORE)
                    tp_fail("W: reading /proc/self/fd/%d gave %zu bytes, expected %d (500 written at set-up, 10 appended after lseek to 0)", FD_W, got, W_SIZE + W_MORE);
                if (got >= W_SIZE) {
                    check_pattern(buf, W_SIZE, seed_of(S_W), 0, "W (the 500 bytes of the set-up)");
                    check_pattern(buf + W_SIZE, got - W_SIZE > W_MORE ? W_MORE : got - W_SIZE, seed_of(S_WMORE), W_SIZE, "W (the 10 appended bytes)");
                } else {
                    check_pattern(buf, got, seed_of(S_W), 0, "W");
                }
                close(r);
            }
        }
    }

    /* ---- the child ---- */
    if (with_child) {
        g_stage = "the child's answer";
        unsigned char base = (unsigned char)(g_seed >> 8), want = (unsigned char)(base + 1);
        g_s[99] = base;
        g_s[100] = (unsigned char)(base + 77);
        char req = 'q';
        if (write(requests[1], &req, 1) != 1) tp_fail("request to the child: %s", strerror(errno));
        else if (tp_read_full(answers[0], &req, 1) != 1) tp_fail("the child did not answer");
        else if (((volatile unsigned char *)g_s)[100] != want)
            tp_fail("the child's answer at offset 100 of S's mapping is 0x%02x, expected 0x%02x: S is not shared with it", g_s[100], want);
        close(requests[1]);
        int status = 0;
        pid_t wp = waitpid(child, &status, 0);
        if (wp != child) tp_fail("waitpid(%d): %s", (int)child, wp < 0 ? strerror(errno) : "another pid");
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) tp_fail("the child did not end well (status 0x%x, expected exit 0)", status);
    }
    tp_finish();
}

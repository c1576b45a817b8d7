/*
 * shared: what a parent and its child share after fork (see README.md).
 *
 * - an open file description (a file in the outfile's directory, offset 100): the child reads
 *   10 bytes through it after restore, and the parent then sees offset 110;
 * - shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS, 3 pages of a pattern): the child writes
 *   a marker into it after restore, the parent then sees the marker;
 * - a pipe both ends of which both processes hold, with 3000 unread bytes, read by the child;
 * - an inherited /dev/null at fd 20 (O_WRONLY | O_APPEND).
 * The child blocks in read() on a "go" pipe, reports its verdict through another pipe and
 * exits with 5; the parent checks its wait() result.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGES 3
#define VERDICT 256

static char verdict[VERDICT];
static void cfail(const char *fmt, ...) TP_PRINTF(1, 2);
static void cfail(const char *fmt, ...)
{
    if (verdict[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(verdict, sizeof verdict, fmt, ap);
    va_end(ap);
    tp_log("child: %s", verdict);
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--seed=N]");
    uint64_t seed_arg = tp_arg_ull("seed", 0, 0, ~0ULL);
    tp_args_done();
    tp_setsid();
    uint64_t seed = seed_arg ? seed_arg : tp_mix64((uint64_t)getpid() ^ (uint64_t)time(NULL));
    long page = sysconf(_SC_PAGESIZE);

    char path[4096];
    snprintf(path, sizeof path, "%s.shared-file", tp_outfile);
    int file = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (file < 0) tp_die_errno("open %s", path);
    char content[200];
    tp_pattern_fill(content, sizeof content, seed, 0);
    if (write(file, content, sizeof content) != (ssize_t)sizeof content) tp_die_errno("write");
    if (lseek(file, 100, SEEK_SET) != 100) tp_die_errno("lseek");

    unsigned char *mem = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) tp_die_errno("mmap");
    tp_pattern_fill(mem, PAGES * page, seed + 1, 0);

    int data[2], go[2], back[2];
    if (pipe(data) < 0 || pipe(go) < 0 || pipe(back) < 0) tp_die_errno("pipe");
    char buf[3000];
    tp_pattern_fill(buf, sizeof buf, seed + 2, 0);
    tp_fill_nonblock(data[1], buf, sizeof buf, "data pipe");
    int null = open("/dev/null", O_WRONLY | O_APPEND);
    if (null < 0 || tp_move_fd(null, 20, 0) < 0) tp_die_errno("/dev/null at fd 20");
    int null_flags = fcntl(20, F_GETFL); /* O_WRONLY | O_APPEND (+ O_LARGEFILE, added by the kernel) */

    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) tp_die_errno("fork");
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char c;
        ssize_t n;
        while ((n = read(go[0], &c, 1)) < 0 && errno == EINTR) {}
        if (n != 1) cfail("read(go) = %zd", n);
        if (getppid() != parent) cfail("getppid() = %d, expected %d", (int)getppid(), (int)parent);
        off_t at = lseek(file, 0, SEEK_CUR);
        if (at != 100) cfail("shared offset is %lld in the child, expected 100", (long long)at);
        char ten[10];
        if (read(file, ten, 10) != 10 || memcmp(ten, content + 100, 10) != 0) cfail("reading the shared file");
        ssize_t bad = tp_pattern_check(mem, PAGES * page, seed + 1, 0);
        if (bad >= 0) cfail("shared memory differs at byte %zd in the child", bad);
        memcpy(mem + page + 17, "child-was-here", 14);
        char got[3001];
        tp_set_nonblock(data[0], 1);
        ssize_t r = read(data[0], got, sizeof got);
        if (r != 3000 || tp_pattern_check(got, 3000, seed + 2, 0) >= 0) cfail("data pipe: read %zd bytes", r);
        if (fcntl(20, F_GETFL) != null_flags) cfail("fd 20 flags 0%o", fcntl(20, F_GETFL));
        if (!verdict[0]) strcpy(verdict, "PASS");
        if (write(back[1], verdict, VERDICT) != VERDICT) tp_log("child: write verdict: %s", strerror(errno));
        _exit(5);
    }

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    if (write(go[1], "g", 1) != 1) tp_fail("write(go): %s", strerror(errno));
    char answer[VERDICT + 1] = {0};
    size_t got = tp_read_full(back[0], answer, VERDICT);
    if (got != VERDICT) tp_fail("child verdict: %zu bytes", got);
    else if (strcmp(answer, "PASS") != 0) tp_fail("child: %s", answer);
    off_t at = lseek(file, 0, SEEK_CUR);
    if (at != 110) tp_fail("offset after the child's read is %lld, expected 110 (the description is not shared)", (long long)at);
    if (memcmp(mem + page + 17, "child-was-here", 14) != 0) tp_fail("the child's write to shared memory is not visible (the memory is not shared)");
    int status;
    pid_t r;
    while ((r = waitpid(child, &status, 0)) < 0 && errno == EINTR) {}
    if (r != child || !WIFEXITED(status) || WEXITSTATUS(status) != 5) tp_fail("waitpid(%d) = %d status 0x%x", (int)child, (int)r, status);
    if (fcntl(20, F_GETFL) != null_flags) tp_fail("fd 20 flags 0%o", fcntl(20, F_GETFL));
    unlink(path);
    tp_finish();
}

/*
 * pipewriter: a single-threaded process blocked in write() on a full pipe.
 *
 *   pipewriter --pidfile=F --outfile=O [--extra=10000]
 *
 * Set-up: a pipe of capacity 64 KiB (both ends kept) is filled completely
 * with bytes 0..65535 of a pattern stream; the pidfile is written; then the
 * program calls write(wfd, bytes 65536..65536+extra-1 of the stream, extra)
 * on the blocking write end. Nothing ever reads the pipe, so this write blocks
 * (0 bytes transferred) until a signal arrives; the checkpointer finds the
 * process inside write() (/proc/PID/syscall starts with "1 0x<wfd>").
 * SIGTERM is caught by a handler installed WITHOUT SA_RESTART that only sets
 * a flag, so SIGTERM makes the write return -1/EINTR.
 *
 * On SIGTERM it checks:
 *   - the write returned -1 with errno EINTR: it neither completed nor
 *     transferred part of its data before SIGTERM (that would mean the pipe
 *     was not full at some point, e.g. data lost or capacity changed at
 *     restore, or the write was not resumed as the same blocking call),
 *     nor failed otherwise (e.g. EFAULT/EBADF from a broken resume);
 *   - fd flags unchanged, both fds still one pipe, capacity still 64 KiB;
 *   - the pipe holds exactly 65536 bytes plus whatever the write reported,
 *     and they form one continuous stream (no byte lost or duplicated);
 *   - the pipe still works (1000 fresh bytes round trip).
 * What this proves: a process checkpointed while blocked in a write on a full
 * pipe resumes blocked in the same write (the interrupted system call is
 * restarted, not failed or skipped, and not applied twice), its pipe content
 * and capacity are intact, and its SIGTERM handler (without SA_RESTART) is
 * restored.
 *
 * Race: a SIGTERM arriving after the flag test but before the write() enters
 * the kernel would leave the write blocked for ever; the SIGTERM handler
 * therefore also starts a repeating 50 ms ITIMER_REAL whose (empty, no
 * SA_RESTART) SIGALRM handler interrupts such a write. The timer is armed only
 * after SIGTERM, so it plays no role while the process may be checkpointed.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CAPACITY 65536

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
    (void)sig;
    got_term = 1;
    struct itimerval it = {{0, 50000}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void on_alrm(int sig)
{
    (void)sig;
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--extra=10000]");
    size_t extra = (size_t)tp_arg_ull("extra", 10000, 1, 1 << 20);
    tp_args_done();

    uint64_t seed = tp_mix64(((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ 0x70777269ULL);

    int fds[2];
    if (pipe(fds) != 0)
        tp_die_errno("pipe");
    int rfd = fds[0], wfd = fds[1];
    int cap = fcntl(wfd, F_SETPIPE_SZ, CAPACITY);
    if (cap < 0)
        tp_die_errno("F_SETPIPE_SZ(%d)", CAPACITY);
    if (cap != CAPACITY)
        tp_die("F_SETPIPE_SZ(%d) gave %d", CAPACITY, cap);

    uint8_t *buf = malloc(CAPACITY + extra);
    if (!buf)
        tp_die("malloc failed");
    tp_pattern_fill(buf, CAPACITY + extra, seed, 0);
    tp_fill_nonblock(wfd, buf, CAPACITY, "filling the pipe");

    /* really full? */
    if (tp_set_nonblock(wfd, 1) != 0)
        tp_die_errno("O_NONBLOCK");
    ssize_t w = write(wfd, buf, 1);
    if (!(w < 0 && errno == EAGAIN))
        tp_die("the filled pipe accepts more: write gave %zd (%s)", w,
               w < 0 ? strerror(errno) : "written");
    if (tp_set_nonblock(wfd, 0) != 0)
        tp_die_errno("clearing O_NONBLOCK");

    int rfdfl = fcntl(rfd, F_GETFD), rfl = fcntl(rfd, F_GETFL);
    int wfdfl = fcntl(wfd, F_GETFD), wfl = fcntl(wfd, F_GETFL);
    if (rfdfl < 0 || rfl < 0 || wfdfl < 0 || wfl < 0)
        tp_die_errno("fcntl(F_GETFD/F_GETFL)");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the signal interrupts the write */
    sa.sa_handler = on_term;
    if (sigaction(SIGTERM, &sa, NULL) != 0)
        tp_die_errno("sigaction(SIGTERM)");
    sa.sa_handler = on_alrm;
    if (sigaction(SIGALRM, &sa, NULL) != 0)
        tp_die_errno("sigaction(SIGALRM)");
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    tp_log("pipe read fd %d, write fd %d, %d bytes queued; about to block writing %zu more", rfd,
           wfd, CAPACITY, extra);

    tp_ready();

    /* A SIGTERM sent before this point is pending and delivered right here. */
    if (sigprocmask(SIG_UNBLOCK, &term, NULL) != 0) {
        tp_fail("sigprocmask(SIG_UNBLOCK, SIGTERM): %s", strerror(errno));
        tp_finish();
    }
    ssize_t n = -2;
    int werr = 0;
    if (!got_term) {
        n = write(wfd, buf + CAPACITY, extra);
        werr = errno;
    }
    if (!got_term) {
        tp_fail("the blocking write of %zu bytes into the full pipe returned %zd (%s) before "
                "SIGTERM", extra, n, n < 0 ? strerror(werr) : "bytes written");
        sigset_t none;
        sigemptyset(&none);
        while (!got_term)
            sigsuspend(&none);
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    if (setitimer(ITIMER_REAL, &off, NULL) != 0)
        tp_log("setitimer(off): %s", strerror(errno));
    if (sigprocmask(SIG_BLOCK, &term, NULL) != 0)
        tp_log("sigprocmask(SIG_BLOCK, SIGTERM): %s", strerror(errno));
    tp_log("SIGTERM received; the write returned %zd (%s)", n,
           n == -2 ? "never started" : n < 0 ? strerror(werr) : "bytes");

    tp_begin_check();

    size_t expected = CAPACITY;
    if (n == -2)
        tp_log("SIGTERM arrived before the write started: only the pipe content is checked");
    else if (n == -1 && werr != EINTR)
        tp_fail("the blocking write failed with %s, expected EINTR", strerror(werr));
    else if (n >= 0) {
        if (!tp_failed())
            tp_fail("the blocking write transferred %zd of %zu bytes although nothing read the "
                    "pipe", n, extra);
        expected += (size_t)n;
    }

    tp_check_fd_flags(rfd, "pipe read end", rfdfl, rfl);
    tp_check_fd_flags(wfd, "pipe write end", wfdfl, wfl);
    struct stat rst, wst;
    if (fstat(rfd, &rst) != 0 || fstat(wfd, &wst) != 0)
        tp_fail("fstat of fd %d/%d: %s", rfd, wfd, strerror(errno));
    else if (!S_ISFIFO(rst.st_mode) || !S_ISFIFO(wst.st_mode) || rst.st_ino != wst.st_ino)
        tp_fail("fds %d/%d are no longer the two ends of one pipe", rfd, wfd);

    int cap2 = fcntl(wfd, F_GETPIPE_SZ);
    if (cap2 < 0)
        tp_fail("fcntl(%d, F_GETPIPE_SZ): %s", wfd, strerror(errno));
    else if (cap2 != CAPACITY)
        tp_fail("pipe capacity (F_GETPIPE_SZ) is %d, expected %d", cap2, CAPACITY);

    if (tp_check_drain(rfd, "pipe", expected, seed, 0) == 0)
        tp_check_roundtrip(rfd, wfd, "pipe", 1000, seed ^ 0x3c3c);

    tp_finish();
}

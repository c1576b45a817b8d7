/*
 * unixsock: Unix socket pairs (socketpair(AF_UNIX, ...)) with queued data (see README.md).
 *
 *   unixsock --pidfile=F --outfile=O [--child] [--seed=N]
 *
 * - S (SOCK_STREAM): fds 40 and 41; SO_SNDBUF of 40 and SO_RCVBUF of 41 raised (262144 asked,
 *   what getsockopt then reports is recorded); 100000 bytes written into 40 wait at 41, 777
 *   bytes written into 41 wait at 40; fd 40 O_NONBLOCK; fd 42 a dup of 41.
 * - D (SOCK_DGRAM): fds 43 and 44; SO_PASSCRED on 44; datagrams of 1, 1000 and 0 (empty) bytes
 *   sent from 43 wait at 44, one of 300 bytes sent from 44 waits at 43.
 * - Q (SOCK_SEQPACKET): fds 45 and 46; messages of 10 and 5000 bytes sent from 45 wait at 46,
 *   then shutdown(45, SHUT_WR).
 * - E (SOCK_STREAM, nothing queued): fds 47 and 48, FD_CLOEXEC on 48.
 * - H (SOCK_STREAM, half-closed): 50 bytes sent from one end, which is then closed; the other
 *   end is fd 49.
 * --child: after tp_setsid, a forked child keeps one end of another stream pair (fd 50; the
 *   parent keeps fd 51) and answers requests: a 4-byte number n is answered with n + 1, until
 *   EOF, then the child exits 0. It inherits all the other descriptors. Nothing is pending
 *   between them at the checkpoint.
 * Data patterns come from a per-run seed (pid, time; --seed=N fixes it).
 * On SIGTERM (SIGPIPE ignored for the check):
 * - S: every byte of the 100000 at 41, then nothing (EAGAIN); every byte of the 777 at 40, then
 *   EAGAIN; O_NONBLOCK on 40 and not on 41; SO_SNDBUF of 40 and SO_RCVBUF of 41 as recorded;
 *   1000 fresh bytes each way; fd 42 is 41's socket (same inode) and bytes sent through 40 are
 *   read through 42; SO_TYPE SOCK_STREAM and SO_DOMAIN AF_UNIX.
 * - D: at 44 three datagrams in order, sizes 1, 1000, 0, their bytes, then EAGAIN; at 43 one of
 *   300 bytes, then EAGAIN; SO_PASSCRED 1 on 44 and 0 on 43; SO_TYPE SOCK_DGRAM; a fresh
 *   datagram each way.
 * - Q: at 46 the messages of 10 and 5000 bytes with their bytes, then EOF (0); a send on 45
 *   fails with EPIPE; a fresh message from 46 still reaches 45; SO_TYPE SOCK_SEQPACKET.
 * - E: nothing queued either way, a round trip each way, FD_CLOEXEC on 48 only.
 * - H: the 50 bytes at 49, then EOF (0).
 * - --child: request 41 is answered with 42; after the parent closes its end the child exits 0.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FD_S0 40 /* S: O_NONBLOCK, 777 bytes waiting */
#define FD_S1 41 /* S: 100000 bytes waiting */
#define FD_S2 42 /* dup of 41 */
#define FD_D0 43 /* D: one datagram (300) waiting */
#define FD_D1 44 /* D: SO_PASSCRED, three datagrams (1, 1000, 0) waiting */
#define FD_Q0 45 /* Q: shut down for writing */
#define FD_Q1 46 /* Q: two messages (10, 5000) waiting */
#define FD_E0 47 /* E: empty */
#define FD_E1 48 /* E: empty, FD_CLOEXEC */
#define FD_H 49  /* H: 50 bytes waiting, peer closed */
#define FD_CHILD 50  /* the child's end */
#define FD_PARENT 51 /* the parent's end */

#define S_BIG 100000
#define S_SMALL 777
#define BUF_ASK 262144
#define D_BIG 1000
#define D_BACK 300
#define Q_SMALL 10
#define Q_BIG 5000
#define H_LEN 50
#define ROUND 1000

/* One stream of the pattern per use. */
enum { P_S_BIG = 1, P_S_SMALL, P_S_RT1, P_S_RT2, P_S_DUP, P_D, P_D_BACK, P_D_RT1, P_D_RT2, P_Q, P_Q_RT,
       P_E_RT1, P_E_RT2, P_H };

static uint64_t g_seed;
static uint64_t seed_of(int which) { return tp_mix64(g_seed ^ (uint64_t)which * 0x9e3779b97f4a7c15ULL); }

static unsigned char g_buf[S_BIG + 4096];

/* ------------------------------------------------------------------ */
/* set-up                                                               */

static void make_pair(int type, int fd0, int fd1, const char *what)
{
    int sv[2];
    if (socketpair(AF_UNIX, type, 0, sv) < 0) tp_die_errno("%s: socketpair", what);
    if (tp_move_fd(sv[0], fd0, 0) < 0) tp_die_errno("%s: move fd %d to %d", what, sv[0], fd0);
    if (tp_move_fd(sv[1], fd1, 0) < 0) tp_die_errno("%s: move fd %d to %d", what, sv[1], fd1);
}

/* Send len bytes of stream `which` (from offset off) without blocking, as one message. */
static void send_msg(int fd, size_t len, int which, uint64_t off, const char *what)
{
    tp_pattern_fill(g_buf, len, seed_of(which), off);
    ssize_t w;
    while ((w = send(fd, g_buf, len, MSG_DONTWAIT)) < 0 && errno == EINTR) {}
    if (w < 0) tp_die_errno("%s: send(%d, %zu bytes)", what, fd, len);
    if ((size_t)w != len) tp_die("%s: send(%d, %zu bytes) sent %zd", what, fd, len, w);
}

/* Send len bytes of a stream without blocking, looping over short sends. */
static void send_stream(int fd, size_t len, int which, const char *what)
{
    tp_pattern_fill(g_buf, len, seed_of(which), 0);
    size_t done = 0;
    while (done < len) {
        ssize_t w = send(fd, g_buf + done, len - done, MSG_DONTWAIT);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) tp_die_errno("%s: send(%d) after %zu of %zu bytes", what, fd, done, len);
        done += (size_t)w;
    }
}

static int get_int_opt(int fd, int opt, const char *name)
{
    int v = 0;
    socklen_t l = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, opt, &v, &l) < 0) tp_die_errno("getsockopt(%d, %s)", fd, name);
    return v;
}

static void set_int_opt(int fd, int opt, int v, const char *name)
{
    if (setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v) < 0) tp_die_errno("setsockopt(%d, %s, %d)", fd, name, v);
}

/* The child of --child: n -> n + 1 until EOF. */
__attribute__((noreturn)) static void child_loop(int fd)
{
    for (;;) {
        uint32_t n;
        size_t got = tp_read_full(fd, &n, sizeof n);
        if (got == 0) _exit(0);
        if (got != sizeof n) _exit(3);
        n++;
        ssize_t w;
        while ((w = write(fd, &n, sizeof n)) < 0 && errno == EINTR) {}
        if (w != (ssize_t)sizeof n) _exit(4);
    }
}

/* ------------------------------------------------------------------ */
/* checks                                                               */

static void check_opt(int fd, int level, int opt, const char *name, int want, const char *what)
{
    int v;
    if (tp_sockopt_int(fd, level, opt, name, what, &v) == 0 && v != want)
        tp_fail("%s: fd %d %s is %d, expected %d", what, fd, name, v, want);
}

static void check_type(int fd, int type, const char *type_name, const char *what)
{
    int v;
    if (tp_sockopt_int(fd, SOL_SOCKET, SO_TYPE, "SO_TYPE", what, &v) == 0 && v != type)
        tp_fail("%s: fd %d SO_TYPE is %d, expected %d (%s)", what, fd, v, type, type_name);
    if (tp_sockopt_int(fd, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN", what, &v) == 0 && v != AF_UNIX)
        tp_fail("%s: fd %d SO_DOMAIN is %d, expected %d (AF_UNIX)", what, fd, v, AF_UNIX);
}

static void check_fdflags(int fd, int want_cloexec, int want_nonblock, const char *what)
{
    int fdfl = fcntl(fd, F_GETFD), fl = fcntl(fd, F_GETFL);
    if (fdfl < 0 || fl < 0) {
        tp_fail("%s: fcntl(%d): %s", what, fd, strerror(errno));
        return;
    }
    if (!!(fdfl & FD_CLOEXEC) != want_cloexec)
        tp_fail("%s: fd %d F_GETFD 0x%x, expected %s", what, fd, fdfl, want_cloexec ? "FD_CLOEXEC" : "no FD_CLOEXEC");
    if (!!(fl & O_NONBLOCK) != want_nonblock)
        tp_fail("%s: fd %d F_GETFL 0%o, expected %s", what, fd, fl, want_nonblock ? "O_NONBLOCK" : "no O_NONBLOCK");
    if ((fl & O_ACCMODE) != O_RDWR) tp_fail("%s: fd %d access mode 0%o, expected O_RDWR", what, fd, fl & O_ACCMODE);
}

/* recv(MSG_DONTWAIT) retrying on EINTR. */
static ssize_t recv_nb(int fd, void *buf, size_t len)
{
    ssize_t r;
    while ((r = recv(fd, buf, len, MSG_DONTWAIT)) < 0 && errno == EINTR) {}
    return r;
}

static void report_mismatch(const unsigned char *got, size_t len, int which, uint64_t off, const char *what)
{
    ssize_t bad = tp_pattern_check(got, len, seed_of(which), off);
    if (bad >= 0)
        tp_fail("%s: byte %zd is 0x%02x, expected 0x%02x", what, bad, got[bad],
                tp_pattern_byte(seed_of(which), off + (uint64_t)bad));
}

/* Read len bytes of stream `which` from a stream socket (all must be queued already), then
 * expect EAGAIN or EOF. */
static void check_stream(int fd, size_t len, int which, int expect_eof, const char *what)
{
    size_t got = 0;
    for (;;) {
        ssize_t r = recv_nb(fd, g_buf + got, len - got);
        if (r < 0) {
            tp_fail("%s: recv(%d) after %zu of %zu bytes: %s", what, fd, got, len,
                    errno == EAGAIN ? "EAGAIN (no more data queued)" : strerror(errno));
            break;
        }
        if (r == 0) {
            tp_fail("%s: end of file on fd %d after %zu of %zu bytes", what, fd, got, len);
            break;
        }
        got += (size_t)r;
        if (got == len) break;
    }
    report_mismatch(g_buf, got, which, 0, what);
    if (got == len) tp_check_nothing_more(fd, expect_eof, what);
}

/* One message/datagram of exactly len bytes of stream `which` at offset off. */
static void check_msg(int fd, size_t len, int which, uint64_t off, const char *what)
{
    ssize_t r = recv_nb(fd, g_buf, sizeof g_buf);
    if (r < 0) {
        tp_fail("%s: recv(%d): %s, expected a message of %zu bytes", what, fd,
                errno == EAGAIN ? "EAGAIN (nothing queued)" : strerror(errno), len);
        return;
    }
    if ((size_t)r != len) {
        tp_fail("%s: recv(%d) gave a message of %zd bytes, expected %zu", what, fd, r, len);
        return;
    }
    report_mismatch(g_buf, len, which, off, what);
}

/* len fresh bytes from wfd read back at rfd (stream sockets: the bytes may come in pieces). */
static void check_roundtrip(int wfd, int rfd, size_t len, int which, const char *what)
{
    static unsigned char out[ROUND];
    tp_pattern_fill(out, len, seed_of(which), 0);
    ssize_t w;
    while ((w = send(wfd, out, len, MSG_DONTWAIT)) < 0 && errno == EINTR) {}
    if (w != (ssize_t)len) {
        tp_fail("%s: send(%d, %zu fresh bytes) gave %zd (%s)", what, wfd, len, w, w < 0 ? strerror(errno) : "short");
        return;
    }
    check_stream(rfd, len, which, 0, what);
}

static int same_socket(int a, int b, const char *what)
{
    struct stat sa, sb;
    if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0) {
        tp_fail("%s: fstat(%d/%d): %s", what, a, b, strerror(errno));
        return 0;
    }
    if (!S_ISSOCK(sa.st_mode)) tp_fail("%s: fd %d is not a socket (mode 0%o)", what, a, sa.st_mode);
    if (sa.st_ino != sb.st_ino || sa.st_dev != sb.st_dev) {
        tp_fail("%s: fd %d is inode %lu, fd %d inode %lu: not the same socket", what, a, (unsigned long)sa.st_ino, b,
                (unsigned long)sb.st_ino);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--child] [--seed=N]");
    int with_child = tp_arg_flag("child");
    uint64_t seed_arg = tp_arg_ull("seed", 0, 0, ~0ULL);
    tp_args_done();
    if (with_child) tp_setsid();
    g_seed = seed_arg ? seed_arg : tp_mix64((uint64_t)getpid() ^ ((uint64_t)time(NULL) << 20));

    /* ---- S ---- */
    make_pair(SOCK_STREAM, FD_S0, FD_S1, "S");
    set_int_opt(FD_S0, SO_SNDBUF, BUF_ASK, "SO_SNDBUF");
    set_int_opt(FD_S1, SO_RCVBUF, BUF_ASK, "SO_RCVBUF");
    int s_sndbuf = get_int_opt(FD_S0, SO_SNDBUF, "SO_SNDBUF");
    int s_rcvbuf = get_int_opt(FD_S1, SO_RCVBUF, "SO_RCVBUF");
    send_stream(FD_S0, S_BIG, P_S_BIG, "S 40 -> 41");
    send_stream(FD_S1, S_SMALL, P_S_SMALL, "S 41 -> 40");
    if (tp_set_nonblock(FD_S0, 1) < 0) tp_die_errno("S: O_NONBLOCK on fd %d", FD_S0);
    if (dup2(FD_S1, FD_S2) != FD_S2) tp_die_errno("S: dup2(%d, %d)", FD_S1, FD_S2);

    /* ---- D ---- */
    make_pair(SOCK_DGRAM, FD_D0, FD_D1, "D");
    set_int_opt(FD_D1, SO_PASSCRED, 1, "SO_PASSCRED");
    send_msg(FD_D0, 1, P_D, 0, "D 43 -> 44 (1 byte)");
    send_msg(FD_D0, D_BIG, P_D, 1, "D 43 -> 44 (1000 bytes)");
    send_msg(FD_D0, 0, P_D, 1 + D_BIG, "D 43 -> 44 (empty)");
    send_msg(FD_D1, D_BACK, P_D_BACK, 0, "D 44 -> 43 (300 bytes)");

    /* ---- Q ---- */
    make_pair(SOCK_SEQPACKET, FD_Q0, FD_Q1, "Q");
    send_msg(FD_Q0, Q_SMALL, P_Q, 0, "Q 45 -> 46 (10 bytes)");
    send_msg(FD_Q0, Q_BIG, P_Q, Q_SMALL, "Q 45 -> 46 (5000 bytes)");
    if (shutdown(FD_Q0, SHUT_WR) < 0) tp_die_errno("Q: shutdown(%d, SHUT_WR)", FD_Q0);

    /* ---- E ---- */
    make_pair(SOCK_STREAM, FD_E0, FD_E1, "E");
    if (tp_move_fd(FD_E1, FD_E1, 1) < 0) tp_die_errno("E: FD_CLOEXEC on fd %d", FD_E1);

    /* ---- H ---- */
    {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) tp_die_errno("H: socketpair");
        send_stream(sv[1], H_LEN, P_H, "H");
        if (close(sv[1]) < 0) tp_die_errno("H: close(%d)", sv[1]);
        if (tp_move_fd(sv[0], FD_H, 0) < 0) tp_die_errno("H: move fd %d to %d", sv[0], FD_H);
    }

    /* ---- the child ---- */
    pid_t child = -1;
    if (with_child) {
        make_pair(SOCK_STREAM, FD_CHILD, FD_PARENT, "child pair");
        child = fork();
        if (child < 0) tp_die_errno("fork");
        if (child == 0) {
            close(FD_PARENT);
            child_loop(FD_CHILD);
        }
        if (close(FD_CHILD) < 0) tp_die_errno("close(%d)", FD_CHILD);
    }

    tp_log("S: fds %d/%d (dup %d), SO_SNDBUF %d, SO_RCVBUF %d; D: %d/%d; Q: %d/%d; E: %d/%d; H: %d; child %d; seed 0x%llx",
           FD_S0, FD_S1, FD_S2, s_sndbuf, s_rcvbuf, FD_D0, FD_D1, FD_Q0, FD_Q1, FD_E0, FD_E1, FD_H, (int)child,
           (unsigned long long)g_seed);

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) tp_fail("signal(SIGPIPE, SIG_IGN): %s", strerror(errno));

    /* ---- S ---- */
    check_fdflags(FD_S0, 0, 1, "S");
    check_fdflags(FD_S1, 0, 0, "S");
    check_fdflags(FD_S2, 0, 0, "S (the dup)");
    for (int fd = FD_S0; fd <= FD_S2; fd++) check_type(fd, SOCK_STREAM, "SOCK_STREAM", "S");
    check_opt(FD_S0, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", s_sndbuf, "S (as at set-up)");
    check_opt(FD_S1, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", s_rcvbuf, "S (as at set-up)");
    check_stream(FD_S1, S_BIG, P_S_BIG, 0, "S: the 100000 bytes queued at fd 41");
    check_stream(FD_S0, S_SMALL, P_S_SMALL, 0, "S: the 777 bytes queued at fd 40");
    check_roundtrip(FD_S0, FD_S1, ROUND, P_S_RT1, "S: fresh bytes 40 -> 41");
    check_roundtrip(FD_S1, FD_S0, ROUND, P_S_RT2, "S: fresh bytes 41 -> 40");
    if (same_socket(FD_S1, FD_S2, "S: fd 42 (dup of 41)"))
        check_roundtrip(FD_S0, FD_S2, ROUND, P_S_DUP, "S: fresh bytes 40 -> 42 (the dup of 41)");

    /* ---- D ---- */
    check_fdflags(FD_D0, 0, 0, "D");
    check_fdflags(FD_D1, 0, 0, "D");
    check_type(FD_D0, SOCK_DGRAM, "SOCK_DGRAM", "D");
    check_type(FD_D1, SOCK_DGRAM, "SOCK_DGRAM", "D");
    check_opt(FD_D1, SOL_SOCKET, SO_PASSCRED, "SO_PASSCRED", 1, "D");
    check_opt(FD_D0, SOL_SOCKET, SO_PASSCRED, "SO_PASSCRED", 0, "D");
    check_msg(FD_D1, 1, P_D, 0, "D: first datagram at fd 44 (1 byte)");
    check_msg(FD_D1, D_BIG, P_D, 1, "D: second datagram at fd 44 (1000 bytes)");
    check_msg(FD_D1, 0, P_D, 1 + D_BIG, "D: third datagram at fd 44 (empty)");
    tp_check_nothing_more(FD_D1, 0, "D: fd 44 after its three datagrams");
    check_msg(FD_D0, D_BACK, P_D_BACK, 0, "D: datagram at fd 43 (300 bytes)");
    tp_check_nothing_more(FD_D0, 0, "D: fd 43 after its datagram");
    {
        ssize_t w;
        tp_pattern_fill(g_buf, 77, seed_of(P_D_RT1), 0);
        if ((w = send(FD_D0, g_buf, 77, MSG_DONTWAIT)) != 77)
            tp_fail("D: send(%d, a fresh datagram of 77 bytes) gave %zd (%s)", FD_D0, w, w < 0 ? strerror(errno) : "short");
        else
            check_msg(FD_D1, 77, P_D_RT1, 0, "D: fresh datagram 43 -> 44");
        tp_pattern_fill(g_buf, 33, seed_of(P_D_RT2), 0);
        if ((w = send(FD_D1, g_buf, 33, MSG_DONTWAIT)) != 33)
            tp_fail("D: send(%d, a fresh datagram of 33 bytes) gave %zd (%s)", FD_D1, w, w < 0 ? strerror(errno) : "short");
        else
            check_msg(FD_D0, 33, P_D_RT2, 0, "D: fresh datagram 44 -> 43");
    }

    /* ---- Q ---- */
    check_fdflags(FD_Q0, 0, 0, "Q");
    check_fdflags(FD_Q1, 0, 0, "Q");
    check_type(FD_Q0, SOCK_SEQPACKET, "SOCK_SEQPACKET", "Q");
    check_type(FD_Q1, SOCK_SEQPACKET, "SOCK_SEQPACKET", "Q");
    check_msg(FD_Q1, Q_SMALL, P_Q, 0, "Q: first message at fd 46 (10 bytes)");
    check_msg(FD_Q1, Q_BIG, P_Q, Q_SMALL, "Q: second message at fd 46 (5000 bytes)");
    tp_check_nothing_more(FD_Q1, 1, "Q: fd 46 after its two messages (fd 45 shut down for writing)");
    {
        ssize_t w = send(FD_Q0, "x", 1, MSG_DONTWAIT);
        if (w >= 0) tp_fail("Q: send(%d) succeeded (%zd bytes), expected EPIPE: the SHUT_WR is gone", FD_Q0, w);
        else if (errno != EPIPE) tp_fail("Q: send(%d): %s, expected EPIPE (shut down for writing)", FD_Q0, strerror(errno));
        tp_pattern_fill(g_buf, 33, seed_of(P_Q_RT), 0);
        if ((w = send(FD_Q1, g_buf, 33, MSG_DONTWAIT)) != 33)
            tp_fail("Q: send(%d, a fresh message of 33 bytes) gave %zd (%s), expected 33: fd 46 may still send", FD_Q1, w,
                    w < 0 ? strerror(errno) : "short");
        else
            check_msg(FD_Q0, 33, P_Q_RT, 0, "Q: fresh message 46 -> 45");
    }

    /* ---- E ---- */
    check_fdflags(FD_E0, 0, 0, "E");
    check_fdflags(FD_E1, 1, 0, "E");
    check_type(FD_E0, SOCK_STREAM, "SOCK_STREAM", "E");
    check_type(FD_E1, SOCK_STREAM, "SOCK_STREAM", "E");
    tp_check_nothing_more(FD_E0, 0, "E: fd 47 (nothing queued)");
    tp_check_nothing_more(FD_E1, 0, "E: fd 48 (nothing queued)");
    check_roundtrip(FD_E0, FD_E1, ROUND, P_E_RT1, "E: fresh bytes 47 -> 48");
    check_roundtrip(FD_E1, FD_E0, ROUND, P_E_RT2, "E: fresh bytes 48 -> 47");

    /* ---- H ---- */
    check_fdflags(FD_H, 0, 0, "H");
    check_type(FD_H, SOCK_STREAM, "SOCK_STREAM", "H");
    check_stream(FD_H, H_LEN, P_H, 1, "H: the 50 bytes at fd 49 (peer closed)");

    /* ---- the child ---- */
    if (with_child) {
        check_type(FD_PARENT, SOCK_STREAM, "SOCK_STREAM", "the child's pair");
        uint32_t n = 41, answer = 0;
        ssize_t w;
        while ((w = write(FD_PARENT, &n, sizeof n)) < 0 && errno == EINTR) {}
        if (w != (ssize_t)sizeof n) tp_fail("request to the child: write(%d) gave %zd (%s)", FD_PARENT, w, w < 0 ? strerror(errno) : "short");
        else {
            size_t got = tp_read_full(FD_PARENT, &answer, sizeof answer);
            if (got != sizeof answer) tp_fail("the child's answer: %zu of 4 bytes before EOF or an error", got);
            else if (answer != 42) tp_fail("the child answered %u to 41, expected 42", answer);
        }
        close(FD_PARENT);
        int status = 0;
        pid_t r;
        while ((r = waitpid(child, &status, 0)) < 0 && errno == EINTR) {}
        if (r != child) tp_fail("waitpid(%d): %s", (int)child, r < 0 ? strerror(errno) : "another pid");
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            tp_fail("the child ended with status 0x%x, expected exit 0", status);
    }
    tp_finish();
}

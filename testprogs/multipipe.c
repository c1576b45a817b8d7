/*
 * multipipe: many pipes in one process, with different fills, capacities,
 * flags, fd numbers and missing ends.
 *
 *   multipipe --pidfile=F --outfile=O [--seed=N]
 *
 * --seed fixes the data (default: a per-run seed from pid and time); golden
 * item streams need the same bytes on every run.
 *
 *   name       fill                 capacity  read fd        write fd       notes
 *   empty      0 bytes              default   50             51
 *   onebyte    1 byte               default   10 NONBLOCK    13             fd 60 = dup of fd 10
 *   partial    12345 bytes          default   20 CLOEXEC     21 CLOEXEC     pipe2(O_CLOEXEC)
 *   full64k    65536 (full)         64 KiB    30 CLOEXEC     31 NONBLOCK
 *   full1m     1 MiB (full)         1 MiB     100            101 NONBLOCK
 *   packets    3 packets 1/777/4096 default   40 NONBLOCK    41             pipe2(O_DIRECT)
 *   readonly   5000 bytes           default   70             closed
 *   writeonly  0 bytes              default   closed         71 NONBLOCK|CLOEXEC
 *
 * On SIGTERM, for every pipe: F_GETFD/F_GETFL of every fd unchanged; every fd
 * is a pipe, the ends of one pipe share an inode, different pipes do not;
 * F_GETPIPE_SZ unchanged; the full pipes refuse one more byte (EAGAIN);
 * FIONREAD and every byte match, then the pipe is empty; the packet pipe
 * returns exactly one packet per read (sizes 1, 777, 4096 in order) and still
 * keeps boundaries for fresh packets; pipes with both ends pass 1000 fresh
 * bytes through; `readonly` reads EOF after its data (no writer anywhere);
 * `writeonly` gets EPIPE on write (no reader anywhere); fd 60 shares its
 * open file description with fd 10 (an O_NONBLOCK change through one is seen
 * through the other, data read through 60 is gone from 10).
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NPACKETS 3
static const size_t packet_sizes[NPACKETS] = {1, 777, 4096};

struct pspec {
    const char *name;
    size_t fill;     /* bytes (ignored for the packet pipe) */
    int capacity;    /* 0: default, else F_SETPIPE_SZ */
    int pipe2flags;  /* O_CLOEXEC / O_DIRECT */
    int rnb, wnb;    /* O_NONBLOCK on the read / write end */
    int rcloexec, wcloexec;
    int rfd, wfd;    /* target fd numbers, -1: that end is closed */
    int full;        /* a 1-byte write must give EAGAIN (needs wnb) */
    int dup_r;       /* fd number of a dup of the read end, -1: none */
    int packets;     /* O_DIRECT packet pipe holding packet_sizes[] */

    /* recorded at setup */
    int cap;
    int rfdfl, rfl, wfdfl, wfl, dfdfl, dfl;
    uint64_t seed;
};

static struct pspec pipes[] = {
    {.name = "empty", .fill = 0, .rfd = 50, .wfd = 51, .dup_r = -1},
    {.name = "onebyte", .fill = 1, .rnb = 1, .rfd = 10, .wfd = 13, .dup_r = 60},
    {.name = "partial", .fill = 12345, .pipe2flags = O_CLOEXEC, .rcloexec = 1, .wcloexec = 1,
     .rfd = 20, .wfd = 21, .dup_r = -1},
    {.name = "full64k", .fill = 65536, .capacity = 65536, .wnb = 1, .rcloexec = 1, .rfd = 30,
     .wfd = 31, .full = 1, .dup_r = -1},
    {.name = "full1m", .fill = 1 << 20, .capacity = 1 << 20, .wnb = 1, .rfd = 100, .wfd = 101,
     .full = 1, .dup_r = -1},
    {.name = "packets", .pipe2flags = O_DIRECT, .rnb = 1, .rfd = 40, .wfd = 41, .dup_r = -1,
     .packets = 1},
    {.name = "readonly", .fill = 5000, .rfd = 70, .wfd = -1, .dup_r = -1},
    {.name = "writeonly", .fill = 0, .wnb = 1, .wcloexec = 1, .rfd = -1, .wfd = 71, .dup_r = -1},
};
#define NPIPES ((int)(sizeof pipes / sizeof pipes[0]))

static uint8_t bigbuf[1 << 20];

static void setup_pipe(struct pspec *p, uint64_t seed)
{
    p->seed = seed;
    int fds[2];
    if (pipe2(fds, p->pipe2flags) != 0)
        tp_die_errno("%s: pipe2(0%o)", p->name, p->pipe2flags);
    if (p->capacity) {
        int c = fcntl(fds[1], F_SETPIPE_SZ, p->capacity);
        if (c < 0)
            tp_die_errno("%s: F_SETPIPE_SZ(%d) (see /proc/sys/fs/pipe-max-size)", p->name,
                         p->capacity);
        if (c != p->capacity)
            tp_die("%s: F_SETPIPE_SZ(%d) gave %d", p->name, p->capacity, c);
    }
    p->cap = fcntl(fds[1], F_GETPIPE_SZ);
    if (p->cap < 0)
        tp_die_errno("%s: F_GETPIPE_SZ", p->name);

    if (p->packets) {
        for (int k = 0; k < NPACKETS; k++) {
            tp_pattern_fill(bigbuf, packet_sizes[k], seed + (uint64_t)k, 0);
            tp_fill_nonblock(fds[1], bigbuf, packet_sizes[k], p->name);
        }
    } else if (p->fill) {
        if (p->fill > sizeof bigbuf)
            tp_die("%s: fill too large", p->name);
        tp_pattern_fill(bigbuf, p->fill, seed, 0);
        tp_fill_nonblock(fds[1], bigbuf, p->fill, p->name);
    }

    if (p->rnb && tp_set_nonblock(fds[0], 1) != 0)
        tp_die_errno("%s: O_NONBLOCK on the read end", p->name);
    if (p->wnb && tp_set_nonblock(fds[1], 1) != 0)
        tp_die_errno("%s: O_NONBLOCK on the write end", p->name);

    if (p->full) {
        if (!p->wnb)
            tp_die("%s: internal: a full pipe needs a non-blocking write end", p->name);
        ssize_t w = write(fds[1], "x", 1);
        if (!(w < 0 && errno == EAGAIN))
            tp_die("%s: one more byte into the full pipe gave %zd (%s), expected EAGAIN",
                   p->name, w, w < 0 ? strerror(errno) : "written");
    }

    if (p->rfd >= 0) {
        if (tp_move_fd(fds[0], p->rfd, p->rcloexec) != p->rfd)
            tp_die_errno("%s: moving the read end %d to fd %d", p->name, fds[0], p->rfd);
    } else if (close(fds[0]) != 0) {
        tp_die_errno("%s: close(read end %d)", p->name, fds[0]);
    }
    if (p->wfd >= 0) {
        if (tp_move_fd(fds[1], p->wfd, p->wcloexec) != p->wfd)
            tp_die_errno("%s: moving the write end %d to fd %d", p->name, fds[1], p->wfd);
    } else if (close(fds[1]) != 0) {
        tp_die_errno("%s: close(write end %d)", p->name, fds[1]);
    }
    if (p->dup_r >= 0 && dup2(p->rfd, p->dup_r) != p->dup_r)
        tp_die_errno("%s: dup2(%d, %d)", p->name, p->rfd, p->dup_r);
}

static void record_flags(struct pspec *p)
{
    if (p->rfd >= 0 && ((p->rfdfl = fcntl(p->rfd, F_GETFD)) < 0 ||
                        (p->rfl = fcntl(p->rfd, F_GETFL)) < 0))
        tp_die_errno("%s: fcntl(%d)", p->name, p->rfd);
    if (p->wfd >= 0 && ((p->wfdfl = fcntl(p->wfd, F_GETFD)) < 0 ||
                        (p->wfl = fcntl(p->wfd, F_GETFL)) < 0))
        tp_die_errno("%s: fcntl(%d)", p->name, p->wfd);
    if (p->dup_r >= 0 && ((p->dfdfl = fcntl(p->dup_r, F_GETFD)) < 0 ||
                          (p->dfl = fcntl(p->dup_r, F_GETFL)) < 0))
        tp_die_errno("%s: fcntl(%d)", p->name, p->dup_r);
}

/* fstat an fd that must be a pipe; 0 on failure (reported) */
static ino_t pipe_ino(const struct pspec *p, int fd, const char *end)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        tp_fail("%s: fstat(%s fd %d): %s", p->name, end, fd, strerror(errno));
        return 0;
    }
    if (!S_ISFIFO(st.st_mode)) {
        tp_fail("%s: %s fd %d is no longer a pipe (mode 0%o)", p->name, end, fd,
                (unsigned)st.st_mode);
        return 0;
    }
    return st.st_ino;
}

static void check_packets(struct pspec *p)
{
    size_t total = 0;
    for (int k = 0; k < NPACKETS; k++)
        total += packet_sizes[k];
    int queued;
    if (ioctl(p->rfd, FIONREAD, &queued) != 0) {
        tp_fail("%s: ioctl(%d, FIONREAD): %s", p->name, p->rfd, strerror(errno));
        return;
    }
    if ((size_t)queued != total)
        tp_fail("%s: %d bytes queued (FIONREAD), expected %zu", p->name, queued, total);
    if (tp_set_nonblock(p->rfd, 1) != 0) {
        tp_fail("%s: O_NONBLOCK on fd %d: %s", p->name, p->rfd, strerror(errno));
        return;
    }
    for (int k = 0; k < NPACKETS; k++) {
        ssize_t r;
        do
            r = read(p->rfd, bigbuf, 65536);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            tp_fail("%s: read of packet %d (%zu bytes): %s", p->name, k, packet_sizes[k],
                    strerror(errno));
            return;
        }
        if ((size_t)r != packet_sizes[k]) {
            tp_fail("%s: packet %d: read returned %zd bytes, expected one packet of %zu", p->name,
                    k, r, packet_sizes[k]);
            return;
        }
        ssize_t at = tp_pattern_check(bigbuf, (size_t)r, p->seed + (uint64_t)k, 0);
        if (at >= 0) {
            tp_fail("%s: packet %d byte %zd: expected 0x%02x got 0x%02x", p->name, k, at,
                    tp_pattern_byte(p->seed + (uint64_t)k, (uint64_t)at), bigbuf[at]);
            return;
        }
    }
    ssize_t r;
    do
        r = read(p->rfd, bigbuf, 65536);
    while (r < 0 && errno == EINTR);
    if (!(r < 0 && errno == EAGAIN)) {
        tp_fail("%s: after %d packets read(%d) gave %zd (%s), expected EAGAIN", p->name, NPACKETS,
                p->rfd, r, r < 0 ? strerror(errno) : "data/EOF");
        return;
    }
    /* fresh packets keep their boundaries */
    static const size_t fresh[2] = {10, 20};
    if (tp_set_nonblock(p->wfd, 1) != 0) {
        tp_fail("%s: O_NONBLOCK on fd %d: %s", p->name, p->wfd, strerror(errno));
        return;
    }
    for (int k = 0; k < 2; k++) {
        tp_pattern_fill(bigbuf, fresh[k], p->seed ^ 0x55, 100 * k);
        ssize_t w = write(p->wfd, bigbuf, fresh[k]);
        if (w != (ssize_t)fresh[k]) {
            tp_fail("%s: writing a fresh packet of %zu bytes gave %zd (%s)", p->name, fresh[k], w,
                    w < 0 ? strerror(errno) : "short");
            return;
        }
    }
    for (int k = 0; k < 2; k++) {
        r = read(p->rfd, bigbuf, 65536);
        if (r != (ssize_t)fresh[k]) {
            tp_fail("%s: fresh packet %d: read gave %zd (%s), expected %zu bytes", p->name, k, r,
                    r < 0 ? strerror(errno) : "wrong size", fresh[k]);
            return;
        }
        if (tp_pattern_check(bigbuf, fresh[k], p->seed ^ 0x55, 100 * k) >= 0) {
            tp_fail("%s: fresh packet %d has wrong contents", p->name, k);
            return;
        }
    }
}

static void check_pipe(struct pspec *p)
{
    /* flags first: the data checks below change O_NONBLOCK */
    if (p->rfd >= 0)
        tp_check_fd_flags(p->rfd, p->name, p->rfdfl, p->rfl);
    if (p->wfd >= 0)
        tp_check_fd_flags(p->wfd, p->name, p->wfdfl, p->wfl);
    if (p->dup_r >= 0)
        tp_check_fd_flags(p->dup_r, p->name, p->dfdfl, p->dfl);

    ino_t ri = 0, wi = 0;
    if (p->rfd >= 0 && !(ri = pipe_ino(p, p->rfd, "read")))
        return;
    if (p->wfd >= 0 && !(wi = pipe_ino(p, p->wfd, "write")))
        return;
    if (ri && wi && ri != wi) {
        tp_fail("%s: read fd %d (inode %lu) and write fd %d (inode %lu) are different pipes",
                p->name, p->rfd, (unsigned long)ri, p->wfd, (unsigned long)wi);
        return;
    }
    if (p->dup_r >= 0) {
        ino_t di = pipe_ino(p, p->dup_r, "duplicated read");
        if (!di)
            return;
        if (di != ri) {
            tp_fail("%s: fd %d (inode %lu) should be a dup of fd %d (inode %lu)", p->name,
                    p->dup_r, (unsigned long)di, p->rfd, (unsigned long)ri);
            return;
        }
    }

    int fd = p->wfd >= 0 ? p->wfd : p->rfd;
    int cap = fcntl(fd, F_GETPIPE_SZ);
    if (cap < 0)
        tp_fail("%s: fcntl(%d, F_GETPIPE_SZ): %s", p->name, fd, strerror(errno));
    else if (cap != p->cap)
        tp_fail("%s: capacity (F_GETPIPE_SZ) is %d, expected %d", p->name, cap, p->cap);

    if (p->full) {
        ssize_t w = write(p->wfd, "x", 1);
        if (!(w < 0 && errno == EAGAIN)) {
            tp_fail("%s: the pipe should be full, but a 1-byte write gave %zd (%s)", p->name, w,
                    w < 0 ? strerror(errno) : "written");
            return;
        }
    }

    if (p->dup_r >= 0) {
        /* shared open file description: flag changes through one fd show
         * through the other */
        int fl = fcntl(p->rfd, F_GETFL);
        if (fl < 0 || fcntl(p->dup_r, F_SETFL, fl ^ O_NONBLOCK) != 0) {
            tp_fail("%s: toggling O_NONBLOCK through fd %d: %s", p->name, p->dup_r,
                    strerror(errno));
            return;
        }
        int fl2 = fcntl(p->rfd, F_GETFL);
        if (fl2 != (fl ^ O_NONBLOCK)) {
            tp_fail("%s: fd %d and fd %d no longer share an open file description (F_SETFL "
                    "through %d not seen through %d: 0%o)", p->name, p->rfd, p->dup_r,
                    p->dup_r, p->rfd, fl2);
            return;
        }
        if (fcntl(p->dup_r, F_SETFL, fl) != 0) {
            tp_fail("%s: F_SETFL on fd %d: %s", p->name, p->dup_r, strerror(errno));
            return;
        }
    }

    if (p->packets) {
        check_packets(p);
        return;
    }

    /* read the data through the dup if there is one: the original must then be empty */
    int rfd = p->dup_r >= 0 ? p->dup_r : p->rfd;
    if (rfd >= 0) {
        if (tp_check_drain(rfd, p->name, p->fill, p->seed, p->wfd < 0) != 0)
            return;
        if (p->dup_r >= 0) {
            int q;
            if (ioctl(p->rfd, FIONREAD, &q) != 0 || q != 0) {
                tp_fail("%s: after draining fd %d, fd %d still sees %d bytes", p->name, p->dup_r,
                        p->rfd, q);
                return;
            }
        }
    }
    if (p->rfd >= 0 && p->wfd >= 0)
        tp_check_roundtrip(p->rfd, p->wfd, p->name, 1000, p->seed ^ 0x1234);

    if (p->rfd < 0) {
        /* no reader anywhere: EPIPE (SIGPIPE ignored for the test) */
        if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
            tp_fail("signal(SIGPIPE, SIG_IGN): %s", strerror(errno));
            return;
        }
        ssize_t w = write(p->wfd, "x", 1);
        if (!(w < 0 && errno == EPIPE))
            tp_fail("%s: write to the pipe without a read end gave %zd (%s), expected EPIPE",
                    p->name, w, w < 0 ? strerror(errno) : "written: a read end exists somewhere");
    }
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--seed=N]");
    uint64_t run_seed = tp_mix64(((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ 0x6d756c74ULL);
    uint64_t seed = tp_arg_str("seed", NULL) ? tp_mix64(tp_arg_ull("seed", 0, 0, ~0ULL)) : run_seed;
    tp_args_done();
    for (int i = 0; i < NPIPES; i++)
        setup_pipe(&pipes[i], tp_mix64(seed + (uint64_t)i));
    for (int i = 0; i < NPIPES; i++) {
        record_flags(&pipes[i]);
        tp_log("%-9s read fd %3d, write fd %3d, capacity %7d, %7zu bytes", pipes[i].name,
               pipes[i].rfd, pipes[i].wfd, pipes[i].cap, pipes[i].fill);
    }

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    /* different pipes must have different inodes */
    ino_t inos[NPIPES];
    for (int i = 0; i < NPIPES; i++) {
        struct stat st;
        int fd = pipes[i].rfd >= 0 ? pipes[i].rfd : pipes[i].wfd;
        inos[i] = fstat(fd, &st) == 0 ? st.st_ino : 0;
        for (int j = 0; j < i; j++)
            if (inos[i] && inos[i] == inos[j])
                tp_fail("pipes %s and %s are the same pipe (inode %lu)", pipes[j].name,
                        pipes[i].name, (unsigned long)inos[i]);
    }
    for (int i = 0; i < NPIPES; i++)
        check_pipe(&pipes[i]);
    tp_finish();
}

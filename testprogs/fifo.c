/*
 * fifo: named FIFOs holding unread data.
 *
 *   fifo --pidfile=F --outfile=O [--dir=D] [--seed=N]
 *
 * --seed fixes the data (default: a per-run seed from pid and time); golden
 * item streams need the same bytes on every run.
 *
 * D defaults to the directory of the outfile. Two FIFOs are created there
 * with mkfifo (an existing file of the same name is replaced) and removed
 * again when the program exits:
 *   D/fifo-rdwr.PID   opened once O_RDWR, resized to 256 KiB with
 *                     F_SETPIPE_SZ, holding 100 KiB (more than a default pipe)
 *   D/fifo-split.PID  opened O_RDONLY|O_NONBLOCK, then O_WRONLY (a second
 *                     open file description), holding 5000 bytes
 *
 * On SIGTERM: F_GETFD/F_GETFL of the three fds unchanged; each fd is a FIFO
 * whose (st_dev, st_ino) equals stat(path); capacities unchanged; FIONREAD and
 * every byte match, then each FIFO is empty; 1000 fresh bytes pass through
 * each; finally the split FIFO's write end is closed and its read end must see
 * EOF (nobody else holds it open for writing).
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RDWR_CAP (256 * 1024)
#define RDWR_FILL (100 * 1024)
#define SPLIT_FILL 5000

static char path_a[PATH_MAX], path_b[PATH_MAX];
static int made_a, made_b;

/* atexit: remove what this process created (also after a setup failure) */
static void remove_fifos(void)
{
    if (made_a && unlink(path_a) != 0)
        tp_log("unlink(%s): %s", path_a, strerror(errno));
    if (made_b && unlink(path_b) != 0)
        tp_log("unlink(%s): %s", path_b, strerror(errno));
    made_a = made_b = 0;
}

struct fdrec {
    const char *what;
    int fd;
    const char *path;
    int fdfl, fl;
};

static void record(struct fdrec *r)
{
    if ((r->fdfl = fcntl(r->fd, F_GETFD)) < 0 || (r->fl = fcntl(r->fd, F_GETFL)) < 0)
        tp_die_errno("%s: fcntl(%d)", r->what, r->fd);
}

static void check_ident(const struct fdrec *r)
{
    struct stat fst, pst;
    if (fstat(r->fd, &fst) != 0) {
        tp_fail("%s: fstat(%d): %s", r->what, r->fd, strerror(errno));
        return;
    }
    if (!S_ISFIFO(fst.st_mode)) {
        tp_fail("%s: fd %d is not a FIFO (mode 0%o)", r->what, r->fd, (unsigned)fst.st_mode);
        return;
    }
    if (stat(r->path, &pst) != 0) {
        tp_fail("%s: stat(%s): %s", r->what, r->path, strerror(errno));
        return;
    }
    if (!S_ISFIFO(pst.st_mode))
        tp_fail("%s: %s is no longer a FIFO (mode 0%o)", r->what, r->path, (unsigned)pst.st_mode);
    else if (fst.st_ino != pst.st_ino || fst.st_dev != pst.st_dev)
        tp_fail("%s: fd %d is dev %lu inode %lu, but %s is dev %lu inode %lu", r->what, r->fd,
                (unsigned long)fst.st_dev, (unsigned long)fst.st_ino, r->path,
                (unsigned long)pst.st_dev, (unsigned long)pst.st_ino);
}

static int check_cap(const char *what, int fd, int want)
{
    int cap = fcntl(fd, F_GETPIPE_SZ);
    if (cap < 0) {
        tp_fail("%s: fcntl(%d, F_GETPIPE_SZ): %s", what, fd, strerror(errno));
        return -1;
    }
    if (cap != want) {
        tp_fail("%s: capacity (F_GETPIPE_SZ) is %d, expected %d", what, cap, want);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--dir=D] [--seed=N]");
    const char *dir = tp_arg_str("dir", NULL);
    uint64_t run_seed = tp_mix64(((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ 0x6669666fULL);
    uint64_t seed = tp_arg_str("seed", NULL) ? tp_mix64(tp_arg_ull("seed", 0, 0, ~0ULL)) : run_seed;
    tp_args_done();

    char outdir[PATH_MAX];
    if (!dir) {
        if (snprintf(outdir, sizeof outdir, "%s", tp_outfile) >= (int)sizeof outdir)
            tp_die("outfile path too long");
        dir = dirname(outdir);
    }
    struct stat dst;
    if (stat(dir, &dst) != 0)
        tp_die_errno("stat(%s)", dir);
    if (!S_ISDIR(dst.st_mode))
        tp_die("%s is not a directory", dir);

    uint64_t seed_a = tp_mix64(seed + 1), seed_b = tp_mix64(seed + 2);

    if (snprintf(path_a, sizeof path_a, "%s/fifo-rdwr.%d", dir, (int)getpid()) >=
            (int)sizeof path_a ||
        snprintf(path_b, sizeof path_b, "%s/fifo-split.%d", dir, (int)getpid()) >=
            (int)sizeof path_b)
        tp_die("--dir path too long");
    if (atexit(remove_fifos) != 0)
        tp_die("atexit failed");
    tp_make_fifo(path_a);
    made_a = 1;
    tp_make_fifo(path_b);
    made_b = 1;

    static uint8_t buf[RDWR_FILL];

    /* A: one O_RDWR fd, 256 KiB, 100 KiB unread */
    int fa = open(path_a, O_RDWR);
    if (fa < 0)
        tp_die_errno("open(%s, O_RDWR)", path_a);
    int c = fcntl(fa, F_SETPIPE_SZ, RDWR_CAP);
    if (c < 0)
        tp_die_errno("F_SETPIPE_SZ(%d) on %s", RDWR_CAP, path_a);
    if (c != RDWR_CAP)
        tp_die("F_SETPIPE_SZ(%d) on %s gave %d", RDWR_CAP, path_a, c);
    tp_pattern_fill(buf, RDWR_FILL, seed_a, 0);
    tp_fill_nonblock(fa, buf, RDWR_FILL, path_a);

    /* B: separate read (non-blocking) and write ends */
    int fbr = open(path_b, O_RDONLY | O_NONBLOCK);
    if (fbr < 0)
        tp_die_errno("open(%s, O_RDONLY|O_NONBLOCK)", path_b);
    int fbw = open(path_b, O_WRONLY);
    if (fbw < 0)
        tp_die_errno("open(%s, O_WRONLY)", path_b);
    int cap_b = fcntl(fbw, F_GETPIPE_SZ);
    if (cap_b < 0)
        tp_die_errno("F_GETPIPE_SZ on %s", path_b);
    tp_pattern_fill(buf, SPLIT_FILL, seed_b, 0);
    tp_fill_nonblock(fbw, buf, SPLIT_FILL, path_b);

    struct fdrec recs[3] = {
        {"fifo-rdwr", fa, path_a, 0, 0},
        {"fifo-split read end", fbr, path_b, 0, 0},
        {"fifo-split write end", fbw, path_b, 0, 0},
    };
    for (int i = 0; i < 3; i++)
        record(&recs[i]);
    tp_log("%s: fd %d (O_RDWR), %d bytes in %d; %s: read fd %d, write fd %d, %d bytes in %d",
           path_a, fa, RDWR_FILL, RDWR_CAP, path_b, fbr, fbw, SPLIT_FILL, cap_b);

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    for (int i = 0; i < 3; i++)
        tp_check_fd_flags(recs[i].fd, recs[i].what, recs[i].fdfl, recs[i].fl);
    for (int i = 0; i < 3; i++)
        check_ident(&recs[i]);

    if (check_cap("fifo-rdwr", fa, RDWR_CAP) == 0 &&
        tp_check_drain(fa, "fifo-rdwr", RDWR_FILL, seed_a, 0) == 0)
        tp_check_roundtrip(fa, fa, "fifo-rdwr", 1000, seed_a ^ 0x77);

    if (check_cap("fifo-split", fbw, cap_b) == 0 &&
        tp_check_drain(fbr, "fifo-split", SPLIT_FILL, seed_b, 0) == 0 &&
        tp_check_roundtrip(fbr, fbw, "fifo-split", 1000, seed_b ^ 0x77) == 0) {
        if (close(fbw) != 0) {
            tp_fail("close(%d): %s", fbw, strerror(errno));
        } else {
            char ch;
            ssize_t r;
            do
                r = read(fbr, &ch, 1);
            while (r < 0 && errno == EINTR);
            if (r != 0)
                tp_fail("fifo-split: after closing its write end, read gave %zd (%s), expected "
                        "EOF: another writer holds the FIFO open", r,
                        r < 0 ? strerror(errno) : "data");
        }
    }

    tp_finish(); /* exit() runs remove_fifos() */
}

/*
 * pipe: one anonymous pipe holding N unread bytes, both ends kept open.
 *
 *   pipe --pidfile=F --outfile=O [--size=4096] [--seed=N]
 *
 * --size accepts k/m suffixes. When N exceeds the default capacity the pipe
 * is resized with F_SETPIPE_SZ (limited by /proc/sys/fs/pipe-max-size).
 * The data is a long-period pattern from a per-run seed, so data left over
 * from another run or misplaced pages are detected; --seed fixes the seed
 * (golden item streams need the same bytes on every run).
 *
 * On SIGTERM: fd flags (F_GETFD) and status flags (F_GETFL) of both ends are
 * unchanged, both fds are still the two ends of one pipe, F_GETPIPE_SZ is
 * unchanged, FIONREAD == N, every byte matches, then the pipe is empty (a
 * non-blocking read gives EAGAIN); then 1000 fresh bytes written through the
 * write end come back out of the read end.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--size=4096] [--seed=N]");
    size_t size = (size_t)tp_arg_ull("size", 4096, 0, 1ULL << 30);
    uint64_t run_seed = tp_mix64(((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ 0x70697065ULL);
    uint64_t seed = tp_arg_str("seed", NULL) ? tp_mix64(tp_arg_ull("seed", 0, 0, ~0ULL)) : run_seed;
    tp_args_done();

    int fds[2];
    if (pipe(fds) != 0)
        tp_die_errno("pipe");
    int rfd = fds[0], wfd = fds[1];

    int cap = fcntl(wfd, F_GETPIPE_SZ);
    if (cap < 0)
        tp_die_errno("fcntl(F_GETPIPE_SZ)");
    if (size > (size_t)cap) {
        if (size > (size_t)INT32_MAX)
            tp_die("--size=%zu is too large for a pipe", size);
        cap = fcntl(wfd, F_SETPIPE_SZ, (int)size);
        if (cap < 0)
            tp_die_errno("fcntl(F_SETPIPE_SZ, %zu) (see /proc/sys/fs/pipe-max-size)", size);
        if ((size_t)cap < size)
            tp_die("F_SETPIPE_SZ(%zu) gave only %d bytes", size, cap);
    }

    if (size) {
        uint8_t *buf = malloc(size);
        if (!buf)
            tp_die("malloc(%zu) failed", size);
        tp_pattern_fill(buf, size, seed, 0);
        tp_fill_nonblock(wfd, buf, size, "filling the pipe");
        free(buf);
    }

    int queued;
    if (ioctl(rfd, FIONREAD, &queued) != 0)
        tp_die_errno("ioctl(FIONREAD)");
    if ((size_t)queued != size)
        tp_die("FIONREAD says %d bytes after writing %zu", queued, size);

    int rfdfl = fcntl(rfd, F_GETFD), rfl = fcntl(rfd, F_GETFL);
    int wfdfl = fcntl(wfd, F_GETFD), wfl = fcntl(wfd, F_GETFL);
    if (rfdfl < 0 || rfl < 0 || wfdfl < 0 || wfl < 0)
        tp_die_errno("fcntl(F_GETFD/F_GETFL)");
    tp_log("pipe read fd %d, write fd %d, capacity %d, %zu bytes queued", rfd, wfd, cap, size);

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    tp_check_fd_flags(rfd, "pipe read end", rfdfl, rfl);
    tp_check_fd_flags(wfd, "pipe write end", wfdfl, wfl);

    struct stat rst, wst;
    if (fstat(rfd, &rst) != 0 || fstat(wfd, &wst) != 0) {
        tp_fail("fstat of fd %d/%d: %s", rfd, wfd, strerror(errno));
    } else {
        if (!S_ISFIFO(rst.st_mode) || !S_ISFIFO(wst.st_mode))
            tp_fail("fds %d/%d are no longer pipes (modes 0%o/0%o)", rfd, wfd,
                    (unsigned)rst.st_mode, (unsigned)wst.st_mode);
        else if (rst.st_ino != wst.st_ino || rst.st_dev != wst.st_dev)
            tp_fail("read fd %d and write fd %d are different pipes (inodes %lu/%lu)", rfd, wfd,
                    (unsigned long)rst.st_ino, (unsigned long)wst.st_ino);
    }

    int cap2 = fcntl(rfd, F_GETPIPE_SZ);
    if (cap2 < 0)
        tp_fail("fcntl(%d, F_GETPIPE_SZ): %s", rfd, strerror(errno));
    else if (cap2 != cap)
        tp_fail("pipe capacity (F_GETPIPE_SZ) is %d, expected %d", cap2, cap);

    if (tp_check_drain(rfd, "pipe", size, seed, 0) == 0)
        tp_check_roundtrip(rfd, wfd, "pipe", 1000, seed ^ 0xabcdef);

    int cap3 = fcntl(wfd, F_GETPIPE_SZ);
    if (cap3 >= 0 && cap2 >= 0 && cap3 != cap2)
        tp_fail("pipe capacity changed from %d to %d while checking", cap2, cap3);

    tp_finish();
}

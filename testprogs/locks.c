/*
 * locks: file locks of every kind, held across a checkpoint/restore (see README.md).
 *
 *   locks --pidfile=F --outfile=O
 *
 * Beside the outfile: file A under flock(LOCK_SH); file B with POSIX locks, a write lock on bytes
 * 10..19 and a read lock from byte 100 to the end of the file; file C with an OFD write lock on
 * bytes 0..4095 (F_OFD_SETLK). The files stay (a restore needs them); they are removed at exit.
 * On SIGTERM each lock is probed from a second open file description of its file, which does not
 * share the locks: flock(LOCK_EX|LOCK_NB) on A must fail and flock(LOCK_SH|LOCK_NB) succeed;
 * F_OFD_GETLK on B and C must report each locked range with its type, and the bytes between them
 * free.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static char g_paths[3][4096];

static int open_file(int i, const char *suffix)
{
    snprintf(g_paths[i], sizeof g_paths[i], "%s.%s", tp_outfile, suffix);
    int fd = open(g_paths[i], O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) tp_die_errno("open %s", g_paths[i]);
    char zeros[8192] = {0};
    if (write(fd, zeros, sizeof zeros) != (ssize_t)sizeof zeros) tp_die_errno("write %s", g_paths[i]);
    return fd;
}

static void set_lock(int fd, int command, short type, off_t start, off_t len, const char *what)
{
    struct flock lock = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    if (fcntl(fd, command, &lock) < 0) tp_die_errno("lock %s", what);
}

/* What a second description sees at [start, start+len): F_UNLCK, or the conflicting lock's type and range. */
static void expect(int probe, off_t start, off_t len, short type, off_t lock_start, off_t lock_len, const char *what)
{
    struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    if (fcntl(probe, F_OFD_GETLK, &q) < 0) { tp_fail("%s: F_OFD_GETLK: %s", what, strerror(errno)); return; }
    if (q.l_type != type || (type != F_UNLCK && (q.l_start != lock_start || q.l_len != lock_len)))
        tp_fail("%s: a probe of bytes %lld+%lld sees type %d at %lld+%lld, expected type %d at %lld+%lld", what, (long long)start,
                (long long)len, q.l_type, (long long)q.l_start, (long long)q.l_len, type, (long long)lock_start, (long long)lock_len);
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "");
    tp_args_done();
    int a = open_file(0, "flock"), b = open_file(1, "posix"), c = open_file(2, "ofd");
    if (flock(a, LOCK_SH | LOCK_NB) < 0) tp_die_errno("flock A");
    set_lock(b, F_SETLK, F_WRLCK, 10, 10, "B write 10..19");
    set_lock(b, F_SETLK, F_RDLCK, 100, 0, "B read 100..EOF");
    set_lock(c, F_OFD_SETLK, F_WRLCK, 0, 4096, "C OFD write 0..4095");

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    int pa = open(g_paths[0], O_RDWR), pb = open(g_paths[1], O_RDWR), pc = open(g_paths[2], O_RDWR);
    if (pa < 0 || pb < 0 || pc < 0) tp_fail("reopening the files: %s", strerror(errno));
    else {
        if (flock(pa, LOCK_EX | LOCK_NB) == 0) tp_fail("A: an exclusive flock from another description succeeded: the shared lock is gone");
        else if (flock(pa, LOCK_SH | LOCK_NB) < 0) tp_fail("A: a shared flock from another description failed: %s", strerror(errno));
        expect(pb, 0, 10, F_UNLCK, 0, 0, "B before the write lock");
        expect(pb, 10, 10, F_WRLCK, 10, 10, "B write lock");
        expect(pb, 20, 80, F_UNLCK, 0, 0, "B between the locks");
        expect(pb, 100, 1, F_RDLCK, 100, 0, "B read lock");
        expect(pb, 1 << 20, 1, F_RDLCK, 100, 0, "B read lock far past the end");
        expect(pc, 0, 1, F_WRLCK, 0, 4096, "C OFD lock");
        expect(pc, 4096, 1, F_UNLCK, 0, 0, "C after the OFD lock");
    }
    for (int i = 0; i < 3; i++) unlink(g_paths[i]);
    tp_finish();
}

/*
 * highfds: descriptors at the top of the open-files limit (see README.md).
 *
 *   highfds --pidfile=F --outfile=O
 *
 * Raises its soft RLIMIT_NOFILE to the hard limit (at most 1048576), then holds:
 * - OUTFILE.data, 64 bytes, open read-only at the highest number the limit allows (limit - 1),
 *   its offset at 11;
 * - a pipe with 5 bytes in it, its read end at limit - 2 and its write end at 5000;
 * - nothing at fd 0 (closed), so the lowest free number is 0, and nothing above 2 but these
 *   (what the caller left open is closed first).
 * On SIGTERM: the limit is as set; each descriptor is still its file (the data file reads on from
 * offset 11, the pipe gives its 5 bytes and carries more); an open() takes fd 0; nothing else is open.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define WRITE_END 5000
#define DATA_LEN 64
#define OFFSET 11

static struct rlimit g_limit;
static int g_file, g_read_end;
static char g_data_path[4096];

static int data_byte(int i) { return 'a' + i % 26; }

static void setup(void)
{
    /* Whatever the caller left open (a shell's job pipe) would only blur the check of the table. */
    if (close_range(3, ~0U, 0) < 0) tp_die_errno("close_range");
    if (getrlimit(RLIMIT_NOFILE, &g_limit) < 0) tp_die_errno("getrlimit");
    g_limit.rlim_cur = g_limit.rlim_max > 1048576 ? 1048576 : g_limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &g_limit) < 0) tp_die_errno("setrlimit(RLIMIT_NOFILE, %llu)", (unsigned long long)g_limit.rlim_cur);
    if (g_limit.rlim_cur <= WRITE_END + 2) tp_die("the open-files limit %llu is too low for this program", (unsigned long long)g_limit.rlim_cur);
    g_file = (int)g_limit.rlim_cur - 1;
    g_read_end = (int)g_limit.rlim_cur - 2;

    char data[DATA_LEN];
    for (int i = 0; i < DATA_LEN; i++) data[i] = (char)data_byte(i);
    snprintf(g_data_path, sizeof g_data_path, "%s.data", tp_outfile);
    int fd = open(g_data_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, DATA_LEN) != DATA_LEN) tp_die_errno("write %s", g_data_path);
    close(fd);
    if ((fd = open(g_data_path, O_RDONLY)) < 0) tp_die_errno("open %s", g_data_path);
    if (lseek(fd, OFFSET, SEEK_SET) != OFFSET) tp_die_errno("lseek");
    tp_move_fd(fd, g_file, 0);

    int ends[2];
    if (pipe(ends) < 0 || write(ends[1], "high!", 5) != 5) tp_die_errno("pipe");
    tp_move_fd(ends[0], g_read_end, 0);
    tp_move_fd(ends[1], WRITE_END, 0);
    close(0);
}

static void check(void)
{
    struct rlimit now;
    if (getrlimit(RLIMIT_NOFILE, &now) < 0 || now.rlim_cur != g_limit.rlim_cur || now.rlim_max != g_limit.rlim_max)
        tp_fail("RLIMIT_NOFILE is %llu/%llu, expected %llu/%llu", (unsigned long long)now.rlim_cur, (unsigned long long)now.rlim_max,
                (unsigned long long)g_limit.rlim_cur, (unsigned long long)g_limit.rlim_max);

    char buf[DATA_LEN];
    ssize_t got = read(g_file, buf, sizeof buf);
    if (got != DATA_LEN - OFFSET) tp_fail("fd %d (the data file) read %zd bytes from its offset, expected %d", g_file, got, DATA_LEN - OFFSET);
    for (int i = 0; i < got; i++)
        if (buf[i] != data_byte(OFFSET + i)) { tp_fail("fd %d: byte %d is %#x, expected %#x", g_file, OFFSET + i, buf[i], data_byte(OFFSET + i)); break; }

    if ((got = read(g_read_end, buf, 5)) != 5 || memcmp(buf, "high!", 5) != 0) tp_fail("fd %d (the pipe) read %zd bytes, expected 'high!'", g_read_end, got);
    if (write(WRITE_END, "more", 4) != 4 || read(g_read_end, buf, 4) != 4 || memcmp(buf, "more", 4) != 0)
        tp_fail("the pipe from fd %d to fd %d no longer carries data: %s", WRITE_END, g_read_end, strerror(errno));

    int fd = open(g_data_path, O_RDONLY);
    if (fd != 0) tp_fail("a new open() took fd %d, expected 0 (the lowest free number)", fd);
    else close(fd);
    int fds[] = {1, 2, WRITE_END, g_read_end, g_file};
    tp_check_only_fds(fds, 5);
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "");
    tp_args_done();
    setup();
    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();
    check();
    tp_finish();
    return 0;
}

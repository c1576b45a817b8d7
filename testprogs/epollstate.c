/*
 * epollstate: what an epoll instance has already told the program (see README.md).
 *
 *   epollstate --pidfile=F --outfile=O
 *
 * An epoll's interest list is not all of its state: which events it has already reported
 * matters as much. Two instances:
 *
 * - Q, idle at the checkpoint (every event it had was reported, nothing waits):
 *     E  a pipe's read end holding data, EPOLLIN | EPOLLET: its edge was reported;
 *     S  a pipe's read end holding data, EPOLLIN | EPOLLONESHOT: it fired, so it is disabled;
 *     X  an eventfd with a count, EPOLLIN | EPOLLET: its edge was reported;
 *     A  an empty pipe's read end, EPOLLIN | EPOLLONESHOT | EPOLLET: armed, never fired;
 *     L  an empty pipe's read end, EPOLLIN: level-triggered, nothing to report;
 *     D  a pipe's read end, EPOLLIN | EPOLLONESHOT, which fired while data was there and whose
 *        data was read since: disabled, and ready for nothing. No epoll_ctl call can make such
 *        a watch again (every ADD and MOD also asks for EPOLLERR | EPOLLHUP), so after a restore
 *        its mask may carry those two bits as well.
 * - P, with an event waiting: an empty pipe's read end watched EPOLLIN | EPOLLET, and data
 *   written to the pipe after the last epoll_wait, so its edge was never reported.
 *
 * On SIGTERM: fdinfo shows each watch's mask and data as the kernel kept them; epoll_wait on Q
 * reports nothing, not even after S's pipe loses its writer (a disabled one-shot watch does not
 * report a hang-up); epoll_wait on P reports its edge exactly once. Then the watches still work:
 * new data in E's pipe and in A's pipe is reported once each, E's data is the old and the new,
 * S comes back with EPOLLIN | EPOLLHUP once re-armed with EPOLL_CTL_MOD, and L reports its data
 * every time it is asked while the data is there.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum { E, S, X, A, L, D, WATCHES };

struct watch {
    const char *name;
    uint32_t events;
    int fd;       /* the watched descriptor */
    int writer;   /* the pipe's write end, or -1 */
};

static struct watch g_q[WATCHES] = {
    [E] = {"E", EPOLLIN | EPOLLET, -1, -1},
    [S] = {"S", EPOLLIN | EPOLLONESHOT, -1, -1},
    [X] = {"X", EPOLLIN | EPOLLET, -1, -1},
    [A] = {"A", EPOLLIN | EPOLLONESHOT | EPOLLET, -1, -1},
    [L] = {"L", EPOLLIN, -1, -1},
    [D] = {"D", EPOLLIN | EPOLLONESHOT, -1, -1},
};
static int g_idle, g_pending, g_pending_pipe[2];

#define PENDING_DATA 0x70

static void make_pipe(struct watch *w)
{
    int ends[2];
    if (pipe2(ends, O_NONBLOCK) < 0) tp_die_errno("pipe for watch %s", w->name);
    w->fd = ends[0];
    w->writer = ends[1];
}

static void watch_fd(int epoll, int fd, uint32_t events, uint64_t data, const char *name)
{
    struct epoll_event event = {.events = events, .data.u64 = data};
    if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) < 0) tp_die_errno("epoll_ctl(ADD) of watch %s", name);
}

/* Every event epoll_wait has now (no wait), as a bit per watch index (data), or -1 on error. */
static int ready_now(int epoll, uint32_t *events_of)
{
    struct epoll_event ready[16];
    int n = epoll_wait(epoll, ready, 16, 0), found = 0;
    if (n < 0) return -1;
    for (int i = 0; i < n; i++) {
        found |= 1 << ready[i].data.u64;
        if (events_of && ready[i].data.u64 < 32) events_of[ready[i].data.u64] = ready[i].events;
    }
    return found;
}

static void setup(void)
{
    if ((g_idle = epoll_create1(EPOLL_CLOEXEC)) < 0 || (g_pending = epoll_create1(0)) < 0) tp_die_errno("epoll_create1");
    for (int i = 0; i < WATCHES; i++)
        if (i != X) make_pipe(&g_q[i]);
    if ((g_q[X].fd = eventfd(5, EFD_NONBLOCK)) < 0) tp_die_errno("eventfd");
    if (write(g_q[E].writer, "edge", 4) != 4 || write(g_q[S].writer, "shot", 4) != 4 || write(g_q[D].writer, "gone", 4) != 4)
        tp_die_errno("write to a watched pipe");
    for (int i = 0; i < WATCHES; i++) watch_fd(g_idle, g_q[i].fd, g_q[i].events, i, g_q[i].name);

    /* E, S, X and D report once; then D's data is read, and Q has nothing left to say. */
    int found = ready_now(g_idle, NULL);
    if (found != (1 << E | 1 << S | 1 << X | 1 << D)) tp_die("the first epoll_wait reported watches %#x", found);
    char buf[8];
    if (read(g_q[D].fd, buf, sizeof buf) != 4) tp_die_errno("read of D's data");
    if ((found = ready_now(g_idle, NULL)) != 0) tp_die("Q is not idle: epoll_wait reported %#x", found);

    if (pipe2(g_pending_pipe, O_NONBLOCK) < 0) tp_die_errno("pipe for P");
    watch_fd(g_pending, g_pending_pipe[0], EPOLLIN | EPOLLET, PENDING_DATA, "P");
    if (ready_now(g_pending, NULL) != 0) tp_die("P reported an event before its pipe had data");
    if (write(g_pending_pipe[1], "wait", 4) != 4) tp_die_errno("write to P's pipe");
}

/* The mask the kernel keeps: what was asked, plus EPOLLERR | EPOLLHUP; a fired one-shot keeps only its flags. */
static uint32_t kept(uint32_t asked, int fired)
{
    return fired ? asked & (EPOLLONESHOT | EPOLLET | EPOLLWAKEUP | EPOLLEXCLUSIVE) : asked | EPOLLERR | EPOLLHUP;
}

static void check_masks(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", g_idle);
    FILE *f = fopen(path, "r");
    if (!f) { tp_fail("open %s: %s", path, strerror(errno)); return; }
    int seen = 0;
    while (fgets(line, sizeof line, f)) {
        int fd;
        unsigned events;
        unsigned long long data;
        if (sscanf(line, "tfd: %d events: %x data: %llx", &fd, &events, &data) != 3) continue;
        seen++;
        if (data >= WATCHES || g_q[data].fd != fd) { tp_fail("Q watches fd %d with data %llx, never asked for", fd, data); continue; }
        const struct watch *w = &g_q[data];
        uint32_t expected = kept(w->events, data == S || data == D);
        int near = data == D && events == (expected | EPOLLERR | EPOLLHUP);
        if (events != expected && !near) tp_fail("watch %s (fd %d): events %x, expected %x", w->name, fd, events, expected);
    }
    fclose(f);
    if (seen != WATCHES) tp_fail("Q has %d watches, expected %d", seen, WATCHES);
}

/* Whether fdinfo of the eventfd shows its mode. Before it did (Linux 6.x), cryo tells a semaphore
 * eventfd by moving its count for an instant, which an edge-triggered watch sees as a new edge:
 * a program left running (--leave-running) gets X once more (docs/engine-files.md). */
static int eventfd_mode_shown(void)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", g_q[X].fd);
    FILE *f = fopen(path, "r");
    int shown = 0;
    while (f && fgets(line, sizeof line, f)) shown |= strncmp(line, "eventfd-semaphore:", 18) == 0;
    if (f) fclose(f);
    return shown;
}

static void check(void)
{
    check_masks();
    int found = ready_now(g_idle, NULL);
    if (found == 1 << X && !eventfd_mode_shown()) found = 0;
    if (found != 0) tp_fail("Q was idle, but epoll_wait reports watches %#x at once (E=%d S=%d X=%d A=%d L=%d D=%d)",
                            found, 1 << E, 1 << S, 1 << X, 1 << A, 1 << L, 1 << D);
    close(g_q[S].writer);
    if ((found = ready_now(g_idle, NULL)) != 0) tp_fail("after S's writer closed, epoll_wait reports watches %#x (S=%d: a disabled one-shot)", found, 1 << S);

    struct epoll_event ready[4];
    int n = epoll_wait(g_pending, ready, 4, 0);
    if (n != 1 || ready[0].data.u64 != PENDING_DATA) tp_fail("P had one edge waiting; epoll_wait gave %d events", n);
    if ((n = epoll_wait(g_pending, ready, 4, 0)) != 0) tp_fail("P reported its edge again (%d events)", n);

    if (write(g_q[E].writer, "more", 4) != 4 || write(g_q[A].writer, "arm", 3) != 3 || write(g_q[L].writer, "lvl", 3) != 3)
        tp_fail("write to a watched pipe: %s", strerror(errno));
    if ((found = ready_now(g_idle, NULL)) != (1 << E | 1 << A | 1 << L)) tp_fail("after new data, epoll_wait reports %#x, expected E, A and L (%#x)", found, 1 << E | 1 << A | 1 << L);
    if ((found = ready_now(g_idle, NULL)) != 1 << L) tp_fail("asked again, epoll_wait reports %#x, expected L alone (%#x)", found, 1 << L);

    char buf[16];
    ssize_t got = read(g_q[E].fd, buf, sizeof buf);
    if (got != 8 || memcmp(buf, "edgemore", 8) != 0) tp_fail("E's pipe read %zd bytes '%.*s', expected 'edgemore'", got, got > 0 ? (int)got : 0, buf);
    uint64_t count = 0;
    if (read(g_q[X].fd, &count, sizeof count) != (ssize_t)sizeof count || count != 5) tp_fail("X's eventfd read %llu, expected 5", (unsigned long long)count);

    struct epoll_event rearm = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = S};
    uint32_t events_of[32] = {0};
    if (epoll_ctl(g_idle, EPOLL_CTL_MOD, g_q[S].fd, &rearm) < 0) tp_fail("epoll_ctl(MOD) of S: %s", strerror(errno));
    else if (!((found = ready_now(g_idle, events_of)) & (1 << S)) || events_of[S] != (EPOLLIN | EPOLLHUP))
        tp_fail("re-armed S: epoll_wait reports %#x, S with events %x, expected EPOLLIN | EPOLLHUP", found, events_of[S]);
    tp_check_fd_flags(g_idle, "Q", FD_CLOEXEC, O_RDWR);
    tp_check_fd_flags(g_pending, "P", 0, O_RDWR);
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

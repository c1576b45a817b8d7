/*
 * eventfiles: eventfd, signalfd and timerfd descriptors with state in them (see README.md).
 *
 *   eventfiles --pidfile=F --outfile=O
 *
 * - eventfd A (EFD_NONBLOCK) with the count 12, and fd 40 a dup of it; eventfd B in semaphore
 *   mode (EFD_SEMAPHORE | EFD_NONBLOCK, close-on-exec) with the count 3;
 * - a signalfd (SFD_NONBLOCK) for SIGUSR1 and SIGRTMIN+2, both blocked and pending: SIGUSR1
 *   raised, SIGRTMIN+2 queued with the value 77;
 * - timerfds: a relative one-shot on CLOCK_MONOTONIC an hour away; one every 10 ms on
 *   CLOCK_MONOTONIC, ticking all along; an absolute one on CLOCK_REALTIME two hours away with
 *   TFD_TIMER_CANCEL_ON_SET; a 1 ms one-shot that expired before the pidfile was written, its
 *   expiration not read; and a disarmed one on CLOCK_BOOTTIME (TFD_NONBLOCK);
 * - an epoll instance watching A (EPOLLIN | EPOLLET), the signalfd and the periodic timer
 *   (EPOLLIN), the read end of a pipe holding data (EPOLLIN | EPOLLRDHUP), and its write end
 *   (EPOLLOUT | EPOLLONESHOT, already reported once, so disabled); each with its own data.
 * On SIGTERM: the epoll's interest list in fdinfo is the one set up (numbers, event masks, data);
 * epoll_wait reports the signalfd, the timer and the pipe, not the disabled write end; MOD and DEL
 * through the watched numbers work. Then: A reads 12 and then nothing, and a write through fd 40 reads back through A; B
 * reads 1 three times, then nothing; the signalfd gives SIGUSR1 and then SIGRTMIN+2 with 77; the
 * hour timer has between 3000 and 3600 s left and the two-hour one its expiry on the realtime
 * clock (within 600 s) with both flags (fdinfo); the periodic one has expirations and goes on;
 * the expired one reads 1; the disarmed one is still disarmed; status and descriptor flags.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define COUNTER_DUP 40

static int g_counter, g_semaphore, g_signals, g_hour, g_ticker, g_absolute, g_expired, g_disarmed;
static time_t g_absolute_at;
static int g_epoll, g_pipe[2];

struct watch { int *fd; uint32_t events; uint64_t data; };
static struct watch g_watches[] = {
    {&g_counter, EPOLLIN | EPOLLET, 0xA},
    {&g_signals, EPOLLIN, 0x5},
    {&g_ticker, EPOLLIN, 0x7},
    {&g_pipe[0], EPOLLIN | EPOLLRDHUP, 0x9},
    {&g_pipe[1], EPOLLOUT | EPOLLONESHOT, 0xB},
};
#define WATCHES (int)(sizeof g_watches / sizeof g_watches[0])

static void arm(int fd, int flags, time_t value_s, long value_ns, time_t every_s, long every_ns, const char *what)
{
    struct itimerspec its = {{every_s, every_ns}, {value_s, value_ns}};
    if (timerfd_settime(fd, flags, &its, NULL) < 0) tp_die_errno("timerfd_settime (%s)", what);
}

static int make_timer(int clock, int flags, const char *what)
{
    int fd = timerfd_create(clock, flags);
    if (fd < 0) tp_die_errno("timerfd_create (%s)", what);
    return fd;
}

static void set_up(void)
{
    g_counter = eventfd(12, EFD_NONBLOCK);
    g_semaphore = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
    if (g_counter < 0 || g_semaphore < 0) tp_die_errno("eventfd");
    if (dup2(g_counter, COUNTER_DUP) < 0) tp_die_errno("dup2 of the eventfd");

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGRTMIN + 2);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) tp_die_errno("sigprocmask");
    g_signals = signalfd(-1, &set, SFD_NONBLOCK);
    if (g_signals < 0) tp_die_errno("signalfd");
    if (raise(SIGUSR1) != 0) tp_die_errno("raise(SIGUSR1)");
    union sigval value = {.sival_int = 77};
    if (sigqueue(getpid(), SIGRTMIN + 2, value) < 0) tp_die_errno("sigqueue");

    g_hour = make_timer(CLOCK_MONOTONIC, 0, "hour");
    arm(g_hour, 0, 3600, 0, 0, 0, "hour");
    g_ticker = make_timer(CLOCK_MONOTONIC, TFD_NONBLOCK, "ticker");
    arm(g_ticker, 0, 0, 10 * 1000 * 1000, 0, 10 * 1000 * 1000, "ticker");
    g_absolute = make_timer(CLOCK_REALTIME, 0, "absolute");
    g_absolute_at = time(NULL) + 7200;
    arm(g_absolute, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, g_absolute_at, 0, 0, 0, "absolute");
    g_expired = make_timer(CLOCK_MONOTONIC, TFD_NONBLOCK, "expired");
    arm(g_expired, 0, 0, 1000 * 1000, 0, 0, "expired");
    struct timespec pause = {0, 5 * 1000 * 1000};
    while (nanosleep(&pause, &pause) < 0 && errno == EINTR) {}
    g_disarmed = make_timer(CLOCK_BOOTTIME, TFD_NONBLOCK, "disarmed");

    if (pipe2(g_pipe, O_NONBLOCK) < 0 || write(g_pipe[1], "epoll", 5) != 5) tp_die_errno("pipe");
    if ((g_epoll = epoll_create1(EPOLL_CLOEXEC)) < 0) tp_die_errno("epoll_create1");
    for (int i = 0; i < WATCHES; i++) {
        struct epoll_event event = {.events = g_watches[i].events, .data.u64 = g_watches[i].data};
        if (epoll_ctl(g_epoll, EPOLL_CTL_ADD, *g_watches[i].fd, &event) < 0) tp_die_errno("epoll_ctl(ADD) of watch %d", i);
    }
    /* The one-shot write end fires now and stays disabled. */
    struct epoll_event ready[8];
    int n = epoll_wait(g_epoll, ready, 8, 1000), fired = 0;
    for (int i = 0; i < n; i++) fired |= ready[i].data.u64 == 0xB;
    if (!fired) tp_die("the one-shot watch of the pipe's write end did not fire");
}

/* The mask epoll keeps for a watch: what was asked, plus EPOLLERR | EPOLLHUP; a fired one-shot keeps only its flags. */
static uint32_t kept_events(const struct watch *w)
{
    if (w->events & EPOLLONESHOT) return w->events & (EPOLLONESHOT | EPOLLET | EPOLLWAKEUP | EPOLLEXCLUSIVE);
    return w->events | EPOLLERR | EPOLLHUP;
}

static void check_epoll(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", g_epoll);
    FILE *f = fopen(path, "r");
    int seen = 0;
    while (f && fgets(line, sizeof line, f)) {
        int fd;
        unsigned events;
        unsigned long long data;
        if (sscanf(line, "tfd: %d events: %x data: %llx", &fd, &events, &data) != 3) continue;
        seen++;
        int matched = 0;
        for (int i = 0; i < WATCHES; i++)
            if (*g_watches[i].fd == fd) {
                matched = 1;
                if (events != kept_events(&g_watches[i]) || data != g_watches[i].data)
                    tp_fail("epoll watch of fd %d: events %x data %llx, expected %x and %llx", fd, events, data,
                            kept_events(&g_watches[i]), (unsigned long long)g_watches[i].data);
            }
        if (!matched) tp_fail("epoll watches fd %d, which it was never asked to", fd);
    }
    if (f) fclose(f);
    if (seen != WATCHES) tp_fail("epoll has %d watches, expected %d", seen, WATCHES);

    struct epoll_event ready[8];
    int n = epoll_wait(g_epoll, ready, 8, 1000);
    unsigned found = 0;
    for (int i = 0; i < n; i++) found |= 1u << (ready[i].data.u64 & 0xf);
    for (uint64_t data = 5; data <= 9; data += 2)
        if (!(found & (1u << data))) tp_fail("epoll_wait did not report the watch with data %llx (got %d events)", (unsigned long long)data, n);
    if (found & (1u << 0xB)) tp_fail("epoll_wait reported the disabled one-shot watch");

    struct epoll_event modified = {.events = EPOLLIN, .data.u64 = 0xAA};
    if (epoll_ctl(g_epoll, EPOLL_CTL_MOD, g_counter, &modified) < 0) tp_fail("epoll_ctl(MOD) of the eventfd: %s", strerror(errno));
    if (epoll_ctl(g_epoll, EPOLL_CTL_DEL, g_pipe[0], NULL) < 0) tp_fail("epoll_ctl(DEL) of the pipe: %s", strerror(errno));
    tp_check_fd_flags(g_epoll, "epoll", FD_CLOEXEC, O_RDWR);
}

/* An 8-byte read: the value, or 0 with errno set (EAGAIN: nothing there). */
static uint64_t read_u64(int fd)
{
    uint64_t value = 0;
    errno = 0;
    if (read(fd, &value, sizeof value) != (ssize_t)sizeof value) return 0;
    return value;
}

static void expect_empty(int fd, const char *what)
{
    uint64_t value = read_u64(fd);
    if (value != 0 || errno != EAGAIN) tp_fail("%s: a read gave %llu (%s), expected nothing (EAGAIN)", what, (unsigned long long)value, strerror(errno));
}

static void check_counters(void)
{
    uint64_t value = read_u64(g_counter);
    if (value != 12) tp_fail("eventfd: read %llu, expected 12 (%s)", (unsigned long long)value, strerror(errno));
    expect_empty(g_counter, "eventfd after reading its count");
    uint64_t one = 1;
    if (write(COUNTER_DUP, &one, sizeof one) != (ssize_t)sizeof one) tp_fail("write to fd %d: %s", COUNTER_DUP, strerror(errno));
    else if ((value = read_u64(g_counter)) != 1) tp_fail("fd %d is not the same eventfd: read %llu through the first", COUNTER_DUP, (unsigned long long)value);
    for (int i = 0; i < 3; i++)
        if ((value = read_u64(g_semaphore)) != 1) tp_fail("semaphore eventfd: read %d gave %llu, expected 1", i + 1, (unsigned long long)value);
    expect_empty(g_semaphore, "semaphore eventfd after three reads");
    tp_check_fd_flags(g_counter, "eventfd", 0, O_RDWR | O_NONBLOCK);
    tp_check_fd_flags(g_semaphore, "semaphore eventfd", FD_CLOEXEC, O_RDWR | O_NONBLOCK);
}

static void check_signals(void)
{
    struct signalfd_siginfo info;
    int expected[2] = {SIGUSR1, SIGRTMIN + 2};
    for (int i = 0; i < 2; i++) {
        ssize_t got = read(g_signals, &info, sizeof info);
        if (got != (ssize_t)sizeof info) { tp_fail("signalfd read %d: %s", i + 1, got < 0 ? strerror(errno) : "short"); return; }
        if ((int)info.ssi_signo != expected[i]) tp_fail("signalfd read %d: signal %u, expected %d", i + 1, info.ssi_signo, expected[i]);
        if (expected[i] == SIGRTMIN + 2 && info.ssi_int != 77) tp_fail("signalfd: SIGRTMIN+2 came with %d, expected 77", info.ssi_int);
    }
    struct signalfd_siginfo more;
    if (read(g_signals, &more, sizeof more) >= 0 || errno != EAGAIN) tp_fail("signalfd: a third signal, or %s", strerror(errno));
    tp_check_fd_flags(g_signals, "signalfd", 0, O_RDWR | O_NONBLOCK);
}

/* The "settime flags" line of fdinfo (octal), or -1. */
static int settime_flags(int fd)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    FILE *f = fopen(path, "r");
    int flags = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "settime flags: %o", &flags) == 1) break;
    if (f) fclose(f);
    return flags;
}

static void check_timers(void)
{
    struct itimerspec now;
    if (timerfd_gettime(g_hour, &now) < 0) tp_fail("timerfd_gettime (hour): %s", strerror(errno));
    else if (now.it_value.tv_sec < 3000 || now.it_value.tv_sec >= 3600 || now.it_interval.tv_sec != 0)
        tp_fail("hour timer: %ld s left every %ld s, expected 3000..3599 once", (long)now.it_value.tv_sec, (long)now.it_interval.tv_sec);

    if (timerfd_gettime(g_absolute, &now) < 0) tp_fail("timerfd_gettime (absolute): %s", strerror(errno));
    else {
        long expiry = (long)(time(NULL) + now.it_value.tv_sec);
        if (labs(expiry - (long)g_absolute_at) > 600) tp_fail("absolute timer: expires at %ld, expected %ld", expiry, (long)g_absolute_at);
    }
    if (settime_flags(g_absolute) != (TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET))
        tp_fail("absolute timer: settime flags %o, expected %o", settime_flags(g_absolute), TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET);

    /* The ticker went on: expirations now, and again 30 ms later. */
    uint64_t ticks = read_u64(g_ticker);
    if (ticks == 0) tp_fail("ticker: no expirations (%s)", strerror(errno));
    struct timespec pause = {0, 30 * 1000 * 1000};
    while (nanosleep(&pause, &pause) < 0 && errno == EINTR) {}
    if ((ticks = read_u64(g_ticker)) == 0) tp_fail("ticker: stopped after the restore (%s)", strerror(errno));

    uint64_t expired = read_u64(g_expired);
    if (expired != 1) tp_fail("expired timer: read %llu, expected its 1 unread expiration (%s)", (unsigned long long)expired, strerror(errno));
    expect_empty(g_expired, "expired timer after its read");

    if (timerfd_gettime(g_disarmed, &now) < 0) tp_fail("timerfd_gettime (disarmed): %s", strerror(errno));
    else if (now.it_value.tv_sec || now.it_value.tv_nsec || now.it_interval.tv_sec || now.it_interval.tv_nsec) tp_fail("disarmed timer is armed");
    expect_empty(g_disarmed, "disarmed timer");
    tp_check_fd_flags(g_hour, "hour timer", 0, O_RDWR);
    tp_check_fd_flags(g_ticker, "ticker", 0, O_RDWR | O_NONBLOCK);
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "");
    tp_args_done();
    set_up();
    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();
    check_epoll();
    check_counters();
    check_signals();
    check_timers();
    tp_finish();
}

/*
 * posixtimers: POSIX timers (timer_create) of every kind of notification (see README.md).
 *
 *   posixtimers --pidfile=F --outfile=O
 *
 * - timer A: CLOCK_MONOTONIC, SIGEV_SIGNAL (SIGUSR1 with the value 0x1111, to a handler), every 20 ms;
 * - timer B: CLOCK_REALTIME, SIGEV_NONE, one-shot an hour away;
 * - a timer made and deleted, so its id is a gap the later ones must keep;
 * - timer C: CLOCK_BOOTTIME, SIGEV_THREAD_ID to a second thread (SIGRTMIN+1 with 0x3333, blocked
 *   everywhere; the thread takes them with sigtimedwait), every 30 ms;
 * - timer D: CLOCK_PROCESS_CPUTIME_ID, SIGEV_NONE, disarmed;
 * - timer E: glibc's SIGEV_THREAD (a function run by glibc's helper thread), every 25 ms.
 * On SIGTERM: each timer still has its id (timer_gettime of the deleted one fails with EINVAL);
 * B has 3000–3600 s left and D is disarmed; A's handler, C's thread and E's function all count on
 * over 200 ms; A's signals carry 0x1111 and its id, C's 0x3333 and its id.
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static timer_t g_a, g_b, g_gap, g_c, g_d, g_e;
static atomic_int g_a_ticks, g_c_ticks, g_e_ticks, g_a_bad, g_c_bad;
static atomic_int g_c_tid;

static void on_a(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    if (info->si_code != SI_TIMER || info->si_value.sival_int != 0x1111 || info->si_timerid != (int)(intptr_t)g_a) g_a_bad++;
    g_a_ticks++;
}

static void on_e(union sigval value)
{
    if (value.sival_int == 0x5555) g_e_ticks++;
}

static void *c_thread(void *unused)
{
    (void)unused;
    g_c_tid = (int)syscall(SYS_gettid);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 1);
    for (;;) {
        siginfo_t info;
        struct timespec wait = {1, 0};
        if (sigtimedwait(&set, &info, &wait) < 0) continue;
        if (info.si_code != SI_TIMER || info.si_value.sival_int != 0x3333 || info.si_timerid != (int)(intptr_t)g_c) g_c_bad++;
        g_c_ticks++;
    }
    return NULL;
}

static void make(timer_t *timer, clockid_t clock, struct sigevent *event, const char *what)
{
    if (timer_create(clock, event, timer) < 0) tp_die_errno("timer_create (%s)", what);
}

static void arm(timer_t timer, time_t first_s, long first_ms, long every_ms, const char *what)
{
    struct itimerspec spec = {{every_ms / 1000, (every_ms % 1000) * 1000000L}, {first_s, first_ms * 1000000L}};
    if (timer_settime(timer, 0, &spec, NULL) < 0) tp_die_errno("timer_settime (%s)", what);
}

static void set_up(void)
{
    sigset_t rt;
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN + 1);
    if (pthread_sigmask(SIG_BLOCK, &rt, NULL) != 0) tp_die("pthread_sigmask failed");
    pthread_t thread;
    if (pthread_create(&thread, NULL, c_thread, NULL) != 0) tp_die("pthread_create failed");
    while (g_c_tid == 0) usleep(1000);

    struct sigaction action = {.sa_sigaction = on_a, .sa_flags = SA_SIGINFO | SA_RESTART};
    if (sigaction(SIGUSR1, &action, NULL) < 0) tp_die_errno("sigaction(SIGUSR1)");

    struct sigevent event = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1, .sigev_value.sival_int = 0x1111};
    make(&g_a, CLOCK_MONOTONIC, &event, "A");
    event = (struct sigevent){.sigev_notify = SIGEV_NONE};
    make(&g_b, CLOCK_REALTIME, &event, "B");
    make(&g_gap, CLOCK_MONOTONIC, &event, "gap");
    event = (struct sigevent){.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGRTMIN + 1, .sigev_value.sival_int = 0x3333};
    event._sigev_un._tid = g_c_tid;
    make(&g_c, CLOCK_BOOTTIME, &event, "C");
    event = (struct sigevent){.sigev_notify = SIGEV_NONE};
    make(&g_d, CLOCK_PROCESS_CPUTIME_ID, &event, "D");
    event = (struct sigevent){.sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_e, .sigev_value.sival_int = 0x5555};
    make(&g_e, CLOCK_MONOTONIC, &event, "E");
    if (timer_delete(g_gap) < 0) tp_die_errno("timer_delete");

    arm(g_a, 0, 20, 20, "A");
    arm(g_b, 3600, 0, 0, "B");
    arm(g_c, 0, 30, 30, "C");
    arm(g_e, 0, 25, 25, "E");
}

static void check(void)
{
    struct itimerspec now;
    if (timer_gettime(g_gap, &now) == 0 || errno != EINVAL) tp_fail("the deleted timer's id is in use again");
    if (timer_gettime(g_b, &now) < 0) tp_fail("timer B: %s", strerror(errno));
    else if (now.it_value.tv_sec < 3000 || now.it_value.tv_sec >= 3600 || now.it_interval.tv_sec || now.it_interval.tv_nsec)
        tp_fail("timer B: %ld s left every %ld s, expected 3000..3599 once", (long)now.it_value.tv_sec, (long)now.it_interval.tv_sec);
    if (timer_gettime(g_d, &now) < 0) tp_fail("timer D: %s", strerror(errno));
    else if (now.it_value.tv_sec || now.it_value.tv_nsec) tp_fail("timer D is armed");
    if (timer_gettime(g_a, &now) < 0 || now.it_interval.tv_nsec != 20 * 1000000L) tp_fail("timer A: not every 20 ms (%s)", strerror(errno));

    int a = g_a_ticks, c = g_c_ticks, e = g_e_ticks;
    struct timespec pause = {0, 200 * 1000000L};
    while (nanosleep(&pause, &pause) < 0 && errno == EINTR) {}
    if (g_a_ticks <= a) tp_fail("timer A stopped: %d signals, then %d", a, (int)g_a_ticks);
    if (g_c_ticks <= c) tp_fail("timer C stopped: %d signals to its thread, then %d", c, (int)g_c_ticks);
    if (g_e_ticks <= e) tp_fail("timer E stopped: %d calls, then %d", e, (int)g_e_ticks);
    if (g_a_bad) tp_fail("%d of timer A's signals came without its value or id", (int)g_a_bad);
    if (g_c_bad) tp_fail("%d of timer C's signals came without its value or id", (int)g_c_bad);
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "");
    tp_args_done();
    set_up();
    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();
    check();
    tp_finish();
}

/*
 * ticker: interval timers (setitimer) that must keep running across a checkpoint/restore.
 *
 *   ticker --pidfile=F --outfile=O [--tick-ms=50]
 *
 * Set-up: a SIGALRM handler (SA_RESTART) counts ticks, and ITIMER_REAL repeats every tick-ms.
 * ITIMER_VIRTUAL is armed 2000 s ahead with a 7.25 s interval and ITIMER_PROF 1000 s ahead as a
 * one-shot: the program uses far less CPU time than that, so they never fire (handlers count
 * SIGVTALRM and SIGPROF anyway, so a timer restored too short is reported, not fatal). Then the
 * program waits for SIGTERM; the ticks interrupt that wait, which it simply resumes.
 *
 * Checked on SIGTERM, before tp_begin_check (whose watchdog is alarm(120), which would replace
 * ITIMER_REAL and its handler):
 *   - ITIMER_REAL is armed with the tick-ms interval and at most tick-ms left;
 *   - ITIMER_VIRTUAL and ITIMER_PROF are armed, their intervals as read back at set-up, their
 *     time left above 0, less than 60 s below the original value and not above it (but for
 *     the tick the kernel adds whenever it arms a CPU-time timer, restores included);
 *   - the ticks go on: over a wait of 6 ticks (absolute CLOCK_MONOTONIC deadline, resumed after
 *     each interruption) at least 3 arrive, and not more than the elapsed time allows (a restore
 *     that confused the units would tick a thousand times too fast);
 *   - no SIGVTALRM or SIGPROF arrived.
 * A checkpoint freezes the program, so no tick arrives while it is frozen or not restored yet;
 * the tick counter lives in the restored memory, so the wait after SIGTERM shows that the timer
 * of the restored process ticks. ITIMER_REAL is then disarmed, so that no tick can reach the
 * watchdog's handler.
 */
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define CPU_TIMER_SLACK_US (60LL * 1000000LL) /* far more CPU time than the program ever uses */
/* The kernel adds one tick (1 to 10 ms, by CONFIG_HZ) to a CPU-time timer whenever it arms one,
 * at set-up and again at each restore, so that it never fires early. */
#define CPU_TIMER_TICKS_US (1000000LL)

static volatile sig_atomic_t g_ticks, g_vtalrms, g_profs;

static void on_alarm(int sig)
{
    (void)sig;
    g_ticks++;
}

static void on_cpu_timer(int sig)
{
    if (sig == SIGVTALRM)
        g_vtalrms++;
    else
        g_profs++;
}

static long long tv_us(const struct timeval *tv)
{
    return (long long)tv->tv_sec * 1000000LL + tv->tv_usec;
}

static const char *timer_name(int which)
{
    return which == ITIMER_REAL ? "ITIMER_REAL" : which == ITIMER_VIRTUAL ? "ITIMER_VIRTUAL" : "ITIMER_PROF";
}

static void set_handler(int sig, void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) != 0)
        tp_die_errno("sigaction(%d)", sig);
}

/* Arms `which` and returns what getitimer reads back (the kernel may round the interval). */
static struct itimerval arm(int which, long long interval_us, long long value_us)
{
    struct itimerval want = {{interval_us / 1000000, interval_us % 1000000}, {value_us / 1000000, value_us % 1000000}};
    if (setitimer(which, &want, NULL) != 0)
        tp_die_errno("setitimer(%s)", timer_name(which));
    struct itimerval got;
    if (getitimer(which, &got) != 0)
        tp_die_errno("getitimer(%s)", timer_name(which));
    return got;
}

/* The CPU-time timer `which` is still armed as at set-up: same interval, a plausible time left. */
static void check_cpu_timer(int which, const struct itimerval *setup, long long value_us)
{
    struct itimerval now;
    if (getitimer(which, &now) != 0) {
        tp_fail("getitimer(%s): %s", timer_name(which), strerror(errno));
        return;
    }
    long long left = tv_us(&now.it_value);
    if (left == 0) {
        tp_fail("%s is disarmed (it was armed %lld s ahead)", timer_name(which), value_us / 1000000);
        return;
    }
    if (tv_us(&now.it_interval) != tv_us(&setup->it_interval))
        tp_fail("%s has an interval of %lld us, %lld us at set-up", timer_name(which), tv_us(&now.it_interval),
                tv_us(&setup->it_interval));
    if (left > value_us + CPU_TIMER_TICKS_US || left < value_us - CPU_TIMER_SLACK_US)
        tp_fail("%s has %lld us left; armed with %lld us, and the program used far less CPU time than %lld us",
                timer_name(which), left, value_us, CPU_TIMER_SLACK_US);
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Waits until `ns` of CLOCK_MONOTONIC have passed, whatever interrupts the wait. */
static void wait_ns(long long ns)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ns / 1000000000LL;
    deadline.tv_nsec += ns % 1000000000LL;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    int r;
    while ((r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL)) == EINTR)
        ;
    if (r != 0)
        tp_fail("clock_nanosleep: %s", strerror(r));
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--tick-ms=50]");
    long long tick_us = (long long)tp_arg_ull("tick-ms", 50, 1, 1000) * 1000;
    tp_args_done();

    const long long virtual_us = 2000LL * 1000000, virtual_interval_us = 7250000;
    const long long prof_us = 1000LL * 1000000;
    set_handler(SIGALRM, on_alarm);
    set_handler(SIGVTALRM, on_cpu_timer);
    set_handler(SIGPROF, on_cpu_timer);
    struct itimerval virt = arm(ITIMER_VIRTUAL, virtual_interval_us, virtual_us);
    struct itimerval prof = arm(ITIMER_PROF, 0, prof_us);
    struct itimerval real = arm(ITIMER_REAL, tick_us, tick_us);
    if (tv_us(&real.it_interval) != tick_us)
        tp_die("ITIMER_REAL reads back an interval of %lld us after setting %lld us", tv_us(&real.it_interval), tick_us);

    sig_atomic_t ticks_ready = g_ticks;
    tp_ready();
    tp_wait_sigterm();

    sig_atomic_t ticks_term = g_ticks;
    /* A periodic ITIMER_REAL that has just fired reads 0 until its SIGALRM is taken (the kernel
     * re-arms it then), which happens on the way back from the first getitimer. */
    struct itimerval now;
    int r = getitimer(ITIMER_REAL, &now);
    if (r == 0 && tv_us(&now.it_value) == 0)
        r = getitimer(ITIMER_REAL, &now);
    if (r != 0)
        tp_fail("getitimer(ITIMER_REAL): %s", strerror(errno));
    else if (tv_us(&now.it_value) == 0)
        tp_fail("ITIMER_REAL is disarmed (it repeated every %lld us)", tick_us);
    else {
        if (tv_us(&now.it_interval) != tick_us)
            tp_fail("ITIMER_REAL repeats every %lld us, not %lld us", tv_us(&now.it_interval), tick_us);
        if (tv_us(&now.it_value) > tick_us)
            tp_fail("ITIMER_REAL has %lld us left, more than its interval %lld us", tv_us(&now.it_value), tick_us);
    }
    check_cpu_timer(ITIMER_VIRTUAL, &virt, virtual_us);
    check_cpu_timer(ITIMER_PROF, &prof, prof_us);

    long long start = now_ns();
    wait_ns(6 * tick_us * 1000);
    long long waited_us = (now_ns() - start) / 1000;
    long ticks = (long)(g_ticks - ticks_term);
    if (ticks < 3)
        tp_fail("%ld SIGALRM ticks in %lld us of waiting after SIGTERM, expected about %lld (ITIMER_REAL every %lld us)",
                ticks, waited_us, waited_us / tick_us, tick_us);
    else if (ticks > waited_us / tick_us + 2)
        tp_fail("%ld SIGALRM ticks in %lld us: more than one per %lld us", ticks, waited_us, tick_us);

    /* From here on no tick may reach the watchdog's SIGALRM handler. A tick generated before
     * the timer is disarmed is delivered to on_alarm when setitimer returns. */
    struct itimerval off = {{0, 0}, {0, 0}};
    if (setitimer(ITIMER_REAL, &off, NULL) != 0)
        tp_fail("setitimer(ITIMER_REAL, off): %s", strerror(errno));
    if (g_vtalrms != 0 || g_profs != 0)
        tp_fail("%d SIGVTALRM and %d SIGPROF arrived: a CPU-time timer armed %lld s ahead fired", (int)g_vtalrms,
                (int)g_profs, prof_us / 1000000);

    tp_begin_check();
    tp_log("ticks: %d at ready, %d at SIGTERM, %ld more in %lld us after it", (int)ticks_ready, (int)ticks_term, ticks,
           waited_us);
    tp_finish();
}

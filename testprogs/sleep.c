/*
 * sleep: a process that keeps running (sleeping and computing) while it is
 * checkpointed and restored.
 *
 *   sleep --pidfile=F --outfile=O [--interval-ms=10] [--busy=200000]
 *
 * Each iteration: nanosleep(interval), then a busy computation of `busy`
 * steps that keeps its whole state in SSE registers (and, if the CPU has AVX,
 * a second one in full 256-bit ymm registers), compared bit for bit with a
 * reference computed at start-up. A freeze that lands inside a busy phase
 * therefore checks that the FPU/SSE/AVX register state is restored.
 * The SSE control/status register (MXCSR: round-toward-zero + flush-to-zero)
 * and the x87 control word (53-bit precision, round-toward-zero) are set to
 * non-default values at start-up and must still hold them at the end.
 *
 * In the loop: CLOCK_MONOTONIC never goes backwards, the counter kept in a
 * register matches its copy in memory, the double accumulator (sum of
 * 1..count, exact) stays consistent with the counter.
 * On SIGTERM additionally: the counter is plausible for the elapsed
 * monotonic time, getpid() == pidfile pid, getsid(0) == getpgrp() == getpid().
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MXCSR_FLAGS 0x003fu           /* sticky exception flags: ignored */
#define MXCSR_WANT (0x1f80u | 0x6000u | 0x8000u) /* masks + RZ + FTZ */
#define X87_CW_WANT 0x0e7fu            /* masks, PC=53 bit, RC=toward zero */

static unsigned read_mxcsr(void)
{
    unsigned v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v;
}

static void write_mxcsr(unsigned v)
{
    __asm__ volatile("ldmxcsr %0" : : "m"(v));
}

static unsigned read_x87_cw(void)
{
    unsigned short v;
    __asm__ volatile("fnstcw %0" : "=m"(v));
    return v;
}

static void write_x87_cw(unsigned v)
{
    unsigned short s = (unsigned short)v;
    __asm__ volatile("fldcw %0" : : "m"(s));
}

/* ---- busy computation in SSE registers: two 2-D rotations + a counter ---- */

#define NSSE 5 /* x0 y0 x1 y1 count */
static volatile double sse_init[NSSE] = {1.0, 0.0, 0.25, -3.5, 0.0};

__attribute__((noinline)) static void busy_sse(double st[NSSE], long iters)
{
    double x0 = st[0], y0 = st[1], x1 = st[2], y1 = st[3], n = st[4];
    const double c0 = 0.9999995000000417, s0 = 0.0009999998333333417;
    const double c1 = 0.9999980000006667, s1 = -0.0019999986666669333;
    for (long k = 0; k < iters; k++) {
        double t0 = x0 * c0 - y0 * s0;
        y0 = x0 * s0 + y0 * c0;
        x0 = t0;
        double t1 = x1 * c1 - y1 * s1;
        y1 = x1 * s1 + y1 * c1;
        x1 = t1;
        n += 1.0;
    }
    st[0] = x0, st[1] = y0, st[2] = x1, st[3] = y1, st[4] = n;
}

/* ---- the same with 256-bit vectors (ymm registers), only if AVX is usable ---- */

typedef double v4d __attribute__((vector_size(32)));
#define NAVX 16 /* x[4] y[4] count[4] spare[4] */
static volatile double avx_init[NAVX] = {1.0, -2.0, 0.5, 7.0, 0.0, 1.5, -0.125, 3.0,
                                         0.0, 100.0, -1e6, 1e-3, 0, 0, 0, 0};

__attribute__((target("avx"), noinline)) static void busy_avx(double st[NAVX], long iters)
{
    v4d x, y, n;
    memcpy(&x, st, sizeof x);
    memcpy(&y, st + 4, sizeof y);
    memcpy(&n, st + 8, sizeof n);
    const v4d c = {0.9999995000000417, 0.9999980000006667, 0.9999955000034, 0.99999200000107};
    const v4d s = {0.0009999998333333417, -0.0019999986666669333, 0.0029999955000020,
                   -0.003999989333341867};
    const v4d one = {1.0, 1.0, 1.0, 1.0};
    for (long k = 0; k < iters; k++) {
        v4d t = x * c - y * s;
        y = x * s + y * c;
        x = t;
        n += one;
    }
    memcpy(st, &x, sizeof x);
    memcpy(st + 4, &y, sizeof y);
    memcpy(st + 8, &n, sizeof n);
}

static long long ts_ns(const struct timespec *t)
{
    return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static volatile unsigned long g_count; /* memory copy of the loop counter */

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--interval-ms=10] [--busy=200000]");
    long interval_ms = (long)tp_arg_ull("interval-ms", 10, 1, 10000);
    long busy = (long)tp_arg_ull("busy", 200000, 0, 1000000000);
    tp_args_done();

    /* Non-default FPU control state. */
    write_mxcsr(MXCSR_WANT);
    if ((read_mxcsr() & ~MXCSR_FLAGS) != MXCSR_WANT)
        tp_die("MXCSR reads back 0x%x after setting 0x%x", read_mxcsr(), MXCSR_WANT);
    write_x87_cw(X87_CW_WANT);
    if (read_x87_cw() != X87_CW_WANT)
        tp_die("x87 control word reads back 0x%x after setting 0x%x", read_x87_cw(), X87_CW_WANT);

    __builtin_cpu_init();
    int have_avx = __builtin_cpu_supports("avx");

    /* Reference results, computed under the same control state. */
    double sse_ref[NSSE], avx_ref[NAVX];
    for (int i = 0; i < NSSE; i++)
        sse_ref[i] = sse_init[i];
    busy_sse(sse_ref, busy);
    if (have_avx) {
        for (int i = 0; i < NAVX; i++)
            avx_ref[i] = avx_init[i];
        busy_avx(avx_ref, busy);
    }
    tp_log("interval %ld ms, busy %ld steps, avx %s", interval_ms, busy, have_avx ? "yes" : "no");

    struct timespec start, last, now;
    if (clock_gettime(CLOCK_MONOTONIC, &start) != 0)
        tp_die_errno("clock_gettime(CLOCK_MONOTONIC)");
    last = start;

    const struct timespec interval = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
    unsigned long count = 0, eintr = 0, clock_back = 0;
    double acc = 0.0;
    long long max_gap = 0;
    int ready = 0;

    for (;;) {
        if (nanosleep(&interval, NULL) != 0) {
            if (errno != EINTR) {
                tp_fail("nanosleep: %s", strerror(errno));
                break;
            }
            eintr++;
        }

        double st[NAVX];
        for (int i = 0; i < NSSE; i++)
            st[i] = sse_init[i];
        busy_sse(st, busy);
        if (memcmp(st, sse_ref, sizeof sse_ref) != 0)
            tp_fail("iteration %lu: SSE register computation diverged: x0=%a y0=%a x1=%a y1=%a "
                    "n=%a, expected x0=%a y0=%a x1=%a y1=%a n=%a",
                    count + 1, st[0], st[1], st[2], st[3], st[4], sse_ref[0], sse_ref[1],
                    sse_ref[2], sse_ref[3], sse_ref[4]);
        if (have_avx) {
            for (int i = 0; i < NAVX; i++)
                st[i] = avx_init[i];
            busy_avx(st, busy);
            for (int i = 0; i < NAVX; i++)
                if (memcmp(&st[i], &avx_ref[i], sizeof st[i]) != 0) {
                    tp_fail("iteration %lu: AVX register computation diverged: lane value %d "
                            "is %a, expected %a", count + 1, i, st[i], avx_ref[i]);
                    break;
                }
        }

        if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) {
            tp_fail("clock_gettime(CLOCK_MONOTONIC): %s", strerror(errno));
            break;
        }
        long long gap = ts_ns(&now) - ts_ns(&last);
        if (gap < 0 && clock_back++ == 0)
            tp_fail("iteration %lu: CLOCK_MONOTONIC went backwards by %lld ns (%lld.%09ld -> "
                    "%lld.%09ld)", count + 1, -gap, (long long)last.tv_sec, last.tv_nsec,
                    (long long)now.tv_sec, now.tv_nsec);
        if (gap > max_gap)
            max_gap = gap;
        last = now;

        if (g_count != count)
            tp_fail("iteration %lu: counter in memory is %lu, in register %lu", count + 1,
                    g_count, count);
        count++;
        g_count = count;
        acc += (double)count;

        if (!ready) {
            tp_ready();
            ready = 1;
        }
        if (tp_sigterm_pending())
            break;
    }

    tp_begin_check();
    struct timespec end;
    if (clock_gettime(CLOCK_MONOTONIC, &end) != 0)
        tp_fail("clock_gettime(CLOCK_MONOTONIC): %s", strerror(errno));
    else if (ts_ns(&end) < ts_ns(&last))
        tp_fail("CLOCK_MONOTONIC went backwards at the end: %lld.%09ld -> %lld.%09ld",
                (long long)last.tv_sec, last.tv_nsec, (long long)end.tv_sec, end.tv_nsec);

    if (g_count != count)
        tp_fail("counter in memory is %lu, in register %lu", g_count, count);
    if (count == 0)
        tp_fail("the loop counter is 0");
    /* sum 1..count is exact in a double while count < 2^26 */
    double want = (double)count * (double)(count + 1) / 2.0;
    if (count < (1UL << 26) && acc != want)
        tp_fail("accumulator is %.17g, expected %.17g for counter %lu", acc, want, count);

    long long elapsed = ts_ns(&end) - ts_ns(&start);
    long long max_iters = elapsed / (interval_ms * 1000000LL) + 1;
    if ((long long)(count - eintr) > max_iters)
        tp_fail("counter %lu (%lu sleeps interrupted) is too large for %lld ns elapsed at %ld ms "
                "per iteration", count, eintr, elapsed, interval_ms);

    unsigned mx = read_mxcsr();
    if ((mx & ~MXCSR_FLAGS) != MXCSR_WANT)
        tp_fail("MXCSR is 0x%x, expected 0x%x (ignoring exception flags)", mx, MXCSR_WANT);
    unsigned cw = read_x87_cw();
    if (cw != X87_CW_WANT)
        tp_fail("x87 control word is 0x%x, expected 0x%x", cw, X87_CW_WANT);

    tp_log("%lu iterations in %.3f s, %lu interrupted sleeps, longest gap %.3f ms", count,
           elapsed / 1e9, eintr, max_gap / 1e6);
    tp_finish();
}

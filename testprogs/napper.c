/*
 * napper: sleeps in long relative sleeps that report their remaining time,
 * so a checkpoint nearly always catches it inside one.
 *
 *   napper --pidfile=F --outfile=O [--nap-ms=400]
 *
 * Alternates nanosleep(&req, &rem) and clock_nanosleep(CLOCK_MONOTONIC, 0,
 * &req, &rem). SIGTERM is blocked (the protocol's sigwait), so no handler can
 * interrupt a sleep: the kernel resumes a sleep stopped by ptrace where it
 * left off, and so must a restore. Each sleep must return 0, never EINTR, and
 * must not end early: at least nap-ms pass between its start and its return
 * (CLOCK_MONOTONIC; a restore on the same boot keeps it running). Checked on
 * SIGTERM: no sleep failed or ended early, at least one sleep completed.
 */
#include "common.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static long long now_ns(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t) != 0)
        tp_die_errno("clock_gettime(CLOCK_MONOTONIC)");
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--nap-ms=400]");
    long nap_ms = (long)tp_arg_ull("nap-ms", 400, 1, 60000);
    tp_args_done();

    const struct timespec nap = {nap_ms / 1000, (nap_ms % 1000) * 1000000L};
    unsigned long naps = 0;
    tp_ready();
    while (!tp_sigterm_pending()) {
        struct timespec rem = {0, 0};
        long long start = now_ns();
        int clock_call = naps % 2;
        int error = clock_call ? clock_nanosleep(CLOCK_MONOTONIC, 0, &nap, &rem)
                               : (nanosleep(&nap, &rem) == 0 ? 0 : errno);
        long long slept = now_ns() - start;
        if (error != 0) {
            tp_fail("%s returned %s after %lld ms of a %ld ms nap (remaining %ld.%09ld s): "
                    "no signal handler ran, so the sleep must have gone on",
                    clock_call ? "clock_nanosleep" : "nanosleep", strerror(error),
                    slept / 1000000, nap_ms, (long)rem.tv_sec, rem.tv_nsec);
            break;
        }
        if (slept < nap_ms * 1000000LL) {
            tp_fail("%s returned after %lld ms of a %ld ms nap", clock_call ? "clock_nanosleep" : "nanosleep",
                    slept / 1000000, nap_ms);
            break;
        }
        naps++;
    }
    tp_begin_check();
    if (!tp_failed() && naps == 0)
        tp_fail("no nap completed");
    tp_log("%lu naps of %ld ms", naps, nap_ms);
    tp_finish();
}

/*
 * napper: waits in long timed calls, so a checkpoint nearly always catches it inside one.
 *
 *   napper --pidfile=F --outfile=O [--nap-ms=400] [--calls=nanosleep,clock]
 *
 * Takes its naps with each of the listed calls in turn:
 *   nanosleep        nanosleep(&req, &rem)
 *   clock            clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem)
 *   nanosleep-norem  nanosleep(&req, NULL): the time left is known to the kernel only
 *   poll             poll(NULL, 0, nap-ms): a nap with no descriptors, ends with 0
 *   futex            futex(FUTEX_WAIT) on a private word nobody wakes, relative timeout:
 *                    ends with ETIMEDOUT
 *   futex-abs        futex(FUTEX_WAIT_BITSET) with an absolute CLOCK_MONOTONIC timeout
 *   epoll            epoll_wait on an epoll instance watching nothing, nap-ms: ends with 0
 *   sigtimedwait     sigtimedwait for SIGUSR2 (blocked, never sent): ends with EAGAIN
 *   semtimedop       semtimedop(-1) on a private System V semaphore at 0: ends with EAGAIN
 * The first six the kernel resumes where they left off after a ptrace stop (through the task's
 * restart block), and so must a restore. The last three it never restarts (signal(7)): a
 * ptrace stop cuts them short with EINTR like a signal would, and cryo must make them go on. SIGTERM is blocked (the protocol's sigwait), so no
 * handler can interrupt a nap. Each nap must end as a timeout (never EINTR or another error)
 * and must not end early: at least nap-ms pass between its start and its return
 * (CLOCK_MONOTONIC; a restore on the same boot keeps it running). Checked on SIGTERM: no nap
 * failed or ended early, at least one nap completed.
 */
#include "common.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *const KNOWN[] = {"nanosleep", "clock", "nanosleep-norem", "poll", "futex", "futex-abs", "epoll", "sigtimedwait", "semtimedop"};

static int g_epoll = -1, g_semaphore = -1;
#define KINDS (sizeof KNOWN / sizeof KNOWN[0])

static long long now_ns(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t) != 0)
        tp_die_errno("clock_gettime(CLOCK_MONOTONIC)");
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* One nap with call `kind`; 0 when it ended as a timeout, else the errno it ended with. */
static int nap_once(int kind, const struct timespec *nap, long nap_ms)
{
    static uint32_t futex_word;
    struct timespec rem = {0, 0};
    switch (kind) {
    case 0: return nanosleep(nap, &rem) == 0 ? 0 : errno;
    case 1: return clock_nanosleep(CLOCK_MONOTONIC, 0, nap, &rem);
    case 2: return nanosleep(nap, NULL) == 0 ? 0 : errno;
    case 3: {
        int r = poll(NULL, 0, (int)nap_ms);
        return r == 0 ? 0 : r < 0 ? errno : EPROTO;
    }
    case 4: {
        long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, nap, NULL, 0);
        return r < 0 && errno == ETIMEDOUT ? 0 : r < 0 ? errno : EPROTO;
    }
    case 6: {
        struct epoll_event event;
        int r = epoll_wait(g_epoll, &event, 1, (int)nap_ms);
        return r == 0 ? 0 : r < 0 ? errno : EPROTO;
    }
    case 7: {
        sigset_t usr2;
        sigemptyset(&usr2);
        sigaddset(&usr2, SIGUSR2);
        return sigtimedwait(&usr2, NULL, nap) < 0 && errno == EAGAIN ? 0 : errno ? errno : EPROTO;
    }
    case 8: {
        struct sembuf take = {0, -1, 0};
        return semtimedop(g_semaphore, &take, 1, nap) < 0 && errno == EAGAIN ? 0 : errno ? errno : EPROTO;
    }
    default: {
        struct timespec end;
        clock_gettime(CLOCK_MONOTONIC, &end);
        end.tv_sec += nap->tv_sec;
        end.tv_nsec += nap->tv_nsec;
        if (end.tv_nsec >= 1000000000L) { end.tv_sec++; end.tv_nsec -= 1000000000L; }
        long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_BITSET_PRIVATE, 0, &end, NULL, FUTEX_BITSET_MATCH_ANY);
        return r < 0 && errno == ETIMEDOUT ? 0 : r < 0 ? errno : EPROTO;
    }
    }
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--nap-ms=400] [--calls=nanosleep,clock]");
    long nap_ms = (long)tp_arg_ull("nap-ms", 400, 1, 60000);
    char calls_arg[256];
    snprintf(calls_arg, sizeof calls_arg, "%s", tp_arg_str("calls", "nanosleep,clock"));
    tp_args_done();
    int calls[KINDS * 4], count = 0;
    for (char *save = NULL, *name = strtok_r(calls_arg, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        int kind = -1;
        for (unsigned k = 0; k < KINDS; k++)
            if (strcmp(name, KNOWN[k]) == 0) kind = (int)k;
        if (kind < 0) tp_die("unknown call '%s' in --calls", name);
        if (count == (int)(sizeof calls / sizeof calls[0])) tp_die("too many --calls");
        calls[count++] = kind;
    }
    if (count == 0) tp_die("--calls lists no call");
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    if (sigprocmask(SIG_BLOCK, &usr2, NULL) < 0) tp_die_errno("sigprocmask(SIG_BLOCK, SIGUSR2)");
    if ((g_epoll = epoll_create1(EPOLL_CLOEXEC)) < 0) tp_die_errno("epoll_create1");
    /* The semaphore outlives the process unless removed: removed at the end, and by IPC_PRIVATE never found by another. */
    for (int i = 0; i < count; i++)
        if (calls[i] == 8 && g_semaphore < 0 && (g_semaphore = semget(IPC_PRIVATE, 1, 0600)) < 0) tp_die_errno("semget");

    const struct timespec nap = {nap_ms / 1000, (nap_ms % 1000) * 1000000L};
    unsigned long naps = 0;
    tp_ready();
    while (!tp_sigterm_pending()) {
        int kind = calls[naps % (unsigned long)count];
        long long start = now_ns();
        int error = nap_once(kind, &nap, nap_ms);
        long long slept = now_ns() - start;
        if (error != 0) {
            tp_fail("%s returned %s after %lld ms of a %ld ms nap: no signal handler ran, so the nap must have gone on",
                    KNOWN[kind], strerror(error), slept / 1000000, nap_ms);
            break;
        }
        if (slept < nap_ms * 1000000LL) {
            tp_fail("%s returned after %lld ms of a %ld ms nap", KNOWN[kind], slept / 1000000, nap_ms);
            break;
        }
        naps++;
    }
    tp_begin_check();
    if (!tp_failed() && naps == 0)
        tp_fail("no nap completed");
    tp_log("%lu naps of %ld ms", naps, nap_ms);
    if (g_semaphore >= 0) semctl(g_semaphore, 0, IPC_RMID);
    tp_finish();
}

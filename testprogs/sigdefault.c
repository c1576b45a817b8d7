/*
 * sigdefault: default signal actions that carry flags and a mask (see README.md).
 *
 *   sigdefault --pidfile=F --outfile=O
 *
 * A SIG_DFL action is more than "no handler": it keeps the flags and mask it was set with, and
 * some flags act without a handler. Set up:
 * - SIGCHLD: SIG_DFL with SA_NOCLDWAIT | SA_NOCLDSTOP, mask {SIGUSR1}: children are reaped by
 *   the kernel, never left as zombies (a daemon's way of not waiting for its children);
 * - SIGURG: SIG_DFL with SA_ONSTACK | SA_RESTART, mask {SIGUSR2};
 * - SIGWINCH: a handler that has run once with SA_RESETHAND, so it is SIG_DFL again, with
 *   SA_RESETHAND and its mask {SIGHUP} left.
 * On SIGTERM: each action reads back as it read at set-up (handler, flags, mask); a child forked
 * now and exiting at once leaves no zombie (waitpid ends with ECHILD).
 */
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const int g_signals[] = {SIGCHLD, SIGURG, SIGWINCH};
#define ACTIONS ((int)(sizeof g_signals / sizeof g_signals[0]))
static struct sigaction g_read[ACTIONS];

static void on_winch(int sig) { (void)sig; }

static void set(int sig, void (*handler)(int), int flags, int masked)
{
    struct sigaction action = {.sa_handler = handler, .sa_flags = flags};
    sigemptyset(&action.sa_mask);
    sigaddset(&action.sa_mask, masked);
    if (sigaction(sig, &action, NULL) < 0) tp_die_errno("sigaction(%d)", sig);
}

static void setup(void)
{
    set(SIGCHLD, SIG_DFL, SA_NOCLDWAIT | SA_NOCLDSTOP, SIGUSR1);
    set(SIGURG, SIG_DFL, SA_ONSTACK | SA_RESTART, SIGUSR2);
    set(SIGWINCH, on_winch, SA_RESETHAND, SIGHUP);
    if (raise(SIGWINCH) != 0) tp_die_errno("raise(SIGWINCH)");
    for (int i = 0; i < ACTIONS; i++)
        if (sigaction(g_signals[i], NULL, &g_read[i]) < 0) tp_die_errno("sigaction(%d) read back", g_signals[i]);
    if (g_read[2].sa_handler != SIG_DFL) tp_die("the SA_RESETHAND handler of SIGWINCH was not reset");
}

static void check(void)
{
    for (int i = 0; i < ACTIONS; i++) {
        struct sigaction now;
        if (sigaction(g_signals[i], NULL, &now) < 0) { tp_fail("sigaction(%d): %s", g_signals[i], strerror(errno)); continue; }
        if (now.sa_handler != g_read[i].sa_handler || now.sa_flags != g_read[i].sa_flags)
            tp_fail("signal %d: handler %p flags %#x, expected %p and %#x", g_signals[i], (void *)now.sa_handler, now.sa_flags,
                    (void *)g_read[i].sa_handler, g_read[i].sa_flags);
        for (int s = 1; s < 32; s++)
            if (sigismember(&now.sa_mask, s) != sigismember(&g_read[i].sa_mask, s))
                tp_fail("signal %d: signal %d is %s its mask", g_signals[i], s, sigismember(&now.sa_mask, s) ? "in" : "missing from");
    }
    pid_t child = fork();
    if (child < 0) { tp_fail("fork: %s", strerror(errno)); return; }
    if (child == 0) _exit(0);
    /* With SA_NOCLDWAIT the kernel reaps the child: waitpid waits for it to end, then says ECHILD. */
    int status;
    pid_t got = waitpid(child, &status, 0);
    if (got != -1 || errno != ECHILD) tp_fail("waitpid(%d) gave %d (%s): the child became a zombie, SA_NOCLDWAIT is gone", (int)child, (int)got,
                                              got < 0 ? strerror(errno) : "reaped");
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

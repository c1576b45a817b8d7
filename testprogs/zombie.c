/*
 * zombie: children that ended and were not reaped (see README.md).
 *
 * Three children end before the pidfile is written and stay zombies (the parent waits for each
 * with waitid(WEXITED | WNOWAIT), which does not reap): one exits with 3, one with 0, one is
 * killed by SIGUSR2. A fourth child lives on, blocked in read() on a pipe. On SIGTERM the parent
 * wakes the live child (which exits with 7) and checks that waitpid() on each pid returns the
 * recorded status, and that no other child is left.
 */
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define NCHILD 4

int main(int argc, char **argv)
{
    tp_init(argc, argv, "");
    tp_args_done();
    tp_setsid();
    int go[2];
    if (pipe(go) < 0) tp_die_errno("pipe");
    pid_t pids[NCHILD];
    int expected[NCHILD];
    for (int i = 0; i < NCHILD; i++) {
        pid_t pid = fork();
        if (pid < 0) tp_die_errno("fork");
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            switch (i) {
            case 0: _exit(3);
            case 1: _exit(0);
            case 2: {
                sigset_t all;
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                signal(SIGUSR2, SIG_DFL);
                raise(SIGUSR2);
                _exit(99);
            }
            default: {
                char c;
                ssize_t n;
                while ((n = read(go[0], &c, 1)) < 0 && errno == EINTR) {}
                _exit(n == 1 && c == 'g' ? 7 : 8);
            }
            }
        }
        pids[i] = pid;
    }
    for (int i = 0; i < NCHILD - 1; i++) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (waitid(P_PID, (id_t)pids[i], &info, WEXITED | WNOWAIT) < 0) tp_die_errno("waitid");
    }
    expected[0] = 3 << 8;
    expected[1] = 0;
    expected[2] = SIGUSR2;
    expected[3] = 7 << 8;

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    if (write(go[1], "g", 1) != 1) tp_fail("write(go): %s", strerror(errno));
    for (int i = 0; i < NCHILD; i++) {
        int status = -1;
        pid_t r;
        while ((r = waitpid(pids[i], &status, 0)) < 0 && errno == EINTR) {}
        if (r != pids[i]) tp_fail("waitpid(%d) = %d: %s", (int)pids[i], (int)r, strerror(errno));
        else if (status != expected[i]) tp_fail("child %d (pid %d): wait status 0x%x, expected 0x%x", i, (int)pids[i], status, expected[i]);
    }
    if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD) tp_fail("another child is left");
    tp_finish();
}

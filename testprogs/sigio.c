/*
 * sigio: signal-driven I/O settings of open file descriptions (see README.md).
 *
 *   sigio --pidfile=F --outfile=O [--owner-outside]
 *
 * A pipe whose read end is O_ASYNC | O_NONBLOCK, owned by the process (F_SETOWN) and set to
 * deliver SIGRTMIN+2 (F_SETSIG); its write end owned by the main thread (F_SETOWN_EX,
 * F_OWNER_TID) with the default SIGIO; a file beside the outfile owned by the process group
 * (F_OWNER_PGRP) with SIGUSR1 but without O_ASYNC; and one more file with neither (or, with
 * --owner-outside, owned by the parent: a process outside any tree rooted at this one; it is
 * not O_ASYNC, so the parent never gets a signal from it).
 * On SIGTERM: every owner, type and signal (fcntl F_GETOWN_EX, F_GETSIG) and the O_ASYNC flag;
 * then a byte written into the pipe must raise SIGRTMIN+2 with si_fd = the read end and
 * si_code POLL_IN within a second.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct expected {
    const char *what;
    int fd;
    int type;   /* F_OWNER_* */
    pid_t id;
    int sig;
};

static void set_owner(int fd, int type, pid_t id, int sig, const char *what)
{
    struct f_owner_ex owner = {.type = type, .pid = id};
    if (fcntl(fd, F_SETOWN_EX, &owner) < 0) tp_die_errno("fcntl(%s, F_SETOWN_EX)", what);
    if (sig && fcntl(fd, F_SETSIG, sig) < 0) tp_die_errno("fcntl(%s, F_SETSIG)", what);
}

static void check(const struct expected *e)
{
    struct f_owner_ex owner;
    if (fcntl(e->fd, F_GETOWN_EX, &owner) < 0) { tp_fail("%s: F_GETOWN_EX: %s", e->what, strerror(errno)); return; }
    int sig = fcntl(e->fd, F_GETSIG);
    if (owner.type != e->type || owner.pid != e->id || sig != e->sig)
        tp_fail("%s (fd %d): owner type %d id %d signal %d, expected type %d id %d signal %d", e->what, e->fd,
                owner.type, owner.pid, sig, e->type, e->id, e->sig);
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--owner-outside]");
    int outside = tp_arg_flag("owner-outside");
    tp_args_done();
    tp_setsid(); /* the group owner is the process's own group */
    int sigrt = SIGRTMIN + 2;
    pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);

    int p[2];
    if (pipe(p) < 0) tp_die_errno("pipe");
    if (fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK) < 0) tp_die_errno("fcntl(F_SETFL, O_ASYNC)");
    set_owner(p[0], F_OWNER_PID, pid, sigrt, "pipe read end");
    set_owner(p[1], F_OWNER_TID, tid, 0, "pipe write end");
    char path[4096];
    snprintf(path, sizeof path, "%s.sigio-file", tp_outfile);
    int file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (file < 0) tp_die_errno("open %s", path);
    set_owner(file, F_OWNER_PGRP, getpgrp(), SIGUSR1, "file");
    snprintf(path, sizeof path, "%s.plain-file", tp_outfile);
    int plain = open(path, O_RDONLY | O_CREAT, 0600);
    if (plain < 0) tp_die_errno("open %s", path);
    pid_t parent = getppid();
    if (outside) set_owner(plain, F_OWNER_PID, parent, 0, "plain file");

    struct expected all[] = {
        {"pipe read end", p[0], F_OWNER_PID, pid, sigrt},
        {"pipe write end", p[1], F_OWNER_TID, tid, 0},
        {"file", file, F_OWNER_PGRP, getpgrp(), SIGUSR1},
        /* Type 0 (F_OWNER_TID) with id 0 is what F_GETOWN_EX reports of a description nobody owns. */
        {"plain file", plain, outside ? F_OWNER_PID : F_OWNER_TID, outside ? parent : 0, 0},
    };
    /* The signal stays blocked: it is taken with sigtimedwait, never by a handler. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, sigrt);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) tp_die_errno("sigprocmask");

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) check(&all[i]);
    if (!(fcntl(p[0], F_GETFL) & O_ASYNC)) tp_fail("pipe read end: O_ASYNC is gone");
    if (fcntl(file, F_GETFL) & O_ASYNC) tp_fail("file: O_ASYNC appeared");

    /* Nothing may be pending from before; then one byte must signal the read end. */
    struct timespec none = {0, 0}, second = {1, 0};
    siginfo_t info;
    while (sigtimedwait(&mask, &info, &none) == sigrt) {}
    if (write(p[1], "x", 1) != 1) tp_fail("write into the pipe: %s", strerror(errno));
    int got = sigtimedwait(&mask, &info, &second);
    if (got != sigrt) tp_fail("no signal %d within a second of a write into the pipe (got %d: %s)", sigrt, got, got < 0 ? strerror(errno) : "");
    else if (info.si_fd != p[0] || info.si_code != POLL_IN)
        tp_fail("signal %d came with si_fd %d si_code %d, expected si_fd %d si_code POLL_IN (%d)", sigrt, info.si_fd, info.si_code, p[0], POLL_IN);
    char c;
    if (read(p[0], &c, 1) != 1 || c != 'x') tp_fail("the byte written did not come back");
    snprintf(path, sizeof path, "%s.sigio-file", tp_outfile);
    unlink(path);
    snprintf(path, sizeof path, "%s.plain-file", tp_outfile);
    unlink(path);
    tp_finish();
}

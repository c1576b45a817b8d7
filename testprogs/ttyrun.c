/*
 * ttyrun: run a command on a terminal as a shell would, for tests of programs that run on
 * one (a helper, not a test program: it does not follow the pidfile protocol itself).
 *
 *   ttyrun --tty=PATH [--job] [--pidfile=F] -- command [args]
 *
 * ttyrun starts a session of its own whose controlling terminal is PATH (a pseudo-terminal
 * slave the test holds the master of), with the terminal as standard input, output and error.
 * Without --job it then becomes the command (exec): a session leader in the foreground, as a
 * program started by `setsid -c`. With --job it acts as an interactive shell: the command runs
 * as a child in a process group of its own that is given the terminal's foreground, ttyrun
 * waits for it and exits with its status (128 + signal if it was killed). --pidfile gets the
 * command's pid (written atomically) once it is in the foreground.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "ttyrun: %s: %s\n", what, strerror(errno));
    exit(127);
}

static void write_pidfile(const char *path, pid_t pid)
{
    char temp[4096], text[32];
    snprintf(temp, sizeof temp, "%s.tmp", path);
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) die("open pidfile");
    int n = snprintf(text, sizeof text, "%d\n", (int)pid);
    if (write(fd, text, n) != n || close(fd) != 0) die("write pidfile");
    if (rename(temp, path) != 0) die("rename pidfile");
}

int main(int argc, char **argv)
{
    const char *tty = NULL, *pidfile = NULL;
    int job = 0, i;
    for (i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--tty=", 6) == 0) tty = argv[i] + 6;
        else if (strncmp(argv[i], "--pidfile=", 10) == 0) pidfile = argv[i] + 10;
        else if (strcmp(argv[i], "--job") == 0) job = 1;
        else if (strcmp(argv[i], "--") == 0) { i++; break; }
        else { fprintf(stderr, "ttyrun: unknown option %s\n", argv[i]); return 127; }
    }
    if (!tty || i >= argc) {
        fprintf(stderr, "usage: ttyrun --tty=PATH [--job] [--pidfile=F] -- command [args]\n");
        return 127;
    }
    if (setsid() < 0) die("setsid");
    int fd = open(tty, O_RDWR); /* no O_NOCTTY: a session leader without one takes it */
    if (fd < 0) die(tty);
    if (ioctl(fd, TIOCSCTTY, 0) != 0 && errno != EPERM) die("TIOCSCTTY");
    for (int std = 0; std <= 2; std++)
        if (dup2(fd, std) < 0) die("dup2");
    if (fd > 2) close(fd);

    if (!job) {
        if (pidfile) write_pidfile(pidfile, getpid());
        execvp(argv[i], argv + i);
        die(argv[i]);
    }

    /* As a shell: the job's group gets the terminal; the shell ignores the stops that brings. */
    signal(SIGTTOU, SIG_IGN);
    signal(SIGTTIN, SIG_IGN);
    signal(SIGTSTP, SIG_IGN);
    /* The pidfile names the command only once it runs: the child's end of this pipe closes at its exec. */
    int exec_done[2];
    if (pipe2(exec_done, O_CLOEXEC) != 0) die("pipe2");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        close(exec_done[0]);
        setpgid(0, 0);
        tcsetpgrp(0, getpid());
        signal(SIGTTOU, SIG_DFL);
        signal(SIGTTIN, SIG_DFL);
        signal(SIGTSTP, SIG_DFL);
        execvp(argv[i], argv + i);
        die(argv[i]);
    }
    close(exec_done[1]);
    setpgid(child, child);
    if (tcsetpgrp(0, child) != 0) die("tcsetpgrp");
    char byte;
    while (read(exec_done[0], &byte, 1) < 0 && errno == EINTR) {}
    close(exec_done[0]);
    if (pidfile) write_pidfile(pidfile, child);
    int status;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR) die("waitpid");
    tcsetpgrp(0, getpgrp());
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

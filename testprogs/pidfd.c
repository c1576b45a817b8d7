/*
 * pidfd: pidfds of processes of the tree, live and zombie, and of the program itself (see
 * README.md).
 *
 *   pidfd --pidfile=F --outfile=O
 *
 * Every descriptor above 2 inherited from the parent is closed first, so the descriptors are
 * known; then tp_setsid, so the children below are in the program's session (the tree).
 * Each child keeps nothing but fds 0-2 and (A, C) the read end of its pipe at fd 3, and has
 * PR_SET_PDEATHSIG SIGKILL, so none outlives the program.
 * - A (fork): blocks in read() on its pipe, SIGTERM unblocked and at its default action; the
 *   parent keeps the pipe's write end at fd 50. Fd 40 = pidfd_open(A, 0), close-on-exec (as
 *   pidfd_open makes it); fd 41 = dup2(40, 41): the same open file description, not
 *   close-on-exec.
 * - B (fork): exits with status 7 at once and is not reaped: the parent waits for it to end
 *   with waitid(P_PID, B, WEXITED | WNOWAIT), then fd 42 = pidfd_open(B, PIDFD_NONBLOCK) of the
 *   zombie, close-on-exec.
 * - C (clone3 with CLONE_PIDFD, exit signal SIGCHLD; set-up dies if clone3 is missing): blocks
 *   in read() on its pipe and exits with 3 once it reads a byte (4 at end of file); the parent
 *   keeps the write end at fd 51 and the pidfd clone3 returned at fd 43, close-on-exec.
 * - fd 44 = pidfd_open(getpid(), 0): a pidfd of the program itself, close-on-exec.
 * The parent then holds fds 0-2 (as inherited), 40-44, 50 and 51, nothing else. At set-up the
 * link of each pidfd (/proc/self/fd), its "Pid:" in /proc/self/fdinfo (A, A, B, C, own pid),
 * F_GETFD and F_GETFL of every fd are recorded (set-up dies on a wrong Pid: or O_NONBLOCK).
 * On SIGTERM:
 * - /proc/self/fd lists no descriptor but 0-2, 40-44, 50, 51;
 * - each of 40-44 links to "anon_inode:[pidfd]" or to "pidfd:..." (logged), its fdinfo Pid:
 *   is the recorded one, F_GETFD and F_GETFL equal the recorded ones, O_NONBLOCK on 42 only;
 *   50 and 51 are pipes with their recorded flags;
 * - 40 and 41 share one open file description: kcmp(KCMP_FILE) says so when the kernel lets
 *   it be asked (40 and 44 then must differ), and O_NONBLOCK set through 40 with F_SETFL shows
 *   on 41, cleared through 40 it is gone from 41;
 * - poll (timeout 0): 40, 41, 43 and 44 not readable (A, C and the program live), 42 readable
 *   (B is a zombie);
 * - waitid(P_PIDFD, 42, WEXITED) reaps B: si_pid B, CLD_EXITED, status 7;
 * - pidfd_send_signal(40, SIGTERM) (only if 40's Pid: is A's) kills A: 40 becomes readable
 *   within 3 s (poll), waitid(P_PIDFD, 40, WEXITED) reaps it: si_pid A, CLD_KILLED, SIGTERM;
 * - a byte written to 51 makes C exit with 3: 43 readable within 3 s, waitid(P_PIDFD, 43,
 *   WEXITED): si_pid C, CLD_EXITED, status 3;
 * - pidfd_send_signal(44, 0) (the probe signal) succeeds and 44's Pid: is getpid();
 * - no child is left: waitid(P_ALL, WEXITED | WNOHANG) fails with ECHILD.
 * A child not reaped through its pidfd (a wrong descriptor) is killed and reaped by pid, so
 * the failure is reported once and nothing stays behind.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>


#define FD_A 40      /* pidfd_open(A, 0) */
#define FD_A_DUP 41  /* dup of 40 */
#define FD_B 42      /* pidfd_open(B, PIDFD_NONBLOCK), B a zombie */
#define FD_C 43      /* clone3 CLONE_PIDFD of C */
#define FD_SELF 44   /* pidfd_open(getpid(), 0) */
#define FD_A_PIPE 50 /* write end of A's pipe */
#define FD_C_PIPE 51 /* write end of C's pipe */

#define B_STATUS 7
#define C_STATUS 3
#define WAIT_MS 3000

struct entry {
    int fd;
    const char *what;
    int pidfd;   /* 1: a pidfd, 0: a pipe write end */
    pid_t pid;   /* the process the pidfd refers to (fdinfo Pid:) */
    int fdflags; /* F_GETFD at set-up */
    int flflags; /* F_GETFL at set-up */
};

static struct entry g_e[] = {
    {FD_A, "fd 40 (pidfd of A)", 1, 0, 0, 0},
    {FD_A_DUP, "fd 41 (dup of 40)", 1, 0, 0, 0},
    {FD_B, "fd 42 (pidfd of zombie B)", 1, 0, 0, 0},
    {FD_C, "fd 43 (clone3 pidfd of C)", 1, 0, 0, 0},
    {FD_SELF, "fd 44 (pidfd of the program)", 1, 0, 0, 0},
    {FD_A_PIPE, "fd 50 (A's pipe)", 0, 0, 0, 0},
    {FD_C_PIPE, "fd 51 (C's pipe)", 0, 0, 0, 0},
};
#define NE ((int)(sizeof g_e / sizeof g_e[0]))

static pid_t g_a, g_b, g_c, g_self;

/* "Pid:" of /proc/self/fdinfo/FD into *pid; 0, or -1 with a reason in why. */
static int fdinfo_pid(int fd, pid_t *pid, char *why, size_t whylen)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    int f = open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0) {
        snprintf(why, whylen, "open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = tp_read_full(f, buf, sizeof buf - 1);
    close(f);
    buf[n] = '\0';
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, "Pid:", 4) == 0) {
            *pid = (pid_t)strtol(line + 4, NULL, 10);
            return 0;
        }
    }
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\t') *p = ' ';
    snprintf(why, whylen, "%s has no Pid: line (%.200s)", path, buf);
    return -1;
}

static int is_pidfd_link(const char *t) { return strcmp(t, "anon_inode:[pidfd]") == 0 || strncmp(t, "pidfd:", 6) == 0; }

/* In a child: keep only fds 0-2 and rfd (moved to 3), die with the parent. */
static void child_prepare(int rfd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (rfd >= 0) {
        if (rfd != 3 && dup2(rfd, 3) != 3) _exit(20);
        if (close_range(4, ~0U, 0) != 0) _exit(21);
    } else if (close_range(3, ~0U, 0) != 0) {
        _exit(21);
    }
}

/* Read one byte from fd 3: exit `got` if it came, `eof` otherwise. */
__attribute__((noreturn)) static void child_wait_byte(int got, int eof)
{
    char c;
    ssize_t n;
    while ((n = read(3, &c, 1)) < 0 && errno == EINTR) {}
    _exit(n == 1 ? got : eof);
}

/* Wait up to ms for POLLIN on fd; the revents (0 on timeout, -1 on error). */
static int poll_in(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR) {}
    if (r < 0) return -1;
    return r == 0 ? 0 : p.revents;
}

/* ------------------------------------------------------------------ */
/* set-up                                                               */

static void make_a(void)
{
    int p[2];
    if (pipe(p) < 0) tp_die_errno("A: pipe");
    pid_t pid = fork();
    if (pid < 0) tp_die_errno("A: fork");
    if (pid == 0) {
        child_prepare(p[0]);
        /* SIGTERM (blocked by tp_init) must kill A at the check. */
        sigset_t none;
        sigemptyset(&none);
        signal(SIGTERM, SIG_DFL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        child_wait_byte(5, 6); /* a byte or EOF is never sent: the check kills A */
    }
    g_a = pid;
    if (close(p[0]) < 0) tp_die_errno("A: close(%d)", p[0]);
    if (tp_move_fd(p[1], FD_A_PIPE, 0) < 0) tp_die_errno("A: move fd %d to %d", p[1], FD_A_PIPE);
    int fd = pidfd_open(g_a, 0);
    if (fd < 0) tp_die_errno("pidfd_open(A = %d, 0)", (int)g_a);
    if (tp_move_fd(fd, FD_A, 1) < 0) tp_die_errno("A: move fd %d to %d", fd, FD_A);
    if (dup2(FD_A, FD_A_DUP) != FD_A_DUP) tp_die_errno("dup2(%d, %d)", FD_A, FD_A_DUP);
}

static void make_b(void)
{
    pid_t pid = fork();
    if (pid < 0) tp_die_errno("B: fork");
    if (pid == 0) {
        child_prepare(-1);
        _exit(B_STATUS);
    }
    g_b = pid;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r;
    while ((r = waitid(P_PID, (id_t)g_b, &si, WEXITED | WNOWAIT)) < 0 && errno == EINTR) {}
    if (r < 0) tp_die_errno("waitid(P_PID, B = %d, WEXITED | WNOWAIT)", (int)g_b);
    if (si.si_pid != g_b || si.si_code != CLD_EXITED || si.si_status != B_STATUS)
        tp_die("B (pid %d) ended as si_pid %d, si_code %d, si_status %d; expected an exit with %d", (int)g_b,
               (int)si.si_pid, si.si_code, si.si_status, B_STATUS);
    int fd = pidfd_open(g_b, PIDFD_NONBLOCK);
    if (fd < 0) tp_die_errno("pidfd_open(zombie B = %d, PIDFD_NONBLOCK)", (int)g_b);
    if (tp_move_fd(fd, FD_B, 1) < 0) tp_die_errno("B: move fd %d to %d", fd, FD_B);
}

static void make_c(void)
{
    int p[2];
    if (pipe(p) < 0) tp_die_errno("C: pipe");
    int pidfd = -1;
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) tp_die_errno("C: clone3(CLONE_PIDFD)");
    if (pid == 0) {
        child_prepare(p[0]);
        child_wait_byte(C_STATUS, 4);
    }
    g_c = (pid_t)pid;
    if (pidfd < 0) tp_die("C: clone3 returned pid %d but no pidfd", (int)g_c);
    if (close(p[0]) < 0) tp_die_errno("C: close(%d)", p[0]);
    if (tp_move_fd(p[1], FD_C_PIPE, 0) < 0) tp_die_errno("C: move fd %d to %d", p[1], FD_C_PIPE);
    if (tp_move_fd(pidfd, FD_C, 1) < 0) tp_die_errno("C: move fd %d to %d", pidfd, FD_C);
}

static void record(void)
{
    g_e[0].pid = g_a;
    g_e[1].pid = g_a;
    g_e[2].pid = g_b;
    g_e[3].pid = g_c;
    g_e[4].pid = g_self;
    for (int i = 0; i < NE; i++) {
        struct entry *e = &g_e[i];
        e->fdflags = fcntl(e->fd, F_GETFD);
        e->flflags = fcntl(e->fd, F_GETFL);
        if (e->fdflags < 0 || e->flflags < 0) tp_die_errno("%s: fcntl", e->what);
        char t[256];
        tp_fd_target(e->fd, t, sizeof t);
        if (!e->pidfd) {
            tp_log("%s: %s, F_GETFD 0x%x, F_GETFL 0%o", e->what, t, e->fdflags, e->flflags);
            continue;
        }
        if (!is_pidfd_link(t)) tp_die("%s links to %s, not a pidfd", e->what, t);
        pid_t pid = 0;
        char why[512];
        if (fdinfo_pid(e->fd, &pid, why, sizeof why) != 0) tp_die("%s: %s", e->what, why);
        if (pid != e->pid) tp_die("%s: fdinfo Pid: %d, expected %d", e->what, (int)pid, (int)e->pid);
        if (!!(e->flflags & O_NONBLOCK) != (e->fd == FD_B))
            tp_die("%s: F_GETFL 0%o, O_NONBLOCK expected on fd %d only", e->what, e->flflags, FD_B);
        tp_log("%s: %s, Pid: %d, F_GETFD 0x%x, F_GETFL 0%o", e->what, t, (int)pid, e->fdflags, e->flflags);
    }
}

/* ------------------------------------------------------------------ */
/* checks                                                               */

/* Kind, Pid: and flags of one descriptor; 1 if its Pid: is the recorded one. */
static int check_entry(const struct entry *e)
{
    char t[256];
    tp_fd_target(e->fd, t, sizeof t);
    int fdfl = fcntl(e->fd, F_GETFD), fl = fcntl(e->fd, F_GETFL);
    if (fdfl < 0 || fl < 0) {
        tp_fail("%s: fcntl: %s (%s)", e->what, strerror(errno), t);
        return 0;
    }
    if (fdfl != e->fdflags) tp_fail("%s: F_GETFD 0x%x, expected 0x%x as at set-up", e->what, fdfl, e->fdflags);
    if (fl != e->flflags) tp_fail("%s: F_GETFL 0%o, expected 0%o as at set-up", e->what, fl, e->flflags);
    if (!e->pidfd) {
        struct stat st;
        if (fstat(e->fd, &st) < 0) tp_fail("%s: fstat: %s", e->what, strerror(errno));
        else if (!S_ISFIFO(st.st_mode)) tp_fail("%s: not a pipe (%s, mode 0%o)", e->what, t, st.st_mode);
        return 1;
    }
    if (!is_pidfd_link(t)) {
        tp_fail("%s links to %s, expected anon_inode:[pidfd] or pidfd:...", e->what, t);
        return 0;
    }
    if (!!(fl & O_NONBLOCK) != (e->fd == FD_B))
        tp_fail("%s: F_GETFL 0%o: O_NONBLOCK %s", e->what, fl, e->fd == FD_B ? "missing" : "set, expected on fd 42 only");
    pid_t pid = 0;
    char why[512];
    if (fdinfo_pid(e->fd, &pid, why, sizeof why) != 0) {
        tp_fail("%s: %s", e->what, why);
        return 0;
    }
    tp_log("check: %s links to %s, Pid: %d", e->what, t, (int)pid);
    if (pid != e->pid) {
        tp_fail("%s: fdinfo Pid: %d, expected %d", e->what, (int)pid, (int)e->pid);
        return 0;
    }
    return 1;
}

static void check_shared_description(void)
{
    long r = syscall(SYS_kcmp, (pid_t)g_self, (pid_t)g_self, KCMP_FILE, FD_A, FD_A_DUP);
    if (r < 0 && (errno == ENOSYS || errno == EPERM)) {
        tp_log("kcmp(KCMP_FILE) not available (%s): the O_NONBLOCK test alone decides", strerror(errno));
    } else if (r < 0) {
        tp_fail("kcmp(KCMP_FILE, 40, 41): %s", strerror(errno));
    } else {
        if (r != 0) tp_fail("kcmp(KCMP_FILE, 40, 41) = %ld: fds 40 and 41 are different open file descriptions", r);
        r = syscall(SYS_kcmp, (pid_t)g_self, (pid_t)g_self, KCMP_FILE, FD_A, FD_SELF);
        if (r == 0) tp_fail("kcmp(KCMP_FILE, 40, 44) = 0: fds 40 and 44 are one open file description");
    }
    if (tp_set_nonblock(FD_A, 1) != 0) {
        tp_fail("F_SETFL O_NONBLOCK on fd 40: %s", strerror(errno));
        return;
    }
    int fl = fcntl(FD_A_DUP, F_GETFL);
    if (fl < 0 || !(fl & O_NONBLOCK))
        tp_fail("O_NONBLOCK set on fd 40 does not show on fd 41 (F_GETFL 0%o): not one open file description", fl);
    if (tp_set_nonblock(FD_A, 0) != 0) {
        tp_fail("F_SETFL clearing O_NONBLOCK on fd 40: %s", strerror(errno));
        return;
    }
    fl = fcntl(FD_A_DUP, F_GETFL);
    if (fl < 0 || (fl & O_NONBLOCK))
        tp_fail("O_NONBLOCK cleared on fd 40 still shows on fd 41 (F_GETFL 0%o)", fl);
}

static void check_polls(void)
{
    static const int quiet[] = {FD_A, FD_A_DUP, FD_C, FD_SELF};
    static const char *const who[] = {"A", "A", "C", "the program"};
    for (int i = 0; i < 4; i++) {
        int rev = poll_in(quiet[i], 0);
        if (rev < 0) tp_fail("poll(fd %d): %s", quiet[i], strerror(errno));
        else if (rev) tp_fail("poll(fd %d) gives revents 0x%x before anything ended: %s should be alive", quiet[i], rev, who[i]);
    }
    int rev = poll_in(FD_B, 0);
    if (rev < 0) tp_fail("poll(fd 42): %s", strerror(errno));
    else if (!(rev & POLLIN)) tp_fail("poll(fd 42) gives revents 0x%x, expected POLLIN: B (pid %d) should be a zombie", rev, (int)g_b);
}

/* Reap `pid` through its pidfd, expecting code/status; on a failed wait it is killed and
 * reaped by pid instead. */
static void reap_through(int fd, pid_t pid, int code, int status, const char *name)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r;
    while ((r = waitid(P_PIDFD, (id_t)fd, &si, WEXITED)) < 0 && errno == EINTR) {}
    if (r < 0) {
        tp_fail("waitid(P_PIDFD, %d, WEXITED) for %s (pid %d): %s", fd, name, (int)pid, strerror(errno));
    } else if (si.si_pid != pid) {
        tp_fail("waitid(P_PIDFD, %d) reaped pid %d, expected %s (pid %d)", fd, (int)si.si_pid, name, (int)pid);
    } else {
        if (si.si_code != code || si.si_status != status)
            tp_fail("%s (pid %d) ended with si_code %d, si_status %d; expected %s %d", name, (int)pid, si.si_code,
                    si.si_status, code == CLD_EXITED ? "CLD_EXITED, status" : "CLD_KILLED, signal", status);
        pid_t after = 0;
        char why[512];
        if (fdinfo_pid(fd, &after, why, sizeof why) == 0)
            tp_log("%s reaped through fd %d; its fdinfo now says Pid: %d", name, fd, (int)after);
        return;
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "");
    tp_args_done();

    /* Deterministic descriptors: nothing inherited above 2. */
    if (close_range(3, ~0U, 0) != 0) tp_die_errno("close_range(3, ~0U)");
    tp_setsid();
    g_self = getpid();

    make_a();
    make_b();
    make_c();
    int fd = pidfd_open(g_self, 0);
    if (fd < 0) tp_die_errno("pidfd_open(self = %d, 0)", (int)g_self);
    if (tp_move_fd(fd, FD_SELF, 1) < 0) tp_die_errno("move fd %d to %d", fd, FD_SELF);
    record();
    tp_log("A %d (fds 40, 41; pipe 50), zombie B %d (fd 42), C %d (fd 43; pipe 51), self %d (fd 44)", (int)g_a,
           (int)g_b, (int)g_c, (int)g_self);

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    int fds[NE]; /* no descriptor but 0-2 and the table's */
    for (int i = 0; i < NE; i++) fds[i] = g_e[i].fd;
    tp_check_only_fds(fds, NE);
    int ok[NE];
    for (int i = 0; i < NE; i++) ok[i] = check_entry(&g_e[i]);
    check_shared_description();
    check_polls();

    /* B: the zombie, reaped through its non-blocking pidfd. */
    if (ok[2]) reap_through(FD_B, g_b, CLD_EXITED, B_STATUS, "B");
    else {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (waitid(P_PID, (id_t)g_b, &si, WEXITED | WNOHANG) < 0 || si.si_pid != g_b)
            tp_fail("B (pid %d) is not a zombie to reap: %s", (int)g_b, strerror(errno));
    }

    /* A: SIGTERM through its pidfd. */
    if (ok[0]) {
        if (pidfd_send_signal(FD_A, SIGTERM, NULL, 0) < 0) {
            tp_fail("pidfd_send_signal(40, SIGTERM) to A (pid %d): %s", (int)g_a, strerror(errno));
            kill(g_a, SIGKILL);
        } else {
            int rev = poll_in(FD_A, WAIT_MS);
            if (rev < 0) tp_fail("poll(fd 40): %s", strerror(errno));
            else if (!(rev & POLLIN)) tp_fail("fd 40 not readable within 3 s of SIGTERM to A (revents 0x%x)", rev);
        }
        reap_through(FD_A, g_a, CLD_KILLED, SIGTERM, "A");
    } else {
        kill(g_a, SIGKILL);
        while (waitpid(g_a, NULL, 0) < 0 && errno == EINTR) {}
    }

    /* C: a byte through its pipe, it exits with 3. */
    ssize_t w;
    while ((w = write(FD_C_PIPE, "c", 1)) < 0 && errno == EINTR) {}
    if (w != 1) tp_fail("write(51) to C's pipe: %s", w < 0 ? strerror(errno) : "nothing written");
    if (ok[3]) {
        int rev = poll_in(FD_C, WAIT_MS);
        if (rev < 0) tp_fail("poll(fd 43): %s", strerror(errno));
        else if (!(rev & POLLIN)) tp_fail("fd 43 not readable within 3 s of the byte to C (revents 0x%x)", rev);
        reap_through(FD_C, g_c, CLD_EXITED, C_STATUS, "C");
    } else {
        kill(g_c, SIGKILL);
        while (waitpid(g_c, NULL, 0) < 0 && errno == EINTR) {}
    }

    /* The program's own pidfd. */
    if (pidfd_send_signal(FD_SELF, 0, NULL, 0) < 0) tp_fail("pidfd_send_signal(44, 0) (probe): %s", strerror(errno));
    pid_t pid = 0;
    char why[512];
    if (fdinfo_pid(FD_SELF, &pid, why, sizeof why) != 0) tp_fail("fd 44: %s", why);
    else if (pid != getpid()) tp_fail("fd 44: fdinfo Pid: %d, but getpid() is %d", (int)pid, (int)getpid());

    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) != -1 || errno != ECHILD)
        tp_fail("a child is left after A, B and C were reaped (waitid(P_ALL): si_pid %d)", (int)si.si_pid);
    tp_finish();
}

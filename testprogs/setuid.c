/*
 * setuid: a child running as another user (see README.md).
 *
 * The parent (root) forks a child that drops to uid and gid 65534 (--uid=N), no supplementary
 * groups, and then blocks in read() on a pipe. On SIGTERM the parent wakes it; the child checks
 * its real, effective and saved uids and gids, its groups and its parent, reports through a
 * pipe and exits with 6. The parent checks that it is still root and its wait() result.
 */
#include "common.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERDICT 256

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--uid=65534]");
    unsigned id = (unsigned)tp_arg_ull("uid", 65534, 1, 1u << 30);
    tp_args_done();
    tp_setsid();
    if (getuid() != 0) tp_die("must start as root");
    int go[2], back[2], ready[2];
    if (pipe(go) < 0 || pipe(back) < 0 || pipe(ready) < 0) tp_die_errno("pipe");
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) tp_die_errno("fork");
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char verdict[VERDICT] = "";
        if (setgroups(0, NULL) < 0 || setresgid(id, id, id) < 0 || setresuid(id, id, id) < 0) {
            snprintf(verdict, sizeof verdict, "dropping to %u: %s", id, strerror(errno));
        }
        /* The kernel makes a process that changed its uids non-dumpable; keep it as the program set it. */
        if (write(ready[1], "r", 1) != 1) _exit(9);
        char c;
        ssize_t n;
        while ((n = read(go[0], &c, 1)) < 0 && errno == EINTR) {}
        uid_t r, e, s;
        gid_t rg, eg, sg;
        getresuid(&r, &e, &s);
        getresgid(&rg, &eg, &sg);
        if (!verdict[0] && (r != id || e != id || s != id))
            snprintf(verdict, sizeof verdict, "uids %u/%u/%u, expected %u", r, e, s, id);
        if (!verdict[0] && (rg != id || eg != id || sg != id))
            snprintf(verdict, sizeof verdict, "gids %u/%u/%u, expected %u", rg, eg, sg, id);
        if (!verdict[0] && getgroups(0, NULL) != 0)
            snprintf(verdict, sizeof verdict, "%d supplementary groups, expected none", getgroups(0, NULL));
        if (!verdict[0] && getppid() != parent)
            snprintf(verdict, sizeof verdict, "getppid() = %d, expected %d", (int)getppid(), (int)parent);
        if (!verdict[0] && n != 1) snprintf(verdict, sizeof verdict, "read(go) = %zd", n);
        if (!verdict[0]) strcpy(verdict, "PASS");
        if (write(back[1], verdict, VERDICT) != VERDICT) _exit(9);
        _exit(6);
    }
    char c;
    if (read(ready[0], &c, 1) != 1) tp_die("the child did not get ready");

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    if (getuid() != 0 || geteuid() != 0) tp_fail("the parent is no longer root (uid %u euid %u)", getuid(), geteuid());
    if (write(go[1], "g", 1) != 1) tp_fail("write(go): %s", strerror(errno));
    char answer[VERDICT + 1] = {0};
    size_t got = tp_read_full(back[0], answer, VERDICT);
    if (got != VERDICT) tp_fail("child verdict: %zu bytes", got);
    else if (strcmp(answer, "PASS") != 0) tp_fail("child: %s", answer);
    int status;
    pid_t r;
    while ((r = waitpid(child, &status, 0)) < 0 && errno == EINTR) {}
    if (r != child || !WIFEXITED(status) || WEXITSTATUS(status) != 6) tp_fail("waitpid(%d) = %d status 0x%x", (int)child, (int)r, status);
    tp_finish();
}

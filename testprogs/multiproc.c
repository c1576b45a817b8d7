/*
 * multiproc: a tree of processes joined by pipes (see README.md).
 *
 *   root (session leader)
 *   +- c1            same group as the root
 *   |  +- g1         its own group
 *   +- c2            its own group
 *   |  +- g2         c2's group
 *   |  +- g3         joined the root's group (setpgid to a group led by a non-ancestor)
 *   +- c3            its own session
 *      +- g4         c3's session and group
 *
 * Every process but the root has a "go" pipe (empty: it blocks in read() on it) and a data pipe
 * from its parent holding unread bytes, and a verdict pipe to its parent. All of them write one
 * byte into a ready pipe shared by the whole tree. On SIGTERM the root sends "go" down the tree;
 * each process checks getpid, getppid, getsid, getpgid against what it recorded, reads its data,
 * sends "go" to its children, collects their verdicts and wait() results (pid and exit status
 * 10 + index), reports its own verdict to its parent and exits with 10 + its index. The root
 * reports PASS only if every process of the tree passed. With --socket-in-child, g3 also holds
 * a UDP socket bound to 127.0.0.1 with a datagram to itself waiting unread (a resource cryo
 * refuses), for the refusal tests.
 */
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum mode { INHERIT, OWN_GROUP, ROOT_GROUP, OWN_SESSION };

struct node {
    const char *name;
    int parent;
    enum mode mode;
};

static const struct node nodes[] = {
    {"root", -1, OWN_SESSION},
    {"c1", 0, INHERIT},
    {"g1", 1, OWN_GROUP},
    {"c2", 0, OWN_GROUP},
    {"g2", 3, INHERIT},
    {"g3", 3, ROOT_GROUP},
    {"c3", 0, OWN_SESSION},
    {"g4", 6, INHERIT},
};
#define NODES ((int)(sizeof nodes / sizeof nodes[0]))
#define VERDICT 256

static int go_pipe[NODES][2], data_pipe[NODES][2], verdict_pipe[NODES][2], ready_pipe[2];
static pid_t pids[NODES];          /* as known to the parent */
static pid_t root_pid;
static uint64_t seed;
static int socket_in_g3; /* --socket-in-child: g3 holds a UDP socket with a datagram waiting (cryo refuses the tree) */

/* What each process recorded about itself at setup. */
static pid_t my_pid, my_ppid, my_sid, my_pgid;
static int me;
static char my_verdict[VERDICT];

static void fail(const char *fmt, ...) TP_PRINTF(1, 2);
static void fail(const char *fmt, ...)
{
    if (my_verdict[0] && strncmp(my_verdict, "FAIL", 4) == 0) return;
    char buf[VERDICT - 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    snprintf(my_verdict, sizeof my_verdict, "FAIL: %s: %s", nodes[me].name, buf);
    tp_log("%s", my_verdict);
}

static size_t data_len(int i) { return 1000 * (size_t)i + 7; }

static void record_identity(void)
{
    my_pid = getpid();
    my_ppid = getppid();
    my_sid = getsid(0);
    my_pgid = getpgid(0);
}

static void check_identity(void)
{
    if (getpid() != my_pid) fail("getpid() = %d, was %d", (int)getpid(), (int)my_pid);
    if (me != 0 && getppid() != my_ppid) fail("getppid() = %d, was %d", (int)getppid(), (int)my_ppid);
    if (getsid(0) != my_sid) fail("getsid(0) = %d, was %d", (int)getsid(0), (int)my_sid);
    if (getpgid(0) != my_pgid) fail("getpgid(0) = %d, was %d", (int)getpgid(0), (int)my_pgid);
}

static void spawn_children(void);
static void check_and_collect(void);

/* A descendant after its check: verdict to the parent, exit 10 + index. */
__attribute__((noreturn)) static void child_finish(void)
{
    check_and_collect();
    if (!my_verdict[0]) snprintf(my_verdict, sizeof my_verdict, "PASS");
    char out[VERDICT] = {0};
    memcpy(out, my_verdict, strlen(my_verdict));
    if (write(verdict_pipe[me][1], out, VERDICT) != VERDICT) tp_log("writing the verdict: %s", strerror(errno));
    _exit(10 + me);
}

static void child_main(int i)
{
    me = i;
    switch (nodes[i].mode) {
    case INHERIT: break;
    case OWN_GROUP: if (setpgid(0, 0) < 0) tp_die_errno("%s: setpgid(0, 0)", nodes[i].name); break;
    case ROOT_GROUP: if (setpgid(0, root_pid) < 0) tp_die_errno("%s: setpgid(0, %d)", nodes[i].name, (int)root_pid); break;
    case OWN_SESSION: if (setsid() < 0) tp_die_errno("%s: setsid", nodes[i].name); break;
    }
    record_identity();
    if (socket_in_g3 && i == 5) {
        /* A UDP socket bound to 127.0.0.1 (any free port) with a datagram to itself waiting
         * unread, kept open: cryo refuses it (a datagram's sender cannot be made again). */
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof addr;
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        if (s < 0) tp_die_errno("%s: socket(AF_INET, SOCK_DGRAM)", nodes[i].name);
        if (bind(s, (struct sockaddr *)&addr, sizeof addr) < 0) tp_die_errno("%s: bind 127.0.0.1:0", nodes[i].name);
        if (getsockname(s, (struct sockaddr *)&addr, &len) < 0) tp_die_errno("%s: getsockname", nodes[i].name);
        if (sendto(s, "x", 1, 0, (struct sockaddr *)&addr, sizeof addr) != 1) tp_die_errno("%s: sendto itself", nodes[i].name);
    }
    spawn_children();
    if (write(ready_pipe[1], "r", 1) != 1) tp_die_errno("%s: ready", nodes[i].name);

    char go;
    ssize_t n;
    while ((n = read(go_pipe[i][0], &go, 1)) < 0 && errno == EINTR) {}
    if (n != 1 || go != 'g') fail("read(go) = %zd (%s)", n, n < 0 ? strerror(errno) : "no go byte");
}

/* Forks the children of `me` (each runs child_main and then the check phase). */
static void spawn_children(void)
{
    for (int i = 1; i < NODES; i++) {
        if (nodes[i].parent != me) continue;
        if (pipe(go_pipe[i]) < 0 || pipe(data_pipe[i]) < 0 || pipe(verdict_pipe[i]) < 0) tp_die_errno("pipe");
        pid_t pid = fork();
        if (pid < 0) tp_die_errno("fork");
        if (pid == 0) {
            /* Never outlive the parent (also restored: PR_GET_PDEATHSIG is part of the image). */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            child_main(i);
            child_finish();
        }
        pids[i] = pid;
        char *buf = malloc(data_len(i));
        tp_pattern_fill(buf, data_len(i), seed + (uint64_t)i, 0);
        tp_fill_nonblock(data_pipe[i][1], buf, data_len(i), "data pipe");
        free(buf);
    }
}

/* The check phase of process `me` (after "go" for children, after SIGTERM for the root). */
static void check_and_collect(void)
{
    check_identity();
    if (me != 0) {
        size_t len = data_len(me);
        char *buf = malloc(len + 1);
        size_t got = 0;
        tp_set_nonblock(data_pipe[me][0], 1);
        while (got < len) {
            ssize_t n = read(data_pipe[me][0], buf + got, len + 1 - got);
            if (n <= 0) break;
            got += (size_t)n;
        }
        if (got != len) fail("data pipe held %zu bytes, expected %zu", got, len);
        else if (tp_pattern_check(buf, len, seed + (uint64_t)me, 0) >= 0) fail("data pipe bytes differ at %zd", tp_pattern_check(buf, len, seed + (uint64_t)me, 0));
        free(buf);
    }
    int children = 0;
    for (int i = 1; i < NODES; i++) {
        if (nodes[i].parent != me) continue;
        children++;
        if (write(go_pipe[i][1], "g", 1) != 1) fail("write(go) to %s: %s", nodes[i].name, strerror(errno));
    }
    for (int i = 1; i < NODES; i++) {
        if (nodes[i].parent != me) continue;
        char verdict[VERDICT + 1] = {0};
        size_t got = tp_read_full(verdict_pipe[i][0], verdict, VERDICT);
        if (got != VERDICT) fail("verdict of %s: %zu bytes", nodes[i].name, got);
        else if (strcmp(verdict, "PASS") != 0) fail("%s", verdict);
    }
    for (int k = 0; k < children; k++) {
        int status;
        pid_t pid;
        while ((pid = wait(&status)) < 0 && errno == EINTR) {}
        if (pid < 0) { fail("wait(): %s", strerror(errno)); break; }
        int i = 0;
        for (int j = 1; j < NODES; j++) if (nodes[j].parent == me && pids[j] == pid) i = j;
        if (i == 0) fail("wait() returned pid %d, not a child", (int)pid);
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 10 + i)
            fail("wait() for %s (pid %d): status 0x%x, expected exit %d", nodes[i].name, (int)pid, status, 10 + i);
    }
    if (wait(NULL) != -1 || errno != ECHILD) fail("wait() found more children than expected");
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--socket-in-child] [--seed=N]");
    socket_in_g3 = tp_arg_flag("socket-in-child");
    uint64_t seed_arg = tp_arg_ull("seed", 0, 0, ~0ULL);
    tp_args_done();
    tp_setsid();
    me = 0;
    root_pid = getpid();
    seed = seed_arg ? seed_arg : tp_mix64((uint64_t)root_pid ^ (uint64_t)time(NULL));
    record_identity();
    if (pipe(ready_pipe) < 0) tp_die_errno("pipe");
    spawn_children();
    for (int k = 1; k < NODES; k++) {
        char r;
        if (read(ready_pipe[0], &r, 1) != 1) tp_die_errno("waiting for the tree to be ready");
    }
    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();
    check_and_collect();
    if (my_verdict[0]) tp_fail("%s", my_verdict);
    tp_finish();
}

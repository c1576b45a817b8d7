/*
 * unixconn: named connected Unix sockets, both ends of every connection held by the process
 * tree (see README.md).
 *
 *   unixconn --pidfile=F --outfile=O [--child]
 *
 * Every descriptor above 2 inherited from the parent is closed first, so the descriptors are
 * known. DIR is the outfile's directory (resolved with realpath: the paths below are absolute;
 * a relative --pidfile or --outfile is made absolute first, as the set-up changes directory).
 * All sockets are blocking, none close-on-exec. Data patterns come from a per-run seed (pid,
 * time), one pattern stream per use.
 * - L (SOCK_STREAM) fd 40: bound to the path DIR/srv.PID (a stale socket file of that name is
 *   replaced), listen(8); stays open and listening.
 * - C1: an unnamed client, fd 41, connected to L; the accepted socket fd 42 (its name is
 *   DIR/srv.PID). 1000 bytes written 41 -> 42 and 100 bytes 42 -> 41 wait unread.
 * - C2: a second unnamed client, fd 43, connected to L; accepted fd 44; nothing queued.
 * - C3 (SOCK_SEQPACKET): listener A fd 45 bound to the abstract name "\x00cryo-unixconn-PID"
 *   (its exact length, no trailing NUL), listen(4), stays open; client fd 46 bound first to
 *   the abstract name "\x00cryo-unixconn-client-PID", then connected to A; accepted fd 47.
 *   Messages of 1, 300 and 70000 bytes (distinct patterns) sent 46 -> 47 and one of 5 bytes
 *   47 -> 46 wait unread.
 * - C4 (a relative name): in DIR (chdir), a stream listener bound to the relative path
 *   "rel.PID", listen(1); an unnamed client connects to the relative path and is accepted;
 *   then that listener is closed, the file rel.PID unlinked and the directory changed to "/".
 *   Client fd 48, accepted fd 49 (its name is the relative "rel.PID", whose file is gone).
 *   10 bytes 48 -> 49 wait unread.
 * - C5: a stream client fd 50 bound first to the path DIR/cli.PID (a stale socket file
 *   replaced), then connected to L; accepted fd 51 (its peer name is DIR/cli.PID). Nothing
 *   queued.
 * - C6 (peer closed): an unnamed client connects to L, is accepted as fd 52, writes 500 bytes
 *   and is closed: the 500 bytes, then end of file wait at 52.
 * - --child (after tp_setsid): an unnamed client connected to L and accepted; the accepted end
 *   is the parent's fd 61, the client end fd 60. A forked child closes every descriptor above 2
 *   but 60 and blocks in read(60): "ping" (4 bytes) is answered with "pong" and the child
 *   exits 0; end of file: exit 1. The parent closes 60.
 * For every one of these fds getsockname and getpeername (the bytes and the length, or the
 * error: ENOTCONN for the listeners) are recorded at set-up and compared with what they must be
 * (dies otherwise): listeners and accepted sockets carry the listener's name, unnamed sockets a
 * name of sizeof(sa_family_t) bytes, path names include their trailing NUL, abstract ones not.
 * common.c keeps no descriptor of its own, so the parent holds fds 0-2 (as inherited), 40-52
 * and with --child 61, nothing else.
 * On SIGTERM (SIGPIPE avoided with MSG_NOSIGNAL):
 * - /proc/self/fd lists no descriptor but 0-2, 40-52 (and 61);
 * - every fd: a socket, SO_DOMAIN AF_UNIX, SO_TYPE as set up, SO_ACCEPTCONN 1 on L and A and 0
 *   elsewhere, O_RDWR without O_NONBLOCK or FD_CLOEXEC; getsockname and getpeername equal to
 *   the recorded ones byte for byte (a mismatch shows both escaped, \x00 for a NUL, with their
 *   lengths);
 * - the queued data (FIONREAD first, then recv with MSG_DONTWAIT): 42 reads the 1000 bytes,
 *   41 the 100, 49 the 10, each then EAGAIN; 47 receives the three messages with their lengths
 *   and bytes (recvmsg, no MSG_TRUNC), then EAGAIN; 46 the 5-byte one, then EAGAIN; 52 the 500
 *   bytes, then end of file (0); 43, 44, 48, 50, 51 (and 61) nothing (EAGAIN);
 * - each live pair works: a byte each way on C1, C2, C4, C5, a one-byte message each way on C3
 *   (each within 3 s, poll);
 * - L and A each take a new connection: nothing waits before; a non-blocking client of the
 *   listener's type connects to its recorded name, the listener has it within 3 s (poll) and
 *   accepts it, the accepted socket's getsockname and the client's getpeername are the
 *   listener's name, a byte each way; then nothing more waits and SO_ACCEPTCONN is still 1;
 * - C3's client name is still taken (a new socket's bind to it fails with EADDRINUSE): the
 *   client holds it as a bound socket, which a restore must reproduce (the accepted end only
 *   shows A's name and holds nothing);
 * - --child: "ping" written on 61 is answered with "pong" within 3 s (poll), the child exits 0
 *   (waitpid), and 61 then reads end of file;
 * - DIR/srv.PID and DIR/cli.PID are removed at the end (and at a set-up failure; DIR/rel.PID
 *   too if the set-up failed before unlinking it).
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FD_L 40      /* stream listener, DIR/srv.PID */
#define FD_C1_CLI 41 /* C1: unnamed client of L, 100 bytes waiting */
#define FD_C1_ACC 42 /* C1: accepted by L, 1000 bytes waiting */
#define FD_C2_CLI 43 /* C2: unnamed client of L */
#define FD_C2_ACC 44 /* C2: accepted by L */
#define FD_A 45      /* seqpacket listener, \0cryo-unixconn-PID */
#define FD_C3_CLI 46 /* C3: client bound to \0cryo-unixconn-client-PID, a 5-byte message waiting */
#define FD_C3_ACC 47 /* C3: accepted by A, messages of 1, 300, 70000 bytes waiting */
#define FD_C4_CLI 48 /* C4: unnamed client of the (closed) relative listener */
#define FD_C4_ACC 49 /* C4: accepted, named "rel.PID", 10 bytes waiting */
#define FD_C5_CLI 50 /* C5: client bound to DIR/cli.PID */
#define FD_C5_ACC 51 /* C5: accepted by L */
#define FD_C6_ACC 52 /* C6: accepted by L, 500 bytes then end of file */
#define FD_CHILD 60  /* --child: the child's end (unnamed client of L) */
#define FD_PARENT 61 /* --child: the parent's end (accepted by L) */

#define L_BACKLOG 8
#define A_BACKLOG 4
#define REL_BACKLOG 1
#define C1_FWD 1000
#define C1_BACK 100
#define C3_BACK 5
#define C4_LEN 10
#define C6_LEN 500
#define WAIT_MS 3000 /* a connection or a byte must arrive within this */

static const size_t c3_len[3] = {1, 300, 70000};

/* One stream of the pattern per use. */
enum { P_C1_FWD = 1, P_C1_BACK, P_C3_M1, P_C3_M2, P_C3_M3, P_C3_BACK, P_C4, P_C6 };
static const int c3_pat[3] = {P_C3_M1, P_C3_M2, P_C3_M3};

static uint64_t g_seed;
static uint64_t seed_of(int which) { return tp_mix64(g_seed ^ (uint64_t)which * 0x9e3779b97f4a7c15ULL); }

static unsigned char g_buf[80000]; /* more than the largest message */

/* ------------------------------------------------------------------ */
/* names                                                                */

/* What getsockname or getpeername gave: a name of len bytes, or an error. */
struct name {
    int err; /* 0, or the errno of the call */
    socklen_t len;
    struct sockaddr_un a;
};

/* The names the set-up made (what the sockets must report) */
static struct name n_srv, n_cli, n_rel, n_abs_a, n_abs_cli, n_unnamed, n_notconn;

/* A name for messages: its sun_path bytes in quotes (a NUL and other unprintable bytes as
 * \xNN, always two digits), its length; the family too if it is not AF_UNIX; or the error. */
static const char *name_str(const struct name *n, char *buf, size_t cap)
{
    size_t pos = 0;
#define PUT(...) pos += (size_t)snprintf(buf + pos, pos < cap ? cap - pos : 0, __VA_ARGS__)
    if (n->err) {
        PUT("error %s (errno %d)", strerror(n->err), n->err);
        return buf;
    }
    if (n->len < offsetof(struct sockaddr_un, sun_path)) {
        PUT("(%u bytes: no name)", (unsigned)n->len);
        return buf;
    }
    if (n->a.sun_family != AF_UNIX)
        PUT("family %d ", n->a.sun_family);
    size_t k = n->len - offsetof(struct sockaddr_un, sun_path);
    if (k > sizeof n->a.sun_path)
        k = sizeof n->a.sun_path;
    PUT("\"");
    for (size_t i = 0; i < k; i++) {
        unsigned char c = (unsigned char)n->a.sun_path[i];
        if (c == '"' || c == '\\')
            PUT("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            PUT("\\x%02x", c);
        else
            PUT("%c", c);
    }
    PUT("\" (%u bytes)", (unsigned)n->len);
#undef PUT
    return buf;
}

static int same_name(const struct name *x, const struct name *y)
{
    if (x->err || y->err)
        return x->err == y->err;
    return x->len == y->len && memcmp(&x->a, &y->a, x->len) == 0;
}

/* getsockname (peer 0) or getpeername (peer 1) of fd. */
static void get_name(int fd, int peer, struct name *n)
{
    memset(n, 0, sizeof *n);
    n->len = sizeof n->a;
    int r = peer ? getpeername(fd, (struct sockaddr *)&n->a, &n->len)
                 : getsockname(fd, (struct sockaddr *)&n->a, &n->len);
    if (r != 0) {
        n->err = errno;
        n->len = 0;
    } else if (n->len > sizeof n->a) {
        n->err = EOVERFLOW; /* cannot happen for AF_UNIX: a name is at most a sockaddr_un */
    }
}

/* A path name as bind() is given it and getsockname gives it back: the path and its NUL. */
static void path_name(struct name *n, const char *path)
{
    memset(n, 0, sizeof *n);
    n->a.sun_family = AF_UNIX;
    size_t l = strlen(path);
    if (l >= sizeof n->a.sun_path)
        tp_die("the path %s is %zu bytes long, a Unix socket name holds at most %zu", path, l,
               sizeof n->a.sun_path - 1);
    memcpy(n->a.sun_path, path, l + 1);
    n->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + l + 1);
}

/* An abstract name: a NUL, then rest, its exact length (no trailing NUL). */
static void abstract_name(struct name *n, const char *rest)
{
    memset(n, 0, sizeof *n);
    n->a.sun_family = AF_UNIX;
    size_t l = strlen(rest);
    memcpy(n->a.sun_path + 1, rest, l);
    n->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + l);
}

/* ------------------------------------------------------------------ */
/* the descriptors                                                      */

struct ent {
    int fd;
    const char *label;
    int type;
    const char *type_name;
    int listening;
    const struct name *want_self, *want_peer; /* what the set-up made */
    struct name self, peer;                   /* recorded at set-up */
};

static struct ent g_e[] = {
    {FD_L, "L (listener)", SOCK_STREAM, "SOCK_STREAM", 1, &n_srv, &n_notconn, {0}, {0}},
    {FD_C1_CLI, "C1 client", SOCK_STREAM, "SOCK_STREAM", 0, &n_unnamed, &n_srv, {0}, {0}},
    {FD_C1_ACC, "C1 accepted", SOCK_STREAM, "SOCK_STREAM", 0, &n_srv, &n_unnamed, {0}, {0}},
    {FD_C2_CLI, "C2 client", SOCK_STREAM, "SOCK_STREAM", 0, &n_unnamed, &n_srv, {0}, {0}},
    {FD_C2_ACC, "C2 accepted", SOCK_STREAM, "SOCK_STREAM", 0, &n_srv, &n_unnamed, {0}, {0}},
    {FD_A, "A (listener)", SOCK_SEQPACKET, "SOCK_SEQPACKET", 1, &n_abs_a, &n_notconn, {0}, {0}},
    {FD_C3_CLI, "C3 client", SOCK_SEQPACKET, "SOCK_SEQPACKET", 0, &n_abs_cli, &n_abs_a, {0}, {0}},
    {FD_C3_ACC, "C3 accepted", SOCK_SEQPACKET, "SOCK_SEQPACKET", 0, &n_abs_a, &n_abs_cli, {0}, {0}},
    {FD_C4_CLI, "C4 client", SOCK_STREAM, "SOCK_STREAM", 0, &n_unnamed, &n_rel, {0}, {0}},
    {FD_C4_ACC, "C4 accepted", SOCK_STREAM, "SOCK_STREAM", 0, &n_rel, &n_unnamed, {0}, {0}},
    {FD_C5_CLI, "C5 client", SOCK_STREAM, "SOCK_STREAM", 0, &n_cli, &n_srv, {0}, {0}},
    {FD_C5_ACC, "C5 accepted", SOCK_STREAM, "SOCK_STREAM", 0, &n_srv, &n_cli, {0}, {0}},
    {FD_C6_ACC, "C6 accepted (peer closed)", SOCK_STREAM, "SOCK_STREAM", 0, &n_srv, &n_unnamed, {0}, {0}},
    /* last: only with --child */
    {FD_PARENT, "child connection (parent's end)", SOCK_STREAM, "SOCK_STREAM", 0, &n_srv, &n_unnamed, {0}, {0}},
};
static int g_ne; /* entries in use: all, or all but the last without --child */

static struct ent *ent_of(int fd)
{
    for (int i = 0; i < g_ne; i++)
        if (g_e[i].fd == fd)
            return &g_e[i];
    tp_die("internal: no entry for fd %d", fd);
}

static int g_child;                                  /* --child */
static pid_t g_child_pid = -1;
static char g_dir[PATH_MAX];                         /* DIR */
static char g_srv[PATH_MAX + 32], g_cli[PATH_MAX + 32]; /* DIR/srv.PID, DIR/cli.PID */
static char g_rel_abs[PATH_MAX + 32];                /* DIR/rel.PID (for the clean-up) */
static char g_rel[32];                               /* rel.PID */
static pid_t g_owner;                                /* the process that removes the files */
static int g_rm_srv, g_rm_cli, g_rm_rel;

static void clean_up_at_exit(void)
{
    if (getpid() != g_owner)
        return;
    if (g_rm_srv)
        unlink(g_srv);
    if (g_rm_cli)
        unlink(g_cli);
    if (g_rm_rel)
        unlink(g_rel_abs);
}

/* ------------------------------------------------------------------ */
/* set-up                                                               */

/* p made absolute (against the current directory) if it is relative. */
static const char *absolute(const char *p)
{
    if (p[0] == '/')
        return p;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        tp_die_errno("getcwd (to make %s absolute)", p);
    size_t l = strlen(cwd) + 1 + strlen(p) + 1;
    char *a = malloc(l);
    if (!a)
        tp_die("out of memory");
    snprintf(a, l, "%s/%s", cwd, p);
    return a;
}

/* A stale socket file at path is removed; any other file there is an error. */
static void remove_stale(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (!S_ISSOCK(st.st_mode))
        tp_die("%s exists and is not a socket (mode 0%o)", path, st.st_mode);
    if (unlink(path) != 0)
        tp_die_errno("unlink(%s) (a stale socket file)", path);
}

static void put_at(int fd, int target, const char *what)
{
    if (tp_move_fd(fd, target, 0) != target)
        tp_die_errno("%s: move fd %d to %d", what, fd, target);
}

static int new_socket(int type, const char *what)
{
    int fd = socket(AF_UNIX, type, 0);
    if (fd < 0)
        tp_die_errno("%s: socket(AF_UNIX, %s)", what, type == SOCK_STREAM ? "SOCK_STREAM" : "SOCK_SEQPACKET");
    return fd;
}

static void bind_to(int fd, const struct name *n, const char *what)
{
    if (bind(fd, (const struct sockaddr *)&n->a, n->len) != 0) {
        char s[512];
        tp_die_errno("%s: bind(%d, %s)", what, fd, name_str(n, s, sizeof s));
    }
}

static void connect_to(int fd, const struct name *n, const char *what)
{
    int r;
    while ((r = connect(fd, (const struct sockaddr *)&n->a, n->len)) != 0 && errno == EINTR) {}
    if (r != 0) {
        char s[512];
        tp_die_errno("%s: connect(%d, %s)", what, fd, name_str(n, s, sizeof s));
    }
}

/* The connection waiting at listener lfd (within WAIT_MS), accepted blocking. */
static int accept_setup(int lfd, const char *what)
{
    if (!tp_wait_readable(lfd, WAIT_MS))
        tp_die("%s: no connection to accept on fd %d within %d ms (poll)", what, lfd, WAIT_MS);
    int s;
    while ((s = accept4(lfd, NULL, NULL, 0)) < 0 && errno == EINTR) {}
    if (s < 0)
        tp_die_errno("%s: accept4(%d)", what, lfd);
    return s;
}

/* Send len bytes of stream `which` as one message (or stream write) without blocking. */
static void send_setup(int fd, size_t len, int which, const char *what)
{
    tp_pattern_fill(g_buf, len, seed_of(which), 0);
    size_t done = 0;
    while (done < len) {
        ssize_t w = send(fd, g_buf + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            tp_die_errno("%s: send(%d) after %zu of %zu bytes", what, fd, done, len);
        done += (size_t)w;
    }
}

/* A new unnamed stream client connected to L (a blocking socket) and its accepted socket. */
static void stream_pair_on_l(int *cli, int *acc, const char *what)
{
    *cli = new_socket(SOCK_STREAM, what);
    connect_to(*cli, &n_srv, what);
    *acc = accept_setup(FD_L, what);
}

static void set_up_l(void)
{
    remove_stale(g_srv);
    int fd = new_socket(SOCK_STREAM, "L");
    bind_to(fd, &n_srv, "L");
    g_rm_srv = 1;
    if (listen(fd, L_BACKLOG) != 0)
        tp_die_errno("L: listen(%d)", L_BACKLOG);
    put_at(fd, FD_L, "L");
}

static void set_up_c1_c2(void)
{
    int c, a;
    stream_pair_on_l(&c, &a, "C1");
    send_setup(c, C1_FWD, P_C1_FWD, "C1 41 -> 42");
    send_setup(a, C1_BACK, P_C1_BACK, "C1 42 -> 41");
    put_at(c, FD_C1_CLI, "C1 client");
    put_at(a, FD_C1_ACC, "C1 accepted");
    stream_pair_on_l(&c, &a, "C2");
    put_at(c, FD_C2_CLI, "C2 client");
    put_at(a, FD_C2_ACC, "C2 accepted");
}

static void set_up_c3(void)
{
    int l = new_socket(SOCK_SEQPACKET, "A");
    bind_to(l, &n_abs_a, "A");
    if (listen(l, A_BACKLOG) != 0)
        tp_die_errno("A: listen(%d)", A_BACKLOG);
    put_at(l, FD_A, "A");
    int c = new_socket(SOCK_SEQPACKET, "C3 client");
    bind_to(c, &n_abs_cli, "C3 client");
    connect_to(c, &n_abs_a, "C3 client");
    int a = accept_setup(FD_A, "C3");
    for (int i = 0; i < 3; i++) {
        char what[64];
        snprintf(what, sizeof what, "C3 46 -> 47 (message of %zu bytes)", c3_len[i]);
        tp_pattern_fill(g_buf, c3_len[i], seed_of(c3_pat[i]), 0);
        ssize_t w;
        while ((w = send(c, g_buf, c3_len[i], MSG_DONTWAIT | MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
        if (w < 0)
            tp_die_errno("%s: send(%d)", what, c);
        if ((size_t)w != c3_len[i])
            tp_die("%s: send(%d) sent %zd", what, c, w);
    }
    send_setup(a, C3_BACK, P_C3_BACK, "C3 47 -> 46");
    put_at(c, FD_C3_CLI, "C3 client");
    put_at(a, FD_C3_ACC, "C3 accepted");
}

static void set_up_c4(void)
{
    if (chdir(g_dir) != 0)
        tp_die_errno("C4: chdir(%s)", g_dir);
    remove_stale(g_rel);
    int l = new_socket(SOCK_STREAM, "C4 listener");
    bind_to(l, &n_rel, "C4 listener");
    g_rm_rel = 1;
    if (listen(l, REL_BACKLOG) != 0)
        tp_die_errno("C4 listener: listen(%d)", REL_BACKLOG);
    int c = new_socket(SOCK_STREAM, "C4 client");
    connect_to(c, &n_rel, "C4 client");
    int a = accept_setup(l, "C4");
    if (close(l) != 0)
        tp_die_errno("C4: close(%d) (the relative listener)", l);
    if (unlink(g_rel) != 0)
        tp_die_errno("C4: unlink(%s) in %s", g_rel, g_dir);
    g_rm_rel = 0;
    if (chdir("/") != 0)
        tp_die_errno("C4: chdir(/)");
    send_setup(c, C4_LEN, P_C4, "C4 48 -> 49");
    put_at(c, FD_C4_CLI, "C4 client");
    put_at(a, FD_C4_ACC, "C4 accepted");
}

static void set_up_c5(void)
{
    remove_stale(g_cli);
    int c = new_socket(SOCK_STREAM, "C5 client");
    bind_to(c, &n_cli, "C5 client");
    g_rm_cli = 1;
    connect_to(c, &n_srv, "C5 client");
    int a = accept_setup(FD_L, "C5");
    put_at(c, FD_C5_CLI, "C5 client");
    put_at(a, FD_C5_ACC, "C5 accepted");
}

static void set_up_c6(void)
{
    int c, a;
    stream_pair_on_l(&c, &a, "C6");
    send_setup(c, C6_LEN, P_C6, "C6 client -> 52");
    if (close(c) != 0)
        tp_die_errno("C6: close(%d) (the client)", c);
    put_at(a, FD_C6_ACC, "C6 accepted");
}

/* The child of --child: "ping" is answered with "pong", then exit 0; end of file: exit 1. */
__attribute__((noreturn)) static void child_main(void)
{
    if (close_range(3, FD_CHILD - 1, 0) != 0 || close_range(FD_CHILD + 1, ~0U, 0) != 0)
        _exit(5);
    char b[4];
    size_t got = tp_read_full(FD_CHILD, b, sizeof b);
    if (got == 0)
        _exit(1);
    if (got != sizeof b)
        _exit(3);
    if (memcmp(b, "ping", 4) != 0)
        _exit(2);
    ssize_t w;
    while ((w = send(FD_CHILD, "pong", 4, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
    _exit(w == 4 ? 0 : 4);
}

static void set_up_child(void)
{
    int c, a;
    stream_pair_on_l(&c, &a, "child connection");
    put_at(a, FD_PARENT, "child connection (parent's end)");
    put_at(c, FD_CHILD, "child connection (child's end)");
    struct name self, peer;
    get_name(FD_CHILD, 0, &self);
    get_name(FD_CHILD, 1, &peer);
    if (!same_name(&self, &n_unnamed) || !same_name(&peer, &n_srv)) {
        char s1[512], s2[512];
        tp_die("child connection: fd %d has the name %s and the peer %s, expected unnamed and L's", FD_CHILD,
               name_str(&self, s1, sizeof s1), name_str(&peer, s2, sizeof s2));
    }
    g_child_pid = fork();
    if (g_child_pid < 0)
        tp_die_errno("fork");
    if (g_child_pid == 0)
        child_main();
    if (close(FD_CHILD) != 0)
        tp_die_errno("close(%d) (the child's end) in the parent", FD_CHILD);
}

/* Every fd's names recorded, and compared with what the set-up made. */
static void record_names(void)
{
    for (int i = 0; i < g_ne; i++) {
        struct ent *e = &g_e[i];
        get_name(e->fd, 0, &e->self);
        get_name(e->fd, 1, &e->peer);
        char s1[512], s2[512];
        if (!same_name(&e->self, e->want_self))
            tp_die("%s (fd %d): getsockname gives %s, expected %s", e->label, e->fd,
                   name_str(&e->self, s1, sizeof s1), name_str(e->want_self, s2, sizeof s2));
        if (!same_name(&e->peer, e->want_peer))
            tp_die("%s (fd %d): getpeername gives %s, expected %s", e->label, e->fd,
                   name_str(&e->peer, s1, sizeof s1), name_str(e->want_peer, s2, sizeof s2));
    }
}

/* ------------------------------------------------------------------ */
/* checks                                                               */

/* Type, options, flags and both names of one descriptor; 0 if it is a socket at all. */
/* An abstract name is taken by the socket bound to it (not by the sockets accepted under a
 * listener's name): bind() of a new socket to it must fail with EADDRINUSE. */
static void check_name_held(const struct name *n, const char *what)
{
    char shown[512];
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (fd < 0) {
        tp_fail("%s: socket: %s", what, strerror(errno));
        return;
    }
    int bound = bind(fd, (const struct sockaddr *)&n->a, n->len) == 0;
    int err = errno;
    close(fd);
    if (bound)
        tp_fail("%s %s is free (a new socket could bind it): its socket no longer holds it", what, name_str(n, shown, sizeof shown));
    else if (err != EADDRINUSE)
        tp_fail("%s %s: bind of a new socket failed with %s, not EADDRINUSE", what, name_str(n, shown, sizeof shown), strerror(err));
}

static int check_ent(const struct ent *e)
{
    char what[64];
    snprintf(what, sizeof what, "%s (fd %d)", e->label, e->fd);
    struct stat st;
    if (fstat(e->fd, &st) != 0) {
        tp_fail("%s: fstat: %s (not open)", what, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        char t[PATH_MAX];
        tp_fd_target(e->fd, t, sizeof t);
        tp_fail("%s: not a socket (mode 0%o, %s)", what, st.st_mode, t);
        return -1;
    }
    int v;
    if (tp_sockopt_int(e->fd, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN", what, &v) == 0 && v != AF_UNIX)
        tp_fail("%s: SO_DOMAIN is %d, expected %d (AF_UNIX)", what, v, AF_UNIX);
    if (tp_sockopt_int(e->fd, SOL_SOCKET, SO_TYPE, "SO_TYPE", what, &v) == 0 && v != e->type)
        tp_fail("%s: SO_TYPE is %d, expected %d (%s)", what, v, e->type, e->type_name);
    if (tp_sockopt_int(e->fd, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN", what, &v) == 0 && v != e->listening)
        tp_fail("%s: SO_ACCEPTCONN is %d, expected %d (%s)", what, v, e->listening,
                e->listening ? "listening" : "connected");

    int fdfl = fcntl(e->fd, F_GETFD), fl = fcntl(e->fd, F_GETFL);
    if (fdfl < 0 || fl < 0)
        tp_fail("%s: fcntl: %s", what, strerror(errno));
    else {
        if (fdfl & FD_CLOEXEC)
            tp_fail("%s: F_GETFD 0x%x, expected no FD_CLOEXEC", what, fdfl);
        if (fl & O_NONBLOCK)
            tp_fail("%s: F_GETFL 0%o, expected no O_NONBLOCK (blocking)", what, fl);
        if ((fl & O_ACCMODE) != O_RDWR)
            tp_fail("%s: access mode 0%o, expected O_RDWR", what, fl & O_ACCMODE);
    }

    struct name n;
    char s1[512], s2[512];
    get_name(e->fd, 0, &n);
    if (!same_name(&n, &e->self))
        tp_fail("%s: getsockname gives %s, expected %s", what, name_str(&n, s1, sizeof s1),
                name_str(&e->self, s2, sizeof s2));
    get_name(e->fd, 1, &n);
    if (!same_name(&n, &e->peer))
        tp_fail("%s: getpeername gives %s, expected %s", what, name_str(&n, s1, sizeof s1),
                name_str(&e->peer, s2, sizeof s2));
    return 0;
}

/* recv(MSG_DONTWAIT) retrying on EINTR. */
static ssize_t recv_nb(int fd, void *buf, size_t len)
{
    ssize_t r;
    while ((r = recv(fd, buf, len, MSG_DONTWAIT)) < 0 && errno == EINTR) {}
    return r;
}

/* FIONREAD (the bytes queued, for stream and seqpacket sockets alike) must be want. */
static void check_queued(int fd, size_t want, const char *what)
{
    int q = -1;
    if (ioctl(fd, FIONREAD, &q) != 0)
        tp_fail("%s: ioctl(%d, FIONREAD): %s", what, fd, strerror(errno));
    else if ((size_t)q != want)
        tp_fail("%s: %d bytes queued at fd %d (FIONREAD), expected %zu", what, q, fd, want);
}

static void report_mismatch(const unsigned char *got, size_t len, int which, const char *what)
{
    ssize_t bad = tp_pattern_check(got, len, seed_of(which), 0);
    if (bad >= 0)
        tp_fail("%s: byte %zd is 0x%02x, expected 0x%02x", what, bad, got[bad],
                tp_pattern_byte(seed_of(which), (uint64_t)bad));
}

/* len bytes of stream `which` queued at a stream socket, then EAGAIN or end of file. */
static void check_stream(int fd, size_t len, int which, int expect_eof, const char *what)
{
    check_queued(fd, len, what);
    size_t got = 0;
    while (got < len) {
        ssize_t r = recv_nb(fd, g_buf + got, len - got);
        if (r < 0) {
            tp_fail("%s: recv(%d) after %zu of %zu bytes: %s", what, fd, got, len,
                    errno == EAGAIN ? "EAGAIN (no more data queued)" : strerror(errno));
            break;
        }
        if (r == 0) {
            tp_fail("%s: end of file on fd %d after %zu of %zu bytes", what, fd, got, len);
            break;
        }
        got += (size_t)r;
    }
    report_mismatch(g_buf, got, which, what);
    if (got == len)
        tp_check_nothing_more(fd, expect_eof, what);
}

/* The messages (lengths len[i], streams which[i]) queued at a seqpacket socket, each whole
 * (recvmsg, no MSG_TRUNC), then EAGAIN. */
static void check_messages(int fd, int n, const size_t *len, const int *which, const char *what)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += len[i];
    check_queued(fd, total, what);
    for (int i = 0; i < n; i++) {
        char w[128];
        snprintf(w, sizeof w, "%s, message %d of %d (%zu bytes)", what, i + 1, n, len[i]);
        struct iovec io = {.iov_base = g_buf, .iov_len = sizeof g_buf};
        struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1};
        ssize_t r;
        while ((r = recvmsg(fd, &m, MSG_DONTWAIT)) < 0 && errno == EINTR) {}
        if (r < 0) {
            tp_fail("%s: recvmsg(%d): %s", w, fd, errno == EAGAIN ? "EAGAIN (nothing queued)" : strerror(errno));
            return;
        }
        if (m.msg_flags & MSG_TRUNC) {
            tp_fail("%s: recvmsg(%d) gave %zd bytes with MSG_TRUNC (a message longer than %zu bytes)", w, fd, r,
                    sizeof g_buf);
            return;
        }
        if ((size_t)r != len[i]) {
            tp_fail("%s: recvmsg(%d) gave a message of %zd bytes", w, fd, r);
            return;
        }
        report_mismatch(g_buf, len[i], which[i], w);
    }
    tp_check_nothing_more(fd, 0, what);
}

/* One byte (a one-byte message on seqpacket) from wfd to rfd within WAIT_MS. */
static void check_byte(int wfd, int rfd, unsigned char c, const char *what)
{
    ssize_t w;
    while ((w = send(wfd, &c, 1, MSG_DONTWAIT | MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
    if (w != 1) {
        tp_fail("%s: send of one byte on fd %d (to fd %d) gave %zd (%s)", what, wfd, rfd, w,
                w < 0 ? strerror(errno) : "short");
        return;
    }
    if (!tp_wait_readable(rfd, WAIT_MS)) {
        tp_fail("%s: the byte sent on fd %d did not arrive at fd %d within %d ms", what, wfd, rfd, WAIT_MS);
        return;
    }
    unsigned char b[16] = {0};
    struct iovec io = {.iov_base = b, .iov_len = sizeof b};
    struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1};
    ssize_t r;
    while ((r = recvmsg(rfd, &m, MSG_DONTWAIT)) < 0 && errno == EINTR) {}
    if (r != 1 || (m.msg_flags & MSG_TRUNC))
        tp_fail("%s: recvmsg(%d) of the byte sent on fd %d gave %zd (%s)", what, rfd, wfd, r,
                r < 0 ? strerror(errno) : r == 0 ? "end of file" : "more");
    else if (b[0] != c)
        tp_fail("%s: the byte sent on fd %d arrived at fd %d as 0x%02x, expected 0x%02x", what, wfd, rfd, b[0], c);
}

static void check_pair_works(int cli, int acc, unsigned char c, const char *what)
{
    check_byte(cli, acc, c, what);
    check_byte(acc, cli, (unsigned char)(c ^ 0xff), what);
}

static void check_nothing_waits(const struct ent *l, const char *when)
{
    struct pollfd p = {.fd = l->fd, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, 0)) < 0 && errno == EINTR) {}
    if (r < 0)
        tp_fail("%s (fd %d): poll: %s", l->label, l->fd, strerror(errno));
    else if (r > 0 && (p.revents & POLLIN))
        tp_fail("%s (fd %d): %s a connection waits to be accepted (poll revents 0x%x)", l->label, l->fd, when,
                p.revents);
}

/* A new connection to the listener's recorded name, accepted, a byte each way. */
static void check_new_connection(const struct ent *l, unsigned char c)
{
    char what[64];
    snprintf(what, sizeof what, "%s (fd %d): a new connection", l->label, l->fd);
    check_nothing_waits(l, "before the new connection");
    int cl = socket(AF_UNIX, l->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (cl < 0) {
        tp_fail("%s: socket(AF_UNIX, %s): %s", what, l->type_name, strerror(errno));
        return;
    }
    char s1[512], s2[512];
    int r;
    while ((r = connect(cl, (const struct sockaddr *)&l->self.a, l->self.len)) < 0 && errno == EINTR) {}
    if (r != 0) {
        tp_fail("%s: connect to %s: %s", what, name_str(&l->self, s1, sizeof s1), strerror(errno));
        close(cl);
        return;
    }
    if (!tp_wait_readable(l->fd, WAIT_MS)) {
        tp_fail("%s: no connection to accept on fd %d within %d ms (poll)", what, l->fd, WAIT_MS);
        close(cl);
        return;
    }
    int s;
    while ((s = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) < 0 && errno == EINTR) {}
    if (s < 0) {
        tp_fail("%s: accept4(%d): %s", what, l->fd, strerror(errno));
        close(cl);
        return;
    }
    struct name n;
    get_name(s, 0, &n);
    if (!same_name(&n, &l->self))
        tp_fail("%s: the accepted socket's getsockname gives %s, expected the listener's %s", what,
                name_str(&n, s1, sizeof s1), name_str(&l->self, s2, sizeof s2));
    get_name(cl, 1, &n);
    if (!same_name(&n, &l->self))
        tp_fail("%s: the client's getpeername gives %s, expected the listener's %s", what,
                name_str(&n, s1, sizeof s1), name_str(&l->self, s2, sizeof s2));
    check_pair_works(cl, s, c, what);
    close(s);
    close(cl);
    check_nothing_waits(l, "after the new connection");
    int v;
    if (tp_sockopt_int(l->fd, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN", what, &v) == 0 && v != 1)
        tp_fail("%s: SO_ACCEPTCONN is %d after the accept, expected 1", l->label, v);
}

static void check_child(void)
{
    const char *what = "--child: the child's connection (fd 61)";
    ssize_t w;
    while ((w = send(FD_PARENT, "ping", 4, MSG_DONTWAIT | MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
    if (w != 4)
        tp_fail("%s: send of \"ping\" gave %zd (%s)", what, w, w < 0 ? strerror(errno) : "short");
    else {
        char b[8] = {0};
        size_t got = 0;
        while (got < 4) {
            if (!tp_wait_readable(FD_PARENT, WAIT_MS)) {
                tp_fail("%s: no answer (%zu of 4 bytes) within %d ms", what, got, WAIT_MS);
                break;
            }
            ssize_t r = recv_nb(FD_PARENT, b + got, 4 - got);
            if (r <= 0) {
                tp_fail("%s: after %zu bytes of the answer recv gave %zd (%s)", what, got, r,
                        r < 0 ? strerror(errno) : "end of file");
                break;
            }
            got += (size_t)r;
        }
        if (got == 4 && memcmp(b, "pong", 4) != 0)
            tp_fail("%s: the child answered \"%.4s\", expected \"pong\"", what, b);
    }
    int status = 0;
    pid_t r;
    while ((r = waitpid(g_child_pid, &status, 0)) < 0 && errno == EINTR) {}
    if (r != g_child_pid)
        tp_fail("waitpid(%d): %s", (int)g_child_pid, r < 0 ? strerror(errno) : "another pid");
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        tp_fail("the child ended with status 0x%x, expected exit 0", status);
    else if (tp_wait_readable(FD_PARENT, WAIT_MS))
        tp_check_nothing_more(FD_PARENT, 1, "--child: fd 61 once the child has exited");
    else
        tp_fail("--child: fd 61 shows no end of file within %d ms of the child's exit", WAIT_MS);
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--child]");
    g_child = tp_arg_flag("child");
    tp_args_done();

    /* Deterministic descriptors: nothing inherited above 2. */
    if (close_range(3, ~0U, 0) != 0)
        tp_die_errno("close_range(3, ~0U)");
    if (g_child)
        tp_setsid();
    g_ne = (int)(sizeof g_e / sizeof g_e[0]) - (g_child ? 0 : 1);
    g_seed = tp_mix64((uint64_t)getpid() ^ ((uint64_t)time(NULL) << 20));

    /* The set-up changes directory: pidfile and outfile by absolute paths. */
    tp_pidfile = absolute(tp_pidfile);
    tp_outfile = absolute(tp_outfile);
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", tp_outfile);
    if (!realpath(dirname(tmp), g_dir))
        tp_die_errno("realpath of the outfile's directory (outfile %s)", tp_outfile);
    int pid = (int)getpid();
    snprintf(g_srv, sizeof g_srv, "%s/srv.%d", g_dir, pid);
    snprintf(g_cli, sizeof g_cli, "%s/cli.%d", g_dir, pid);
    snprintf(g_rel_abs, sizeof g_rel_abs, "%s/rel.%d", g_dir, pid);
    snprintf(g_rel, sizeof g_rel, "rel.%d", pid);
    char rest[64];
    path_name(&n_srv, g_srv);
    path_name(&n_cli, g_cli);
    path_name(&n_rel, g_rel);
    snprintf(rest, sizeof rest, "cryo-unixconn-%d", pid);
    abstract_name(&n_abs_a, rest);
    snprintf(rest, sizeof rest, "cryo-unixconn-client-%d", pid);
    abstract_name(&n_abs_cli, rest);
    n_unnamed.a.sun_family = AF_UNIX;
    n_unnamed.len = sizeof(sa_family_t);
    n_notconn.err = ENOTCONN;
    g_owner = getpid();
    atexit(clean_up_at_exit);

    set_up_l();
    set_up_c1_c2();
    set_up_c3();
    set_up_c4();
    set_up_c5();
    set_up_c6();
    if (g_child)
        set_up_child();
    record_names();

    char s1[512], s2[512];
    for (int i = 0; i < g_ne; i++)
        tp_log("fd %d %s (%s): name %s, peer %s", g_e[i].fd, g_e[i].label, g_e[i].type_name,
               name_str(&g_e[i].self, s1, sizeof s1), name_str(&g_e[i].peer, s2, sizeof s2));
    tp_log("queued: 1000 bytes at 42, 100 at 41, messages of 1, 300 and 70000 bytes at 47, one of 5 at 46, "
           "10 bytes at 49, 500 bytes and end of file at 52; seed 0x%llx", (unsigned long long)g_seed);
    if (g_child)
        tp_log("child %d holds fd %d (unnamed, peer L), the parent fd %d", (int)g_child_pid, FD_CHILD, FD_PARENT);

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    int fds[sizeof g_e / sizeof g_e[0]]; /* no descriptor but 0-2, 40-52 and (--child) 61 */
    for (int i = 0; i < g_ne; i++)
        fds[i] = g_e[i].fd;
    tp_check_only_fds(fds, g_ne);
    for (int i = 0; i < g_ne; i++)
        check_ent(&g_e[i]);

    check_stream(FD_C1_ACC, C1_FWD, P_C1_FWD, 0, "C1: the 1000 bytes at fd 42");
    check_stream(FD_C1_CLI, C1_BACK, P_C1_BACK, 0, "C1: the 100 bytes at fd 41");
    check_stream(FD_C2_CLI, 0, 0, 0, "C2: fd 43 (nothing queued)");
    check_stream(FD_C2_ACC, 0, 0, 0, "C2: fd 44 (nothing queued)");
    check_messages(FD_C3_ACC, 3, c3_len, c3_pat, "C3: the messages at fd 47");
    {
        size_t l = C3_BACK;
        int p = P_C3_BACK;
        check_messages(FD_C3_CLI, 1, &l, &p, "C3: the message at fd 46");
    }
    check_stream(FD_C4_ACC, C4_LEN, P_C4, 0, "C4: the 10 bytes at fd 49");
    check_stream(FD_C4_CLI, 0, 0, 0, "C4: fd 48 (nothing queued)");
    check_stream(FD_C5_CLI, 0, 0, 0, "C5: fd 50 (nothing queued)");
    check_stream(FD_C5_ACC, 0, 0, 0, "C5: fd 51 (nothing queued)");
    check_stream(FD_C6_ACC, C6_LEN, P_C6, 1, "C6: the 500 bytes and end of file at fd 52");
    if (g_child)
        check_stream(FD_PARENT, 0, 0, 0, "--child: fd 61 (nothing queued)");

    check_pair_works(FD_C1_CLI, FD_C1_ACC, 0x11, "C1 (fds 41/42)");
    check_pair_works(FD_C2_CLI, FD_C2_ACC, 0x22, "C2 (fds 43/44)");
    check_pair_works(FD_C3_CLI, FD_C3_ACC, 0x33, "C3 (fds 46/47)");
    check_pair_works(FD_C4_CLI, FD_C4_ACC, 0x44, "C4 (fds 48/49)");
    check_pair_works(FD_C5_CLI, FD_C5_ACC, 0x55, "C5 (fds 50/51)");

    check_new_connection(ent_of(FD_L), 'L');
    check_new_connection(ent_of(FD_A), 'A');
    check_name_held(&n_abs_cli, "C3's client name (bound by fd 46)");


    if (g_child)
        check_child();

    g_rm_srv = g_rm_cli = 0;
    if (unlink(g_srv) != 0 && errno != ENOENT)
        tp_fail("unlink(%s) at the end: %s", g_srv, strerror(errno));
    if (unlink(g_cli) != 0 && errno != ENOENT)
        tp_fail("unlink(%s) at the end: %s", g_cli, strerror(errno));
    tp_finish();
}

/*
 * unixlisten: listening Unix sockets, bound to a path, an abstract name and an autobound name
 * (see README.md).
 *
 *   unixlisten --pidfile=F --outfile=O [--pending]
 *
 * DIR is the outfile's directory (resolved with realpath: the path below is absolute). Every
 * descriptor above 2 inherited from the parent is closed first, so the descriptors are known.
 * - P (SOCK_STREAM): bound to the path DIR/ctl.PID (a stale socket file of that name is replaced),
 *   SO_PASSCRED set, listen(7), then the socket file chmod'ed to 0660; fd 40.
 * - A (SOCK_SEQPACKET): bound to the abstract name "\x00cryo-unixlisten-PID" (its exact length,
 *   no trailing NUL), listen(3); fd 41.
 * - B (SOCK_STREAM, SOCK_NONBLOCK): autobound, then listen(5); fd 42. Linux refuses listen() on
 *   an unbound Unix socket (EINVAL), so B is autobound explicitly: bind() with an address of
 *   sizeof(sa_family_t) bytes, which gives it the name the kernel makes up itself (a NUL and 5
 *   hex digits), recorded with getsockname.
 * - --pending: a client socket (SOCK_STREAM, blocking) connected to P, fd 43, not accepted: a
 *   connection waits in P's queue (cryo refuses to checkpoint that).
 * The names, the socket file's mode and owner are recorded. Where the kernel answers unix_diag
 * requests (NETLINK_SOCK_DIAG), each listener's backlog and number of waiting connections are
 * read back at set-up (dies unless 7/3/5 and 1-or-0/0/0) and checked again on SIGTERM.
 * common.c keeps no descriptor of its own (pidfile and outfile are written through temporaries
 * closed at once; its diagnostics go to fd 2 through stdio), so the program holds fds 0-2 (as
 * inherited), 40, 41, 42 and with --pending 43, nothing else.
 * On SIGTERM:
 * - /proc/self/fd lists no descriptor but 0, 1, 2, 40, 41, 42 (and 43 with --pending);
 * - fds 40, 41, 42: sockets, SO_DOMAIN AF_UNIX, SO_TYPE as set up, SO_ACCEPTCONN 1; getsockname
 *   equal to the recorded name byte for byte (both shown escaped, with their lengths, if not);
 *   SO_PASSCRED 1 on P, 0 on A and B; O_NONBLOCK on 42 only, O_RDWR, no FD_CLOEXEC; unix_diag
 *   (where available): state LISTEN, backlog 7/3/5, waiting connections 1 on P with --pending,
 *   else 0, and P's socket file (UNIX_DIAG_VFS) is the file now at DIR/ctl.PID;
 * - DIR/ctl.PID exists, is a socket (lstat), mode 0660 (& 07777), owner uid and gid as at set-up;
 * - --pending: fd 43 is a connected SOCK_STREAM socket whose peer is P's name; P has a
 *   connection waiting (poll, 3 s) and accepts it; a byte goes from fd 43 to the accepted socket
 *   (with SCM_CREDENTIALS carrying this pid, uid and gid: SO_PASSCRED is inherited from P) and
 *   one back;
 * - each listener takes a new connection: a non-blocking client socket of its type connects to
 *   its recorded name, the listener has it within 3 s (poll) and accepts it, a byte goes each
 *   way; on P's accepted socket the byte comes with SCM_CREDENTIALS (this pid, uid, gid), on A's
 *   and B's with none; afterwards nothing more waits at any listener;
 * - DIR/ctl.PID is removed at the end (and at a set-up failure).
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#define FD_P 40
#define FD_A 41
#define FD_B 42
#define FD_CLIENT 43 /* --pending: connected to P, not accepted */
#define WAIT_MS 3000 /* a connection or a byte must arrive within this */
#define TCP_LISTEN_STATE 10 /* TCP_LISTEN, as unix_diag reports a listener's state */

struct listener {
    const char *label;
    int fd;
    int type;
    const char *type_name;
    int backlog;
    int passcred;
    int nonblock;
    struct sockaddr_un addr; /* the name as getsockname gave it at set-up */
    socklen_t len;
    unsigned char out, back; /* the bytes sent to it and back in the check */
};

static struct listener g_l[] = {
    {"P", FD_P, SOCK_STREAM, "SOCK_STREAM", 7, 1, 0, {0}, 0, 'P', 'p'},
    {"A", FD_A, SOCK_SEQPACKET, "SOCK_SEQPACKET", 3, 0, 0, {0}, 0, 'A', 'a'},
    {"B", FD_B, SOCK_STREAM, "SOCK_STREAM", 5, 0, 1, {0}, 0, 'B', 'b'},
};
#define NL (int)(sizeof g_l / sizeof g_l[0])

static char g_path[PATH_MAX + 32]; /* DIR/ctl.PID */
static uid_t g_uid;           /* the socket file's owner at set-up */
static gid_t g_gid;
static int g_pending;         /* --pending */
static int g_have_diag;       /* unix_diag answered at set-up */
static pid_t g_owner;         /* the process that removes the socket file at exit */
static int g_remove_at_exit;

static void clean_up_at_exit(void)
{
    if (g_remove_at_exit && getpid() == g_owner)
        unlink(g_path);
}

/* ------------------------------------------------------------------ */
/* names                                                                */

/* A socket name for messages: its sun_path bytes in quotes (a NUL and other unprintable bytes
 * as \xNN, always two digits), its length; the family too if it is not AF_UNIX. */
static const char *name_str(const struct sockaddr_un *a, socklen_t len, char *buf, size_t cap)
{
    size_t pos = 0;
#define PUT(...) pos += (size_t)snprintf(buf + pos, pos < cap ? cap - pos : 0, __VA_ARGS__)
    if (len < offsetof(struct sockaddr_un, sun_path)) {
        PUT("(%u bytes: no name)", (unsigned)len);
        return buf;
    }
    if (a->sun_family != AF_UNIX)
        PUT("family %d ", a->sun_family);
    size_t n = len - offsetof(struct sockaddr_un, sun_path);
    if (n > sizeof a->sun_path)
        n = sizeof a->sun_path;
    PUT("\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a->sun_path[i];
        if (c == '"' || c == '\\')
            PUT("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            PUT("\\x%02x", c);
        else
            PUT("%c", c);
    }
    PUT("\" (%u bytes)", (unsigned)len);
#undef PUT
    return buf;
}

static int same_name(const struct sockaddr_un *a, socklen_t alen, const struct sockaddr_un *b, socklen_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* ------------------------------------------------------------------ */
/* unix_diag                                                            */

struct diag {
    int state, type;
    int have_rqlen;
    unsigned rqueue, wqueue; /* a listener: waiting connections, backlog */
    int have_vfs;
    unsigned vfs_ino, vfs_dev; /* the socket file of a path-bound socket (kernel dev_t) */
};

/* unix_diag of the socket with inode ino: 0, or -1 with errno (ENOENT: the kernel knows no such
 * socket, or has no unix_diag). */
static int diag_of(unsigned ino, struct diag *d)
{
    memset(d, 0, sizeof *d);
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return -1;
    struct {
        struct nlmsghdr nlh;
        struct unix_diag_req r;
    } req;
    memset(&req, 0, sizeof req);
    req.nlh.nlmsg_len = sizeof req;
    req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nlh.nlmsg_flags = NLM_F_REQUEST;
    req.nlh.nlmsg_seq = 1;
    req.r.sdiag_family = AF_UNIX;
    req.r.udiag_states = ~0U;
    req.r.udiag_ino = ino;
    req.r.udiag_show = UDIAG_SHOW_RQLEN | UDIAG_SHOW_VFS;
    req.r.udiag_cookie[0] = req.r.udiag_cookie[1] = ~0U;
    struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
    if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&nl, sizeof nl) != (ssize_t)sizeof req) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    static char buf[8192] __attribute__((aligned(8)));
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) < 0 && errno == EINTR) {}
    int e = errno;
    close(fd);
    if (n < 0) {
        errno = e;
        return -1;
    }
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    if (!NLMSG_OK(h, (size_t)n)) {
        errno = EBADMSG;
        return -1;
    }
    if (h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *err = NLMSG_DATA(h);
        errno = err->error ? -err->error : EBADMSG;
        return -1;
    }
    if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg))) {
        errno = EBADMSG;
        return -1;
    }
    struct unix_diag_msg *m = NLMSG_DATA(h);
    if (m->udiag_ino != ino) {
        errno = EBADMSG;
        return -1;
    }
    d->state = m->udiag_state;
    d->type = m->udiag_type;
    struct rtattr *a = (struct rtattr *)(m + 1);
    int left = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof *m);
    for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) {
        if (a->rta_type == UNIX_DIAG_RQLEN && RTA_PAYLOAD(a) >= sizeof(struct unix_diag_rqlen)) {
            struct unix_diag_rqlen *q = RTA_DATA(a);
            d->have_rqlen = 1;
            d->rqueue = q->udiag_rqueue;
            d->wqueue = q->udiag_wqueue;
        } else if (a->rta_type == UNIX_DIAG_VFS && RTA_PAYLOAD(a) >= sizeof(struct unix_diag_vfs)) {
            struct unix_diag_vfs *v = RTA_DATA(a);
            d->have_vfs = 1;
            d->vfs_ino = v->udiag_vfs_ino;
            d->vfs_dev = v->udiag_vfs_dev;
        }
    }
    return 0;
}

/* The kernel's dev_t (major << 20 | minor), as unix_diag reports a device, equals st_dev. */
static int same_dev(unsigned kdev, dev_t st_dev)
{
    return (kdev >> 20) == major(st_dev) && (kdev & 0xfffff) == minor(st_dev);
}

static unsigned sock_ino(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? (unsigned)st.st_ino : 0;
}

/* ------------------------------------------------------------------ */
/* set-up                                                               */

static void record_name(struct listener *l)
{
    l->len = sizeof l->addr;
    memset(&l->addr, 0, sizeof l->addr);
    if (getsockname(l->fd, (struct sockaddr *)&l->addr, &l->len) != 0)
        tp_die_errno("%s: getsockname(%d)", l->label, l->fd);
    if (l->len > sizeof l->addr)
        tp_die("%s: getsockname(%d) gives a name of %u bytes, more than a sockaddr_un", l->label, l->fd,
               (unsigned)l->len);
}

static void expect_name(const struct listener *l, const struct sockaddr_un *want, socklen_t wlen)
{
    if (!same_name(&l->addr, l->len, want, wlen)) {
        char a[512], b[512];
        tp_die("%s: getsockname(%d) gives %s, expected %s", l->label, l->fd, name_str(&l->addr, l->len, a, sizeof a),
               name_str(want, wlen, b, sizeof b));
    }
}

static void put_at(int fd, int target, const char *what)
{
    if (tp_move_fd(fd, target, 0) != target)
        tp_die_errno("%s: move fd %d to %d", what, fd, target);
}

static void set_up_p(struct listener *l, const char *outfile)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", outfile);
    if (!realpath(dirname(tmp), dir))
        tp_die_errno("realpath of the outfile's directory (outfile %s)", outfile);
    snprintf(g_path, sizeof g_path, "%s/ctl.%d", dir, (int)getpid());
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(g_path) >= sizeof a.sun_path)
        tp_die("P: the path %s is %zu bytes long, a Unix socket name holds at most %zu", g_path, strlen(g_path),
               sizeof a.sun_path - 1);
    memcpy(a.sun_path, g_path, strlen(g_path) + 1);
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(g_path) + 1);

    struct stat st;
    if (lstat(g_path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            tp_die("P: %s exists and is not a socket (mode 0%o)", g_path, st.st_mode);
        if (unlink(g_path) != 0)
            tp_die_errno("P: unlink(%s) (a stale socket file)", g_path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        tp_die_errno("P: socket(AF_UNIX, SOCK_STREAM)");
    if (bind(fd, (struct sockaddr *)&a, alen) != 0)
        tp_die_errno("P: bind(%s)", g_path);
    g_owner = getpid();
    g_remove_at_exit = 1;
    atexit(clean_up_at_exit);
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0)
        tp_die_errno("P: setsockopt(SO_PASSCRED, 1)");
    if (listen(fd, l->backlog) != 0)
        tp_die_errno("P: listen(%d)", l->backlog);
    if (chmod(g_path, 0660) != 0)
        tp_die_errno("P: chmod(%s, 0660)", g_path);
    put_at(fd, l->fd, "P");
    record_name(l);
    expect_name(l, &a, alen);
    if (lstat(g_path, &st) != 0)
        tp_die_errno("P: lstat(%s)", g_path);
    if (!S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != 0660)
        tp_die("P: %s has mode 0%o after chmod, expected a socket with 0660", g_path, st.st_mode);
    g_uid = st.st_uid;
    g_gid = st.st_gid;
}

static void set_up_a(struct listener *l)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    char rest[64];
    snprintf(rest, sizeof rest, "cryo-unixlisten-%d", (int)getpid());
    a.sun_path[0] = '\0';
    memcpy(a.sun_path + 1, rest, strlen(rest));
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(rest));
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (fd < 0)
        tp_die_errno("A: socket(AF_UNIX, SOCK_SEQPACKET)");
    if (bind(fd, (struct sockaddr *)&a, alen) != 0)
        tp_die_errno("A: bind(\\x00%s)", rest);
    if (listen(fd, l->backlog) != 0)
        tp_die_errno("A: listen(%d)", l->backlog);
    put_at(fd, l->fd, "A");
    record_name(l);
    expect_name(l, &a, alen);
}

static void set_up_b(struct listener *l)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        tp_die_errno("B: socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK)");
    /* listen() refuses an unbound Unix socket (EINVAL): autobind it the explicit way, an
     * address of just the family. */
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (bind(fd, (struct sockaddr *)&a, sizeof(sa_family_t)) != 0)
        tp_die_errno("B: bind(AF_UNIX, %zu bytes) (autobind)", sizeof(sa_family_t));
    if (listen(fd, l->backlog) != 0)
        tp_die_errno("B: listen(%d)", l->backlog);
    put_at(fd, l->fd, "B");
    record_name(l);
    int ok = l->len == offsetof(struct sockaddr_un, sun_path) + 6 && l->addr.sun_family == AF_UNIX &&
             l->addr.sun_path[0] == '\0';
    for (int i = 1; ok && i < 6; i++)
        ok = strchr("0123456789abcdef", l->addr.sun_path[i]) != NULL && l->addr.sun_path[i] != '\0';
    if (!ok) {
        char s[512];
        tp_die("B: autobound to %s, expected a NUL and 5 hex digits", name_str(&l->addr, l->len, s, sizeof s));
    }
}

static void set_up_pending(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        tp_die_errno("--pending: socket(AF_UNIX, SOCK_STREAM)");
    if (connect(fd, (struct sockaddr *)&g_l[0].addr, g_l[0].len) != 0)
        tp_die_errno("--pending: connect to P (%s)", g_path);
    put_at(fd, FD_CLIENT, "--pending client");
}

/* Where unix_diag answers: backlogs and waiting connections as set up (dies otherwise). */
static void set_up_diag(void)
{
    struct diag d;
    if (diag_of(sock_ino(FD_P), &d) != 0) {
        tp_log("unix_diag does not answer (%s): backlogs and waiting connections will not be checked",
               strerror(errno));
        return;
    }
    for (int i = 0; i < NL; i++) {
        struct listener *l = &g_l[i];
        if (diag_of(sock_ino(l->fd), &d) != 0)
            tp_die_errno("%s: unix_diag of fd %d", l->label, l->fd);
        unsigned want_q = (i == 0 && g_pending) ? 1 : 0;
        if (d.state != TCP_LISTEN_STATE || !d.have_rqlen || d.wqueue != (unsigned)l->backlog || d.rqueue != want_q)
            tp_die("%s: unix_diag of fd %d: state %d, backlog %u, %u waiting%s; expected state %d, backlog %d, %u waiting",
                   l->label, l->fd, d.state, d.wqueue, d.rqueue, d.have_rqlen ? "" : " (no UNIX_DIAG_RQLEN)",
                   TCP_LISTEN_STATE, l->backlog, want_q);
    }
    g_have_diag = 1;
}

/* ------------------------------------------------------------------ */
/* checks                                                               */

static void check_listener(const struct listener *l)
{
    char what[32];
    snprintf(what, sizeof what, "%s (fd %d)", l->label, l->fd);
    struct stat st;
    if (fstat(l->fd, &st) != 0) {
        tp_fail("%s: fstat: %s (not open)", what, strerror(errno));
        return;
    }
    if (!S_ISSOCK(st.st_mode)) {
        char t[PATH_MAX];
        tp_fd_target(l->fd, t, sizeof t);
        tp_fail("%s: not a socket (mode 0%o, %s)", what, st.st_mode, t);
        return;
    }
    int v;
    if (tp_sockopt_int(l->fd, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN", what, &v) == 0 && v != AF_UNIX)
        tp_fail("%s: SO_DOMAIN is %d, expected %d (AF_UNIX)", what, v, AF_UNIX);
    if (tp_sockopt_int(l->fd, SOL_SOCKET, SO_TYPE, "SO_TYPE", what, &v) == 0 && v != l->type)
        tp_fail("%s: SO_TYPE is %d, expected %d (%s)", what, v, l->type, l->type_name);
    if (tp_sockopt_int(l->fd, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN", what, &v) == 0 && v != 1)
        tp_fail("%s: SO_ACCEPTCONN is %d, expected 1 (listening)", what, v);
    if (tp_sockopt_int(l->fd, SOL_SOCKET, SO_PASSCRED, "SO_PASSCRED", what, &v) == 0 && v != l->passcred)
        tp_fail("%s: SO_PASSCRED is %d, expected %d", what, v, l->passcred);

    struct sockaddr_un a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    if (getsockname(l->fd, (struct sockaddr *)&a, &alen) != 0)
        tp_fail("%s: getsockname: %s", what, strerror(errno));
    else if (!same_name(&a, alen, &l->addr, l->len)) {
        char s1[512], s2[512];
        tp_fail("%s: getsockname gives %s, expected %s", what, name_str(&a, alen, s1, sizeof s1),
                name_str(&l->addr, l->len, s2, sizeof s2));
    }

    int fdfl = fcntl(l->fd, F_GETFD), fl = fcntl(l->fd, F_GETFL);
    if (fdfl < 0 || fl < 0)
        tp_fail("%s: fcntl: %s", what, strerror(errno));
    else {
        if (fdfl & FD_CLOEXEC)
            tp_fail("%s: F_GETFD 0x%x, expected no FD_CLOEXEC", what, fdfl);
        if (!!(fl & O_NONBLOCK) != l->nonblock)
            tp_fail("%s: F_GETFL 0%o, expected %s", what, fl, l->nonblock ? "O_NONBLOCK" : "no O_NONBLOCK");
        if ((fl & O_ACCMODE) != O_RDWR)
            tp_fail("%s: access mode 0%o, expected O_RDWR", what, fl & O_ACCMODE);
    }

    if (g_have_diag) {
        struct diag d;
        unsigned want_q = (l->fd == FD_P && g_pending) ? 1 : 0;
        if (diag_of((unsigned)st.st_ino, &d) != 0)
            tp_fail("%s: unix_diag of socket inode %lu: %s", what, (unsigned long)st.st_ino, strerror(errno));
        else if (d.state != TCP_LISTEN_STATE)
            tp_fail("%s: unix_diag state %d, expected %d (listening)", what, d.state, TCP_LISTEN_STATE);
        else if (!d.have_rqlen)
            tp_fail("%s: unix_diag gives no UNIX_DIAG_RQLEN", what);
        else {
            if (d.wqueue != (unsigned)l->backlog)
                tp_fail("%s: backlog (unix_diag) is %u, expected %d", what, d.wqueue, l->backlog);
            if (d.rqueue != want_q)
                tp_fail("%s: %u connection(s) waiting to be accepted (unix_diag), expected %u", what, d.rqueue, want_q);
        }
        if (l->fd == FD_P && d.state == TCP_LISTEN_STATE) {
            struct stat ps;
            if (!d.have_vfs)
                tp_fail("%s: unix_diag gives no socket file (UNIX_DIAG_VFS) for a socket bound to a path", what);
            else if (lstat(g_path, &ps) == 0 && (d.vfs_ino != (unsigned)ps.st_ino || !same_dev(d.vfs_dev, ps.st_dev)))
                tp_fail("%s: its socket file is inode %u on device %u:%u (unix_diag), but %s is inode %lu on %u:%u",
                        what, d.vfs_ino, d.vfs_dev >> 20, d.vfs_dev & 0xfffff, g_path, (unsigned long)ps.st_ino,
                        major(ps.st_dev), minor(ps.st_dev));
        }
    }
}

static void check_socket_file(void)
{
    struct stat st;
    if (lstat(g_path, &st) != 0) {
        tp_fail("P: lstat(%s): %s (the socket file is gone)", g_path, strerror(errno));
        return;
    }
    if (!S_ISSOCK(st.st_mode)) {
        tp_fail("P: %s is not a socket (mode 0%o)", g_path, st.st_mode);
        return;
    }
    if ((st.st_mode & 07777) != 0660)
        tp_fail("P: socket file %s has mode 0%o, expected 0660", g_path, st.st_mode & 07777);
    if (st.st_uid != g_uid || st.st_gid != g_gid)
        tp_fail("P: socket file %s is owned by %u:%u, expected %u:%u (as at set-up)", g_path, (unsigned)st.st_uid,
                (unsigned)st.st_gid, (unsigned)g_uid, (unsigned)g_gid);
}

/* Accept a connection on the listener (which must have one within WAIT_MS); -1 (tp_fail'ed). */
static int accept_one(const struct listener *l, const char *what)
{
    if (!tp_wait_readable(l->fd, WAIT_MS)) {
        tp_fail("%s: no connection to accept on fd %d within %d ms (poll)", what, l->fd, WAIT_MS);
        return -1;
    }
    int s;
    while ((s = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) < 0 && errno == EINTR) {}
    if (s < 0)
        tp_fail("%s: accept4(%d): %s", what, l->fd, strerror(errno));
    return s;
}

static int send_byte(int fd, unsigned char c, const char *what, const char *dir)
{
    ssize_t w;
    while ((w = send(fd, &c, 1, MSG_DONTWAIT | MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
    if (w != 1) {
        tp_fail("%s: send of one byte %s (fd %d) gave %zd (%s)", what, dir, fd, w, w < 0 ? strerror(errno) : "short");
        return -1;
    }
    return 0;
}

/* One byte c at fd within WAIT_MS. creds 1: it must come with SCM_CREDENTIALS of this process;
 * 0: with no control message at all. */
static void recv_byte(int fd, unsigned char c, int creds, const char *what, const char *dir)
{
    if (!tp_wait_readable(fd, WAIT_MS)) {
        tp_fail("%s: the byte sent %s did not arrive at fd %d within %d ms", what, dir, fd, WAIT_MS);
        return;
    }
    unsigned char b = 0;
    union {
        char buf[CMSG_SPACE(sizeof(struct ucred)) + 256];
        struct cmsghdr align;
    } cb;
    struct iovec io = {.iov_base = &b, .iov_len = 1};
    struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cb.buf, .msg_controllen = sizeof cb.buf};
    ssize_t r;
    while ((r = recvmsg(fd, &m, MSG_DONTWAIT)) < 0 && errno == EINTR) {}
    if (r != 1) {
        tp_fail("%s: recvmsg(%d) of the byte sent %s gave %zd (%s)", what, fd, dir, r,
                r < 0 ? strerror(errno) : r == 0 ? "end of file" : "more");
        return;
    }
    if (b != c)
        tp_fail("%s: the byte sent %s arrived as 0x%02x, expected 0x%02x", what, dir, b, c);
    if (m.msg_flags & MSG_CTRUNC)
        tp_fail("%s: recvmsg(%d): control data truncated (MSG_CTRUNC)", what, fd);
    int found = 0;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_CREDENTIALS && h->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
            struct ucred u;
            memcpy(&u, CMSG_DATA(h), sizeof u);
            found = 1;
            if (!creds)
                tp_fail("%s: the byte sent %s came with SCM_CREDENTIALS (pid %d), but SO_PASSCRED is off", what, dir,
                        (int)u.pid);
            else if (u.pid != getpid() || u.uid != getuid() || u.gid != getgid())
                tp_fail("%s: SCM_CREDENTIALS with the byte sent %s: pid %d uid %u gid %u, expected pid %d uid %u gid %u",
                        what, dir, (int)u.pid, (unsigned)u.uid, (unsigned)u.gid, (int)getpid(), (unsigned)getuid(),
                        (unsigned)getgid());
        } else {
            tp_fail("%s: unexpected control message (level %d, type %d) with the byte sent %s", what, h->cmsg_level,
                    h->cmsg_type, dir);
        }
    }
    if (creds && !found) {
        int v = -1;
        socklen_t vl = sizeof v;
        getsockopt(fd, SOL_SOCKET, SO_PASSCRED, &v, &vl);
        tp_fail("%s: the byte sent %s came without SCM_CREDENTIALS (the accepted socket's SO_PASSCRED is %d; "
                "it inherits the listener's)", what, dir, v);
    }
}

/* A byte from the client to the accepted socket (credentials as the listener's SO_PASSCRED
 * says) and one back. */
static void exchange(const struct listener *l, int client, int accepted, const char *what)
{
    if (send_byte(client, l->out, what, "by the client") == 0)
        recv_byte(accepted, l->out, l->passcred, what, "by the client");
    if (send_byte(accepted, l->back, what, "back by the accepted socket") == 0)
        recv_byte(client, l->back, 0, what, "back by the accepted socket");
}

/* --pending: fd 43 is P's waiting connection; accept it and talk over it. */
static void check_pending(void)
{
    const char *what = "--pending: the waiting connection (fd 43)";
    int v;
    struct stat st;
    if (fstat(FD_CLIENT, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        tp_fail("%s: not a socket (%s)", what, strerror(errno));
        return;
    }
    if (tp_sockopt_int(FD_CLIENT, SOL_SOCKET, SO_TYPE, "SO_TYPE", what, &v) == 0 && v != SOCK_STREAM)
        tp_fail("%s: SO_TYPE is %d, expected %d (SOCK_STREAM)", what, v, SOCK_STREAM);
    if (tp_sockopt_int(FD_CLIENT, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN", what, &v) == 0 && v != 0)
        tp_fail("%s: SO_ACCEPTCONN is %d, expected 0", what, v);
    struct sockaddr_un a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    if (getpeername(FD_CLIENT, (struct sockaddr *)&a, &alen) != 0)
        tp_fail("%s: getpeername: %s (not connected)", what, strerror(errno));
    else if (!same_name(&a, alen, &g_l[0].addr, g_l[0].len)) {
        char s1[512], s2[512];
        tp_fail("%s: getpeername gives %s, expected P's name %s", what, name_str(&a, alen, s1, sizeof s1),
                name_str(&g_l[0].addr, g_l[0].len, s2, sizeof s2));
    }
    int s = accept_one(&g_l[0], "P: accepting the waiting connection of fd 43");
    if (s < 0)
        return;
    exchange(&g_l[0], FD_CLIENT, s, what);
    close(s);
}

/* A new connection to the listener's recorded name, accepted, a byte each way. */
static void check_new_connection(const struct listener *l)
{
    char what[64];
    snprintf(what, sizeof what, "%s (fd %d): a new connection", l->label, l->fd);
    int c = socket(AF_UNIX, l->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c < 0) {
        tp_fail("%s: socket(AF_UNIX, %s): %s", what, l->type_name, strerror(errno));
        return;
    }
    int r;
    while ((r = connect(c, (struct sockaddr *)&l->addr, l->len)) < 0 && errno == EINTR) {}
    if (r != 0) {
        char s[512];
        tp_fail("%s: connect to %s: %s", what, name_str(&l->addr, l->len, s, sizeof s), strerror(errno));
        close(c);
        return;
    }
    int s = accept_one(l, what);
    if (s >= 0) {
        exchange(l, c, s, what);
        close(s);
    }
    close(c);
}

static void check_nothing_waits(const struct listener *l)
{
    struct pollfd p = {.fd = l->fd, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, 0)) < 0 && errno == EINTR) {}
    if (r < 0)
        tp_fail("%s (fd %d): poll: %s", l->label, l->fd, strerror(errno));
    else if (r > 0 && (p.revents & POLLIN))
        tp_fail("%s (fd %d): after the accepts another connection waits (poll revents 0x%x)", l->label, l->fd,
                p.revents);
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--pending]");
    g_pending = tp_arg_flag("pending");
    tp_args_done();

    /* Deterministic descriptors: nothing inherited above 2. */
    if (close_range(3, ~0U, 0) != 0)
        tp_die_errno("close_range(3, ~0U)");

    set_up_p(&g_l[0], tp_outfile);
    set_up_a(&g_l[1]);
    set_up_b(&g_l[2]);
    if (g_pending)
        set_up_pending();
    set_up_diag();

    char n[3][512];
    tp_log("P: fd %d %s %s, backlog %d, SO_PASSCRED, socket file 0660 owned by %u:%u", FD_P, g_l[0].type_name,
           name_str(&g_l[0].addr, g_l[0].len, n[0], sizeof n[0]), g_l[0].backlog, (unsigned)g_uid, (unsigned)g_gid);
    tp_log("A: fd %d %s %s, backlog %d", FD_A, g_l[1].type_name, name_str(&g_l[1].addr, g_l[1].len, n[1], sizeof n[1]),
           g_l[1].backlog);
    tp_log("B: fd %d %s %s (autobound), backlog %d, O_NONBLOCK", FD_B, g_l[2].type_name,
           name_str(&g_l[2].addr, g_l[2].len, n[2], sizeof n[2]), g_l[2].backlog);
    if (g_pending)
        tp_log("--pending: fd %d connected to P, not accepted", FD_CLIENT);

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    /* No descriptor but 0-2, the listeners and (--pending) the client. */
    const int fds[] = {FD_P, FD_A, FD_B, FD_CLIENT};
    tp_check_only_fds(fds, g_pending ? 4 : 3);
    for (int i = 0; i < NL; i++)
        check_listener(&g_l[i]);
    check_socket_file();
    if (g_pending)
        check_pending();
    for (int i = 0; i < NL; i++)
        check_new_connection(&g_l[i]);
    for (int i = 0; i < NL; i++)
        check_nothing_waits(&g_l[i]);

    g_remove_at_exit = 0;
    if (unlink(g_path) != 0 && errno != ENOENT) /* a missing file was reported above */
        tp_fail("unlink(%s) at the end: %s", g_path, strerror(errno));
    tp_finish();
}

/*
 * udpsock: UDP sockets, IPv4 and IPv6, bound, connected, autobound and unbound, with their
 * options (see README.md).
 *
 *   udpsock --pidfile=F --outfile=O [--pending]
 *
 * Every descriptor above 2 inherited from the parent is closed first, so the descriptors are
 * known. All sockets are SOCK_DGRAM with protocol 0 (UDP), blocking unless said, none
 * close-on-exec; ports are the kernel's choice (port 0). Data patterns come from a per-run seed
 * (pid, time), one pattern stream per datagram.
 * - S4 fd 40 (AF_INET): SO_REUSEADDR 1, SO_RCVBUF 65536 asked, IP_TOS 0x10, bound to 127.0.0.1.
 * - C4 fd 41 (AF_INET): SO_SNDBUF 32768 asked, connected to S4's name (connect autobinds it to
 *   127.0.0.1 and a port). One datagram C4 -> S4 is sent and read at set-up (S4 reports C4's
 *   name as its sender), so nothing waits.
 * - S6 fd 42 (AF_INET6, SOCK_NONBLOCK): IPV6_V6ONLY 1, SO_REUSEPORT 1, IPV6_TCLASS 0x20, bound
 *   to ::1.
 * - C6 fd 43 (AF_INET6): connected to S6's name.
 * - B fd 44 (AF_INET): SO_BROADCAST 1, bound to 0.0.0.0 (any address), never connected.
 * - U fd 45 (AF_INET): never bound nor connected (getsockname 0.0.0.0:0).
 * - D fd 46 (AF_INET6, dual-stack): IPV6_V6ONLY 0, bound to :: port 0, then connected to S4
 *   through the v4-mapped address ::ffff:127.0.0.1 (the connect sets its address to
 *   ::ffff:127.0.0.1, as getsockname shows).
 * - --pending: a datagram of 333 bytes sent C4 -> S4 and left unread (cryo must refuse the
 *   checkpoint).
 * For every fd getsockname and getpeername (the bytes and the length, or the error: ENOTCONN
 * for S4, S6, B, U) are recorded at set-up and compared with what they must be (dies
 * otherwise); so are, as getsockopt shows them, SO_REUSEADDR, SO_REUSEPORT, SO_BROADCAST,
 * SO_SNDBUF and SO_RCVBUF (the kernel doubles what is asked), on AF_INET sockets IP_TOS, on
 * AF_INET6 ones IPV6_V6ONLY and IPV6_TCLASS (the set-up dies unless every option set shows its
 * value, a buffer size at least what was asked), and F_GETFD/F_GETFL. common.c keeps no
 * descriptor of its own, so the program holds fds 0-2 (as inherited) and 40-46, nothing else.
 * On SIGTERM (every send and receive with MSG_DONTWAIT, every wait a poll of at most 3 s):
 * - /proc/self/fd lists no descriptor but 0-2 and 40-46;
 * - every fd: a socket, SO_DOMAIN as set up, SO_TYPE SOCK_DGRAM, SO_PROTOCOL IPPROTO_UDP;
 *   F_GETFD/F_GETFL as recorded (O_NONBLOCK on 42 only, no FD_CLOEXEC); getsockname and
 *   getpeername equal to the recorded ones byte for byte (a mismatch shows both: address, port,
 *   length and the bytes in hex); every recorded option equal; SO_ERROR 0;
 * - without --pending nothing waits at any socket (poll, timeout 0: no POLLIN, no POLLERR);
 *   with --pending exactly the one datagram waits at S4 (FIONREAD 333), reads back whole with
 *   its bytes and C4's recorded name as its sender, then EAGAIN; nothing waits elsewhere;
 * - traffic, each datagram arriving within 3 s, whole (no MSG_TRUNC), with its bytes and the
 *   expected sender (recvmsg), and nothing after it: C4 -> S4 by send (sender C4's recorded
 *   name), S4 -> C4 by sendto C4's recorded name (sender S4's name); the same for C6 and S6;
 *   D -> S4 by send (sender 127.0.0.1 with D's recorded port), S4 -> D by sendto that
 *   (sender ::ffff:127.0.0.1 with S4's port, D's recorded peer); U -> S4 by sendto (U gets
 *   autobound: sender 127.0.0.1 and a port other than 0), S4 -> U back to that sender;
 *   B -> S4 by sendto (sender 127.0.0.1 with B's recorded port), S4 -> B back (no broadcast is
 *   sent: SO_BROADCAST is only checked as an option);
 * - afterwards nothing waits at any socket.
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FD_S4 40 /* AF_INET, bound 127.0.0.1 */
#define FD_C4 41 /* AF_INET, connected to S4 */
#define FD_S6 42 /* AF_INET6, bound ::1, O_NONBLOCK */
#define FD_C6 43 /* AF_INET6, connected to S6 */
#define FD_B 44  /* AF_INET, SO_BROADCAST, bound 0.0.0.0 */
#define FD_U 45  /* AF_INET, unbound */
#define FD_D 46  /* AF_INET6 dual-stack, bound ::, connected to ::ffff:127.0.0.1 (S4) */

#define S4_RCVBUF 65536
#define S4_TOS 0x10
#define C4_SNDBUF 32768
#define S6_TCLASS 0x20
#define PENDING_LEN 333
#define DGRAM_LEN 100 /* the datagrams of the traffic checks */
#define WAIT_MS 3000  /* a datagram must arrive within this */

/* One stream of the pattern per datagram. */
enum { P_SETUP = 1, P_PENDING, P_C4_S4, P_S4_C4, P_C6_S6, P_S6_C6, P_D_S4, P_S4_D, P_U_S4, P_S4_U, P_B_S4, P_S4_B };

static uint64_t g_seed;
static uint64_t seed_of(int which) { return tp_mix64(g_seed ^ (uint64_t)which * 0x9e3779b97f4a7c15ULL); }

static unsigned char g_buf[2048]; /* more than the largest datagram */
static int g_pending;             /* --pending */

/* ------------------------------------------------------------------ */
/* names                                                                */

/* What getsockname, getpeername or recvmsg gave: a name of len bytes, or an error. */
struct name {
    int err; /* 0, or the errno of the call */
    socklen_t len;
    struct sockaddr_storage a;
};

static const struct sockaddr_in *in4(const struct name *n) { return (const struct sockaddr_in *)&n->a; }
static const struct sockaddr_in6 *in6(const struct name *n) { return (const struct sockaddr_in6 *)&n->a; }

/* A name for messages: address and port (IPv6 with its flow info and scope id if not 0), the
 * length, and the bytes in hex; or the error. */
static const char *name_str(const struct name *n, char *buf, size_t cap)
{
    size_t pos = 0;
#define PUT(...) pos += (size_t)snprintf(buf + pos, pos < cap ? cap - pos : 0, __VA_ARGS__)
    if (n->err) {
        PUT("error %s (errno %d)", strerror(n->err), n->err);
        return buf;
    }
    char addr[INET6_ADDRSTRLEN];
    if (n->len >= sizeof(struct sockaddr_in) && n->a.ss_family == AF_INET) {
        inet_ntop(AF_INET, &in4(n)->sin_addr, addr, sizeof addr);
        PUT("%s:%u", addr, ntohs(in4(n)->sin_port));
    } else if (n->len >= sizeof(struct sockaddr_in6) && n->a.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = in6(n);
        inet_ntop(AF_INET6, &s->sin6_addr, addr, sizeof addr);
        PUT("[%s]:%u", addr, ntohs(s->sin6_port));
        if (s->sin6_flowinfo)
            PUT(" flowinfo 0x%x", ntohl(s->sin6_flowinfo));
        if (s->sin6_scope_id)
            PUT(" scope %u", s->sin6_scope_id);
    } else if (n->len >= sizeof(sa_family_t)) {
        PUT("family %d", n->a.ss_family);
    } else {
        PUT("no name");
    }
    PUT(" (%u bytes:", (unsigned)n->len);
    const unsigned char *b = (const unsigned char *)&n->a;
    for (socklen_t i = 0; i < n->len && i < sizeof n->a; i++)
        PUT("%s%02x", i % 4 ? "" : " ", b[i]);
    PUT(")");
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
        n->err = EOVERFLOW; /* cannot happen for IP: a name fits a sockaddr_storage */
    }
}

/* An IPv4 name (as the kernel gives one: 16 bytes, sin_zero zero). */
static void name4(struct name *n, const char *addr, unsigned port)
{
    memset(n, 0, sizeof *n);
    struct sockaddr_in *s = (struct sockaddr_in *)&n->a;
    s->sin_family = AF_INET;
    s->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &s->sin_addr) != 1)
        tp_die("internal: bad IPv4 address %s", addr);
    n->len = sizeof *s;
}

/* An IPv6 name (28 bytes, flow info and scope id 0). */
static void name6(struct name *n, const char *addr, unsigned port)
{
    memset(n, 0, sizeof *n);
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&n->a;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, addr, &s->sin6_addr) != 1)
        tp_die("internal: bad IPv6 address %s", addr);
    n->len = sizeof *s;
}

static unsigned port_of(const struct name *n)
{
    if (n->err)
        return 0;
    return ntohs(n->a.ss_family == AF_INET6 ? in6(n)->sin6_port : in4(n)->sin_port);
}

/* ------------------------------------------------------------------ */
/* options                                                              */

struct opt {
    int level, name;
    const char *label;
    int family; /* 0: every socket; else only sockets of that family */
};

static const struct opt g_opts[] = {
    {SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 0},
    {SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", 0},
    {SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST", 0},
    {SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", 0},
    {SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", 0},
    {IPPROTO_IP, IP_TOS, "IP_TOS", AF_INET},
    {IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", AF_INET6},
    {IPPROTO_IPV6, IPV6_TCLASS, "IPV6_TCLASS", AF_INET6},
};
#define NOPT (int)(sizeof g_opts / sizeof g_opts[0])
enum { O_REUSEADDR, O_REUSEPORT, O_BROADCAST, O_SNDBUF, O_RCVBUF, O_TOS, O_V6ONLY, O_TCLASS };

/* ------------------------------------------------------------------ */
/* the sockets                                                          */

struct sk {
    int fd;
    const char *label;
    int family;
    const char *family_name;
    int nonblock;
    struct name self, peer; /* recorded at set-up */
    int val[NOPT];          /* options recorded at set-up (those of its family) */
    int fdfl, fl;           /* F_GETFD, F_GETFL recorded at set-up */
};

static struct sk g_s[] = {
    {FD_S4, "S4", AF_INET, "AF_INET", 0, {0}, {0}, {0}, 0, 0},
    {FD_C4, "C4", AF_INET, "AF_INET", 0, {0}, {0}, {0}, 0, 0},
    {FD_S6, "S6", AF_INET6, "AF_INET6", 1, {0}, {0}, {0}, 0, 0},
    {FD_C6, "C6", AF_INET6, "AF_INET6", 0, {0}, {0}, {0}, 0, 0},
    {FD_B, "B", AF_INET, "AF_INET", 0, {0}, {0}, {0}, 0, 0},
    {FD_U, "U", AF_INET, "AF_INET", 0, {0}, {0}, {0}, 0, 0},
    {FD_D, "D", AF_INET6, "AF_INET6", 0, {0}, {0}, {0}, 0, 0},
};
#define NS (int)(sizeof g_s / sizeof g_s[0])

static struct sk *sk_of(int fd)
{
    for (int i = 0; i < NS; i++)
        if (g_s[i].fd == fd)
            return &g_s[i];
    tp_die("internal: no socket at fd %d", fd);
}

static int applies(const struct opt *o, const struct sk *s)
{
    return o->family == 0 || o->family == s->family;
}

/* ------------------------------------------------------------------ */
/* set-up                                                               */

static void put_at(int fd, int target, const char *what)
{
    if (tp_move_fd(fd, target, 0) != target)
        tp_die_errno("%s: move fd %d to %d", what, fd, target);
}

static int new_socket(int family, int flags, const char *what)
{
    int fd = socket(family, SOCK_DGRAM | flags, 0);
    if (fd < 0)
        tp_die_errno("%s: socket(%s, SOCK_DGRAM%s)", what, family == AF_INET ? "AF_INET" : "AF_INET6",
                     flags & SOCK_NONBLOCK ? " | SOCK_NONBLOCK" : "");
    return fd;
}

static void set_opt(int fd, int o, int v, const char *what)
{
    if (setsockopt(fd, g_opts[o].level, g_opts[o].name, &v, sizeof v) != 0)
        tp_die_errno("%s: setsockopt(%d, %s, %d)", what, fd, g_opts[o].label, v);
}

static void bind_to(int fd, const struct name *n, const char *what)
{
    if (bind(fd, (const struct sockaddr *)&n->a, n->len) != 0) {
        char s[256];
        tp_die_errno("%s: bind(%d, %s)", what, fd, name_str(n, s, sizeof s));
    }
}

static void connect_to(int fd, const struct name *n, const char *what)
{
    int r;
    while ((r = connect(fd, (const struct sockaddr *)&n->a, n->len)) != 0 && errno == EINTR) {}
    if (r != 0) {
        char s[256];
        tp_die_errno("%s: connect(%d, %s)", what, fd, name_str(n, s, sizeof s));
    }
}

/* Send len bytes of stream `which` from fd as one datagram (to dst, or to the connected peer
 * if dst is NULL) without blocking; 0, or -1 with errno (a short send: EMSGSIZE). */
static int send_dgram(int fd, const struct name *dst, size_t len, int which)
{
    static unsigned char out[sizeof g_buf];
    tp_pattern_fill(out, len, seed_of(which), 0);
    ssize_t w;
    while ((w = sendto(fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL, dst ? (const struct sockaddr *)&dst->a : NULL,
                       dst ? dst->len : 0)) < 0 &&
           errno == EINTR) {}
    if (w < 0)
        return -1;
    if ((size_t)w != len) {
        errno = EMSGSIZE;
        return -1;
    }
    return 0;
}

/* Receive one datagram at fd without blocking into g_buf; its length (or -1 with errno), the
 * sender in *from, MSG_TRUNC in *trunc. */
static ssize_t recv_dgram(int fd, struct name *from, int *trunc)
{
    memset(from, 0, sizeof *from);
    struct iovec io = {.iov_base = g_buf, .iov_len = sizeof g_buf};
    struct msghdr m = {.msg_name = &from->a, .msg_namelen = sizeof from->a, .msg_iov = &io, .msg_iovlen = 1};
    ssize_t r;
    while ((r = recvmsg(fd, &m, MSG_DONTWAIT)) < 0 && errno == EINTR) {}
    from->len = m.msg_namelen;
    *trunc = (m.msg_flags & MSG_TRUNC) != 0;
    return r;
}

static void record(struct sk *s)
{
    get_name(s->fd, 0, &s->self);
    get_name(s->fd, 1, &s->peer);
    for (int o = 0; o < NOPT; o++) {
        if (!applies(&g_opts[o], s))
            continue;
        socklen_t l = sizeof s->val[o];
        if (getsockopt(s->fd, g_opts[o].level, g_opts[o].name, &s->val[o], &l) != 0)
            tp_die_errno("%s: getsockopt(%d, %s)", s->label, s->fd, g_opts[o].label);
    }
    s->fdfl = fcntl(s->fd, F_GETFD);
    s->fl = fcntl(s->fd, F_GETFL);
    if (s->fdfl < 0 || s->fl < 0)
        tp_die_errno("%s: fcntl(%d, F_GETFD/F_GETFL)", s->label, s->fd);
}

/* The recorded name must be want; with any_port, any port but 0 (want's port ignored). */
static void expect_name(const struct sk *s, int peer, const struct name *want, int any_port)
{
    const struct name *got = peer ? &s->peer : &s->self;
    struct name w = *want;
    if (any_port && !got->err && got->len == w.len && got->a.ss_family == w.a.ss_family && port_of(got) != 0) {
        if (w.a.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&w.a)->sin6_port = in6(got)->sin6_port;
        else
            ((struct sockaddr_in *)&w.a)->sin_port = in4(got)->sin_port;
    }
    if (!same_name(got, &w)) {
        char a[256], b[256];
        tp_die("%s: %s(%d) gives %s, expected %s%s", s->label, peer ? "getpeername" : "getsockname", s->fd,
               name_str(got, a, sizeof a), name_str(&w, b, sizeof b), any_port ? " (with a port other than 0)" : "");
    }
}

/* Options as set up: flags exactly, buffer sizes at least what was asked (the kernel doubles). */
static void expect_opt(const struct sk *s, int o, int want, int at_least)
{
    int v = s->val[o];
    if (at_least ? v < want : v != want)
        tp_die("%s: %s of fd %d is %d after set-up, expected %s%d", s->label, g_opts[o].label, s->fd, v,
               at_least ? "at least " : "", want);
}

static void set_up(void)
{
    struct name any4, any6, lo4, lo6, notconn = {.err = ENOTCONN};
    name4(&any4, "0.0.0.0", 0);
    name6(&any6, "::", 0);
    name4(&lo4, "127.0.0.1", 0);
    name6(&lo6, "::1", 0);

    /* S4 */
    int fd = new_socket(AF_INET, 0, "S4");
    set_opt(fd, O_REUSEADDR, 1, "S4");
    set_opt(fd, O_RCVBUF, S4_RCVBUF, "S4");
    set_opt(fd, O_TOS, S4_TOS, "S4");
    bind_to(fd, &lo4, "S4");
    put_at(fd, FD_S4, "S4");
    struct name s4;
    get_name(FD_S4, 0, &s4);

    /* C4, and a datagram to S4 read at once */
    fd = new_socket(AF_INET, 0, "C4");
    set_opt(fd, O_SNDBUF, C4_SNDBUF, "C4");
    connect_to(fd, &s4, "C4");
    put_at(fd, FD_C4, "C4");
    if (send_dgram(FD_C4, NULL, DGRAM_LEN, P_SETUP) != 0)
        tp_die_errno("C4: send of %d bytes to S4 at set-up", DGRAM_LEN);
    if (!tp_wait_readable(FD_S4, WAIT_MS))
        tp_die("S4: the datagram from C4 did not arrive within %d ms at set-up", WAIT_MS);
    struct name from, c4;
    int trunc;
    ssize_t r = recv_dgram(FD_S4, &from, &trunc);
    if (r < 0)
        tp_die_errno("S4: recvmsg of C4's datagram at set-up");
    get_name(FD_C4, 0, &c4);
    if (r != DGRAM_LEN || trunc || tp_pattern_check(g_buf, DGRAM_LEN, seed_of(P_SETUP), 0) >= 0 ||
        !same_name(&from, &c4)) {
        char a[256], b[256];
        tp_die("S4: C4's datagram at set-up came as %zd bytes%s from %s, expected %d pattern bytes from %s", r,
               trunc ? " (MSG_TRUNC)" : "", name_str(&from, a, sizeof a), DGRAM_LEN, name_str(&c4, b, sizeof b));
    }

    /* S6, C6 */
    fd = new_socket(AF_INET6, SOCK_NONBLOCK, "S6");
    set_opt(fd, O_V6ONLY, 1, "S6");
    set_opt(fd, O_REUSEPORT, 1, "S6");
    set_opt(fd, O_TCLASS, S6_TCLASS, "S6");
    bind_to(fd, &lo6, "S6");
    put_at(fd, FD_S6, "S6");
    struct name s6;
    get_name(FD_S6, 0, &s6);
    fd = new_socket(AF_INET6, 0, "C6");
    connect_to(fd, &s6, "C6");
    put_at(fd, FD_C6, "C6");

    /* B, U */
    fd = new_socket(AF_INET, 0, "B");
    set_opt(fd, O_BROADCAST, 1, "B");
    bind_to(fd, &any4, "B");
    put_at(fd, FD_B, "B");
    fd = new_socket(AF_INET, 0, "U");
    put_at(fd, FD_U, "U");

    /* D: dual-stack, connected to S4 through the v4-mapped address */
    fd = new_socket(AF_INET6, 0, "D");
    set_opt(fd, O_V6ONLY, 0, "D");
    bind_to(fd, &any6, "D");
    struct name s4_mapped;
    name6(&s4_mapped, "::ffff:127.0.0.1", port_of(&s4));
    connect_to(fd, &s4_mapped, "D");
    put_at(fd, FD_D, "D");

    if (g_pending && send_dgram(FD_C4, NULL, PENDING_LEN, P_PENDING) != 0)
        tp_die_errno("--pending: send of %d bytes C4 -> S4", PENDING_LEN);

    for (int i = 0; i < NS; i++)
        record(&g_s[i]);

    /* What the set-up made. */
    struct name mapped;
    name6(&mapped, "::ffff:127.0.0.1", 0);
    struct sk *S4 = sk_of(FD_S4), *C4 = sk_of(FD_C4), *S6 = sk_of(FD_S6), *C6 = sk_of(FD_C6), *B = sk_of(FD_B),
              *U = sk_of(FD_U), *D = sk_of(FD_D);
    expect_name(S4, 0, &lo4, 1);
    expect_name(S4, 1, &notconn, 0);
    expect_name(C4, 0, &lo4, 1);
    expect_name(C4, 1, &S4->self, 0);
    expect_name(S6, 0, &lo6, 1);
    expect_name(S6, 1, &notconn, 0);
    expect_name(C6, 0, &lo6, 1);
    expect_name(C6, 1, &S6->self, 0);
    expect_name(B, 0, &any4, 1);
    expect_name(B, 1, &notconn, 0);
    expect_name(U, 0, &any4, 0);
    expect_name(U, 1, &notconn, 0);
    expect_name(D, 0, &mapped, 1);
    expect_name(D, 1, &s4_mapped, 0);
    expect_opt(S4, O_REUSEADDR, 1, 0);
    expect_opt(S4, O_RCVBUF, S4_RCVBUF, 1);
    expect_opt(S4, O_TOS, S4_TOS, 0);
    expect_opt(C4, O_SNDBUF, C4_SNDBUF, 1);
    expect_opt(S6, O_V6ONLY, 1, 0);
    expect_opt(S6, O_REUSEPORT, 1, 0);
    expect_opt(S6, O_TCLASS, S6_TCLASS, 0);
    expect_opt(B, O_BROADCAST, 1, 0);
    expect_opt(D, O_V6ONLY, 0, 0);
    for (int i = 0; i < NS; i++)
        if (!!(g_s[i].fl & O_NONBLOCK) != g_s[i].nonblock || (g_s[i].fdfl & FD_CLOEXEC))
            tp_die("%s: fd %d has F_GETFD 0x%x F_GETFL 0%o after set-up, expected %s and no FD_CLOEXEC", g_s[i].label,
                   g_s[i].fd, g_s[i].fdfl, g_s[i].fl, g_s[i].nonblock ? "O_NONBLOCK" : "no O_NONBLOCK");
}

/* ------------------------------------------------------------------ */
/* checks                                                               */

/* 0 if fd is a UDP socket of the family (the other checks make sense), else -1 (tp_fail'ed). */
static int check_sk(const struct sk *s)
{
    char what[32];
    snprintf(what, sizeof what, "%s (fd %d)", s->label, s->fd);
    struct stat st;
    if (fstat(s->fd, &st) != 0) {
        tp_fail("%s: fstat: %s (not open)", what, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        char t[PATH_MAX];
        tp_fd_target(s->fd, t, sizeof t);
        tp_fail("%s: not a socket (mode 0%o, %s)", what, st.st_mode, t);
        return -1;
    }
    int v, bad = 0;
    if (tp_sockopt_int(s->fd, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN", what, &v) != 0 || v != s->family) {
        tp_fail("%s: SO_DOMAIN is %d, expected %d (%s)", what, v, s->family, s->family_name);
        bad = 1;
    }
    if (tp_sockopt_int(s->fd, SOL_SOCKET, SO_TYPE, "SO_TYPE", what, &v) != 0 || v != SOCK_DGRAM) {
        tp_fail("%s: SO_TYPE is %d, expected %d (SOCK_DGRAM)", what, v, SOCK_DGRAM);
        bad = 1;
    }
    if (tp_sockopt_int(s->fd, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL", what, &v) != 0 || v != IPPROTO_UDP) {
        tp_fail("%s: SO_PROTOCOL is %d, expected %d (IPPROTO_UDP)", what, v, IPPROTO_UDP);
        bad = 1;
    }
    if (bad)
        return -1;

    int fdfl = fcntl(s->fd, F_GETFD), fl = fcntl(s->fd, F_GETFL);
    if (fdfl < 0 || fl < 0)
        tp_fail("%s: fcntl: %s", what, strerror(errno));
    else {
        if (!!(fl & O_NONBLOCK) != s->nonblock)
            tp_fail("%s: F_GETFL 0%o, expected %s", what, fl, s->nonblock ? "O_NONBLOCK" : "no O_NONBLOCK");
        else if (fl != s->fl)
            tp_fail("%s: F_GETFL 0%o, expected 0%o (as at set-up)", what, fl, s->fl);
        if (fdfl != s->fdfl)
            tp_fail("%s: F_GETFD 0x%x, expected 0x%x (as at set-up)", what, fdfl, s->fdfl);
    }

    struct name n;
    char s1[256], s2[256];
    get_name(s->fd, 0, &n);
    if (!same_name(&n, &s->self))
        tp_fail("%s: getsockname gives %s, expected %s", what, name_str(&n, s1, sizeof s1),
                name_str(&s->self, s2, sizeof s2));
    get_name(s->fd, 1, &n);
    if (!same_name(&n, &s->peer))
        tp_fail("%s: getpeername gives %s, expected %s", what, name_str(&n, s1, sizeof s1),
                name_str(&s->peer, s2, sizeof s2));

    for (int o = 0; o < NOPT; o++) {
        if (!applies(&g_opts[o], s))
            continue;
        if (tp_sockopt_int(s->fd, g_opts[o].level, g_opts[o].name, g_opts[o].label, what, &v) == 0 && v != s->val[o])
            tp_fail("%s: %s is %d, expected %d (as at set-up)", what, g_opts[o].label, v, s->val[o]);
    }
    if (tp_sockopt_int(s->fd, SOL_SOCKET, SO_ERROR, "SO_ERROR", what, &v) == 0 && v != 0)
        tp_fail("%s: SO_ERROR is %d (%s), expected 0", what, v, strerror(v));
    return 0;
}

/* Nothing waits at the socket: no POLLIN, no POLLERR (poll, timeout 0). */
static void check_nothing_waits(const struct sk *s, const char *when)
{
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, 0)) < 0 && errno == EINTR) {}
    if (r < 0)
        tp_fail("%s (fd %d): poll: %s", s->label, s->fd, strerror(errno));
    else if (r > 0 && (p.revents & (POLLIN | POLLERR | POLLNVAL))) {
        struct name from;
        int trunc;
        ssize_t n = recv_dgram(s->fd, &from, &trunc); /* tell what it was */
        char f[256];
        tp_fail("%s (fd %d): %s something waits (poll revents 0x%x; recvmsg gives %zd%s%s%s)", s->label, s->fd, when,
                p.revents, n, n < 0 ? ": " : " bytes from ", n < 0 ? strerror(errno) : name_str(&from, f, sizeof f),
                trunc ? ", MSG_TRUNC" : "");
    }
}

/* The next datagram at fd (already there: no wait) must be len bytes of stream `which` from
 * *want_from (NULL: any sender, returned in *got_from), then nothing more. 0 if so. */
static int check_recv(int fd, size_t len, int which, const struct name *want_from, struct name *got_from,
                      const char *what)
{
    struct name from;
    int trunc;
    ssize_t r = recv_dgram(fd, &from, &trunc);
    if (r < 0) {
        tp_fail("%s: recvmsg(%d): %s", what, fd, errno == EAGAIN ? "EAGAIN (nothing queued)" : strerror(errno));
        return -1;
    }
    int bad = 0;
    if (trunc || (size_t)r != len) {
        tp_fail("%s: recvmsg(%d) gave a datagram of %zd bytes%s, expected %zu", what, fd, r,
                trunc ? " (MSG_TRUNC)" : "", len);
        bad = 1;
    } else {
        ssize_t at = tp_pattern_check(g_buf, len, seed_of(which), 0);
        if (at >= 0) {
            tp_fail("%s: byte %zd of the datagram is 0x%02x, expected 0x%02x", what, at, g_buf[at],
                    tp_pattern_byte(seed_of(which), (uint64_t)at));
            bad = 1;
        }
    }
    if (want_from && !same_name(&from, want_from)) {
        char s1[256], s2[256];
        tp_fail("%s: the sender is %s, expected %s", what, name_str(&from, s1, sizeof s1),
                name_str(want_from, s2, sizeof s2));
        bad = 1;
    }
    if (got_from)
        *got_from = from;
    struct name more;
    r = recv_dgram(fd, &more, &trunc);
    if (r >= 0 || errno != EAGAIN) {
        char s1[256];
        tp_fail("%s: after the datagram recvmsg(%d) gave %zd%s%s, expected EAGAIN", what, fd, r,
                r < 0 ? ": " : " bytes from ", r < 0 ? strerror(errno) : name_str(&more, s1, sizeof s1));
        bad = 1;
    }
    return bad ? -1 : 0;
}

/* --pending: exactly the one datagram from C4 waits at S4. */
static void check_pending(void)
{
    const char *what = "--pending: the datagram waiting at S4 (fd 40)";
    struct pollfd p = {.fd = FD_S4, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, 0)) < 0 && errno == EINTR) {}
    if (r <= 0 || !(p.revents & POLLIN)) {
        tp_fail("%s: nothing waits (poll gives %d, revents 0x%x)", what, r, r > 0 ? p.revents : 0);
        return;
    }
    int q = -1;
    if (ioctl(FD_S4, FIONREAD, &q) != 0)
        tp_fail("%s: ioctl(FIONREAD): %s", what, strerror(errno));
    else if (q != PENDING_LEN)
        tp_fail("%s: FIONREAD (the first datagram's size) is %d, expected %d", what, q, PENDING_LEN);
    check_recv(FD_S4, PENDING_LEN, P_PENDING, &sk_of(FD_C4)->self, NULL, what);
}

/* A datagram from `from` (to dst, or by send if dst is NULL) arrives at `to` within WAIT_MS
 * from *want_from (NULL: any sender, returned in *got_from). 0 if it did. */
static int check_dgram(int from, const struct name *dst, int to, int which, const struct name *want_from,
                       struct name *got_from, const char *what)
{
    if (send_dgram(from, dst, DGRAM_LEN, which) != 0) {
        char s[256];
        tp_fail("%s: %s of %d bytes on fd %d%s%s: %s", what, dst ? "sendto" : "send", DGRAM_LEN, from,
                dst ? " to " : "", dst ? name_str(dst, s, sizeof s) : "", strerror(errno));
        return -1;
    }
    if (!tp_wait_readable(to, WAIT_MS)) {
        tp_fail("%s: the datagram sent on fd %d did not arrive at fd %d within %d ms", what, from, to, WAIT_MS);
        return -1;
    }
    return check_recv(to, DGRAM_LEN, which, want_from, got_from, what);
}

static void check_traffic(void)
{
    struct sk *S4 = sk_of(FD_S4), *C4 = sk_of(FD_C4), *S6 = sk_of(FD_S6), *C6 = sk_of(FD_C6), *B = sk_of(FD_B),
              *D = sk_of(FD_D);
    check_dgram(FD_C4, NULL, FD_S4, P_C4_S4, &C4->self, NULL, "C4 -> S4 (send)");
    check_dgram(FD_S4, &C4->self, FD_C4, P_S4_C4, &S4->self, NULL, "S4 -> C4 (sendto C4's name)");
    check_dgram(FD_C6, NULL, FD_S6, P_C6_S6, &C6->self, NULL, "C6 -> S6 (send)");
    check_dgram(FD_S6, &C6->self, FD_C6, P_S6_C6, &S6->self, NULL, "S6 -> C6 (sendto C6's name)");

    /* D: S4 sees it as 127.0.0.1 with D's port; D sees S4 as its (v4-mapped) peer. */
    struct name d4;
    name4(&d4, "127.0.0.1", port_of(&D->self));
    if (check_dgram(FD_D, NULL, FD_S4, P_D_S4, &d4, NULL, "D -> S4 (send through ::ffff:127.0.0.1)") == 0)
        check_dgram(FD_S4, &d4, FD_D, P_S4_D, &D->peer, NULL, "S4 -> D (sendto 127.0.0.1 and D's port)");

    /* U: autobound by its sendto; S4 answers whoever sent. */
    struct name u4, lo4;
    name4(&lo4, "127.0.0.1", 0);
    if (check_dgram(FD_U, &S4->self, FD_S4, P_U_S4, NULL, &u4, "U -> S4 (sendto)") == 0) {
        struct name want = u4;
        ((struct sockaddr_in *)&want.a)->sin_port = 0;
        if (!same_name(&want, &lo4) || port_of(&u4) == 0) {
            char s1[256];
            tp_fail("U -> S4 (sendto): the sender is %s, expected 127.0.0.1 and a port other than 0",
                    name_str(&u4, s1, sizeof s1));
        } else {
            check_dgram(FD_S4, &u4, FD_U, P_S4_U, &S4->self, NULL, "S4 -> U (sendto U's new name)");
        }
    }

    /* B: bound to any address; S4 sees 127.0.0.1 with B's port. */
    struct name b4;
    name4(&b4, "127.0.0.1", port_of(&B->self));
    if (check_dgram(FD_B, &S4->self, FD_S4, P_B_S4, &b4, NULL, "B -> S4 (sendto)") == 0)
        check_dgram(FD_S4, &b4, FD_B, P_S4_B, &S4->self, NULL, "S4 -> B (sendto 127.0.0.1 and B's port)");
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
    g_seed = tp_mix64((uint64_t)getpid() ^ ((uint64_t)time(NULL) << 20));

    set_up();

    for (int i = 0; i < NS; i++) {
        const struct sk *s = &g_s[i];
        char n1[256], n2[256], o[256];
        size_t pos = 0;
        for (int k = 0; k < NOPT; k++)
            if (applies(&g_opts[k], s))
                pos += (size_t)snprintf(o + pos, pos < sizeof o ? sizeof o - pos : 0, " %s=%d", g_opts[k].label,
                                        s->val[k]);
        tp_log("fd %d %s (%s%s): name %s, peer %s;%s", s->fd, s->label, s->family_name,
               s->nonblock ? ", O_NONBLOCK" : "", name_str(&s->self, n1, sizeof n1), name_str(&s->peer, n2, sizeof n2),
               o);
    }
    if (g_pending)
        tp_log("--pending: a datagram of %d bytes from C4 waits at S4", PENDING_LEN);

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    int fds[NS]; /* no descriptor but 0-2 and the sockets (40-46) */
    for (int i = 0; i < NS; i++)
        fds[i] = g_s[i].fd;
    tp_check_only_fds(fds, NS);
    int ok[NS];
    for (int i = 0; i < NS; i++)
        ok[i] = check_sk(&g_s[i]) == 0;
    if (g_pending)
        check_pending();
    for (int i = 0; i < NS; i++)
        if (ok[i])
            check_nothing_waits(&g_s[i], g_pending && g_s[i].fd == FD_S4 ? "after the pending datagram" : "before the traffic");
    check_traffic();
    for (int i = 0; i < NS; i++)
        if (ok[i])
            check_nothing_waits(&g_s[i], "after the traffic");
    tp_finish();
}

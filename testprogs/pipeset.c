/*
 * pipeset: a set of pipes and FIFOs created as told, for property tests.
 *
 *   pipeset --pidfile=F --outfile=O (--spec=FILE | --pipes=SPEC[;SPEC...])
 *           [--dir=D] [--layout=FILE] [--report=FILE] [--block=I:N]
 *
 * Each pipe is one line of FILE (blank lines and '#' comments ignored) or one
 * ';'-separated part of --pipes, made of key=value words (defaults in []):
 *
 *   kind=anon|fifo          pipe2() or mkfifo(D/fifo.I) [anon]
 *   ends=both|rdwr|read|write
 *                           which ends the process keeps: both (a read and a
 *                           write descriptor), rdwr (one O_RDWR descriptor,
 *                           FIFOs only), read or write only [both]
 *   cap=N                   F_SETPIPE_SZ before filling (k/m suffixes; a power
 *                           of two pages, at most pipe-max-size) [default 64 KiB]
 *   len=N                   unread bytes of a byte stream, 0..cap [0]
 *   direct=1                packet mode: pipe2(O_DIRECT), anonymous only
 *   packets=A,B,...         packet mode: packets of these sizes (1..4096 each,
 *                           at most cap/4096 of them), one write each
 *   data=random|pattern     content: random = tp_pattern_byte(seed, i),
 *                           pattern = (uint8_t)(seed + i % 251) [random]
 *   seed=N                  content seed [0]
 *   nb=none|r|w|rw          O_NONBLOCK on the read / write end (rdwr: any) [none]
 *   cloexec=none|r|w|rw     FD_CLOEXEC on the read / write end (rdwr: any) [none]
 *
 * The content of a pipe is bytes 0..total-1 of its stream; packets split it in
 * order. Pipes are created in order, so their descriptors are the lowest free
 * numbers. FIFOs are created in D (default: the outfile's directory) as
 * fifo.I (a stale node is replaced) and are left in place at exit, so a
 * restore after the original is gone finds them.
 *
 * --layout=FILE is written before the pidfile: one line per pipe,
 *   "pipe I rfd=R wfd=W cap=C path=P" (-1: end not held; path - for anon).
 *
 * --block=I:N: after the pidfile, the only thread writes bytes len..len+N-1
 * of pipe I's stream into its (blocking, full) write end, looping over short
 * writes, and only then waits for SIGTERM (still blocked, so never lost).
 * Someone else must read the pipe for the write to complete; at SIGTERM the
 * pipe must hold a suffix of the stream, and the write must have returned N.
 *
 * On SIGTERM, per pipe in order (each step reported, failures via tp_fail):
 *   flags     F_GETFD/F_GETFL of every held fd equal those recorded at set-up
 *   identity  every fd is a pipe, ends share the inode, a FIFO fd is the
 *             node at its path (st_dev, st_ino)
 *   capacity  F_GETPIPE_SZ equals the set-up capacity
 *   queued    FIONREAD equals the content length
 *   epipe     no read end held: a write gives EPIPE (no reader anywhere); then
 *             a reader is opened (/proc/self/fd/W or the FIFO path) for the rest
 *   room      a write end held: fresh bytes are written (non-blocking) until
 *             EAGAIN: a stream takes exactly cap - len more bytes (the
 *             partial last page first, then whole pages), a packet pipe
 *             exactly cap/4096 - packets one-byte packets: the data sits in
 *             as many pipe slots as the original writes made
 *   data      everything is read (one read per packet in packet mode): the
 *             content, byte for byte, then the fresh bytes; packet sizes kept
 *   after     the next read gives EAGAIN (a writer is held) or EOF (none)
 *   connected both ends held: 1000 fresh bytes (2 packets of 10 and 20 in
 *             packet mode) go through and come back
 * --report=FILE (written before the outfile) gets one line per pipe:
 *   pipe I kind=K ends=E rfd=R wfd=W rfdfl=X rfl=X wfdfl=X wfl=X cap=C
 *   ident=ok|bad queued=N epipe=yes|no|- room=N|- read=N bytes=N crc=XXXXXXXX
 *   chunks=A,B,...|- fresh=ok|bad|- after=eagain|eof|data|error
 *   connected=yes|no|- blocked=N|- calls=K|-
 * (flags in decimal, as F_GETFD/F_GETFL return them at the start of the
 * check; bytes = read - room, crc = CRC-32C of those bytes; chunks = the size
 * of every read in packet mode.)
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PIPES 64
#define PAGE 4096
#define MAX_PACKETS 256 /* 1 MiB / 4096 */

enum { ANON, FIFO };
enum { BOTH, RDWR, READ, WRITE };
enum { RANDOM, PATTERN };
static const char *kind_names[] = {"anon", "fifo"};
static const char *ends_names[] = {"both", "rdwr", "read", "write"};

struct pipe {
    int index;
    int kind, ends, data, direct;
    int cap_req;
    size_t len;
    int npackets;
    size_t packets[MAX_PACKETS];
    uint64_t seed;
    int rnb, wnb, rcx, wcx;

    /* set-up */
    char path[PATH_MAX];
    int rfd, wfd; /* -1: not held; rdwr: equal */
    int rfdfl, rfl, wfdfl, wfl;
    int cap;
    size_t total;

    /* blocked writer (--block) */
    size_t block_n, block_done;
    int block_calls;
};

static struct pipe pipes[MAX_PIPES];
static int npipes;
static int blocked = -1;

/* ------------------------------------------------------------------ */
/* content                                                              */

static void content_fill(const struct pipe *p, uint8_t *buf, size_t len, uint64_t off)
{
    if (p->data == RANDOM) {
        tp_pattern_fill(buf, len, p->seed, off);
        return;
    }
    for (size_t k = 0; k < len; k++)
        buf[k] = (uint8_t)(p->seed + (off + k) % 251);
}

/* fresh bytes written by the checks: not part of the content */
static uint64_t fresh_seed(const struct pipe *p, uint64_t what)
{
    return tp_mix64(p->seed ^ (what * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)p->index << 40));
}

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (c & 1 ? 0x82F63B78u : 0);
        crc_table[i] = c;
    }
}

static uint32_t crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = (c >> 8) ^ crc_table[(c ^ p[i]) & 0xff];
    return c ^ 0xFFFFFFFFu;
}

/* ------------------------------------------------------------------ */
/* spec parsing                                                         */

static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s)
        return -1;
    switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    }
    if (*end)
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_ends_flags(const char *v, int *r, int *w)
{
    if (!strcmp(v, "none")) *r = 0, *w = 0;
    else if (!strcmp(v, "r")) *r = 1, *w = 0;
    else if (!strcmp(v, "w")) *r = 0, *w = 1;
    else if (!strcmp(v, "rw")) *r = 1, *w = 1;
    else return -1;
    return 0;
}

static void parse_pipe(char *text)
{
    if (npipes == MAX_PIPES)
        tp_die("more than %d pipes", MAX_PIPES);
    struct pipe *p = &pipes[npipes];
    memset(p, 0, sizeof *p);
    p->index = npipes;
    p->rfd = p->wfd = -1;
    int has_len = 0, has_packets = 0;
    char *save;
    for (char *word = strtok_r(text, " \t\r", &save); word; word = strtok_r(NULL, " \t\r", &save)) {
        char *eq = strchr(word, '=');
        if (!eq)
            tp_die("pipe %d: '%s' is not key=value", npipes, word);
        *eq = '\0';
        const char *k = word, *v = eq + 1;
        size_t n;
        if (!strcmp(k, "kind")) {
            if (!strcmp(v, "anon")) p->kind = ANON;
            else if (!strcmp(v, "fifo")) p->kind = FIFO;
            else tp_die("pipe %d: kind=%s", npipes, v);
        } else if (!strcmp(k, "ends")) {
            int e;
            for (e = 0; e < 4 && strcmp(v, ends_names[e]); e++)
                ;
            if (e == 4)
                tp_die("pipe %d: ends=%s", npipes, v);
            p->ends = e;
        } else if (!strcmp(k, "cap")) {
            if (parse_size(v, &n) || n < PAGE || n > (1u << 30))
                tp_die("pipe %d: cap=%s", npipes, v);
            p->cap_req = (int)n;
        } else if (!strcmp(k, "len")) {
            if (parse_size(v, &n))
                tp_die("pipe %d: len=%s", npipes, v);
            p->len = n;
            has_len = 1;
        } else if (!strcmp(k, "direct")) {
            if (strcmp(v, "0") && strcmp(v, "1"))
                tp_die("pipe %d: direct=%s", npipes, v);
            p->direct = v[0] == '1';
        } else if (!strcmp(k, "packets")) {
            has_packets = 1;
            p->direct = 1;
            char *s2, *list = strdup(v);
            for (char *t = strtok_r(list, ",", &s2); t; t = strtok_r(NULL, ",", &s2)) {
                if (p->npackets == MAX_PACKETS)
                    tp_die("pipe %d: more than %d packets", npipes, MAX_PACKETS);
                if (parse_size(t, &n) || n < 1 || n > PAGE)
                    tp_die("pipe %d: packet size %s (1..%d)", npipes, t, PAGE);
                p->packets[p->npackets++] = n;
            }
            free(list);
        } else if (!strcmp(k, "data")) {
            if (!strcmp(v, "random")) p->data = RANDOM;
            else if (!strcmp(v, "pattern")) p->data = PATTERN;
            else tp_die("pipe %d: data=%s", npipes, v);
        } else if (!strcmp(k, "seed")) {
            char *end;
            errno = 0;
            p->seed = strtoull(v, &end, 0);
            if (errno || end == v || *end)
                tp_die("pipe %d: seed=%s", npipes, v);
        } else if (!strcmp(k, "nb")) {
            if (parse_ends_flags(v, &p->rnb, &p->wnb))
                tp_die("pipe %d: nb=%s", npipes, v);
        } else if (!strcmp(k, "cloexec")) {
            if (parse_ends_flags(v, &p->rcx, &p->wcx))
                tp_die("pipe %d: cloexec=%s", npipes, v);
        } else {
            tp_die("pipe %d: unknown key '%s'", npipes, k);
        }
    }
    if (has_len && has_packets)
        tp_die("pipe %d: len= and packets= exclude each other", npipes);
    if (p->direct && p->kind == FIFO)
        tp_die("pipe %d: packet mode exists for anonymous pipes only (pipe2)", npipes);
    if (p->ends == RDWR && p->kind != FIFO)
        tp_die("pipe %d: ends=rdwr needs kind=fifo", npipes);
    p->total = p->len;
    for (int k = 0; k < p->npackets; k++)
        p->total += p->packets[k];
    npipes++;
}

static void parse_specs(char *text)
{
    char *save;
    for (char *line = strtok_r(text, ";\n", &save); line; line = strtok_r(NULL, ";\n", &save)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        if (strspn(line, " \t\r") == strlen(line))
            continue;
        /* parse_pipe uses its own strtok_r state on a copy */
        char *copy = strdup(line);
        parse_pipe(copy);
        free(copy);
    }
}

static char *read_whole(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        tp_die_errno("open %s", path);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    if (!buf)
        tp_die("out of memory reading %s", path);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* ------------------------------------------------------------------ */
/* set-up                                                               */

static int set_fl(int fd, int nonblock)
{
    return tp_set_nonblock(fd, nonblock);
}

static int set_cloexec(int fd, int on)
{
    return fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0);
}

static void setup_pipe(struct pipe *p, const char *dir)
{
    int r, w;
    if (p->kind == ANON) {
        int fds[2];
        if (pipe2(fds, p->direct ? O_DIRECT : 0) != 0)
            tp_die_errno("pipe %d: pipe2", p->index);
        r = fds[0];
        w = fds[1];
        strcpy(p->path, "-");
    } else {
        if (snprintf(p->path, sizeof p->path, "%s/fifo.%d", dir, p->index) >= (int)sizeof p->path)
            tp_die("pipe %d: --dir too long", p->index);
        tp_make_fifo(p->path);
        if (p->ends == RDWR) {
            r = w = open(p->path, O_RDWR | O_NONBLOCK);
            if (r < 0)
                tp_die_errno("pipe %d: open(%s, O_RDWR)", p->index, p->path);
        } else {
            r = open(p->path, O_RDONLY | O_NONBLOCK);
            if (r < 0)
                tp_die_errno("pipe %d: open(%s, O_RDONLY)", p->index, p->path);
            w = open(p->path, O_WRONLY | O_NONBLOCK);
            if (w < 0)
                tp_die_errno("pipe %d: open(%s, O_WRONLY)", p->index, p->path);
        }
    }
    if (p->cap_req) {
        int c = fcntl(w, F_SETPIPE_SZ, p->cap_req);
        if (c < 0)
            tp_die_errno("pipe %d: F_SETPIPE_SZ(%d) (see /proc/sys/fs/pipe-max-size)", p->index,
                         p->cap_req);
        if (c != p->cap_req)
            tp_die("pipe %d: F_SETPIPE_SZ(%d) gave %d: not a power of two pages", p->index,
                   p->cap_req, c);
    }
    p->cap = fcntl(w, F_GETPIPE_SZ);
    if (p->cap < 0)
        tp_die_errno("pipe %d: F_GETPIPE_SZ", p->index);
    if (p->len > (size_t)p->cap)
        tp_die("pipe %d: len=%zu exceeds the capacity %d", p->index, p->len, p->cap);
    if (p->npackets > p->cap / PAGE)
        tp_die("pipe %d: %d packets exceed the %d slots", p->index, p->npackets, p->cap / PAGE);

    if (p->total) {
        uint8_t *buf = malloc(p->total);
        if (!buf)
            tp_die("pipe %d: out of memory", p->index);
        content_fill(p, buf, p->total, 0);
        if (p->npackets) {
            if (tp_set_nonblock(w, 1) != 0)
                tp_die_errno("pipe %d: O_NONBLOCK", p->index);
            size_t off = 0;
            for (int k = 0; k < p->npackets; k++) {
                ssize_t n = write(w, buf + off, p->packets[k]);
                if (n != (ssize_t)p->packets[k])
                    tp_die("pipe %d: packet %d of %zu bytes: write gave %zd (%s)", p->index, k,
                           p->packets[k], n, n < 0 ? strerror(errno) : "short");
                off += p->packets[k];
            }
        } else {
            char what[64];
            snprintf(what, sizeof what, "pipe %d", p->index);
            tp_fill_nonblock(w, buf, p->len, what); /* one write: whole pages */
        }
        free(buf);
    }

    if (p->ends == READ) {
        if (close(w) != 0)
            tp_die_errno("pipe %d: close(write end)", p->index);
        w = -1;
    } else if (p->ends == WRITE) {
        if (close(r) != 0)
            tp_die_errno("pipe %d: close(read end)", p->index);
        r = -1;
    }
    p->rfd = r;
    p->wfd = w;
    if (p->ends == RDWR) {
        if (set_fl(r, p->rnb || p->wnb) != 0 || set_cloexec(r, p->rcx || p->wcx) != 0)
            tp_die_errno("pipe %d: flags", p->index);
    } else {
        if (r >= 0 && (set_fl(r, p->rnb) != 0 || set_cloexec(r, p->rcx) != 0))
            tp_die_errno("pipe %d: read end flags", p->index);
        if (w >= 0 && (set_fl(w, p->wnb) != 0 || set_cloexec(w, p->wcx) != 0))
            tp_die_errno("pipe %d: write end flags", p->index);
    }
}

static void record_flags(struct pipe *p)
{
    p->rfdfl = p->rfl = p->wfdfl = p->wfl = -1;
    if (p->rfd >= 0 && ((p->rfdfl = fcntl(p->rfd, F_GETFD)) < 0 || (p->rfl = fcntl(p->rfd, F_GETFL)) < 0))
        tp_die_errno("pipe %d: fcntl(%d)", p->index, p->rfd);
    if (p->wfd >= 0 && ((p->wfdfl = fcntl(p->wfd, F_GETFD)) < 0 || (p->wfl = fcntl(p->wfd, F_GETFL)) < 0))
        tp_die_errno("pipe %d: fcntl(%d)", p->index, p->wfd);
}

/* ------------------------------------------------------------------ */
/* blocked writer                                                       */

static void blocked_write(struct pipe *p)
{
    uint8_t *buf = malloc(p->block_n);
    if (!buf) {
        tp_fail("pipe %d: out of memory for the blocked write", p->index);
        return;
    }
    content_fill(p, buf, p->block_n, p->total);
    tp_log("pipe %d: writing %zu bytes into the full pipe (fd %d); blocks until read", p->index,
           p->block_n, p->wfd);
    while (p->block_done < p->block_n) {
        ssize_t n = write(p->wfd, buf + p->block_done, p->block_n - p->block_done);
        p->block_calls++;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            tp_fail("pipe %d: the blocked write failed after %zu of %zu bytes: %s", p->index,
                    p->block_done, p->block_n, strerror(errno));
            break;
        }
        p->block_done += (size_t)n;
    }
    tp_log("pipe %d: the blocked write returned: %zu of %zu bytes in %d call(s)", p->index,
           p->block_done, p->block_n, p->block_calls);
    free(buf);
}

/* ------------------------------------------------------------------ */
/* checks                                                               */


/* a growing comma-separated list of sizes */
struct list {
    char *s;
    size_t len, cap;
};

static void list_add(struct list *l, size_t v)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%s%zu", l->len ? "," : "", v);
    if (l->len + (size_t)n + 1 > l->cap) {
        l->cap = (l->len + (size_t)n + 1) * 2;
        l->s = realloc(l->s, l->cap);
        if (!l->s)
            tp_die("out of memory");
    }
    memcpy(l->s + l->len, num, (size_t)n + 1);
    l->len += (size_t)n;
}

struct result {
    int rfdfl, rfl, wfdfl, wfl, cap, ident_ok, queued;
    const char *epipe;
    long room; /* -1: not measured */
    size_t read;
    long bytes;
    uint32_t crc;
    struct list chunks;
    const char *fresh, *after, *connected;
};

static ssize_t read_retry(int fd, void *buf, size_t n)
{
    ssize_t r;
    do
        r = read(fd, buf, n);
    while (r < 0 && errno == EINTR);
    return r;
}

static ssize_t write_retry(int fd, const void *buf, size_t n)
{
    ssize_t r;
    do
        r = write(fd, buf, n);
    while (r < 0 && errno == EINTR);
    return r;
}

static int same_file(int fd, const struct stat *ref, struct stat *out)
{
    if (fstat(fd, out) != 0)
        return 0;
    if (!S_ISFIFO(out->st_mode))
        return 0;
    return !ref || (ref->st_dev == out->st_dev && ref->st_ino == out->st_ino);
}

static void check_identity(struct pipe *p, struct result *res)
{
    struct stat a, b, node;
    res->ident_ok = 1;
    int first = p->rfd >= 0 ? p->rfd : p->wfd;
    if (!same_file(first, NULL, &a)) {
        tp_fail("pipe %d: fd %d is no longer a pipe", p->index, first);
        res->ident_ok = 0;
        return;
    }
    if (p->rfd >= 0 && p->wfd >= 0 && p->rfd != p->wfd && !same_file(p->wfd, &a, &b)) {
        tp_fail("pipe %d: read fd %d and write fd %d are not one pipe", p->index, p->rfd, p->wfd);
        res->ident_ok = 0;
    }
    if (p->kind == FIFO) {
        if (stat(p->path, &node) != 0) {
            tp_fail("pipe %d: stat(%s): %s", p->index, p->path, strerror(errno));
            res->ident_ok = 0;
        } else if (!S_ISFIFO(node.st_mode) || node.st_dev != a.st_dev || node.st_ino != a.st_ino) {
            tp_fail("pipe %d: fd %d (dev %lu ino %lu) is not the FIFO at %s (dev %lu ino %lu)",
                    p->index, first, (unsigned long)a.st_dev, (unsigned long)a.st_ino, p->path,
                    (unsigned long)node.st_dev, (unsigned long)node.st_ino);
            res->ident_ok = 0;
        }
    }
}

/* Fresh bytes into the write end until EAGAIN: the partial last page first
 * (it merges), then whole pages; packets: 1-byte packets. */
static long measure_room(struct pipe *p, int wr)
{
    if (tp_set_nonblock(wr, 1) != 0) {
        tp_fail("pipe %d: O_NONBLOCK on fd %d: %s", p->index, wr, strerror(errno));
        return -1;
    }
    uint8_t *fresh = malloc((size_t)p->cap);
    if (!fresh) {
        tp_fail("pipe %d: out of memory", p->index);
        return -1;
    }
    tp_pattern_fill(fresh, (size_t)p->cap, fresh_seed(p, 1), 0);
    size_t room = 0;
    int direct = p->direct;
    for (;;) {
        size_t want;
        if (direct)
            want = 1;
        else if (room == 0 && p->total % PAGE)
            want = PAGE - p->total % PAGE;
        else
            want = 65536;
        if (room + want > (size_t)p->cap)
            want = (size_t)p->cap - room;
        if (want == 0)
            break;
        ssize_t n = write_retry(wr, fresh + room, want);
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) {
            tp_fail("pipe %d: writing fresh bytes after %zu: %s", p->index, room, strerror(errno));
            free(fresh);
            return -1;
        }
        room += (size_t)n;
    }
    free(fresh);
    return (long)room;
}

static void check_pipe(struct pipe *p, struct result *res, uint8_t *buf, size_t bufsize)
{
    memset(res, 0, sizeof *res);
    res->epipe = res->fresh = res->connected = "-";
    res->after = "error";
    res->room = -1;
    res->bytes = -1;

    /* flags first: the checks below change O_NONBLOCK */
    res->rfdfl = res->rfl = res->wfdfl = res->wfl = -1;
    if (p->rfd >= 0) {
        res->rfdfl = fcntl(p->rfd, F_GETFD);
        res->rfl = fcntl(p->rfd, F_GETFL);
        tp_check_fd_flags(p->rfd, p->wfd == p->rfd ? "rdwr end" : "read end", p->rfdfl, p->rfl);
    }
    if (p->wfd >= 0 && p->wfd != p->rfd) {
        res->wfdfl = fcntl(p->wfd, F_GETFD);
        res->wfl = fcntl(p->wfd, F_GETFL);
        tp_check_fd_flags(p->wfd, "write end", p->wfdfl, p->wfl);
    } else if (p->wfd >= 0) {
        res->wfdfl = res->rfdfl;
        res->wfl = res->rfl;
    }
    check_identity(p, res);
    if (!res->ident_ok)
        return;

    int any = p->wfd >= 0 ? p->wfd : p->rfd;
    res->cap = fcntl(any, F_GETPIPE_SZ);
    if (res->cap != p->cap)
        tp_fail("pipe %d: capacity (F_GETPIPE_SZ) is %d, expected %d", p->index, res->cap, p->cap);

    int rd = p->rfd, own_reader = -1;
    if (p->rfd >= 0 && ioctl(p->rfd, FIONREAD, &res->queued) != 0)
        tp_fail("pipe %d: FIONREAD: %s", p->index, strerror(errno));

    if (p->rfd < 0) {
        /* no reader anywhere: EPIPE; then a reader of our own for the rest */
        ssize_t n = write_retry(p->wfd, "x", 1);
        res->epipe = n < 0 && errno == EPIPE ? "yes" : "no";
        if (n >= 0 || errno != EPIPE)
            tp_fail("pipe %d: a write without any reader gave %zd (%s), expected EPIPE", p->index,
                    n, n < 0 ? strerror(errno) : "written: a reader exists somewhere");
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", p->wfd);
        own_reader = open(p->kind == FIFO ? p->path : proc, O_RDONLY | O_NONBLOCK);
        if (own_reader < 0) {
            tp_fail("pipe %d: opening a reader: %s", p->index, strerror(errno));
            return;
        }
        rd = own_reader;
        if (ioctl(rd, FIONREAD, &res->queued) != 0)
            tp_fail("pipe %d: FIONREAD: %s", p->index, strerror(errno));
    }
    if (blocked != p->index && (size_t)res->queued != p->total)
        tp_fail("pipe %d: %d bytes queued (FIONREAD), expected %zu", p->index, res->queued, p->total);

    size_t expect_room = p->direct ? (size_t)(p->cap / PAGE - p->npackets) : (size_t)p->cap - p->total;
    if (p->wfd >= 0 && blocked != p->index) {
        res->room = measure_room(p, p->wfd);
        if (res->room >= 0 && (size_t)res->room != expect_room)
            tp_fail("pipe %d: took %ld more %s before EAGAIN, expected %zu (capacity %d, %zu "
                    "bytes held)", p->index, res->room, p->direct ? "packets" : "bytes",
                    expect_room, p->cap, p->total);
    }
    size_t room = res->room > 0 ? (size_t)res->room : 0;

    /* data */
    if (tp_set_nonblock(rd, 1) != 0) {
        tp_fail("pipe %d: O_NONBLOCK on fd %d: %s", p->index, rd, strerror(errno));
        goto out;
    }
    size_t got = 0;
    ssize_t n = -1;
    errno = 0;
    for (;;) {
        size_t want = bufsize - got < 65536 ? bufsize - got : 65536;
        if (want == 0) {
            tp_fail("pipe %d: more than %zu bytes in the pipe", p->index, bufsize);
            break;
        }
        n = read_retry(rd, buf + got, want);
        if (n <= 0)
            break;
        if (p->direct)
            list_add(&res->chunks, (size_t)n);
        got += (size_t)n;
    }
    res->after = n == 0 ? "eof" : n < 0 && errno == EAGAIN ? "eagain" : n < 0 ? "error" : "data";
    res->read = got;
    res->bytes = (long)(got >= room ? got - room : got);
    res->crc = crc32c(buf, (size_t)res->bytes);

    if (blocked == p->index) {
        /* what is left must be the end of content + blocked bytes */
        size_t end = p->total + p->block_n;
        if (got > end)
            tp_fail("pipe %d: %zu bytes left, more than the %zu ever written", p->index, got, end);
        else {
            uint8_t *want = malloc(got ? got : 1);
            content_fill(p, want, got, end - got);
            if (memcmp(want, buf, got) != 0)
                tp_fail("pipe %d: the %zu bytes left are not the end of the stream", p->index, got);
            free(want);
        }
        if (p->block_done != p->block_n)
            tp_fail("pipe %d: the blocked write returned %zu of %zu bytes", p->index, p->block_done,
                    p->block_n);
    } else {
        if ((size_t)res->bytes != p->total)
            tp_fail("pipe %d: %ld bytes of content read, expected %zu (%zu read, %zu fresh)",
                    p->index, res->bytes, p->total, got, room);
        uint8_t *want = malloc(p->total ? p->total : 1);
        content_fill(p, want, p->total, 0);
        size_t cmp = (size_t)res->bytes < p->total ? (size_t)res->bytes : p->total;
        for (size_t i = 0; i < cmp; i++)
            if (buf[i] != want[i]) {
                tp_fail("pipe %d: byte %zu is 0x%02x, expected 0x%02x", p->index, i, buf[i], want[i]);
                break;
            }
        free(want);
        if (room) {
            uint8_t *fresh = malloc(room);
            if (fresh)
                tp_pattern_fill(fresh, room, fresh_seed(p, 1), 0);
            int ok = fresh && got >= room && memcmp(buf + got - room, fresh, room) == 0;
            free(fresh);
            res->fresh = ok ? "ok" : "bad";
            if (!ok)
                tp_fail("pipe %d: the %zu fresh bytes did not come back behind the content", p->index, room);
        }
        if (p->direct) {
            /* one read per packet, then the 1-byte fresh packets */
            struct list expect = {0};
            for (int k = 0; k < p->npackets; k++)
                list_add(&expect, p->packets[k]);
            for (size_t k = 0; k < room; k++)
                list_add(&expect, 1);
            const char *found = res->chunks.s ? res->chunks.s : "";
            if (strcmp(expect.s ? expect.s : "", found) != 0)
                tp_fail("pipe %d: reads returned [%s], expected packets [%s]", p->index, found,
                        expect.s ? expect.s : "");
            free(expect.s);
        }
    }
    const char *after_expected = p->wfd >= 0 ? "eagain" : "eof";
    if (strcmp(res->after, after_expected) != 0)
        tp_fail("pipe %d: after the data read gave %s, expected %s", p->index, res->after,
                after_expected);

    /* both ends held: still connected */
    if (p->rfd >= 0 && p->wfd >= 0 && !strcmp(res->after, "eagain")) {
        int ok = 1;
        if (tp_set_nonblock(p->wfd, 1) != 0)
            ok = 0;
        if (p->direct) {
            /* both queued at once, unless the pipe has a single slot */
            static const size_t sizes[2] = {10, 20};
            uint8_t out[32], in[64];
            int together = p->cap / PAGE >= 2;
            for (int k = 0; k < 2 && ok; k++) {
                tp_pattern_fill(out, sizes[k], fresh_seed(p, 2), 100 * (uint64_t)k);
                ok = write_retry(p->wfd, out, sizes[k]) == (ssize_t)sizes[k];
                if (ok && (!together || k == 1))
                    for (int j = together ? 0 : k; j <= k && ok; j++) {
                        tp_pattern_fill(out, sizes[j], fresh_seed(p, 2), 100 * (uint64_t)j);
                        ok = read_retry(p->rfd, in, sizeof in) == (ssize_t)sizes[j] &&
                             !memcmp(in, out, sizes[j]);
                    }
            }
            ok = ok && read_retry(p->rfd, in, 1) < 0 && errno == EAGAIN;
            if (!ok)
                tp_fail("pipe %d: 2 fresh packets did not go through with their boundaries", p->index);
        } else {
            char what[32];
            snprintf(what, sizeof what, "pipe %d", p->index);
            ok = ok && tp_check_roundtrip(p->rfd, p->wfd, what, 1000, fresh_seed(p, 3)) == 0;
        }
        res->connected = ok ? "yes" : "no";
    }
out:
    if (own_reader >= 0)
        close(own_reader);
}

static void report_line(FILE *f, const struct pipe *p, const struct result *r)
{
    fprintf(f, "pipe %d kind=%s ends=%s rfd=%d wfd=%d rfdfl=%d rfl=%d wfdfl=%d wfl=%d cap=%d "
               "ident=%s queued=%d epipe=%s room=",
            p->index, kind_names[p->kind], ends_names[p->ends], p->rfd, p->wfd, r->rfdfl, r->rfl,
            r->wfdfl, r->wfl, r->cap, r->ident_ok ? "ok" : "bad", r->queued, r->epipe);
    if (r->room >= 0)
        fprintf(f, "%ld", r->room);
    else
        fputc('-', f);
    fprintf(f, " read=%zu bytes=%ld crc=%08x chunks=%s fresh=%s after=%s connected=%s", r->read,
            r->bytes, r->crc, r->chunks.s ? r->chunks.s : "-", r->fresh, r->after, r->connected);
    if (blocked == p->index)
        fprintf(f, " blocked=%zu calls=%d\n", p->block_done, p->block_calls);
    else
        fprintf(f, " blocked=- calls=-\n");
}

int main(int argc, char **argv)
{
    tp_init(argc, argv,
            "(--spec=FILE | --pipes=SPEC[;SPEC...]) [--dir=D] [--layout=FILE] [--report=FILE] "
            "[--block=I:N]");
    const char *spec = tp_arg_str("spec", NULL);
    const char *inline_spec = tp_arg_str("pipes", NULL);
    const char *dir = tp_arg_str("dir", NULL);
    const char *layout = tp_arg_str("layout", NULL);
    const char *report = tp_arg_str("report", NULL);
    const char *block = tp_arg_str("block", NULL);
    tp_args_done();
    crc_init();

    if (!spec == !inline_spec)
        tp_die("give exactly one of --spec=FILE and --pipes=SPEC");
    char *text = spec ? read_whole(spec) : strdup(inline_spec);
    parse_specs(text);
    free(text);

    char outdir[PATH_MAX];
    if (!dir) {
        if (snprintf(outdir, sizeof outdir, "%s", tp_outfile) >= (int)sizeof outdir)
            tp_die("outfile path too long");
        dir = dirname(outdir);
    }

    if (block) {
        char *end;
        long i = strtol(block, &end, 10);
        size_t n;
        if (end == block || *end != ':' || i < 0 || i >= npipes || parse_size(end + 1, &n) || n == 0)
            tp_die("--block=%s: expected I:N with 0 <= I < %d and N > 0", block, npipes);
        struct pipe *p = &pipes[i];
        if (p->direct || p->ends == READ || p->ends == WRITE || p->wnb ||
            (p->ends == RDWR && p->rnb))
            tp_die("--block=%ld: the pipe must be a stream with both ends held and a blocking "
                   "write end", i);
        blocked = (int)i;
        p->block_n = n;
    }

    for (int i = 0; i < npipes; i++)
        setup_pipe(&pipes[i], dir);
    if (blocked >= 0 && pipes[blocked].len != (size_t)pipes[blocked].cap)
        tp_die("--block=%d: the pipe must be full (len = cap = %d)", blocked, pipes[blocked].cap);
    for (int i = 0; i < npipes; i++) {
        struct pipe *p = &pipes[i];
        record_flags(p);
        tp_log("pipe %d: %s %s rfd %d wfd %d cap %d, %zu bytes%s%s", i, kind_names[p->kind],
               ends_names[p->ends], p->rfd, p->wfd, p->cap, p->total,
               p->direct ? " in packets" : "", p->kind == FIFO ? p->path : "");
    }
    if (layout) {
        char *out = NULL;
        size_t outlen = 0;
        FILE *f = open_memstream(&out, &outlen);
        for (int i = 0; i < npipes; i++)
            fprintf(f, "pipe %d rfd=%d wfd=%d cap=%d path=%s\n", i, pipes[i].rfd, pipes[i].wfd,
                    pipes[i].cap, pipes[i].path);
        fclose(f);
        if (tp_write_file_atomic(layout, out) != 0)
            tp_die_errno("writing %s", layout);
        free(out);
    }

    tp_ready();
    if (blocked >= 0)
        blocked_write(&pipes[blocked]);
    tp_wait_sigterm();
    tp_begin_check();
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        tp_fail("signal(SIGPIPE, SIG_IGN): %s", strerror(errno));

    size_t bufsize = (2u << 20) + (16u << 20);
    uint8_t *buf = malloc(bufsize);
    if (!buf) {
        tp_fail("out of memory");
        tp_finish();
    }
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    for (int i = 0; i < npipes; i++) {
        struct result r;
        check_pipe(&pipes[i], &r, buf, bufsize);
        report_line(f, &pipes[i], &r);
        free(r.chunks.s);
    }
    fclose(f);
    free(buf);
    if (report && tp_write_file_atomic(report, out) != 0)
        tp_fail("writing the report %s: %s", report, strerror(errno));
    free(out);
    tp_finish();
}

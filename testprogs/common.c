/* Shared code of the test programs: see common.h and README.md. */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *tp_prog = "testprog";
const char *tp_pidfile;
const char *tp_outfile;
pid_t tp_pid;

/* ------------------------------------------------------------------ */
/* arguments                                                            */

#define TP_MAX_ARGS 64

struct tp_opt {
    const char *name;   /* without the leading "--", up to '=' */
    size_t name_len;
    const char *value;  /* after '=', NULL for a bare flag */
    int used;
};

static struct tp_opt tp_opts[TP_MAX_ARGS];
static int tp_nopts;
static const char *tp_usage_extra = "";

__attribute__((noreturn)) static void tp_usage_exit(int code)
{
    fprintf(code ? stderr : stdout, "usage: %s --pidfile=F --outfile=O%s%s\n", tp_prog,
            tp_usage_extra[0] ? " " : "", tp_usage_extra);
    exit(code);
}

static struct tp_opt *tp_find(const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < tp_nopts; i++)
        if (tp_opts[i].name_len == len && memcmp(tp_opts[i].name, name, len) == 0) {
            tp_opts[i].used = 1;
            return &tp_opts[i];
        }
    return NULL;
}

void tp_init(int argc, char **argv, const char *usage_extra)
{
    if (argc > 0 && argv[0]) {
        const char *slash = strrchr(argv[0], '/');
        tp_prog = slash ? slash + 1 : argv[0];
    }
    if (usage_extra)
        tp_usage_extra = usage_extra;

    /* Block SIGTERM first thing: it is only ever consumed synchronously
     * (sigwaitinfo / sigtimedwait) or unblocked deliberately (pipewriter). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        tp_die_errno("sigprocmask(SIG_BLOCK, SIGTERM)");

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            tp_usage_exit(0);
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            fprintf(stderr, "%s: unexpected argument '%s'\n", tp_prog, a);
            tp_usage_exit(1);
        }
        if (tp_nopts == TP_MAX_ARGS) {
            fprintf(stderr, "%s: too many arguments\n", tp_prog);
            tp_usage_exit(1);
        }
        struct tp_opt *o = &tp_opts[tp_nopts++];
        o->name = a + 2;
        const char *eq = strchr(o->name, '=');
        o->name_len = eq ? (size_t)(eq - o->name) : strlen(o->name);
        o->value = eq ? eq + 1 : NULL;
        for (int j = 0; j < tp_nopts - 1; j++)
            if (tp_opts[j].name_len == o->name_len &&
                memcmp(tp_opts[j].name, o->name, o->name_len) == 0) {
                fprintf(stderr, "%s: option '%s' given twice\n", tp_prog, a);
                tp_usage_exit(1);
            }
    }
    tp_pidfile = tp_arg_str("pidfile", NULL);
    tp_outfile = tp_arg_str("outfile", NULL);
    if (!tp_pidfile || !tp_pidfile[0] || !tp_outfile || !tp_outfile[0]) {
        fprintf(stderr, "%s: --pidfile=F and --outfile=O are required\n", tp_prog);
        tp_usage_exit(1);
    }
}

const char *tp_arg_str(const char *name, const char *def)
{
    struct tp_opt *o = tp_find(name);
    if (!o)
        return def;
    if (!o->value) {
        fprintf(stderr, "%s: option --%s needs a value (--%s=...)\n", tp_prog, name, name);
        tp_usage_exit(1);
    }
    return o->value;
}

unsigned long long tp_arg_ull(const char *name, unsigned long long def,
                              unsigned long long min, unsigned long long max)
{
    const char *s = tp_arg_str(name, NULL);
    if (!s)
        return def;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || s[0] == '-')
        goto bad;
    unsigned long long mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1ULL << 10; end++; break;
    case 'm': case 'M': mul = 1ULL << 20; end++; break;
    case 'g': case 'G': mul = 1ULL << 30; end++; break;
    }
    if (*end)
        goto bad;
    if (v > max / mul)
        goto range;
    v *= mul;
    if (v < min || v > max)
        goto range;
    return v;
bad:
    fprintf(stderr, "%s: --%s=%s: not a number\n", tp_prog, name, s);
    tp_usage_exit(1);
range:
    fprintf(stderr, "%s: --%s=%s: must be in [%llu, %llu]\n", tp_prog, name, s, min, max);
    tp_usage_exit(1);
}

int tp_arg_flag(const char *name)
{
    struct tp_opt *o = tp_find(name);
    if (!o)
        return 0;
    if (o->value) {
        fprintf(stderr, "%s: option --%s takes no value\n", tp_prog, name);
        tp_usage_exit(1);
    }
    return 1;
}

void tp_args_done(void)
{
    int bad = 0;
    for (int i = 0; i < tp_nopts; i++)
        if (!tp_opts[i].used) {
            fprintf(stderr, "%s: unknown option '--%.*s'\n", tp_prog, (int)tp_opts[i].name_len,
                    tp_opts[i].name);
            bad = 1;
        }
    if (bad)
        tp_usage_exit(1);
}

/* ------------------------------------------------------------------ */
/* diagnostics                                                          */

static void tp_vlog(const char *fmt, va_list ap, int with_errno, int err)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "%s[%d]: ", tp_prog, (int)getpid());
    if (n < 0)
        n = 0;
    if ((size_t)n < sizeof buf)
        vsnprintf(buf + n, sizeof buf - n, fmt, ap);
    if (with_errno) {
        size_t l = strlen(buf);
        snprintf(buf + l, sizeof buf - l, ": %s", strerror(err));
    }
    fprintf(stderr, "%s\n", buf);
}

void tp_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tp_vlog(fmt, ap, 0, 0);
    va_end(ap);
}

void tp_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tp_vlog(fmt, ap, 0, 0);
    va_end(ap);
    fprintf(stderr, "%s[%d]: setup failed, exiting without a pidfile\n", tp_prog, (int)getpid());
    exit(1);
}

void tp_die_errno(const char *fmt, ...)
{
    int err = errno;
    va_list ap;
    va_start(ap, fmt);
    tp_vlog(fmt, ap, 1, err);
    va_end(ap);
    fprintf(stderr, "%s[%d]: setup failed, exiting without a pidfile\n", tp_prog, (int)getpid());
    exit(1);
}

/* ------------------------------------------------------------------ */
/* atomic small-file writes (async-signal-safe: used by the watchdog)   */

static size_t tp_strlcpy_at(char *dst, size_t pos, size_t cap, const char *s)
{
    while (*s && pos + 1 < cap)
        dst[pos++] = *s++;
    dst[pos] = '\0';
    return pos;
}

static size_t tp_utoa_at(char *dst, size_t pos, size_t cap, unsigned long v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n && pos + 1 < cap)
        dst[pos++] = tmp[--n];
    dst[pos] = '\0';
    return pos;
}

int tp_write_file_atomic(const char *path, const char *content)
{
    char tmp[4096];
    size_t pos = tp_strlcpy_at(tmp, 0, sizeof tmp, path);
    pos = tp_strlcpy_at(tmp, pos, sizeof tmp, ".tmp.");
    pos = tp_utoa_at(tmp, pos, sizeof tmp, (unsigned long)getpid());
    if (pos + 1 >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t len = strlen(content), done = 0;
    while (done < len) {
        ssize_t w = write(fd, content + done, len - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    return 0;
fail:;
    int err = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = err;
    return -1;
}

/* ------------------------------------------------------------------ */
/* protocol                                                             */

void tp_setsid(void)
{
    if (getsid(0) == getpid()) return; /* already a session leader */
    if (setsid() < 0) {
        int err = errno;
        char msg[256];
        snprintf(msg, sizeof msg, "FAIL: setsid: %s\n", strerror(err));
        tp_log("setsid failed: %s", strerror(err));
        if (tp_write_file_atomic(tp_outfile, msg) != 0)
            tp_log("cannot write outfile %s: %s", tp_outfile, strerror(errno));
        exit(1);
    }
}

void tp_ready(void)
{
    tp_setsid();
    tp_pid = getpid();
    char buf[32];
    snprintf(buf, sizeof buf, "%d\n", (int)tp_pid);
    if (tp_write_file_atomic(tp_pidfile, buf) != 0)
        tp_die_errno("cannot write pidfile %s", tp_pidfile);
    tp_log("ready (pidfile %s)", tp_pidfile);
}

static void tp_log_sigterm(const siginfo_t *si)
{
    tp_log("SIGTERM received (from pid %d, si_code %d)", (int)si->si_pid, si->si_code);
}

void tp_wait_sigterm(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    for (;;) {
        siginfo_t si;
        int r = sigwaitinfo(&set, &si);
        if (r == SIGTERM) {
            tp_log_sigterm(&si);
            return;
        }
        if (r < 0 && errno == EINTR)
            continue; /* stop/continue, ptrace attach/detach, ... */
        if (r < 0) {
            tp_fail("sigwaitinfo: %s", strerror(errno));
            return;
        }
        tp_log("sigwaitinfo returned unexpected signal %d, ignoring", r);
    }
}

int tp_sigterm_pending(void)
{
    sigset_t pend;
    if (sigpending(&pend) != 0) {
        tp_fail("sigpending: %s", strerror(errno));
        return 1;
    }
    if (!sigismember(&pend, SIGTERM))
        return 0;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    struct timespec zero = {0, 0};
    siginfo_t si;
    for (;;) {
        int r = sigtimedwait(&set, &si, &zero);
        if (r == SIGTERM) {
            tp_log_sigterm(&si);
            return 1;
        }
        if (r < 0 && errno == EINTR)
            continue;
        /* pending a moment ago, gone now: should not happen */
        tp_fail("SIGTERM was pending but sigtimedwait returned %d (%s)", r,
                r < 0 ? strerror(errno) : "");
        return 1;
    }
}

static void tp_watchdog(int sig)
{
    (void)sig;
    static const char msg[] = "FAIL: timeout: the check phase did not finish within 120 s\n";
    static const char log[] = "watchdog: the check phase did not finish within 120 s\n";
    if (write(2, log, sizeof log - 1) < 0) {
        /* nothing to do */
    }
    tp_write_file_atomic(tp_outfile, msg);
    _exit(1);
}

void tp_begin_check(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = tp_watchdog;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) != 0)
        tp_log("sigaction(SIGALRM) for the watchdog: %s (continuing without)", strerror(errno));
    else
        alarm(120);

    pid_t pid = getpid(), sid = getsid(0), pgrp = getpgrp();
    if (pid != tp_pid)
        tp_fail("getpid() = %d, but the pidfile says %d", (int)pid, (int)tp_pid);
    if (sid != tp_pid)
        tp_fail("getsid(0) = %d, expected %d (session leader)", (int)sid, (int)tp_pid);
    if (pgrp != tp_pid)
        tp_fail("getpgrp() = %d, expected %d (group leader)", (int)pgrp, (int)tp_pid);
}

static char tp_first_fail[900];
static unsigned long tp_nfail;

void tp_fail(const char *fmt, ...)
{
    char buf[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (tp_nfail == 0)
        memcpy(tp_first_fail, buf, sizeof buf);
    tp_nfail++;
    if (tp_nfail <= 100)
        tp_log("FAIL: %s", buf);
    else if (tp_nfail == 101)
        tp_log("(further failures not logged)");
}

int tp_failed(void)
{
    return tp_nfail != 0;
}

void tp_finish(void)
{
    char msg[1024];
    if (tp_nfail == 0)
        snprintf(msg, sizeof msg, "PASS\n");
    else if (tp_nfail == 1)
        snprintf(msg, sizeof msg, "FAIL: %s\n", tp_first_fail);
    else
        snprintf(msg, sizeof msg, "FAIL: %s (+%lu more failures, see stderr)\n", tp_first_fail,
                 tp_nfail - 1);
    alarm(0);
    if (tp_write_file_atomic(tp_outfile, msg) != 0) {
        tp_log("cannot write outfile %s: %s", tp_outfile, strerror(errno));
        exit(1);
    }
    tp_log("%s", tp_nfail ? "result: FAIL" : "result: PASS");
    exit(tp_nfail ? 1 : 0);
}

/* ------------------------------------------------------------------ */
/* patterns                                                             */

uint64_t tp_mix64(uint64_t z)
{
    /* splitmix64 finaliser */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t tp_block(uint64_t seed, uint64_t b)
{
    return tp_mix64(seed * 0x2545f4914f6cdd1dULL + (b + 1) * 0x9e3779b97f4a7c15ULL);
}

uint8_t tp_pattern_byte(uint64_t seed, uint64_t i)
{
    return (uint8_t)(tp_block(seed, i >> 3) >> (8 * (i & 7)));
}

void tp_pattern_fill(void *buf, size_t len, uint64_t seed, uint64_t off)
{
    uint8_t *p = buf;
    size_t k = 0;
    while (k < len && ((off + k) & 7))
        p[k] = tp_pattern_byte(seed, off + k), k++;
    for (; k + 8 <= len; k += 8) {
        uint64_t v = tp_block(seed, (off + k) >> 3);
        for (int j = 0; j < 8; j++)
            p[k + j] = (uint8_t)(v >> (8 * j));
    }
    for (; k < len; k++)
        p[k] = tp_pattern_byte(seed, off + k);
}

ssize_t tp_pattern_check(const void *buf, size_t len, uint64_t seed, uint64_t off)
{
    const uint8_t *p = buf;
    size_t k = 0;
    while (k < len && ((off + k) & 7)) {
        if (p[k] != tp_pattern_byte(seed, off + k))
            return (ssize_t)k;
        k++;
    }
    for (; k + 8 <= len; k += 8) {
        uint64_t v = tp_block(seed, (off + k) >> 3);
        for (int j = 0; j < 8; j++)
            if (p[k + j] != (uint8_t)(v >> (8 * j)))
                return (ssize_t)(k + j);
    }
    for (; k < len; k++)
        if (p[k] != tp_pattern_byte(seed, off + k))
            return (ssize_t)k;
    return -1;
}

/* ------------------------------------------------------------------ */
/* fd helpers                                                           */

int tp_set_nonblock(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    int nfl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    if (nfl != fl && fcntl(fd, F_SETFL, nfl) != 0)
        return -1;
    return 0;
}

void tp_fill_nonblock(int fd, const void *buf, size_t len, const char *what)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        tp_die_errno("%s: fcntl(%d, F_GETFL)", what, fd);
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        tp_die_errno("%s: fcntl(%d, F_SETFL, O_NONBLOCK)", what, fd);
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, (const char *)buf + done, len - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            tp_die_errno("%s: write(%d) after %zu of %zu bytes", what, fd, done, len);
        }
        done += (size_t)w;
    }
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl) != 0)
        tp_die_errno("%s: fcntl(%d, F_SETFL, 0x%x)", what, fd, fl);
}

int tp_move_fd(int fd, int target, int cloexec)
{
    if (fd != target) {
        if (dup2(fd, target) != target)
            return -1;
        if (close(fd) != 0)
            return -1;
    }
    int fdfl = fcntl(target, F_GETFD);
    if (fdfl < 0)
        return -1;
    int nfl = cloexec ? (fdfl | FD_CLOEXEC) : (fdfl & ~FD_CLOEXEC);
    if (nfl != fdfl && fcntl(target, F_SETFD, nfl) != 0)
        return -1;
    return target;
}

int tp_check_fd_flags(int fd, const char *what, int fdflags, int flflags)
{
    int bad = 0;
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl < 0) {
        tp_fail("%s: fcntl(%d, F_GETFD): %s", what, fd, strerror(errno));
        return -1;
    }
    if (fdfl != fdflags) {
        tp_fail("%s: fd %d F_GETFD: expected 0x%x got 0x%x", what, fd, fdflags, fdfl);
        bad = 1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) {
        tp_fail("%s: fcntl(%d, F_GETFL): %s", what, fd, strerror(errno));
        return -1;
    }
    if (fl != flflags) {
        tp_fail("%s: fd %d F_GETFL (status flags): expected 0%o got 0%o", what, fd, flflags, fl);
        bad = 1;
    }
    return bad ? -1 : 0;
}

#define TP_CHUNK 65536

int tp_check_drain(int rfd, const char *what, size_t expected_len, uint64_t seed, int expect_eof)
{
    int bad = 0;
    int queued;
    if (ioctl(rfd, FIONREAD, &queued) != 0) {
        tp_fail("%s: ioctl(%d, FIONREAD): %s", what, rfd, strerror(errno));
        return -1;
    }
    if ((size_t)queued != expected_len) {
        tp_fail("%s: %d bytes queued (FIONREAD), expected %zu", what, queued, expected_len);
        bad = 1;
    }
    if (tp_set_nonblock(rfd, 1) != 0) {
        tp_fail("%s: set O_NONBLOCK on fd %d: %s", what, rfd, strerror(errno));
        return -1;
    }
    static uint8_t buf[TP_CHUNK];
    size_t total = 0;
    int pattern_ok = 1;
    for (;;) {
        ssize_t r = read(rfd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN) {
            if (expect_eof) {
                tp_fail("%s: after %zu bytes read(%d) gives EAGAIN, expected EOF (the pipe should "
                        "have no writer left)", what, total, rfd);
                bad = 1;
            }
            break;
        }
        if (r < 0) {
            tp_fail("%s: read(%d) after %zu bytes: %s", what, rfd, total, strerror(errno));
            return -1;
        }
        if (r == 0) {
            if (!expect_eof) {
                tp_fail("%s: read(%d) gives EOF after %zu bytes: the pipe has no writer left",
                        what, rfd, total);
                bad = 1;
            }
            break;
        }
        if (pattern_ok) {
            size_t check = (size_t)r;
            if (total >= expected_len)
                check = 0;
            else if (total + check > expected_len)
                check = expected_len - total;
            ssize_t at = tp_pattern_check(buf, check, seed, total);
            if (at >= 0) {
                uint64_t i = total + (uint64_t)at;
                tp_fail("%s byte %llu: expected 0x%02x got 0x%02x", what, (unsigned long long)i,
                        tp_pattern_byte(seed, i), buf[at]);
                pattern_ok = 0;
                bad = 1;
            }
        }
        total += (size_t)r;
        if (total > expected_len + (64u << 20))
            break; /* something is badly wrong; do not spin forever */
    }
    if (total != expected_len) {
        tp_fail("%s: read %zu bytes in total, expected %zu", what, total, expected_len);
        bad = 1;
    }
    return bad ? -1 : 0;
}

int tp_check_roundtrip(int rfd, int wfd, const char *what, size_t len, uint64_t seed)
{
    static uint8_t out[TP_CHUNK], in[TP_CHUNK];
    if (len > sizeof out)
        len = sizeof out;
    if (tp_set_nonblock(rfd, 1) != 0 || tp_set_nonblock(wfd, 1) != 0) {
        tp_fail("%s: set O_NONBLOCK on fds %d/%d: %s", what, rfd, wfd, strerror(errno));
        return -1;
    }
    tp_pattern_fill(out, len, seed, 0);
    ssize_t w;
    do
        w = write(wfd, out, len);
    while (w < 0 && errno == EINTR);
    if (w < 0) {
        tp_fail("%s: write of %zu fresh bytes to fd %d: %s", what, len, wfd, strerror(errno));
        return -1;
    }
    if ((size_t)w != len) {
        tp_fail("%s: write of %zu fresh bytes to fd %d wrote only %zd", what, len, wfd, w);
        return -1;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(rfd, in + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            tp_fail("%s: reading back %zu fresh bytes from fd %d: got %zu, then %s", what, len,
                    rfd, got, r < 0 ? strerror(errno) : "EOF");
            return -1;
        }
        got += (size_t)r;
    }
    ssize_t at = tp_pattern_check(in, len, seed, 0);
    if (at >= 0) {
        tp_fail("%s: fresh byte %zd read back: expected 0x%02x got 0x%02x", what, at,
                tp_pattern_byte(seed, (uint64_t)at), in[at]);
        return -1;
    }
    ssize_t r;
    do
        r = read(rfd, in, 1);
    while (r < 0 && errno == EINTR);
    if (!(r < 0 && errno == EAGAIN)) {
        tp_fail("%s: after the fresh bytes the pipe should be empty, read(%d) gave %zd (%s)", what,
                rfd, r, r < 0 ? strerror(errno) : "data/EOF");
        return -1;
    }
    return 0;
}

size_t tp_read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    return got;
}

void tp_make_fifo(const char *path)
{
    if (mkfifo(path, 0600) == 0)
        return;
    if (errno != EEXIST)
        tp_die_errno("mkfifo(%s)", path);
    if (unlink(path) != 0)
        tp_die_errno("unlink(%s) (a stale file)", path);
    if (mkfifo(path, 0600) != 0)
        tp_die_errno("mkfifo(%s)", path);
}

void tp_fd_target(int fd, char *buf, size_t len)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(p, buf, len - 1);
    if (n < 0)
        snprintf(buf, len, "? (%s)", strerror(errno));
    else
        buf[n] = '\0';
}

void tp_check_only_fds(const int *fds, int count)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        tp_fail("opendir(/proc/self/fd): %s", strerror(errno));
        return;
    }
    int own = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd == own || fd <= 2)
            continue;
        int known = 0;
        for (int i = 0; i < count && !known; i++)
            known = fds[i] == fd;
        if (known)
            continue;
        char t[PATH_MAX];
        tp_fd_target(fd, t, sizeof t);
        tp_fail("fd %d is open (%s), but the program has no descriptor there", fd, t);
    }
    closedir(d);
}

int tp_wait_readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {}
    return r > 0 && (p.revents & POLLIN);
}

/* ------------------------------------------------------------------ */
/* socket helpers                                                       */

int tp_sockopt_int(int fd, int level, int option, const char *name, const char *what, int *value)
{
    socklen_t l = sizeof *value;
    *value = 0;
    if (getsockopt(fd, level, option, value, &l) != 0) {
        tp_fail("%s: getsockopt(%d, %s): %s", what, fd, name, strerror(errno));
        return -1;
    }
    return 0;
}

void tp_check_nothing_more(int fd, int expect_eof, const char *what)
{
    unsigned char b[64];
    ssize_t r;
    while ((r = recv(fd, b, sizeof b, MSG_DONTWAIT)) < 0 && errno == EINTR) {}
    if (expect_eof) {
        if (r != 0)
            tp_fail("%s: recv(%d) after the data gave %zd (%s), expected 0 (end of file)", what, fd, r,
                    r < 0 ? strerror(errno) : "more data");
    } else if (r > 0) {
        tp_fail("%s: recv(%d) after the data gave %zd more bytes, expected nothing (EAGAIN)", what, fd, r);
    } else if (r == 0) {
        /* A stream socket's 0 is its end of file; a datagram or seqpacket socket's may also be an
         * empty message (unknown type: say both). */
        int type = 0;
        socklen_t l = sizeof type;
        int stream = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) == 0 && type == SOCK_STREAM;
        tp_fail("%s: recv(%d) after the data gave 0 (%s), expected nothing (EAGAIN)", what, fd,
                stream ? "end of file" : "end of file or an empty message");
    } else if (errno != EAGAIN) {
        tp_fail("%s: recv(%d) after the data: %s, expected EAGAIN", what, fd, strerror(errno));
    }
}

/*
 * seccomp: threads under seccomp (see README.md).
 *
 *   seccomp --pidfile=F --outfile=O [--strict-thread] [--deny-seccomp]
 *
 * Set-up, in this order (PR_SET_NO_NEW_PRIVS first, so every thread has it):
 *   S       (--strict-thread) a thread made before any filter, which blocks every signal and
 *           enters SECCOMP_MODE_STRICT (a thread with a filter cannot: EINVAL), then blocks in
 *           read() on a pipe; it makes no other system call than read, write and exit (any
 *           other one would kill this thread, not the process)
 *   A       filter on the main thread: arch must be x86-64 (else KILL_PROCESS); getppid ->
 *           ERRNO 77; uname -> ERRNO 76 (shadowed by B: of two filters giving the same action
 *           the newer one's value wins, so 78 rather than 76 shows that B runs after A)
 *   B       filter on the main thread, SECCOMP_FILTER_FLAG_LOG: uname -> ERRNO 78;
 *           getpriority(PRIO_PGRP, ...) -> ERRNO 80 (an argument check); x32 calls -> ENOSYS
 *   T       a thread made after A and B (it inherits them), which adds its own filter C:
 *           sysinfo -> ERRNO 79; uname -> ERRNO 75 (shadows B's 78); then blocks in read()
 *   D       (--deny-seccomp) filter on the main thread, after T was made: the seccomp system
 *           call and prctl(PR_SET_SECCOMP) -> ERRNO EPERM; the set-up then checks that one more
 *           (allow-all) filter is refused
 * Chains: main [A, B] or [A, B, D], T [A, B, C], S strict mode without filters.
 *
 * On SIGTERM the main thread checks its own answers (getppid 77, uname 78, getpriority 80 for
 * PRIO_PGRP only, sysinfo allowed), PR_GET_SECCOMP, PR_GET_NO_NEW_PRIVS, the Seccomp,
 * Seccomp_filters and NoNewPrivs lines of every thread's status, then asks T for its answers
 * (getppid 77, uname 75, sysinfo 79, getpriority 80), wakes S (one byte there, one back), and
 * with --deny-seccomp checks that a new filter is refused with EPERM (without: that one is
 * accepted). None of the denied calls is made by the program outside the checks, nor by
 * common.c.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

/* The errno values the filters return. */
enum {
    ERR_C_UNAME = 75,     /* EOVERFLOW */
    ERR_A_UNAME = 76,     /* ENOTUNIQ: shadowed by B on the main thread, by C on T */
    ERR_A_GETPPID = 77,   /* EBADFD */
    ERR_B_UNAME = 78,     /* EREMCHG */
    ERR_C_SYSINFO = 79,   /* ELIBACC */
    ERR_B_PGRP = 80,      /* ELIBBAD */
};

#define TIMEOUT_MS 5000

/* ------------------------------------------------------------------ */
/* filters                                                              */

#define NR_OFF offsetof(struct seccomp_data, nr)
#define ARCH_OFF offsetof(struct seccomp_data, arch)
/* The low 32 bits of args[i] (little-endian). */
#define ARG_LO_OFF(i) offsetof(struct seccomp_data, args[i])
/* The jump offset from instruction `from` to instruction `to` (classic BPF jumps are relative
 * to the next instruction). */
#define TO(from, to) ((to) - (from) - 1)

#define LD_ABS(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))

/* A: [0-1] the architecture, [2-4] getppid and uname. */
enum { A_ALLOW = 5, A_GETPPID, A_UNAME, A_KILL, A_LEN };
static struct sock_filter filter_a[] = {
    /* 0 */ LD_ABS(ARCH_OFF),
    /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, TO(1, A_KILL)),
    /* 2 */ LD_ABS(NR_OFF),
    /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, TO(3, A_GETPPID), 0),
    /* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_uname, TO(4, A_UNAME), TO(4, A_ALLOW)),
    /* 5 */ RET(SECCOMP_RET_ALLOW),
    /* 6 */ RET(SECCOMP_RET_ERRNO | ERR_A_GETPPID),
    /* 7 */ RET(SECCOMP_RET_ERRNO | ERR_A_UNAME),
    /* 8 */ RET(SECCOMP_RET_KILL_PROCESS),
};

/* B: x32 calls (the number with __X32_SYSCALL_BIT) are refused, numbers above getpriority
 * allowed at once; below that the number waits in scratch memory M[0] and args[0] in X while the
 * rules test them. */
enum { B_ALLOW = 13, B_UNAME, B_PGRP, B_X32, B_KILL, B_LEN };
static struct sock_filter filter_b[] = {
    /*  0 */ LD_ABS(ARCH_OFF),
    /*  1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, TO(1, B_KILL)),
    /*  2 */ LD_ABS(NR_OFF),
    /*  3 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, __X32_SYSCALL_BIT, TO(3, B_X32), 0),
    /*  4 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, __NR_getpriority, TO(4, B_ALLOW), 0),
    /*  5 */ BPF_STMT(BPF_ST, 0),                          /* M[0] = nr */
    /*  6 */ LD_ABS(ARG_LO_OFF(0)),
    /*  7 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),              /* X = args[0] */
    /*  8 */ BPF_STMT(BPF_LD | BPF_MEM, 0),                /* A = nr */
    /*  9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_uname, TO(9, B_UNAME), 0),
    /* 10 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getpriority, 0, TO(10, B_ALLOW)),
    /* 11 */ BPF_STMT(BPF_MISC | BPF_TXA, 0),              /* A = args[0]: which */
    /* 12 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PRIO_PGRP, TO(12, B_PGRP), TO(12, B_ALLOW)),
    /* 13 */ RET(SECCOMP_RET_ALLOW),
    /* 14 */ RET(SECCOMP_RET_ERRNO | ERR_B_UNAME),
    /* 15 */ RET(SECCOMP_RET_ERRNO | ERR_B_PGRP),
    /* 16 */ RET(SECCOMP_RET_ERRNO | ENOSYS),
    /* 17 */ RET(SECCOMP_RET_KILL_PROCESS),
};

/* C (thread T only). */
enum { C_ALLOW = 3, C_SYSINFO, C_UNAME, C_LEN };
static struct sock_filter filter_c[] = {
    /* 0 */ LD_ABS(NR_OFF),
    /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sysinfo, TO(1, C_SYSINFO), 0),
    /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_uname, TO(2, C_UNAME), TO(2, C_ALLOW)),
    /* 3 */ RET(SECCOMP_RET_ALLOW),
    /* 4 */ RET(SECCOMP_RET_ERRNO | ERR_C_SYSINFO),
    /* 5 */ RET(SECCOMP_RET_ERRNO | ERR_C_UNAME),
};

/* D (--deny-seccomp): no more filters, by either call (A checks the architecture). */
enum { D_ALLOW = 5, D_DENY, D_LEN };
static struct sock_filter filter_d[] = {
    /* 0 */ LD_ABS(NR_OFF),
    /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, TO(1, D_DENY), 0),
    /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prctl, 0, TO(2, D_ALLOW)),
    /* 3 */ LD_ABS(ARG_LO_OFF(0)),
    /* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_SECCOMP, TO(4, D_DENY), TO(4, D_ALLOW)),
    /* 5 */ RET(SECCOMP_RET_ALLOW),
    /* 6 */ RET(SECCOMP_RET_ERRNO | EPERM),
};

_Static_assert(sizeof filter_a / sizeof filter_a[0] == A_LEN, "filter A labels");
_Static_assert(sizeof filter_b / sizeof filter_b[0] == B_LEN, "filter B labels");
_Static_assert(sizeof filter_c / sizeof filter_c[0] == C_LEN, "filter C labels");
_Static_assert(sizeof filter_d / sizeof filter_d[0] == D_LEN, "filter D labels");

static struct sock_filter allow_all[] = {RET(SECCOMP_RET_ALLOW)};

#define PROG(f) {.len = sizeof(f) / sizeof((f)[0]), .filter = (f)}

static long seccomp_filter(unsigned long flags, struct sock_filter *f, unsigned short len)
{
    struct sock_fprog prog = {.len = len, .filter = f};
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* ------------------------------------------------------------------ */
/* reporting                                                            */

static const char *errname(int e)
{
    switch (e) {
    case 0: return "none";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case EOVERFLOW: return "EOVERFLOW";
    case ENOTUNIQ: return "ENOTUNIQ";
    case EBADFD: return "EBADFD";
    case EREMCHG: return "EREMCHG";
    case ELIBACC: return "ELIBACC";
    case ELIBBAD: return "ELIBBAD";
    default: return "?";
    }
}

/* Which filter rule returns this errno (to tell a wrong order or a wrong thread's chain). */
static const char *errsource(int e)
{
    switch (e) {
    case ERR_C_UNAME: return ", filter C's uname answer";
    case ERR_A_UNAME: return ", filter A's uname answer";
    case ERR_A_GETPPID: return ", filter A's getppid answer";
    case ERR_B_UNAME: return ", filter B's uname answer";
    case ERR_C_SYSINFO: return ", filter C's sysinfo answer";
    case ERR_B_PGRP: return ", filter B's getpriority answer";
    default: return "";
    }
}

typedef void (*fail_fn)(const char *fmt, ...);

/* The call returned r with errno err; it should have failed with `want`. */
static void expect_errno(fail_fn fail, const char *who, const char *call, long r, int err, int want)
{
    if (r == -1 && err == want)
        return;
    if (r != -1)
        fail("%s: %s returned %ld, expected -1 with errno %d (%s%s)", who, call, r, want,
             errname(want), errsource(want));
    else
        fail("%s: %s failed with errno %d (%s%s), expected errno %d (%s%s)", who, call, err,
             errname(err), errsource(err), want, errname(want), errsource(want));
}

/* The call must succeed; for getpriority the kernel returns 20 - nice, 1..40. */
static void expect_ok(fail_fn fail, const char *who, const char *call, long r, int err, long lo,
                      long hi)
{
    if (r == -1)
        fail("%s: %s failed with errno %d (%s%s), expected it to succeed", who, call, err,
             errname(err), errsource(err));
    else if (r < lo || r > hi)
        fail("%s: %s returned %ld, expected %ld..%ld", who, call, r, lo, hi);
}

/* getppid, uname, getpriority as the filters see them; sysinfo is checked by the caller. */
static void check_common_calls(fail_fn fail, const char *who, int uname_errno)
{
    errno = 0;
    long r = syscall(SYS_getppid);
    expect_errno(fail, who, "getppid()", r, errno, ERR_A_GETPPID);

    struct utsname u;
    errno = 0;
    r = uname(&u);
    expect_errno(fail, who, "uname()", r, errno, uname_errno);

    errno = 0;
    r = syscall(SYS_getpriority, PRIO_PGRP, 0);
    expect_errno(fail, who, "getpriority(PRIO_PGRP, 0)", r, errno, ERR_B_PGRP);
    errno = 0;
    r = syscall(SYS_getpriority, PRIO_PROCESS, 0);
    expect_ok(fail, who, "getpriority(PRIO_PROCESS, 0)", r, errno, 1, 40);
    errno = 0;
    r = syscall(SYS_getpriority, PRIO_USER, 0);
    expect_ok(fail, who, "getpriority(PRIO_USER, 0)", r, errno, 1, 40);

    errno = 0;
    r = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
    if (r != SECCOMP_MODE_FILTER)
        fail("%s: prctl(PR_GET_SECCOMP) = %ld (errno %d), expected %d (SECCOMP_MODE_FILTER)", who,
             r, errno, SECCOMP_MODE_FILTER);
    errno = 0;
    r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    if (r != 1)
        fail("%s: prctl(PR_GET_NO_NEW_PRIVS) = %ld (errno %d), expected 1", who, r, errno);
}

/* ------------------------------------------------------------------ */
/* thread T: filters A, B, C                                            */

#define T_MAXFAIL 10
static struct {
    pthread_t thread;
    pid_t tid;
    int go[2], res[2];      /* main -> T: 'g'; T -> main: 'r' (ready), 'E' (set-up failed), 'd' */
    char setup_err[256];
    char fails[T_MAXFAIL][300];
    int nfail;
} t;

static void t_fail(const char *fmt, ...) TP_PRINTF(1, 2);
static void t_fail(const char *fmt, ...)
{
    char buf[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (t.nfail < T_MAXFAIL)
        memcpy(t.fails[t.nfail], buf, sizeof buf);
    t.nfail++;
}

static void *t_main(void *arg)
{
    (void)arg;
    t.tid = (pid_t)syscall(SYS_gettid);
    pthread_setname_np(pthread_self(), "t-filtered");
    struct sock_fprog prog = PROG(filter_c);
    char c = 'r';
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
        snprintf(t.setup_err, sizeof t.setup_err, "thread T: prctl(PR_SET_SECCOMP, filter C): %s",
                 strerror(errno));
        c = 'E';
    }
    if (write(t.res[1], &c, 1) != 1 || c == 'E')
        return NULL;

    char go = 0;
    ssize_t n;
    while ((n = read(t.go[0], &go, 1)) < 0 && errno == EINTR) {}
    char who[64];
    snprintf(who, sizeof who, "thread T (tid %d)", (int)t.tid);
    if (n != 1 || go != 'g')
        t_fail("%s: read() of its go byte gave %zd ('%c')", who, n, go);
    pid_t tid = (pid_t)syscall(SYS_gettid);
    if (tid != t.tid)
        t_fail("%s: gettid() = %d", who, (int)tid);

    check_common_calls(t_fail, who, ERR_C_UNAME);
    struct sysinfo si;
    errno = 0;
    long r = sysinfo(&si);
    expect_errno(t_fail, who, "sysinfo()", r, errno, ERR_C_SYSINFO);

    c = 'd';
    if (write(t.res[1], &c, 1) != 1)
        tp_log("thread T: write of its answer: %s", strerror(errno));
    return NULL;
}

/* ------------------------------------------------------------------ */
/* thread S: strict mode                                                */

static struct {
    pthread_t thread;
    volatile pid_t tid;
    volatile int err;       /* errno of a failed PR_SET_SECCOMP */
    int go[2], res[2];      /* main -> S: 'g'; S -> main: 'r' (ready) or 'E', then 's' */
} s;

/* From the prctl on only read, write and exit (not exit_group) are allowed: no libc function
 * that might make another call (no printf, no return into glibc's thread exit), and every
 * signal blocked (a handler, such as the watchdog's, would make other calls). */
static void *s_main(void *arg)
{
    (void)arg;
    unsigned long long all = ~0ULL;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, NULL, sizeof all);
    s.tid = (pid_t)syscall(SYS_gettid);
    syscall(SYS_prctl, PR_SET_NAME, "s-strict", 0, 0, 0);
    long r = syscall(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0);
    char c = 'r';
    if (r != 0) {
        s.err = errno;
        c = 'E';
    }
    syscall(SYS_write, s.res[1], &c, 1);
    if (r == 0) {
        char go = 0;
        long n;
        do
            n = syscall(SYS_read, s.go[0], &go, 1);
        while (n < 0 && errno == EINTR);
        c = (n == 1 && go == 'g') ? 's' : 'x';
        syscall(SYS_write, s.res[1], &c, 1);
    }
    for (;;)
        syscall(SYS_exit, 0); /* only this thread; it does not return */
    return NULL;
}

/* ------------------------------------------------------------------ */
/* main thread                                                          */

/* Reads one byte from fd within TIMEOUT_MS: the byte, -2 on a timeout (the caller reports it),
 * -1 on EOF or an error (reported). */
static int read_byte_timeout(int fd, const char *what)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, TIMEOUT_MS)) < 0 && errno == EINTR) {}
    if (r == 0)
        return -2;
    unsigned char c;
    ssize_t n;
    while ((n = read(fd, &c, 1)) < 0 && errno == EINTR) {}
    if (n != 1) {
        tp_fail("%s: read() of its answer gave %zd (%s)", what, n, n < 0 ? strerror(errno) : "EOF");
        return -1;
    }
    return c;
}

/* The value of the line "key:\t<number>" of a status file: 1 found, 0 no such line, -1 the file
 * cannot be read (errno). */
static int status_value(const char *path, const char *key, long *val)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char line[512];
    size_t klen = strlen(key);
    int found = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            *val = strtol(line + klen + 1, NULL, 10);
            found = 1;
            break;
        }
    fclose(f);
    return found;
}

static int no_filter_count_logged;

/* Seccomp, Seccomp_filters (when the kernel shows it: 5.9 and later) and NoNewPrivs of a thread
 * (tid 0: /proc/self/status, the main thread's). */
static void check_status(const char *who, pid_t tid, long mode, long filters)
{
    char path[64];
    if (tid)
        snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
    else
        snprintf(path, sizeof path, "/proc/self/status");
    static const char *modes[] = {"disabled", "strict", "filter"};
    long v = -1;
    int r = status_value(path, "Seccomp", &v);
    if (r < 0 && tid && errno == ENOENT) {
        tp_fail("%s: the thread is gone (no %s)", who, path);
        return;
    }
    if (r < 0) {
        tp_fail("%s: cannot read %s: %s", who, path, strerror(errno));
        return;
    }
    if (r == 0)
        tp_fail("%s: %s has no Seccomp line", who, path);
    else if (v != mode)
        tp_fail("%s: %s says Seccomp %ld (%s), expected %ld (%s)", who, path, v,
                v >= 0 && v <= 2 ? modes[v] : "?", mode, modes[mode]);
    r = status_value(path, "Seccomp_filters", &v);
    if (r == 1 && v != filters)
        tp_fail("%s: %s says Seccomp_filters %ld, expected %ld", who, path, v, filters);
    else if (r == 0 && !no_filter_count_logged++)
        tp_log("no Seccomp_filters line in %s (a kernel before 5.9): filter counts not checked",
               path);
    r = status_value(path, "NoNewPrivs", &v);
    if (r == 1 && v != 1)
        tp_fail("%s: %s says NoNewPrivs %ld, expected 1", who, path, v);
    else if (r == 0)
        tp_fail("%s: %s has no NoNewPrivs line", who, path);
}

static void make_pipe(int p[2])
{
    if (pipe2(p, O_CLOEXEC) != 0)
        tp_die_errno("pipe2");
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--strict-thread] [--deny-seccomp]");
    int strict = tp_arg_flag("strict-thread");
    int deny = tp_arg_flag("deny-seccomp");
    tp_args_done();

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        tp_die_errno("prctl(PR_SET_NO_NEW_PRIVS, 1)");
    make_pipe(t.go);
    make_pipe(t.res);
    make_pipe(s.go);
    make_pipe(s.res);
    /* 256 KiB stacks, as in threads.c: too small for a transparent huge page. */
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, 256 * 1024) != 0)
        tp_die("pthread_attr_setstacksize failed");

    /* S first: strict mode cannot be entered by a thread that has a filter. */
    if (strict) {
        if (pthread_create(&s.thread, &attr, s_main, NULL) != 0)
            tp_die("pthread_create (strict thread) failed");
        unsigned char c;
        if (tp_read_full(s.res[0], &c, 1) != 1)
            tp_die("strict thread: no ready byte");
        if (c != 'r')
            tp_die("strict thread (tid %d): prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT): %s",
                   (int)s.tid, strerror(s.err));
    }

    if (seccomp_filter(0, filter_a, A_LEN) != 0)
        tp_die_errno("seccomp(SECCOMP_SET_MODE_FILTER, 0, filter A)");
    if (seccomp_filter(SECCOMP_FILTER_FLAG_LOG, filter_b, B_LEN) != 0)
        tp_die_errno("seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_LOG, filter B)");

    if (pthread_create(&t.thread, &attr, t_main, NULL) != 0)
        tp_die("pthread_create (thread T) failed");
    pthread_attr_destroy(&attr);
    unsigned char c;
    if (tp_read_full(t.res[0], &c, 1) != 1)
        tp_die("thread T: no ready byte");
    if (c != 'r')
        tp_die("%s", t.setup_err);

    if (deny) {
        if (seccomp_filter(0, filter_d, D_LEN) != 0)
            tp_die_errno("seccomp(SECCOMP_SET_MODE_FILTER, 0, filter D)");
        errno = 0;
        long r = seccomp_filter(0, allow_all, 1);
        if (r != -1 || errno != EPERM)
            tp_die("filter D does not act: seccomp() of one more filter gave %ld, errno %d (%s)",
                   r, errno, errname(errno));
        struct sock_fprog prog = PROG(allow_all);
        errno = 0;
        r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
        if (r != -1 || errno != EPERM)
            tp_die("filter D does not act: prctl(PR_SET_SECCOMP) of one more filter gave %ld, "
                   "errno %d (%s)", r, errno, errname(errno));
    }
    pid_t main_tid = (pid_t)syscall(SYS_gettid);
    tp_log("main thread tid %d: filters A, B%s; thread T tid %d: filters A, B, C", (int)main_tid,
           deny ? ", D" : "", (int)t.tid);
    if (strict)
        tp_log("strict thread S tid %d: SECCOMP_MODE_STRICT", (int)s.tid);

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    const char *who = "main thread";
    if ((pid_t)syscall(SYS_gettid) != main_tid)
        tp_fail("main thread: gettid() = %d, was %d", (int)syscall(SYS_gettid), (int)main_tid);
    check_common_calls(tp_fail, who, ERR_B_UNAME);
    struct sysinfo si;
    errno = 0;
    long r = sysinfo(&si);
    expect_ok(tp_fail, who, "sysinfo() (filter C is thread T's only)", r, errno, 0, 0);

    check_status(who, 0, SECCOMP_MODE_FILTER, deny ? 3 : 2);
    char twho[64];
    snprintf(twho, sizeof twho, "thread T (tid %d)", (int)t.tid);
    check_status(twho, t.tid, SECCOMP_MODE_FILTER, 3);
    char swho[64];
    snprintf(swho, sizeof swho, "strict thread S (tid %d)", (int)s.tid);
    if (strict)
        check_status(swho, s.tid, SECCOMP_MODE_STRICT, 0);

    /* T checks its own answers. */
    if (write(t.go[1], "g", 1) != 1)
        tp_fail("%s: write of its go byte: %s", twho, strerror(errno));
    else {
        int a = read_byte_timeout(t.res[0], twho);
        if (a == -2)
            tp_fail("%s: no answer within %d ms", twho, TIMEOUT_MS);
        if (a >= 0 && a != 'd')
            tp_fail("%s: answered '%c', expected 'd'", twho, a);
        if (a >= 0) {
            for (int i = 0; i < t.nfail && i < T_MAXFAIL; i++)
                tp_fail("%s", t.fails[i]);
            if (t.nfail > T_MAXFAIL)
                tp_fail("%s: %d more failures", twho, t.nfail - T_MAXFAIL);
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += TIMEOUT_MS / 1000;
            int e = pthread_timedjoin_np(t.thread, NULL, &until);
            if (e != 0)
                tp_fail("%s: pthread_timedjoin_np: %s", twho, strerror(e));
        }
    }

    /* S: one byte there, one back, then it exits (raw SYS_exit: not joinable, so wait until its
     * /proc/self/task entry is gone). */
    if (strict) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%d", (int)s.tid);
        if (write(s.go[1], "g", 1) != 1)
            tp_fail("%s: write of its go byte: %s", swho, strerror(errno));
        else {
            int a = read_byte_timeout(s.res[0], swho);
            if (a >= 0 && a != 's')
                tp_fail("%s: answered '%c', expected 's'", swho, a);
            if (a == -2)
                tp_fail("%s: no answer within %d ms%s", swho, TIMEOUT_MS,
                        access(path, F_OK) != 0 ? ", and the thread is gone (in strict mode any "
                        "call but read, write, exit and rt_sigreturn kills the thread)" : "");
            if (a >= 0) {
                int ms = 0;
                while (access(path, F_OK) == 0 && ms < TIMEOUT_MS) {
                    usleep(1000);
                    ms++;
                }
                if (access(path, F_OK) == 0)
                    tp_fail("%s: still there %d ms after its answer (it should have exited)",
                            swho, TIMEOUT_MS);
            }
        }
    }

    /* Last: a new filter is refused by D, or (without D) accepted. */
    struct sock_fprog prog = PROG(allow_all);
    if (deny) {
        errno = 0;
        r = seccomp_filter(0, allow_all, 1);
        expect_errno(tp_fail, who, "seccomp(SECCOMP_SET_MODE_FILTER, allow-all) (filter D)", r,
                     errno, EPERM);
        errno = 0;
        r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
        expect_errno(tp_fail, who, "prctl(PR_SET_SECCOMP, allow-all) (filter D)", r, errno, EPERM);
    } else {
        errno = 0;
        r = seccomp_filter(0, allow_all, 1);
        expect_ok(tp_fail, who, "seccomp(SECCOMP_SET_MODE_FILTER, allow-all) (no filter D)", r,
                  errno, 0, 0);
    }
    tp_finish();
}

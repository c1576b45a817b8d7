/*
 * terminal: a process whose standard descriptors are a terminal (see README.md).
 *
 *   terminal --pidfile=F --outfile=O --tty=PATH [--ctty] [--raw] [--expect-lines=0]
 *            [--expect-winch] [--second-open]
 *
 * PATH is a terminal device; in the tests a pseudo-terminal slave (/dev/pts/N) whose master
 * the test holds. Every descriptor above 2 inherited from the parent is closed first.
 * - Without --ctty: PATH is opened O_RDWR|O_NOCTTY; the process gets no controlling terminal
 *   (the setsid() of tp_ready comes later).
 * - --ctty: tp_setsid() first, then PATH is opened O_RDWR without O_NOCTTY, so it becomes the
 *   session's controlling terminal (TIOCSCTTY if the open did not do it; set-up fails if that
 *   fails too); the process group is made the foreground group (tcsetpgrp), and /dev/tty is
 *   opened O_RDWR as fd 3.
 * The terminal is dup2'ed onto fds 0, 1 and 2 (one open file description). Open afterwards:
 * fds 0, 1, 2 and, with --ctty, 3; with --second-open also fd 9, PATH opened a second time
 * (O_WRONLY|O_NOCTTY: a description of its own); nothing else.
 * Terminal settings (tcsetattr TCSANOW, then read back with tcgetattr as the expected state):
 * VINTR = 0x07 (^G), VEOF = 0x06 (^F), ECHO off; --raw also clears ICANON, ISIG, IEXTEN,
 * ICRNL, IXON, OPOST, with VMIN 1 and VTIME 0.
 * SIGWINCH is counted by a handler (the kernel sends it to the terminal's foreground group,
 * so only with --ctty). SIGTERM has a handler that sets a flag; it stays blocked except
 * inside ppoll()/sigsuspend(), so it is never lost.
 *
 * Output to the terminal (fd 1), each line ended by "\n" ("\r\n" with --raw, where OPOST is
 * off; with OPOST/ONLCR on the master sees "\r\n" either way):
 *   "terminal: ready"                                   before the pidfile is written
 *   "got: LINE rows=R cols=C winch=N"                   for every non-empty input line
 *   "terminal: check done"                              after the checks, before the outfile
 * Input lines end at '\n' or '\r' (raw mode gives '\r' for Enter); a line longer than 4096
 * bytes is answered in pieces. R and C come from TIOCGWINSZ on fd 0 when the line is
 * answered, N is the number of SIGWINCHs so far. The diagnostics of common.c (stderr, so the
 * terminal too) appear there as well, as "terminal[PID]: ..." lines.
 * On SIGTERM: input already waiting is answered first (what was sent before the SIGTERM
 * counts), then the checks:
 * - the terminal did not hang up before the SIGTERM (read giving EIO, POLLHUP: checked first);
 * - fds 0, 1, 2: terminals (isatty), character devices with one st_rdev, O_RDWR, one open
 *   file description (O_NONBLOCK set through fd 0 shows on 1 and 2; cleared again);
 * - tcgetattr(0): c_iflag, c_oflag, c_cflag, c_lflag, c_line and every c_cc entry as set up;
 * - --ctty: getsid(0) = getpid(), tcgetsid(0) = getpid(), tcgetpgrp(0) = getpgrp(); fd 3 is
 *   /dev/tty (character device 5:0), O_RDWR, a terminal, TIOCGDEV on it names fd 0's device;
 *   open("/dev/tty", O_RDWR) succeeds;
 * - without --ctty: open("/dev/tty") fails with ENXIO (no controlling terminal);
 * - no descriptor open besides those above;
 * - at least --expect-lines lines answered; --expect-winch: at least one SIGWINCH.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#define FD_DEVTTY 3
#define FD_SECOND 9
#define LINE_MAX_LEN 4096

static volatile sig_atomic_t g_winch;    /* SIGWINCHs received */
static volatile sig_atomic_t g_term;     /* SIGTERM received */
static volatile sig_atomic_t g_term_pid, g_term_code;

static int g_raw;
static char g_line[LINE_MAX_LEN];
static size_t g_len;
static unsigned long g_lines;            /* lines answered */
static char g_hangup[256];               /* why input ended early, "" if it did not */

static void on_winch(int sig)
{
    (void)sig;
    g_winch++;
}

static void on_term(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    g_term = 1;
    g_term_pid = si->si_pid;
    g_term_code = si->si_code;
}

static const char *eol(void)
{
    return g_raw ? "\r\n" : "\n";
}

/* Write all of buf to fd 1 (the terminal); a failure is recorded. */
static int out(const char *buf, size_t len, const char *what)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(1, buf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            tp_fail("writing %s to the terminal (fd 1): %s after %zu of %zu bytes", what,
                    w < 0 ? strerror(errno) : "write returned 0", done, len);
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

static void answer_line(void)
{
    struct winsize ws;
    int rows = -1, cols = -1;
    if (ioctl(0, TIOCGWINSZ, &ws) != 0)
        tp_fail("ioctl(0, TIOCGWINSZ) for line %lu: %s", g_lines + 1, strerror(errno));
    else
        rows = ws.ws_row, cols = ws.ws_col;
    static char buf[LINE_MAX_LEN + 128];
    int n = snprintf(buf, sizeof buf, "got: %.*s rows=%d cols=%d winch=%d%s", (int)g_len, g_line,
                     rows, cols, (int)g_winch, eol());
    g_lines++;
    out(buf, (size_t)n, "an answer");
}

static void take_input(const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = buf[i];
        if (c == '\n' || c == '\r') {
            if (g_len > 0)
                answer_line();
            g_len = 0;
            continue;
        }
        if (g_len == sizeof g_line) {
            answer_line();
            g_len = 0;
        }
        g_line[g_len++] = c;
    }
}

/* One read from fd 0 after poll reported revents. Returns 0 to go on, -1 when input ended. */
static int read_some(short revents)
{
    char buf[4096];
    ssize_t r = read(0, buf, sizeof buf);
    if (r > 0) {
        take_input(buf, (size_t)r);
        return 0;
    }
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (r == 0 && !(revents & POLLHUP))
        return 0; /* the VEOF character at the start of a line: the terminal is still there */
    snprintf(g_hangup, sizeof g_hangup, "read(0) gave %s (poll revents 0x%x) after %lu lines",
             r < 0 ? strerror(errno) : "end of file", (unsigned)revents, g_lines);
    tp_log("input ended: %s; waiting for SIGTERM only", g_hangup);
    return -1;
}

/* ------------------------------------------------------------------ */
/* checks                                                               */

static const char *const cc_names[NCCS] = {
    [VINTR] = "VINTR",       [VQUIT] = "VQUIT",     [VERASE] = "VERASE", [VKILL] = "VKILL",
    [VEOF] = "VEOF",         [VTIME] = "VTIME",     [VMIN] = "VMIN",     [VSWTC] = "VSWTC",
    [VSTART] = "VSTART",     [VSTOP] = "VSTOP",     [VSUSP] = "VSUSP",   [VEOL] = "VEOL",
    [VREPRINT] = "VREPRINT", [VDISCARD] = "VDISCARD", [VWERASE] = "VWERASE",
    [VLNEXT] = "VLNEXT",     [VEOL2] = "VEOL2",
};

static void check_termios(int fd, const struct termios *want, const char *what)
{
    struct termios t;
    if (tcgetattr(fd, &t) != 0) {
        tp_fail("%s: tcgetattr(%d): %s", what, fd, strerror(errno));
        return;
    }
#define FLAG(f)                                                                               \
    if (t.f != want->f)                                                                       \
        tp_fail("%s: " #f " is 0x%x, expected 0x%x (differing bits 0x%x)", what,              \
                (unsigned)t.f, (unsigned)want->f, (unsigned)(t.f ^ want->f));
    FLAG(c_iflag)
    FLAG(c_oflag)
    FLAG(c_cflag)
    FLAG(c_lflag)
    FLAG(c_line)
#undef FLAG
    for (int i = 0; i < NCCS; i++)
        if (t.c_cc[i] != want->c_cc[i]) {
            if (cc_names[i])
                tp_fail("%s: c_cc[%s] is 0x%02x, expected 0x%02x", what, cc_names[i],
                        t.c_cc[i], want->c_cc[i]);
            else
                tp_fail("%s: c_cc[%d] is 0x%02x, expected 0x%02x", what, i, t.c_cc[i],
                        want->c_cc[i]);
        }
}


/* fds 0, 1, 2: terminals, one device, O_RDWR, one open file description. */
static void check_std_fds(void)
{
    struct stat st[3];
    int ok[3] = {0, 0, 0};
    for (int fd = 0; fd < 3; fd++) {
        errno = 0;
        if (!isatty(fd))
            tp_fail("fd %d is not a terminal (isatty: %s)", fd, strerror(errno));
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0)
            tp_fail("fd %d: fcntl(F_GETFL): %s", fd, strerror(errno));
        else if ((fl & O_ACCMODE) != O_RDWR)
            tp_fail("fd %d: access mode 0%o, expected O_RDWR (0%o)", fd, fl & O_ACCMODE, O_RDWR);
        if (fstat(fd, &st[fd]) != 0) {
            tp_fail("fd %d: fstat: %s", fd, strerror(errno));
            continue;
        }
        if (!S_ISCHR(st[fd].st_mode)) {
            char t[256];
            tp_fd_target(fd, t, sizeof t);
            tp_fail("fd %d is not a character device (mode 0%o, %s)", fd, st[fd].st_mode, t);
            continue;
        }
        ok[fd] = 1;
    }
    for (int fd = 1; fd < 3; fd++)
        if (ok[0] && ok[fd] && st[fd].st_rdev != st[0].st_rdev)
            tp_fail("fd %d is device %u:%u, fd 0 is %u:%u: not the same terminal", fd,
                    major(st[fd].st_rdev), minor(st[fd].st_rdev), major(st[0].st_rdev),
                    minor(st[0].st_rdev));
    if (ok[0])
        tp_log("the terminal is device %u:%u", major(st[0].st_rdev), minor(st[0].st_rdev));

    /* One open file description: a status flag set through fd 0 shows on 1 and 2. */
    int fl0 = fcntl(0, F_GETFL);
    if (fl0 < 0)
        return; /* reported above */
    if (fl0 & O_NONBLOCK) {
        tp_fail("fd 0 has O_NONBLOCK (F_GETFL 0%o), which the program never set", fl0);
        return;
    }
    if (fcntl(0, F_SETFL, fl0 | O_NONBLOCK) != 0) {
        tp_fail("fcntl(0, F_SETFL, O_NONBLOCK): %s", strerror(errno));
        return;
    }
    for (int fd = 1; fd < 3; fd++) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && !(fl & O_NONBLOCK))
            tp_fail("fd %d does not share fd 0's open file description (O_NONBLOCK set through "
                    "fd 0 does not show on fd %d)", fd, fd);
    }
    if (fcntl(0, F_SETFL, fl0) != 0)
        tp_fail("fcntl(0, F_SETFL, 0%o) (clearing O_NONBLOCK again): %s", fl0, strerror(errno));
}

static void check_ctty(void)
{
    pid_t pid = getpid(), sid = getsid(0), tsid = tcgetsid(0), fg = tcgetpgrp(0), pg = getpgrp();
    if (sid != pid)
        tp_fail("getsid(0) = %d, expected %d (the process leads its session)", (int)sid, (int)pid);
    if (tsid < 0)
        tp_fail("tcgetsid(0): %s (the terminal should be the session's controlling terminal)",
                strerror(errno));
    else if (tsid != pid)
        tp_fail("tcgetsid(0) = %d, expected %d (the terminal should be the controlling terminal "
                "of the process's session)", (int)tsid, (int)pid);
    if (fg < 0)
        tp_fail("tcgetpgrp(0): %s", strerror(errno));
    else if (fg != pg)
        tp_fail("tcgetpgrp(0) = %d, expected getpgrp() = %d (the foreground process group)",
                (int)fg, (int)pg);

    struct stat st0, st3;
    int have0 = fstat(0, &st0) == 0 && S_ISCHR(st0.st_mode);
    if (fcntl(FD_DEVTTY, F_GETFD) < 0) {
        tp_fail("fd %d (/dev/tty) is not open: %s", FD_DEVTTY, strerror(errno));
    } else if (fstat(FD_DEVTTY, &st3) != 0) {
        tp_fail("fd %d (/dev/tty): fstat: %s", FD_DEVTTY, strerror(errno));
    } else {
        char t[256];
        tp_fd_target(FD_DEVTTY, t, sizeof t);
        if (!S_ISCHR(st3.st_mode) || st3.st_rdev != makedev(5, 0))
            tp_fail("fd %d is %s (mode 0%o, device %u:%u), expected /dev/tty (character device "
                    "5:0)", FD_DEVTTY, t, st3.st_mode, major(st3.st_rdev), minor(st3.st_rdev));
        int fl = fcntl(FD_DEVTTY, F_GETFL);
        if (fl < 0)
            tp_fail("fd %d: fcntl(F_GETFL): %s", FD_DEVTTY, strerror(errno));
        else if ((fl & O_ACCMODE) != O_RDWR)
            tp_fail("fd %d (/dev/tty): access mode 0%o, expected O_RDWR (0%o)", FD_DEVTTY,
                    fl & O_ACCMODE, O_RDWR);
        errno = 0;
        if (!isatty(FD_DEVTTY))
            tp_fail("fd %d (/dev/tty) is not a terminal (isatty: %s)", FD_DEVTTY,
                    strerror(errno));
        /* The terminal behind the /dev/tty descriptor is the one on fd 0. */
        unsigned int dev = 0;
        if (ioctl(FD_DEVTTY, TIOCGDEV, &dev) != 0)
            tp_fail("ioctl(%d (/dev/tty), TIOCGDEV): %s", FD_DEVTTY, strerror(errno));
        else if (have0 && (dev_t)dev != st0.st_rdev)
            tp_fail("fd %d (/dev/tty) leads to terminal %u:%u, fd 0 is %u:%u", FD_DEVTTY,
                    major(dev), minor(dev), major(st0.st_rdev), minor(st0.st_rdev));
    }

    int fd = open("/dev/tty", O_RDWR);
    if (fd < 0)
        tp_fail("open(\"/dev/tty\", O_RDWR): %s (the process should have a controlling "
                "terminal)", strerror(errno));
    else
        close(fd);
}

static void check_no_ctty(void)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
    if (fd >= 0) {
        struct stat st;
        unsigned int dev = 0;
        if (fstat(0, &st) == 0 && ioctl(fd, TIOCGDEV, &dev) == 0)
            tp_fail("the process has a controlling terminal (%u:%u; fd 0 is %u:%u), expected "
                    "none (started without --ctty)", major(dev), minor(dev), major(st.st_rdev),
                    minor(st.st_rdev));
        else
            tp_fail("the process has a controlling terminal (open(\"/dev/tty\") succeeded), "
                    "expected none (started without --ctty)");
        close(fd);
    } else if (errno != ENXIO) {
        tp_fail("open(\"/dev/tty\"): %s, expected ENXIO (no controlling terminal)",
                strerror(errno));
    }
}

static void check_no_other_fds_between(int first, int max)
{
    for (int fd = first; fd < max; fd++)
        if (fcntl(fd, F_GETFD) >= 0) {
            char t[256];
            tp_fd_target(fd, t, sizeof t);
            tp_fail("fd %d is open (%s), but the program has no descriptor there", fd, t);
        }
}

/* --second-open: fd 9 is the terminal of fd 0, write-only, a description of its own. */
static void check_second_open(void)
{
    struct stat a, b;
    int flags = fcntl(FD_SECOND, F_GETFL);
    if (flags < 0) {
        tp_fail("fd %d (the terminal opened a second time) is not open: %s", FD_SECOND, strerror(errno));
        return;
    }
    if (!isatty(FD_SECOND))
        tp_fail("fd %d (the terminal opened a second time) is not a terminal", FD_SECOND);
    if (fstat(FD_SECOND, &a) != 0 || fstat(0, &b) != 0 || a.st_rdev != b.st_rdev)
        tp_fail("fd %d is not the terminal of fd 0 (devices %u:%u and %u:%u)", FD_SECOND,
                major(a.st_rdev), minor(a.st_rdev), major(b.st_rdev), minor(b.st_rdev));
    if ((flags & O_ACCMODE) != O_WRONLY)
        tp_fail("fd %d is open with access mode %d, expected O_WRONLY", FD_SECOND, flags & O_ACCMODE);
    /* Its own description: O_NONBLOCK set through fd 9 does not show on fd 0. */
    if (fcntl(FD_SECOND, F_SETFL, flags | O_NONBLOCK) != 0)
        tp_fail("fcntl(%d, F_SETFL): %s", FD_SECOND, strerror(errno));
    else if (fcntl(0, F_GETFL) & O_NONBLOCK)
        tp_fail("fd %d and fd 0 share one open file description, expected two", FD_SECOND);
    fcntl(FD_SECOND, F_SETFL, flags);
}

static void check_no_other_fds(int first)
{
    struct rlimit rl;
    int max = 4096;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)max)
        max = (int)rl.rlim_cur;
    for (int fd = first; fd < max; fd++)
        if (fcntl(fd, F_GETFD) >= 0) {
            char t[256];
            tp_fd_target(fd, t, sizeof t);
            tp_fail("fd %d is open (%s), but the program has no descriptor there", fd, t);
        }
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    tp_init(argc, argv, "--tty=PATH [--ctty] [--raw] [--expect-lines=0] [--expect-winch] [--second-open]");
    const char *path = tp_arg_str("tty", NULL);
    int ctty = tp_arg_flag("ctty");
    g_raw = tp_arg_flag("raw");
    unsigned long expect_lines = (unsigned long)tp_arg_ull("expect-lines", 0, 0, 1000000000);
    int expect_winch = tp_arg_flag("expect-winch");
    int second_open = tp_arg_flag("second-open");
    tp_args_done();
    if (!path || !path[0])
        tp_die("--tty=PATH is required");

    /* Deterministic descriptors: nothing inherited above 2. */
    if (close_range(3, ~0U, 0) != 0)
        tp_die_errno("close_range(3, ~0U)");

    if (ctty)
        tp_setsid(); /* lead a session with no controlling terminal yet */

    int fd = open(path, O_RDWR | (ctty ? 0 : O_NOCTTY));
    if (fd < 0)
        tp_die_errno("open(%s, O_RDWR%s)", path, ctty ? "" : "|O_NOCTTY");
    if (!isatty(fd))
        tp_die_errno("%s is not a terminal", path);
    if (ctty) {
        if (tcgetsid(fd) != getpid()) {
            if (ioctl(fd, TIOCSCTTY, 0) != 0)
                tp_die_errno("%s did not become the controlling terminal on open (tcgetsid %d), "
                             "and ioctl(TIOCSCTTY) failed", path, (int)tcgetsid(fd));
            if (tcgetsid(fd) != getpid())
                tp_die("%s: tcgetsid is %d after TIOCSCTTY, expected %d", path,
                       (int)tcgetsid(fd), (int)getpid());
        }
        if (tcsetpgrp(fd, getpgrp()) != 0)
            tp_die_errno("tcsetpgrp(%s, %d)", path, (int)getpgrp());
    }
    struct stat st;
    if (fstat(fd, &st) != 0)
        tp_die_errno("fstat(%s)", path);
    tp_log("terminal %s (device %u:%u)%s%s", path, major(st.st_rdev), minor(st.st_rdev),
           ctty ? ", controlling terminal" : "", g_raw ? ", raw" : "");

    /* From here on stderr is the terminal too. */
    for (int t = 0; t < 3; t++)
        if (fd != t && dup2(fd, t) != t)
            tp_die_errno("dup2(%d, %d)", fd, t);
    if (fd > 2 && close(fd) != 0)
        tp_die_errno("close(%d)", fd);
    if (ctty) {
        int t = open("/dev/tty", O_RDWR);
        if (t < 0)
            tp_die_errno("open(/dev/tty, O_RDWR)");
        if (tp_move_fd(t, FD_DEVTTY, 0) != FD_DEVTTY)
            tp_die_errno("move fd %d (/dev/tty) to %d", t, FD_DEVTTY);
    }
    if (second_open) {
        int t = open(path, O_WRONLY | O_NOCTTY);
        if (t < 0)
            tp_die_errno("open(%s, O_WRONLY|O_NOCTTY) a second time", path);
        if (tp_move_fd(t, FD_SECOND, 0) != FD_SECOND)
            tp_die_errno("move fd %d (%s again) to %d", t, path, FD_SECOND);
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_winch;
    if (sigaction(SIGWINCH, &sa, NULL) != 0)
        tp_die_errno("sigaction(SIGWINCH)");
    sa.sa_handler = NULL;
    sa.sa_sigaction = on_term;
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(SIGTERM, &sa, NULL) != 0) /* still blocked (tp_init) */
        tp_die_errno("sigaction(SIGTERM)");

    /* Distinctive settings; what tcgetattr reads back afterwards is the expected state. */
    struct termios want;
    if (tcgetattr(0, &want) != 0)
        tp_die_errno("tcgetattr(0)");
    want.c_cc[VINTR] = 0x07;
    want.c_cc[VEOF] = 0x06;
    want.c_lflag &= ~(tcflag_t)ECHO;
    if (g_raw) {
        want.c_lflag &= ~(tcflag_t)(ICANON | ISIG | IEXTEN);
        want.c_iflag &= ~(tcflag_t)(ICRNL | IXON);
        want.c_oflag &= ~(tcflag_t)OPOST;
        want.c_cc[VMIN] = 1;
        want.c_cc[VTIME] = 0;
    }
    if (tcsetattr(0, TCSANOW, &want) != 0)
        tp_die_errno("tcsetattr(0)");
    struct termios got;
    if (tcgetattr(0, &got) != 0)
        tp_die_errno("tcgetattr(0) after tcsetattr");
    if (got.c_cc[VINTR] != 0x07 || got.c_cc[VEOF] != 0x06 || (got.c_lflag & ECHO))
        tp_die("tcsetattr did not take: VINTR 0x%02x, VEOF 0x%02x, c_lflag 0x%x", got.c_cc[VINTR],
               got.c_cc[VEOF], (unsigned)got.c_lflag);
    if (g_raw && ((got.c_lflag & (ICANON | ISIG | IEXTEN)) || (got.c_iflag & (ICRNL | IXON)) ||
                  (got.c_oflag & OPOST) || got.c_cc[VMIN] != 1 || got.c_cc[VTIME] != 0))
        tp_die("raw settings did not take: c_iflag 0x%x c_oflag 0x%x c_lflag 0x%x VMIN %d VTIME %d",
               (unsigned)got.c_iflag, (unsigned)got.c_oflag, (unsigned)got.c_lflag,
               got.c_cc[VMIN], got.c_cc[VTIME]);
    want = got;

    char ready[64];
    snprintf(ready, sizeof ready, "terminal: ready%s", eol());
    if (out(ready, strlen(ready), "the ready line") != 0)
        tp_die("cannot write the ready line to the terminal");

    tp_ready();

    /* Wait for input and SIGTERM together: SIGTERM is unblocked only inside ppoll/sigsuspend. */
    sigset_t waitmask;
    sigprocmask(SIG_SETMASK, NULL, &waitmask);
    sigdelset(&waitmask, SIGTERM);
    int input = 1;
    while (!g_term) {
        if (!input) {
            sigsuspend(&waitmask);
            continue;
        }
        struct pollfd p = {.fd = 0, .events = POLLIN};
        int r = ppoll(&p, 1, NULL, &waitmask);
        if (r < 0) {
            if (errno == EINTR)
                continue; /* SIGTERM (the loop ends), SIGWINCH, stop/continue */
            snprintf(g_hangup, sizeof g_hangup, "ppoll on fd 0: %s after %lu lines",
                     strerror(errno), g_lines);
            tp_log("input ended: %s; waiting for SIGTERM only", g_hangup);
            input = 0;
            continue;
        }
        if (r == 0)
            continue;
        if (p.revents & POLLIN) {
            if (read_some(p.revents) != 0)
                input = 0;
        } else if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) {
            snprintf(g_hangup, sizeof g_hangup, "poll on fd 0 gave revents 0x%x after %lu lines",
                     (unsigned)p.revents, g_lines);
            tp_log("input ended: %s; waiting for SIGTERM only", g_hangup);
            input = 0;
        }
    }
    tp_log("SIGTERM received (from pid %d, si_code %d)", (int)g_term_pid, (int)g_term_code);

    /* Answer what was sent before the SIGTERM and is waiting already. */
    for (int i = 0; input && i < 1000; i++) {
        struct pollfd p = {.fd = 0, .events = POLLIN};
        int r = poll(&p, 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || !(p.revents & POLLIN))
            break;
        if (read_some(p.revents) != 0)
            break;
    }

    tp_begin_check();
    if (g_hangup[0])
        tp_fail("the terminal's input ended before the SIGTERM: %s", g_hangup);
    check_std_fds();
    check_termios(0, &want, "terminal settings (tcgetattr(0))");
    if (ctty)
        check_ctty();
    else
        check_no_ctty();
    if (second_open) {
        check_second_open();
        check_no_other_fds_between(ctty ? FD_DEVTTY + 1 : 3, FD_SECOND);
        check_no_other_fds(FD_SECOND + 1);
    } else {
        check_no_other_fds(ctty ? FD_DEVTTY + 1 : 3);
    }
    if (g_lines < expect_lines)
        tp_fail("%lu lines received, expected at least %lu", g_lines, expect_lines);
    if (expect_winch && g_winch == 0)
        tp_fail("no SIGWINCH received (--expect-winch)");
    tp_log("%lu lines, %d SIGWINCH", g_lines, (int)g_winch);

    char done[64];
    snprintf(done, sizeof done, "terminal: check done%s", eol());
    out(done, strlen(done), "the check-done line");
    tp_finish();
}

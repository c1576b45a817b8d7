/*
 * watcher: inotify instances with watches, a gap in the watch numbers and flags (see README.md).
 *
 *   watcher --pidfile=F --outfile=O [--child]
 *
 * DIR is a new directory `watched.PID` in the outfile's directory, holding f1, f2 (a few bytes
 * each) and a symlink `link` -> f1. It is removed at the end of the check (and at a set-up
 * failure); a stale one of the same name is replaced.
 * - Instance A: inotify_init1(IN_NONBLOCK | IN_CLOEXEC) at fd 30:
 *     wd 1  DIR       IN_CREATE | IN_DELETE | IN_MOVED_TO
 *     wd 2  DIR/f1    IN_MODIFY, removed at once (inotify_rm_watch; its IN_IGNORED read away):
 *                     a gap, the instance never hands out 2 again
 *     wd 3  DIR/f2    IN_MODIFY | IN_ONESHOT
 *     wd 4  DIR/link  IN_ATTRIB | IN_DONT_FOLLOW (the symlink itself, not f1)
 *     wd 5  DIR/f1    IN_CLOSE_WRITE | IN_EXCL_UNLINK
 * - Instance B: inotify_init1(0) (blocking, no close-on-exec) at fd 31:
 *     wd 1  DIR       IN_ATTRIB
 * The wds must come out as listed (set-up dies otherwise); what /proc/self/fdinfo shows for each
 * watch (mask, device) is recorded. Both queues are empty (FIONREAD 0) when the pidfile appears.
 * --child: a child (forked after tp_setsid) inherits fds 30 and 31 (the same open file
 *   descriptions) and blocks in read() on a pipe. Told by the parent, it checks that its fds 30
 *   and 31 are inotify instances and that its fd 30 lists the wd the parent added (so it is the
 *   parent's instance), and exits 0 (3..6 otherwise; 2 when the pipe ends without a word).
 * On SIGTERM (SIGPIPE ignored):
 * - fds 30 and 31 are `anon_inode:inotify`, O_RDONLY; O_NONBLOCK and FD_CLOEXEC on 30, neither on 31;
 * - fdinfo of fd 30 lists exactly wds 1, 3, 4, 5, of fd 31 exactly wd 1; each with the inode of
 *   its file (lstat for the link), the event bits asked for (mask & IN_ALL_EVENTS), and the very
 *   mask and device shown at set-up (this kernel shows IN_ONESHOT and IN_EXCL_UNLINK there,
 *   not IN_DONT_FOLLOW), ignored_mask 0; no flag shown that was not asked for. (fdinfo prints
 *   every number in hex, the wd too.)
 * - no event waits in either queue (FIONREAD 0): a restore leaves no spurious event behind
 *   (e.g. an IN_IGNORED of a watch that filled the gap);
 * - then events (poll with a 3 s timeout before every read, never blocking; after every step
 *   anything else that arrived on either instance is reported as unexpected):
 *   1. DIR/new created: A wd 1 IN_CREATE "new";
 *   2. f2 written: A wd 3 IN_MODIFY, then wd 3 IN_IGNORED (one-shot); fdinfo no longer lists
 *      wd 3; f2 written again: nothing;
 *   3. the symlink's own times changed (utimensat AT_SYMLINK_NOFOLLOW): A wd 4 IN_ATTRIB,
 *      B wd 1 IN_ATTRIB "link"; f1's times changed: nothing on A (wd 4 is the link's, not f1's;
 *      wd 5 wants IN_CLOSE_WRITE only), B wd 1 IN_ATTRIB "f1";
 *   4. f1 opened for writing and closed: A wd 5 IN_CLOSE_WRITE;
 *   5. DIR's times changed: B wd 1 IN_ATTRIB|IN_ISDIR (no name); nothing on A;
 *   6. a new watch on A (DIR/f2, IN_MODIFY) gets wd 6 (the counter went on from 5); f2
 *      written: A wd 6 IN_MODIFY; fdinfo of fd 30 lists exactly wds 1, 4, 5, 6;
 *   7. f1 opened for writing, unlinked, closed: A wd 1 IN_DELETE "f1", then wd 5 IN_IGNORED
 *      (the inode is gone) without IN_CLOSE_WRITE before it (IN_EXCL_UNLINK);
 * - --child: kcmp says its fds 30 and 31 are the parent's open file descriptions (skipped
 *   where kcmp is not available); told to check (wd 6), it exits 0 within 10 s;
 * - DIR is removed, with nothing unexpected left in it.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FD_A 30
#define FD_B 31
#define WAIT_MS 3000  /* an expected event must come within this */
#define QUIET_MS 20   /* how long to look for unexpected events after a step */
#define MAX_FDW 32

static char g_dir[PATH_MAX];
static pid_t g_owner; /* the process that removes DIR at exit */
static pid_t g_child = -1; /* --child, until reaped */

/* One watch as set up. */
struct watch {
    int wd;
    const char *name;      /* in DIR; NULL: DIR itself */
    uint32_t mask;         /* as given to inotify_add_watch */
    int nofollow;          /* lstat, not stat */
    unsigned int shown;    /* the mask fdinfo showed at set-up */
    unsigned int sdev;     /* the sdev fdinfo showed at set-up */
};

static struct watch g_a[] = {
    {1, NULL, IN_CREATE | IN_DELETE | IN_MOVED_TO, 0, 0, 0},
    {3, "f2", IN_MODIFY | IN_ONESHOT, 0, 0, 0},
    {4, "link", IN_ATTRIB | IN_DONT_FOLLOW, 1, 0, 0},
    {5, "f1", IN_CLOSE_WRITE | IN_EXCL_UNLINK, 0, 0, 0},
};
static struct watch g_b[] = {
    {1, NULL, IN_ATTRIB, 0, 0, 0},
};
#define NA (int)(sizeof g_a / sizeof g_a[0])
#define NB (int)(sizeof g_b / sizeof g_b[0])

/* ------------------------------------------------------------------ */
/* helpers                                                              */

static const char *path_in(const char *name, char *buf, size_t len)
{
    if (name)
        snprintf(buf, len, "%s/%s", g_dir, name);
    else
        snprintf(buf, len, "%s", g_dir);
    return buf;
}

static const char *wname(const struct watch *w)
{
    return w->name ? w->name : "DIR";
}

/* "IN_MODIFY|IN_IGNORED" for a mask (unknown bits in hex). */
static const char *mask_str(uint32_t m, char *buf, size_t len)
{
    static const struct { uint32_t bit; const char *name; } bits[] = {
        {IN_ACCESS, "IN_ACCESS"}, {IN_MODIFY, "IN_MODIFY"}, {IN_ATTRIB, "IN_ATTRIB"},
        {IN_CLOSE_WRITE, "IN_CLOSE_WRITE"}, {IN_CLOSE_NOWRITE, "IN_CLOSE_NOWRITE"},
        {IN_OPEN, "IN_OPEN"}, {IN_MOVED_FROM, "IN_MOVED_FROM"}, {IN_MOVED_TO, "IN_MOVED_TO"},
        {IN_CREATE, "IN_CREATE"}, {IN_DELETE, "IN_DELETE"}, {IN_DELETE_SELF, "IN_DELETE_SELF"},
        {IN_MOVE_SELF, "IN_MOVE_SELF"}, {IN_UNMOUNT, "IN_UNMOUNT"}, {IN_Q_OVERFLOW, "IN_Q_OVERFLOW"},
        {IN_IGNORED, "IN_IGNORED"}, {IN_ONLYDIR, "IN_ONLYDIR"}, {IN_DONT_FOLLOW, "IN_DONT_FOLLOW"},
        {IN_EXCL_UNLINK, "IN_EXCL_UNLINK"}, {IN_MASK_CREATE, "IN_MASK_CREATE"},
        {IN_MASK_ADD, "IN_MASK_ADD"}, {IN_ISDIR, "IN_ISDIR"}, {IN_ONESHOT, "IN_ONESHOT"},
    };
    size_t pos = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
        if (m & bits[i].bit) {
            pos += (size_t)snprintf(buf + pos, pos < len ? len - pos : 0, "%s%s", pos ? "|" : "", bits[i].name);
            m &= ~bits[i].bit;
        }
    if (m)
        pos += (size_t)snprintf(buf + pos, pos < len ? len - pos : 0, "%s0x%x", pos ? "|" : "", m);
    if (pos == 0)
        snprintf(buf, len, "0");
    return buf;
}

/* Write a few bytes to a file (open flags as given), closing it. 0 or -1 (tp_fail'ed). */
static int write_file(const char *path, int flags, const char *data, const char *what)
{
    int fd = open(path, flags | O_CLOEXEC, 0644);
    if (fd < 0) {
        tp_fail("%s: open(%s): %s", what, path, strerror(errno));
        return -1;
    }
    size_t len = strlen(data);
    ssize_t w = len ? write(fd, data, len) : 0;
    int bad = w != (ssize_t)len;
    if (bad)
        tp_fail("%s: write(%s, %zu bytes) gave %zd (%s)", what, path, len, w, w < 0 ? strerror(errno) : "short");
    if (close(fd) != 0) {
        tp_fail("%s: close(%s): %s", what, path, strerror(errno));
        bad = 1;
    }
    return bad ? -1 : 0;
}

/* Remove DIR and whatever the program may have made in it. With `report`, failures and
 * unexpected entries are tp_fail'ed; otherwise only logged. */
static void remove_dir(int report)
{
    static const char *const names[] = {"f1", "f2", "link", "new"};
    char p[PATH_MAX + 16];
    if (!g_dir[0])
        return;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (unlink(path_in(names[i], p, sizeof p)) != 0 && errno != ENOENT) {
            if (report) tp_fail("clean-up: unlink(%s): %s", p, strerror(errno));
            else tp_log("clean-up: unlink(%s): %s", p, strerror(errno));
        }
    if (rmdir(g_dir) == 0 || errno == ENOENT)
        return;
    int err = errno, gone = 0;
    char left[512] = "";
    size_t pos = 0;
    DIR *d = opendir(g_dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            if (pos < sizeof left)
                pos += (size_t)snprintf(left + pos, sizeof left - pos, "%s\"%s\"", pos ? ", " : "", e->d_name);
            unlinkat(dirfd(d), e->d_name, 0); /* best effort: leave nothing behind */
        }
        closedir(d);
        gone = rmdir(g_dir) == 0;
    }
    if (report)
        tp_fail("clean-up: rmdir(%s): %s (left in it: %s)%s", g_dir, strerror(err), pos ? left : "nothing seen",
                gone ? "; removed them" : "");
    else
        tp_log("clean-up: rmdir(%s): %s (left in it: %s)%s", g_dir, strerror(err), pos ? left : "nothing seen",
               gone ? "; removed them" : "");
}

/* At exit (a set-up failure): no child or directory left behind. */
static void clean_up_at_exit(void)
{
    if (getpid() != g_owner)
        return;
    if (g_child > 0) {
        kill(g_child, SIGKILL);
        while (waitpid(g_child, NULL, 0) < 0 && errno == EINTR) {}
        g_child = -1;
    }
    remove_dir(0);
}

/* ------------------------------------------------------------------ */
/* /proc/self/fdinfo                                                    */

struct fdw {
    int wd;
    unsigned long ino;
    unsigned int sdev, mask, ignored;
};

/* The inotify lines of /proc/self/fdinfo/FD; count (those beyond max not stored), or -1 with
 * a reason in err. */
static int read_fdinfo(int fd, struct fdw *out, int max, char *err, size_t errlen)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "fopen(%s): %s", path, strerror(errno));
        return -1;
    }
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "inotify ", 8) != 0)
            continue;
        struct fdw w;
        unsigned int wd;
        /* every number in hex, the wd too ("wd:c" is wd 12) */
        if (sscanf(line, "inotify wd:%x ino:%lx sdev:%x mask:%x ignored_mask:%x", &wd, &w.ino, &w.sdev,
                   &w.mask, &w.ignored) != 5) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(err, errlen, "%s: line not understood: \"%s\"", path, line);
            fclose(f);
            return -1;
        }
        w.wd = (int)wd;
        if (n < max)
            out[n] = w;
        n++;
    }
    fclose(f);
    return n;
}

static const struct fdw *find_wd(const struct fdw *v, int n, int wd)
{
    for (int i = 0; i < n && i < MAX_FDW; i++)
        if (v[i].wd == wd)
            return &v[i];
    return NULL;
}

/* Compare the watches fdinfo lists for fd with the set of wds `wds` (n_wds of them): report a
 * missing or extra wd. Returns the number of entries read, or -1. */
static int check_wd_set(int fd, const char *inst, const int *wds, int n_wds, struct fdw *v, const char *when)
{
    char err[600];
    int n = read_fdinfo(fd, v, MAX_FDW, err, sizeof err);
    if (n < 0) {
        tp_fail("%s (fd %d) %s: %s", inst, fd, when, err);
        return -1;
    }
    char want[64] = "", got[256] = "";
    size_t pw = 0, pg = 0;
    for (int i = 0; i < n_wds; i++)
        pw += (size_t)snprintf(want + pw, sizeof want - pw, "%s%d", i ? "," : "", wds[i]);
    for (int i = 0; i < n && i < MAX_FDW && pg < sizeof got; i++)
        pg += (size_t)snprintf(got + pg, sizeof got - pg, "%s%d", i ? "," : "", v[i].wd);
    for (int i = 0; i < n_wds; i++)
        if (!find_wd(v, n, wds[i]))
            tp_fail("%s (fd %d) %s: fdinfo does not list wd %d (lists wds {%s}, expected {%s})", inst, fd, when,
                    wds[i], got, want);
    for (int i = 0; i < n && i < MAX_FDW; i++) {
        int known = 0, dup = 0;
        for (int k = 0; k < n_wds; k++)
            known |= v[i].wd == wds[k];
        for (int k = 0; k < i; k++)
            dup |= v[k].wd == v[i].wd;
        if (!known)
            tp_fail("%s (fd %d) %s: fdinfo lists wd %d%s (lists wds {%s}, expected {%s})", inst, fd, when, v[i].wd,
                    fd == FD_A && v[i].wd == 2 ? ", the gap removed at set-up" : ", not expected", got, want);
        else if (dup)
            tp_fail("%s (fd %d) %s: fdinfo lists wd %d twice (wds {%s})", inst, fd, when, v[i].wd, got);
    }
    if (n > MAX_FDW)
        tp_fail("%s (fd %d) %s: fdinfo lists %d watches", inst, fd, when, n);
    return n;
}

/* The inode a watch should be on, 0 with a failure reported if stat fails. */
static unsigned long watch_ino(const struct watch *w, const char *inst, int die)
{
    char p[PATH_MAX + 16];
    struct stat st;
    path_in(w->name, p, sizeof p);
    if ((w->nofollow ? lstat(p, &st) : stat(p, &st)) != 0) {
        if (die) tp_die_errno("%s(%s)", w->nofollow ? "lstat" : "stat", p);
        tp_fail("%s wd %d: %s(%s): %s", inst, w->wd, w->nofollow ? "lstat" : "stat", p, strerror(errno));
        return 0;
    }
    return (unsigned long)st.st_ino;
}

/* Record at set-up what fdinfo shows for each watch (dies when it looks wrong already). */
static void record_fdinfo(int fd, const char *inst, struct watch *ws, int nw)
{
    struct fdw v[MAX_FDW];
    char err[600], s1[256], s2[256];
    int n = read_fdinfo(fd, v, MAX_FDW, err, sizeof err);
    if (n < 0)
        tp_die("%s", err);
    if (n != nw)
        tp_die("%s (fd %d): fdinfo lists %d watches after set-up, expected %d", inst, fd, n, nw);
    for (int i = 0; i < nw; i++) {
        struct watch *w = &ws[i];
        const struct fdw *e = find_wd(v, n, w->wd);
        if (!e)
            tp_die("%s (fd %d): fdinfo does not list wd %d after set-up", inst, fd, w->wd);
        unsigned long ino = watch_ino(w, inst, 1);
        if (e->ino != ino)
            tp_die("%s wd %d (%s): fdinfo ino 0x%lx, the file's is 0x%lx", inst, w->wd, wname(w), e->ino, ino);
        if ((e->mask & IN_ALL_EVENTS) != (w->mask & IN_ALL_EVENTS))
            tp_die("%s wd %d (%s): fdinfo event bits 0x%x (%s), asked 0x%x", inst, w->wd, wname(w),
                   e->mask & IN_ALL_EVENTS, mask_str(e->mask & IN_ALL_EVENTS, s1, sizeof s1),
                   w->mask & IN_ALL_EVENTS);
        if (e->mask & ~IN_ALL_EVENTS & ~w->mask)
            tp_die("%s wd %d (%s): fdinfo mask 0x%x shows flags not asked for (asked 0x%x)", inst, w->wd,
                   wname(w), e->mask, w->mask);
        w->shown = e->mask;
        w->sdev = e->sdev;
        tp_log("%s (fd %d) wd %d: %s, asked 0x%x (%s), fdinfo mask 0x%x (%s), ino 0x%lx, sdev 0x%x", inst, fd,
               w->wd, wname(w), w->mask, mask_str(w->mask, s1, sizeof s1), e->mask,
               mask_str(e->mask, s2, sizeof s2), e->ino, e->sdev);
    }
}

/* At the check: the set of wds, each watch's inode, mask and device. */
static void check_fdinfo(int fd, const char *inst, const struct watch *ws, int nw)
{
    struct fdw v[MAX_FDW];
    int wds[8];
    char s1[256], s2[256];
    for (int i = 0; i < nw; i++)
        wds[i] = ws[i].wd;
    int n = check_wd_set(fd, inst, wds, nw, v, "at the check");
    if (n < 0)
        return;
    for (int i = 0; i < nw; i++) {
        const struct watch *w = &ws[i];
        const struct fdw *e = find_wd(v, n, w->wd);
        if (!e)
            continue;
        unsigned long ino = watch_ino(w, inst, 0);
        if (ino && e->ino != ino)
            tp_fail("%s wd %d (%s): fdinfo ino 0x%lx, but %s of the %s gives 0x%lx", inst, w->wd, wname(w), e->ino,
                    w->nofollow ? "lstat" : "stat", w->nofollow ? "symlink (not followed)" : "file", ino);
        if (e->sdev != w->sdev)
            tp_fail("%s wd %d (%s): fdinfo sdev 0x%x, expected 0x%x (as at set-up)", inst, w->wd, wname(w),
                    e->sdev, w->sdev);
        if ((e->mask & IN_ALL_EVENTS) != (w->mask & IN_ALL_EVENTS))
            tp_fail("%s wd %d (%s): fdinfo event bits 0x%x (%s), expected 0x%x (%s)", inst, w->wd, wname(w),
                    e->mask & IN_ALL_EVENTS, mask_str(e->mask & IN_ALL_EVENTS, s1, sizeof s1),
                    w->mask & IN_ALL_EVENTS, mask_str(w->mask & IN_ALL_EVENTS, s2, sizeof s2));
        else if (e->mask != w->shown)
            tp_fail("%s wd %d (%s): fdinfo mask 0x%x (%s), expected 0x%x (%s) as shown at set-up", inst, w->wd,
                    wname(w), e->mask, mask_str(e->mask, s1, sizeof s1), w->shown,
                    mask_str(w->shown, s2, sizeof s2));
        if (e->ignored != 0)
            tp_fail("%s wd %d (%s): fdinfo ignored_mask 0x%x, expected 0", inst, w->wd, wname(w), e->ignored);
    }
}

/* ------------------------------------------------------------------ */
/* events                                                               */

struct evq {
    int fd;
    const char *name;
    int broken;
    size_t len, pos;
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
};

static struct evq g_qa = {FD_A, "A", 0, 0, 0, {0}};
static struct evq g_qb = {FD_B, "B", 0, 0, 0, {0}};

/* The next event of an instance, waiting (poll) at most timeout_ms; NULL if none came. Never
 * blocks in read(): poll says there is something first. */
static const struct inotify_event *next_event(struct evq *q, int timeout_ms)
{
    if (q->pos >= q->len) {
        if (q->broken)
            return NULL;
        q->pos = q->len = 0;
        struct pollfd p = {q->fd, POLLIN, 0};
        int r;
        while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {}
        if (r < 0) {
            tp_fail("%s: poll(fd %d): %s", q->name, q->fd, strerror(errno));
            q->broken = 1;
            return NULL;
        }
        if (r == 0)
            return NULL;
        if (!(p.revents & POLLIN)) {
            tp_fail("%s: poll(fd %d) gave revents 0x%x without POLLIN", q->name, q->fd, p.revents);
            q->broken = 1;
            return NULL;
        }
        ssize_t n;
        while ((n = read(q->fd, q->buf, sizeof q->buf)) < 0 && errno == EINTR) {}
        if (n < 0 && errno == EAGAIN)
            return NULL;
        if (n <= 0) {
            tp_fail("%s: read(fd %d) after POLLIN gave %zd (%s)", q->name, q->fd, n, n < 0 ? strerror(errno) : "EOF");
            q->broken = 1;
            return NULL;
        }
        q->len = (size_t)n;
    }
    const struct inotify_event *ev = (const struct inotify_event *)(q->buf + q->pos);
    if (q->len - q->pos < sizeof *ev || q->len - q->pos < sizeof *ev + ev->len) {
        tp_fail("%s: read(fd %d) gave a truncated event (%zu bytes left at offset %zu)", q->name, q->fd,
                q->len - q->pos, q->pos);
        q->broken = 1;
        q->pos = q->len;
        return NULL;
    }
    q->pos += sizeof *ev + ev->len;
    return ev;
}

static const char *ev_name(const struct inotify_event *ev)
{
    return ev->len ? ev->name : "";
}

static const char *ev_str(const struct inotify_event *ev, char *buf, size_t len)
{
    char m[256];
    snprintf(buf, len, "wd %d mask 0x%x (%s) name \"%s\"", ev->wd, ev->mask, mask_str(ev->mask, m, sizeof m),
             ev_name(ev));
    return buf;
}

/* The next event of q must be (wd, mask, name) and come within WAIT_MS. */
static int expect_event(struct evq *q, int wd, uint32_t mask, const char *name, const char *step)
{
    char m[256], e[600];
    const struct inotify_event *ev = next_event(q, WAIT_MS);
    if (!ev) {
        if (!q->broken)
            tp_fail("%s: no event on %s (fd %d) within %d ms, expected wd %d mask 0x%x (%s) name \"%s\"", step,
                    q->name, q->fd, WAIT_MS, wd, mask, mask_str(mask, m, sizeof m), name);
        return -1;
    }
    if (ev->wd != wd || ev->mask != mask || strcmp(ev_name(ev), name) != 0) {
        tp_fail("%s: %s (fd %d) gave %s, expected wd %d mask 0x%x (%s) name \"%s\"", step, q->name, q->fd,
                ev_str(ev, e, sizeof e), wd, mask, mask_str(mask, m, sizeof m), name);
        return -1;
    }
    return 0;
}

/* Nothing more may arrive on q: every event that does is reported. */
static void expect_quiet(struct evq *q, const char *step)
{
    char e[600];
    const struct inotify_event *ev;
    for (int i = 0; i < 64 && (ev = next_event(q, QUIET_MS)) != NULL; i++)
        tp_fail("%s: unexpected event on %s (fd %d): %s", step, q->name, q->fd, ev_str(ev, e, sizeof e));
}

static void expect_both_quiet(const char *step)
{
    expect_quiet(&g_qa, step);
    expect_quiet(&g_qb, step);
}

/* FIONREAD of fd must be 0; if not, the events waiting are reported and read away. */
static void check_queue_empty(struct evq *q, const char *when)
{
    int queued = -1;
    if (ioctl(q->fd, FIONREAD, &queued) != 0) {
        tp_fail("%s: ioctl(fd %d, FIONREAD): %s", q->name, q->fd, strerror(errno));
        return;
    }
    if (queued == 0)
        return;
    tp_fail("%s: %d bytes of events wait in %s's queue (fd %d FIONREAD), expected none", when, queued, q->name, q->fd);
    char e[600];
    const struct inotify_event *ev;
    for (int i = 0; i < 64 && (ev = next_event(q, 0)) != NULL; i++)
        tp_fail("%s: event waiting on %s (fd %d): %s", when, q->name, q->fd, ev_str(ev, e, sizeof e));
}

/* ------------------------------------------------------------------ */
/* set-up                                                               */

static int add_watch(int fd, const char *name, uint32_t mask, int want_wd, const char *inst)
{
    char p[PATH_MAX + 16], m[256];
    path_in(name, p, sizeof p);
    int wd = inotify_add_watch(fd, p, mask);
    if (wd < 0)
        tp_die_errno("%s: inotify_add_watch(%d, %s, %s)", inst, fd, p, mask_str(mask, m, sizeof m));
    if (wd != want_wd)
        tp_die("%s: inotify_add_watch(%d, %s, %s) gave wd %d, expected %d", inst, fd, p, mask_str(mask, m, sizeof m),
               wd, want_wd);
    return wd;
}

/* Read away whatever waits on fd (only while FIONREAD says there is something: fd 31 blocks). */
static void drain_setup(int fd, const char *inst)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (int round = 0;; round++) {
        int queued = -1;
        if (ioctl(fd, FIONREAD, &queued) != 0)
            tp_die_errno("%s: ioctl(%d, FIONREAD)", inst, fd);
        if (queued == 0)
            return;
        if (round == 100)
            tp_die("%s: fd %d still has %d bytes of events after 100 reads", inst, fd, queued);
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            tp_die("%s: read(%d) of %d queued bytes gave %zd (%s)", inst, fd, queued, n, n < 0 ? strerror(errno) : "EOF");
        for (size_t pos = 0; pos + sizeof(struct inotify_event) <= (size_t)n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(buf + pos);
            char e[600];
            tp_log("%s: read away before the pidfile: %s", inst, ev_str(ev, e, sizeof e));
            pos += sizeof *ev + ev->len;
        }
    }
}

/* ------------------------------------------------------------------ */
/* the child                                                            */

enum { CHILD_OK = 0, CHILD_NO_WORD = 2, CHILD_NOT_A = 3, CHILD_NOT_B = 4, CHILD_FDINFO = 5, CHILD_NO_WD = 6 };

static int is_inotify(int fd, char *link, size_t len)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(p, link, len - 1);
    if (n < 0) {
        snprintf(link, len, "readlink: %s", strerror(errno));
        return 0;
    }
    link[n] = '\0';
    return strcmp(link, "anon_inode:inotify") == 0;
}

__attribute__((noreturn)) static void child_main(int go)
{
    unsigned char wd;
    ssize_t r;
    while ((r = read(go, &wd, 1)) < 0 && errno == EINTR) {}
    if (r != 1) {
        tp_log("child: the request pipe gave %zd (%s) instead of a word", r, r < 0 ? strerror(errno) : "EOF");
        _exit(CHILD_NO_WORD);
    }
    char link[256];
    if (!is_inotify(FD_A, link, sizeof link)) {
        tp_log("child: fd %d is \"%s\", expected anon_inode:inotify", FD_A, link);
        _exit(CHILD_NOT_A);
    }
    if (!is_inotify(FD_B, link, sizeof link)) {
        tp_log("child: fd %d is \"%s\", expected anon_inode:inotify", FD_B, link);
        _exit(CHILD_NOT_B);
    }
    if (wd) {
        struct fdw v[MAX_FDW];
        char err[600];
        int n = read_fdinfo(FD_A, v, MAX_FDW, err, sizeof err);
        if (n < 0) {
            tp_log("child: %s", err);
            _exit(CHILD_FDINFO);
        }
        if (!find_wd(v, n, wd)) {
            tp_log("child: fdinfo of fd %d does not list wd %d, which the parent added", FD_A, wd);
            _exit(CHILD_NO_WD);
        }
    }
    _exit(CHILD_OK);
}

/* ------------------------------------------------------------------ */
/* checks                                                               */

/* The descriptor is an inotify instance with the flags expected; returns 0 if it is an inotify
 * instance at all (wrong flags are reported, but events can still be checked: fd 31 is only read
 * after poll), -1 if not. */
static int check_fd(int fd, const char *inst, int want_nonblock, int want_cloexec)
{
    char link[256];
    if (!is_inotify(fd, link, sizeof link)) {
        tp_fail("%s: /proc/self/fd/%d is \"%s\", expected \"anon_inode:inotify\"", inst, fd, link);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
    if (fl < 0 || fdfl < 0) {
        tp_fail("%s: fcntl(%d, %s): %s", inst, fd, fl < 0 ? "F_GETFL" : "F_GETFD", strerror(errno));
        return -1;
    }
    if (!!(fl & O_NONBLOCK) != want_nonblock)
        tp_fail("%s: fd %d F_GETFL 0%o, expected O_NONBLOCK %s", inst, fd, fl, want_nonblock ? "set" : "clear");
    if ((fl & O_ACCMODE) != O_RDONLY)
        tp_fail("%s: fd %d F_GETFL 0%o, expected access mode O_RDONLY", inst, fd, fl);
    if (!!(fdfl & FD_CLOEXEC) != want_cloexec)
        tp_fail("%s: fd %d F_GETFD 0x%x, expected FD_CLOEXEC %s", inst, fd, fdfl, want_cloexec ? "set" : "clear");
    return 0;
}

static void utimes_of(const char *name, int flags, const char *step)
{
    char p[PATH_MAX + 16];
    path_in(name, p, sizeof p);
    if (utimensat(AT_FDCWD, p, NULL, flags) != 0)
        tp_fail("%s: utimensat(%s%s): %s", step, p, flags ? ", AT_SYMLINK_NOFOLLOW" : "", strerror(errno));
}

/* The events; returns the wd of the watch added in step 6 (0 if that failed). */
static int check_events(void)
{
    char p[PATH_MAX + 16];
    const char *step;
    int new_wd = 0;

    step = "step 1 (DIR/new created)";
    write_file(path_in("new", p, sizeof p), O_WRONLY | O_CREAT | O_EXCL, "", step);
    expect_event(&g_qa, 1, IN_CREATE, "new", step);
    expect_both_quiet(step);

    step = "step 2 (DIR/f2 written)";
    write_file(path_in("f2", p, sizeof p), O_WRONLY | O_APPEND, "more\n", step);
    if (expect_event(&g_qa, 3, IN_MODIFY, "", step) == 0)
        expect_event(&g_qa, 3, IN_IGNORED, "", "step 2 (DIR/f2 written: the one-shot watch ends)");
    expect_both_quiet(step);
    {
        struct fdw v[MAX_FDW];
        int wds[] = {1, 4, 5};
        check_wd_set(FD_A, "A", wds, 3, v, "after the one-shot watch wd 3 fired");
    }
    step = "step 2 (DIR/f2 written again, the one-shot wd 3 gone)";
    write_file(path_in("f2", p, sizeof p), O_WRONLY | O_APPEND, "again\n", step);
    expect_both_quiet(step);

    step = "step 3 (the symlink's own times changed, AT_SYMLINK_NOFOLLOW)";
    utimes_of("link", AT_SYMLINK_NOFOLLOW, step);
    expect_event(&g_qa, 4, IN_ATTRIB, "", step);
    expect_event(&g_qb, 1, IN_ATTRIB, "link", step);
    expect_both_quiet(step);
    step = "step 3 (f1's times changed: nothing for the IN_DONT_FOLLOW wd 4)";
    utimes_of("f1", 0, step);
    expect_event(&g_qb, 1, IN_ATTRIB, "f1", step);
    expect_both_quiet(step);

    step = "step 4 (DIR/f1 opened for writing and closed)";
    {
        int fd = open(path_in("f1", p, sizeof p), O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            tp_fail("%s: open(%s, O_WRONLY): %s", step, p, strerror(errno));
        else if (close(fd) != 0)
            tp_fail("%s: close: %s", step, strerror(errno));
    }
    expect_event(&g_qa, 5, IN_CLOSE_WRITE, "", step);
    expect_both_quiet(step);

    step = "step 5 (DIR's times changed)";
    utimes_of(NULL, 0, step);
    expect_event(&g_qb, 1, IN_ATTRIB | IN_ISDIR, "", step);
    expect_both_quiet(step);

    step = "step 6 (a new watch on A)";
    {
        int wd = inotify_add_watch(FD_A, path_in("f2", p, sizeof p), IN_MODIFY);
        if (wd < 0)
            tp_fail("%s: inotify_add_watch(%d, %s, IN_MODIFY): %s", step, FD_A, p, strerror(errno));
        else if (wd != 6)
            tp_fail("%s: inotify_add_watch(%d, %s, IN_MODIFY) gave wd %d, expected 6: the instance's wd counter "
                    "did not go on from 5", step, FD_A, p, wd);
        else
            new_wd = wd;
        if (wd > 0) {
            write_file(p, O_WRONLY | O_APPEND, "six\n", step);
            expect_event(&g_qa, wd, IN_MODIFY, "", "step 6 (DIR/f2 written, watched by the new wd)");
        }
        expect_both_quiet(step);
        struct fdw v[MAX_FDW];
        int wds[] = {1, 4, 5, 6};
        check_wd_set(FD_A, "A", wds, 4, v, "after step 6");
    }

    step = "step 7 (DIR/f1 opened for writing, unlinked, closed)";
    {
        int fd = open(path_in("f1", p, sizeof p), O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            tp_fail("%s: open(%s, O_WRONLY): %s", step, p, strerror(errno));
        } else {
            if (unlink(p) != 0)
                tp_fail("%s: unlink(%s): %s", step, p, strerror(errno));
            expect_event(&g_qa, 1, IN_DELETE, "f1", step);
            expect_both_quiet(step);
            if (close(fd) != 0)
                tp_fail("%s: close: %s", step, strerror(errno));
            expect_event(&g_qa, 5, IN_IGNORED, "",
                         "step 7 (the unlinked f1 closed: no IN_CLOSE_WRITE for the IN_EXCL_UNLINK wd 5, "
                         "then its inode is gone)");
            expect_both_quiet(step);
        }
    }
    return new_wd;
}

static void check_child(pid_t child, int go, int wd)
{
    for (int fd = FD_A; fd <= FD_B; fd++) {
        long r = syscall(SYS_kcmp, (pid_t)getpid(), child, KCMP_FILE, fd, fd);
        if (r < 0 && (errno == ENOSYS || errno == EPERM || errno == EACCES)) {
            tp_log("kcmp: %s: not checking that the child shares the open file descriptions", strerror(errno));
            break;
        }
        if (r < 0)
            tp_fail("kcmp(%d, child %d, KCMP_FILE, %d, %d): %s (the child or its fd %d gone?)", (int)getpid(),
                    (int)child, fd, fd, strerror(errno), fd);
        else if (r != 0)
            tp_fail("the child's fd %d is not the parent's open file description (kcmp gives %ld)", fd, r);
    }
    unsigned char word = (unsigned char)wd;
    ssize_t w;
    while ((w = write(go, &word, 1)) < 0 && errno == EINTR) {}
    if (w != 1)
        tp_fail("request to the child: write gave %zd (%s)", w, w < 0 ? strerror(errno) : "nothing");
    close(go);
    int status = 0;
    pid_t got = 0;
    for (int i = 0; i < 1000; i++) { /* 10 s */
        got = waitpid(child, &status, WNOHANG);
        if (got != 0 && !(got < 0 && errno == EINTR))
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (got == 0) {
        tp_fail("the child (pid %d) did not exit within 10 s of the request; killed", (int)child);
        kill(child, SIGKILL);
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        return;
    }
    if (got != child) {
        tp_fail("waitpid(%d): %s", (int)child, got < 0 ? strerror(errno) : "another pid");
        return;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_OK)
        return;
    const char *why = "";
    if (WIFEXITED(status))
        switch (WEXITSTATUS(status)) {
        case CHILD_NO_WORD: why = ": it got no request byte"; break;
        case CHILD_NOT_A: why = ": its fd 30 is not an inotify instance"; break;
        case CHILD_NOT_B: why = ": its fd 31 is not an inotify instance"; break;
        case CHILD_FDINFO: why = ": it could not read its fdinfo of fd 30"; break;
        case CHILD_NO_WD: why = ": its fd 30 does not list the wd the parent added (not the same instance)"; break;
        }
    tp_fail("the child ended with status 0x%x, expected exit 0%s (see stderr)", status, why);
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--child]");
    int with_child = tp_arg_flag("child");
    tp_args_done();
    if (with_child)
        tp_setsid();

    /* ---- DIR ---- */
    {
        char out[PATH_MAX], real[PATH_MAX];
        snprintf(out, sizeof out, "%s", tp_outfile);
        const char *d = dirname(out);
        if (!realpath(d, real))
            tp_die_errno("realpath(%s) (the outfile's directory)", d);
        if ((size_t)snprintf(g_dir, sizeof g_dir, "%s/watched.%d", real, (int)getpid()) >= sizeof g_dir - 16)
            tp_die("directory name too long");
    }
    g_owner = getpid();
    if (mkdir(g_dir, 0755) != 0) {
        if (errno != EEXIST)
            tp_die_errno("mkdir(%s)", g_dir);
        tp_log("removing a stale %s", g_dir);
        remove_dir(0);
        if (mkdir(g_dir, 0755) != 0)
            tp_die_errno("mkdir(%s)", g_dir);
    }
    atexit(clean_up_at_exit);
    char p[PATH_MAX + 16];
    if (write_file(path_in("f1", p, sizeof p), O_WRONLY | O_CREAT | O_EXCL, "the first file\n", "set-up") != 0 ||
        write_file(path_in("f2", p, sizeof p), O_WRONLY | O_CREAT | O_EXCL, "the second file\n", "set-up") != 0)
        tp_die("cannot make the files in %s", g_dir);
    if (symlink("f1", path_in("link", p, sizeof p)) != 0)
        tp_die_errno("symlink(f1, %s)", p);

    /* ---- A ---- */
    int a = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (a < 0)
        tp_die_errno("inotify_init1(IN_NONBLOCK | IN_CLOEXEC)");
    if (tp_move_fd(a, FD_A, 1) < 0)
        tp_die_errno("move fd %d to %d", a, FD_A);
    add_watch(FD_A, NULL, IN_CREATE | IN_DELETE | IN_MOVED_TO, 1, "A");
    int gap = add_watch(FD_A, "f1", IN_MODIFY, 2, "A");
    if (inotify_rm_watch(FD_A, gap) != 0)
        tp_die_errno("A: inotify_rm_watch(%d, %d)", FD_A, gap);
    {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        char e[600];
        ssize_t n = read(FD_A, buf, sizeof buf);
        if (n < (ssize_t)sizeof(struct inotify_event))
            tp_die("A: read(%d) after inotify_rm_watch gave %zd (%s), expected the IN_IGNORED of wd 2", FD_A, n,
                   n < 0 ? strerror(errno) : "short");
        const struct inotify_event *ev = (const struct inotify_event *)buf;
        if (ev->wd != 2 || ev->mask != IN_IGNORED || n != (ssize_t)(sizeof *ev + ev->len))
            tp_die("A: after inotify_rm_watch read %zd bytes: %s, expected just wd 2 IN_IGNORED", n,
                   ev_str(ev, e, sizeof e));
    }
    for (int i = 1; i < NA; i++)
        add_watch(FD_A, g_a[i].name, g_a[i].mask, g_a[i].wd, "A");

    /* ---- B ---- */
    int b = inotify_init1(0);
    if (b < 0)
        tp_die_errno("inotify_init1(0)");
    if (tp_move_fd(b, FD_B, 0) < 0)
        tp_die_errno("move fd %d to %d", b, FD_B);
    for (int i = 0; i < NB; i++)
        add_watch(FD_B, g_b[i].name, g_b[i].mask, g_b[i].wd, "B");

    record_fdinfo(FD_A, "A", g_a, NA);
    record_fdinfo(FD_B, "B", g_b, NB);

    /* ---- the child ---- */
    pid_t child = -1;
    int go[2] = {-1, -1};
    if (with_child) {
        if (pipe2(go, O_CLOEXEC) != 0)
            tp_die_errno("pipe2");
        child = fork();
        if (child < 0)
            tp_die_errno("fork");
        if (child == 0) {
            close(go[1]);
            child_main(go[0]);
        }
        g_child = child;
        close(go[0]);
    }

    drain_setup(FD_A, "A");
    drain_setup(FD_B, "B");
    tp_log("DIR %s; A: fd %d, wds 1 (DIR), 3 (f2, one-shot), 4 (link, not followed), 5 (f1), 2 removed; "
           "B: fd %d, wd 1 (DIR); child %d", g_dir, FD_A, FD_B, (int)child);

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) /* a child gone: EPIPE, not death */
        tp_fail("signal(SIGPIPE, SIG_IGN): %s", strerror(errno));

    int a_ok = check_fd(FD_A, "A", 1, 1) == 0;
    int b_ok = check_fd(FD_B, "B", 0, 0) == 0;
    int new_wd = 0;
    if (a_ok && b_ok) {
        check_fdinfo(FD_A, "A", g_a, NA);
        check_fdinfo(FD_B, "B", g_b, NB);
        check_queue_empty(&g_qa, "at the start of the check");
        check_queue_empty(&g_qb, "at the start of the check");
        new_wd = check_events();
    } else {
        tp_log("fd %d or %d is not an inotify instance: no event checks", FD_A, FD_B);
    }
    if (with_child) {
        check_child(child, go[1], new_wd);
        g_child = -1;
    }
    remove_dir(1);
    g_dir[0] = '\0';
    tp_finish();
}

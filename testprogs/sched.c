/*
 * sched: scheduling attributes that must survive a checkpoint/restore (see README.md).
 *
 *   sched --pidfile=F --outfile=O
 *
 * Set-up, per thread (nice, policy, priority, affinity, timer slack and I/O priority belong to
 * a thread):
 *   main    SCHED_BATCH, nice 7, pinned to the lowest CPU it may use, timer slack 123456 ns,
 *           I/O class idle; oom_score_adj 345 (that one belongs to the process)
 *   s-idle  SCHED_IDLE, nice 3, pinned to the highest CPU it may use (another one than main's
 *           when there are two), timer slack 654321 ns, I/O best-effort level 7; blocked in
 *           pthread_cond_wait
 *   s-fifo  SCHED_FIFO priority 10 with SCHED_RESET_ON_FORK, nice 11 (kept for the day it leaves
 *           SCHED_FIFO), allowed on every CPU main started with, I/O priority left as it came
 *           (class none); blocked in pthread_cond_wait,
 *           so it never spins. Its timer slack is whatever the kernel reports (6.x keeps a
 *           real-time thread's at 0).
 * Each thread reads its attributes back once set up (a set-up that did not take dies) and,
 * woken after SIGTERM, reads them again: any difference fails with both values. Needs root
 * (SCHED_FIFO, and a nice value below the inherited one is never set).
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define OOM_SCORE_ADJ 345

struct attrs {
    int policy; /* sched_getscheduler(): SCHED_RESET_ON_FORK included */
    int priority;
    int nice;
    cpu_set_t cpus;
    unsigned long slack;
    int ioprio; /* ioprio_get(IOPRIO_WHO_PROCESS, tid) */
};

/* ioprio values (linux/ioprio.h): class in bits 13-15, level in bits 0-2. */
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_VALUE(class, level) ((class) << 13 | (level))
#define IOPRIO_CLASS_BE 2
#define IOPRIO_CLASS_IDLE 3

struct thread_state {
    const char *name;
    pthread_t thread;
    pid_t tid;
    int policy, priority, nice, cpu; /* what set-up asks for; cpu -1: leave the affinity */
    unsigned long slack;             /* 0: leave it */
    int ioprio;                      /* 0: leave it */
    struct attrs recorded;
    char verdict[512];
};

enum { MAIN, IDLE, FIFO, NSTATES };
static struct thread_state ts[NSTATES];

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int woken;
static atomic_int started;

static void tfail(struct thread_state *t, const char *fmt, ...) TP_PRINTF(2, 3);
static void tfail(struct thread_state *t, const char *fmt, ...)
{
    if (t->verdict[0]) return;
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    snprintf(t->verdict, sizeof t->verdict, "%s (tid %d): %s", t->name, (int)t->tid, buf);
    tp_log("%s", t->verdict);
}

static const char *policy_name(int policy, char *buf, size_t size)
{
    const char *base;
    switch (policy & ~SCHED_RESET_ON_FORK) {
    case SCHED_OTHER: base = "SCHED_OTHER"; break;
    case SCHED_FIFO: base = "SCHED_FIFO"; break;
    case SCHED_RR: base = "SCHED_RR"; break;
    case SCHED_BATCH: base = "SCHED_BATCH"; break;
    case SCHED_IDLE: base = "SCHED_IDLE"; break;
    default: base = "policy ?"; break;
    }
    snprintf(buf, size, "%s%s (%d)", base, (policy & SCHED_RESET_ON_FORK) ? "|SCHED_RESET_ON_FORK" : "", policy);
    return buf;
}

static const char *cpu_list(const cpu_set_t *set, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && n + 8 < size; cpu++)
        if (CPU_ISSET(cpu, set)) n += (size_t)snprintf(buf + n, size - n, "%s%d", n ? "," : "", cpu);
    if (n == 0) snprintf(buf, size, "none");
    return buf;
}

/* The calling thread's attributes. */
static int read_attrs(struct attrs *a, char *error, size_t size)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);
    struct sched_param param;
    a->policy = sched_getscheduler(0);
    if (a->policy < 0 || sched_getparam(0, &param) != 0) {
        snprintf(error, size, "sched_getscheduler/sched_getparam: %s", strerror(errno));
        return -1;
    }
    a->priority = param.sched_priority;
    errno = 0;
    a->nice = getpriority(PRIO_PROCESS, (id_t)tid);
    if (a->nice == -1 && errno != 0) {
        snprintf(error, size, "getpriority: %s", strerror(errno));
        return -1;
    }
    if (sched_getaffinity(0, sizeof a->cpus, &a->cpus) != 0) {
        snprintf(error, size, "sched_getaffinity: %s", strerror(errno));
        return -1;
    }
    a->slack = (unsigned long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    a->ioprio = (int)syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid);
    if (a->ioprio < 0) {
        snprintf(error, size, "ioprio_get: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* The first difference between what the thread recorded and what it has now, or NULL. */
static const char *compare(const struct attrs *was, const struct attrs *now, char *buf, size_t size)
{
    char a[100], b[100];
    if (now->policy != was->policy)
        snprintf(buf, size, "policy %s, expected %s", policy_name(now->policy, a, sizeof a), policy_name(was->policy, b, sizeof b));
    else if (now->priority != was->priority)
        snprintf(buf, size, "real-time priority %d, expected %d", now->priority, was->priority);
    else if (now->nice != was->nice)
        snprintf(buf, size, "nice %d, expected %d", now->nice, was->nice);
    else if (!CPU_EQUAL(&now->cpus, &was->cpus))
        snprintf(buf, size, "CPU affinity {%s}, expected {%s}", cpu_list(&now->cpus, a, sizeof a), cpu_list(&was->cpus, b, sizeof b));
    else if (now->slack != was->slack)
        snprintf(buf, size, "timer slack %lu ns, expected %lu ns", now->slack, was->slack);
    else if (now->ioprio != was->ioprio)
        snprintf(buf, size, "I/O priority 0x%x (class %d level %d), expected 0x%x (class %d level %d)", now->ioprio, now->ioprio >> 13,
                 now->ioprio & 7, was->ioprio, was->ioprio >> 13, was->ioprio & 7);
    else
        return NULL;
    return buf;
}

/* Gives the calling thread the attributes of its state and records them; dies if one does not take. */
static void set_up(struct thread_state *t)
{
    t->tid = (pid_t)syscall(SYS_gettid);
    pthread_setname_np(pthread_self(), t->name);
    if (t->slack && prctl(PR_SET_TIMERSLACK, t->slack, 0, 0, 0) != 0) tp_die_errno("%s: PR_SET_TIMERSLACK %lu", t->name, t->slack);
    if (setpriority(PRIO_PROCESS, (id_t)t->tid, t->nice) != 0) tp_die_errno("%s: setpriority %d", t->name, t->nice);
    if (t->ioprio && syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, t->tid, t->ioprio) != 0)
        tp_die_errno("%s: ioprio_set 0x%x", t->name, t->ioprio);
    if (t->cpu >= 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(t->cpu, &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0) tp_die_errno("%s: sched_setaffinity {%d}", t->name, t->cpu);
    }
    struct sched_param param = {.sched_priority = t->priority};
    if (sched_setscheduler(0, t->policy, &param) != 0) tp_die_errno("%s: sched_setscheduler %d priority %d", t->name, t->policy, t->priority);

    char error[200], diff[300];
    if (read_attrs(&t->recorded, error, sizeof error) != 0) tp_die("%s: %s", t->name, error);
    struct attrs wanted = t->recorded;
    wanted.policy = t->policy;
    wanted.priority = t->priority;
    wanted.nice = t->nice;
    if (t->slack) wanted.slack = t->slack;
    if (t->ioprio) wanted.ioprio = t->ioprio;
    if (compare(&wanted, &t->recorded, diff, sizeof diff)) tp_die("%s: set-up did not take: %s", t->name, diff);
    if (t->cpu >= 0 && (CPU_COUNT(&t->recorded.cpus) != 1 || !CPU_ISSET(t->cpu, &t->recorded.cpus)))
        tp_die("%s: set-up did not take: CPU affinity is not {%d}", t->name, t->cpu);
}

static void check(struct thread_state *t)
{
    char error[200], diff[300];
    struct attrs now;
    if ((pid_t)syscall(SYS_gettid) != t->tid) tfail(t, "gettid() = %d", (int)syscall(SYS_gettid));
    else if (read_attrs(&now, error, sizeof error) != 0) tfail(t, "%s", error);
    else if (compare(&t->recorded, &now, diff, sizeof diff)) tfail(t, "%s", diff);
}

static void *blocked_thread(void *arg)
{
    struct thread_state *t = arg;
    set_up(t);
    pthread_mutex_lock(&lock);
    atomic_fetch_add(&started, 1);
    while (!woken) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    check(t);
    return NULL;
}

static int read_oom_score_adj(void)
{
    FILE *f = fopen("/proc/self/oom_score_adj", "r");
    int value = -10000;
    if (!f) return value;
    if (fscanf(f, "%d", &value) != 1) value = -10000;
    fclose(f);
    return value;
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "");
    tp_args_done();

    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) tp_die_errno("sched_getaffinity");
    int lowest = -1, highest = -1;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &allowed)) {
            if (lowest < 0) lowest = cpu;
            highest = cpu;
        }
    if (lowest < 0) tp_die("no CPU in the affinity mask");

    ts[MAIN] = (struct thread_state){.name = "sched", .policy = SCHED_BATCH, .nice = 7, .cpu = lowest, .slack = 123456,
                                       .ioprio = IOPRIO_VALUE(IOPRIO_CLASS_IDLE, 0)};
    ts[IDLE] = (struct thread_state){.name = "s-idle", .policy = SCHED_IDLE, .nice = 3, .cpu = highest, .slack = 654321,
                                       .ioprio = IOPRIO_VALUE(IOPRIO_CLASS_BE, 7)};
    ts[FIFO] = (struct thread_state){.name = "s-fifo", .policy = SCHED_FIFO | SCHED_RESET_ON_FORK, .priority = 10, .nice = 11,
                                     .cpu = -1, .slack = 0};

    FILE *oom = fopen("/proc/self/oom_score_adj", "w");
    if (!oom || fprintf(oom, "%d\n", OOM_SCORE_ADJ) < 0 || fclose(oom) != 0) tp_die_errno("writing /proc/self/oom_score_adj");
    if (read_oom_score_adj() != OOM_SCORE_ADJ) tp_die("oom_score_adj did not take");

    /* The threads first: they start with the creator's attributes, and set their own. */
    for (int i = IDLE; i < NSTATES; i++)
        if (pthread_create(&ts[i].thread, NULL, blocked_thread, &ts[i]) != 0) tp_die("pthread_create %s failed", ts[i].name);
    set_up(&ts[MAIN]);
    while (atomic_load(&started) < NSTATES - 1) usleep(1000);
    /* Each thread holds the lock until it waits: taking it means both are inside the wait. */
    pthread_mutex_lock(&lock);
    pthread_mutex_unlock(&lock);
    char cpus[100];
    tp_log("main tid %d cpu %d, s-idle tid %d cpu %d, s-fifo tid %d cpus {%s}", (int)ts[MAIN].tid, lowest, (int)ts[IDLE].tid, highest,
           (int)ts[FIFO].tid, cpu_list(&ts[FIFO].recorded.cpus, cpus, sizeof cpus));

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    int adj = read_oom_score_adj();
    if (adj != OOM_SCORE_ADJ) tp_fail("oom_score_adj %d, expected %d", adj, OOM_SCORE_ADJ);
    check(&ts[MAIN]);
    pthread_mutex_lock(&lock);
    woken = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < NSTATES; i++) {
        if (i != MAIN) pthread_join(ts[i].thread, NULL);
        if (ts[i].verdict[0]) tp_fail("%s", ts[i].verdict);
    }
    tp_finish();
}

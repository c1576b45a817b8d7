/*
 * threads: several threads with live state (see README.md).
 *
 *   fpu     a loop keeping a counter in SSE registers (two double lanes) and in memory, checked
 *           against each other on every step; SIGUSR1 blocked and one SIGUSR1 pending on this
 *           thread only (pthread_kill); an alternate signal stack
 *   futex   blocked in pthread_cond_wait (a futex wait without timeout)
 *   sleeper nanosleep(10 ms) in a loop (EINTR tolerated: an interrupted sleep is repeated)
 *   reader  blocked in read() on a pipe the main thread writes to after SIGTERM
 *
 * Each thread records its tid, name, TLS value (__thread), blocked mask and alternate stack at
 * setup and checks them after SIGTERM; the main thread wakes each blocked thread, joins every
 * thread (pthread_join relies on the clear-child-tid futex wake) and collects their verdicts.
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <emmintrin.h>

#define NTHREADS 4
static const char *names[NTHREADS] = {"t-fpu", "t-futex", "t-sleeper", "t-reader"};

static __thread int tls_index = -1;
static atomic_int stop;
static atomic_int started;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int woken;
static int wake_pipe[2];

struct thread_state {
    pthread_t thread;
    pid_t tid;
    sigset_t mask;
    stack_t altstack;
    unsigned long long steps;
    char verdict[256];
};
static struct thread_state ts[NTHREADS];

static void tfail(struct thread_state *t, const char *fmt, ...) TP_PRINTF(2, 3);
static void tfail(struct thread_state *t, const char *fmt, ...)
{
    if (t->verdict[0]) return;
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    snprintf(t->verdict, sizeof t->verdict, "%s: %s", names[t - ts], buf);
    tp_log("%s", t->verdict);
}

static void setup_common(int i)
{
    struct thread_state *t = &ts[i];
    tls_index = i;
    t->tid = (pid_t)syscall(SYS_gettid);
    pthread_setname_np(pthread_self(), names[i]);
    pthread_sigmask(SIG_SETMASK, NULL, &t->mask);
    sigaltstack(NULL, &t->altstack);
}

static void check_common(int i)
{
    struct thread_state *t = &ts[i];
    if (tls_index != i) tfail(t, "TLS value %d, expected %d", tls_index, i);
    pid_t tid = (pid_t)syscall(SYS_gettid);
    if (tid != t->tid) tfail(t, "gettid() = %d, was %d", (int)tid, (int)t->tid);
    char name[32] = "";
    pthread_getname_np(pthread_self(), name, sizeof name);
    if (strcmp(name, names[i]) != 0) tfail(t, "name '%s', expected '%s'", name, names[i]);
    sigset_t mask;
    pthread_sigmask(SIG_SETMASK, NULL, &mask);
    for (int s = 1; s < 65; s++)
        if (sigismember(&mask, s) != sigismember(&t->mask, s)) { tfail(t, "signal %d blocked changed", s); break; }
    stack_t ss;
    sigaltstack(NULL, &ss);
    if (ss.ss_sp != t->altstack.ss_sp || ss.ss_size != t->altstack.ss_size || ss.ss_flags != t->altstack.ss_flags)
        tfail(t, "sigaltstack %p/%zu/%d, was %p/%zu/%d", ss.ss_sp, ss.ss_size, ss.ss_flags,
              t->altstack.ss_sp, t->altstack.ss_size, t->altstack.ss_flags);
}

static void *fpu_thread(void *arg)
{
    (void)arg;
    struct thread_state *t = &ts[0];
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    static char altstack[65536];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) tfail(t, "sigaltstack: %s", strerror(errno));
    setup_common(0);
    atomic_fetch_add(&started, 1);

    __m128d acc = _mm_set_pd(0.5, 0.0), one = _mm_set1_pd(1.0);
    volatile unsigned long long count = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (int k = 0; k < 1000; k++) {
            acc = _mm_add_pd(acc, one);
            count++;
            double lanes[2];
            _mm_storeu_pd(lanes, acc);
            if (lanes[0] != (double)count || lanes[1] != (double)count + 0.5) {
                tfail(t, "SSE lanes %.1f/%.1f, counter %llu", lanes[0], lanes[1], count);
                atomic_store(&stop, 1);
                break;
            }
        }
    }
    t->steps = count;
    check_common(0);
    sigset_t pending;
    sigpending(&pending);
    if (!sigismember(&pending, SIGUSR1)) tfail(t, "the SIGUSR1 pending on this thread was lost");
    else {
        int sig = 0;
        sigwait(&usr1, &sig);
    }
    return NULL;
}

static void *futex_thread(void *arg)
{
    (void)arg;
    struct thread_state *t = &ts[1];
    setup_common(1);
    pthread_mutex_lock(&lock);
    atomic_fetch_add(&started, 1);
    while (!woken) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    if (woken != 1) tfail(t, "woken = %d", woken);
    check_common(1);
    return NULL;
}

static void *sleeper_thread(void *arg)
{
    (void)arg;
    struct thread_state *t = &ts[2];
    setup_common(2);
    atomic_fetch_add(&started, 1);
    while (!atomic_load(&stop)) {
        struct timespec d = {0, 10 * 1000 * 1000};
        if (nanosleep(&d, NULL) != 0 && errno != EINTR) tfail(t, "nanosleep: %s", strerror(errno));
        t->steps++;
    }
    check_common(2);
    return NULL;
}

static void *reader_thread(void *arg)
{
    (void)arg;
    struct thread_state *t = &ts[3];
    setup_common(3);
    atomic_fetch_add(&started, 1);
    char buf[16] = {0};
    ssize_t n;
    while ((n = read(wake_pipe[0], buf, sizeof buf - 1)) < 0 && errno == EINTR) {}
    if (n != 4 || memcmp(buf, "wake", 4) != 0) tfail(t, "read() = %zd '%s'", n, buf);
    check_common(3);
    return NULL;
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "");
    tp_args_done();
    if (pipe(wake_pipe) < 0) tp_die_errno("pipe");
    void *(*fn[NTHREADS])(void *) = {fpu_thread, futex_thread, sleeper_thread, reader_thread};
    /* 256 KiB stacks: too small to hold a 2 MiB transparent huge page, which kernels before 6.7
     * (no VM_NOHUGEPAGE for MAP_STACK) gave an 8 MiB stack whenever its top 2 MiB happened to be
     * aligned: the pages a golden image stores must not depend on where the stack landed. */
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, 256 * 1024) != 0) tp_die("pthread_attr_setstacksize failed");
    for (int i = 0; i < NTHREADS; i++)
        if (pthread_create(&ts[i].thread, &attr, fn[i], NULL) != 0) tp_die("pthread_create %d failed", i);
    pthread_attr_destroy(&attr);
    while (atomic_load(&started) < NTHREADS) usleep(1000);
    /* The futex thread holds the lock until it waits: taking it means it is inside the wait. */
    pthread_mutex_lock(&lock);
    pthread_mutex_unlock(&lock);
    /* One SIGUSR1 pending on the fpu thread only (it has it blocked). */
    if (pthread_kill(ts[0].thread, SIGUSR1) != 0) tp_die("pthread_kill");
    tls_index = 100;
    pid_t main_tid = (pid_t)syscall(SYS_gettid);

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    if (tls_index != 100) tp_fail("main thread TLS %d", tls_index);
    if ((pid_t)syscall(SYS_gettid) != main_tid) tp_fail("main gettid changed");
    pthread_mutex_lock(&lock);
    woken = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    atomic_store(&stop, 1);
    if (write(wake_pipe[1], "wake", 4) != 4) tp_fail("write(wake): %s", strerror(errno));
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(ts[i].thread, NULL);
        if (ts[i].verdict[0]) tp_fail("%s", ts[i].verdict);
    }
    if (ts[0].steps == 0) tp_fail("the fpu thread made no progress");
    tp_log("fpu steps %llu, sleeper steps %llu", ts[0].steps, ts[2].steps);
    tp_finish();
}

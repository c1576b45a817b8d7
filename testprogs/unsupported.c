/*
 * unsupported --kind=socket|socketpair|eventfd|inotify|epoll-closed|thread|child|deleted|deleted-big|seccomp|flock|posix-lock|posix-timer|thread-cpu-timer|deadline|opath|memfd-hugetlb|traced|ptmx|seccomp-notify|seccomp-kill|seccomp-stack|inotify-pending|udp|tcp-pending|unix-dgram-named|unix-both-named|pidfd-outside|cwd-deleted|mqueue|udp-shut-read|shared-vm|shared-files|shared-fs|mempolicy|mce-kill
 *
 * Holds one resource cryo does not support yet and otherwise follows the protocol, so tests can
 * check that a checkpoint is refused with a message naming pid, fd and kind, and that the
 * program then still runs unharmed (PASS on SIGTERM: its resource is still intact). Kinds cryo
 * has learned since (thread, child, flock, posix-lock, eventfd, posix-timer, socketpair: an
 * AF_UNIX stream pair with "ping" queued, read back; socket: an AF_INET TCP socket listening on
 * 127.0.0.1, port 0, at fd 3, checked with SO_ACCEPTCONN; inotify; seccomp) stay: they must
 * now restore and pass. opath (O_PATH descriptors of a directory and a file) failed a checkpoint once
 * (F_GETOWN_EX on them is EBADF) and must pass too. memfd-hugetlb: a memfd_create("cryo-huge",
 * MFD_HUGETLB) descriptor (a file on hugetlbfs, never sized or mapped), checked with F_GETFD.
 * traced: a child traces the program with PTRACE_SEIZE (as strace -p does) and lets every stop
 * pass; the check ends the child. deleted: a deleted file ("kept", beside the outfile) held at
 * fds[0], checked with pread. deleted-big: a deleted file holding more data than cryo saves of
 * one (64 MiB): /dev/shm/cryo-deleted-big.PID, 80 MiB actually written (not sparse), unlinked,
 * held at fds[0]; checked with fstat (size) and a pread of its last byte. Being deleted, its
 * memory is freed when the program exits. ptmx: the master end of a new pseudo-terminal
 * (posix_openpt), as a terminal emulator or tmux holds one, checked with ptsname.
 * shared-vm, shared-files, shared-fs: a child made by clone(CLONE_VM | SIGCHLD), (CLONE_FILES |
 * SIGCHLD) or (CLONE_FS | SIGCHLD), sharing the program's memory, descriptor table or working
 * directory, waiting in pause(); checked: kcmp says they still share it; the check ends the child.
 * mempolicy: set_mempolicy(MPOL_PREFERRED, node 0), as `numactl --preferred=0` leaves it;
 * mce-kill: prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY); checked: both still read back.
 * udp: a UDP socket bound to 127.0.0.1 (checked with SO_TYPE); udp-shut-read: the same, connected
 * to itself and shut down for reading (shutdown(SHUT_RD); checked: poll shows POLLRDHUP); tcp-pending: a listener on
 * 127.0.0.1 with a connection waiting to be accepted (checked by accepting it).
 * inotify-pending: an inotify instance watching the outfile's directory with two events
 * unread (a file made and removed there); checked: still an inotify instance with events waiting.
 * cwd-deleted: the working directory is OUTFILE.cwd (mode 0750), removed (rmdir) while the
 * program is in it (needs an absolute --outfile); checked: "." is a directory of mode 0750 with
 * no links, /proc/self/cwd reads "OUTFILE.cwd... (deleted)", and no file can be made in it.
 * mqueue: fd 3 a POSIX message queue "/cryo-unsupported-PID" (mq_open, O_CREAT|O_RDWR) with one
 * message queued; checked: mq_getattr shows it, and it is removed (mq_unlink) at the end.
 * pidfd-outside: fd 3 = pidfd_open(getppid(), 0), taken before tp_ready (setsid): a pidfd of the
 * program's parent, a process outside the checkpointed tree; checked: /proc/self/fdinfo/3 still
 * says Pid: the recorded parent, or -1 if the parent has gone since.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/filter.h>
#include <linux/kcmp.h>
#include <linux/seccomp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG_MIB 80 /* deleted-big: more than the 64 MiB cryo saves of a deleted file */

static volatile int thread_ran;

static void *sleeper(void *arg)
{
    (void)arg;
    thread_ran = 1;
    for (;;) pause();
    return NULL;
}

/*
 * The seccomp kinds cryo must refuse:
 * seccomp-notify: uname is handed to a supervisor (SECCOMP_RET_USER_NOTIF); the listener
 *   descriptor is closed at once, so only the filter says so.
 * seccomp-kill: sigaltstack kills the process (SECCOMP_RET_KILL_PROCESS), and cryo injects a
 *   sigaltstack into every thread at checkpoint: it must see that and not make the call.
 * seccomp-stack: filter 1 refuses seccomp() (EPERM) unless SECCOMP_FILTER_FLAG_TSYNC is given;
 *   filter 2 (allow all) goes on top with TSYNC. A restore installs a thread's filters without
 *   TSYNC, so filter 1 would refuse it: the checkpoint must say so.
 */
static void install_seccomp_kind(const char *kind)
{
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog allow_all = {.len = 1, .filter = &allow};
    if (strcmp(kind, "seccomp-notify") == 0) {
        struct sock_filter notify[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_uname, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog program = {.len = 4, .filter = notify};
        long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program);
        if (listener < 0) tp_die_errno("seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER)");
        close((int)listener);
    } else if (strcmp(kind, "seccomp-kill") == 0) {
        struct sock_filter kill_on_altstack[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sigaltstack, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog program = {.len = 4, .filter = kill_on_altstack};
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) < 0) tp_die_errno("seccomp(kill on sigaltstack)");
    } else if (strcmp(kind, "seccomp-stack") == 0) {
        struct sock_filter tsync_only[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_seccomp, 0, 3),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
            BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SECCOMP_FILTER_FLAG_TSYNC, 1, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog program = {.len = 6, .filter = tsync_only};
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) < 0) tp_die_errno("seccomp(TSYNC only)");
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &allow_all) != -1 || errno != EPERM)
            tp_die("the first filter let a second one in without TSYNC");
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &allow_all) != 0)
            tp_die_errno("seccomp(SECCOMP_FILTER_FLAG_TSYNC)");
    } else {
        tp_die("unknown --kind=%s", kind);
    }
}

/* --kind=shared-*: the clone flag and the kcmp type of what the child shares, or -1. */
static int shared_kind(const char *kind)
{
    return strcmp(kind, "shared-vm") == 0 ? KCMP_VM : strcmp(kind, "shared-files") == 0 ? KCMP_FILES
         : strcmp(kind, "shared-fs") == 0 ? KCMP_FS : -1;
}

static int shared_flags(const char *kind)
{
    int type = shared_kind(kind);
    return type == KCMP_VM ? CLONE_VM : type == KCMP_FILES ? CLONE_FILES : CLONE_FS;
}

static char g_child_stack[64 * 1024] __attribute__((aligned(16)));

static int paused_child(void *unused)
{
    (void)unused;
    for (;;) pause();
    return 0;
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "--kind=socket|socketpair|eventfd|inotify|epoll-closed|thread|child|deleted|deleted-big|seccomp|flock|posix-lock|posix-timer|thread-cpu-timer|deadline|opath|memfd-hugetlb|traced|ptmx|seccomp-notify|seccomp-kill|seccomp-stack|inotify-pending|udp|tcp-pending|unix-dgram-named|unix-both-named|pidfd-outside|cwd-deleted|mqueue|udp-shut-read|shared-vm|shared-files|shared-fs|mempolicy|mce-kill");
    const char *kind = tp_arg_str("kind", "socket");
    tp_args_done();

    int fds[2] = {-1, -1};
    pid_t child = -1;
    pid_t outside = -1; /* pidfd-outside: the parent's pid */
    char deleted_path[4096] = "";
    timer_t timer = 0;
    char buf0[1];
    if (strcmp(kind, "socket") == 0) {
        /* The first descriptor opened: fd 3. A TCP listener, which cryo refuses. */
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if ((fds[0] = socket(AF_INET, SOCK_STREAM, 0)) < 0) tp_die_errno("socket(AF_INET, SOCK_STREAM)");
        if (bind(fds[0], (struct sockaddr *)&addr, sizeof addr) < 0) tp_die_errno("bind 127.0.0.1:0");
        if (listen(fds[0], 4) < 0) tp_die_errno("listen");
    } else if (strcmp(kind, "udp") == 0 || strcmp(kind, "udp-shut-read") == 0) {
        /* A UDP socket bound to 127.0.0.1, any free port. */
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if ((fds[0] = socket(AF_INET, SOCK_DGRAM, 0)) < 0) tp_die_errno("socket(AF_INET, SOCK_DGRAM)");
        if (bind(fds[0], (struct sockaddr *)&address, sizeof address) < 0) tp_die_errno("bind");
        if (strcmp(kind, "udp-shut-read") == 0) {
            /* Connected to itself: shutdown of an unconnected socket says ENOTCONN (though it shuts it down). */
            socklen_t length = sizeof address;
            if (getsockname(fds[0], (struct sockaddr *)&address, &length) < 0 || connect(fds[0], (struct sockaddr *)&address, length) < 0)
                tp_die_errno("connect to its own address");
            if (shutdown(fds[0], SHUT_RD) < 0) tp_die_errno("shutdown(SHUT_RD)");
        }
    } else if (strcmp(kind, "unix-dgram-named") == 0) {
        /* fd 3: a Unix datagram socket bound to the abstract name "\0cryo-unsupported-dgram-PID". */
        struct sockaddr_un address = {.sun_family = AF_UNIX};
        int length = snprintf(address.sun_path + 1, sizeof address.sun_path - 1, "cryo-unsupported-dgram-%d", (int)getpid());
        if ((fds[0] = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0) tp_die_errno("socket(AF_UNIX, SOCK_DGRAM)");
        if (bind(fds[0], (struct sockaddr *)&address, (socklen_t)(sizeof(sa_family_t) + 1 + length)) < 0) tp_die_errno("bind");
    } else if (strcmp(kind, "unix-both-named") == 0) {
        /* A stream connection whose two ends are named and whose listener is closed: the client
         * (fd 3) bound "\0cryo-unsupported-client-PID" before it connected to the listener's
         * "\0cryo-unsupported-server-PID", the accepted end is fd 4. */
        struct sockaddr_un server = {.sun_family = AF_UNIX}, client = {.sun_family = AF_UNIX};
        int server_length = snprintf(server.sun_path + 1, sizeof server.sun_path - 1, "cryo-unsupported-server-%d", (int)getpid());
        int client_length = snprintf(client.sun_path + 1, sizeof client.sun_path - 1, "cryo-unsupported-client-%d", (int)getpid());
        int listener = socket(AF_UNIX, SOCK_STREAM, 0);
        if (listener < 0 || (fds[0] = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) tp_die_errno("socket(AF_UNIX, SOCK_STREAM)");
        if (bind(listener, (struct sockaddr *)&server, (socklen_t)(sizeof(sa_family_t) + 1 + server_length)) < 0 || listen(listener, 1) < 0)
            tp_die_errno("bind or listen (the listener)");
        if (bind(fds[0], (struct sockaddr *)&client, (socklen_t)(sizeof(sa_family_t) + 1 + client_length)) < 0 ||
            connect(fds[0], (struct sockaddr *)&server, (socklen_t)(sizeof(sa_family_t) + 1 + server_length)) < 0)
            tp_die_errno("bind or connect (the client)");
        if ((fds[1] = accept(listener, NULL, NULL)) < 0) tp_die_errno("accept");
        close(listener);
    } else if (strcmp(kind, "tcp-pending") == 0) {
        /* A listener (fd 3) with a connection waiting to be accepted: its client at fd 4. */
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t length = sizeof address;
        if ((fds[0] = socket(AF_INET, SOCK_STREAM, 0)) < 0) tp_die_errno("socket");
        if (bind(fds[0], (struct sockaddr *)&address, sizeof address) < 0 || listen(fds[0], 4) < 0) tp_die_errno("bind or listen");
        if (getsockname(fds[0], (struct sockaddr *)&address, &length) < 0) tp_die_errno("getsockname");
        if ((fds[1] = socket(AF_INET, SOCK_STREAM, 0)) < 0) tp_die_errno("socket");
        if (connect(fds[1], (struct sockaddr *)&address, sizeof address) < 0) tp_die_errno("connect");
    } else if (strcmp(kind, "socketpair") == 0) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0) tp_die_errno("socketpair");
        if (write(fds[0], "ping", 4) != 4) tp_die_errno("write to socket");
    } else if (strcmp(kind, "eventfd") == 0) {
        if ((fds[0] = eventfd(7, 0)) < 0) tp_die_errno("eventfd");
    } else if (strcmp(kind, "epoll-closed") == 0) {
        /* fd 4 watches the eventfd (fd 3) as fd 5, a dup since closed: the watch stays, its number is gone. */
        if ((fds[0] = eventfd(7, 0)) < 0 || (fds[1] = epoll_create1(0)) < 0) tp_die_errno("eventfd or epoll_create1");
        int watched = dup(fds[0]);
        struct epoll_event event = {.events = EPOLLIN, .data.u64 = 5};
        if (watched < 0 || epoll_ctl(fds[1], EPOLL_CTL_ADD, watched, &event) < 0) tp_die_errno("dup or epoll_ctl");
        close(watched);
    } else if (strcmp(kind, "inotify") == 0) {
        if ((fds[0] = inotify_init1(IN_NONBLOCK)) < 0) tp_die_errno("inotify_init1");
        if (inotify_add_watch(fds[0], tp_outfile[0] == '/' ? "/" : ".", IN_CREATE) < 0) tp_die_errno("inotify_add_watch");
    } else if (strcmp(kind, "inotify-pending") == 0) {
        /* Two events left unread: a file made and removed beside the outfile. */
        snprintf(deleted_path, sizeof deleted_path, "%s.pending-probe", tp_outfile);
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", tp_outfile);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0; else strcpy(dir, ".");
        if ((fds[0] = inotify_init1(IN_NONBLOCK)) < 0) tp_die_errno("inotify_init1");
        if (inotify_add_watch(fds[0], dir, IN_CREATE | IN_DELETE) < 0) tp_die_errno("inotify_add_watch(%s)", dir);
        int probe = open(deleted_path, O_CREAT | O_WRONLY, 0600);
        if (probe < 0) tp_die_errno("open %s", deleted_path);
        close(probe);
        unlink(deleted_path);
    } else if (strcmp(kind, "thread") == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, sleeper, NULL) != 0) tp_die("pthread_create failed");
        while (!thread_ran) usleep(1000);
    } else if (strcmp(kind, "child") == 0) {
        child = fork();
        if (child < 0) tp_die_errno("fork");
        if (child == 0) { for (;;) pause(); }
    } else if (strcmp(kind, "mempolicy") == 0) {
        unsigned long node0 = 1;
        if (syscall(SYS_set_mempolicy, 1 /* MPOL_PREFERRED */, &node0, 8 * sizeof node0) < 0) tp_die_errno("set_mempolicy(MPOL_PREFERRED)");
    } else if (strcmp(kind, "mce-kill") == 0) {
        if (prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0) < 0) tp_die_errno("prctl(PR_MCE_KILL)");
    } else if (shared_kind(kind) >= 0) {
        child = clone(paused_child, g_child_stack + sizeof g_child_stack, shared_flags(kind) | SIGCHLD, NULL);
        if (child < 0) tp_die_errno("clone for --kind=%s", kind);
    } else if (strcmp(kind, "deleted") == 0) {
        snprintf(deleted_path, sizeof deleted_path, "%s.deleted", tp_outfile);
        if ((fds[0] = open(deleted_path, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0) tp_die_errno("open %s", deleted_path);
        if (write(fds[0], "kept", 4) != 4) tp_die_errno("write");
        if (unlink(deleted_path) < 0) tp_die_errno("unlink");
    } else if (strcmp(kind, "deleted-big") == 0) {
        /* 80 MiB of data really written (no holes) into a file on tmpfs, then deleted: more than cryo saves of one. */
        snprintf(deleted_path, sizeof deleted_path, "/dev/shm/cryo-deleted-big.%d", (int)getpid());
        if ((fds[0] = open(deleted_path, O_RDWR | O_CREAT | O_EXCL, 0600)) < 0) tp_die_errno("open %s", deleted_path);
        if (unlink(deleted_path) < 0) tp_die_errno("unlink %s", deleted_path); /* first: a failed write leaves nothing behind */
        size_t chunk = 1 << 20;
        unsigned char *block = malloc(chunk);
        if (!block) tp_die("malloc(%zu)", chunk);
        for (size_t i = 0; i < chunk; i++) block[i] = (unsigned char)(i * 7 + 1);
        for (int m = 0; m < BIG_MIB; m++) {
            block[chunk - 1] = (unsigned char)m;
            size_t done = 0;
            while (done < chunk) {
                ssize_t w = write(fds[0], block + done, chunk - done);
                if (w < 0 && errno == EINTR) continue;
                if (w <= 0) tp_die_errno("write %s (MiB %d of %d)", deleted_path, m, BIG_MIB);
                done += (size_t)w;
            }
        }
        free(block);
    } else if (strcmp(kind, "flock") == 0 || strcmp(kind, "posix-lock") == 0) {
        snprintf(deleted_path, sizeof deleted_path, "%s.locked", tp_outfile);
        if ((fds[0] = open(deleted_path, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0) tp_die_errno("open %s", deleted_path);
        struct flock whole = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        if (kind[0] == 'f' ? flock(fds[0], LOCK_EX | LOCK_NB) < 0 : fcntl(fds[0], F_SETLK, &whole) < 0) tp_die_errno("lock %s", deleted_path);
    } else if (strcmp(kind, "posix-timer") == 0 || strcmp(kind, "thread-cpu-timer") == 0) {
        /* Armed far in the future: it must still be armed at the check. */
        struct sigevent event = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
        struct itimerspec due = {.it_value = {.tv_sec = 3600}};
        clockid_t clock = kind[0] == 'p' ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID;
        if (timer_create(clock, &event, &timer) < 0) tp_die_errno("timer_create");
        if (timer_settime(timer, 0, &due, NULL) < 0) tp_die_errno("timer_settime");
    } else if (strcmp(kind, "seccomp") == 0) {
        /* A filter that allows everything: the process is under seccomp, nothing else changes. */
        struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        struct sock_fprog program = {.len = 1, .filter = &allow};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) tp_die_errno("prctl(PR_SET_NO_NEW_PRIVS)");
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) < 0) tp_die_errno("prctl(PR_SET_SECCOMP)");
    } else if (strncmp(kind, "seccomp-", 8) == 0) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) tp_die_errno("prctl(PR_SET_NO_NEW_PRIVS)");
        install_seccomp_kind(kind);
    } else if (strcmp(kind, "deadline") == 0) {
        /* SCHED_DEADLINE (root): 1 ms of CPU every 100 ms, far more than a program asleep needs.
         * struct sched_attr as sched_setattr(2) takes it (glibc 2.36 has no wrapper). */
        struct { uint32_t size, policy; uint64_t flags; int32_t nice; uint32_t priority; uint64_t runtime, deadline, period; } attr = {
            .size = sizeof attr, .policy = 6 /* SCHED_DEADLINE */, .runtime = 1000000, .deadline = 100000000, .period = 100000000};
        if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0) tp_die_errno("sched_setattr(SCHED_DEADLINE)");
    } else if (strcmp(kind, "opath") == 0) {
        /* fd 3: the directory of the outfile, fd 4: /etc/hostname, both O_PATH. */
        snprintf(deleted_path, sizeof deleted_path, "%s", tp_outfile);
        char *slash = strrchr(deleted_path, '/');
        if (slash) *slash = 0; else strcpy(deleted_path, ".");
        if ((fds[0] = open(deleted_path, O_PATH | O_DIRECTORY)) < 0) tp_die_errno("open %s O_PATH", deleted_path);
        if ((fds[1] = open("/etc/hostname", O_PATH)) < 0) tp_die_errno("open /etc/hostname O_PATH");
    } else if (strcmp(kind, "ptmx") == 0) {
        /* The master end of a new pseudo-terminal, as a terminal emulator or tmux holds one. */
        if ((fds[0] = posix_openpt(O_RDWR | O_NOCTTY)) < 0) tp_die_errno("posix_openpt");
    } else if (strcmp(kind, "memfd-hugetlb") == 0) {
        /* Just the descriptor: no ftruncate or mmap, so no huge page needs to be reserved. */
        if ((fds[0] = memfd_create("cryo-huge", MFD_HUGETLB)) < 0) tp_die_errno("memfd_create(\"cryo-huge\", MFD_HUGETLB)");
    } else if (strcmp(kind, "traced") == 0) {
        /* A child traces the program (PTRACE_SEIZE, as strace -p or a debugger does) and passes
         * on every stop: a second tracer, cryo, cannot have it. */
        pid_t traced = getpid();
        if (pipe(fds) < 0) tp_die_errno("pipe");
        child = fork();
        if (child < 0) tp_die_errno("fork");
        if (child == 0) {
            if (ptrace(PTRACE_SEIZE, traced, 0, 0) < 0) _exit(1);
            if (write(fds[1], "t", 1) != 1) _exit(1);
            for (;;) {
                int status;
                if (waitpid(traced, &status, __WALL) < 0 || WIFEXITED(status) || WIFSIGNALED(status)) _exit(0);
                int signal = WIFSTOPPED(status) && (status >> 16) == 0 ? WSTOPSIG(status) : 0;
                ptrace(PTRACE_CONT, traced, 0, signal);
            }
        }
        if (read(fds[0], buf0, 1) != 1) tp_die("the tracing child did not attach");
    } else if (strcmp(kind, "mqueue") == 0) {
        snprintf(deleted_path, sizeof deleted_path, "/cryo-unsupported-%d", (int)getpid());
        struct mq_attr attributes = {.mq_maxmsg = 4, .mq_msgsize = 64};
        if ((fds[0] = mq_open(deleted_path, O_CREAT | O_EXCL | O_RDWR, 0600, &attributes)) < 0) tp_die_errno("mq_open(%s)", deleted_path);
        if (mq_send(fds[0], "queued", 6, 1) < 0) tp_die_errno("mq_send");
    } else if (strcmp(kind, "cwd-deleted") == 0) {
        /* The working directory, removed while the program is in it. */
        if (tp_outfile[0] != '/') tp_die("--kind=cwd-deleted needs an absolute --outfile");
        snprintf(deleted_path, sizeof deleted_path, "%s.cwd", tp_outfile);
        rmdir(deleted_path);
        if (mkdir(deleted_path, 0750) < 0 || chmod(deleted_path, 0750) < 0 || chdir(deleted_path) < 0 || rmdir(deleted_path) < 0)
            tp_die_errno("mkdir, chdir into and rmdir %s", deleted_path);
    } else if (strcmp(kind, "pidfd-outside") == 0) {
        /* fd 3: a pidfd of the parent, outside the tree (taken before setsid). */
        outside = getppid();
        if ((fds[0] = pidfd_open(outside, 0)) < 0) tp_die_errno("pidfd_open(parent %d, 0)", (int)outside);
    } else {
        tp_die("unknown --kind=%s", kind);
    }

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    char buf[8] = {0};
    if (strcmp(kind, "socket") == 0) {
        int listening = 0;
        socklen_t len = sizeof listening;
        if (getsockopt(fds[0], SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0) tp_fail("getsockopt(%d, SO_ACCEPTCONN): %s", fds[0], strerror(errno));
        else if (listening != 1) tp_fail("the TCP socket (fd %d) is no longer listening: SO_ACCEPTCONN %d, expected 1", fds[0], listening);
    } else if (strcmp(kind, "udp") == 0) {
        int type = 0;
        socklen_t len = sizeof type;
        if (getsockopt(fds[0], SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_DGRAM) tp_fail("fd %d is no longer the UDP socket", fds[0]);
    } else if (strcmp(kind, "udp-shut-read") == 0) {
        struct pollfd entry = {.fd = fds[0], .events = POLLIN | POLLRDHUP};
        if (poll(&entry, 1, 0) != 1 || !(entry.revents & POLLRDHUP)) tp_fail("fd %d no longer shows POLLRDHUP (shut down for reading): revents %#x", fds[0], entry.revents);
    } else if (strcmp(kind, "unix-dgram-named") == 0) {
        int type = 0;
        socklen_t len = sizeof type;
        if (getsockopt(fds[0], SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_DGRAM) tp_fail("fd %d is no longer the datagram socket", fds[0]);
    } else if (strcmp(kind, "unix-both-named") == 0) {
        if (write(fds[0], "c", 1) != 1 || read(fds[1], buf, 1) != 1 || buf[0] != 'c' ||
            write(fds[1], "s", 1) != 1 || read(fds[0], buf, 1) != 1 || buf[0] != 's')
            tp_fail("the connection of fds 3 and 4 no longer carries a byte each way");
    } else if (strcmp(kind, "tcp-pending") == 0) {
        int accepted = accept(fds[0], NULL, NULL);
        if (accepted < 0) tp_fail("the waiting connection cannot be accepted: %s", strerror(errno));
        else close(accepted);
    } else if (strcmp(kind, "socketpair") == 0) {
        if (read(fds[1], buf, 4) != 4 || memcmp(buf, "ping", 4) != 0) tp_fail("socket lost its data");
    } else if (strcmp(kind, "epoll-closed") == 0) {
        struct epoll_event ready;
        if (epoll_wait(fds[1], &ready, 1, 1000) != 1 || ready.data.u64 != 5) tp_fail("the epoll no longer reports the eventfd");
    } else if (strcmp(kind, "eventfd") == 0) {
        uint64_t v = 0;
        if (read(fds[0], &v, sizeof v) != sizeof v || v != 7) tp_fail("eventfd value %llu, expected 7", (unsigned long long)v);
    } else if (strcmp(kind, "mempolicy") == 0) {
        int mode = -1;
        if (syscall(SYS_get_mempolicy, &mode, NULL, 0, NULL, 0) < 0 || mode != 1) tp_fail("the memory policy is %d, expected MPOL_PREFERRED (1)", mode);
    } else if (strcmp(kind, "mce-kill") == 0) {
        int policy = prctl(PR_MCE_KILL_GET, 0, 0, 0, 0);
        if (policy != PR_MCE_KILL_EARLY) tp_fail("PR_MCE_KILL_GET is %d, expected PR_MCE_KILL_EARLY (%d)", policy, PR_MCE_KILL_EARLY);
    } else if (strcmp(kind, "child") == 0 || strcmp(kind, "traced") == 0 || shared_kind(kind) >= 0) {
        if (shared_kind(kind) >= 0 && syscall(SYS_kcmp, getpid(), child, shared_kind(kind), 0, 0) != 0)
            tp_fail("pid %d and its child %d no longer share what --kind=%s shares", (int)getpid(), (int)child, kind);
        kill(child, SIGKILL);
        int status;
        if (waitpid(child, &status, 0) != child) tp_fail("waitpid(%d): %s", child, strerror(errno));
    } else if (strcmp(kind, "flock") == 0 || strcmp(kind, "posix-lock") == 0) {
        /* Still held: a second open file description can neither flock it nor see it free. */
        int other = open(deleted_path, O_RDWR);
        struct flock probe = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        if (other < 0) tp_fail("reopen %s: %s", deleted_path, strerror(errno));
        else if (kind[0] == 'f' ? flock(other, LOCK_EX | LOCK_NB) == 0 : fcntl(other, F_OFD_GETLK, &probe) < 0 || probe.l_type == F_UNLCK)
            tp_fail("the %s is no longer held", kind);
        unlink(deleted_path);
    } else if (strcmp(kind, "posix-timer") == 0 || strcmp(kind, "thread-cpu-timer") == 0) {
        struct itimerspec left;
        if (timer_gettime(timer, &left) < 0 || left.it_value.tv_sec == 0) tp_fail("the POSIX timer is no longer armed");
    } else if (strcmp(kind, "deadline") == 0) {
        if (sched_getscheduler(0) != 6) tp_fail("no longer SCHED_DEADLINE (policy %d)", sched_getscheduler(0));
    } else if (strcmp(kind, "seccomp") == 0 || strncmp(kind, "seccomp-", 8) == 0) {
        if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != SECCOMP_MODE_FILTER) tp_fail("no longer under the seccomp filter");
    } else if (strcmp(kind, "opath") == 0) {
        for (int i = 0; i < 2; i++)
            if (!(fcntl(fds[i], F_GETFL) & O_PATH)) tp_fail("fd %d is no longer O_PATH (flags 0x%x)", fds[i], fcntl(fds[i], F_GETFL));
        struct stat st;
        int probe = openat(fds[0], "opath-probe", O_CREAT | O_WRONLY, 0600); /* an O_PATH directory is a dirfd */
        if (probe < 0) tp_fail("openat through the O_PATH directory: %s", strerror(errno));
        else { close(probe); unlinkat(fds[0], "opath-probe", 0); }
        if (fstat(fds[1], &st) < 0 || !S_ISREG(st.st_mode)) tp_fail("fstat of the O_PATH file: %s", strerror(errno));
    } else if (strncmp(kind, "inotify", 7) == 0) {
        char link[64] = {0};
        char path[32];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
        if (readlink(path, link, sizeof link - 1) < 0 || strcmp(link, "anon_inode:inotify") != 0) tp_fail("fd %d is no longer an inotify instance (%s)", fds[0], link);
        int queued = -1;
        ioctl(fds[0], FIONREAD, &queued);
        if (strcmp(kind, "inotify-pending") == 0 && queued <= 0) tp_fail("the two events that waited in the inotify queue are gone (FIONREAD %d)", queued);
    } else if (strcmp(kind, "mqueue") == 0) {
        struct mq_attr attributes;
        if (mq_getattr(fds[0], &attributes) < 0 || attributes.mq_curmsgs != 1)
            tp_fail("fd %d is no longer the message queue with one message (%s)", fds[0], strerror(errno));
        mq_unlink(deleted_path);
    } else if (strcmp(kind, "cwd-deleted") == 0) {
        struct stat here;
        char link[4200] = {0};
        size_t length = strlen(deleted_path);
        if (stat(".", &here) < 0 || !S_ISDIR(here.st_mode) || (here.st_mode & 07777) != 0750 || here.st_nlink != 0)
            tp_fail("the working directory is not a deleted directory of mode 0750 (stat: %s, mode 0%o, %lu links)",
                    strerror(errno), (unsigned)here.st_mode, (unsigned long)here.st_nlink);
        if (readlink("/proc/self/cwd", link, sizeof link - 1) < 0 || strncmp(link, deleted_path, length) != 0 ||
            strlen(link) < 10 || strcmp(link + strlen(link) - 10, " (deleted)") != 0)
            tp_fail("/proc/self/cwd reads '%s', expected '%s... (deleted)'", link, deleted_path);
        int made = open("probe", O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (made >= 0 || errno != ENOENT)
            tp_fail("a file could be made in the deleted working directory, or not with ENOENT (%s)", made >= 0 ? "made" : strerror(errno));
        if (made >= 0) close(made);
    } else if (strcmp(kind, "pidfd-outside") == 0) {
        /* Pid: -1 once the parent has gone (reaped). */
        char path[64], info[4096] = {0};
        snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fds[0]);
        int f = open(path, O_RDONLY);
        if (f < 0) tp_fail("open %s: %s", path, strerror(errno));
        else {
            tp_read_full(f, info, sizeof info - 1);
            close(f);
            char *line = strstr(info, "\nPid:");
            long pid = line ? strtol(line + 5, NULL, 10) : 0;
            if (!line) tp_fail("%s has no Pid: line: fd %d is no longer a pidfd", path, fds[0]);
            else if (pid == -1) tp_log("the parent (pid %d) has gone: fd %d says Pid: -1", (int)outside, fds[0]);
            else if (pid != outside) tp_fail("fd %d (a pidfd of the parent, pid %d) now says Pid: %ld", fds[0], (int)outside, pid);
        }
    } else if (strcmp(kind, "ptmx") == 0) {
        if (ptsname(fds[0]) == NULL) tp_fail("fd %d is no longer a pseudo-terminal master: %s", fds[0], strerror(errno));
    } else if (strcmp(kind, "memfd-hugetlb") == 0) {
        if (fcntl(fds[0], F_GETFD) < 0) tp_fail("the MFD_HUGETLB memfd (fd %d) is no longer open: %s", fds[0], strerror(errno));
    } else if (strcmp(kind, "deleted") == 0) {
        if (pread(fds[0], buf, 4, 0) != 4 || memcmp(buf, "kept", 4) != 0) tp_fail("deleted file lost its data");
    } else if (strcmp(kind, "deleted-big") == 0) {
        const off_t size = (off_t)BIG_MIB << 20;
        struct stat st;
        if (fstat(fds[0], &st) < 0) tp_fail("fstat of the deleted file (fd %d): %s", fds[0], strerror(errno));
        else if (st.st_size != size) tp_fail("the deleted file (fd %d) has size %lld, expected %lld", fds[0], (long long)st.st_size, (long long)size);
        ssize_t r = pread(fds[0], buf, 1, size - 1);
        if (r != 1) tp_fail("pread of the deleted file's last byte (fd %d): %s", fds[0], r < 0 ? strerror(errno) : "no data");
        else if ((unsigned char)buf[0] != BIG_MIB - 1) tp_fail("the deleted file's last byte is 0x%02x, expected 0x%02x", (unsigned char)buf[0], BIG_MIB - 1);
    }
    tp_finish();
}

/*
 * sysvshm: System V shared memory segments attached in several ways (see README.md).
 *
 *   sysvshm --pidfile=F --outfile=O [--child] [--partial]
 *
 * - segment A: key 0x5356xxxx (xxxx: the low 16 bits of the pid), 12388 bytes (three pages and
 *   a part), mode 0640, attached twice (A1, A2) and filled through A1; the middle page of A2
 *   made read-only (mprotect), so A2 is three areas;
 * - segment B: IPC_PRIVATE, 64 KiB, filled, then removed (IPC_RMID): it lives as long as it is
 *   attached;
 * - segment C: IPC_PRIVATE, 8 KiB, filled through a temporary attachment, then attached
 *   read-only (SHM_RDONLY).
 * --child: a child process shares B (inherited) and answers requests over a pipe by writing
 *   B[0] + 1 into B[1]. --partial: the first page of A2 is unmapped (a checkpoint refuses that).
 * On SIGTERM: every byte of A, B and C; a write through A1 shows through A2; IPC_STAT of A: key,
 * size, mode 0640 and as many attachments as before; of B: removed (SHM_DEST, key 0); A2's middle page and C are
 * read-only in /proc/self/maps; with --child, the child answers through B; then every
 * attachment is detached with shmdt, and A and C are removed.
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#define A_SIZE 12388
#define B_SIZE 65536
#define C_SIZE 8192

static int g_a, g_b, g_c;
static unsigned char *g_a1, *g_a2, *g_bm, *g_cm;
static long g_page;

static unsigned char pattern(int seed, size_t i) { return (unsigned char)(seed * 37 + i * 7 + (i >> 9)); }

static void fill(unsigned char *p, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++) p[i] = pattern(seed, i);
}

static void check(const unsigned char *p, size_t from, size_t n, int seed, const char *what)
{
    for (size_t i = from; i < n; i++)
        if (p[i] != pattern(seed, i)) {
            tp_fail("%s: byte %zu is 0x%02x, expected 0x%02x", what, i, p[i], pattern(seed, i));
            return;
        }
}

static void *attach(int id, const void *at, int flags, const char *what)
{
    void *p = shmat(id, at, flags);
    if (p == (void *)-1) tp_die_errno("shmat (%s)", what);
    return p;
}

/* The permissions column of /proc/self/maps for the area holding addr ("r--s"), or "?". */
static void maps_perms(const void *addr, char out[5])
{
    strcpy(out, "?");
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        unsigned long start, end;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) == 3 && (unsigned long)addr >= start && (unsigned long)addr < end) {
            memcpy(out, perms, 5);
            break;
        }
    }
    fclose(f);
}

static void child_loop(int requests, int answers)
{
    char c;
    while (read(requests, &c, 1) == 1) {
        g_bm[1] = (unsigned char)(g_bm[0] + 1);
        if (write(answers, &c, 1) != 1) _exit(1);
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "[--child] [--partial]");
    int with_child = tp_arg_flag("child"), partial = tp_arg_flag("partial");
    tp_args_done();
    g_page = sysconf(_SC_PAGESIZE);
    key_t key = 0x53560000 | (getpid() & 0xffff);

    g_a = shmget(key, A_SIZE, IPC_CREAT | IPC_EXCL | 0640);
    if (g_a < 0) tp_die_errno("shmget A (key 0x%x)", key);
    g_a1 = attach(g_a, NULL, 0, "A1");
    g_a2 = attach(g_a, NULL, 0, "A2");
    fill(g_a1, A_SIZE, 1);
    if (mprotect(g_a2 + g_page, g_page, PROT_READ) < 0) tp_die_errno("mprotect A2");
    if (partial && munmap(g_a2, g_page) < 0) tp_die_errno("munmap A2");

    g_b = shmget(IPC_PRIVATE, B_SIZE, IPC_CREAT | 0600);
    if (g_b < 0) tp_die_errno("shmget B");
    g_bm = attach(g_b, NULL, 0, "B");
    fill(g_bm, B_SIZE, 2);
    if (shmctl(g_b, IPC_RMID, NULL) < 0) tp_die_errno("IPC_RMID B");

    g_c = shmget(IPC_PRIVATE, C_SIZE, IPC_CREAT | 0600);
    if (g_c < 0) tp_die_errno("shmget C");
    unsigned char *c_rw = attach(g_c, NULL, 0, "C (to fill)");
    fill(c_rw, C_SIZE, 3);
    if (shmdt(c_rw) < 0) tp_die_errno("shmdt C");
    g_cm = attach(g_c, NULL, SHM_RDONLY, "C");

    int requests[2] = {-1, -1}, answers[2] = {-1, -1};
    pid_t child = -1;
    if (with_child) {
        tp_setsid();
        if (pipe(requests) < 0 || pipe(answers) < 0) tp_die_errno("pipe");
        child = fork();
        if (child < 0) tp_die_errno("fork");
        if (child == 0) {
            close(requests[1]);
            close(answers[0]);
            child_loop(requests[0], answers[1]);
        }
        close(requests[0]);
        close(answers[1]);
    }

    /* Linux counts a segment's areas, not its shmat calls: A2 split in three makes 4 (8 with the child's copies). */
    struct shmid_ds ds;
    if (shmctl(g_a, IPC_STAT, &ds) < 0) tp_die_errno("IPC_STAT A");
    unsigned long a_attachments = ds.shm_nattch;

    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    check(g_a1, 0, A_SIZE, 1, "A1");
    check(g_a2, partial ? (size_t)g_page : 0, A_SIZE, 1, "A2");
    check(g_bm, 0, B_SIZE, 2, "B");
    check(g_cm, 0, C_SIZE, 3, "C");
    size_t probe = 2 * g_page + 100; /* in A2's last page, which --partial keeps */
    g_a1[probe] ^= 0xff;
    if (g_a2[probe] != (unsigned char)(pattern(1, probe) ^ 0xff)) tp_fail("a write through A1 does not show through A2: not one segment");

    if (shmctl(g_a, IPC_STAT, &ds) < 0) tp_fail("IPC_STAT A (id %d): %s", g_a, strerror(errno));
    else {
        if (ds.shm_perm.__key != key) tp_fail("A: key 0x%x, expected 0x%x", ds.shm_perm.__key, key);
        if (ds.shm_segsz != A_SIZE) tp_fail("A: size %zu, expected %d", ds.shm_segsz, A_SIZE);
        if ((ds.shm_perm.mode & 0777) != 0640) tp_fail("A: mode 0%o, expected 0640", ds.shm_perm.mode & 0777);
        if (ds.shm_nattch != a_attachments) tp_fail("A: %lu attachments, expected %lu", (unsigned long)ds.shm_nattch, a_attachments);
    }
    if (shmctl(g_b, IPC_STAT, &ds) < 0) tp_fail("IPC_STAT B (id %d): %s", g_b, strerror(errno));
    else if (!(ds.shm_perm.mode & SHM_DEST) || ds.shm_perm.__key != IPC_PRIVATE)
        tp_fail("B: mode 0%o key 0x%x, expected removed (SHM_DEST, key 0)", ds.shm_perm.mode, ds.shm_perm.__key);

    char perms[5];
    maps_perms(g_a2 + g_page, perms);
    if (strcmp(perms, "r--s") != 0) tp_fail("A2's middle page is %s, expected r--s", perms);
    maps_perms(g_a2 + 2 * g_page, perms);
    if (strcmp(perms, "rw-s") != 0) tp_fail("A2's last page is %s, expected rw-s", perms);
    maps_perms(g_cm, perms);
    if (strcmp(perms, "r--s") != 0) tp_fail("C is %s, expected r--s", perms);

    if (with_child) {
        g_bm[0] = 41;
        char c = 'q';
        if (write(requests[1], &c, 1) != 1) tp_fail("request to the child: %s", strerror(errno));
        else if (tp_read_full(answers[0], &c, 1) != 1) tp_fail("the child did not answer");
        else if (g_bm[1] != 42) tp_fail("the child's answer through B is %d, expected 42: B is not shared with it", g_bm[1]);
        close(requests[1]);
        int status;
        if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            tp_fail("the child did not end well (status 0x%x)", status);
    }

    if (shmdt(g_a1) < 0) tp_fail("shmdt A1: %s", strerror(errno));
    if (!partial && shmdt(g_a2) < 0) tp_fail("shmdt A2: %s", strerror(errno));
    if (shmdt(g_bm) < 0) tp_fail("shmdt B: %s", strerror(errno));
    if (shmdt(g_cm) < 0) tp_fail("shmdt C: %s", strerror(errno));
    if (shmctl(g_b, IPC_STAT, &ds) == 0) tp_fail("B is still there after its last shmdt");
    shmctl(g_a, IPC_RMID, NULL);
    shmctl(g_c, IPC_RMID, NULL);
    tp_finish();
}

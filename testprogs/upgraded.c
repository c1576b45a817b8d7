/*
 * upgraded: a program whose executable was deleted while it ran (see README.md).
 *
 *   upgraded --pidfile=F --outfile=O
 *
 * As after a package upgrade, which replaces a program's file under its running processes: the
 * program copies its executable to OUTFILE.exe, execs the copy (same pid), and the copy deletes
 * itself. /proc/self/exe then reads "OUTFILE.exe (deleted)". It notes the executable's size and a
 * checksum of its contents (read through /proc/self/exe, which still opens the deleted file).
 * On SIGTERM: /proc/self/exe still ends in " (deleted)" and opens a file of the same size and
 * contents; and that file still runs: a child execs /proc/self/exe with --answer, which prints
 * "upgraded: answering" and exits 42.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DELETED " (deleted)"

static off_t g_size;
static uint64_t g_sum;

/* Size and a checksum of the file /proc/self/exe opens; -1 size when it cannot be read. */
static off_t read_exe(uint64_t *sum)
{
    int fd = open("/proc/self/exe", O_RDONLY);
    if (fd < 0) return -1;
    unsigned char buf[65536];
    off_t size = 0;
    ssize_t got;
    *sum = 0;
    while ((got = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < got; i++) *sum = tp_mix64(*sum ^ buf[i]) + (uint64_t)(size + i);
        size += got;
    }
    close(fd);
    return got < 0 ? -1 : size;
}

static int ends_deleted(const char *link)
{
    size_t n = strlen(link), d = strlen(DELETED);
    return n > d && strcmp(link + n - d, DELETED) == 0;
}

/* Copies the running executable to path (mode 0755). */
static void copy_self(const char *path)
{
    int in = open("/proc/self/exe", O_RDONLY), out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in < 0 || out < 0) { perror("upgraded: copy of the executable"); exit(1); }
    char buf[65536];
    ssize_t got;
    while ((got = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)got) != got) { perror("upgraded: write of the copy"); exit(1); }
    close(in);
    if (got < 0 || close(out) < 0) { perror("upgraded: copy of the executable"); exit(1); }
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--answer") == 0) {
        printf("upgraded: answering\n");
        return 42;
    }
    /* First run: copy, then exec the copy with the same arguments. */
    char self[4096] = {0};
    if (readlink("/proc/self/exe", self, sizeof self - 1) < 0) { perror("upgraded: readlink /proc/self/exe"); return 1; }
    const char *outfile = NULL;
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--outfile=", 10) == 0) outfile = argv[i] + 10;
    if (!outfile) { fprintf(stderr, "upgraded: --outfile= is required\n"); return 2; }
    char copy[4096];
    snprintf(copy, sizeof copy, "%s.exe", outfile);
    if (strcmp(self, copy) != 0) {
        copy_self(copy);
        execv(copy, argv);
        perror("upgraded: exec of the copy");
        return 1;
    }

    tp_init(argc, argv, "");
    tp_args_done();
    if (unlink(copy) < 0) tp_die_errno("unlink %s", copy);
    memset(self, 0, sizeof self);
    if (readlink("/proc/self/exe", self, sizeof self - 1) < 0 || !ends_deleted(self)) tp_die("/proc/self/exe is '%s', not a deleted file", self);
    if ((g_size = read_exe(&g_sum)) <= 0) tp_die_errno("read of /proc/self/exe");
    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();

    memset(self, 0, sizeof self);
    if (readlink("/proc/self/exe", self, sizeof self - 1) < 0) tp_fail("readlink /proc/self/exe: %s", strerror(errno));
    else if (!ends_deleted(self)) tp_fail("/proc/self/exe is '%s', no longer a deleted file", self);
    uint64_t sum;
    off_t size = read_exe(&sum);
    if (size != g_size || sum != g_sum)
        tp_fail("/proc/self/exe opens %lld bytes (checksum %llx), expected %lld (%llx)", (long long)size, (unsigned long long)sum,
                (long long)g_size, (unsigned long long)g_sum);
    pid_t child = fork();
    if (child < 0) tp_fail("fork: %s", strerror(errno));
    else if (child == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 1);
        execl("/proc/self/exe", "upgraded", "--answer", (char *)NULL);
        _exit(127);
    } else {
        int status = 0;
        if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 42)
            tp_fail("the deleted executable no longer runs: exec /proc/self/exe --answer ended with status %#x", status);
    }
    tp_finish();
    return 0;
}

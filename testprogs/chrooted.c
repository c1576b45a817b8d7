/*
 * chrooted: a process in a chroot (see README.md).
 *
 *   chrooted --pidfile=F --outfile=O
 *
 * F and O must be in one directory D. The program makes D/jail/etc/marker (a known text), opens
 * it and its own executable (outside D) by descriptor, then chroot()s into D and chdir()s to
 * /jail/etc: from then on its root is D, so the pidfile and the outfile are /F and /O by their
 * base names, and the executable is reachable only through its descriptor.
 * On SIGTERM: "/" is D (same device and inode as noted before the chroot) and /proc/self/root
 * reads "/"; the working directory is /jail/etc; "marker" and /jail/etc/marker read the text; the
 * descriptor of the marker reads on from its offset, that of the executable gives "ELF" from
 * offset 1; ".." of "/" is "/".
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARKER "inside the jail\n"

static struct stat g_root;
static int g_marker, g_exe;
static char g_pidfile[PATH_MAX], g_outfile[PATH_MAX];

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) tp_die_errno("write %s", path);
    close(fd);
}

static void setup(void)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s", tp_pidfile);
    char *slash = strrchr(dir, '/');
    if (!slash || dir[0] != '/') tp_die("--pidfile must be an absolute path");
    *slash = '\0';
    size_t length = strlen(dir);
    if (strncmp(tp_outfile, dir, length) != 0 || tp_outfile[length] != '/' || strchr(tp_outfile + length + 1, '/'))
        tp_die("--outfile must be in the pidfile's directory %s", dir);

    snprintf(path, sizeof path, "%s/jail", dir);
    if (mkdir(path, 0755) < 0 && errno != EEXIST) tp_die_errno("mkdir %s", path);
    snprintf(path, sizeof path, "%s/jail/etc", dir);
    if (mkdir(path, 0755) < 0 && errno != EEXIST) tp_die_errno("mkdir %s", path);
    snprintf(path, sizeof path, "%s/jail/etc/marker", dir);
    write_file(path, MARKER);
    if ((g_marker = open(path, O_RDONLY)) < 0 || lseek(g_marker, 7, SEEK_SET) != 7) tp_die_errno("open %s", path);
    if ((g_exe = open("/proc/self/exe", O_RDONLY)) < 0 || lseek(g_exe, 1, SEEK_SET) != 1) tp_die_errno("open /proc/self/exe");

    if (stat(dir, &g_root) < 0) tp_die_errno("stat %s", dir);
    if (chroot(dir) < 0) tp_die_errno("chroot %s", dir);
    if (chdir("/jail/etc") < 0) tp_die_errno("chdir /jail/etc in the chroot");
    snprintf(g_pidfile, sizeof g_pidfile, "%s", tp_pidfile + length);
    snprintf(g_outfile, sizeof g_outfile, "%s", tp_outfile + length);
    tp_pidfile = g_pidfile;
    tp_outfile = g_outfile;
}

/* The rest of the file behind fd, from its offset, compared with what it should be. */
static void check_rest(int fd, const char *expected, const char *what)
{
    char buf[64] = {0};
    ssize_t got = read(fd, buf, sizeof buf - 1);
    if (got != (ssize_t)strlen(expected) || memcmp(buf, expected, (size_t)got) != 0)
        tp_fail("%s: read '%.*s' (%zd bytes), expected '%s'", what, got > 0 ? (int)got : 0, buf, got, expected);
}

static void check(void)
{
    struct stat root, parent;
    if (stat("/", &root) < 0 || root.st_dev != g_root.st_dev || root.st_ino != g_root.st_ino)
        tp_fail("/ is not the chroot directory (device %lx inode %lu, expected %lx and %lu)", (unsigned long)root.st_dev,
                (unsigned long)root.st_ino, (unsigned long)g_root.st_dev, (unsigned long)g_root.st_ino);
    if (stat("/..", &parent) < 0 || parent.st_ino != root.st_ino) tp_fail("/.. leaves the chroot");
    char link[PATH_MAX] = {0}, cwd[PATH_MAX] = {0};
    if (readlink("/proc/self/root", link, sizeof link - 1) < 0) {
        if (errno != ENOENT) tp_fail("readlink /proc/self/root: %s", strerror(errno)); /* no /proc in the jail: ENOENT */
    } else if (strcmp(link, "/") != 0) tp_fail("/proc/self/root is '%s', expected '/'", link);
    if (!getcwd(cwd, sizeof cwd) || strcmp(cwd, "/jail/etc") != 0) tp_fail("the working directory is '%s', expected /jail/etc", cwd);

    int fd = open("marker", O_RDONLY);
    if (fd < 0) tp_fail("open marker (relative): %s", strerror(errno));
    else { check_rest(fd, MARKER, "marker (relative)"); close(fd); }
    if ((fd = open("/jail/etc/marker", O_RDONLY)) < 0) tp_fail("open /jail/etc/marker: %s", strerror(errno));
    else { check_rest(fd, MARKER, "/jail/etc/marker"); close(fd); }
    check_rest(g_marker, MARKER + 7, "the marker's descriptor");
    char magic[3];
    if (read(g_exe, magic, 3) != 3 || memcmp(magic, "ELF", 3) != 0) tp_fail("the executable's descriptor no longer reads 'ELF' at offset 1");
}

int main(int argc, char **argv)
{
    tp_init(argc, argv, "");
    tp_args_done();
    setup();
    tp_ready();
    tp_wait_sigterm();
    tp_begin_check();
    check();
    tp_finish();
    return 0;
}

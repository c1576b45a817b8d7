namespace Cryo.Tests.Engine.Support;

/// <summary>
/// C source of the engine tests' target. Protocol: --pidfile --outfile --infofile --mode.
/// It becomes a session leader, writes "mailbox=ADDR" to the info file, then its pid to the
/// pidfile (atomically), then loops in its mode until SIGTERM:
///   spin  - counts in memory and in an SSE register (the two must agree at the end)
///   sleep - nanosleep (interrupted: -ERESTART_RESTARTBLOCK)
///   pause - pause (interrupted: -ERESTARTNOHAND)
///   read  - read on an empty pipe (interrupted: -ERESTARTSYS)
/// On SIGTERM it checks its state and writes "PASS mailbox=... count=..." or "FAIL: reason".
/// A blocking call that fails with anything but EINTR is a failure: that is what a raw
/// -ERESTART* value leaking to user space after a botched injection looks like.
/// </summary>
internal static class TargetSource
{
    public const string Code = """
        #define _GNU_SOURCE
        #include <errno.h>
        #include <signal.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <time.h>
        #include <unistd.h>

        static volatile sig_atomic_t terminated;
        static void on_term(int sig) { (void)sig; terminated = 1; }

        char mailbox[64] = "cryo-mailbox-initial";
        volatile unsigned long counter;
        static char failure[200];

        static const char *arg(int argc, char **argv, const char *name) {
            size_t n = strlen(name);
            for (int i = 1; i < argc; i++)
                if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') return argv[i] + n + 1;
            return NULL;
        }

        static void write_atomically(const char *path, const char *text) {
            char tmp[4096];
            snprintf(tmp, sizeof tmp, "%s.tmp", path);
            FILE *f = fopen(tmp, "w");
            if (!f) { perror(tmp); exit(2); }
            fputs(text, f);
            fclose(f);
            if (rename(tmp, path) != 0) { perror(path); exit(2); }
        }

        static void check_blocking_result(const char *call, long r) {
            if (r < 0 && errno != EINTR && !failure[0])
                snprintf(failure, sizeof failure, "%s failed with errno %d", call, errno);
        }

        int main(int argc, char **argv) {
            const char *pidfile = arg(argc, argv, "--pidfile");
            const char *outfile = arg(argc, argv, "--outfile");
            const char *infofile = arg(argc, argv, "--infofile");
            const char *mode = arg(argc, argv, "--mode");
            if (!pidfile || !outfile || !infofile || !mode) { fprintf(stderr, "usage\n"); return 2; }

            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_term; /* no SA_RESTART: blocking calls return EINTR */
            sigaction(SIGTERM, &sa, NULL);
            if (getsid(0) != getpid()) setsid();

            int fds[2];
            if (pipe(fds) != 0) { perror("pipe"); return 2; }

            char text[512];
            snprintf(text, sizeof text, "mailbox=%p\n", (void *)mailbox);
            write_atomically(infofile, text);
            snprintf(text, sizeof text, "%d\n", getpid());
            write_atomically(pidfile, text);

            double sse_count = 0;
            while (!terminated) {
                if (strcmp(mode, "spin") == 0) {
                    for (int i = 0; i < 100000 && !terminated; i++) { counter++; sse_count += 1.0; }
                } else if (strcmp(mode, "sleep") == 0) {
                    struct timespec ts = { 5, 0 };
                    check_blocking_result("nanosleep", nanosleep(&ts, NULL));
                } else if (strcmp(mode, "pause") == 0) {
                    check_blocking_result("pause", pause());
                } else if (strcmp(mode, "read") == 0) {
                    char c;
                    check_blocking_result("read", read(fds[0], &c, 1));
                } else {
                    fprintf(stderr, "unknown mode %s\n", mode);
                    return 2;
                }
            }

            if (!failure[0] && sse_count != (double)counter)
                snprintf(failure, sizeof failure, "sse count %.0f != memory count %lu", sse_count, counter);
            if (failure[0]) snprintf(text, sizeof text, "FAIL: %s\n", failure);
            else snprintf(text, sizeof text, "PASS mailbox=%s count=%lu\n", mailbox, counter);
            write_atomically(outfile, text);
            return failure[0] ? 1 : 0;
        }
        """;
}

/*
 * Shared code of the test programs (see README.md for the protocol).
 *
 *   prog --pidfile=F --outfile=O [program args]
 *
 * Typical life of a program:
 *   tp_init(argc, argv, "usage of the extra args");
 *   ... tp_arg_*() for the program's own options ...
 *   tp_args_done();               // rejects unknown options
 *   ... set up state (tp_die() on any failure: no pidfile is written) ...
 *   tp_ready();                   // setsid(), then pidfile written atomically
 *   tp_wait_sigterm();            // or a loop polling tp_sigterm_pending()
 *   tp_begin_check();             // watchdog + pid/session identity checks
 *   ... tp_fail("precise reason") for every problem found ...
 *   tp_finish();                  // writes "PASS\n" or "FAIL: reason\n", exits 0/1
 *
 * SIGTERM is blocked by tp_init(), so a SIGTERM sent at any time after the
 * pidfile appears is never lost.
 */
#ifndef TP_COMMON_H
#define TP_COMMON_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TP_PRINTF(a, b) __attribute__((format(printf, a, b)))

extern const char *tp_prog;     /* basename of argv[0] */
extern const char *tp_pidfile;  /* --pidfile= */
extern const char *tp_outfile;  /* --outfile= */
extern pid_t tp_pid;            /* pid written to the pidfile (0 before tp_ready) */

/* ---- arguments ---- */
void tp_init(int argc, char **argv, const char *usage_extra);
/* Value of --name=VALUE, or NULL when absent. */
const char *tp_arg_str(const char *name, const char *def);
/* --name=N with k/K, m/M, g/G suffixes (powers of 1024); dies if not in [min, max]. */
unsigned long long tp_arg_ull(const char *name, unsigned long long def,
                              unsigned long long min, unsigned long long max);
/* Present as a bare --name (no value). */
int tp_arg_flag(const char *name);
/* Dies on any option not consumed by a tp_arg_* call. */
void tp_args_done(void);

/* ---- diagnostics ---- */
/* What /proc/self/fd/FD links to, into buf ("? (reason)" if it cannot be read). */
void tp_fd_target(int fd, char *buf, size_t len);
/* Message to stderr, prefixed with "prog[pid]: ". */
void tp_log(const char *fmt, ...) TP_PRINTF(1, 2);
/* Setup failure: message to stderr, exit 1, no pidfile, no outfile. */
__attribute__((noreturn)) void tp_die(const char *fmt, ...) TP_PRINTF(1, 2);
/* Like tp_die, appending ": strerror(errno)". */
__attribute__((noreturn)) void tp_die_errno(const char *fmt, ...) TP_PRINTF(1, 2);

/* ---- protocol ---- */
/* setsid() (on failure: "FAIL: setsid..." to the outfile, exit 1), then write
 * the pidfile atomically. Call when the state is fully set up. */
void tp_ready(void);
/* The setsid() of tp_ready, done early: for programs that create children
 * that must be in the program's session (tp_ready then skips it). */
void tp_setsid(void);
/* Wait (sigwaitinfo, EINTR-safe) until SIGTERM arrives. */
void tp_wait_sigterm(void);
/* Non-blocking: was a SIGTERM received? (consumes it if so) */
int tp_sigterm_pending(void);
/* Start of the checking phase: arms a 120 s watchdog (SIGALRM writes
 * "FAIL: timeout..." to the outfile), then checks getpid()/getsid()/getpgrp(). */
void tp_begin_check(void);
/* Record a failure (first one goes to the outfile, all of them to stderr). */
void tp_fail(const char *fmt, ...) TP_PRINTF(1, 2);
int tp_failed(void);
/* Write PASS / FAIL: reason to the outfile, exit 0 / 1. */
__attribute__((noreturn)) void tp_finish(void);

/* Read exactly len bytes (retrying on EINTR and short reads); returns how many arrived
 * before EOF or an error. */
size_t tp_read_full(int fd, void *buf, size_t len);
/* mkfifo(path, 0600), replacing a stale file of that name; dies on failure. */
void tp_make_fifo(const char *path);

/* Atomically write a small file: PATH.tmp.PID, fsync, rename. 0 or -1 (errno). */
int tp_write_file_atomic(const char *path, const char *content);

/* ---- patterns ---- */
uint64_t tp_mix64(uint64_t x);
/* Byte i of stream `seed` (a long-period pattern: hashed 8-byte blocks). */
uint8_t tp_pattern_byte(uint64_t seed, uint64_t i);
/* Fill buf with bytes off .. off+len-1 of stream `seed`. */
void tp_pattern_fill(void *buf, size_t len, uint64_t seed, uint64_t off);
/* Index (relative to buf) of the first byte that differs from the stream,
 * or -1 if all match. */
ssize_t tp_pattern_check(const void *buf, size_t len, uint64_t seed, uint64_t off);

/* ---- fd helpers ---- */
/* Write all of buf into a pipe without ever blocking (O_NONBLOCK is set
 * temporarily). Dies with `what` if the pipe has no room. */
void tp_fill_nonblock(int fd, const void *buf, size_t len, const char *what);
/* Move fd to number `target` (dup2 + close), preserving FD_CLOEXEC as given. */
int tp_move_fd(int fd, int target, int cloexec);
/* Set/clear O_NONBLOCK; returns 0 or -1 (errno). */
int tp_set_nonblock(int fd, int on);

/* Check a pipe/FIFO read end after restore, reading everything:
 *   - FIONREAD == expected_len
 *   - every byte equals the stream (seed, 0..)
 *   - then the pipe is empty (with O_NONBLOCK set at that point: EAGAIN),
 * reporting through tp_fail() with `what` as the subject. The fd's
 * O_NONBLOCK flag is left SET on return (check flags before calling).
 * If `expect_eof` the pipe has no writers: after the data read() must give 0.
 * Returns 0 if everything matched. */
int tp_check_drain(int rfd, const char *what, size_t expected_len, uint64_t seed,
                   int expect_eof);

/* Check that rfd and wfd are connected ends of one pipe by writing `len`
 * bytes through wfd and reading them back from rfd (both O_NONBLOCK while
 * doing so; flags are not restored). The pipe must be empty before. */
int tp_check_roundtrip(int rfd, int wfd, const char *what, size_t len, uint64_t seed);

/* Check F_GETFD and F_GETFL of fd against the recorded values. */
int tp_check_fd_flags(int fd, const char *what, int fdflags, int flflags);

/* No descriptor open but 0-2 and fds[0..count-1]: reads /proc/self/fd (skipping the
 * directory's own descriptor, closed again before returning) and tp_fail()s for every other
 * fd, naming what it links to. */
void tp_check_only_fds(const int *fds, int count);

/* poll(fd) for POLLIN for up to timeout_ms (EINTR-safe); 1 if readable, else 0. */
int tp_wait_readable(int fd, int timeout_ms);

/* ---- socket helpers ---- */
/* getsockopt(fd, level, option) of an int into *value (0 if it fails): 0, or -1 after
 * tp_fail("WHAT: getsockopt(FD, NAME): strerror"). */
int tp_sockopt_int(int fd, int level, int option, const char *name, const char *what, int *value);

/* The next recv(fd, MSG_DONTWAIT) (EINTR-safe) must find nothing: EAGAIN, or with
 * `expect_eof` 0 (end of file); tp_fail()s with `what` otherwise. On a datagram or
 * seqpacket socket (SO_TYPE, asked only then) an unexpected 0 is reported as "end of
 * file or an empty message". */
void tp_check_nothing_more(int fd, int expect_eof, const char *what);

#endif

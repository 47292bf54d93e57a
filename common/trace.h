/* trace.h - the -v narration: one line per system call, as it happens.
 *
 *   [echo-server 4242] bind(3, 127.0.0.1:7000) = 0      ~ uv_ip4_addr + uv_tcp_bind
 *
 * The program and pid, the call with its key arguments, its result (or -1
 * with the errno name and text), an optional note, and the libuv call that
 * plays the same part. Each line goes out in a single write(2) so that lines
 * from several processes (the fork server) never mix.
 *
 * SOCKLAB_TRACE_TIME=1 in the environment puts a timestamp in front of each
 * line, seconds on CLOCK_MONOTONIC to the microsecond:
 *
 *   12345.678901 [echo-server 4242] bind(3, 127.0.0.1:7000) = 0   ~ ...
 *
 * read just after the call returned. All processes on a machine share that
 * clock, so the traces of a server and its clients (each to its own file)
 * merge with `sort -n` into one timeline; tests/scripts/diagram.sh draws
 * them as a sequence diagram. Unset, empty or 0: no timestamp (the
 * default, so traces look as the lessons show them); any other value is a
 * usage error (exit 64) at trace_init.
 */
#ifndef SOCKLAB_TRACE_H
#define SOCKLAB_TRACE_H

#include <stddef.h>

/* Remember the program name (for traces and error messages) and whether -v
 * was given, and read SOCKLAB_TRACE_TIME. Call first thing in main. */
void trace_init(const char *program, int enabled);

/* Is -v on? Lets a caller skip work (formatting an address) that only the
 * trace needs. */
int trace_enabled(void);

/* The program name given to trace_init. */
const char *program_name(void);

/* Trace one call. result is what the call returned; when it is -1 the errno
 * at entry is added by name and text. note (may be NULL) follows the result;
 * libuv names the counterpart. call is a printf format for the call itself,
 * e.g. "bind(%d, %s)". errno is left as it was. */
void trace(long result, const char *note, const char *libuv,
           const char *call, ...)
    __attribute__((format(printf, 4, 5)));

/* A line that is not a call ("stop requested", "waiting for a client"). */
void trace_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A step with no result to show: a call that returns void (uv_close) or a
 * callback being entered (on_close). Laid out like trace, minus " = N". */
void trace_step(const char *libuv, const char *step, ...)
    __attribute__((format(printf, 2, 3)));

/* The two calls every TCP program traces most, with the libuv part they
 * play worked out from the result, so the program's line stays short.
 *
 * trace_accept: accept(listen_fd) returned fd; peer is the address accept
 * filled in (read only when fd >= 0). On success the note is "peer ADDR";
 * an EINTR is marked as the one libuv never shows (it retries by itself).
 *
 * trace_read: read(fd) returned n, as libuv would hand it to `callback`
 * (echo_read, on_read): nread = n, UV_EOF for 0 (noted "peer closed"),
 * UV_ECONNRESET and the like for an error. EINTR and EAGAIN are marked as
 * having no libuv twin: libuv retries EINTR itself, and a blocking read
 * fails with EAGAIN only when a receive timeout ran out, which libuv does
 * with a uv_timer_t (on its non-blocking sockets an EAGAIN makes it call
 * back with nread = 0 and wait for epoll; never UV_EAGAIN). */
struct sockaddr_storage;
void trace_accept(long fd, int listen_fd, const struct sockaddr_storage *peer);
void trace_read(long n, int fd, const char *callback);

/* trace_write: write(fd, len) returned n. Its twin is uv_write, except for
 * an EINTR, which libuv retries by itself. */
void trace_write(long n, int fd, size_t len);

/* The libuv pair a bind stands for: uv_ip4_addr or uv_ip6_addr (by the
 * address family), then uv_tcp_bind. */
const char *uv_bind_twin(int family);

/* "ECONNRESET", "EINTR", ... or "E?" for one we do not list. */
const char *errno_name(int err);

#endif

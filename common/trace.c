/* trace.c - see trace.h. */
#include "trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"

static const char *the_program = "socklab";
static int the_trace_on = 0;
static int the_timestamps_on = 0;  /* SOCKLAB_TRACE_TIME=1 */

/* Where the libuv name starts: calls shorter than this are padded so the
 * "~ uv_..." column lines up and reads as a second column. */
#define TRACE_COLUMN 56

void trace_init(const char *program, int enabled)
{
    const char *stamp = getenv("SOCKLAB_TRACE_TIME");

    the_program = program;
    the_trace_on = enabled;
    /* Off unless asked for, so the traces the lessons show stay as they
     * are. Anything but 1, 0 or empty is refused rather than guessed at. */
    if (stamp == NULL || strcmp(stamp, "") == 0 || strcmp(stamp, "0") == 0) {
        the_timestamps_on = 0;
    } else if (strcmp(stamp, "1") == 0) {
        the_timestamps_on = 1;
    } else {
        fprintf(stderr, "%s: SOCKLAB_TRACE_TIME=%s: expected 1 (a timestamp "
                "on each trace line) or 0 (none)\n", the_program, stamp);
        exit(EX_USAGE);
    }
}

int trace_enabled(void)
{
    return the_trace_on;
}

const char *program_name(void)
{
    return the_program;
}

const char *errno_name(int err)
{
    /* The names a socket program meets; strerror gives the text. */
    switch (err) {
    case EACCES: return "EACCES";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case ECHILD: return "ECHILD";
    case ECONNABORTED: return "ECONNABORTED";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case EINPROGRESS: return "EINPROGRESS";
    case EINTR: return "EINTR";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case EMSGSIZE: return "EMSGSIZE";
    case ENETUNREACH: return "ENETUNREACH";
    case ENFILE: return "ENFILE";
    case ENOBUFS: return "ENOBUFS";
    case ENOMEM: return "ENOMEM";
    case ENOTCONN: return "ENOTCONN";
    case ENOTSOCK: return "ENOTSOCK";
    case EPERM: return "EPERM";
    case EPIPE: return "EPIPE";
    case EPROTO: return "EPROTO";
    case ETIMEDOUT: return "ETIMEDOUT";
    default: return "E?";
    }
}

/* Append to line at *used, never past size; keeps the line whole. */
static void append(char *line, size_t size, size_t *used, const char *fmt,
                   va_list ap) __attribute__((format(printf, 4, 0)));

static void append(char *line, size_t size, size_t *used, const char *fmt,
                   va_list ap)
{
    if (*used >= size - 1)
        return;
    int n = vsnprintf(line + *used, size - *used, fmt, ap);
    if (n > 0)
        *used += (size_t)n < size - *used ? (size_t)n : size - *used - 1;
}

static void append_f(char *line, size_t size, size_t *used, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

static void append_f(char *line, size_t size, size_t *used, const char *fmt,
                     ...)
{
    va_list ap;
    va_start(ap, fmt);
    append(line, size, used, fmt, ap);
    va_end(ap);
}

/* Send the finished line with one write(2), so that two processes tracing
 * to the same terminal never interleave half-lines. Not write_all: that
 * gives up as soon as a stop is requested, and the trace must go on to
 * narrate how the program winds down. */
static void emit(char *line, size_t size, size_t used)
{
    const char *p = line;

    if (used >= size - 1)
        used = size - 2;
    line[used++] = '\n';
    while (used > 0) {
        ssize_t n = write(STDERR_FILENO, p, used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;  /* stderr is gone: nothing better to do */
        p += n;
        used -= (size_t)n;
    }
}

/* "[program pid] ": how every trace line starts. With SOCKLAB_TRACE_TIME=1
 * the CLOCK_MONOTONIC time comes first ("12345.678901 "), read as the line
 * is made, just after the call returned. Every process on the machine reads
 * the same clock, so `sort -n` merges the traces of several processes in
 * the order their lines were made; two calls in two processes a few
 * microseconds apart may still come out swapped. Returns where "[" is, so
 * the libuv column is counted from there and lines up either way. */
static size_t begin_line(char *line, size_t size, size_t *used)
{
    struct timespec now;

    if (the_timestamps_on && clock_gettime(CLOCK_MONOTONIC, &now) == 0)
        append_f(line, size, used, "%lld.%06ld ", (long long)now.tv_sec,
                 now.tv_nsec / 1000);
    size_t start = *used;
    append_f(line, size, used, "[%s %ld] ", the_program, (long)getpid());
    return start;
}

/* Pad to the libuv column (counted from start, where "[" is), add
 * "~ libuv" when there is one, and send. */
static void end_line(char *line, size_t size, size_t start, size_t used,
                     const char *libuv)
{
    if (libuv != NULL && *libuv != '\0') {
        while (used < start + TRACE_COLUMN && used < size - 2)
            line[used++] = ' ';
        append_f(line, size, &used, "  ~ %s", libuv);
    }
    emit(line, size, used);
}

void trace(long result, const char *note, const char *libuv,
           const char *call, ...)
{
    int saved = errno;
    char line[512];
    size_t used = 0;
    va_list ap;

    if (!the_trace_on)
        return;
    size_t start = begin_line(line, sizeof line, &used);
    va_start(ap, call);
    append(line, sizeof line, &used, call, ap);
    va_end(ap);
    append_f(line, sizeof line, &used, " = %ld", result);
    if (result == -1)
        append_f(line, sizeof line, &used, " %s (%s)", errno_name(saved),
                 strerror(saved));
    if (note != NULL && *note != '\0')
        append_f(line, sizeof line, &used, "  %s", note);
    end_line(line, sizeof line, start, used, libuv);
    errno = saved;
}

/* A line without a result: the text, then the libuv column if any. */
static void step_line(const char *libuv, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void step_line(const char *libuv, const char *fmt, va_list ap)
{
    int saved = errno;
    char line[512];
    size_t used = 0;

    if (!the_trace_on)
        return;
    size_t start = begin_line(line, sizeof line, &used);
    append(line, sizeof line, &used, fmt, ap);
    end_line(line, sizeof line, start, used, libuv);
    errno = saved;
}

void trace_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    step_line(NULL, fmt, ap);
    va_end(ap);
}

void trace_step(const char *libuv, const char *step, ...)
{
    va_list ap;
    va_start(ap, step);
    step_line(libuv, step, ap);
    va_end(ap);
}

void trace_accept(long fd, int listen_fd, const struct sockaddr_storage *peer)
{
    char text[ADDR_TEXT_MAX];
    char note[ADDR_TEXT_MAX + 8] = "";
    const char *uv = "on_new_connection -> uv_accept";

    if (!the_trace_on)
        return;
    if (fd >= 0)
        snprintf(note, sizeof note, "peer %s",
                 format_addr((const struct sockaddr *)peer, text,
                             sizeof text));
    else if (errno == EINTR)
        uv = "(libuv retries EINTR itself: no callback)";
    trace(fd, note, uv, "accept(%d)", listen_fd);
}

void trace_read(long n, int fd, const char *callback)
{
    char uv[96];

    if (!the_trace_on)
        return;
    if (n > 0)
        snprintf(uv, sizeof uv, "%s, nread = %ld", callback, n);
    else if (n == 0)
        snprintf(uv, sizeof uv, "%s, nread = UV_EOF", callback);
    else if (errno == EINTR)
        snprintf(uv, sizeof uv, "(libuv retries EINTR itself)");
    else if (errno == EAGAIN || errno == EWOULDBLOCK)
        snprintf(uv, sizeof uv, "(%s never gets UV_EAGAIN; an idle "
                 "timeout is a uv_timer_t)", callback);
    else
        snprintf(uv, sizeof uv, "%s, nread = UV_%s", callback,
                 errno_name(errno));
    trace(n, n == 0 ? "peer closed" : NULL, uv, "read(%d)", fd);
}

void trace_write(long n, int fd, size_t len)
{
    trace(n, NULL,
          n < 0 && errno == EINTR ? "(libuv retries EINTR itself)"
                                  : "uv_write",
          "write(%d, %zu)", fd, len);
}

const char *uv_bind_twin(int family)
{
    return family == AF_INET6 ? "uv_ip6_addr + uv_tcp_bind"
                              : "uv_ip4_addr + uv_tcp_bind";
}

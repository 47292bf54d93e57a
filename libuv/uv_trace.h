/* uv_trace.h - trace helpers the two libuv programs share.
 *
 * common/ never includes libuv, so the pieces of the -v trace that need
 * libuv's error names live here, beside the programs that use them.
 */
#ifndef SOCKLAB_UV_TRACE_H
#define SOCKLAB_UV_TRACE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>

#include "trace.h"

/* A failed libuv call's error by name and text ("ECONNREFUSED (connection
 * refused)"). libuv returns errors as negative numbers (on Unix, minus the
 * errno value) rather than -1 and errno, so trace() cannot name them by
 * itself. NULL when rc is not an error. */
static inline const char *uv_why(long rc)
{
    static char text[96];

    if (rc >= 0)
        return NULL;
    snprintf(text, sizeof text, "%s (%s)", uv_err_name((int)rc),
             uv_strerror((int)rc));
    return text;
}

/* The system call a libuv step stands for, with the real descriptors
 * filled in ("read(12) = 6"), for the right-hand column of the trace. */
static inline const char *bsd(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static inline const char *bsd(const char *fmt, ...)
{
    static char text[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return text;
}

/* One libuv step on the trace: "STEP = rc" (with the error's name when rc
 * is one), and on the right the system calls libuv made during it. The rule
 * for that right-hand column: a socket call written with its "(" (bind(3,
 * ...)) is one libuv made during this step; any other mention of such a
 * call goes without "(" right after its name. */
static inline void uv_step(long rc, const char *syscalls, const char *fmt,
                           ...) __attribute__((format(printf, 3, 4)));

static inline void uv_step(long rc, const char *syscalls, const char *fmt,
                           ...)
{
    char step[192];
    va_list ap;

    if (!trace_enabled())
        return;
    va_start(ap, fmt);
    vsnprintf(step, sizeof step, fmt, ap);
    va_end(ap);
    trace(rc, uv_why(rc), syscalls, "%s", step);
}

/* uv_default_loop is uv_loop_init on a static loop. On Linux that makes an
 * epoll instance (uv__epoll_init), a pipe libuv uses as a lock for its
 * signal bookkeeping (once per process, uv__signal_global_init), the loop's
 * signal pipe (uv_signal_init of its child watcher) and an eventfd for
 * wake-ups from other threads (uv_async_init): no socket. */
static inline void uv_trace_loop(const uv_loop_t *loop)
{
    if (loop == NULL) {
        fprintf(stderr, "%s: uv_default_loop: cannot create the event loop\n",
                program_name());
        exit(71);  /* EX_OSERR */
    }
    trace(uv_backend_fd(loop), NULL,
          "epoll_create1 + pipe2 (signal lock) + pipe2 (signal pipe) + "
          "eventfd2; no socket", "uv_default_loop() backend fd");
}

/* What uv_write did, for the right-hand column. uv_write2 writes at once
 * (uv__write: write(2) for one buffer) when nothing was queued before it
 * (queued == 0, read before the call), and leaves whatever the socket did
 * not take for when it is writable; otherwise it only queues. */
static inline const char *uv_write_note(int rc, const uv_stream_t *stream,
                                        int fd, size_t len, size_t queued)
{
    size_t left = uv_stream_get_write_queue_size(stream);

    if (rc < 0 || queued > 0)
        return "no system call: queued behind earlier writes";
    if (left == 0)
        return bsd("write(%d, %zu) = %zu", fd, len, len);
    if (left < len)
        return bsd("write(%d, %zu) = %zu; the rest when writable", fd, len,
                   len - left);
    return bsd("write(%d, %zu) = -1, tried again when writable", fd, len);
}

#endif

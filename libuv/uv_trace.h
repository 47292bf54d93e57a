/* uv_trace.h - trace helpers the two libuv programs share.
 *
 * common/ never includes libuv, so the pieces of the -v trace that need
 * libuv's error names live here, beside the programs that use them.
 */
#ifndef SOCKLAB_UV_TRACE_H
#define SOCKLAB_UV_TRACE_H

#include <stdarg.h>
#include <stdio.h>

#include <uv.h>

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
    static char text[128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return text;
}

#endif

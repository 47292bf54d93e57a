/* fail.c - see fail.h. */
#include "fail.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

static void vwarn_msg(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

static void vwarn_msg(const char *fmt, va_list ap)
{
    /* Build the line first and print it at once, for the same reason the
     * trace does: several processes may share this stderr. */
    char line[512];
    int n = snprintf(line, sizeof line, "%s: ", program_name());
    if (n < 0)
        n = 0;
    if ((size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    fprintf(stderr, "%s\n", line);
}

void warn_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwarn_msg(fmt, ap);
    va_end(ap);
}

void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwarn_msg(fmt, ap);
    va_end(ap);
    exit(code);
}

void die_errno(int code, const char *fmt, ...)
{
    int err = errno;  /* vsnprintf below may change it */
    char what[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    die(code, "%s: %s%s", what, strerror(err), errno_hint(err));
}

void die_unresolved(const char *host, int gai_error, int for_bind)
{
    die(EX_NOHOST, "cannot resolve '%s': %s (%s)", host,
        gai_strerror(gai_error),
        for_bind ? "try 127.0.0.1, ::1 or 0.0.0.0"
                 : "check the name, or give an address such as 127.0.0.1 "
                   "or ::1");
}

int connect_exit_code(int err)
{
    switch (err) {
    case ECONNREFUSED:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ETIMEDOUT:
    case EADDRNOTAVAIL:
        return EX_UNAVAILABLE;
    default:
        return EX_OSERR;
    }
}

const char *errno_hint(int err)
{
    switch (err) {
    case EADDRINUSE:
        return " (another server on this port? try another PORT, or 0)";
    case EADDRNOTAVAIL:
        return " (is that address on this machine? try 127.0.0.1 or ::1)";
    case EACCES:
        return " (ports below 1024 need root; try 7000, or 0)";
    case ECONNREFUSED:
        return " (is a server listening there? start bin/echo-server first)";
    case EMFILE:
    case ENFILE:
        return " (out of file descriptors; raise it with ulimit -n)";
    default:
        return "";
    }
}

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
    char line[512], *whole = NULL;
    va_list again;

    va_copy(again, ap);
    int n = snprintf(line, sizeof line, "%s: ", program_name());
    size_t used = n > 0 && (size_t)n < sizeof line ? (size_t)n : 0;
    int need = vsnprintf(line + used, sizeof line - used, fmt, ap);
    /* Too long: format it whole, then keep its start and its end. */
    if (need >= 0 && (size_t)need >= sizeof line - used &&
        (whole = malloc((size_t)need + 1)) != NULL) {
        vsnprintf(whole, (size_t)need + 1, fmt, again);
        shortened(whole, line + used, sizeof line - used);
    }
    va_end(again);
    free(whole);
    fprintf(stderr, "%s\n", line);
}

const char *shortened(const char *text, char *buf, size_t size)
{
    size_t len = strlen(text);

    if (len < size) {
        memcpy(buf, text, len + 1);
    } else {
        /* size - 1 characters: head, "...", tail. The tail gets the larger
         * half: the end of an error line is where its reason is. */
        size_t room = size - 1 - 3;
        size_t head = room / 3, tail = room - head;
        memcpy(buf, text, head);
        snprintf(buf + head, size - head, "...%s", text + len - tail);
    }
    /* A newline (or any control byte) inside a value would break the
     * one-line error, or speak to the terminal: show it as '?'. */
    for (char *p = buf; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return buf;
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
    char shown[80];
    die(EX_NOHOST, "cannot resolve '%s': %s (%s)",
        shortened(host, shown, sizeof shown),
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

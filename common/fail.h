/* fail.h - one-line errors and sysexits.h exit codes.
 *
 * Every error a learner sees has the same shape:
 *   echo-server: bind 127.0.0.1:7000: Address already in use (hint)
 * PROGRAM: WHAT: REASON, and the exit code tells a script what kind of
 * failure it was (sysexits.h): 64 usage, 68 no such host, 69 nobody
 * answers, 71 a system call failed, 74 the connection broke.
 */
#ifndef SOCKLAB_FAIL_H
#define SOCKLAB_FAIL_H

#include <stddef.h>
#include <sysexits.h>

/* Print "PROGRAM: " + the formatted message + newline on stderr, in one
 * write. A message too long for one line loses its middle, never its end:
 * the reason and the hint come last. */
void warn_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* warn_msg, then exit(code). */
_Noreturn void die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* die for a failed system call, the errno way: "PROGRAM: WHAT: REASON"
 * with strerror(errno) as the reason and a hint for a learner where there
 * is one (errno_hint). What is the formatted text, e.g. "bind %s". Short
 * on purpose: it sits on the line after the call it reports. */
_Noreturn void die_errno(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A host that getaddrinfo could not resolve (gai_error is its EAI_*
 * code): one line naming the host and what would work, exit 68
 * (EX_NOHOST). for_bind picks the hint: addresses to listen on for a
 * server's -b, a name to check for a client's HOST. */
_Noreturn void die_unresolved(const char *host, int gai_error, int for_bind);

/* text as an error line quotes it: whole when it fits in size - 1
 * characters, else its start and its end around "...", so that a value
 * thousands of characters long neither floods the line nor pushes the
 * reason off its end. Control bytes (a newline, an escape) are shown as
 * '?', so the error stays one line. Returns buf (size at least 16). */
const char *shortened(const char *text, char *buf, size_t size);

/* The exit code for a failed connect (69 for refused, unreachable, timed
 * out; 71 for anything else). */
int connect_exit_code(int err);

/* A hint for a learner after a common errno, or "" when there is none
 * (leading space included, e.g. " (another server on this port? ...)"). */
const char *errno_hint(int err);

#endif

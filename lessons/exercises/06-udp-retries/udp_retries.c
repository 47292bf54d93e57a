/* udp_retries.c - exercise 6: a UDP client that sends again, and knows a
 * late echo when it sees one.
 *
 * Each line of standard input goes out as one datagram; its echo is
 * printed. UDP sends each datagram once and says nothing when it is lost,
 * so this client waits at most -w MS for each echo. What it does then is
 * yours to write:
 *
 *   TODO 1  exchange: no echo in time -> send the same datagram again, up
 *           to -r more times; after the last try it is lost: say so, count
 *           it, and go on with the next line
 *   TODO 2  wait_for_echo: only the echo of this datagram counts. Anything
 *           else - the late echo of an earlier try or an earlier datagram -
 *           is ignored, and the wait goes on
 *
 * As it stands it sends each datagram once, and takes the first datagram
 * that comes back as the echo, whatever it holds. `make exercise 6` builds
 * your copy and checks it; by hand, with bin/udp-echo-server running:
 *
 *   printf 'one\ntwo\n' | build/exercises/06-udp-retries -v -w 200 -r 2
 *
 * Exit 0 when every echo came back, 69 when one never did.
 *
 * Usage: udp-retries [-h] [-v] [-w MS] [-r N] [HOST [PORT]]
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "fail.h"
#include "io.h"
#include "trace.h"

static const char usage[] =
    "[-h] [-v] [-w MS] [-r N] [HOST [PORT]]\n"
    "  Exercise 6: send each line of standard input as one UDP datagram and\n"
    "  print its echo.\n"
    "  -w MS  wait this long for each echo, 1-60000 ms (default 1000)\n"
    "  -r N   send a datagram again up to N times when no echo comes, 0-100 "
    "(default 3)\n"
    "  -v     trace each system call\n"
    "  HOST   name or address (default 127.0.0.1), or HOST:PORT; a lone "
    "number is the PORT\n"
    "  Exit 0 when every echo came back, 69 when one never did.";

#define MAX_DATAGRAM 65507  /* the most one IPv4 UDP datagram carries */

struct session {
    int fd;
    char peer[ADDR_TEXT_MAX];
    long wait_ms;            /* -w */
    long retries;            /* -r */
    unsigned long sent;      /* datagrams sent (a resend is not counted) */
    unsigned long lost;      /* ... whose echo never came */
};

static const char *on_option(int letter, const char *arg, void *ctx)
{
    struct session *s = ctx;

    if (letter == 'w')
        return parse_long_in(arg, 1, 60000, &s->wait_ms) == 0
                   ? NULL : "milliseconds from 1 to 60000";
    return parse_long_in(arg, 0, 100, &s->retries) == 0
               ? NULL : "a number of retries from 0 to 100";
}

/* A UDP socket connected to the server: connect sends nothing, but fixes
 * the peer, so send needs no address, datagrams from anyone else are
 * dropped, and an ICMP "port unreachable" shows up as ECONNREFUSED. */
static void open_socket(struct session *s, const char *host, uint16_t port)
{
    struct addrinfo *list;

    int rc = resolve(host, port, SOCK_DGRAM, 0, &list);
    if (rc != 0)
        die_unresolved(host, rc, 0);
    format_addr(list->ai_addr, s->peer, sizeof s->peer);
    s->fd = socket(list->ai_family, SOCK_DGRAM, 0);
    trace(s->fd, NULL, NULL, "socket(%s, SOCK_DGRAM, 0)",
          family_name(list->ai_family));
    if (s->fd < 0)
        die_errno(EX_OSERR, "socket");
    rc = connect(s->fd, list->ai_addr, list->ai_addrlen);
    trace(rc, "no packet sent", NULL, "connect(%d, %s)", s->fd, s->peer);
    if (rc < 0)
        die_errno(EX_UNAVAILABLE, "connect %s", s->peer);
    freeaddrinfo(list);
}

static long ms_until(const struct timespec *deadline)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long ms = (long)(deadline->tv_sec - t.tv_sec) * 1000 +
              (deadline->tv_nsec - t.tv_nsec) / 1000000;
    return ms < 0 ? 0 : ms;
}

/* Wait at most -w MS for the echo of data (len bytes). Returns 1 when it
 * came (and has been printed), 0 when the time ran out. */
static int wait_for_echo(struct session *s, const char *data, size_t len)
{
    static char back[MAX_DATAGRAM + 1];  /* one more: a longer one shows */
    struct timespec deadline;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += s->wait_ms / 1000;
    deadline.tv_nsec += (s->wait_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }

    for (;;) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN, .revents = 0};
        long wait = ms_until(&deadline);
        int ready = poll(&p, 1, (int)wait);
        trace(ready, ready == 0 ? "timed out" : NULL, NULL,
              "poll(1 fd, %ld ms)", wait);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            die_errno(EX_OSERR, "poll");
        if (ready == 0)
            return 0;

        /* One recv, one whole datagram. */
        ssize_t n = recv(s->fd, back, sizeof back, 0);
        trace(n, NULL, NULL, "recv(%d)", s->fd);
        if (n < 0 && errno == ECONNREFUSED)
            die(EX_UNAVAILABLE, "no UDP echo server at %s: %s", s->peer,
                strerror(errno));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die_errno(EX_IOERR, "recv from %s", s->peer);

        /* TODO 2 (lesson 07, "A client that cannot tell slow from gone"):
         * is this the echo of data? Only if it has the same length and the
         * same bytes (memcmp). If not, it is a stray - the late echo of an
         * earlier try, or of an earlier datagram - and taking it as this
         * one's echo would print the wrong line: ignore it (say so under
         * -v with trace_note if you like) and go on waiting, until the
         * same deadline. */
        (void)data, (void)len;  /* unused until TODO 2: delete this line */
        if (write_all(STDOUT_FILENO, back, (size_t)n) < 0)
            die_errno(EX_IOERR, "write standard output");
        return 1;
    }
}

/* Send one datagram and wait for its echo. Returns 1 if the echo came,
 * 0 if the datagram is lost. */
static int exchange(struct session *s, const char *data, size_t len)
{
    s->sent++;

    /* TODO 1 (lesson 07, "A client that cannot tell slow from gone"): when
     * no echo came in time, send the same datagram again, and wait again:
     * 1 + s->retries tries in all (-r 0: one try). Nothing tells a
     * datagram lost on its way there from an echo lost on its way back, or
     * from a server that is only slow: sending again is all a client can
     * do. A warn_msg before each new try helps whoever runs it. */
    ssize_t n = send(s->fd, data, len, 0);
    trace(n, NULL, NULL, "send(%d, %zu)", s->fd, len);
    if (n < 0)
        die_errno(EX_IOERR, "send %zu bytes to %s", len, s->peer);
    if (wait_for_echo(s, data, len))
        return 1;

    s->lost++;
    warn_msg("datagram %lu (%zu bytes) lost: no echo within %ld ms",
             s->sent, len, s->wait_ms);
    return 0;
}

int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct session s = {.fd = -1, .wait_ms = 1000, .retries = 3};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    trace_init("udp-retries", 0);
    parse_client_args(argc, argv, &args, usage, "w:r:", on_option, &s);
    open_socket(&s, args.host, args.port);

    /* Each line, newline included, is one datagram. */
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        if (n > MAX_DATAGRAM)
            die(EX_DATAERR, "line %lu is %zd bytes: one datagram holds at "
                "most %d", s.sent + 1, n, MAX_DATAGRAM);
        exchange(&s, line, (size_t)n);
    }
    if (ferror(stdin))
        die_errno(EX_IOERR, "read standard input");
    free(line);

    int rc = close(s.fd);
    trace(rc, NULL, NULL, "close(%d)", s.fd);
    if (s.lost > 0)
        die(EX_UNAVAILABLE, "%lu of %lu datagrams got no echo", s.lost,
            s.sent);
    return 0;
}

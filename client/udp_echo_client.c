/* udp_echo_client.c - a UDP echo client: timeouts, retries, lost datagrams.
 *
 *   socket(SOCK_DGRAM) -> connect (no handshake: it only fixes the peer)
 *   for each line of input (or one datagram of -s SIZE bytes):
 *       send -> poll for the echo, at most -w MS -> recv
 *       no echo in time: send again, at most -r N more times
 *
 * TCP hides loss: it resends for us and either delivers every byte or
 * reports a broken connection. UDP sends each datagram once and says
 * nothing if it vanishes, so the client must time out and resend itself.
 *
 * Usage: udp-echo-client [-h] [-v] [-s SIZE] [-w MS] [-r N] [HOST [PORT]]
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
    "[-h] [-v] [-s SIZE] [-w MS] [-r N] [HOST [PORT]]\n"
    "  Send each line of standard input as one UDP datagram and print its "
    "echo.\n"
    "  -s SIZE  send one datagram of SIZE bytes instead (0-65507 over IPv4,\n"
    "           0-65527 over IPv6)\n"
    "  -w MS    wait this long for each echo, 1-60000 ms (default 1000)\n"
    "  -r N     send a datagram again up to N times when no echo comes, 0-100 "
    "(default 3)\n"
    "  -v       trace each system call with its libuv counterpart\n"
    "  HOST     name or address (default 127.0.0.1), or HOST:PORT / "
    "[V6ADDR]:PORT;\n"
    "           a lone number is the PORT (default 7000)\n"
    "  Exit 0 when every echo came back, 69 when one never did, 65 for a\n"
    "  line too long for one datagram, 64 for a broadcast address.";

/* The largest UDP payload: the IPv4 total length (16 bits) must cover a
 * 20-byte IP header and the 8-byte UDP header: 65535 - 20 - 8 = 65507.
 * IPv6 counts its 40-byte header apart, so only UDP's 8 bytes come off. */
#define MAX_UDP_IPV4 65507
#define MAX_UDP_IPV6 65527

struct options {
    long size;      /* -s, or -1 to send lines of standard input */
    long wait_ms;   /* -w */
    long retries;   /* -r */
};

/* Where we are: the socket, the options, and what has happened so far. */
struct session {
    int fd;
    char peer[ADDR_TEXT_MAX];
    struct options opt;
    unsigned long sent;      /* datagrams sent (not counting resends) */
    unsigned long answered;  /* ... whose echo came back */
    unsigned long lost;      /* ... whose echo never came */
    unsigned long strays;    /* datagrams received that we did not expect */
};

static const char *on_option(int letter, const char *arg, void *ctx)
{
    struct options *opt = ctx;

    switch (letter) {
    case 's':
        return parse_long_in(arg, 0, MAX_UDP_IPV6, &opt->size) == 0
                   ? NULL
                   : "a size in bytes from 0 to 65507 (IPv4) or 65527 (IPv6)";
    case 'w':
        return parse_long_in(arg, 1, 60000, &opt->wait_ms) == 0
                   ? NULL
                   : "milliseconds from 1 to 60000";
    case 'r':
        return parse_long_in(arg, 0, 100, &opt->retries) == 0
                   ? NULL
                   : "a number of retries from 0 to 100";
    default:
        return "an option listed by -h";
    }
}

/* A hint after connect or send failed. EACCES on a UDP socket is the
 * kernel refusing a broadcast address (255.255.255.255, or a network's
 * last address such as 127.255.255.255) to a socket without SO_BROADCAST,
 * and 255.255.255.255 with no route out fails as "unreachable". This
 * client never sets SO_BROADCAST: echo is a talk with one server. */
static const char *send_hint(int err, const char *peer)
{
    if (err == EACCES || strncmp(peer, "255.255.255.255:", 16) == 0)
        return " (a broadcast address? broadcast needs SO_BROADCAST, and "
               "this client does not broadcast: give one server's address)";
    return errno_hint(err);
}

/* region: udp-connect */
/* connect on a UDP socket sends nothing. It records the server as the only
 * peer: send needs no address, the kernel drops datagrams from anyone else,
 * and - the reason we use it - an ICMP "port unreachable" coming back is
 * reported to us as ECONNREFUSED. An unconnected socket never hears of it,
 * and could only wait for its timeout. */
static int open_udp_client(const char *host, uint16_t port, char *peer,
                           int *family)
{
    struct addrinfo *list;

    int rc = resolve(host, port, SOCK_DGRAM, 0, &list);
    if (rc != 0)
        die_unresolved(host, rc, 0);
    format_addr(list->ai_addr, peer, ADDR_TEXT_MAX);
    *family = list->ai_family;

    int fd = socket(list->ai_family, SOCK_DGRAM, 0);
    trace(fd, NULL, "made in uv_udp_connect (uv_udp_init makes none)",
          "socket(%s, SOCK_DGRAM, 0)", family_name(list->ai_family));
    if (fd < 0)
        die(EX_OSERR, "socket: %s%s", strerror(errno), errno_hint(errno));

    rc = connect(fd, list->ai_addr, list->ai_addrlen);
    trace(rc, "no packet sent", "uv_udp_connect", "connect(%d, %s)", fd,
          peer);
    if (rc < 0)
        die(errno == EACCES ? EX_USAGE : connect_exit_code(errno),
            "connect %s: %s%s", peer, strerror(errno), send_hint(errno, peer));
    freeaddrinfo(list);

    /* The kernel also gave the socket a local address and port, as a
     * bind to port 0 would have. */
    if (trace_enabled()) {
        struct sockaddr_storage local;
        socklen_t len = sizeof local;
        char text[ADDR_TEXT_MAX] = "";
        rc = getsockname(fd, (struct sockaddr *)&local, &len);
        if (rc == 0)
            format_addr((struct sockaddr *)&local, text, sizeof text);
        trace(rc, text, "implicit uv_udp_bind to port 0", "getsockname(%d)",
              fd);
    }
    return fd;
}
/* endregion: udp-connect */

/* Nobody is bound to that port: the server's host answered our datagram
 * with ICMP "port unreachable". Same outcome as no answer, said sooner. */
static _Noreturn void refused(const struct session *s)
{
    die(EX_UNAVAILABLE, "no UDP echo server at %s: %s (nothing is bound to "
        "that port there; start bin/udp-echo-server, or check PORT)",
        s->peer, strerror(ECONNREFUSED));
}

static long ms_left(const struct timespec *deadline)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long ms = (long)(deadline->tv_sec - t.tv_sec) * 1000 +
              (deadline->tv_nsec - t.tv_nsec) / 1000000;
    return ms < 0 ? 0 : ms;
}

/* region: wait-for-echo */
/* Wait up to -w MS for the echo of data. Returns 1 when it came (and has
 * been printed), 0 when time ran out. A datagram that is not our echo - a
 * late echo of an earlier try, say - is counted and the wait goes on. */
static int wait_for_echo(struct session *s, const char *data, size_t len)
{
    static char back[MAX_UDP_IPV6 + 1];  /* one more: a longer one shows */
    struct timespec deadline;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += s->opt.wait_ms / 1000;
    deadline.tv_nsec += (s->opt.wait_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }

    for (;;) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN, .revents = 0};
        long wait = ms_left(&deadline);
        int ready = poll(&p, 1, (int)wait);
        trace(ready, ready == 0 ? "timed out" : NULL,
              "uv_run, waiting for on_recv or a uv_timer", "poll(1 fd, %ld ms)",
              wait);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            die(EX_OSERR, "poll: %s", strerror(errno));
        if (ready == 0)
            return 0;

        /* One recv, one whole datagram (or ECONNREFUSED, see above). */
        ssize_t n = recv(s->fd, back, sizeof back, 0);
        trace(n, NULL,
              n < 0 && errno == EINTR
                  ? "(libuv retries EINTR itself: no callback)"
                  : "uv_udp_recv_start -> on_recv",
              "recv(%d)", s->fd);
        if (n < 0 && errno == ECONNREFUSED)
            refused(s);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die(EX_IOERR, "recv from %s: %s", s->peer, strerror(errno));
        if ((size_t)n == len && memcmp(back, data, len) == 0) {
            if (write_all(STDOUT_FILENO, back, len) < 0)
                die(EX_IOERR, "write standard output: %s", strerror(errno));
            return 1;
        }
        s->strays++;
        trace_note("%zd bytes that are not the echo we wait for: ignored",
                   n);
    }
}
/* endregion: wait-for-echo */

/* region: send-with-retries */
/* Send one datagram and wait for its echo, sending it again when the wait
 * runs out, 1 + retries times in all. Returns 1 if the echo came, else 0. */
static int exchange(struct session *s, const char *data, size_t len)
{
    long tries = 1 + s->opt.retries;

    s->sent++;
    for (long try = 1; try <= tries; try++) {
        ssize_t n = send(s->fd, data, len, 0);
        char note[48] = "";
        if (try > 1)
            snprintf(note, sizeof note, "try %ld of %ld", try, tries);
        trace(n, note, "uv_udp_send", "send(%d, %zu)", s->fd, len);
        if (n < 0 && errno == ECONNREFUSED)
            refused(s);  /* an ICMP error from an earlier datagram */
        if (n < 0)
            die(errno == EACCES ? EX_USAGE : EX_IOERR, "send %zu bytes to "
                "%s: %s%s", len, s->peer, strerror(errno),
                send_hint(errno, s->peer));

        if (wait_for_echo(s, data, len)) {
            s->answered++;
            return 1;
        }
        if (try < tries)
            warn_msg("no echo of datagram %lu (%zu bytes) within %ld ms; "
                     "sending it again (try %ld of %ld)", s->sent, len,
                     s->opt.wait_ms, try + 1, tries);
    }

    /* Not one echo yet: the server is not there (or not answering), and
     * going on would only repeat the wait for every datagram. */
    if (s->answered == 0)
        die(EX_UNAVAILABLE, "no answer from %s after %ld tr%s of %ld ms "
            "(is bin/udp-echo-server running there? UDP has no handshake, "
            "so silence is all a client gets)", s->peer, tries,
            tries == 1 ? "y" : "ies", s->opt.wait_ms);
    s->lost++;
    warn_msg("datagram %lu (%zu bytes) lost: no echo after %ld tr%s",
             s->sent, len, tries, tries == 1 ? "y" : "ies");
    return 0;
}
/* endregion: send-with-retries */

/* Each line of standard input, newline included, is one datagram, so the
 * output is the input again when every echo comes back. */
static void send_lines(struct session *s, long limit)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    while ((n = getline(&line, &cap, stdin)) >= 0) {
        if (n > limit)
            die(EX_DATAERR, "line %lu is %zd bytes: one UDP datagram to %s "
                "holds at most %ld; split the line", s->sent + 1, n, s->peer,
                limit);
        exchange(s, line, (size_t)n);
    }
    if (ferror(stdin))
        die(EX_IOERR, "read standard input: %s", strerror(errno));
    free(line);
}

/* -s SIZE: one datagram of SIZE bytes, a-z over and over. */
static void send_sized(struct session *s, long size)
{
    static char data[MAX_UDP_IPV6];

    for (long i = 0; i < size; i++)
        data[i] = (char)('a' + i % 26);
    exchange(s, data, (size_t)size);
}

int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct session s = {.fd = -1};
    int family;

    s.opt = (struct options){.size = -1, .wait_ms = 1000, .retries = 3};
    trace_init("udp-echo-client", 0);
    parse_client_args(argc, argv, &args, usage, "s:w:r:", on_option, &s.opt);

    s.fd = open_udp_client(args.host, args.port, s.peer, &family);

    /* Only now is the family known, and with it the largest datagram. A
     * bigger one would fail with EMSGSIZE: say so plainly instead. */
    long limit = family == AF_INET6 ? MAX_UDP_IPV6 : MAX_UDP_IPV4;
    if (s.opt.size > limit)
        die(EX_USAGE, "datagram of %ld bytes is too big for %s: at most %ld "
            "bytes fit in one UDP datagram over %s (try -s %ld)",
            s.opt.size, s.peer, limit,
            family == AF_INET6 ? "IPv6" : "IPv4", limit);

    if (s.opt.size >= 0)
        send_sized(&s, s.opt.size);
    else
        send_lines(&s, limit);

    int rc = close(s.fd);
    trace(rc, NULL, "uv_close", "close(%d)", s.fd);
    if (s.strays > 0)
        warn_msg("ignored %lu datagram%s that matched no echo we waited for "
                 "(late echoes of a datagram sent again?)", s.strays,
                 s.strays == 1 ? "" : "s");
    if (s.lost > 0)
        die(EX_UNAVAILABLE, "%lu of %lu datagrams got no echo", s.lost,
            s.sent);
    return 0;
}

/* udp_echo_server.c - a UDP echo server: datagrams, not connections.
 *
 *   socket(SOCK_DGRAM) -> bind
 *   loop: recvfrom (a datagram and who sent it) -> sendto (back to them)
 *
 * Compare bin/echo-server: no listen, no accept, no per-client descriptor,
 * no end of stream. One socket receives from everybody; every datagram
 * arrives whole, with its sender's address attached, and the reply is
 * addressed by hand. Nothing tells the server a client has come or gone.
 *
 * Nor who it really is: the sender's address is whatever the datagram
 * says. So before answering, the server checks the source (filter_source,
 * looping) and ignores those an answer to would be a reflection or a loop;
 * -a turns that off for experiments.
 *
 * Usage: udp-echo-server [-h] [-v] [-a] [-b ADDR] [PORT]
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "fail.h"
#include "signals.h"
#include "trace.h"

static const char usage[] =
    "[-h] [-v] [-a] [-b ADDR] [PORT]\n"
    "  Send every UDP datagram back to whoever sent it, except where an\n"
    "  answer could be a reflection or a loop: a datagram from a port below\n"
    "  1024, from a broadcast, multicast or unspecified address, from this\n"
    "  server's own port, or the same bytes bounced back 100 times in a row\n"
    "  is ignored (counted in the summary; traced with -v).\n"
    "  -a       answer all of them: no filter (for experiments, on loopback)\n"
    "  -b ADDR  address to bind (default 127.0.0.1; :: or 0.0.0.0 for all)\n"
    "  -v       trace each system call with its libuv counterpart\n"
    "  PORT     0-65535, default 7000; 0 lets the kernel choose";

/* The UDP length field is 16 bits and counts its own 8-byte header, so no
 * datagram carries more than 65535 - 8 = 65527 bytes (IPv4 allows at most
 * 65507 of those, after its 20-byte header). A buffer this size holds any
 * datagram whole: recvfrom never has to cut one short (MSG_TRUNC). */
#define MAX_DATAGRAM 65535

/* Why a datagram gets no answer (ANSWER: it gets one). */
enum verdict {
    ANSWER,
    LOW_PORT,
    BROADCAST,
    MULTICAST,
    UNSPECIFIED,
    OWN_PORT,
    LOOPING,
    VERDICTS
};

static const char *const reason[VERDICTS] = {
    [LOW_PORT] = "from a port below 1024",
    [BROADCAST] = "from a broadcast address",
    [MULTICAST] = "from a multicast address",
    [UNSPECIFIED] = "from an unspecified address",
    [OWN_PORT] = "from its own port",
    [LOOPING] = "looping",
};

struct totals {
    unsigned long datagrams;
    unsigned long long bytes;
    unsigned long ignored[VERDICTS];  /* by reason; [ANSWER] unused */
};

static int answer_all = 0;  /* -a */

static const char *on_option(int letter, const char *arg, void *ctx)
{
    (void)arg;
    (void)ctx;
    if (letter != 'a')
        return "an option listed by -h";
    answer_all = 1;
    return NULL;
}

/* region: udp-bind */
/* A UDP socket needs only an address to be reachable: bind, and datagrams
 * sent to that address and port queue up for us. There is no listen (no
 * handshakes to complete) and no SO_REUSEADDR (no TIME_WAIT to wait out). */
static int open_udp_socket(const char *host, uint16_t port)
{
    struct addrinfo *list;
    char where[ADDR_TEXT_MAX];

    int rc = resolve(host, port, SOCK_DGRAM, 1, &list);
    if (rc != 0)
        die_unresolved(host, rc, 1);
    format_addr(list->ai_addr, where, sizeof where);

    int fd = socket(list->ai_family, SOCK_DGRAM, 0);
    trace(fd, NULL, "made in uv_udp_bind (uv_udp_init makes none)",
          "socket(%s, SOCK_DGRAM, 0)", family_name(list->ai_family));
    if (fd < 0)
        die(EX_OSERR, "socket: %s%s", strerror(errno), errno_hint(errno));

    rc = bind(fd, list->ai_addr, list->ai_addrlen);
    trace(rc, NULL,
          list->ai_family == AF_INET6 ? "uv_ip6_addr + uv_udp_bind"
                                      : "uv_ip4_addr + uv_udp_bind",
          "bind(%d, %s)", fd, where);
    if (rc < 0)
        die(EX_OSERR, "bind %s: %s%s", where, strerror(errno),
            errno_hint(errno));
    freeaddrinfo(list);
    return fd;
}
/* endregion: udp-bind */

/* region: udp-filter */
/* The source address and port of a datagram are fields its sender fills
 * in, and nothing checks them. Forge them, and our echo goes wherever the
 * forger likes (a reflection); forge another echo service's, and the two
 * answer each other for ever (a loop: the "UDP packet storm" of
 * CVE-1999-0103). So, as BSD inetd's built-in services do (its
 * dg_badinput), some sources get no answer:
 *   - a port below 1024: where the standard services live (echo 7,
 *     chargen 19, DNS 53, NTP 123), which answer too, and which no
 *     ordinary client sends from;
 *   - a broadcast, multicast or unspecified (0.0.0.0, ::) address: no one
 *     host sends from those, and an answer would reach many, or nobody;
 *   - our own port, from any address: ourselves (our echo would come
 *     straight back to us, for ever) or another echo server on the same
 *     port, the classic pair of hosts looping on port 7.
 * An IPv4 client of a server bound to :: shows as ::ffff:a.b.c.d. */
static enum verdict filter_source(const struct sockaddr_storage *peer,
                                  uint16_t own_port)
{
    const struct sockaddr_in *in4 = (const struct sockaddr_in *)peer;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)peer;
    const unsigned char *v4 = NULL;  /* the IPv4 address, if it is one */

    if (peer->ss_family == AF_INET)
        v4 = (const unsigned char *)&in4->sin_addr;
    else if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
        v4 = in6->sin6_addr.s6_addr + 12;

    if (v4 != NULL) {
        if (v4[0] == 0 && v4[1] == 0 && v4[2] == 0 && v4[3] == 0)
            return UNSPECIFIED;
        if (v4[0] == 255 && v4[1] == 255 && v4[2] == 255 && v4[3] == 255)
            return BROADCAST;
        if (v4[0] >= 224 && v4[0] <= 239)  /* 224.0.0.0/4 */
            return MULTICAST;
    } else {  /* IPv6 has no broadcast: multicast does that job */
        if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
            return UNSPECIFIED;
        if (IN6_IS_ADDR_MULTICAST(&in6->sin6_addr))
            return MULTICAST;
    }
    uint16_t port = addr_port((const struct sockaddr *)peer);
    if (port < 1024)
        return LOW_PORT;
    if (port == own_port)
        return OWN_PORT;
    return ANSWER;
}
/* endregion: udp-filter */

/* region: loop-guard */
/* Two echo servers on ordinary ports, say 7000 and 7001, pass every check
 * above and still loop once a forged datagram sets them off. What gives a
 * loop away is that the peer sends back, byte for byte, what we sent it a
 * moment ago, and never stops. So, for each peer, we keep digests of the
 * last few datagrams we sent it, count how many arrivals in a row were one
 * of them, and stop answering past LOOP_LIMIT: the loop dies after that
 * many round trips. The price: a client that sends the same bytes over
 * and over, each after its echo came back, looks just the same (-a). */
#define LOOP_LIMIT 100
#define RECENT_ECHOES 8  /* per peer: catches loops of up to 8 datagrams */
#define PEER_SLOTS 64    /* peers remembered at once */

struct peer_memory {
    unsigned long bounced;          /* arrivals in a row that were echoes */
    uint64_t sent[RECENT_ECHOES];   /* digests of what we sent it */
    unsigned next;                  /* where the next digest goes */
    unsigned char key[18];          /* port, then address (see peer_key) */
};

/* A datagram with fingerprint d has come from m's peer: is it one more
 * bounce of a loop? */
static int looping(struct peer_memory *m, uint64_t d)
{
    int echoed = 0;
    for (int i = 0; i < RECENT_ECHOES; i++)
        if (m->sent[i] == d && d != 0)
            echoed = 1;
    m->bounced = echoed ? m->bounced + 1 : 0;
    return m->bounced > LOOP_LIMIT;
}
/* endregion: loop-guard */

/* FNV-1a, 64 bits, eight bytes at a step: a cheap fingerprint, not a
 * cryptographic one, and cheap enough to take of every datagram (byte by
 * byte it halved the rate of 64 KiB echoes). */
static uint64_t digest(const void *data, size_t n, uint64_t h)
{
    const unsigned char *p = data;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t word;
        memcpy(&word, p + i, 8);
        h = (h ^ word) * 1099511628211u;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 1099511628211u;
    return (h ^ n) * 1099511628211u;
}
#define DIGEST_START 14695981039346656037u

/* A peer as 18 bytes: the port, then the IPv6 address or the IPv4 one
 * followed by zeros. */
static void peer_key(const struct sockaddr_storage *peer, unsigned char *key)
{
    uint16_t port = addr_port((const struct sockaddr *)peer);

    memset(key, 0, 18);
    key[0] = (unsigned char)(port >> 8);
    key[1] = (unsigned char)(port & 0xff);
    if (peer->ss_family == AF_INET)
        memcpy(key + 2, &((const struct sockaddr_in *)peer)->sin_addr, 4);
    else
        memcpy(key + 2, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
}

/* The slot remembering peer; a new peer takes it over. */
static struct peer_memory *remember(const struct sockaddr_storage *peer)
{
    static struct peer_memory slots[PEER_SLOTS];
    unsigned char key[18];

    peer_key(peer, key);
    struct peer_memory *m = &slots[digest(key, sizeof key, DIGEST_START) %
                                   PEER_SLOTS];
    if (memcmp(m->key, key, sizeof key) != 0) {
        memset(m, 0, sizeof *m);
        memcpy(m->key, key, sizeof key);
    }
    return m;
}

/* The same ready line as the TCP servers ("listening" here means bound), so
 * tests and scripts find the port the same way. Returns the port, for
 * filter_source. */
static uint16_t say_bound(int fd)
{
    struct sockaddr_storage local;
    socklen_t len = sizeof local;
    char text[ADDR_TEXT_MAX] = "";

    int rc = getsockname(fd, (struct sockaddr *)&local, &len);
    if (rc == 0)
        format_addr((struct sockaddr *)&local, text, sizeof text);
    trace(rc, rc == 0 ? text : NULL, "uv_udp_getsockname", "getsockname(%d)",
          fd);
    if (rc < 0)
        die(EX_OSERR, "getsockname: %s", strerror(errno));
    printf("listening on %s\n", text);
    if (fflush(stdout) != 0)
        die(EX_IOERR, "cannot announce the port: %s", strerror(errno));
    return addr_port((struct sockaddr *)&local);
}

/* region: udp-loop */
/* One datagram in, the same datagram out, to the address it came from.
 * Each recvfrom returns exactly one datagram, however small (even 0 bytes)
 * or large: the boundaries the sender made are kept, unlike TCP's stream.
 * Before answering, the source is checked (udp-filter, loop-guard). */
static void echo_datagrams(int fd, uint16_t own_port, struct totals *totals)
{
    static char buf[MAX_DATAGRAM];

    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        char from[ADDR_TEXT_MAX], note[ADDR_TEXT_MAX + 8] = "";

        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer,
                             &len);
        if (n >= 0)
            snprintf(note, sizeof note, "from %s",
                     format_addr((struct sockaddr *)&peer, from, sizeof from));
        trace(n, note,
              n < 0 && errno == EINTR
                  ? "(libuv retries EINTR itself: no callback)"
                  : "uv_udp_recv_start -> on_recv",
              "recvfrom(%d)", fd);
        if (n < 0) {
            if (errno == EINTR)
                continue;  /* the loop condition decides */
            /* Nothing a sender does should stop the server: report it
             * and wait for the next datagram. */
            warn_msg("recvfrom: %s", strerror(errno));
            continue;
        }

        uint64_t d = digest(buf, (size_t)n, DIGEST_START);
        struct peer_memory *m = remember(&peer);
        enum verdict v = answer_all ? ANSWER : filter_source(&peer, own_port);
        if (v == ANSWER && !answer_all && looping(m, d))
            v = LOOPING;
        if (v != ANSWER) {
            totals->ignored[v]++;
            trace_note("no answer to %zd bytes from %s: %s", n, from,
                       reason[v]);
            continue;
        }

        ssize_t sent = sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer,
                              len);
        trace(sent, NULL, "uv_udp_send", "sendto(%d, %zd, %s)", fd, n, from);
        if (sent < 0) {
            /* The reply is lost, as UDP datagrams may be; carry on. */
            warn_msg("sendto %s: %s", from, strerror(errno));
            continue;
        }
        m->sent[m->next++ % RECENT_ECHOES] = d;
        totals->datagrams++;
        totals->bytes += (unsigned long long)sent;
    }
}
/* endregion: udp-loop */

/* The summary's tail: how many datagrams got no answer, and why. */
static void say_ignored(const struct totals *totals, char *text, size_t size)
{
    unsigned long all = 0;
    const char *sep = ": ";

    for (int v = ANSWER + 1; v < VERDICTS; v++)
        all += totals->ignored[v];
    snprintf(text, size, "%lu ignored%s", all,
             answer_all ? " (-a: no filter)" : "");
    for (int v = ANSWER + 1; v < VERDICTS; v++) {
        size_t used = strlen(text);
        if (totals->ignored[v] == 0)
            continue;
        snprintf(text + used, size - used, "%s%lu %s", sep,
                 totals->ignored[v], reason[v]);
        sep = ", ";
    }
}

int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct totals totals = {0, 0, {0}};
    char ignored[256];

    trace_init("udp-echo-server", 0);
    parse_server_args(argc, argv, &args, usage, "a", on_option, NULL);
    /* SIGINT/SIGTERM interrupt recvfrom with EINTR (no SA_RESTART). A
     * signal landing just before recvfrom starts is noticed only after the
     * next datagram: acceptable for a teaching server (echo-server-poll
     * shows how to close that gap). */
    if (catch_stop_signals() < 0)
        die(EX_OSERR, "sigaction: %s", strerror(errno));

    int fd = open_udp_socket(args.host, args.port);
    uint16_t own_port = say_bound(fd);
    echo_datagrams(fd, own_port, &totals);

    int rc = close(fd);
    trace(rc, NULL, "uv_close", "close(%d)", fd);
    say_ignored(&totals, ignored, sizeof ignored);
    warn_msg("stopped: %lu datagram%s echoed, %llu bytes; %s",
             totals.datagrams, totals.datagrams == 1 ? "" : "s", totals.bytes,
             ignored);
    return 0;
}

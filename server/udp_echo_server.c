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
 * Usage: udp-echo-server [-h] [-v] [-b ADDR] [PORT]
 */
#include <errno.h>
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
    "[-h] [-v] [-b ADDR] [PORT]\n"
    "  Send every UDP datagram back to whoever sent it.\n"
    "  -b ADDR  address to bind (default 127.0.0.1; :: or 0.0.0.0 for all)\n"
    "  -v       trace each system call with its libuv counterpart\n"
    "  PORT     0-65535, default 7000; 0 lets the kernel choose";

/* The UDP length field is 16 bits and counts its own 8-byte header, so no
 * datagram carries more than 65535 - 8 = 65527 bytes (IPv4 allows at most
 * 65507 of those, after its 20-byte header). A buffer this size holds any
 * datagram whole: recvfrom never has to cut one short (MSG_TRUNC). */
#define MAX_DATAGRAM 65535

struct totals {
    unsigned long datagrams;
    unsigned long long bytes;
};

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
    trace(fd, NULL, "uv_udp_init", "socket(%s, SOCK_DGRAM, 0)",
          family_name(list->ai_family));
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

/* The same ready line as the TCP servers ("listening" here means bound), so
 * tests and scripts find the port the same way. */
static void say_bound(int fd)
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
}

/* region: udp-loop */
/* One datagram in, the same datagram out, to the address it came from.
 * Each recvfrom returns exactly one datagram, however small (even 0 bytes)
 * or large: the boundaries the sender made are kept, unlike TCP's stream. */
static void echo_datagrams(int fd, struct totals *totals)
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
        trace(n, note, "uv_udp_recv_start -> on_recv", "recvfrom(%d)", fd);
        if (n < 0) {
            if (errno == EINTR)
                continue;  /* the loop condition decides */
            /* Nothing a sender does should stop the server: report it
             * and wait for the next datagram. */
            warn_msg("recvfrom: %s", strerror(errno));
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
        totals->datagrams++;
        totals->bytes += (unsigned long long)sent;
    }
}
/* endregion: udp-loop */

int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct totals totals = {0, 0};

    trace_init("udp-echo-server", 0);
    parse_server_args(argc, argv, &args, usage, NULL, NULL, NULL);
    /* SIGINT/SIGTERM interrupt recvfrom with EINTR (no SA_RESTART). A
     * signal landing just before recvfrom starts is noticed only after the
     * next datagram: acceptable for a teaching server (echo-server-poll
     * shows how to close that gap). */
    if (catch_stop_signals() < 0)
        die(EX_OSERR, "sigaction: %s", strerror(errno));

    int fd = open_udp_socket(args.host, args.port);
    say_bound(fd);
    echo_datagrams(fd, &totals);

    int rc = close(fd);
    trace(rc, NULL, "uv_close", "close(%d)", fd);
    warn_msg("stopped: %lu datagram%s echoed, %llu bytes", totals.datagrams,
             totals.datagrams == 1 ? "" : "s", totals.bytes);
    return 0;
}

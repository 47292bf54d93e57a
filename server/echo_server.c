/* echo_server.c - an iterative, blocking TCP echo server.
 *
 * The smallest honest server: one process, one client at a time. Every
 * system call it makes is here, in the order a learner meets them:
 *
 *   the address -> socket -> setsockopt -> bind -> listen -> getsockname
 *   loop: accept -> read / write until the client is done -> close
 *
 * While one client is being served, the next waits in the listen backlog:
 * its connect has succeeded (the kernel did the handshake), but nobody reads
 * what it sends. That wait is what bin/echo-server-fork removes.
 *
 * With -v each call is traced (trace.h), with the libuv call that plays the
 * same part; the libuv version of this file is libuv/uv_echo_server.c.
 *
 * Usage: echo-server [-h] [-v] [-b ADDR] [PORT]
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
#include "sockets.h"
#include "trace.h"

static const char usage[] =
    "[-h] [-v] [-b ADDR] [PORT]\n"
    "  Echo every byte back to one client at a time.\n"
    "  -b ADDR  address to listen on (default 127.0.0.1; :: or 0.0.0.0 for "
    "all)\n"
    "  -v       trace each system call with its libuv counterpart\n"
    "  PORT     0-65535, default 7000; 0 lets the kernel choose";

struct totals {
    unsigned long clients;
    unsigned long long bytes;
};

/* region: write-back */
/* write may take only part of the buffer when the socket's send buffer is
 * full; the rest is still ours to send, so we go round until it is all out.
 * A stop (Ctrl-C) between two writes gives up with EINTR. */
static int write_back(int fd, const char *buf, size_t n)
{
    size_t sent = 0;

    while (sent < n && !stop_requested) {
        ssize_t w = write(fd, buf + sent, n - sent);
        trace_write(w, fd, n - sent);
        if (w < 0 && errno == EINTR && !stop_requested)
            continue;  /* a signal that was not a stop: write again */
        if (w < 0)
            return -1;
        sent += (size_t)w;
    }
    if (sent < n)
        errno = EINTR;
    return sent < n ? -1 : 0;
}
/* endregion: write-back */

/* region: echo */
/* read blocks until at least one byte is here, the client closes its side
 * (0), or the connection breaks (-1). Then exactly the n bytes read go
 * back, not the whole buffer. Returns 0 at the client's end, -1 when the
 * connection broke or a stop was asked for (errno EINTR). */
static int echo(int fd, struct totals *totals)
{
    char buf[64 * 1024];

    while (!stop_requested) {
        ssize_t n = read(fd, buf, sizeof buf);
        trace_read(n, fd, "echo_read");
        if (n == 0)
            return 0;
        if (n < 0 && errno == EINTR)
            continue;  /* the loop's test decides: stop, or read again */
        if (n < 0 || write_back(fd, buf, (size_t)n) < 0)
            return -1;
        totals->bytes += (unsigned long long)n;
    }
    errno = EINTR;
    return -1;
}
/* endregion: echo */

/* region: serve-one */
/* A client that resets or vanishes ends only its own session: the server
 * hangs up and goes back to accept. */
static void serve_one(int fd, struct totals *totals)
{
    if (echo(fd, totals) < 0 && errno != EINTR)
        warn_msg("client dropped: %s", strerror(errno));
    totals->clients++;

    int rc = close(fd);
    trace(rc, NULL, "uv_close", "close(%d)", fd);
}
/* endregion: serve-one */

/* region: accept-loop */
/* One client at a time: nothing calls accept again until serve_one
 * returns, so a second client waits in the backlog meanwhile. */
static void serve_forever(int listen_fd, struct totals *totals)
{
    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;

        /* Blocks until a client has finished the TCP handshake, then
         * returns a new descriptor for that one connection. listen_fd
         * stays open for the next client. */
        int fd = accept(listen_fd, (struct sockaddr *)&peer, &len);
        trace_accept(fd, listen_fd, &peer);
        if (fd >= 0)
            serve_one(fd, totals);
        else
            after_accept_error(errno);  /* a signal, or a client gone */
    }
}
/* endregion: accept-loop */

/* region: ready-line */
/* With port 0 only the kernel knows which port we got: ask it. Then the
 * one line on stdout, flushed at once, since whoever waits for it may be
 * reading a pipe, which stdio would otherwise fill before sending. */
static void say_ready(int listen_fd)
{
    struct sockaddr_storage local;
    socklen_t len = sizeof local;
    char text[ADDR_TEXT_MAX] = "";

    int rc = getsockname(listen_fd, (struct sockaddr *)&local, &len);
    if (rc == 0)
        format_addr((struct sockaddr *)&local, text, sizeof text);
    trace(rc, text, "uv_tcp_getsockname", "getsockname(%d)", listen_fd);
    if (rc < 0)
        die_errno(EX_OSERR, "getsockname");
    printf("listening on %s\n", text);
    if (fflush(stdout) != 0)
        die_errno(EX_IOERR, "cannot announce the port");
}
/* endregion: ready-line */

/* region: main */
int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct sockaddr_storage addr;
    char where[ADDR_TEXT_MAX];
    struct totals totals = {0, 0};
    int one = 1;

    trace_init("echo-server", 0);
    parse_server_args(argc, argv, &args, usage, NULL, NULL, NULL);
    if (catch_stop_signals() < 0)
        die_errno(EX_OSERR, "sigaction");

    /* region: address */
    /* -b and PORT as a socket address: IPv4, IPv6 or a name (common/). */
    int rc = ip_addr(args.host, args.port, &addr);
    if (rc != 0)
        die_unresolved(args.host, rc, 1);
    struct sockaddr *sa = (struct sockaddr *)&addr;
    format_addr(sa, where, sizeof where);
    /* endregion: address */

    /* region: socket */
    /* A socket is only a descriptor until we give it an address. */
    int listen_fd = socket(sa->sa_family, SOCK_STREAM, 0);
    trace(listen_fd, NULL, "made in uv_tcp_bind (uv_tcp_init makes none)",
          "socket(%s, SOCK_STREAM, 0)", family_name(sa->sa_family));
    if (listen_fd < 0)
        die_errno(EX_OSERR, "socket");
    /* endregion: socket */

    /* region: reuseaddr */
    /* Without it, a restarted server cannot bind its port while the last
     * run's connections sit in TIME_WAIT (a minute). uv_tcp_bind sets it
     * for the same reason. */
    rc = setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    trace(rc, NULL, "set inside uv_tcp_bind", "setsockopt(%d, SO_REUSEADDR, 1)",
          listen_fd);
    if (rc < 0)
        die_errno(EX_OSERR, "setsockopt SO_REUSEADDR");
    /* endregion: reuseaddr */

    /* region: bind */
    /* bind claims the address and port; port 0 lets the kernel pick. */
    rc = bind(listen_fd, sa, addr_len(sa));
    trace(rc, NULL, uv_bind_twin(sa->sa_family), "bind(%d, %s)", listen_fd,
          where);
    if (rc < 0)
        die_errno(EX_OSERR, "bind %s", where);
    /* endregion: bind */

    /* region: listen */
    /* Now the kernel completes handshakes by itself and queues up to
     * DEFAULT_BACKLOG (128) connections until we accept them. */
    rc = listen(listen_fd, DEFAULT_BACKLOG);
    trace(rc, NULL, "uv_listen", "listen(%d, %d)", listen_fd, DEFAULT_BACKLOG);
    if (rc < 0)
        die_errno(EX_OSERR, "listen %s", where);
    /* endregion: listen */

    say_ready(listen_fd);
    serve_forever(listen_fd, &totals);

    /* region: stop */
    /* Ctrl-C: the handler set stop_requested and accept or read returned
     * EINTR. Close the listener, so new clients are refused, and report. */
    rc = close(listen_fd);
    trace(rc, NULL, "uv_close", "close(%d)", listen_fd);
    warn_msg("stopped: %lu client%s served, %llu bytes echoed",
             totals.clients, totals.clients == 1 ? "" : "s", totals.bytes);
    return 0;
    /* endregion: stop */
}
/* endregion: main */

/* echo_server.c - an iterative, blocking TCP echo server.
 *
 * The smallest honest server: one process, one client at a time. Every
 * system call it makes is here, in the order a learner meets them:
 *
 *   the address -> socket -> setsockopt -> bind -> listen -> getsockname
 *   loop: accept -> setsockopt (the -t timeouts)
 *         -> read / write until the client is done -> close
 *   stop: close the listener -> alarm (-g) -> the client finishes, or
 *         setsockopt (SO_LINGER) + close resets it
 *
 * While one client is being served, the next waits in the listen backlog:
 * its connect has succeeded (the kernel did the handshake), but nobody reads
 * what it sends. That wait is what bin/echo-server-fork removes. Since the
 * client being served holds the only slot, -t (idle timeout) matters most
 * here: it ends a client that sends nothing, or reads none of its echo.
 *
 * With -v each call is traced (trace.h), with the libuv call that plays the
 * same part; the libuv version of this file is libuv/uv_echo_server.c.
 *
 * Usage: echo-server [-h] [-v] [-c 1] [-t SECONDS] [-g SECONDS] [-b ADDR]
 *                    [PORT]
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "echo.h"
#include "fail.h"
#include "signals.h"
#include "sockets.h"
#include "trace.h"

static const char usage[] =
    "[-h] [-v] [-c 1] [-t SECONDS] [-g SECONDS] [-b ADDR] [PORT]\n"
    "  Echo every byte back to one client at a time.\n"
    "  -c 1        clients at once: always 1 here; the next waits in the "
    "backlog\n"
    "  -t SECONDS  drop the client when a read waits this long for a byte, "
    "or a\n"
    "              write this long for room, 0-86400, 0 = never (default "
    "300)\n"
    "  -g SECONDS  on Ctrl-C, let the client finish this long, then reset "
    "it,\n"
    "              0-3600 (default 2); a second Ctrl-C resets it at once\n"
    "  -b ADDR     address to listen on (default 127.0.0.1; :: or 0.0.0.0 "
    "for all)\n"
    "  -v          trace each system call with its libuv counterpart\n"
    "  PORT        0-65535, default 7000; 0 lets the kernel choose";

struct server {
    int listen_fd;           /* -1 once a stop has closed it */
    long idle_seconds;       /* -t, 0 = never */
    long grace_seconds;      /* -g */
    unsigned long clients;   /* served, cut off or not */
    unsigned long cut_off;   /* reset by a stop */
    long long bytes;         /* written back: what write() took, less what
                                a reset threw away unsent */
};

static const char *on_option(int letter, const char *arg, void *ctx)
{
    struct server *srv = ctx;
    long one;

    if (letter == 'c')
        return parse_long_in(arg, 1, 1, &one) == 0
                   ? NULL : "1: this server serves one client at a time "
                            "(echo-server-fork and echo-server-poll take more)";
    if (letter == 't')
        return parse_long_in(arg, 0, 86400, &srv->idle_seconds) == 0
                   ? NULL : "a number of seconds from 0 (never) to 86400";
    return parse_long_in(arg, 0, 3600, &srv->grace_seconds) == 0
               ? NULL : "a number of seconds from 0 to 3600";
}

/* region: stop-accepting */
/* The first Ctrl-C. Close the listener: from now on a connect is refused,
 * and the clients queued in the backlog get a reset. The client being
 * served may finish, for -g seconds: alarm raises SIGALRM then, and its
 * handler (signals.c) turns the stop into "now". */
static void stop_accepting(struct server *srv, int client_in_flight)
{
    if (srv->listen_fd < 0)
        return;  /* done already */
    int rc = close(srv->listen_fd);
    trace(rc, "no new clients", "uv_close", "close(%d)", srv->listen_fd);
    srv->listen_fd = -1;
    if (!client_in_flight)
        return;
    if (srv->grace_seconds == 0) {
        stop_requested = STOP_NOW;  /* -g 0: no grace at all */
        return;
    }
    unsigned left = alarm((unsigned)srv->grace_seconds);
    trace(left, "the client may finish until then",
          "uv_timer_start(grace, g * 1000, 0)", "alarm(%ld)",
          srv->grace_seconds);
}

/* Asked before each call that may block: serve on? A first stop closes the
 * listener and starts the grace period; a second stop, or the end of the
 * grace period, says no. */
static int keep_serving(struct server *srv)
{
    if (stop_requested == STOP_FINISH)
        stop_accepting(srv, 1);
    return stop_requested != STOP_NOW;
}
/* endregion: stop-accepting */

/* region: write-back */
/* write may take only part of the buffer when the socket's send buffer is
 * full; the rest is still ours to send, so we go round until it is all out.
 * Every byte write takes is counted at once. Returns 0, or -1 with errno:
 * EAGAIN when no room came for -t seconds (the client reads nothing), EINTR
 * for a stop that cannot wait, or what broke the connection. */
static int write_back(int fd, const char *buf, size_t n, struct server *srv)
{
    size_t sent = 0;

    while (sent < n) {
        if (!keep_serving(srv)) {
            errno = EINTR;
            return -1;
        }
        ssize_t w = write(fd, buf + sent, n - sent);
        trace_write(w, fd, n - sent);
        if (w < 0 && errno == EINTR)
            continue;  /* a signal: keep_serving decides */
        if (w < 0)
            return -1;
        sent += (size_t)w;
        srv->bytes += w;
    }
    return 0;
}
/* endregion: write-back */

/* region: echo */
/* read blocks until at least one byte is here, the client closes its side
 * (0), the connection breaks (-1), or -t runs out (-1, EAGAIN). Then
 * exactly the n bytes read go back, not the whole buffer. */
static enum echo_end echo(int fd, struct server *srv)
{
    char buf[64 * 1024];

    while (keep_serving(srv)) {
        ssize_t n = read(fd, buf, sizeof buf);
        trace_read(n, fd, "echo_read");
        if (n == 0)
            return ECHO_PEER_CLOSED;
        if (n < 0 && errno == EINTR)
            continue;  /* a signal: keep_serving decides */
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? ECHO_IDLE
                                                           : ECHO_BROKEN;
        if (write_back(fd, buf, (size_t)n, srv) < 0)
            return errno == EINTR ? ECHO_CUT_OFF
                   : errno == EAGAIN || errno == EWOULDBLOCK
                       ? ECHO_NOT_READING
                       : ECHO_BROKEN;
    }
    return ECHO_CUT_OFF;
}
/* endregion: echo */

/* region: timeouts */
/* -t. With SO_RCVTIMEO a read that waits this long for a byte fails with
 * EAGAIN; with SO_SNDTIMEO so does a write that waits this long for room,
 * which happens only when the client reads none of its echo. Each call
 * starts its own clock: a client that trickles a byte now and then is
 * never idle. libuv has no such option: a uv_timer_t does the job. */
static void set_timeouts(int fd, long seconds)
{
    struct timeval limit = {seconds, 0};

    if (seconds == 0)
        return;  /* -t 0: wait for ever */
    int rc = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    trace(rc, NULL, "a uv_timer_t, started again by each read",
          "setsockopt(%d, SO_RCVTIMEO, %lds)", fd, seconds);
    if (rc == 0)
        rc = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    trace(rc, NULL, "the same timer, while writes wait",
          "setsockopt(%d, SO_SNDTIMEO, %lds)", fd, seconds);
    if (rc < 0)
        warn_msg("setsockopt SO_RCVTIMEO/SO_SNDTIMEO: %s (no -t for this "
                 "client)", strerror(errno));
}
/* endregion: timeouts */

/* region: reset */
/* Cutting a client off mid-echo. A plain close would send FIN after the
 * bytes already queued, and the client would see a normal end of file
 * after half its echo. SO_LINGER {1, 0} makes close send RST instead and
 * throw away what is still unsent: the client's read fails with
 * ECONNRESET, so it knows. Those unsent bytes never reach it, so they come
 * off the count (short by the few the kernel may still send between the
 * two calls, if the client is reading just then). */
static void reset_client(int fd, struct server *srv)
{
    struct linger now = {1, 0};

    srv->bytes -= unsent_bytes(fd);
    int rc = setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
    trace(rc, NULL, "uv_tcp_close_reset sets the same",
          "setsockopt(%d, SO_LINGER, {1, 0})", fd);
    rc = close(fd);
    trace(rc, "RST sent", "uv_tcp_close_reset -> uv_close", "close(%d)", fd);
}
/* endregion: reset */

/* region: serve-one */
/* How the session ended decides how we hang up: a normal close when every
 * byte the client sent went back to it, a reset when not. A client that
 * resets or vanishes ends only its own session: the server goes back to
 * accept. */
static void serve_one(int fd, struct server *srv)
{
    set_timeouts(fd, srv->idle_seconds);
    enum echo_end end = echo(fd, srv);
    srv->clients++;

    if (end == ECHO_CUT_OFF || end == ECHO_NOT_READING) {
        if (end == ECHO_CUT_OFF)
            srv->cut_off++;
        else
            trace_note("fd %d read none of its echo for %lds (-t): reset",
                       fd, srv->idle_seconds);
        reset_client(fd, srv);
        return;
    }
    if (end == ECHO_IDLE)
        trace_note("fd %d sent nothing for %lds (-t): closing", fd,
                   srv->idle_seconds);
    else if (end == ECHO_BROKEN)
        warn_msg("client dropped: %s", strerror(errno));
    int rc = close(fd);
    trace(rc, NULL, "uv_close", "close(%d)", fd);
}
/* endregion: serve-one */

/* region: accept-loop */
/* One client at a time: nothing calls accept again until serve_one
 * returns, so a second client waits in the backlog meanwhile. */
static void serve_forever(struct server *srv)
{
    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;

        /* Blocks until a client has finished the TCP handshake, then
         * returns a new descriptor for that one connection. listen_fd
         * stays open for the next client. */
        int fd = accept(srv->listen_fd, (struct sockaddr *)&peer, &len);
        trace_accept(fd, srv->listen_fd, &peer);
        if (fd >= 0)
            serve_one(fd, srv);
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
    struct server srv = {-1, DEFAULT_IDLE_SECONDS, DEFAULT_GRACE_SECONDS,
                         0, 0, 0};
    int one = 1;

    trace_init("echo-server", 0);
    parse_server_args(argc, argv, &args, usage, "c:t:g:", on_option, &srv);
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
    srv.listen_fd = listen_fd;
    serve_forever(&srv);

    /* region: stop */
    /* Ctrl-C: the handler set stop_requested and accept or read returned
     * EINTR. If the stop found us in accept, the listener is still open:
     * close it, so new clients are refused. Then report: the bytes the
     * clients really got, and how many the stop cut off. */
    stop_accepting(&srv, 0);
    warn_msg("stopped: %lu client%s served, %lld bytes written back, %lu cut "
             "off by the stop", srv.clients, srv.clients == 1 ? "" : "s",
             srv.bytes, srv.cut_off);
    return 0;
    /* endregion: stop */
}
/* endregion: main */

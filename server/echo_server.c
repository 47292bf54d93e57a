/* echo_server.c - an iterative, blocking TCP echo server.
 *
 * The smallest honest server: one process, one client at a time.
 *
 *   socket -> setsockopt -> bind -> listen      (open_listener, common/)
 *   loop: accept -> read/write until EOF -> close
 *
 * While one client is being served, the next waits in the listen backlog:
 * its connect has succeeded (the kernel did the handshake), but nobody reads
 * what it sends. That wait is what bin/echo-server-fork removes.
 *
 * Usage: echo-server [-h] [-v] [-b ADDR] [PORT]
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "echo.h"
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

/* region: serve-one */
/* Echo until the client is done, then hang up. A client that resets or
 * vanishes ends only its own session: the server goes back to accept. */
static void serve_one(int fd, struct totals *totals)
{
    enum echo_end end = echo_connection(fd, &totals->bytes);
    if (end == ECHO_BROKEN)
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
        int fd = accept_client(listen_fd, &peer);
        if (fd >= 0)
            serve_one(fd, totals);
    }
}
/* endregion: accept-loop */

/* region: main */
int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct sockaddr_storage addr;
    struct totals totals = {0, 0};

    trace_init("echo-server", 0);
    parse_server_args(argc, argv, &args, usage, NULL, NULL, NULL);
    if (catch_stop_signals() < 0)
        die(EX_OSERR, "sigaction: %s", strerror(errno));

    int rc = ip_addr(args.host, args.port, &addr);
    if (rc != 0)
        die_unresolved(args.host, rc, 1);

    int listen_fd = open_listener(&addr, DEFAULT_BACKLOG);
    if (say_listening(listen_fd) < 0)
        die(EX_IOERR, "cannot announce the port: %s", strerror(errno));

    serve_forever(listen_fd, &totals);

    rc = close(listen_fd);
    trace(rc, NULL, "uv_close", "close(%d)", listen_fd);
    warn_msg("stopped: %lu client%s served, %llu bytes echoed",
             totals.clients, totals.clients == 1 ? "" : "s", totals.bytes);
    return 0;
}
/* endregion: main */

/* echo_client.c - a blocking TCP echo client.
 *
 * Every system call it makes on the socket is here, in the order a learner
 * meets them:
 *
 *   getaddrinfo -> socket -> connect      (each address in turn)
 *   loop: read stdin -> write to the server -> read the echo -> stdout
 *   end of input: shutdown(SHUT_WR) -> read until the server closes -> close
 *
 * Stop-and-wait: each chunk goes out and comes all the way back before the
 * next is read, so the output is exactly the input, byte for byte.
 *
 * With -v each call is traced, with the libuv call that plays the same
 * part; the libuv version of this file is libuv/uv_echo_client.c.
 *
 * Usage: echo-client [-h] [-v] [HOST [PORT]]
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "fail.h"
#include "io.h"
#include "signals.h"
#include "trace.h"

static const char usage[] =
    "[-h] [-v] [HOST [PORT]]\n"
    "  Send standard input to an echo server and print what comes back.\n"
    "  -v    trace each system call with its libuv counterpart\n"
    "  HOST  name or address (default 127.0.0.1), or HOST:PORT / "
    "[V6ADDR]:PORT; a lone number is the PORT\n"
    "  PORT  0-65535, default 7000";

#define CHUNK (64 * 1024)

/* region: connect */
/* A name may have several addresses (localhost: ::1 and 127.0.0.1). Ask
 * getaddrinfo for all of them and try each, in the order it prefers, until
 * one answers, as every well-behaved client does. */
static int connect_to_server(const char *host, uint16_t port)
{
    struct addrinfo hints = {0}, *list;
    char service[8], where[ADDR_TEXT_MAX] = "";
    int err = 0;

    hints.ai_family = AF_UNSPEC;      /* IPv4 or IPv6, whatever host names */
    hints.ai_socktype = SOCK_STREAM;  /* TCP */
    hints.ai_flags = AI_NUMERICSERV;  /* the port is a number already */
    snprintf(service, sizeof service, "%u", (unsigned)port);
    int rc = getaddrinfo(host, service, &hints, &list);
    if (rc != 0)
        die_unresolved(host, rc, 0);

    for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        format_addr(ai->ai_addr, where, sizeof where);
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        trace(fd, NULL, "made in uv_tcp_connect (uv_tcp_init makes none)",
              "socket(%s, SOCK_STREAM, 0)", family_name(ai->ai_family));
        if (fd < 0) {
            err = errno;
            continue;
        }
        /* The three-way handshake: connect blocks until it is over. */
        rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        trace(rc, NULL, "uv_tcp_connect + on_connect", "connect(%d, %s)", fd,
              where);
        if (rc == 0) {
            freeaddrinfo(list);
            return fd;
        }
        err = errno;
        rc = close(fd);  /* this address failed: the next gets a new socket */
        trace(rc, NULL, "uv_close", "close(%d)", fd);
    }
    freeaddrinfo(list);
    errno = err;
    die(connect_exit_code(err), "connect %s: %s%s", where, strerror(err),
        errno_hint(err));
}
/* endregion: connect */

/* region: round-trip */
/* Send one chunk and wait until all of it has come back. */
static void round_trip(int fd, const char *out, size_t n, char *back)
{
    /* write may take only part of it when the socket's send buffer is
     * full; the rest is still ours to send. */
    for (size_t sent = 0; sent < n;) {
        ssize_t w = write(fd, out + sent, n - sent);
        trace_write(w, fd, n - sent);
        if (w < 0)
            die_errno(EX_IOERR, "write to server");
        sent += (size_t)w;
    }
    /* TCP is a byte stream, not messages: the echo of one write may come
     * back in several reads. Read until all n bytes are here. */
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, back + got, n - got);
        trace_read(r, fd, "on_read");
        if (r < 0)
            die_errno(EX_IOERR, "read from server");
        if (r == 0)
            die(EX_IOERR, "the server closed the connection after %zu of %zu "
                "bytes came back", got, n);
        got += (size_t)r;
    }
}
/* endregion: round-trip */

/* region: echo-stdin */
static void echo_stdin(int fd)
{
    static char out[CHUNK], back[CHUNK];

    for (;;) {
        /* From a terminal, read returns one line as soon as Enter is
         * pressed, so each line is echoed as it is typed. */
        ssize_t n = read(STDIN_FILENO, out, sizeof out);
        trace(n, n == 0 ? "end of input" : NULL,
              "uv_read_start(stdin) callback", "read(0)");
        if (n < 0)
            die_errno(EX_IOERR, "read standard input");
        if (n == 0)
            return;
        round_trip(fd, out, (size_t)n, back);
        if (write_all(STDOUT_FILENO, back, (size_t)n) < 0)
            die_errno(EX_IOERR, "write standard output");
    }
}
/* endregion: echo-stdin */

/* region: finish */
/* Half-close: tell the server we have nothing more to send (its read
 * returns 0) while we can still read. Then read until it closes too, so no
 * byte still on its way is lost, and only then close. */
static void finish(int fd)
{
    char rest[CHUNK];
    ssize_t n;

    int rc = shutdown(fd, SHUT_WR);
    trace(rc, NULL, "uv_shutdown", "shutdown(%d, SHUT_WR)", fd);
    if (rc < 0 && errno != ENOTCONN)  /* ENOTCONN: reset; the read says so */
        die_errno(EX_IOERR, "shutdown");

    while ((n = read(fd, rest, sizeof rest)) > 0) {
        trace(n, "more than we sent", "on_read", "read(%d)", fd);
        if (write_all(STDOUT_FILENO, rest, (size_t)n) < 0)
            die_errno(EX_IOERR, "write standard output");
    }
    trace_read(n, fd, "on_read");
    if (n < 0)
        die_errno(EX_IOERR, "read from server");

    rc = close(fd);
    trace(rc, NULL, "uv_close", "close(%d)", fd);
}
/* endregion: finish */

/* region: main */
int main(int argc, char **argv)
{
    struct endpoint_args args;

    trace_init("echo-client", 0);
    parse_client_args(argc, argv, &args, usage, NULL, NULL, NULL);
    /* A server that vanishes must give us EPIPE from write, which we
     * report, not a silent death by SIGPIPE. */
    if (ignore_sigpipe() < 0)
        die_errno(EX_OSERR, "sigaction");

    int fd = connect_to_server(args.host, args.port);
    echo_stdin(fd);
    finish(fd);
    return 0;
}
/* endregion: main */

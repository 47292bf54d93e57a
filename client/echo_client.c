/* echo_client.c - a blocking TCP echo client.
 *
 *   socket -> connect        (connect_to, common/)
 *   loop: read stdin -> write to the server -> read the echo -> stdout
 *   end of input: shutdown(SHUT_WR) -> read until the server closes -> close
 *
 * Stop-and-wait: each chunk goes out and comes all the way back before the
 * next is read, so the output is exactly the input, byte for byte.
 *
 * Usage: echo-client [-h] [-v] [HOST [PORT]]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "fail.h"
#include "io.h"
#include "signals.h"
#include "sockets.h"
#include "trace.h"

static const char usage[] =
    "[-h] [-v] [HOST [PORT]]\n"
    "  Send standard input to an echo server and print what comes back.\n"
    "  -v    trace each system call with its libuv counterpart\n"
    "  HOST  name or address, default 127.0.0.1; PORT default 7000";

#define CHUNK (64 * 1024)

/* region: round-trip */
/* Send one chunk and wait until all of it has come back. TCP may return
 * the echo in smaller pieces than we sent; read_full collects them. */
static void round_trip(int fd, const char *out, size_t n, char *back)
{
    int rc = write_all(fd, out, n);
    trace(rc == 0 ? (long)n : -1, NULL, "uv_write", "write(%d, %zu)", fd, n);
    if (rc < 0)
        die(EX_IOERR, "write to server: %s", strerror(errno));

    ssize_t got = read_full(fd, back, n);
    trace(got, NULL, "on_read (uv_read_start callback)", "read(%d, %zu)", fd,
          n);
    if (got < 0)
        die(EX_IOERR, "read from server: %s", strerror(errno));
    if ((size_t)got < n)
        die(EX_IOERR, "the server closed the connection after %zd of %zu "
            "bytes came back", got, n);
}
/* endregion: round-trip */

/* region: echo-stdin */
static void echo_stdin(int fd)
{
    static char out[CHUNK], back[CHUNK];

    for (;;) {
        /* From a terminal, read returns one line as soon as Enter is
         * pressed, so each line is echoed as it is typed. */
        ssize_t n = read_some(STDIN_FILENO, out, sizeof out);
        trace(n, n == 0 ? "end of input" : NULL,
              "uv_read_start(stdin) callback", "read(0)");
        if (n < 0)
            die(EX_IOERR, "read standard input: %s", strerror(errno));
        if (n == 0)
            return;
        round_trip(fd, out, (size_t)n, back);
        if (write_all(STDOUT_FILENO, back, (size_t)n) < 0)
            die(EX_IOERR, "write standard output: %s", strerror(errno));
    }
}
/* endregion: echo-stdin */

/* region: finish */
/* Half-close: tell the server we have nothing more to send (it reads EOF)
 * while we can still read. Then wait for its close, so no byte is lost. */
static void finish(int fd)
{
    char rest[CHUNK];
    ssize_t n;

    int rc = shutdown(fd, SHUT_WR);
    trace(rc, NULL, "uv_shutdown", "shutdown(%d, SHUT_WR)", fd);
    if (rc < 0)
        die(EX_IOERR, "shutdown: %s", strerror(errno));

    while ((n = read_some(fd, rest, sizeof rest)) > 0) {
        trace(n, "more than we sent", "on_read", "read(%d)", fd);
        if (write_all(STDOUT_FILENO, rest, (size_t)n) < 0)
            die(EX_IOERR, "write standard output: %s", strerror(errno));
    }
    trace(n, n == 0 ? "server closed" : NULL, "on_read, nread = UV_EOF",
          "read(%d)", fd);
    if (n < 0)
        die(EX_IOERR, "read from server: %s", strerror(errno));

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
        die(EX_OSERR, "sigaction: %s", strerror(errno));

    /* With standard input closed, the socket would be given descriptor 0
     * and we would read our own connection as input. */
    if (fcntl(STDIN_FILENO, F_GETFD) < 0)
        die(EX_IOERR, "read standard input: %s", strerror(errno));

    int fd = connect_to(args.host, args.port);
    echo_stdin(fd);
    finish(fd);
    return 0;
}
/* endregion: main */

/* half_close.c - exercise 2: the client's half-close.
 *
 * An echo client that sends its standard input to the server and prints
 * what comes back. Unlike bin/echo-client it does not stop and wait: it
 * reads, sends and receives at once, with poll (lesson 05 explains poll;
 * here it only lets one process watch its input and its socket together),
 * so any amount of input goes through without the deadlock of lesson 02,
 * step 2.
 *
 * All of it works except the end. When the input runs out, the client
 * stops sending and waits for the rest of the echo, and the server waits
 * for more bytes from the client. Nobody moves: the client hangs, on every
 * input. The server has to be told that no more bytes will come, without
 * cutting off the echo still on its way back:
 *
 *   TODO  at the end of the input: the half-close, shutdown(fd, SHUT_WR)
 *
 * `make exercise 2` builds your copy and checks it; by hand, with
 * bin/echo-server running in another terminal:
 *
 *   printf 'hello\n' | build/exercises/02-half-close -v
 *   head -c 3000000 /dev/urandom | build/exercises/02-half-close | wc -c
 *
 * Usage: half-close [-h] [-v] [HOST [PORT]]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
    "  Exercise 2: send standard input to an echo server, print what comes "
    "back.\n"
    "  -v    trace each system call\n"
    "  HOST  name or address (default 127.0.0.1), or HOST:PORT; a lone "
    "number is the PORT\n"
    "  PORT  0-65535, default 7000";

#define CHUNK (64 * 1024)

int main(int argc, char **argv)
{
    struct endpoint_args args;
    static char out[CHUNK], back[CHUNK];
    size_t out_len = 0;   /* input read; out[sent..out_len) is not sent yet */
    size_t sent = 0;
    int input_done = 0;   /* read(0) returned 0 */

    trace_init("half-close", 0);
    parse_client_args(argc, argv, &args, usage, NULL, NULL, NULL);
    /* A server that has gone must give us EPIPE from write, not kill us. */
    if (ignore_sigpipe() < 0)
        die_errno(EX_OSERR, "sigaction");

    /* getaddrinfo, socket, connect: lesson 02, step 1 (in common/). */
    int fd = connect_to(args.host, args.port);
    /* Non-blocking: a write takes what fits and returns at once, so the
     * loop below never sleeps anywhere but in poll. */
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
        die_errno(EX_OSERR, "fcntl O_NONBLOCK");

    for (;;) {
        /* Read more input only when all of the last piece has gone out
         * (a descriptor of -1 is skipped by poll); send while some waits;
         * always listen for the echo. */
        int want_input = !input_done && out_len == 0;
        struct pollfd p[2] = {
            {.fd = want_input ? STDIN_FILENO : -1, .events = POLLIN,
             .revents = 0},
            {.fd = fd, .events = (short)(POLLIN | (out_len > 0 ? POLLOUT : 0)),
             .revents = 0},
        };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            die_errno(EX_OSERR, "poll");
        }

        /* The echo: print it. read returns 0 once the server has closed
         * its side, which it does after our end of input: then every byte
         * is back. */
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
            ssize_t n = read(fd, back, sizeof back);
            trace_read(n, fd, "on_read");
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                die_errno(EX_IOERR, "read from server");
            if (n == 0 && !input_done)
                die(EX_IOERR, "the server closed the connection before the "
                    "end of the input");
            if (n == 0)
                break;
            if (n > 0 && write_all(STDOUT_FILENO, back, (size_t)n) < 0)
                die_errno(EX_IOERR, "write standard output");
        }

        /* Room in the socket: send what waits. */
        if (p[1].revents & POLLOUT) {
            ssize_t w = write(fd, out + sent, out_len - sent);
            trace_write(w, fd, out_len - sent);
            if (w < 0 && errno != EAGAIN && errno != EINTR)
                die_errno(EX_IOERR, "write to server");
            if (w > 0)
                sent += (size_t)w;
            if (sent == out_len)
                sent = out_len = 0;  /* all out: ready for more input */
        }

        /* More input. Only read when nothing waits to be sent, so at the
         * end of the input every byte of it has gone to the server. */
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(STDIN_FILENO, out, sizeof out);
            trace(n, n == 0 ? "end of input" : NULL, NULL, "read(0)");
            if (n < 0 && errno != EINTR)
                die_errno(EX_IOERR, "read standard input");
            if (n > 0)
                out_len = (size_t)n;
            if (n == 0) {
                input_done = 1;
                /* TODO (lesson 02, step 4): the input is over and all of it
                 * has gone to the server. Tell the server so: it is waiting
                 * in read, and only an end of file (a FIN) will make its
                 * read return 0, so that it closes its side in turn.
                 *
                 * But keep this socket open for reading: the echo of the
                 * last bytes may still be on its way back, and the loop
                 * must go on reading until read returns 0. close(fd) here
                 * would throw that echo away. The call that closes one
                 * direction only is shutdown(fd, SHUT_WR). Check its result
                 * (on -1: die_errno(EX_IOERR, "shutdown")).
                 */
            }
        }
    }

    int rc = close(fd);
    trace(rc, NULL, NULL, "close(%d)", fd);
    return 0;
}

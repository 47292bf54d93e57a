/* listener.c - exercise 1: the listening socket and the accept loop.
 *
 * This is lesson 01's iterative echo server with its heart taken out. What
 * is here already: the command line (-v, -b ADDR, PORT), the address it
 * names, the ready line, the echo of one client, and a clean stop on
 * Ctrl-C. What is missing is what makes a server a server:
 *
 *   TODO 1  socket -> setsockopt(SO_REUSEADDR) -> bind -> listen
 *   TODO 2  the accept loop: accept -> echo -> close, and round again
 *
 * As it stands it builds and runs, and stops at once: it has no socket to
 * announce. `make exercise 1` builds your copy and checks it; by hand:
 *
 *   build/exercises/01-listener -v 0        (terminal 1: prints its port)
 *   printf 'hi\n' | bin/echo-client PORT    (terminal 2)
 *
 * Usage: listener [-h] [-v] [-b ADDR] [PORT]
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "fail.h"
#include "io.h"
#include "signals.h"
#include "sockets.h"
#include "trace.h"

static const char usage[] =
    "[-h] [-v] [-b ADDR] [PORT]\n"
    "  Exercise 1: echo every byte back to one client at a time.\n"
    "  -b ADDR  address to listen on (default 127.0.0.1)\n"
    "  -v       trace each system call\n"
    "  PORT     0-65535, default 7000; 0 lets the kernel choose";

/* Echo one client: read what arrives and write all of it back, until the
 * client closes its side (read returns 0), the connection breaks (-1), or
 * a stop is asked for. Lesson 01, step 6. Does not close fd. */
static void echo(int fd)
{
    char buf[64 * 1024];

    while (!stop_requested) {
        ssize_t n = read(fd, buf, sizeof buf);
        trace_read(n, fd, "echo_read");
        if (n < 0 && errno == EINTR)
            continue;  /* the loop's test decides: stop, or read again */
        if (n <= 0)
            return;
        int rc = write_all(fd, buf, (size_t)n);  /* however many writes */
        trace(rc == 0 ? n : -1, NULL, "uv_write", "write(%d, %zd)", fd, n);
        if (rc < 0)
            return;
    }
}

int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct sockaddr_storage addr;
    char where[ADDR_TEXT_MAX];
    unsigned long clients = 0;
    int listen_fd = -1;

    trace_init("listener", 0);
    parse_server_args(argc, argv, &args, usage, NULL, NULL, NULL);
    /* Ctrl-C sets stop_requested and makes a blocked accept or read
     * return -1 with errno EINTR. */
    if (catch_stop_signals() < 0)
        die_errno(EX_OSERR, "sigaction");

    /* -b and PORT as a socket address (IPv4 or IPv6) in addr; sa points at
     * it as the generic struct sockaddr the socket calls take. */
    int rc = ip_addr(args.host, args.port, &addr);
    if (rc != 0)
        die_unresolved(args.host, rc, 1);
    struct sockaddr *sa = (struct sockaddr *)&addr;
    format_addr(sa, where, sizeof where);

    /* TODO 1 (lesson 01, steps 1 to 4): make listen_fd a listening socket.
     *
     *   socket      a stream socket of the address's own family
     *               (sa->sa_family: AF_INET for 127.0.0.1, AF_INET6 for ::1)
     *   setsockopt  SO_REUSEADDR set to 1, before bind, so that a restarted
     *               server can bind its port at once
     *   bind        to sa; addr_len(sa) is its length
     *   listen      with DEFAULT_BACKLOG
     *
     * Check each result: on -1, stop with one line that names the call,
     * e.g. die_errno(EX_OSERR, "bind %s", where). trace(rc, NULL, NULL,
     * "bind(%d, %s)", listen_fd, where) shows a call under -v (optional).
     */

    if (say_listening(listen_fd) < 0)
        die_errno(EX_OSERR, "cannot announce the port (is listen_fd a "
                  "listening socket yet? see TODO 1)");

    /* TODO 2 (lesson 01, steps 5 and 7): serve clients, one after another,
     * until stop_requested is set.
     *
     *   accept      waits for the next client and returns a new descriptor
     *               for that one connection (listen_fd stays as it is)
     *   echo(fd)    serves that client until it is done
     *   close(fd)   and hang up; count it in `clients`
     *
     * accept may return -1: pass errno to after_accept_error (common/), which
     * ignores a signal (EINTR) and a client that gave up while queued, and
     * go round the loop again.
     */
    (void)echo;  /* unused until your loop calls it: delete this line then */

    /* Ctrl-C: close the listener, so new clients are refused, and report. */
    rc = close(listen_fd);
    trace(rc, NULL, NULL, "close(%d)", listen_fd);
    warn_msg("stopped: %lu client%s served", clients,
             clients == 1 ? "" : "s");
    return 0;
}

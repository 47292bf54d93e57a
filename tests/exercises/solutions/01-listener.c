/* 01-listener.c - the reference solution of exercise 1 (the listener).
 *
 * lessons/exercises/01-listener/listener.c with its two TODOs done. The
 * suite checks that this file passes every check of `make exercise 1` and
 * that the starting file does not, so neither can rot. Kept under tests/,
 * away from the exercise, so that a learner meets it only on purpose.
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

    /* TODO 1: socket -> setsockopt -> bind -> listen. */
    listen_fd = socket(sa->sa_family, SOCK_STREAM, 0);
    trace(listen_fd, NULL, NULL, "socket(%s, SOCK_STREAM, 0)",
          family_name(sa->sa_family));
    if (listen_fd < 0)
        die_errno(EX_OSERR, "socket");

    int one = 1;
    rc = setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    trace(rc, NULL, NULL, "setsockopt(%d, SO_REUSEADDR, 1)", listen_fd);
    if (rc < 0)
        die_errno(EX_OSERR, "setsockopt SO_REUSEADDR");

    rc = bind(listen_fd, sa, addr_len(sa));
    trace(rc, NULL, NULL, "bind(%d, %s)", listen_fd, where);
    if (rc < 0)
        die_errno(EX_OSERR, "bind %s", where);

    rc = listen(listen_fd, DEFAULT_BACKLOG);
    trace(rc, NULL, NULL, "listen(%d, %d)", listen_fd, DEFAULT_BACKLOG);
    if (rc < 0)
        die_errno(EX_OSERR, "listen %s", where);

    if (say_listening(listen_fd) < 0)
        die_errno(EX_OSERR, "cannot announce the port (is listen_fd a "
                  "listening socket yet? see TODO 1)");

    /* TODO 2: the accept loop. */
    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;

        int fd = accept(listen_fd, (struct sockaddr *)&peer, &len);
        trace_accept(fd, listen_fd, &peer);
        if (fd < 0) {
            after_accept_error(errno);
            continue;
        }
        echo(fd);
        clients++;
        rc = close(fd);
        trace(rc, NULL, NULL, "close(%d)", fd);
    }

    /* Ctrl-C: close the listener, so new clients are refused, and report. */
    rc = close(listen_fd);
    trace(rc, NULL, NULL, "close(%d)", listen_fd);
    warn_msg("stopped: %lu client%s served", clients,
             clients == 1 ? "" : "s");
    return 0;
}

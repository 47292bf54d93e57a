/* 05-partial-writes.c - the reference solution of exercise 5 (partial
 * writes).
 *
 * lessons/exercises/05-partial-writes/partial_writes.c with its four TODOs
 * done. The suite checks that this file passes every check of `make
 * exercise 5` and that the starting file does not.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
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
    "  Exercise 5: echo to many clients at once from one poll() loop.\n"
    "  -b ADDR  address to listen on (default 127.0.0.1)\n"
    "  -v       trace each system call\n"
    "  PORT     0-65535, default 7000; 0 lets the kernel choose";

#define READ_CHUNK (64 * 1024)
#define LISTENER 0  /* slot 0 of the poll array; clients follow */

/* What the server keeps for one client between two wake-ups. */
struct client {
    char *out;        /* echo the socket has not taken yet (NULL: none) */
    size_t out_start; /* first byte still to send */
    size_t out_end;   /* one past the last */
    size_t out_cap;   /* bytes allocated at out */
    int peer_done;    /* read gave 0: the client sends nothing more */
};

struct server {
    struct pollfd *fds;      /* what poll watches, one slot per socket */
    struct client *clients;  /* clients[i] goes with fds[i] */
    size_t used, cap;
};

static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    int rc = flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    trace(rc, NULL, NULL, "fcntl(%d, F_SETFL, O_NONBLOCK)", fd);
    return rc;
}

static void add_slot(struct server *s, int fd)
{
    if (s->used == s->cap) {
        size_t cap = s->cap == 0 ? 16 : s->cap * 2;
        struct pollfd *fds = realloc(s->fds, cap * sizeof *fds);
        if (fds == NULL)
            die(EX_OSERR, "out of memory for %zu poll slots", cap);
        s->fds = fds;
        struct client *clients = realloc(s->clients, cap * sizeof *clients);
        if (clients == NULL)
            die(EX_OSERR, "out of memory for %zu clients", cap);
        s->clients = clients;
        s->cap = cap;
    }
    s->fds[s->used] = (struct pollfd){.fd = fd, .events = POLLIN,
                                      .revents = 0};
    s->clients[s->used] = (struct client){.out = NULL};
    s->used++;
}

/* The listener is readable: take every client waiting, until EAGAIN. */
static void accept_clients(struct server *s)
{
    for (;;) {
        int fd = accept(s->fds[LISTENER].fd, NULL, NULL);
        trace(fd, NULL, NULL, "accept(%d)", s->fds[LISTENER].fd);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                warn_msg("accept: %s", strerror(errno));
            return;
        }
        if (set_nonblocking(fd) < 0) {
            close(fd);
            continue;
        }
        add_slot(s, fd);
    }
}

/* Keep n bytes for later, behind any already waiting, so that the echo
 * stays in order. Grows c->out as needed. */
static void queue_output(struct client *c, const char *data, size_t n)
{
    if (c->out_start == c->out_end)
        c->out_start = c->out_end = 0;  /* empty: start again at the front */
    if (c->out_end + n > c->out_cap) {
        size_t cap = c->out_cap == 0 ? READ_CHUNK : c->out_cap;
        while (cap < c->out_end + n)
            cap *= 2;
        char *out = realloc(c->out, cap);
        if (out == NULL)
            die(EX_OSERR, "out of memory for %zu bytes of echo", cap);
        c->out = out;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_end, data, n);
    c->out_end += n;
}

/* The client sent something: read one chunk and echo it. Returns 0, or -1
 * when the client is gone (the caller closes it). */
static int read_and_echo(struct server *s, size_t i)
{
    static char buf[READ_CHUNK];
    struct client *c = &s->clients[i];
    int fd = s->fds[i].fd;

    ssize_t n = read(fd, buf, sizeof buf);
    trace_read(n, fd, "echo_read");
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
                   ? 0 : -1;
    if (n == 0) {
        c->peer_done = 1;
        return 0;
    }

    /* TODO 1: write at once only when nothing waits; keep the rest. */
    size_t taken = 0;
    if (c->out_start == c->out_end) {
        ssize_t w = write(fd, buf, (size_t)n);
        trace_write(w, fd, (size_t)n);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
            errno != EINTR)
            return -1;
        taken = w > 0 ? (size_t)w : 0;
    }
    if (taken < (size_t)n)
        queue_output(c, buf + taken, (size_t)n - taken);
    return 0;
}

/* TODO 2 (lesson 05, "Partial writes and the bytes that wait"): the socket
 * has room again (POLLOUT): write what waits in c->out, from out_start to
 * out_end, and move out_start past what write took. EAGAIN or EINTR: no
 * harm, try again at the next POLLOUT (return 0). Another error: the
 * client is gone (return -1). */
static int write_pending(struct server *s, size_t i)
{
    struct client *c = &s->clients[i];
    int fd = s->fds[i].fd;
    size_t waiting = c->out_end - c->out_start;

    if (waiting == 0)
        return 0;  /* nothing waits (and c->out may still be NULL) */
    ssize_t w = write(fd, c->out + c->out_start, waiting);
    trace_write(w, fd, waiting);
    if (w < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
                   ? 0 : -1;
    c->out_start += (size_t)w;
    return 0;
}

/* TODO 3 (lesson 05, "Partial writes and the bytes that wait"): tell poll
 * what we want from client i from now on. POLLIN while the client may
 * still send (not peer_done), and POLLOUT only while bytes wait in c->out:
 * an empty socket is nearly always writable, so asking for POLLOUT then
 * would wake poll at once, every time, for nothing. */
static void set_interest(struct server *s, size_t i)
{
    const struct client *c = &s->clients[i];

    s->fds[i].events = (short)((c->peer_done ? 0 : POLLIN) |
                               (c->out_start < c->out_end ? POLLOUT : 0));
}

/* Close client i. Its slot keeps fd -1 (poll skips it) until sweep. */
static void close_client(struct server *s, size_t i)
{
    int rc = close(s->fds[i].fd);
    trace(rc, NULL, NULL, "close(%d)", s->fds[i].fd);
    free(s->clients[i].out);
    s->clients[i] = (struct client){.out = NULL};
    s->fds[i].fd = -1;
}

/* Act on what poll reported for client i. POLLERR and POLLHUP come even
 * unasked: a reset, or a connection closed both ways. */
static void handle_client(struct server *s, size_t i)
{
    short ready = s->fds[i].revents;
    struct client *c = &s->clients[i];

    if ((ready & (POLLERR | POLLNVAL)) ||
        ((ready & POLLIN) && read_and_echo(s, i) < 0) ||
        ((ready & POLLOUT) && write_pending(s, i) < 0) ||
        ((ready & POLLHUP) && !(ready & POLLIN))) {
        close_client(s, i);
        return;
    }
    /* TODO 4 (lesson 05, "Partial writes and the bytes that wait"): the
     * client has sent all it will send, but part of its echo may still
     * wait in c->out. Closing now throws that away: close only once
     * out_start == out_end. */
    if (c->peer_done && c->out_start == c->out_end) {
        close_client(s, i);
        return;
    }
    set_interest(s, i);
}

/* After a pass, squeeze out the slots of clients closed during it. */
static void sweep(struct server *s)
{
    size_t kept = LISTENER + 1;

    for (size_t i = LISTENER + 1; i < s->used; i++)
        if (s->fds[i].fd >= 0) {
            s->fds[kept] = s->fds[i];
            s->clients[kept] = s->clients[i];
            kept++;
        }
    s->used = kept;
}

static void run_loop(struct server *s)
{
    while (!stop_requested) {
        /* A stop signal that lands between the test above and poll is
         * only seen at the next wake-up: echo-server-poll closes that gap
         * with a pipe (lesson 05, "Stopping cleanly"). */
        int ready = poll(s->fds, (nfds_t)s->used, -1);
        trace(ready, NULL, NULL, "poll(%zu fds)", s->used);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            die_errno(EX_OSERR, "poll");
        }
        if (s->fds[LISTENER].revents & POLLIN)
            accept_clients(s);  /* new slots start with revents 0 */
        for (size_t i = LISTENER + 1; i < s->used; i++)
            if (s->fds[i].fd >= 0 && s->fds[i].revents != 0)
                handle_client(s, i);
        sweep(s);
    }
}

int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct sockaddr_storage addr;
    struct server s = {.fds = NULL, .clients = NULL, .used = 0, .cap = 0};

    trace_init("partial-writes", 0);
    parse_server_args(argc, argv, &args, usage, NULL, NULL, NULL);
    if (catch_stop_signals() < 0)
        die_errno(EX_OSERR, "sigaction");

    int rc = ip_addr(args.host, args.port, &addr);
    if (rc != 0)
        die_unresolved(args.host, rc, 1);
    int listen_fd = open_listener(&addr, DEFAULT_BACKLOG);
    if (set_nonblocking(listen_fd) < 0)
        die_errno(EX_OSERR, "fcntl O_NONBLOCK");
    add_slot(&s, listen_fd);
    if (say_listening(listen_fd) < 0)
        die_errno(EX_IOERR, "cannot announce the port");

    run_loop(&s);

    for (size_t i = LISTENER + 1; i < s.used; i++)
        close_client(&s, i);
    rc = close(listen_fd);
    trace(rc, NULL, NULL, "close(%d)", listen_fd);
    free(s.fds);
    free(s.clients);
    warn_msg("stopped");
    return 0;
}

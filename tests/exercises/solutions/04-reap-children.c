/* 04-reap-children.c - the reference solution of exercise 4 (reap the
 * children).
 *
 * lessons/exercises/04-reap-children/reap_children.c with its three TODOs
 * done. The suite checks that this file passes every check of `make
 * exercise 4` and that the starting file does not.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
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
    "  Exercise 4: an echo server with one child process per client.\n"
    "  -b ADDR  address to listen on (default 127.0.0.1)\n"
    "  -v       trace each system call\n"
    "  PORT     0-65535, default 7000; 0 lets the kernel choose";

/* TODO 1 (lesson 04, "Zombies and SIGCHLD"): reap.
 *
 * The kernel sends SIGCHLD when a child exits, and keeps the child as a
 * zombie until the parent collects its exit status with waitpid. Collect
 * every child that has exited:
 *
 *   - waitpid(-1, &status, WNOHANG): any child; WNOHANG returns 0 at once
 *     when none has exited, instead of blocking the whole server until one
 *     does (some may still be serving their clients);
 *   - in a loop, until it returns 0 or -1: signals do not queue, so one
 *     SIGCHLD may stand for several exits;
 *   - save errno first and put it back last: the handler runs between any
 *     two steps of the main program, which may be about to read errno.
 *
 * Nothing else here: printf and friends are not safe in a signal handler.
 */
static void on_sigchld(int signo)
{
    int saved_errno = errno;
    int status;

    (void)signo;
    while (waitpid(-1, &status, WNOHANG) > 0)
        continue;
    errno = saved_errno;
}

/* TODO 2 (lesson 04, "Zombies and SIGCHLD"): install on_sigchld.
 *
 * A struct sigaction, zeroed, with sa_handler = on_sigchld, an empty
 * sa_mask (sigemptyset) and sa_flags = SA_NOCLDSTOP (exits only, not
 * stopped children); then sigaction(SIGCHLD, &sa, NULL). Returns what
 * sigaction returns. Leave SA_RESTART out, as lesson 04 does: then a child's
 * exit interrupts accept, and TODO 3 matters.
 */
static int catch_sigchld(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NOCLDSTOP;
    return sigaction(SIGCHLD, &sa, NULL);
}

/* The child: serve one client, then exit. It got copies of both
 * descriptors at fork; the listening one is of no use to it. */
static _Noreturn void serve_in_child(int listen_fd, int fd)
{
    char buf[64 * 1024];
    ssize_t n;

    close(listen_fd);
    while ((n = read_some(fd, buf, sizeof buf)) > 0) {
        trace_read(n, fd, "echo_read");
        int rc = write_all(fd, buf, (size_t)n);
        trace(rc == 0 ? n : -1, NULL, "uv_write", "write(%d, %zd)", fd, n);
        if (rc < 0)
            break;
    }
    trace_read(n, fd, "echo_read");
    int rc = close(fd);
    trace(rc, NULL, NULL, "close(%d)", fd);
    /* _exit, not exit: the parent's stdio buffers were copied at fork and
     * must not be flushed twice. */
    _exit(0);
}

static void serve_forever(int listen_fd, unsigned long *forked)
{
    while (!stop_requested) {
        int fd = accept(listen_fd, NULL, NULL);
        trace(fd, NULL, NULL, "accept(%d)", listen_fd);
        if (fd < 0) {
            if (stop_requested)
                break;  /* Ctrl-C or SIGTERM */
            if (errno == ECONNABORTED || errno == EPROTO)
                continue;  /* a client that gave up while queued */
            if (errno == EINTR)
                continue;  /* TODO 3: SIGCHLD ran on_sigchld: accept again */
            die_errno(EX_OSERR, "accept");
        }

        pid_t pid = fork();
        trace(pid, pid > 0 ? "(parent)" : NULL, NULL, "fork()");
        if (pid == 0)
            serve_in_child(listen_fd, fd);
        if (pid < 0)
            warn_msg("fork: %s (too many processes?)", strerror(errno));
        else
            (*forked)++;
        /* The child has its own copy of the connection; the parent's copy
         * would only keep it open after the child hangs up. */
        int rc = close(fd);
        trace(rc, "parent's copy", NULL, "close(%d)", fd);
    }
}

int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct sockaddr_storage addr;
    unsigned long forked = 0;

    trace_init("reap-children", 0);
    parse_server_args(argc, argv, &args, usage, NULL, NULL, NULL);
    if (catch_stop_signals() < 0 || catch_sigchld() < 0)
        die_errno(EX_OSERR, "sigaction");

    int rc = ip_addr(args.host, args.port, &addr);
    if (rc != 0)
        die_unresolved(args.host, rc, 1);
    /* socket, setsockopt, bind, listen: lesson 01, now in common/. */
    int listen_fd = open_listener(&addr, DEFAULT_BACKLOG);
    if (say_listening(listen_fd) < 0)
        die_errno(EX_IOERR, "cannot announce the port");

    serve_forever(listen_fd, &forked);

    /* Stop: refuse new clients. Children still serving finish by
     * themselves (lesson 04's server also stops them; not needed here). */
    rc = close(listen_fd);
    trace(rc, NULL, NULL, "close(%d)", listen_fd);
    warn_msg("stopped: %lu client%s served", forked, forked == 1 ? "" : "s");
    return 0;
}

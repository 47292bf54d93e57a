/* echo_server_fork.c - a TCP echo server that forks one process per client.
 *
 *   socket -> setsockopt -> bind -> listen      (open_listener, common/:
 *                                                the four calls of lesson 01)
 *   loop: accept -> fork
 *           parent: close the client's socket, back to accept
 *           child:  close the listening socket, echo, exit
 *   SIGCHLD: reap every child that has exited (waitpid, WNOHANG)
 *
 * Clients no longer wait for each other: each has a process of its own.
 * The price is a process per client, so two limits keep it honest: -c caps
 * how many children may live at once, -t ends a client that stays silent.
 *
 * Usage: echo-server-fork [-h] [-v] [-c MAX] [-t SECONDS] [-b ADDR] [PORT]
 */

/* MAP_ANONYMOUS (shared memory without a file) is not in POSIX.1-2008;
 * glibc shows it under _DEFAULT_SOURCE. */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "echo.h"
#include "fail.h"
#include "signals.h"
#include "sockets.h"
#include "trace.h"

static const char usage[] =
    "[-h] [-v] [-c MAX] [-t SECONDS] [-b ADDR] [PORT]\n"
    "  Echo server with one child process per client.\n"
    "  -c MAX      most clients served at once, 1-4096 (default 64)\n"
    "  -t SECONDS  close a client silent this long, 0-86400, 0 = never "
    "(default 300)\n"
    "  -b ADDR     address to listen on (default 127.0.0.1)\n"
    "  -v          trace each system call with its libuv counterpart\n"
    "  PORT        0-65535, default 7000; 0 lets the kernel choose";

#define MAX_CHILDREN 4096

struct limits {
    long max_children;  /* -c */
    long idle_seconds;  /* -t, 0 = never */
};

static const char *on_option(int letter, const char *arg, void *ctx)
{
    struct limits *limits = ctx;
    if (letter == 'c')
        return parse_long_in(arg, 1, MAX_CHILDREN, &limits->max_children) == 0
                   ? NULL : "a number of children from 1 to 4096";
    return parse_long_in(arg, 0, 86400, &limits->idle_seconds) == 0
               ? NULL : "a number of seconds from 0 (never) to 86400";
}

/* ---- reaping ------------------------------------------------------------ */

/* region: sigchld */
/* The SIGCHLD handler reaps and writes down what it reaped; the main loop
 * reads the log to trace it. Only the handler writes the log and `reaped`,
 * only main reads them, so no lock is needed. At most MAX_CHILDREN children
 * live at once, so the log cannot wrap between two reads by main. */
static volatile pid_t reaped_pid[MAX_CHILDREN];
static volatile int reaped_status[MAX_CHILDREN];
static volatile sig_atomic_t reaped = 0;

static void on_sigchld(int signo)
{
    int saved_errno = errno;  /* waitpid may change errno under main's feet */
    pid_t pid;
    int status;

    (void)signo;
    /* One SIGCHLD may stand for several exits: signals do not queue. So
     * reap until nobody is left, and never block (WNOHANG). */
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        reaped_pid[reaped % MAX_CHILDREN] = pid;
        reaped_status[reaped % MAX_CHILDREN] = status;
        reaped++;
    }
    errno = saved_errno;
}

static int catch_sigchld(void)
{
    struct sigaction sa = {0};

    sa.sa_handler = on_sigchld;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART, like the stop signals: accept returns EINTR and the
     * loop gets to trace the exit at once. */
    sa.sa_flags = SA_NOCLDSTOP;  /* exits only, not stops */
    return sigaction(SIGCHLD, &sa, NULL);
}
/* endregion: sigchld */

/* Children the parent has forked and not yet seen reaped. */
struct family {
    pid_t pids[MAX_CHILDREN];
    long forked;       /* ever forked */
    long seen_reaped;  /* log entries main has read */
};

static long live_children(const struct family *fam)
{
    return fam->forked - (long)reaped;
}

static void forget_child(struct family *fam, pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (fam->pids[i] == pid) {
            fam->pids[i] = 0;
            return;
        }
}

/* Trace each child the handler reaped since last time, with how it ended. */
static void report_reaped(struct family *fam)
{
    while (fam->seen_reaped < (long)reaped) {
        long i = fam->seen_reaped % MAX_CHILDREN;
        pid_t pid = reaped_pid[i];
        int status = reaped_status[i];
        char how[64];

        if (WIFEXITED(status))
            snprintf(how, sizeof how, "exited %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
            snprintf(how, sizeof how, "killed by signal %d (%s)",
                     WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
            snprintf(how, sizeof how, "status %#x", (unsigned)status);
        trace(pid, how, "(one loop: no processes to reap)",
              "waitpid(-1, WNOHANG)");
        forget_child(fam, pid);
        fam->seen_reaped++;
    }
}

/* region: cap */
/* At the cap, stop calling accept: new clients wait in the listen backlog
 * rather than each costing a process. SIGCHLD is blocked while we check,
 * and sigsuspend unblocks it and sleeps in one step, so an exit that lands
 * between the check and the sleep cannot be missed. */
static void wait_below_cap(struct family *fam, long max)
{
    sigset_t chld, old;

    if (live_children(fam) < max)
        return;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    trace_note("%ld children = the cap (-c %ld): not accepting until one "
               "exits", live_children(fam), max);
    while (live_children(fam) >= max && !stop_requested)
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    report_reaped(fam);
}
/* endregion: cap */

/* ---- the child ---------------------------------------------------------- */

/* A client that sends nothing for `seconds` ends its read with EAGAIN; one
 * that stops reading ends our write the same way. Either way its process
 * is freed. (libuv would use a uv_timer_t per connection instead.) */
static void set_idle_timeout(int fd, long seconds)
{
    struct timeval tv = {seconds, 0};

    if (seconds == 0)
        return;
    int rc = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (rc == 0)
        rc = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    trace(rc, NULL, "a uv_timer_t per connection",
          "setsockopt(%d, SO_RCVTIMEO+SO_SNDTIMEO, %lds)", fd, seconds);
}

/* region: child */
static _Noreturn void serve_in_child(int listen_fd, int fd, long idle,
                                     _Atomic unsigned long long *bytes)
{
    unsigned long long echoed = 0;

    /* The child got copies of both descriptors. It has no use for the
     * listening one; holding it would keep the port open after the
     * parent closes it. */
    int rc = close(listen_fd);
    trace(rc, "child's copy", "(libuv: one process, nothing to close)",
          "close(%d)", listen_fd);

    set_idle_timeout(fd, idle);
    enum echo_end end = echo_connection(fd, &echoed);
    if (end == ECHO_IDLE)
        trace_note("client silent for %lds: closing", idle);
    else if (end == ECHO_NOT_READING)
        trace_note("client not reading for %lds: closing", idle);
    else if (end == ECHO_BROKEN)
        warn_msg("client dropped: %s", strerror(errno));

    /* Memory is copied at fork, so a counter here would not change the
     * parent's; `bytes` lives in memory both share. */
    atomic_fetch_add(bytes, echoed);
    rc = close(fd);
    trace(rc, NULL, "uv_close", "close(%d)", fd);
    /* _exit, not exit: the parent's stdio buffers were copied too, and
     * must not be flushed twice. */
    _exit(end == ECHO_BROKEN ? EX_IOERR : 0);
}
/* endregion: child */

/* ---- the parent --------------------------------------------------------- */

/* region: fork */
static void spawn_child(int listen_fd, int fd, struct family *fam,
                        const struct limits *limits,
                        _Atomic unsigned long long *bytes)
{
    pid_t pid = fork();
    trace(pid, pid > 0 ? "(parent)" : NULL,
          "(libuv: no fork; every client on one loop)", "fork()");
    if (pid == 0)
        serve_in_child(listen_fd, fd, limits->idle_seconds, bytes);
    if (pid < 0)
        warn_msg("fork: %s (too many processes? lower -c)", strerror(errno));
    else {
        for (int i = 0; i < MAX_CHILDREN; i++)
            if (fam->pids[i] == 0) {
                fam->pids[i] = pid;
                break;
            }
        fam->forked++;
    }
    /* The child has its own copy of the connection; ours would only keep
     * the connection open after the child hangs up. */
    int rc = close(fd);
    trace(rc, "parent's copy", NULL, "close(%d)", fd);
}
/* endregion: fork */

/* region: accept-loop */
static void serve_forever(int listen_fd, struct family *fam,
                          const struct limits *limits,
                          _Atomic unsigned long long *bytes)
{
    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;

        report_reaped(fam);
        wait_below_cap(fam, limits->max_children);
        if (stop_requested)
            break;
        /* A child's exit (SIGCHLD) interrupts accept with EINTR, like a
         * stop: the loop goes round, reports it, and accepts again. */
        int fd = accept(listen_fd, (struct sockaddr *)&peer, &len);
        trace_accept(fd, listen_fd, &peer);
        if (fd >= 0)
            spawn_child(listen_fd, fd, fam, limits, bytes);
        else
            after_accept_error(errno);
    }
}
/* endregion: accept-loop */

/* region: shutdown */
/* Stop: the listening socket goes first, so new clients are refused, then
 * every child is asked to stop (SIGTERM) and reaped before we exit. */
static void stop_children(struct family *fam)
{
    sigset_t chld, old;

    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    report_reaped(fam);
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (fam->pids[i] > 0) {
            int rc = kill(fam->pids[i], SIGTERM);
            trace(rc, NULL, NULL, "kill(%ld, SIGTERM)", (long)fam->pids[i]);
        }
    while (live_children(fam) > 0)
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    report_reaped(fam);
}
/* endregion: shutdown */

int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct sockaddr_storage addr;
    struct limits limits = {64, 300};
    static struct family fam;

    trace_init("echo-server-fork", 0);
    parse_server_args(argc, argv, &args, usage, "c:t:", on_option, &limits);
    if (catch_stop_signals() < 0 || catch_sigchld() < 0)
        die(EX_OSERR, "sigaction: %s", strerror(errno));

    /* Shared with every child, so each can add what it echoed. */
    _Atomic unsigned long long *bytes =
        mmap(NULL, sizeof *bytes, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (bytes == MAP_FAILED)
        die(EX_OSERR, "mmap: %s", strerror(errno));
    atomic_init(bytes, 0);

    int rc = ip_addr(args.host, args.port, &addr);
    if (rc != 0)
        die_unresolved(args.host, rc, 1);

    int listen_fd = open_listener(&addr, DEFAULT_BACKLOG);
    if (say_listening(listen_fd) < 0)
        die(EX_IOERR, "cannot announce the port: %s", strerror(errno));

    serve_forever(listen_fd, &fam, &limits, bytes);

    rc = close(listen_fd);
    trace(rc, NULL, "uv_close", "close(%d)", listen_fd);
    stop_children(&fam);
    warn_msg("stopped: %ld client%s served, %llu bytes echoed", fam.forked,
             fam.forked == 1 ? "" : "s", atomic_load(bytes));
    munmap((void *)bytes, sizeof *bytes);
    return 0;
}

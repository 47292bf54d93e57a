/* echo_server_fork.c - a TCP echo server that forks one process per client.
 *
 *   socket -> setsockopt -> bind -> listen      (open_listener, common/:
 *                                                the four calls of lesson 01)
 *   loop: accept -> fork
 *           parent: close the client's socket, back to accept
 *           child:  close the listening socket, echo, exit
 *   SIGCHLD: reap every child that has exited (waitpid, WNOHANG)
 *   stop: close the listener, SIGTERM to each child (finish within -g),
 *         then SIGALRM (the grace is over: reset now), then SIGKILL to any
 *         child still there a second later
 *
 * Clients no longer wait for each other: each has a process of its own.
 * The price is a process per client, so two limits keep it honest: -c caps
 * how many children may live at once, -t ends a client that sends nothing,
 * or reads none of its echo, for that long.
 *
 * Usage: echo-server-fork [-h] [-v] [-c MAX] [-t SECONDS] [-g SECONDS]
 *                         [-b ADDR] [PORT]
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
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "echo.h"
#include "fail.h"
#include "signals.h"
#include "sockets.h"
#include "trace.h"

static const char usage[] =
    "[-h] [-v] [-c MAX] [-t SECONDS] [-g SECONDS] [-b ADDR] [PORT]\n"
    "  Echo server with one child process per client.\n"
    "  -c MAX      most clients served at once, 1-4096 (default 64); the "
    "others\n"
    "              wait in the backlog\n"
    "  -t SECONDS  drop a client when a read waits this long for a byte, or "
    "a\n"
    "              write this long for room, 0-86400, 0 = never (default "
    "300)\n"
    "  -g SECONDS  on a stop, let clients finish this long, then reset them,"
    "\n"
    "              0-3600 (default 2); a second Ctrl-C resets them at once\n"
    "  -b ADDR     address to listen on (default 127.0.0.1)\n"
    "  -v          trace each system call with its libuv counterpart\n"
    "  PORT        0-65535, default 7000; 0 lets the kernel choose";

#define MAX_CHILDREN 4096

struct limits {
    long max_children;   /* -c */
    long idle_seconds;   /* -t, 0 = never */
    long grace_seconds;  /* -g */
};

/* What the children tell the parent. Memory is copied at fork, so a
 * counter in a child would not change the parent's: this lives in memory
 * they all share (mmap, MAP_SHARED). */
struct shared {
    _Atomic long long written;         /* bytes written back, less what a
                                          reset threw away unsent */
    _Atomic unsigned long cut_off;     /* clients a stop reset */
};

static const char *on_option(int letter, const char *arg, void *ctx)
{
    struct limits *limits = ctx;
    if (letter == 'c')
        return parse_long_in(arg, 1, MAX_CHILDREN, &limits->max_children) == 0
                   ? NULL : "a number of children from 1 to 4096";
    if (letter == 't')
        return parse_long_in(arg, 0, 86400, &limits->idle_seconds) == 0
                   ? NULL : "a number of seconds from 0 (never) to 86400";
    return parse_long_in(arg, 0, 3600, &limits->grace_seconds) == 0
               ? NULL : "a number of seconds from 0 to 3600";
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

static long long clock_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

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

/* The signals the parent waits for: a child's exit, a stop, the end of the
 * grace period. Blocked while it checks its counters, they are let in only
 * inside sigsuspend, which unblocks and sleeps in one step: one that lands
 * between the check and the sleep cannot be missed. */
static void block_wakeups(sigset_t *old)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGALRM);
    sigprocmask(SIG_BLOCK, &set, old);
}

/* region: cap */
/* At the cap, stop calling accept: new clients wait in the listen backlog
 * rather than each costing a process. SIGCHLD is blocked while we check
 * (block_wakeups), and sigsuspend unblocks it and sleeps in one step, so
 * an exit that lands between the check and the sleep cannot be missed. */
static void wait_below_cap(struct family *fam, long max)
{
    sigset_t old;

    if (live_children(fam) < max)
        return;
    block_wakeups(&old);
    trace_note("%ld children = the cap (-c %ld): not accepting until one "
               "exits", live_children(fam), max);
    while (live_children(fam) >= max && !stop_requested)
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    report_reaped(fam);
}
/* endregion: cap */

/* ---- the child ---------------------------------------------------------- */

/* A client that sends nothing for `seconds` ends our read with EAGAIN; one
 * that reads none of its echo ends our write the same way (the kernel's
 * buffers are full and no room comes). Either way its process is freed.
 * Each call starts its own clock: a client that trickles a byte now and
 * then is never idle. (libuv would use a uv_timer_t per connection.) */
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
                                     struct shared *shared)
{
    struct sigaction ignore = {.sa_handler = SIG_IGN};

    /* The child got copies of both descriptors. It has no use for the
     * listening one; holding it would keep the port open after the
     * parent closes it. */
    int rc = close(listen_fd);
    trace(rc, "child's copy", "(libuv: one process, nothing to close)",
          "close(%d)", listen_fd);

    /* Ctrl-C reaches every process of the terminal's foreground group. The
     * parent alone decides what a stop means for a child, and says so:
     * SIGTERM lets this client finish, SIGALRM (the grace is over) cuts it
     * off. A stop the parent had already seen when it forked is the
     * parent's: it will send us its SIGTERM. */
    sigaction(SIGINT, &ignore, NULL);
    stop_requested = STOP_NONE;

    /* Until this client's echo is complete, any end of this process, even
     * SIGKILL, must reset the connection rather than close it normally:
     * armed now, disarmed when the client has had everything. */
    reset_on_close(fd, 1);
    set_idle_timeout(fd, idle);
    enum echo_end end = echo_connection(fd, &shared->written);

    if (end == ECHO_PEER_CLOSED || end == ECHO_IDLE) {
        if (end == ECHO_IDLE)
            trace_note("client sent nothing for %lds (-t): closing", idle);
        reset_on_close(fd, 0);  /* all echoed: a normal close */
    } else if (end == ECHO_NOT_READING || end == ECHO_CUT_OFF) {
        if (end == ECHO_NOT_READING)
            trace_note("client read none of its echo for %lds (-t): reset",
                       idle);
        else
            atomic_fetch_add(&shared->cut_off, 1);
        /* The kernel will not send these now: they are not written back. */
        atomic_fetch_sub(&shared->written, unsent_bytes(fd));
    } else {
        warn_msg("client dropped: %s", strerror(errno));
    }
    rc = close(fd);
    trace(rc, end == ECHO_NOT_READING || end == ECHO_CUT_OFF ? "RST sent"
                                                             : NULL,
          "uv_close", "close(%d)", fd);
    /* _exit, not exit: the parent's stdio buffers were copied too, and
     * must not be flushed twice. */
    _exit(end == ECHO_BROKEN ? EX_IOERR : 0);
}
/* endregion: child */

/* ---- the parent --------------------------------------------------------- */

/* region: fork */
static void spawn_child(int listen_fd, int fd, struct family *fam,
                        const struct limits *limits, struct shared *shared)
{
    pid_t pid = fork();
    trace(pid, pid > 0 ? "(parent)" : NULL,
          "(libuv: no fork; every client on one loop)", "fork()");
    if (pid == 0)
        serve_in_child(listen_fd, fd, limits->idle_seconds, shared);
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
                          const struct limits *limits, struct shared *shared)
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
            spawn_child(listen_fd, fd, fam, limits, shared);
        else
            after_accept_error(errno);
    }
}
/* endregion: accept-loop */

/* region: shutdown */
/* Send signo to every child still there; returns how many were sent. The
 * parent signals the pids it recorded, not its process group: started
 * from a script, the server shares the script's group. */
static int signal_children(struct family *fam, int signo, const char *why)
{
    int sent = 0;

    for (int i = 0; i < MAX_CHILDREN; i++)
        if (fam->pids[i] > 0) {
            int rc = kill(fam->pids[i], signo);
            trace(rc, why, NULL, "kill(%ld, %s)", (long)fam->pids[i],
                  signo == SIGKILL   ? "SIGKILL"
                  : signo == SIGALRM ? "SIGALRM"
                                     : "SIGTERM");
            sent += rc == 0;
        }
    return sent;
}

/* Sleep until no child is left, or until the stop turns to "now" (a
 * second Ctrl-C, or alarm: the grace period is over) when deadline_ms is
 * 0, or else until the clock passes deadline_ms. Called with the wake-ups
 * blocked (block_wakeups); a SIGALRM set for the deadline wakes us. */
static void wait_children(struct family *fam, const sigset_t *old,
                          long long deadline_ms)
{
    while (live_children(fam) > 0 &&
           (deadline_ms == 0 ? stop_requested != STOP_NOW
                             : clock_ms() < deadline_ms))
        sigsuspend(old);
    report_reaped(fam);
}

/* The stop, after the listener has been closed. Returns how many children
 * had to be killed. */
static int stop_children(struct family *fam, long grace)
{
    sigset_t old;
    int killed = 0;

    block_wakeups(&old);
    report_reaped(fam);
    /* 1. Each child may let its client finish, for -g seconds: SIGTERM is
     * its first stop, as Ctrl-C is ours. */
    if (live_children(fam) > 0 && stop_requested != STOP_NOW && grace > 0) {
        signal_children(fam, SIGTERM, "finish within -g");
        trace(alarm((unsigned)grace), NULL, "uv_timer_start(grace)",
              "alarm(%ld)", grace);
        wait_children(fam, &old, 0);
    }
    /* 2. The grace period is over, or a second Ctrl-C came: SIGALRM, the
     * signal that ends a grace period (signals.c), makes each child still
     * there reset its client now. (Not a second SIGTERM: two of the same
     * signal sent before the child runs arrive as one.) */
    if (live_children(fam) > 0) {
        signal_children(fam, SIGALRM, "grace over: reset now");
        long long deadline = clock_ms() + 1000;
        alarm(1);  /* to wake up at the deadline */
        wait_children(fam, &old, deadline);
    }
    /* 3. A child that did not end within a second is stopped (kill -STOP)
     * or stuck: SIGTERM waits for it to run again, SIGKILL does not. Its
     * client still gets a reset: the child armed SO_LINGER. */
    if (live_children(fam) > 0) {
        killed = signal_children(fam, SIGKILL, "did not stop in 1 s");
        while (live_children(fam) > 0)
            sigsuspend(&old);
        report_reaped(fam);
    }
    alarm(0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return killed;
}
/* endregion: shutdown */

int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct sockaddr_storage addr;
    struct limits limits = {64, DEFAULT_IDLE_SECONDS, DEFAULT_GRACE_SECONDS};
    static struct family fam;

    trace_init("echo-server-fork", 0);
    parse_server_args(argc, argv, &args, usage, "c:t:g:", on_option,
                      &limits);
    if (catch_stop_signals() < 0 || catch_sigchld() < 0)
        die(EX_OSERR, "sigaction: %s", strerror(errno));

    /* Shared with every child, so each can add what it echoed. */
    struct shared *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        die(EX_OSERR, "mmap: %s", strerror(errno));
    atomic_init(&shared->written, 0);
    atomic_init(&shared->cut_off, 0);

    int rc = ip_addr(args.host, args.port, &addr);
    if (rc != 0)
        die_unresolved(args.host, rc, 1);

    int listen_fd = open_listener(&addr, DEFAULT_BACKLOG);
    if (say_listening(listen_fd) < 0)
        die(EX_IOERR, "cannot announce the port: %s", strerror(errno));

    serve_forever(listen_fd, &fam, &limits, shared);

    /* The listening socket goes first: new clients are refused, and those
     * queued in the backlog get a reset. */
    rc = close(listen_fd);
    trace(rc, "no new clients", "uv_close", "close(%d)", listen_fd);
    int killed = stop_children(&fam, limits.grace_seconds);
    if (killed > 0)
        warn_msg("%d child%s did not stop within 1 s of the grace period: "
                 "killed (SIGKILL); what the kernel still held for %s "
                 "client%s is counted below as written back", killed,
                 killed == 1 ? "" : "ren", killed == 1 ? "its" : "their",
                 killed == 1 ? "" : "s");
    unsigned long cut_off = atomic_load(&shared->cut_off) + (unsigned)killed;
    warn_msg("stopped: %ld client%s served, %lld bytes written back, %lu cut "
             "off by the stop", fam.forked, fam.forked == 1 ? "" : "s",
             atomic_load(&shared->written), cut_off);
    munmap(shared, sizeof *shared);
    return 0;
}

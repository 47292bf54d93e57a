/* echo_server_thread.c - a TCP echo server that starts one thread per client.
 *
 *   socket -> setsockopt -> bind -> listen      (open_listener, common/)
 *   loop: at the cap, sem_wait until a thread ends
 *         accept -> pthread_create (detached): the thread serves the client
 *   each thread: read, write back, until the client closes; close; return
 *   stop: close the listener; the threads may finish for -g seconds; then
 *         main cuts the rest (a flag, and pthread_kill to wake each one):
 *         each resets its client (SO_LINGER {1, 0}) and returns
 *
 * Like the fork server, every client has a flow of control of its own that
 * may block in read and write. Unlike a child process, a thread shares
 * everything with main: the descriptors (nothing to close in two places),
 * the memory (the byte count is one atomic counter, no mmap), the signal
 * handlers. What a thread costs is its stack and the kernel's record of
 * it; this server asks for small stacks, so an idle client costs a few
 * pages (measured in the lesson "Measuring server designs").
 *
 * Usage: echo-server-thread [-h] [-v] [-c MAX] [-t SECONDS] [-g SECONDS]
 *                           [-b ADDR] [PORT]
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
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
    "  Echo server with one thread per client.\n"
    "  -c MAX      most clients served at once, 1-4096 (default 256); the "
    "others\n"
    "              wait in the backlog. Each costs a thread: 128 KiB of "
    "stack\n"
    "              reserved, of which an idle client uses 12 KiB and a busy "
    "one\n"
    "              72 KiB, and 16 KiB of kernel stack\n"
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

#define MAX_THREADS 4096
/* 256 threads: 32 MiB of address space for their stacks, 3 to 18 MiB of
 * memory (see THREAD_STACK), and 256 descriptors, which fit the usual
 * limit of 1024. */
#define DEFAULT_MAX_THREADS 256

/* region: stack */
/* Each thread reads into a buffer on its own stack. glibc gives a thread
 * 8 MiB of stack by default (RLIMIT_STACK): address space only, since the
 * kernel backs a page with memory when it is first touched, but 4096 of
 * them would reserve 32 GiB. The echo needs its buffer plus room for the
 * calls it makes (the trace formats a line, a failure formats a message):
 * 64 KiB is plenty.
 *
 * What one client costs, measured with 500 of them (VmRSS in
 * /proc/PID/status, KernelStack in /proc/meminfo): an idle client's
 * thread has touched three pages, 12 KiB (glibc's record of the thread and
 * its thread-local storage at the top of the stack, the frames of the
 * calls, the first page of the buffer); once a read has filled the whole
 * buffer, about 72 KiB. The kernel adds 16 KiB of its own stack per thread,
 * which no VmRSS shows. glibc keeps stacks of ended threads for reuse
 * (up to 40 MiB of them: 41 MiB of address space stayed after the 500
 * left), so memory does not all go back when they end. */
#define ECHO_BUFFER (64 * 1024)
#define THREAD_STACK (ECHO_BUFFER + 64 * 1024)
/* endregion: stack */

struct limits {
    long max_threads;    /* -c */
    long idle_seconds;   /* -t, 0 = never */
    long grace_seconds;  /* -g */
};

/* What main and a client's thread share about that client. A slot is free
 * when fd is -1. The lock (in struct server) guards fd and thread: main
 * looks at them only under it, and a thread frees its slot under it before
 * it closes its descriptor, so main never acts on a number that has been
 * closed (and perhaps reused). */
struct client {
    struct server *srv;    /* the server it belongs to */
    int fd;
    pthread_t thread;
    unsigned long number;  /* "thread N" in the trace: the Nth client */
    atomic_int cut;        /* set by main: stop now and reset the client */
};

/* Everything the threads and main share: one instance, in main. */
struct server {
    pthread_mutex_t lock;     /* guards the slots' fd and thread */
    struct client *slots;     /* max_threads of them */
    long max_threads;
    long idle_seconds;
    atomic_long live;         /* threads serving now */
    unsigned long served;     /* threads started (main only) */
    _Atomic long long written;      /* bytes written back, less what a
                                       reset threw away unsent */
    _Atomic unsigned long cut_off;  /* clients a stop reset */
};

static const char *on_option(int letter, const char *arg, void *ctx)
{
    struct limits *limits = ctx;
    if (letter == 'c')
        return parse_long_in(arg, 1, MAX_THREADS, &limits->max_threads) == 0
                   ? NULL : "a number of threads from 1 to 4096";
    if (letter == 't')
        return parse_long_in(arg, 0, 86400, &limits->idle_seconds) == 0
                   ? NULL : "a number of seconds from 0 (never) to 86400";
    return parse_long_in(arg, 0, 3600, &limits->grace_seconds) == 0
               ? NULL : "a number of seconds from 0 to 3600";
}

static long long clock_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- signals ------------------------------------------------------------ */

/* region: wakeups */
/* Main sleeps in two places: at the cap (until a thread ends) and during
 * the stop (until every thread has ended, or the grace period is over, or
 * a second Ctrl-C comes). Both wait on one semaphore, `wakeups`, which
 * each thread posts as it ends and each stop signal's handler posts too.
 * Main looks at its counters, and if it must wait, sem_wait: a post that
 * came between the look and the wait is not lost, it is counted, and
 * sem_wait returns at once. Main looks again every time it wakes.
 *
 * Why not a mutex and a condition variable? pthread_cond_wait may sleep on
 * through a signal, and a signal handler may not call pthread_cond_signal
 * (it is not async-signal-safe). sem_post is: POSIX lists it among the
 * calls a handler may make. */
static sem_t wakeups;

static void on_stop_signal(int signo)
{
    int saved = errno;  /* sem_post may change errno under main's feet */
    if (signo == SIGALRM)
        stop_requested = STOP_NOW;  /* the grace period is over */
    else
        stop_step();  /* the first stop lets clients finish, a second: now */
    sem_post(&wakeups);
    errno = saved;
}

/* A thread that main cuts off may be asleep in read or write. A signal
 * with a handler interrupts that call (EINTR, or a short count); the
 * handler has nothing else to do. (Ignored, SIG_IGN, it would not
 * interrupt anything.) */
static void on_cut(int signo)
{
    (void)signo;
}

/* No SA_RESTART, so that accept, read and write return EINTR. */
static int catch_signals(void)
{
    struct sigaction sa = {0};

    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);  /* one stop handler at a time */
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGALRM);
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0
        || sigaction(SIGALRM, &sa, NULL) < 0)
        return -1;
    sa.sa_handler = on_cut;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) < 0)
        return -1;
    return ignore_sigpipe();
}
/* endregion: wakeups */

/* ---- descriptors -------------------------------------------------------- */

/* Every client's socket is open in this one process, as in the poll
 * server, so -c 4096 needs more than the usual soft limit of 1024: raise
 * it as far as -c needs, if the hard limit allows. If not, accept fails
 * with EMFILE past the limit and the rest wait in the backlog. */
static void fit_fd_limit(long max_threads)
{
    struct rlimit lim;
    rlim_t need = (rlim_t)max_threads + 16;  /* stdio, the listener, spare */

    if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_cur >= need)
        return;
    rlim_t before = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max != RLIM_INFINITY && lim.rlim_max < need
                       ? lim.rlim_max : need;
    int rc = setrlimit(RLIMIT_NOFILE, &lim);
    trace(rc, NULL, "the program's job, before uv_run",
          "setrlimit(RLIMIT_NOFILE, %llu -> %llu)", (unsigned long long)before,
          (unsigned long long)lim.rlim_cur);
    if (rc < 0 || lim.rlim_cur < need)
        warn_msg("-c %ld needs %llu descriptors, ulimit -n allows %llu: "
                 "clients past that wait in the backlog", max_threads,
                 (unsigned long long)need,
                 (unsigned long long)(rc < 0 ? before : lim.rlim_cur));
}

/* ---- the thread --------------------------------------------------------- */

/* As in the fork server: a client that sends nothing for `seconds` ends
 * our read with EAGAIN; one that reads none of its echo ends our write the
 * same way. Each call starts its own clock. (libuv would use a uv_timer_t
 * per connection.) */
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

static enum echo_end failure(int reading)
{
    if (errno == EAGAIN || errno == EWOULDBLOCK)  /* -t ran out */
        return reading ? ECHO_IDLE : ECHO_NOT_READING;
    return ECHO_BROKEN;
}

/* region: thread-echo */
/* The echo loop of one thread: blocking read, then write back all that
 * came, adding each write's count to *written (shared by every thread:
 * an atomic add, so that no two additions lose one another). It looks at
 * its client's *cut flag, never at stop_requested: that flag is main's,
 * set by main's handlers, and main tells each thread what a stop means
 * for it. */
static enum echo_end echo_in_thread(int fd, atomic_int *cut,
                                    _Atomic long long *written)
{
    char buf[ECHO_BUFFER];  /* on this thread's stack: see THREAD_STACK */

    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        trace_read(n, fd, "echo_read");
        if (atomic_load(cut))
            return ECHO_CUT_OFF;  /* main woke us (EINTR) */
        if (n == 0)
            return ECHO_PEER_CLOSED;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return failure(1);

        size_t sent = 0;
        while (sent < (size_t)n) {
            ssize_t w = write(fd, buf + sent, (size_t)n - sent);
            trace_write(w, fd, (size_t)n - sent);
            if (w > 0) {
                sent += (size_t)w;
                atomic_fetch_add(written, (long long)w);
            }
            if (atomic_load(cut))
                return ECHO_CUT_OFF;
            if (w < 0 && errno != EINTR)
                return failure(0);
        }
    }
}
/* endregion: thread-echo */

/* region: thread */
static void *serve_client(void *arg)
{
    struct client *c = arg;  /* its slot, filled in by main */
    struct server *srv = c->srv;
    int fd = c->fd;
    unsigned long number = c->number;
    char why[128];

    /* Until this client has had all its echo, any end, even the whole
     * process exiting, must reset the connection rather than close it
     * normally: armed now, disarmed when the client has had everything. */
    reset_on_close(fd, 1);
    set_idle_timeout(fd, srv->idle_seconds);
    enum echo_end end = echo_in_thread(fd, &c->cut, &srv->written);
    int saved = errno;

    /* Leave the slot first, so that main, which acts on the slots under
     * the lock, never touches this descriptor after the close below. */
    pthread_mutex_lock(&srv->lock);
    c->fd = -1;
    pthread_mutex_unlock(&srv->lock);

    if (end == ECHO_PEER_CLOSED || end == ECHO_IDLE) {
        if (end == ECHO_IDLE)
            trace_note("thread %lu: client sent nothing for %lds (-t): "
                       "closing", number, srv->idle_seconds);
        reset_on_close(fd, 0);  /* all echoed: a normal close */
    } else if (end == ECHO_NOT_READING || end == ECHO_CUT_OFF) {
        if (end == ECHO_NOT_READING)
            trace_note("thread %lu: client read none of its echo for %lds "
                       "(-t): reset", number, srv->idle_seconds);
        else
            atomic_fetch_add(&srv->cut_off, 1);
        /* The kernel will not send these now: they are not written back. */
        atomic_fetch_sub(&srv->written, unsent_bytes(fd));
    } else {
        /* strerror_r: strerror may share one buffer between threads. */
        if (strerror_r(saved, why, sizeof why) != 0)
            why[0] = '\0';
        warn_msg("thread %lu: client dropped: %s", number, why);
    }
    int rc = close(fd);
    trace(rc, end == ECHO_NOT_READING || end == ECHO_CUT_OFF ? "RST sent"
                                                             : NULL,
          "uv_close", "close(%d)", fd);
    trace_note("thread %lu: done", number);
    /* Last: once main sees `live` drop it may print the summary and exit. */
    atomic_fetch_sub(&srv->live, 1);
    sem_post(&wakeups);
    return NULL;  /* detached: its stack goes back without a pthread_join */
}
/* endregion: thread */

/* ---- main's side -------------------------------------------------------- */

/* region: spawn */
/* Start a detached thread for the client on fd. The thread inherits main's
 * signal mask: with SIGINT, SIGTERM and SIGALRM blocked while we create
 * it, the kernel delivers those (they are sent to the process) to main
 * only, the one thread that leaves them unblocked. */
static void spawn_thread(struct server *srv, int fd,
                         const pthread_attr_t *attr)
{
    struct client *c = NULL;
    sigset_t stops, old;
    char note[40];

    /* Below the cap, a slot is free: a thread leaves its slot before it
     * counts itself out of `live`. */
    pthread_mutex_lock(&srv->lock);
    for (long i = 0; i < srv->max_threads && c == NULL; i++)
        if (srv->slots[i].fd < 0)
            c = &srv->slots[i];
    if (c != NULL) {
        c->fd = fd;
        c->number = ++srv->served;
        atomic_store(&c->cut, 0);
    }
    pthread_mutex_unlock(&srv->lock);
    if (c == NULL) {  /* cannot happen; if it did, the client is refused */
        warn_msg("no free slot for a client below the cap: closing it");
        close(fd);
        return;
    }
    atomic_fetch_add(&srv->live, 1);

    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &stops, &old);
    int err = pthread_create(&c->thread, attr, serve_client, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* pthread_create returns an error number instead of setting errno. */
    errno = err;
    snprintf(note, sizeof note, "(thread %lu)", c->number);
    /* libuv makes no thread per client: every client is served on the
     * one loop's thread. Its threadpool (4 threads unless
     * UV_THREADPOOL_SIZE says otherwise, started at the first job: see
     * src/threadpool.c) runs file system, getaddrinfo and uv_queue_work
     * jobs, never a socket's reads and writes. */
    trace(err == 0 ? 0 : -1, note,
          "(libuv: none; one loop serves all, its threadpool does fs, DNS)",
          "pthread_create(serve_client, fd %d)", fd);
    if (err != 0) {
        warn_msg("pthread_create: %s (too many threads? lower -c): closing "
                 "the client", strerror(err));
        pthread_mutex_lock(&srv->lock);
        c->fd = -1;
        pthread_mutex_unlock(&srv->lock);
        srv->served--;
        atomic_fetch_sub(&srv->live, 1);
        close(fd);
    }
}
/* endregion: spawn */

/* region: cap */
/* At the cap, stop calling accept: new clients wait in the listen backlog
 * rather than each costing a thread. Main sleeps on `wakeups` until a
 * thread ends (or a stop comes). */
static void wait_below_cap(struct server *srv)
{
    if (atomic_load(&srv->live) < srv->max_threads)
        return;
    trace_note("%ld threads = the cap (-c %ld): not accepting until one "
               "ends", atomic_load(&srv->live), srv->max_threads);
    while (atomic_load(&srv->live) >= srv->max_threads && !stop_requested)
        sem_wait(&wakeups);  /* 0 or EINTR: either way, look again */
}
/* endregion: cap */

/* region: accept-loop */
static void serve_forever(int listen_fd, struct server *srv,
                          const pthread_attr_t *attr)
{
    while (!stop_requested) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;

        wait_below_cap(srv);
        if (stop_requested)
            break;
        int fd = accept(listen_fd, (struct sockaddr *)&peer, &len);
        trace_accept(fd, listen_fd, &peer);
        if (fd >= 0)
            spawn_thread(srv, fd, attr);
        else
            after_accept_error(errno);
    }
}
/* endregion: accept-loop */

/* region: shutdown */
/* Tell every thread still serving to reset its client now: set its flag,
 * then pthread_kill(SIGUSR1) interrupts the read or write it is blocked in
 * (EINTR, or a short count), and it sees the flag. One race is left: a
 * thread that has looked at its flag and not yet entered read or write
 * when the signal comes runs the handler first, then blocks all the same.
 * So stop_threads calls this again every 50 ms (again = 1) for the threads
 * still there. Returns how many were told. */
static long cut_threads(struct server *srv, int again)
{
    long told = 0;

    pthread_mutex_lock(&srv->lock);
    for (long i = 0; i < srv->max_threads; i++) {
        struct client *c = &srv->slots[i];
        if (c->fd < 0)
            continue;
        atomic_store(&c->cut, 1);
        int err = pthread_kill(c->thread, SIGUSR1);
        errno = err;  /* like pthread_create, it returns the error */
        trace(err == 0 ? 0 : -1, again ? "still there: again"
                                       : "grace over: reset now",
              "(libuv: uv_close, on the loop's one thread)",
              "pthread_kill(thread %lu, SIGUSR1)", c->number);
        told++;
    }
    pthread_mutex_unlock(&srv->lock);
    return told;
}

/* Sleep until no thread is left or the stop turns to "now" (a second
 * Ctrl-C, or the alarm: the grace period is over). */
static void wait_threads(struct server *srv)
{
    while (atomic_load(&srv->live) > 0 && stop_requested != STOP_NOW)
        sem_wait(&wakeups);
}

/* Sleep until no thread is left or ms have passed: sem_timedwait, which
 * takes a time of day (CLOCK_REALTIME). Should the clock be set back
 * meanwhile, the alarm that stop_threads sets still wakes us (EINTR). */
static void wait_threads_ms(struct server *srv, long ms)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += ms * 1000000;
    until.tv_sec += until.tv_nsec / 1000000000;
    until.tv_nsec %= 1000000000;
    while (atomic_load(&srv->live) > 0 &&
           sem_timedwait(&wakeups, &until) == 0)
        ;  /* a thread ended (or a stray wake-up): look again */
}

/* A thread still there a second after it was cut is stuck where no signal
 * reaches it (blocked writing its trace to a full stderr, say). We leave
 * it: returning from main ends every thread, and the kernel closes their
 * sockets with the SO_LINGER {1, 0} they armed, a reset. Returns how many,
 * having taken what their sockets had not sent off the count (a write
 * still blocked has not counted what it queued: the count may be off by
 * that much). */
static long leave_stuck_threads(struct server *srv)
{
    long stuck = 0;

    pthread_mutex_lock(&srv->lock);
    for (long i = 0; i < srv->max_threads; i++)
        if (srv->slots[i].fd >= 0) {
            atomic_fetch_sub(&srv->written, unsent_bytes(srv->slots[i].fd));
            stuck++;
        }
    pthread_mutex_unlock(&srv->lock);
    return stuck;
}

/* The stop, after the listener has been closed. Returns how many threads
 * were left stuck. */
static long stop_threads(struct server *srv, long grace)
{
    /* 1. The threads may let their clients finish, for -g seconds. */
    if (atomic_load(&srv->live) > 0 && stop_requested != STOP_NOW &&
        grace > 0) {
        trace_note("stop: %ld thread%s may finish within %ld s (-g)",
                   atomic_load(&srv->live),
                   atomic_load(&srv->live) == 1 ? "" : "s", grace);
        trace(alarm((unsigned)grace), NULL, "uv_timer_start(grace)",
              "alarm(%ld)", grace);
        wait_threads(srv);
    }
    /* 2. The grace period is over, or a second Ctrl-C came: cut off every
     * thread still there, and give them a second to reset and end, telling
     * those still there again every 50 ms (see cut_threads). */
    if (atomic_load(&srv->live) > 0) {
        long long deadline = clock_ms() + 1000;
        alarm(2);  /* a bound on the wait below, whatever the clock does */
        for (int again = 0;
             atomic_load(&srv->live) > 0 && clock_ms() < deadline; again = 1) {
            cut_threads(srv, again);
            wait_threads_ms(srv, 50);
        }
    }
    alarm(0);
    /* 3. Any thread still there is stuck: main's return ends it. */
    return atomic_load(&srv->live) > 0 ? leave_stuck_threads(srv) : 0;
}
/* endregion: shutdown */

int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct sockaddr_storage addr;
    struct limits limits = {DEFAULT_MAX_THREADS, DEFAULT_IDLE_SECONDS,
                            DEFAULT_GRACE_SECONDS};
    static struct server srv;
    pthread_attr_t attr;

    trace_init("echo-server-thread", 0);
    parse_server_args(argc, argv, &args, usage, "c:t:g:", on_option,
                      &limits);
    if (sem_init(&wakeups, 0, 0) < 0)
        die(EX_OSERR, "sem_init: %s", strerror(errno));
    if (catch_signals() < 0)
        die(EX_OSERR, "sigaction: %s", strerror(errno));

    srv.max_threads = limits.max_threads;
    srv.idle_seconds = limits.idle_seconds;
    srv.slots = calloc((size_t)limits.max_threads, sizeof *srv.slots);
    if (srv.slots == NULL)
        die(EX_OSERR, "out of memory for %ld clients", limits.max_threads);
    for (long i = 0; i < limits.max_threads; i++) {
        srv.slots[i].srv = &srv;
        srv.slots[i].fd = -1;
    }
    pthread_mutex_init(&srv.lock, NULL);
    fit_fd_limit(limits.max_threads);

    /* region: attr */
    /* Every thread is made detached (nobody will pthread_join it: its
     * resources go back the moment it returns) and with a small stack. */
    size_t stack = THREAD_STACK;
    long least = sysconf(_SC_THREAD_STACK_MIN);
    if (least > 0 && stack < (size_t)least)
        stack = (size_t)least;
    int err = pthread_attr_init(&attr);
    if (err == 0)
        err = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (err == 0)
        err = pthread_attr_setstacksize(&attr, stack);
    errno = err;
    trace(err == 0 ? 0 : -1, NULL, "(libuv: uv_thread_create_ex takes a "
          "stack size; uv-echo-server makes no thread)",
          "pthread_attr_setstacksize(%zu KiB) + PTHREAD_CREATE_DETACHED",
          stack / 1024);
    if (err != 0)
        die(EX_OSERR, "pthread_attr: %s", strerror(err));
    /* endregion: attr */

    int rc = ip_addr(args.host, args.port, &addr);
    if (rc != 0)
        die_unresolved(args.host, rc, 1);

    int listen_fd = open_listener(&addr, DEFAULT_BACKLOG);
    if (say_listening(listen_fd) < 0)
        die(EX_IOERR, "cannot announce the port: %s", strerror(errno));

    serve_forever(listen_fd, &srv, &attr);

    /* The listening socket goes first: new clients are refused, and those
     * queued in the backlog get a reset. */
    rc = close(listen_fd);
    trace(rc, "no new clients", "uv_close", "close(%d)", listen_fd);
    long stuck = stop_threads(&srv, limits.grace_seconds);
    if (stuck > 0)
        warn_msg("%ld thread%s did not end within 1 s of the cut: exiting "
                 "ends %s, and the kernel resets %s client%s", stuck,
                 stuck == 1 ? "" : "s", stuck == 1 ? "it" : "them",
                 stuck == 1 ? "its" : "their", stuck == 1 ? "" : "s");
    unsigned long cut_off = atomic_load(&srv.cut_off) + (unsigned long)stuck;
    warn_msg("stopped: %lu client%s served, %lld bytes written back, %lu cut "
             "off by the stop", srv.served, srv.served == 1 ? "" : "s",
             atomic_load(&srv.written), cut_off);
    pthread_attr_destroy(&attr);
    if (stuck == 0) {  /* else the stuck threads still use these */
        pthread_mutex_destroy(&srv.lock);
        free(srv.slots);
        sem_destroy(&wakeups);
    }
    return 0;
}

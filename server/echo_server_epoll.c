/* echo_server_epoll.c - the poll server's loop on epoll: libuv, unwrapped.
 *
 * bin/echo-server-poll hands the kernel its whole list of descriptors on
 * every poll call. epoll keeps the list inside the kernel instead: we say
 * once what we want from a descriptor (epoll_ctl ADD), change it when it
 * changes (MOD), take it out when we are done (DEL), and each wait
 * (epoll_wait) returns only the descriptors that are ready. That is what
 * libuv does on Linux, and this file does it the way libuv 1.44 does, step
 * for step, so that `strace` of this server and of bin/uv-echo-server show
 * the same calls in the same order (tests/test_epoll.c checks it):
 *
 *   epoll_create1(EPOLL_CLOEXEC)              uv_default_loop
 *   pipe2(O_NONBLOCK|O_CLOEXEC), sigaction    the loop's signal pipe
 *   socket(SOCK_NONBLOCK|SOCK_CLOEXEC), setsockopt, bind, listen
 *                                             uv_tcp_bind, uv_listen
 *   loop: epoll_ctl for each watcher that changed since the last wait
 *         epoll_wait                          uv_run -> uv__io_poll
 *         listener ready -> accept4 until EAGAIN   (uv__server_io)
 *         client ready   -> read 64 KiB, write back at once, keep what the
 *                           socket will not take for EPOLLOUT
 *         client gone    -> epoll_ctl DEL, close   (uv_close)
 *         signal pipe    -> read it, then stop     (uv__signal_event)
 *   first Ctrl-C: close the listener, serve on for -g seconds, then reset
 *
 * Linux only (the BSDs and macOS have kqueue instead; the Makefile skips
 * this file there). With -v each call is traced beside its libuv twin.
 *
 * Usage: echo-server-epoll [-h] [-v] [-c MAX] [-t SECONDS] [-g SECONDS]
 *                          [-b ADDR] [PORT]
 */
#define _GNU_SOURCE  /* accept4, pipe2, SOCK_NONBLOCK: Linux extensions */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
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
    "  Echo every byte back to many clients at once, from one epoll loop "
    "(Linux).\n"
    "  -c MAX      most clients at once, 1-65536 (default 256); the others "
    "wait\n"
    "              in the backlog. Each holds at most 320 KiB of echo.\n"
    "  -t SECONDS  drop a client when no byte has come from it and none of "
    "its\n"
    "              echo has left for this long, 0-86400, 0 = never "
    "(default 300)\n"
    "  -g SECONDS  on a stop, let clients finish this long, then reset them,"
    "\n"
    "              0-3600 (default 2); a second Ctrl-C resets them at once\n"
    "  -b ADDR     address to listen on (default 127.0.0.1; :: or 0.0.0.0 "
    "for all)\n"
    "  -v          trace each system call with its libuv counterpart\n"
    "  PORT        0-65535, default 7000; 0 lets the kernel choose";

#define READ_CHUNK (64 * 1024)  /* uv__read asks alloc_cb for 64 KiB */
#define READS_PER_WAKE 32       /* uv__read's limit, so no client starves */
#define MAX_EVENTS 1024         /* uv__io_poll's events[1024] */
#define WAKE_READ 512           /* uv__signal_event's buffer */
#define HIGH_WATER (256 * 1024) /* unsent bytes at which we stop reading */
#define ACCEPT_PAUSE_MS 100     /* rest after running out of descriptors */
#define EMFILE_REPORT_EVERY 10  /* seconds between two such warnings */
#define DEFAULT_MAX_CLIENTS 256 /* -c: 256 x 320 KiB = at most 80 MiB */

/* region: watcher */
/* What we want epoll to report for one descriptor: libuv's uv__io_t.
 * `want` is what we want now; `armed` is what the kernel was last told (0:
 * not told, or forgotten). A change does not call epoll_ctl at once: the
 * watcher joins a list of changes, and the loop tells the kernel just
 * before it waits. Several changes between two waits cost one call. */
struct watcher {
    int fd;
    uint32_t want;          /* uv__io_t's pevents */
    uint32_t armed;         /* uv__io_t's events */
    int queued;             /* on the change list */
    struct watcher *prev, *next;  /* the change list (watcher_queue) */
};
/* endregion: watcher */

/* What the server remembers about one client between two wake-ups. */
struct client {
    struct watcher w;   /* first, so a watcher of a client is the client */
    char *out;          /* echo the socket has not taken; NULL until needed */
    size_t out_start;   /* first byte still to send */
    size_t out_end;     /* one past the last */
    size_t out_cap;     /* bytes allocated at out */
    int reading;        /* EPOLLIN wanted (off past HIGH_WATER, after EOF) */
    int peer_done;      /* read gave 0: close once out is empty */
    int partial;        /* the last read did not fill the buffer */
    long long active_ms;  /* last byte in from it, or out to it (-t) */
};

struct server {
    int epfd;                   /* the epoll instance: loop->backend_fd */
    struct watcher listener;
    struct watcher wake;        /* read end of the signal pipe */
    struct client **clients;    /* by descriptor: loop->watchers */
    size_t clients_cap;
    struct watcher *changes;    /* first of the change list */
    struct watcher *last_change;
    struct epoll_event *batch;  /* the events being handled now */
    int batch_len;
    long long resume_ms;        /* accepting is paused until then (EMFILE) */
    int accept_paused;
    time_t emfile_reported;     /* when we last warned about EMFILE */
    unsigned long emfile_count; /* accepts that failed for that reason */
    long max_clients;           /* -c */
    long idle_seconds;          /* -t, 0 = never */
    long long sweep_ms;         /* clock_ms() of the next look for idle ones */
    long grace_seconds;         /* -g */
    size_t live;                /* clients connected now */
    int stopping;               /* the listener is closed; clients finishing */
    long long grace_end;        /* clock_ms() when the stop turns to "now" */
    unsigned long served;
    unsigned long cut_off;      /* clients reset by the stop */
    long long echoed;           /* bytes written back, less what a reset
                                   threw away unsent */
};

static const char *on_option(int letter, const char *arg, void *ctx)
{
    struct server *s = ctx;
    if (letter == 'c')
        return parse_long_in(arg, 1, 65536, &s->max_clients) == 0
                   ? NULL : "a number of clients from 1 to 65536";
    if (letter == 't')
        return parse_long_in(arg, 0, 86400, &s->idle_seconds) == 0
                   ? NULL : "a number of seconds from 0 (never) to 86400";
    return parse_long_in(arg, 0, 3600, &s->grace_seconds) == 0
               ? NULL : "a number of seconds from 0 to 3600";
}

static long long clock_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* "EPOLLIN|EPOLLOUT" and the like, for the trace. */
static const char *event_names(uint32_t ev, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s%s%s%s", ev & EPOLLIN ? "|EPOLLIN" : "",
             ev & EPOLLOUT ? "|EPOLLOUT" : "", ev & EPOLLRDHUP ? "|EPOLLRDHUP"
             : "", ev & EPOLLERR ? "|EPOLLERR" : "",
             ev & EPOLLHUP ? "|EPOLLHUP" : "");
    return buf[0] == '|' ? buf + 1 : "0";
}

/* Each client costs one descriptor, and the soft limit is often 1024. The
 * hard limit is the ceiling an ordinary process may raise its own soft
 * limit to, so go there, as echo-server-poll does. Failing is not fatal:
 * we serve fewer clients. libuv has no call for this. */
static void raise_fd_limit(void)
{
    struct rlimit lim;

    if (getrlimit(RLIMIT_NOFILE, &lim) < 0) {
        warn_msg("getrlimit RLIMIT_NOFILE: %s", strerror(errno));
        return;
    }
    rlim_t before = lim.rlim_cur;
    if (lim.rlim_max != RLIM_INFINITY)
        lim.rlim_cur = lim.rlim_max;
    else if (lim.rlim_cur < 65536)
        lim.rlim_cur = 65536;  /* "no ceiling": ask for plenty, not all */
    if (lim.rlim_cur == before)
        return;
    int rc = setrlimit(RLIMIT_NOFILE, &lim);
    trace(rc, NULL, "the program's job, before uv_run",
          "setrlimit(RLIMIT_NOFILE, %llu -> %llu)", (unsigned long long)before,
          (unsigned long long)lim.rlim_cur);
    if (rc < 0)
        warn_msg("cannot raise the descriptor limit from %llu: %s (serving "
                 "fewer clients; see ulimit -n)",
                 (unsigned long long)before, strerror(errno));
}

/* region: watch */
/* Ask for more events on w (uv__io_start). Nothing reaches the kernel
 * yet: w joins the change list, unless the kernel already has this mask. */
static void queue_change(struct server *s, struct watcher *w)
{
    if (w->queued)
        return;
    w->queued = 1;
    w->prev = s->last_change;
    w->next = NULL;
    if (s->last_change != NULL)
        s->last_change->next = w;
    else
        s->changes = w;
    s->last_change = w;
}

static void drop_change(struct server *s, struct watcher *w)
{
    if (!w->queued)
        return;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        s->changes = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    else
        s->last_change = w->prev;
    w->queued = 0;
    w->prev = w->next = NULL;
}

static void watch(struct server *s, struct watcher *w, uint32_t events)
{
    w->want |= events;
    if (w->armed != w->want)
        queue_change(s, w);
}

/* Ask for fewer events (uv__io_stop). When something is still wanted, w
 * joins the change list whether or not the mask really changed: libuv
 * does not compare here, so after each finished echo (its uv__drain) its
 * strace shows an epoll_ctl MOD that changes nothing, and so does ours. A
 * loop tuned for speed would compare first. When nothing is wanted, the
 * kernel is not told at all: we only forget what it was told, and if it
 * reports the descriptor again, the loop takes it out then (DEL). */
static void unwatch(struct server *s, struct watcher *w, uint32_t events)
{
    w->want &= ~events;
    if (w->want != 0) {
        queue_change(s, w);
        return;
    }
    drop_change(s, w);
    w->armed = 0;
}
/* endregion: watch */

/* region: apply-changes */
/* Just before each wait, tell the kernel about every watcher that changed
 * since the last one, in the order they changed (uv__io_poll's first
 * loop). ADD for one the kernel has not been told about, MOD for the rest;
 * an ADD that finds the descriptor still there (a watcher we forgot, see
 * unwatch) becomes a MOD. data.fd comes back with each event. A client the
 * kernel will not take is dropped; our own two descriptors must go in. */
static void close_client(struct server *s, struct client *c, const char *why);

static void apply_changes(struct server *s)
{
    char names[64];

    while (s->changes != NULL) {
        struct watcher *w = s->changes;
        drop_change(s, w);
        struct epoll_event ev = {.events = w->want, .data.fd = w->fd};
        int op = w->armed == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;

        int rc = epoll_ctl(s->epfd, op, w->fd, &ev);
        trace(rc, NULL, op == EPOLL_CTL_ADD
              ? "uv__io_poll: a watcher's first wait (uv__io_start queued it)"
              : "uv__io_poll: a watcher uv__io_start/stop queued",
              "epoll_ctl(%d, %s, %d, %s)", s->epfd,
              op == EPOLL_CTL_ADD ? "ADD" : "MOD", w->fd,
              event_names(w->want, names, sizeof names));
        if (rc < 0 && errno == EEXIST && op == EPOLL_CTL_ADD) {
            rc = epoll_ctl(s->epfd, EPOLL_CTL_MOD, w->fd, &ev);
            trace(rc, "still there from before", "uv__io_poll, after EEXIST",
                  "epoll_ctl(%d, MOD, %d, %s)", s->epfd, w->fd,
                  event_names(w->want, names, sizeof names));
        }
        if (rc < 0 && (w == &s->listener || w == &s->wake))
            die(EX_OSERR, "epoll_ctl %d: %s", w->fd, strerror(errno));
        if (rc < 0) {
            warn_msg("client dropped: epoll_ctl: %s", strerror(errno));
            close_client(s, (struct client *)(void *)w, strerror(errno));
            continue;
        }
        w->armed = w->want;
    }
}
/* endregion: apply-changes */

/* region: forget-fd */
/* Before a descriptor is closed: take it out of epoll (DEL) and out of the
 * events of this pass not handled yet, so they are skipped even if accept4
 * hands the same number to a new client meanwhile. Closing would take it
 * out of epoll by itself, but only when no other descriptor (a dup, a
 * forked child's copy) shares the socket; libuv does DEL first for that
 * reason (uv__platform_invalidate_fd), and so do we. */
static void forget_fd(struct server *s, int fd)
{
    struct epoll_event unused = {0};  /* kernels before 2.6.9 wanted one */

    for (int i = 0; i < s->batch_len; i++)
        if (s->batch[i].data.fd == fd)
            s->batch[i].data.fd = -1;
    int rc = epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, &unused);
    trace(rc, NULL, "uv_close -> uv__io_close -> uv__platform_invalidate_fd",
          "epoll_ctl(%d, DEL, %d)", s->epfd, fd);
}
/* endregion: forget-fd */

/* region: wake-pipe */
/* The stop signals reach the loop through a pipe, as in echo-server-poll
 * and libuv (uv_loop_init makes one; uv_signal_start adds a handler): the
 * handler sets the stop level and writes a byte, the wait wakes up for the
 * pipe, and the loop acts on the stop once it has read it. */
static volatile sig_atomic_t wake_write_fd = -1;

static void on_stop_signal(int signo)
{
    int saved = errno;  /* write may change errno under the interrupted code */
    (void)signo;
    stop_step();  /* the first stop lets clients finish, a second: now */
    ssize_t n = write(wake_write_fd, "!", 1);  /* async-signal-safe */
    (void)n;  /* a full pipe already holds a wake-up: nothing lost */
    errno = saved;
}

static int open_wake_pipe(void)
{
    int ends[2];
    struct sigaction sa = {0};

    /* Both ends non-blocking and close-on-exec from birth: pipe2. */
    int rc = pipe2(ends, O_NONBLOCK | O_CLOEXEC);
    trace(rc, NULL, "uv_loop_init -> uv__signal_loop_once_init -> uv_pipe",
          "pipe2(O_NONBLOCK|O_CLOEXEC)");
    if (rc < 0)
        die(EX_OSERR, "pipe2: %s%s", strerror(errno), errno_hint(errno));
    wake_write_fd = ends[1];

    /* catch_stop_signals (in main) ignored SIGPIPE and set a handler that
     * only raises the flag; this one raises it and writes to the pipe. */
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);  /* one stop handler at a time */
    sigaddset(&sa.sa_mask, SIGTERM);
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
        die(EX_OSERR, "sigaction: %s", strerror(errno));
    trace(0, NULL, "uv_signal_start(SIGINT), uv_signal_start(SIGTERM)",
          "sigaction(SIGINT and SIGTERM, write to pipe %d)", ends[1]);
    return ends[0];
}
/* endregion: wake-pipe */

/* region: out-of-descriptors */
/* accept4 failed for want of a descriptor (or of kernel memory). The
 * client stays queued, so the listener stays readable: waiting for it
 * again at once would spin on the CPU. Stop watching it for a short while
 * instead, and warn now and then rather than on every attempt. (libuv
 * instead closes a spare descriptor it keeps, accepts everyone waiting and
 * closes them at once: uv__emfile_trick.) */
static void pause_accepting(struct server *s, int err)
{
    time_t wall = time(NULL);

    s->emfile_count++;
    if (s->emfile_reported == 0 ||
        wall - s->emfile_reported >= EMFILE_REPORT_EVERY) {
        warn_msg("accept: %s%s; serving the %zu clients already connected, "
                 "new ones wait in the backlog; retrying every %d ms (%lu "
                 "failure%s so far; this warning at most every %d s)",
                 strerror(err), errno_hint(err), s->live, ACCEPT_PAUSE_MS,
                 s->emfile_count, s->emfile_count == 1 ? "" : "s",
                 EMFILE_REPORT_EVERY);
        s->emfile_reported = wall;
    }
    s->accept_paused = 1;
    s->resume_ms = clock_ms() + ACCEPT_PAUSE_MS;
}
/* endregion: out-of-descriptors */

/* region: cap */
/* Watch the listener only while we would accept: not while paused for want
 * of descriptors, not at the cap (-c). Clients that come meanwhile wait in
 * the listen backlog, their handshake done by the kernel. (uv-echo-server
 * at its cap does the same through libuv, which stops watching the
 * listener while a connection it accepted waits for uv_accept.) */
static void watch_listener(struct server *s)
{
    int at_cap = s->live >= (size_t)s->max_clients;

    if (s->stopping)
        return;
    if (at_cap && s->listener.want != 0)
        trace_note("%zu clients = the cap (-c %ld): not accepting until one "
                   "leaves  ~ libuv: on_new_connection leaves it unaccepted",
                   s->live, s->max_clients);
    if (s->accept_paused || at_cap)
        unwatch(s, &s->listener, EPOLLIN);
    else
        watch(s, &s->listener, EPOLLIN);
}
/* endregion: cap */

/* A slot for descriptor fd in the table of clients, grown as needed. */
static struct client *new_client(struct server *s, int fd)
{
    size_t need = (size_t)fd + 1;

    if (need > s->clients_cap) {
        size_t cap = s->clients_cap == 0 ? 64 : s->clients_cap;
        while (cap < need)
            cap *= 2;
        /* A table of pointers, one per descriptor number: the size of a
         * pointer is meant (clang-tidy takes it for a slip). */
        size_t slot = sizeof(struct client *);
        struct client **clients = realloc(s->clients, cap * slot);  /* NOLINT(bugprone-sizeof-expression) */
        if (clients == NULL)
            die(EX_OSERR, "out of memory for %zu clients", cap);
        memset(clients + s->clients_cap, 0, (cap - s->clients_cap) * slot);
        s->clients = clients;
        s->clients_cap = cap;
    }
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL)
        die(EX_OSERR, "out of memory for a client");
    c->w.fd = fd;
    c->active_ms = clock_ms();
    s->clients[fd] = c;
    return c;
}

/* region: accept-all */
/* The listener is readable: one or more clients finished their handshake.
 * Take them all now, until accept4 says EAGAIN (nobody left in the queue)
 * or the cap is reached. accept4 makes each socket non-blocking and
 * close-on-exec in the same call: no fcntl, and no moment in which a
 * blocking socket could stall the loop. NULL, NULL: like libuv, we do not
 * ask for the peer's address; the trace asks getpeername for it. */
static void accept_clients(struct server *s)
{
    int listen_fd = s->listener.fd;

    while (s->live < (size_t)s->max_clients) {
        char note[ADDR_TEXT_MAX + 8] = "";

        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0 && trace_enabled()) {
            struct sockaddr_storage peer;
            socklen_t len = sizeof peer;
            char text[ADDR_TEXT_MAX];
            if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0)
                snprintf(note, sizeof note, "peer %s",
                         format_addr((struct sockaddr *)&peer, text,
                                     sizeof text));
        } else if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            snprintf(note, sizeof note, "queue empty");
        }
        trace(fd, note,
              fd >= 0 ? "uv__server_io -> uv__accept, then on_new_connection"
                        " -> uv_accept"
              : errno == EINTR ? "(uv__accept retries EINTR itself)"
                               : "uv__server_io -> uv__accept",
              "accept4(%d, SOCK_NONBLOCK|SOCK_CLOEXEC)", listen_fd);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;  /* the normal way out */
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;  /* a signal, or a client that left while queued */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                pause_accepting(s, errno);
                break;
            }
            warn_msg("accept4: %s", strerror(errno));
            break;  /* anything else: try again on the next wake-up */
        }
        struct client *c = new_client(s, fd);
        c->reading = 1;
        watch(s, &c->w, EPOLLIN);  /* uv_read_start: ADD at the next wait */
        s->live++;
    }
    watch_listener(s);  /* at the cap now, or paused? */
}
/* endregion: accept-all */

/* region: queue-output */
/* Keep n bytes the socket would not take, after any already waiting, so the
 * echo stays in order. The buffer is made and grown only when needed. */
static void queue_output(struct client *c, const char *data, size_t n)
{
    if (c->out_start > 0 && c->out_start == c->out_end)
        c->out_start = c->out_end = 0;  /* all sent: start again at 0 */
    if (c->out_end + n > c->out_cap && c->out_start > 0) {
        /* Slide the unsent bytes to the front before growing. */
        memmove(c->out, c->out + c->out_start, c->out_end - c->out_start);
        c->out_end -= c->out_start;
        c->out_start = 0;
    }
    if (c->out_end + n > c->out_cap) {
        size_t cap = c->out_cap == 0 ? READ_CHUNK : c->out_cap;
        while (cap < c->out_end + n)
            cap *= 2;
        char *out = realloc(c->out, cap);
        if (out == NULL)
            die(EX_OSERR, "out of memory for %zu bytes of output", cap);
        c->out = out;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_end, data, n);
    c->out_end += n;
}
/* endregion: queue-output */

/* region: close-client */
/* Close and forget client c: out of epoll, then close (uv_close). */
static void close_client(struct server *s, struct client *c, const char *why)
{
    int fd = c->w.fd;

    drop_change(s, &c->w);
    forget_fd(s, fd);
    int rc = close(fd);
    trace(rc, why, "uv_close -> uv__stream_close", "close(%d)", fd);
    s->clients[fd] = NULL;
    free(c->out);
    free(c);
    s->served++;
    s->live--;
    watch_listener(s);  /* below the cap again: accept the next */
}
/* endregion: close-client */

/* region: reset */
/* Cut client c off: SO_LINGER {1, 0} (reset_on_close, common/) makes the
 * close send RST and drop what the kernel has not sent yet, so the client
 * sees ECONNRESET, never a normal end of file after half its echo. Those
 * unsent bytes come off the count; the ones still in out were never
 * counted. uv_tcp_close_reset makes the same three calls: setsockopt,
 * epoll_ctl DEL, close. */
static void reset_client(struct server *s, struct client *c, const char *why)
{
    s->echoed -= unsent_bytes(c->w.fd);
    reset_on_close(c->w.fd, 1);
    close_client(s, c, why);
}
/* endregion: reset */

/* region: backpressure */
/* After each read and each write: should we read more from c? Not once it
 * has finished sending, and not while more than HIGH_WATER bytes of its
 * echo wait to go out: that is backpressure, its own sends then fill the
 * kernel's buffers and block it, instead of growing our memory. Stopping
 * while echo waits leaves EPOLLOUT wanted, so the change is a MOD to
 * EPOLLOUT, as uv_read_stop with writes queued is in libuv. */
static void update_reading(struct server *s, struct client *c)
{
    size_t waiting = c->out_end - c->out_start;
    int want_read = !c->peer_done && waiting < HIGH_WATER;

    if (want_read == c->reading)
        return;
    if (!c->peer_done)
        trace_note("fd %d: %zu bytes unsent: %s reading  ~ %s", c->w.fd,
                   waiting, want_read ? "resume" : "stop",
                   want_read ? "uv_read_start" : "uv_read_stop");
    c->reading = want_read;
    if (want_read)
        watch(s, &c->w, EPOLLIN);
    else
        unwatch(s, &c->w, EPOLLIN);
}
/* endregion: backpressure */

/* region: write-out */
/* Ask for EPOLLOUT while echo waits for c, stop asking once all of it has
 * gone: uv__write starts POLLOUT when a write falls short, uv__drain stops
 * it when the queue is empty (and queues the watcher: see unwatch). */
static void want_output(struct server *s, struct client *c)
{
    if (c->out_end > c->out_start)
        watch(s, &c->w, EPOLLOUT);
    else
        unwatch(s, &c->w, EPOLLOUT);
}

/* The socket has room again: write what waits. Returns 0, or -1 when the
 * client is gone (the caller closes it). */
static int write_out(struct server *s, struct client *c)
{
    size_t waiting = c->out_end - c->out_start;

    if (waiting > 0) {
        ssize_t n = write(c->w.fd, c->out + c->out_start, waiting);
        trace(n, NULL, "uv__stream_io -> uv__write", "write(%d, %zu)",
              c->w.fd, waiting);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
            errno != EINTR)
            return -1;
        if (n > 0) {
            c->out_start += (size_t)n;
            s->echoed += n;
            c->active_ms = clock_ms();  /* the client took some: not idle */
        }
    }
    want_output(s, c);
    update_reading(s, c);  /* below HIGH_WATER again? */
    return 0;
}
/* endregion: write-out */

/* region: read-and-echo */
/* The client sent something: read it in chunks of 64 KiB and echo each at
 * once, as uv__read does: until a read does not fill the buffer (nothing
 * more for now), 32 reads at most (the others get their turn), or we stop
 * reading (EOF, backpressure). Returns 0, or -1 when the client is gone. */
static int read_and_echo(struct server *s, struct client *c)
{
    static char buf[READ_CHUNK];  /* one thread: one buffer serves all */
    int fd = c->w.fd;

    c->partial = 0;
    for (int count = 0; count < READS_PER_WAKE && c->reading; count++) {
        ssize_t n = read(fd, buf, sizeof buf);
        trace_read(n, fd, "uv__read -> echo_read");
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;  /* nothing now: wait for the next EPOLLIN */
        if (n < 0 && errno == EINTR) {
            count--;  /* a signal, not a read: uv__read retries at once */
            continue;
        }
        if (n < 0)
            return -1;
        if (n == 0) {
            c->peer_done = 1;  /* no more input; finish sending, then close */
            update_reading(s, c);
            return 0;
        }
        c->active_ms = clock_ms();  /* a byte came: not idle */

        /* Echo at once if nothing is queued (uv_write tries first); what
         * the socket does not take now waits for EPOLLOUT. With bytes
         * already queued, these go behind them to keep the order. */
        size_t sent = 0;
        if (c->out_end == c->out_start) {
            ssize_t w = write(fd, buf, (size_t)n);
            char note[48] = "";
            if (w < n)
                snprintf(note, sizeof note, "%zd kept for EPOLLOUT",
                         w > 0 ? n - w : n);
            trace(w, note, "uv_write -> uv__write", "write(%d, %zd)", fd, n);
            if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                errno != EINTR)
                return -1;
            sent = w > 0 ? (size_t)w : 0;
            s->echoed += (long long)sent;
        }
        if (sent < (size_t)n)
            queue_output(c, buf + sent, (size_t)n - sent);
        want_output(s, c);
        update_reading(s, c);
        if ((size_t)n < sizeof buf) {
            c->partial = 1;  /* the buffer was not filled: all read */
            return 0;
        }
    }
    return 0;
}
/* endregion: read-and-echo */

/* region: client-io */
/* Act on what epoll reported for client c, in uv__stream_io's order: read
 * first (EPOLLERR and EPOLLHUP too: the read says what went wrong, and
 * data sent just before a close is still echoed), then write. A hangup
 * after a short read is the end of input even if no read said 0 yet. */
static void client_io(struct server *s, struct client *c, uint32_t ev)
{
    if ((ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) && c->reading &&
        read_and_echo(s, c) < 0) {
        close_client(s, c, strerror(errno));
        return;
    }
    if ((ev & EPOLLHUP) && c->reading && c->partial && !c->peer_done) {
        c->peer_done = 1;  /* uv__stream_eof with no read */
        update_reading(s, c);
    }
    if ((ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && write_out(s, c) < 0) {
        close_client(s, c, strerror(errno));
        return;
    }
    if (c->peer_done && c->out_end == c->out_start)
        close_client(s, c, "peer closed, echo complete");
}
/* endregion: client-io */

/* region: idle */
/* -t. A client is idle when no byte has come from it and none of its echo
 * has left for -t seconds, so one that trickles a byte a second never is.
 * One that sends and never reads is caught the same way: past HIGH_WATER
 * we stop reading it, so nothing comes in, and nothing goes out. The first
 * is owed nothing and is closed; the second is reset, its echo dropped.
 *
 * Looking means a walk over every client, so it is done at most once a
 * second, as uv-echo-server's repeating uv_timer_t does it: walked before
 * every wait, it made each wake-up cost O(clients) in our own code, and at
 * 10,000 idle clients it doubled a new client's round trip (lesson 09). A
 * client turns idle up to a second late. Returns the milliseconds until
 * the next look, or -1 when there is no -t: the wait sleeps no longer, as
 * uv__io_poll's timeout is the nearest timer's. */
static long drop_idle_clients(struct server *s)
{
    long long now = clock_ms(), limit = s->idle_seconds * 1000LL;

    if (s->idle_seconds == 0)
        return -1;
    if (now < s->sweep_ms)
        return (long)(s->sweep_ms - now);
    s->sweep_ms = now + 1000;
    for (size_t fd = 0; fd < s->clients_cap; fd++) {
        struct client *c = s->clients[fd];
        if (c == NULL || c->active_ms + limit > now)
            continue;
        if (c->out_end == c->out_start)
            close_client(s, c, "idle for -t: nothing came, nothing owed");
        else
            reset_client(s, c, "not reading for -t: its echo dropped");
    }
    return 1000;
}
/* endregion: idle */

/* region: stop */
/* The first Ctrl-C. Close the listener: from now on a connect is refused,
 * and the clients queued in the backlog get a reset. Those connected may
 * finish: the loop serves them on until they leave or -g seconds pass. */
static void stop_accepting(struct server *s)
{
    int fd = s->listener.fd;

    s->stopping = 1;
    s->grace_end = clock_ms() + s->grace_seconds * 1000LL;
    drop_change(s, &s->listener);
    forget_fd(s, fd);
    int rc = close(fd);
    trace(rc, "no new clients", "uv_close(server)", "close(%d)", fd);
    s->listener.fd = -1;
    s->listener.want = s->listener.armed = 0;
    trace_note("stop requested: %zu client%s may finish within %ld s (-g), "
               "then a reset", s->live, s->live == 1 ? "" : "s",
               s->grace_seconds);
}

/* The grace period is over, or a second Ctrl-C came: reset whoever is
 * still connected. */
static void cut_off_clients(struct server *s)
{
    if (s->live > 0)
        trace_note("stop: resetting %zu client%s", s->live,
                   s->live == 1 ? "" : "s");
    for (size_t fd = 0; fd < s->clients_cap; fd++) {
        if (s->clients[fd] == NULL)
            continue;
        s->cut_off++;
        reset_client(s, s->clients[fd], "cut off by the stop");
    }
}
/* endregion: stop */

/* region: signals */
/* The signal pipe was readable: empty it (one read holds 512 bytes, many
 * signals' worth), then act on the stop the handler asked for. libuv runs
 * its signal watchers after every other callback of the pass, and so do
 * we. */
static void on_signal(struct server *s)
{
    char junk[WAKE_READ];

    ssize_t n;
    do {
        n = read(s->wake.fd, junk, sizeof junk);
        trace(n, NULL, "uv__signal_event -> on_signal", "read(%d)",
              s->wake.fd);
    } while (n == (ssize_t)sizeof junk || (n < 0 && errno == EINTR));
    if (stop_requested != STOP_NONE && !s->stopping)
        stop_accepting(s);  /* the first Ctrl-C */
}
/* endregion: signals */

/* The soonest of what the wait must wake up for besides descriptors: the
 * end of an accept pause, the next client to turn idle, the end of the
 * grace period. -1: nothing, sleep until a descriptor is ready. */
static int wait_timeout(struct server *s)
{
    long timeout = drop_idle_clients(s);

    if (s->accept_paused) {
        long long ms = s->resume_ms - clock_ms();
        if (ms <= 0) {  /* the pause is over: watch the listener again */
            s->accept_paused = 0;
            watch_listener(s);
        } else if (timeout < 0 || ms < timeout) {
            timeout = (long)ms;
        }
    }
    if (s->stopping) {
        long long ms = s->grace_end - clock_ms();
        if (timeout < 0 || ms < timeout)
            timeout = ms < 0 ? 0 : (long)ms;
    }
    return timeout > 1000000 ? 1000000 : (int)timeout;
}

/* region: event-loop */
/* uv_run(loop, UV_RUN_DEFAULT): tell the kernel what changed, sleep in
 * epoll_wait until something is ready, handle what it returned, again.
 * Only the wait blocks; everything else is done because epoll said it
 * would not. */
static void run_loop(struct server *s)
{
    static struct epoll_event events[MAX_EVENTS];

    for (;;) {
        if (stop_requested == STOP_NOW ||
            (s->stopping && (s->live == 0 || clock_ms() >= s->grace_end)))
            return;  /* cut_off_clients resets whoever is left */

        int timeout = wait_timeout(s);  /* -1: until something happens */
        apply_changes(s);
        int n;
        do {  /* a signal: its handler wrote to the pipe, so wait again */
            n = epoll_wait(s->epfd, events, MAX_EVENTS, timeout);
            trace(n, NULL,
                  n < 0 && errno == EINTR ? "(uv__io_poll waits again itself)"
                                          : "uv_run -> uv__io_poll",
                  "epoll_wait(%d, %d ms)", s->epfd, timeout);
        } while (n < 0 && errno == EINTR);
        if (n < 0)
            die(EX_OSERR, "epoll_wait: %s", strerror(errno));

        int have_signals = 0;
        s->batch = events;
        s->batch_len = n;
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd < 0)
                continue;  /* closed during this pass (forget_fd) */
            struct client *c = (size_t)fd < s->clients_cap ? s->clients[fd]
                                                           : NULL;
            struct watcher *w = fd == s->wake.fd       ? &s->wake
                                : fd == s->listener.fd ? &s->listener
                                : c != NULL            ? &c->w
                                                       : NULL;
            if (w == NULL || w->want == 0) {
                /* Reported, but nobody watches it now (see unwatch): take
                 * it out, as uv__io_poll disarms such a descriptor. */
                char names[64];
                int rc = epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, &events[i]);
                trace(rc, event_names(events[i].events, names, sizeof names),
                      "uv__io_poll: a descriptor nobody watches, disarmed",
                      "epoll_ctl(%d, DEL, %d)", s->epfd, fd);
                continue;
            }
            /* Only what was asked for, plus errors and hangups; a lone
             * error or hangup is passed on as what was asked for, so the
             * read or write that follows meets it (uv__io_poll does so). */
            uint32_t ev = events[i].events & (w->want | EPOLLERR | EPOLLHUP);
            if (ev == EPOLLERR || ev == EPOLLHUP)
                ev |= w->want & (EPOLLIN | EPOLLOUT);
            if (w == &s->wake)
                have_signals = 1;
            else if (w == &s->listener)
                accept_clients(s);
            else
                client_io(s, c, ev);
        }
        s->batch = NULL;
        s->batch_len = 0;
        if (have_signals)
            on_signal(s);
    }
}
/* endregion: event-loop */

/* Stop: reset the clients still there, close what is left, free it all,
 * in uv_loop_close's order: the signal pipe, then the epoll instance. */
static void close_everything(struct server *s)
{
    if (!s->stopping)
        stop_accepting(s);  /* two signals at once: close the listener */
    cut_off_clients(s);
    int write_end = wake_write_fd;
    wake_write_fd = -1;  /* a late signal now writes nowhere (EBADF) */
    int rc = close(s->wake.fd);
    trace(rc, NULL, "uv_loop_close", "close(%d)", s->wake.fd);
    rc = close(write_end);
    trace(rc, NULL, "uv_loop_close", "close(%d)", write_end);
    rc = close(s->epfd);
    trace(rc, NULL, "uv_loop_close", "close(%d)", s->epfd);
    free(s->clients);
}

int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct sockaddr_storage addr;
    struct server s = {.max_clients = DEFAULT_MAX_CLIENTS,
                       .idle_seconds = DEFAULT_IDLE_SECONDS,
                       .grace_seconds = DEFAULT_GRACE_SECONDS};

    trace_init("echo-server-epoll", 0);
    parse_server_args(argc, argv, &args, usage, "c:t:g:", on_option, &s);
    if (catch_stop_signals() < 0)
        die(EX_OSERR, "sigaction: %s", strerror(errno));
    raise_fd_limit();

    int rc = ip_addr(args.host, args.port, &addr);
    if (rc != 0)
        die_unresolved(args.host, rc, 1);

    /* region: epoll-create */
    /* The loop first, as uv_default_loop comes before any handle: one
     * epoll instance, a descriptor of its own, close-on-exec. */
    s.epfd = epoll_create1(EPOLL_CLOEXEC);
    trace(s.epfd, NULL, "uv_default_loop -> uv_loop_init -> uv__epoll_init",
          "epoll_create1(EPOLL_CLOEXEC)");
    if (s.epfd < 0)
        die(EX_OSERR, "epoll_create1: %s%s", strerror(errno),
            errno_hint(errno));
    /* endregion: epoll-create */
    s.wake.fd = open_wake_pipe();
    watch(&s, &s.wake, EPOLLIN);  /* added at the first wait */

    s.listener.fd = open_listener_flags(&addr, DEFAULT_BACKLOG,
                                        SOCK_NONBLOCK | SOCK_CLOEXEC);
    watch_listener(&s);  /* uv_listen: added at the first wait too */
    if (say_listening(s.listener.fd) < 0)
        die(EX_IOERR, "cannot announce the port: %s", strerror(errno));

    run_loop(&s);

    close_everything(&s);
    warn_msg("stopped: %lu client%s served, %lld bytes written back, %lu cut "
             "off by the stop", s.served, s.served == 1 ? "" : "s", s.echoed,
             s.cut_off);
    return 0;
}

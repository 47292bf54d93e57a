/* echo_server_poll.c - one process, one thread, many clients: a poll() loop.
 *
 * bin/echo-server serves one client at a time because its read blocks: while
 * it waits on one socket it cannot notice the others. Here nothing blocks but
 * poll itself. Every socket is non-blocking, poll says which ones are ready,
 * we do the work that can be done right now, and go back to poll.
 *
 *   socket -> setsockopt -> bind -> listen      (open_listener, common/)
 *   fcntl(O_NONBLOCK) on the listener
 *   loop: poll(every descriptor)
 *         listener readable -> accept until EAGAIN
 *         client readable   -> read, write back what the socket takes now,
 *                              keep the rest for when it is writable
 *         client writable   -> write what was kept
 *         client gone       -> close, and sweep its slot out after the pass
 *         once a second     -> drop clients idle for -t seconds
 *   at -c clients: stop watching the listener (the next wait in the backlog)
 *   first Ctrl-C: close the listener, serve on for -g seconds, then reset
 *
 * That loop is libuv's uv_run: where we call poll, uv__io_poll calls
 * epoll_wait (Linux) or kevent (BSD, macOS), and then runs the callbacks of
 * the descriptors that are ready. The trace (-v) names each counterpart.
 *
 * Usage: echo-server-poll [-h] [-v] [-c MAX] [-t SECONDS] [-g SECONDS]
 *                         [-b ADDR] [PORT]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    "  Echo every byte back to many clients at once, from one poll() loop.\n"
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

/* The first two slots of the poll array are fixed; clients follow. */
enum { LISTENER = 0, WAKE = 1, FIRST_CLIENT = 2 };

#define READ_CHUNK (64 * 1024)  /* at most this much per read */
#define HIGH_WATER (256 * 1024) /* unsent bytes at which we stop reading */
#define ACCEPT_PAUSE_MS 100     /* rest after running out of descriptors */
#define EMFILE_REPORT_EVERY 10  /* seconds between two such warnings */
#define DEFAULT_MAX_CLIENTS 256 /* -c: 256 x 320 KiB = at most 80 MiB */
#define IDLE_CHECK_MS 1000      /* how often -t is checked */

/* What the server remembers about one client between two wake-ups. */
struct client {
    char *out;        /* echo not yet taken by the socket; NULL until needed */
    size_t out_start; /* first byte still to send */
    size_t out_end;   /* one past the last */
    size_t out_cap;   /* bytes allocated at out */
    int peer_done;    /* read gave 0: close once out is empty */
    int reading;      /* POLLIN wanted (off while out is over HIGH_WATER) */
    long long active_ms; /* last byte in from it, or out to it (-t) */
};

struct server {
    struct pollfd *fds;      /* what poll watches: one slot per descriptor */
    struct client *clients;  /* clients[i] goes with fds[i] */
    size_t used;             /* slots in use */
    size_t cap;              /* slots allocated */
    struct timespec resume;  /* accepting is paused until then (EMFILE) */
    int accept_paused;
    time_t emfile_reported;  /* when we last warned about EMFILE */
    unsigned long emfile_count;  /* accepts that failed for that reason */
    long max_clients;        /* -c */
    long idle_seconds;       /* -t, 0 = never */
    long grace_seconds;      /* -g */
    size_t live;             /* clients connected now */
    int stopping;            /* the listener is closed; clients finishing */
    long long grace_end;     /* clock_ms() when the stop turns to "now" */
    unsigned long served;
    unsigned long cut_off;   /* clients reset by the stop */
    long long echoed;        /* bytes written back, less what a reset threw
                                away unsent */
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

/* region: fd-limit */
/* Each client costs one descriptor, and the soft limit is often 1024. The
 * hard limit is the ceiling an ordinary process may raise its own soft
 * limit to, so go there. Failing is not fatal: we serve fewer clients. */
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
/* endregion: fd-limit */

/* region: nonblocking */
/* After this, a read with nothing to read, a write with no room and an
 * accept with nobody waiting return -1 with errno EAGAIN at once, instead
 * of putting the whole server to sleep. */
static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    int rc = flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    trace(rc, NULL, "libuv: SOCK_NONBLOCK / accept4 / pipe2 flags instead",
          "fcntl(%d, F_SETFL, O_NONBLOCK)", fd);
    return rc;
}
/* endregion: nonblocking */

/* region: wake-pipe */
/* A signal that lands after the loop has checked stop_requested but before
 * poll has started to sleep would be missed: poll would sleep on. So the
 * handler also writes a byte into a pipe that poll watches: poll wakes up
 * whenever the signal comes. libuv's uv_signal_start works the same way. */
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

    int rc = pipe(ends);
    trace(rc, NULL, "uv_default_loop -> uv_loop_init makes its signal pipe",
          "pipe()");
    if (rc < 0)
        die(EX_OSERR, "pipe: %s%s", strerror(errno), errno_hint(errno));
    if (set_nonblocking(ends[0]) < 0 || set_nonblocking(ends[1]) < 0)
        die(EX_OSERR, "fcntl O_NONBLOCK: %s", strerror(errno));
    wake_write_fd = ends[1];

    /* catch_stop_signals (in main) ignored SIGPIPE and set a handler that
     * only raises the flag; this one raises it and pokes the pipe. */
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

/* region: add-slot */
/* Give a descriptor a slot in the poll array, growing the arrays as the
 * number of clients grows. */
static void add_slot(struct server *s, int fd, short events)
{
    if (s->used == s->cap) {
        size_t cap = s->cap == 0 ? 64 : s->cap * 2;
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
    s->fds[s->used] = (struct pollfd){.fd = fd, .events = events,
                                      .revents = 0};
    s->clients[s->used] = (struct client){.out = NULL, .reading = 1,
                                          .active_ms = clock_ms()};
    s->used++;
}
/* endregion: add-slot */

static struct timespec now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

static long ms_until(struct timespec when)
{
    struct timespec t = now();
    long ms = (long)(when.tv_sec - t.tv_sec) * 1000 +
              (when.tv_nsec - t.tv_nsec) / 1000000;
    return ms < 0 ? 0 : ms;
}

/* region: out-of-descriptors */
/* accept failed for want of a descriptor (or of kernel memory). The client
 * stays queued, so the listener stays readable: polling it again at once
 * would spin on the CPU, failing the same way. Stop watching it for a short
 * while instead, and warn now and then rather than on every attempt. */
static void pause_accepting(struct server *s, int err)
{
    time_t wall = time(NULL);

    s->emfile_count++;
    if (s->emfile_reported == 0 ||
        wall - s->emfile_reported >= EMFILE_REPORT_EVERY) {
        warn_msg("accept: %s%s; serving the %zu clients already connected, "
                 "new ones wait in the backlog; retrying every %d ms (%lu "
                 "failure%s so far; this warning at most every %d s)",
                 strerror(err), errno_hint(err), s->used - FIRST_CLIENT,
                 ACCEPT_PAUSE_MS, s->emfile_count,
                 s->emfile_count == 1 ? "" : "s", EMFILE_REPORT_EVERY);
        s->emfile_reported = wall;
    }
    s->fds[LISTENER].events = 0;  /* poll ignores the listener meanwhile */
    s->accept_paused = 1;
    s->resume = now();
    s->resume.tv_nsec += ACCEPT_PAUSE_MS * 1000000L;
    if (s->resume.tv_nsec >= 1000000000L) {
        s->resume.tv_sec++;
        s->resume.tv_nsec -= 1000000000L;
    }
}
/* endregion: out-of-descriptors */

/* region: cap */
/* Watch the listener only while we would accept: not while paused for want
 * of descriptors, not at the cap (-c), not once a stop has begun. Clients
 * that come meanwhile wait in the listen backlog, their handshake done by
 * the kernel, as at the fork server's cap. So memory stays under -c times
 * one client's most (HIGH_WATER + READ_CHUNK of unsent echo). */
static void watch_listener(struct server *s)
{
    int at_cap = s->live >= (size_t)s->max_clients;

    if (at_cap && s->fds[LISTENER].events != 0)
        trace_note("%zu clients = the cap (-c %ld): not accepting until one "
                   "leaves  ~ libuv: on_new_connection leaves it unaccepted",
                   s->live, s->max_clients);
    s->fds[LISTENER].events =
        (short)(s->accept_paused || at_cap || s->stopping ? 0 : POLLIN);
}
/* endregion: cap */

/* region: accept-all */
/* The listener is readable: one or more clients finished their handshake.
 * Take them all now, until accept says EAGAIN (nobody left in the queue),
 * or the cap is reached. */
static void accept_clients(struct server *s)
{
    int listen_fd = s->fds[LISTENER].fd;

    while (s->live < (size_t)s->max_clients) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        char text[ADDR_TEXT_MAX], note[ADDR_TEXT_MAX + 8] = "";

        int fd = accept(listen_fd, (struct sockaddr *)&peer, &len);
        if (fd >= 0)
            snprintf(note, sizeof note, "peer %s",
                     format_addr((struct sockaddr *)&peer, text, sizeof text));
        else if (errno == EAGAIN || errno == EWOULDBLOCK)
            snprintf(note, sizeof note, "queue empty");
        trace(fd, note,
              fd >= 0 ? "uv__server_io -> on_new_connection -> uv_accept"
              : errno == EINTR ? "(libuv retries EINTR itself: no callback)"
                               : "uv__server_io",
              "accept(%d)", listen_fd);
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
            warn_msg("accept: %s", strerror(errno));
            break;  /* anything else: try again on the next wake-up */
        }
        /* Linux does not pass O_NONBLOCK from the listener to the new
         * socket (BSD does); set it, or one slow client stalls everyone. */
        if (set_nonblocking(fd) < 0) {
            warn_msg("fcntl O_NONBLOCK: %s", strerror(errno));
            close(fd);
            continue;
        }
        add_slot(s, fd, POLLIN);
        s->live++;
    }
    watch_listener(s);  /* at the cap now? */
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

/* region: set-interest */
/* Tell poll what we want from client i from now on. Writable: only while
 * bytes wait to go out (an empty socket buffer is nearly always writable,
 * and asking would wake us for nothing). Readable: unless the client has
 * finished, or has more than HIGH_WATER bytes of echo it is not reading.
 * That last rule is backpressure: the client's own sends then fill the
 * kernel's buffers and block it, instead of growing our memory. */
static void set_interest(struct server *s, size_t i)
{
    struct client *c = &s->clients[i];
    size_t waiting = c->out_end - c->out_start;
    int want_read = !c->peer_done && waiting < HIGH_WATER;

    if (want_read != c->reading && !c->peer_done)
        trace_note("fd %d: %zu bytes unsent: %s reading  ~ %s", s->fds[i].fd,
                   waiting, want_read ? "resume" : "stop",
                   want_read ? "uv_read_start" : "uv_read_stop");
    c->reading = want_read;
    s->fds[i].events = (short)((want_read ? POLLIN : 0) |
                               (waiting > 0 ? POLLOUT : 0));
}
/* endregion: set-interest */

/* region: close-client */
/* Close and forget client i. Its slot keeps fd = -1 until sweep (below):
 * poll skips negative descriptors, and no other slot moves mid-pass. */
static void close_client(struct server *s, size_t i, const char *why)
{
    struct client *c = &s->clients[i];
    int fd = s->fds[i].fd;

    int rc = close(fd);
    trace(rc, why, "uv_close", "close(%d)", fd);
    free(c->out);
    *c = (struct client){.out = NULL};
    s->fds[i].fd = -1;
    s->fds[i].events = 0;
    s->served++;
    s->live--;
    watch_listener(s);  /* below the cap again: accept the next */
}
/* endregion: close-client */

/* region: reset */
/* Cut client i off: SO_LINGER {1, 0} (reset_on_close, common/) makes the
 * close send RST and drop what the kernel has not sent yet, so the client
 * sees ECONNRESET, never a normal end of file after half its echo. Those
 * unsent bytes come off the count (short by the few the kernel may still
 * send meanwhile, if the client is reading just then); the ones still in
 * out were never counted. */
static void reset_client(struct server *s, size_t i, const char *why)
{
    int fd = s->fds[i].fd;

    s->echoed -= unsent_bytes(fd);
    reset_on_close(fd, 1);
    close_client(s, i, why);
}
/* endregion: reset */

/* region: write-pending */
/* The socket has room again: send what was kept. Returns 0, or -1 when the
 * client is gone (the caller closes it). */
static int write_pending(struct server *s, size_t i)
{
    struct client *c = &s->clients[i];
    int fd = s->fds[i].fd;
    size_t waiting = c->out_end - c->out_start;

    ssize_t n = write(fd, c->out + c->out_start, waiting);
    trace(n, NULL, "uv__stream_io -> uv__write", "write(%d, %zu)", fd,
          waiting);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
                   ? 0 : -1;
    c->out_start += (size_t)n;
    s->echoed += n;
    if (n > 0)
        c->active_ms = clock_ms();  /* the client took some: not idle */
    return 0;
}
/* endregion: write-pending */

/* region: read-and-echo */
/* The client sent something: read one chunk and echo it. poll keeps
 * reporting a socket readable while data waits, so one read per wake-up is
 * enough, and it keeps one busy client from starving the others.
 * Returns 0, or -1 when the client is gone (the caller closes it). */
static int read_and_echo(struct server *s, size_t i)
{
    static char buf[READ_CHUNK];  /* one thread: one buffer serves all */
    struct client *c = &s->clients[i];
    int fd = s->fds[i].fd;
    char uv[80];

    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0)
        snprintf(uv, sizeof uv, "uv__read -> echo_read, nread = %zd", n);
    else if (n == 0)
        snprintf(uv, sizeof uv, "uv__read -> echo_read, nread = UV_EOF");
    else if (errno == EAGAIN || errno == EWOULDBLOCK)
        snprintf(uv, sizeof uv, "uv__read -> echo_read, nread = 0 (EAGAIN)");
    else if (errno == EINTR)
        snprintf(uv, sizeof uv, "(uv__read retries EINTR itself)");
    else
        snprintf(uv, sizeof uv, "uv__read -> echo_read, nread = UV_%s",
                 errno_name(errno));
    trace(n, n == 0 ? "peer closed" : NULL, uv, "read(%d)", fd);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
                   ? 0 : -1;
    if (n == 0) {
        c->peer_done = 1;  /* no more input; finish sending, then close */
        return 0;
    }
    c->active_ms = clock_ms();  /* a byte came: not idle */

    /* Echo at once if nothing is queued (as uv_write tries first); what
     * the socket does not take now waits for POLLOUT. With bytes already
     * queued, these go behind them to keep the order. */
    size_t sent = 0;
    if (c->out_end == c->out_start) {
        ssize_t w = write(fd, buf, (size_t)n);
        char note[48] = "";
        if (w < n)
            snprintf(note, sizeof note, "%zd kept for POLLOUT",
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
    return 0;
}
/* endregion: read-and-echo */

/* region: handle-client */
/* Act on what poll reported for client i. POLLERR and POLLHUP are reported
 * even when not asked for: an error (a reset) or a connection closed in
 * both directions. POLLIN comes first so that data sent just before a
 * close is still read and echoed. */
static void handle_client(struct server *s, size_t i)
{
    short ready = s->fds[i].revents;
    struct client *c = &s->clients[i];

    if (ready & (POLLERR | POLLNVAL)) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s->fds[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
        close_client(s, i, err != 0 ? strerror(err) : "POLLERR");
        return;
    }
    if ((ready & POLLIN) && read_and_echo(s, i) < 0) {
        close_client(s, i, strerror(errno));
        return;
    }
    if ((ready & POLLOUT) && write_pending(s, i) < 0) {
        close_client(s, i, strerror(errno));
        return;
    }
    if ((ready & POLLHUP) && !(ready & POLLIN)) {
        close_client(s, i, "POLLHUP: connection closed both ways");
        return;
    }
    if (c->peer_done && c->out_end == c->out_start) {
        close_client(s, i, "peer closed, echo complete");
        return;
    }
    set_interest(s, i);
}
/* endregion: handle-client */

/* region: sweep */
/* After the pass, squeeze out the slots of clients closed during it. Each
 * live slot moves down to the next free position, in order, its client
 * record with it. The popular shortcut - move the last slot into the hole
 * at once, then i++ - skips the moved slot for this pass; done carelessly
 * it pairs a descriptor with another client's buffer. */
static void sweep(struct server *s)
{
    size_t kept = FIRST_CLIENT;

    for (size_t i = FIRST_CLIENT; i < s->used; i++) {
        if (s->fds[i].fd < 0)
            continue;
        if (i != kept) {
            s->fds[kept] = s->fds[i];
            s->clients[kept] = s->clients[i];
        }
        kept++;
    }
    s->used = kept;
}
/* endregion: sweep */

/* Empty the wake pipe so that it does not stay readable. */
static void drain_wake_pipe(int fd)
{
    char junk[64];
    while (read(fd, junk, sizeof junk) > 0)
        continue;
}

/* region: idle */
/* -t. A client is idle when no byte has come from it and none of its echo
 * has left for -t seconds, so one that trickles a byte a second never is.
 * One that sends and never reads is caught the same way: once its unsent
 * echo passes HIGH_WATER we stop reading it (set_interest), so nothing
 * comes in, and nothing goes out. The first is owed nothing and is closed;
 * the second is reset, its echo dropped. Returns the milliseconds until the
 * next client could become idle (poll's timeout), or -1 for none. libuv
 * computes its poll timeout from its nearest timer the same way. */
static long drop_idle_clients(struct server *s)
{
    long long at = clock_ms(), limit = s->idle_seconds * 1000LL;
    long long next = -1;

    if (s->idle_seconds == 0)
        return -1;
    for (size_t i = FIRST_CLIENT; i < s->used; i++) {
        struct client *c = &s->clients[i];
        if (s->fds[i].fd < 0)
            continue;
        long long due = c->active_ms + limit;
        if (due > at) {
            if (next < 0 || due - at < next)
                next = due - at;
        } else if (c->out_end == c->out_start) {
            close_client(s, i, "idle for -t: nothing came, nothing owed");
        } else {
            reset_client(s, i, "not reading for -t: its echo dropped");
        }
    }
    return (long)next;
}
/* endregion: idle */

/* region: stop */
/* The first Ctrl-C. Close the listener: from now on a connect is refused,
 * and the clients queued in the backlog get a reset. Those connected may
 * finish: the loop serves them on until they leave or -g seconds pass. */
static void stop_accepting(struct server *s)
{
    int fd = s->fds[LISTENER].fd;

    s->stopping = 1;
    s->grace_end = clock_ms() + s->grace_seconds * 1000LL;
    int rc = close(fd);
    trace(rc, "no new clients", "uv_close", "close(%d)", fd);
    s->fds[LISTENER].fd = -1;  /* poll skips negative descriptors */
    s->fds[LISTENER].events = 0;
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
    for (size_t i = FIRST_CLIENT; i < s->used; i++) {
        if (s->fds[i].fd < 0)
            continue;
        s->cut_off++;
        reset_client(s, i, "cut off by the stop");
    }
}
/* endregion: stop */

/* The soonest of what poll must wake up for besides descriptors: the end
 * of an accept pause, the next client to turn idle, the end of the grace
 * period. -1: nothing, sleep until a descriptor is ready. */
static int poll_timeout(struct server *s)
{
    long timeout = drop_idle_clients(s);

    if (s->accept_paused) {
        long ms = ms_until(s->resume);
        if (ms == 0) {  /* the pause is over: watch the listener again */
            s->accept_paused = 0;
            watch_listener(s);
        } else if (timeout < 0 || ms < timeout) {
            timeout = ms;
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
/* Sleep in poll until something is ready, then handle every ready slot.
 * This is uv_run(loop, UV_RUN_DEFAULT): the only blocking call is the
 * wait; everything else is done because poll said it would not block. */
static void run_loop(struct server *s)
{
    for (;;) {
        if (stop_requested != STOP_NONE && !s->stopping)
            stop_accepting(s);  /* the first Ctrl-C */
        if (stop_requested == STOP_NOW ||
            (s->stopping && (s->live == 0 || clock_ms() >= s->grace_end)))
            return;  /* cut_off_clients resets whoever is left */

        int timeout = poll_timeout(s);  /* -1: until something happens */
        int ready = poll(s->fds, (nfds_t)s->used, timeout);
        char wait[32] = "";
        if (timeout >= 0)
            snprintf(wait, sizeof wait, ", %d ms", timeout);
        trace(ready, NULL, "uv_run -> uv__io_poll -> epoll_wait",
              "poll(%zu fds%s)", s->used, wait);
        if (ready < 0) {
            if (errno == EINTR)
                continue;  /* a signal: the tests at the top decide */
            die(EX_OSERR, "poll: %s", strerror(errno));
        }

        if (s->fds[WAKE].revents != 0)
            drain_wake_pipe(s->fds[WAKE].fd);
        if (s->fds[LISTENER].revents & POLLIN)
            accept_clients(s);  /* new slots start with revents = 0 */
        for (size_t i = FIRST_CLIENT; i < s->used; i++) {
            if (s->fds[i].fd >= 0 && s->fds[i].revents != 0)
                handle_client(s, i);
        }
        sweep(s);
    }
}
/* endregion: event-loop */

/* Stop: reset the clients still there, close what is left, free it all. */
static void close_everything(struct server *s)
{
    if (!s->stopping)
        stop_accepting(s);  /* two signals at once: close the listener */
    cut_off_clients(s);
    int write_end = wake_write_fd;
    wake_write_fd = -1;  /* a late signal now writes nowhere (EBADF) */
    close(write_end);
    close(s->fds[WAKE].fd);
    free(s->fds);
    free(s->clients);
}

int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct sockaddr_storage addr;
    struct server s = {.max_clients = DEFAULT_MAX_CLIENTS,
                       .idle_seconds = DEFAULT_IDLE_SECONDS,
                       .grace_seconds = DEFAULT_GRACE_SECONDS};

    trace_init("echo-server-poll", 0);
    parse_server_args(argc, argv, &args, usage, "c:t:g:", on_option, &s);
    if (catch_stop_signals() < 0)
        die(EX_OSERR, "sigaction: %s", strerror(errno));
    raise_fd_limit();

    int rc = ip_addr(args.host, args.port, &addr);
    if (rc != 0)
        die_unresolved(args.host, rc, 1);

    int listen_fd = open_listener(&addr, DEFAULT_BACKLOG);
    if (set_nonblocking(listen_fd) < 0)
        die(EX_OSERR, "fcntl O_NONBLOCK: %s", strerror(errno));
    add_slot(&s, listen_fd, POLLIN);
    add_slot(&s, open_wake_pipe(), POLLIN);
    if (say_listening(listen_fd) < 0)
        die(EX_IOERR, "cannot announce the port: %s", strerror(errno));

    run_loop(&s);

    close_everything(&s);
    warn_msg("stopped: %lu client%s served, %lld bytes written back, %lu cut "
             "off by the stop", s.served, s.served == 1 ? "" : "s", s.echoed,
             s.cut_off);
    return 0;
}

/* uv_echo_server.c - the echo server again, on libuv's event loop.
 *
 * The same job as bin/echo-server, in the shape of the libuv guide's echo
 * server, so the two read side by side (lessons/04). main sets up:
 *
 *   uv_default_loop -> uv_tcp_init -> uv_ip4_addr -> uv_tcp_bind
 *   -> uv_listen(on_new_connection) -> uv_run
 *
 * and the rest happens in five callbacks: on_new_connection (uv_tcp_init +
 * uv_accept + uv_read_start), alloc_buffer (a buffer for each read),
 * echo_read (uv_write the bytes back), echo_write (that write is over) and
 * on_close (the handle may be freed).
 *
 * Nothing here blocks. libuv makes every socket non-blocking, waits for all
 * of them at once (epoll on Linux) and calls us back when one is ready, so
 * one process serves many clients at a time, with no fork and no threads.
 *
 * What the guide's sample leaves out is kept apart, in the "extras" below
 * main: checked returns, reused buffers, backpressure, a close that waits
 * for the last echo, limits (-c clients at once, -t idle timeout, the
 * descriptor limit), and a stop on SIGINT or SIGTERM that lets clients
 * finish for -g seconds, then resets them.
 *
 * With -v each libuv call and callback is traced, with the system calls
 * libuv made during it on the right (after "~").
 *
 * Usage: uv-echo-server [-h] [-v] [-c MAX] [-t SECONDS] [-g SECONDS]
 *                       [-b ADDR] [PORT]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "addr.h"
#include "cli.h"
#include "fail.h"
#include "signals.h"
#include "echo.h"
#include "trace.h"
#include "uv_trace.h"

static const char usage[] =
    "[-h] [-v] [-c MAX] [-t SECONDS] [-g SECONDS] [-b ADDR] [PORT]\n"
    "  Echo every byte back, to many clients at once, with libuv.\n"
    "  -c MAX      most clients at once, 1-65536 (default 256); the others "
    "wait\n"
    "              in the backlog. Each holds at most 256 KiB of echo.\n"
    "  -t SECONDS  drop a client when no byte has come from it and none of "
    "its\n"
    "              echo has left for this long, 0-86400, 0 = never "
    "(default 300)\n"
    "  -g SECONDS  on a stop, let clients finish this long, then reset them,"
    "\n"
    "              0-3600 (default 2); a second Ctrl-C resets them at once\n"
    "  -b ADDR     address to listen on (default 127.0.0.1; :: or 0.0.0.0 "
    "for all)\n"
    "  -v          trace each libuv call with the system calls it makes\n"
    "  PORT        0-65535, default 7000; 0 lets the kernel choose";

/* Reads land in 64 KiB buffers, the size echo-server reads into. */
#define CHUNK_SIZE (64 * 1024)

/* Backpressure. A client that sends without reading its echo makes our
 * writes queue up inside libuv. Once a client has this many writes
 * unfinished (4 x 64 KiB = 256 KiB held for it) we stop reading from it and
 * start again when one finishes. Counted in buffers, not bytes: a 1-byte
 * read still holds a whole 64 KiB buffer until its write is done. */
#define MAX_PENDING_WRITES 4

/* Buffers with no write left to do wait in a spare list for the next read,
 * up to this many; beyond that they go back to malloc. */
#define SPARE_CHUNKS_MAX 64

/* -c by default: 256 clients x 256 KiB of echo each = at most 64 MiB. */
#define DEFAULT_MAX_CLIENTS 256

/* Out of descriptors: try the waiting connection again this often, and
 * say so at most this often. */
#define RETRY_ACCEPT_MS 100
#define EMFILE_REPORT_EVERY 10

/* region: chunk */
/* One echo in flight: the bytes read and the write request that sends them
 * back. uv_write keeps a copy of the uv_buf_t (pointer and length), not of
 * the bytes, so they must stay untouched until echo_write; holding them in
 * the same struct as the request makes that automatic. data comes first, so
 * the buffer address libuv hands back to echo_read is the chunk's own. */
struct chunk {
    char data[CHUNK_SIZE];
    size_t len;             /* bytes of data being echoed */
    uv_write_t req;
    struct chunk *next;     /* in the spare list */
};
/* endregion: chunk */

struct client {
    uv_tcp_t handle;         /* handle.data points back at this struct */
    int fd;                  /* for the trace only: libuv owns it */
    unsigned pending_writes; /* uv_write calls whose echo_write has not run */
    int reading;             /* between uv_read_start and uv_read_stop */
    int got_eof;             /* the client has finished sending */
    int accepted;            /* counts as a client served once closed */
    uint64_t active_ms;      /* uv_now when a byte last came or left (-t) */
    size_t queued;           /* bytes handed to uv_write */
    size_t done;             /* bytes of the writes that completed */
    size_t taken_seen;       /* queued - write queue, at the last -t check */
    int settled;             /* bytes counted at a reset: echo_write must not
                                count them again */
};

static struct limits {
    long max_clients;    /* -c */
    long idle_seconds;   /* -t, 0 = never */
    long grace_seconds;  /* -g */
} limits = {DEFAULT_MAX_CLIENTS, DEFAULT_IDLE_SECONDS, DEFAULT_GRACE_SECONDS};

static uv_loop_t *loop;
static uv_tcp_t server;
static uv_signal_t sigint_watcher, sigterm_watcher;
static uv_timer_t idle_timer, grace_timer, retry_timer;
static unsigned long clients_served, clients_now, cut_off;
static long long bytes_echoed;  /* written back, less what a reset dropped */
static int holding;   /* libuv holds a connection we have not accepted */
static int stopping;  /* the listener is closed; clients finishing */

/* The extras, defined below main. */
static struct chunk *take_spare(void);
static void give_back(struct chunk *chunk);
static void close_client(struct client *c);
static void reset_client(struct client *c, const char *why);
static int no_room_for(void);
static void start_reading(struct client *c);
static void stop_reading(struct client *c);
static void finish_if_done(struct client *c);
static void after_a_client_left(void);
static int leave_it_waiting(void);
static void start_idle_checks(void);
static void watch_stop_signals(void);
static void watch_limits(void);
static const char *on_option(int letter, const char *arg, void *ctx);
static void other_address(const char *host, uint16_t port,
                          struct sockaddr_storage *addr);
static void say_listening(void);
static void free_spare_chunks(void);
static void stop_now(void);
static const char *handle_name(const void *handle);
static int fd_of(const void *handle);
static void trace_bind(int rc, const struct sockaddr_storage *addr);
static void trace_handover(int rc, struct client *c);
static void trace_read_end(const struct client *c, ssize_t nread,
                           const uv_buf_t *buf);
static void check(int rc, const char *what);
static void check_addr(int rc, const char *call,
                       const struct sockaddr_storage *addr);

/* region: alloc-buffer */
/* libuv asks for a buffer each time it is about to read(2) a client. The
 * guide mallocs 64 KiB here and frees it after the write, which makes glibc
 * hand the memory back to the kernel and fault it in again on almost every
 * echo (1.2-3.9x slower, depending on the machine; lesson 06 says how to
 * measure it). A spare list reuses buffers instead.
 * A NULL base (malloc failed) makes libuv call echo_read with UV_ENOBUFS. */
static void alloc_buffer(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct chunk *chunk = take_spare();

    (void)handle;
    (void)suggested;  /* libuv suggests 64 KiB: what CHUNK_SIZE is anyway */
    *buf = uv_buf_init(chunk != NULL ? chunk->data : NULL,
                       chunk != NULL ? CHUNK_SIZE : 0);
}
/* endregion: alloc-buffer */

/* region: close-client */
/* uv_close closed the descriptor at once, but libuv held on to the handle
 * until now (after any echo_write it still owed us, with UV_ECANCELED).
 * Only now may the memory go. */
static void on_close(uv_handle_t *handle)
{
    struct client *c = handle->data;

    trace_step("no system call: the fd was closed in uv_close",
               "on_close(client %d)", c->fd);
    clients_served += c->accepted != 0;
    clients_now -= c->accepted != 0;
    free(c);
    after_a_client_left();  /* a waiting connection, or a stop (extras) */
}

/* Close once: echo_read, echo_write and the stop may all ask. */
static void close_client(struct client *c)
{
    if (uv_is_closing((uv_handle_t *)&c->handle))
        return;
    trace_step(bsd("epoll_ctl(DEL, %d) + close(%d)", c->fd, c->fd),
               "uv_close(client %d)", c->fd);
    uv_close((uv_handle_t *)&c->handle, on_close);
}
/* endregion: close-client */

/* region: echo-write */
/* The write is over: its bytes are in the kernel (status 0), or it failed,
 * or it was cancelled because the client is closing (UV_ECANCELED). */
static void echo_write(uv_write_t *req, int status)
{
    struct chunk *chunk = req->data;
    struct client *c = req->handle->data;

    uv_step(status, "the write finished; nothing more to do",
            "echo_write(client %d) status", c->fd);
    c->pending_writes--;
    if (status == 0) {
        c->done += chunk->len;
        c->active_ms = uv_now(loop);  /* the client took its echo (-t) */
        if (!c->settled)
            bytes_echoed += (long long)chunk->len;
    }
    give_back(chunk);  /* libuv is done with the bytes: reuse the buffer */

    if (uv_is_closing((uv_handle_t *)&c->handle))
        return;
    if (status < 0) {
        warn_msg("client dropped: %s", uv_strerror(status));
        close_client(c);
    } else if (c->got_eof) {
        finish_if_done(c);
    } else if (!c->reading && c->pending_writes < MAX_PENDING_WRITES) {
        start_reading(c);  /* the backlog has drained: read again */
    }
}
/* endregion: echo-write */

/* region: echo-read */
/* Called after each read(2) on the client: nread > 0 bytes arrived in buf,
 * UV_EOF means the client closed its side, another negative value is an
 * error. nread == 0 means read(2) said EAGAIN: nothing this time (libuv
 * never passes UV_EAGAIN here, and retries EINTR itself). */
static void echo_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct client *c = stream->data;
    struct chunk *chunk = (struct chunk *)(void *)buf->base;

    if (nread > 0) {
        uv_step(nread, bsd("read(%d) = %zd", c->fd, nread),
                "echo_read(client %d) nread", c->fd);
        c->active_ms = uv_now(loop);  /* a byte came: not idle (-t) */
        /* Write back exactly the nread bytes that came, not buf->len. */
        chunk->len = (size_t)nread;
        chunk->req.data = chunk;
        uv_buf_t out = uv_buf_init(chunk->data, (unsigned)nread);
        size_t queued = uv_stream_get_write_queue_size(stream);
        int rc = uv_write(&chunk->req, stream, &out, 1, echo_write);
        uv_step(rc, uv_write_note(rc, stream, c->fd, (size_t)nread, queued),
                "uv_write(client %d, %zd)", c->fd, nread);
        if (rc < 0) {
            give_back(chunk);
            warn_msg("client dropped: %s", uv_strerror(rc));
            close_client(c);
            return;
        }
        c->queued += (size_t)nread;
        if (++c->pending_writes >= MAX_PENDING_WRITES)
            stop_reading(c);
        return;
    }

    give_back(chunk);  /* nothing to echo: the buffer is free again */
    trace_read_end(c, nread, buf);
    if (nread == 0)
        return;
    if (nread != UV_EOF) {
        warn_msg("client dropped: %s", uv_strerror((int)nread));
        close_client(c);
        return;
    }
    c->got_eof = 1;  /* libuv has stopped reading by itself */
    c->reading = 0;
    finish_if_done(c);  /* close once the last echo is out */
}
/* endregion: echo-read */

/* region: on-new-connection */
static void accept_client(uv_stream_t *listener);

/* The listening socket was readable, and libuv has already called accept4
 * for us; uv_accept only hands the new descriptor to a handle of ours. */
static void on_new_connection(uv_stream_t *listener, int status)
{
    uv_step(status, bsd("accept4(%d, SOCK_NONBLOCK|SOCK_CLOEXEC), by libuv "
                        "before this call; after it, libuv tries accept4 "
                        "again until EAGAIN", fd_of(listener)),
            "on_new_connection status");
    if (status < 0) {
        warn_msg("accept: %s", uv_strerror(status));
        return;
    }
    /* At the cap (-c), or no descriptor for the next one: not now. */
    if (leave_it_waiting())
        return;
    accept_client(listener);
}

/* A handle for the connection libuv accepted, and reading starts. */
static void accept_client(uv_stream_t *listener)
{
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL)
        die(EX_OSERR, "accept: out of memory for a new client");
    c->fd = -1;
    int rc = uv_tcp_init(loop, &c->handle);
    uv_step(rc, "no system call: accept4 made the socket",
            "uv_tcp_init(client)");
    if (rc < 0) {
        free(c);  /* a handle whose init failed is not in the loop */
        check(rc, "uv_tcp_init");
    }
    c->handle.data = c;

    rc = uv_accept(listener, (uv_stream_t *)&c->handle);
    trace_handover(rc, c);
    if (rc < 0) {
        warn_msg("accept: %s", uv_strerror(rc));
        close_client(c);
        return;
    }
    c->accepted = 1;
    c->active_ms = uv_now(loop);
    if (++clients_now == 1)
        start_idle_checks();  /* -t (extras) */
    start_reading(c);  /* uv_read_start(client, alloc_buffer, echo_read) */
}
/* endregion: on-new-connection */

/* region: main */
int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct sockaddr_storage addr;

    trace_init("uv-echo-server", 0);
    parse_server_args(argc, argv, &args, usage, "c:t:g:", on_option,
                      &limits);
    /* libuv writes with write(2): a client that has gone must give EPIPE,
     * not kill the server with SIGPIPE. */
    if (ignore_sigpipe() < 0)
        die(EX_OSERR, "sigaction: %s", strerror(errno));

    loop = uv_default_loop();
    uv_trace_loop(loop);
    watch_stop_signals();  /* SIGINT, SIGTERM: finish, then reset (extras) */
    watch_limits();        /* descriptors, idle clients (extras) */

    int rc = uv_tcp_init(loop, &server);
    uv_step(rc, "no socket: uv_tcp_bind makes it (the loop's first stream "
            "opens /dev/null, a spare fd for EMFILE)", "uv_tcp_init(server)");
    check(rc, "uv_tcp_init");

    memset(&addr, 0, sizeof addr);
    rc = uv_ip4_addr(args.host, args.port, (struct sockaddr_in *)&addr);
    uv_step(rc, "no system call: inet_pton into a sockaddr_in",
            "uv_ip4_addr(%s, %u)", args.host, (unsigned)args.port);
    if (rc < 0)
        other_address(args.host, args.port, &addr);  /* IPv6, or a name */

    rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    trace_bind(rc, &addr);
    check_addr(rc, "bind", &addr);

    rc = uv_listen((uv_stream_t *)&server, DEFAULT_BACKLOG, on_new_connection);
    uv_step(rc, bsd("listen(%d, %d); epoll_ctl(ADD) waits for uv_run",
                    fd_of(&server), DEFAULT_BACKLOG),
            "uv_listen(server, %d)", DEFAULT_BACKLOG);
    /* uv_tcp_bind keeps bind's "address in use" and uv_listen returns it. */
    check_addr(rc, rc == UV_EADDRINUSE ? "bind" : "listen", &addr);
    say_listening();  /* "listening on ADDR:PORT" on stdout (extras) */

    trace_step("epoll_ctl(ADD) for each new watcher, epoll_wait, callbacks; "
               "again and again", "uv_run(loop, UV_RUN_DEFAULT)");
    rc = uv_run(loop, UV_RUN_DEFAULT);
    uv_step(rc, "nothing left to watch", "uv_run(loop, UV_RUN_DEFAULT)");

    rc = uv_loop_close(loop);
    uv_step(rc, "closes the epoll fd, the loop's pipes, its eventfd and the "
            "spare /dev/null fd", "uv_loop_close(loop)");
    if (rc < 0)
        warn_msg("uv_loop_close: %s", uv_strerror(rc));
    free_spare_chunks();
    warn_msg("stopped: %lu client%s served, %lld bytes written back, %lu "
             "cut off by the stop", clients_served,
             clients_served == 1 ? "" : "s", bytes_echoed, cut_off);
    return 0;
}
/* endregion: main */

/* ==== extras: what the guide's sample leaves out ========================== */

/* ---- backpressure and the end of a client -------------------------------- */

/* region: backpressure */
static void start_reading(struct client *c)
{
    int rc = uv_read_start((uv_stream_t *)&c->handle, alloc_buffer,
                           echo_read);
    uv_step(rc, bsd("no system call: epoll_ctl(%d, EPOLLIN) at the next wait",
                    c->fd),
            "uv_read_start(client %d)", c->fd);
    if (rc < 0) {
        warn_msg("client dropped: %s", uv_strerror(rc));
        close_client(c);
        return;
    }
    c->reading = 1;
}

static void stop_reading(struct client *c)
{
    int rc = uv_read_stop((uv_stream_t *)&c->handle);
    trace(rc, "writes backed up",
          "no system call: the loop stops asking for EPOLLIN at its next wait",
          "uv_read_stop(client %d)", c->fd);
    c->reading = 0;
}
/* endregion: backpressure */

/* The client has sent everything and each echo has gone out: hang up, as
 * echo-server does when read returns 0. Closing with writes still queued
 * would throw their bytes away (the guide's sample does). */
static void finish_if_done(struct client *c)
{
    if (c->got_eof && c->pending_writes == 0)
        close_client(c);
}

/* ---- the spare list -------------------------------------------------------- */

static struct chunk *spare_chunks;
static unsigned spare_count;

static struct chunk *take_spare(void)
{
    struct chunk *chunk = spare_chunks;

    if (chunk == NULL)
        return malloc(sizeof *chunk);
    spare_chunks = chunk->next;
    spare_count--;
    return chunk;
}

static void give_back(struct chunk *chunk)
{
    if (chunk == NULL)
        return;
    if (spare_count >= SPARE_CHUNKS_MAX) {
        free(chunk);
        return;
    }
    chunk->next = spare_chunks;
    spare_chunks = chunk;
    spare_count++;
}

static void free_spare_chunks(void)
{
    while (spare_chunks != NULL) {
        struct chunk *next = spare_chunks->next;
        free(spare_chunks);
        spare_chunks = next;
    }
    spare_count = 0;
}

/* ---- limits: the cap, descriptors, idle clients --------------------------- */

static const char *on_option(int letter, const char *arg, void *ctx)
{
    struct limits *l = ctx;
    if (letter == 'c')
        return parse_long_in(arg, 1, 65536, &l->max_clients) == 0
                   ? NULL : "a number of clients from 1 to 65536";
    if (letter == 't')
        return parse_long_in(arg, 0, 86400, &l->idle_seconds) == 0
                   ? NULL : "a number of seconds from 0 (never) to 86400";
    return parse_long_in(arg, 0, 3600, &l->grace_seconds) == 0
               ? NULL : "a number of seconds from 0 to 3600";
}

/* Each client costs a descriptor, and the soft limit is often 1024. Go up
 * to the hard limit, the most an ordinary process may give itself, as
 * echo-server-poll does; libuv has no call for it. */
static void raise_fd_limit(void)
{
    struct rlimit lim;

    if (getrlimit(RLIMIT_NOFILE, &lim) < 0)
        return;
    rlim_t before = lim.rlim_cur;
    if (lim.rlim_max != RLIM_INFINITY)
        lim.rlim_cur = lim.rlim_max;
    else if (lim.rlim_cur < 65536)
        lim.rlim_cur = 65536;  /* "no ceiling": ask for plenty, not all */
    if (lim.rlim_cur == before)
        return;
    int rc = setrlimit(RLIMIT_NOFILE, &lim);
    trace(rc, NULL, bsd("setrlimit(RLIMIT_NOFILE, %llu -> %llu)",
                        (unsigned long long)before,
                        (unsigned long long)lim.rlim_cur),
          "raise the descriptor limit (no libuv call)");
    if (rc < 0)
        warn_msg("cannot raise the descriptor limit from %llu: %s (serving "
                 "fewer clients; see ulimit -n)",
                 (unsigned long long)before, strerror(errno));
}

/* region: out-of-descriptors */
/* libuv calls accept4 again as soon as on_new_connection returns. If that
 * fails with EMFILE, libuv's "EMFILE trick" (uv__emfile_trick in
 * src/unix/stream.c) closes the spare descriptor it keeps for this, then
 * accepts every waiting connection and closes it at once, and does not call
 * us back: those clients see their connection closed, and nobody is told.
 * So look before libuv leaps: a dup that fails means the next accept4
 * would. Returns 0, or the errno (EMFILE, ENFILE). */
static int no_room_for(void)
{
    int probe = dup(STDERR_FILENO);
    int err = probe < 0 ? errno : 0;
    if (probe >= 0)
        close(probe);
    trace(probe, probe >= 0 ? "one is free (closed again)" : NULL,
          "no libuv call: ours, before libuv's next accept4", "dup(%d)",
          STDERR_FILENO);
    return err == EMFILE || err == ENFILE ? err : 0;
}

/* Say so, now and then rather than on every try, with how often. */
static void out_of_descriptors(int err)
{
    static int reported;
    static uint64_t last;
    static unsigned long count;
    uint64_t now = uv_now(loop);

    count++;
    if (reported && now - last < EMFILE_REPORT_EVERY * 1000)
        return;
    warn_msg("accept: %s%s; serving the %lu clients already connected, new "
             "ones wait in the backlog; retrying every %d ms (%lu time%s so "
             "far; this warning at most every %d s)", strerror(err),
             errno_hint(err), clients_now, RETRY_ACCEPT_MS, count,
             count == 1 ? "" : "s", EMFILE_REPORT_EVERY);
    reported = 1;
    last = now;
}
/* endregion: out-of-descriptors */

static void on_retry(uv_timer_t *timer);

/* region: leave-it-waiting */
/* At the cap (-c), or without a descriptor for the next connection: do not
 * call uv_accept. libuv then keeps the connection it accepted and stops
 * watching the listener (uv__server_io: "the user hasn't yet accepted")
 * until we call uv_accept; later clients wait in the backlog. That keeps
 * memory under -c times one client's most (MAX_PENDING_WRITES chunks).
 * Returns 1 when the connection must wait. */
static int leave_it_waiting(void)
{
    if (clients_now >= (unsigned long)limits.max_clients) {
        if (!holding)
            trace_note("%lu clients = the cap (-c %ld): no uv_accept until one "
                       "leaves; libuv stops watching the listener meanwhile",
                       clients_now, limits.max_clients);
        holding = 1;
        return 1;
    }
    int err = no_room_for();
    if (err != 0) {
        holding = 1;
        out_of_descriptors(err);
        int rc = uv_timer_start(&retry_timer, on_retry, RETRY_ACCEPT_MS, 0);
        uv_step(rc, "no system call: the loop's timer heap",
                "uv_timer_start(retry, %d ms)", RETRY_ACCEPT_MS);
        return 1;
    }
    return 0;
}

/* There may be room now: take the connection libuv is holding. */
static void take_waiting_connection(void)
{
    if (!holding || stopping || leave_it_waiting())
        return;
    holding = 0;
    accept_client((uv_stream_t *)&server);
}

static void on_retry(uv_timer_t *timer)
{
    (void)timer;
    take_waiting_connection();
}
/* endregion: leave-it-waiting */

/* region: idle */
/* -t. A client is idle when no byte has come from it and none of its echo
 * has left for -t seconds, so one that trickles a byte a second never is.
 * One that sends and never reads is caught the same way: at
 * MAX_PENDING_WRITES we stop reading it, so nothing comes in, and nothing
 * goes out. A timer checks every client once a second (uv_walk): a byte in
 * (echo_read), a finished write (echo_write) or a write queue that shrank
 * since the last check (the kernel took part of a write) counts as life.
 * The idle client is owed nothing and is closed; the one not reading is
 * reset, its echo dropped. */
static void check_one(uv_handle_t *handle, void *now_ms)
{
    uint64_t now = *(uint64_t *)now_ms;

    if (handle->type != UV_TCP || handle == (uv_handle_t *)&server ||
        uv_is_closing(handle))
        return;
    struct client *c = handle->data;
    size_t taken = c->queued - uv_stream_get_write_queue_size(
                                   (uv_stream_t *)handle);
    if (taken != c->taken_seen) {
        c->taken_seen = taken;
        c->active_ms = now;
    }
    if (now - c->active_ms < (uint64_t)limits.idle_seconds * 1000)
        return;
    if (c->pending_writes == 0) {
        trace_note("client %d sent nothing for %lds (-t): closing", c->fd,
                   limits.idle_seconds);
        close_client(c);
    } else {
        reset_client(c, "read none of its echo for -t");
    }
}

static void check_idle(uv_timer_t *timer)
{
    uint64_t now = uv_now(loop);
    (void)timer;
    uv_walk(loop, check_one, &now);
}
/* endregion: idle */

/* Once a second while clients are connected (after_a_client_left stops
 * it when the last one goes). */
static void start_idle_checks(void)
{
    if (limits.idle_seconds == 0)
        return;  /* -t 0: never idle */
    int rc = uv_timer_start(&idle_timer, check_idle, 1000, 1000);
    uv_step(rc, "no system call: the loop's timer heap",
            "uv_timer_start(idle, 1000 ms, again every 1000 ms)");
}

/* Timers for the limits, and the descriptor limit raised. A timer is a node
 * in the loop's heap: uv_run's wait (epoll_wait) sleeps only until the
 * nearest one is due. */
static void watch_limits(void)
{
    raise_fd_limit();
    int rc = uv_timer_init(loop, &idle_timer);
    if (rc == 0)
        rc = uv_timer_init(loop, &grace_timer);
    if (rc == 0)
        rc = uv_timer_init(loop, &retry_timer);
    uv_step(rc, "no system call: timers live in the loop's heap",
            "uv_timer_init(idle, grace, retry)");
    check(rc, "uv_timer_init");
}

/* A client has gone (on_close): let the waiting connection in, stop the
 * idle checks when nobody is left, or end a stop that was waiting for it. */
static void after_a_client_left(void)
{
    if (stopping) {
        if (clients_now == 0)
            stop_now();
        return;
    }
    if (clients_now == 0)
        uv_timer_stop(&idle_timer);
    take_waiting_connection();
}

/* ---- stopping ------------------------------------------------------------- */

static void on_other_close(uv_handle_t *handle)
{
    trace_step(NULL, "on_close(%s)", handle_name(handle));
}

/* region: reset */
/* Cut a client off. uv_tcp_close_reset sets SO_LINGER {1, 0} and calls
 * uv_close: the kernel sends RST and drops what it has not sent yet, so the
 * client sees ECONNRESET, never a normal end of file after half its echo.
 * What it will never get does not count as written back: libuv's queue was
 * never counted, and the kernel's unsent bytes come off here (short by the
 * few it may still send meanwhile, if the client is reading just then). The writes
 * libuv had finished count here too (their echo_write may not have run
 * yet; `settled` stops it counting them twice). */
static void reset_client(struct client *c, const char *why)
{
    if (uv_is_closing((uv_handle_t *)&c->handle))
        return;
    size_t untaken = uv_stream_get_write_queue_size((uv_stream_t *)&c->handle);
    bytes_echoed += (long long)(c->queued - c->done - untaken) -
                    unsent_bytes(c->fd);
    c->settled = 1;
    trace_step(bsd("setsockopt(%d, SO_LINGER, {1, 0}) + epoll_ctl(DEL, %d) + "
                   "close(%d)", c->fd, c->fd, c->fd),
               "uv_tcp_close_reset(client %d) %s", c->fd, why);
    int rc = uv_tcp_close_reset(&c->handle, on_close);
    if (rc < 0) {
        warn_msg("uv_tcp_close_reset: %s", uv_strerror(rc));
        close_client(c);
    }
}
/* endregion: reset */

/* region: stop */
/* uv_walk calls this for every handle the loop has: the listener, the two
 * signal watchers, the timers and each client. Once all are closed, uv_run
 * returns. A client still there is cut off. */
static void close_handle(uv_handle_t *handle, void *unused)
{
    (void)unused;
    if (uv_is_closing(handle))
        return;
    if (handle->type == UV_TCP && handle != (uv_handle_t *)&server) {
        cut_off++;
        reset_client(handle->data, "cut off by the stop");
        return;
    }
    if (handle == (uv_handle_t *)&server) {
        int fd = fd_of(handle);
        trace_step(bsd("epoll_ctl(DEL, %d) + close(%d)", fd, fd),
                   "uv_close(server %d) no new clients", fd);
    } else if (handle->type == UV_SIGNAL) {
        trace_step(bsd("rt_sigaction(%s, SIG_DFL)", handle_name(handle)),
                   "uv_close(%s watcher)", handle_name(handle));
    } else {
        trace_step("no system call", "uv_close(%s)", handle_name(handle));
    }
    uv_close(handle, on_other_close);
}

/* The grace period is over, a second Ctrl-C came, or the last client has
 * left: close every handle. */
static void stop_now(void)
{
    uv_walk(loop, close_handle, NULL);
}

static void on_grace_over(uv_timer_t *timer)
{
    (void)timer;
    trace_step("no system call: epoll_wait timed out",
               "on_grace_over (-g %ld s)", limits.grace_seconds);
    stop_now();
}

/* The first Ctrl-C: close the listener (connects are refused from now on,
 * and the clients in the backlog get a reset), and let the clients that
 * are connected finish, for -g seconds. */
static void stop_accepting(void)
{
    stopping = 1;
    close_handle((uv_handle_t *)&server, NULL);
    if (clients_now == 0 || limits.grace_seconds == 0) {
        stop_now();
        return;
    }
    trace_note("stop requested: %lu client%s may finish within %ld s (-g), "
               "then a reset", clients_now, clients_now == 1 ? "" : "s",
               limits.grace_seconds);
    int rc = uv_timer_start(&grace_timer, on_grace_over,
                            (uint64_t)limits.grace_seconds * 1000, 0);
    uv_step(rc, "no system call: the loop's timer heap",
            "uv_timer_start(grace, %ld ms)", limits.grace_seconds * 1000);
}

/* SIGINT or SIGTERM. libuv's own handler (uv__signal_handler in
 * src/unix/signal.c) only wrote a small message, this watcher's address and
 * the signal number, to the loop's signal pipe; this runs later, from the
 * loop, where anything may be called. */
static void on_signal(uv_signal_t *watcher, int signum)
{
    (void)watcher;
    trace(signum, signum == SIGINT ? "SIGINT" : "SIGTERM",
          "libuv's handler wrote {watcher, signum} to a pipe; the loop read it",
          "on_signal signum");
    if (!stopping) {
        stop_accepting();
    } else {
        trace_note("second stop: resetting every client now");
        stop_now();
    }
}
/* endregion: stop */

/* region: watch-signals */
/* The loop's signal pipe is made by uv_default_loop; a watcher only adds
 * libuv's handler for its signal (a sigaction) to it. */
static void watch_signal(uv_signal_t *watcher, int signum, const char *name)
{
    int rc = uv_signal_init(loop, watcher);
    if (rc == 0)
        rc = uv_signal_start(watcher, on_signal, signum);
    uv_step(rc, bsd("rt_sigaction(%s); no new pipe: the loop has one", name),
            "uv_signal_start(%s)", name);
    if (rc < 0)
        die(EX_OSERR, "uv_signal_start %s: %s", name, uv_strerror(rc));
}
/* endregion: watch-signals */

static void watch_stop_signals(void)
{
    watch_signal(&sigint_watcher, SIGINT, "SIGINT");
    watch_signal(&sigterm_watcher, SIGTERM, "SIGTERM");
}

/* ---- addresses and the ready line ------------------------------------------ */

/* region: address */
/* uv_ip4_addr and uv_ip6_addr read numeric text only ("127.0.0.1", "::1").
 * A name such as localhost goes through getaddrinfo (ip_addr, common/), the
 * way echo-server resolves every -b, so both servers accept the same -b. */
static void other_address(const char *host, uint16_t port,
                          struct sockaddr_storage *addr)
{
    memset(addr, 0, sizeof *addr);
    int rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)addr);
    uv_step(rc, "no system call: inet_pton into a sockaddr_in6",
            "uv_ip6_addr(%s, %u)", host, (unsigned)port);
    if (rc == 0)
        return;

    rc = ip_addr(host, port, addr);
    trace(rc == 0 ? 0 : -1, rc == 0 ? NULL : gai_strerror(rc),
          "getaddrinfo, no libuv call", "ip_addr(%s, %u)", host,
          (unsigned)port);
    if (rc != 0)
        die_unresolved(host, rc, 1);
}
/* endregion: address */

/* region: ready-line */
/* The one line on stdout, with the port the kernel gave us, flushed at once:
 * whoever waits for it may be reading a pipe. */
static void say_listening(void)
{
    struct sockaddr_storage local;
    int len = sizeof local;
    char text[ADDR_TEXT_MAX];

    int rc = uv_tcp_getsockname(&server, (struct sockaddr *)&local, &len);
    if (rc == 0)
        format_addr((struct sockaddr *)&local, text, sizeof text);
    trace(rc, rc == 0 ? text : uv_why(rc),
          bsd("getsockname(%d)", fd_of(&server)), "uv_tcp_getsockname(server)");
    if (rc < 0)
        die(EX_IOERR, "cannot announce the port: %s", uv_strerror(rc));
    printf("listening on %s\n", text);
    if (fflush(stdout) != 0)
        die(EX_IOERR, "cannot announce the port: %s", strerror(errno));
}
/* endregion: ready-line */

/* ---- the trace and the errors ------------------------------------------------ */

/* The descriptor behind a handle, for the trace; -1 before it has one (and
 * once it is closing). */
static int fd_of(const void *handle)
{
    uv_os_fd_t fd;

    if (uv_fileno((const uv_handle_t *)handle, &fd) != 0)
        return -1;
    return fd;
}

/* The name of a handle that is not a client, for the trace. */
static const char *handle_name(const void *handle)
{
    return handle == &server           ? "server"
           : handle == &sigint_watcher  ? "SIGINT"
           : handle == &sigterm_watcher ? "SIGTERM"
           : handle == &idle_timer      ? "idle timer"
           : handle == &grace_timer     ? "grace timer"
                                        : "retry timer";
}

/* uv_tcp_bind makes the socket (uv__socket: non-blocking and close-on-exec
 * from birth), sets SO_REUSEADDR (and IPV6_V6ONLY, off, for IPv6) and
 * binds. A bind failing with "address in use" still returns 0 here: libuv
 * keeps the error and uv_listen returns it. */
static void trace_bind(int rc, const struct sockaddr_storage *addr)
{
    char where[ADDR_TEXT_MAX];
    int fd = fd_of(&server);
    int v6 = addr->ss_family == AF_INET6;

    format_addr((const struct sockaddr *)addr, where, sizeof where);
    uv_step(rc, bsd("socket(%s, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC) = %d "
                    "+ setsockopt(%d, SO_REUSEADDR)%s + bind(%d, %s)",
                    v6 ? "AF_INET6" : "AF_INET", fd, fd,
                    v6 ? " + setsockopt(IPV6_V6ONLY, 0)" : "", fd, where),
            "uv_tcp_bind(server, %s)", where);
}

static void trace_handover(int rc, struct client *c)
{
    char note[ADDR_TEXT_MAX + 8] = "";
    struct sockaddr_storage peer;
    int len = sizeof peer;

    if (rc == 0)
        c->fd = fd_of(&c->handle);
    /* getpeername only for the trace: nothing else needs the address. */
    if (rc == 0 && trace_enabled() &&
        uv_tcp_getpeername(&c->handle, (struct sockaddr *)&peer, &len) == 0) {
        char text[ADDR_TEXT_MAX];
        format_addr((struct sockaddr *)&peer, text, sizeof text);
        snprintf(note, sizeof note, "peer %s", text);
    }
    trace(rc, rc == 0 ? note : uv_why(rc),
          bsd("no system call: fd %d goes to the handle (getpeername(%d) is "
              "for this trace)", c->fd, c->fd),
          "uv_accept(server, client)");
}

/* echo_read with nothing to echo: which read(2), if any, it stands for. */
static void trace_read_end(const struct client *c, ssize_t nread,
                           const uv_buf_t *buf)
{
    const char *why = nread == 0        ? "nothing this time"
                      : nread == UV_EOF ? "UV_EOF, peer closed"
                                        : uv_why(nread);
    const char *what =
        nread == 0 ? bsd("read(%d) = -1 EAGAIN", c->fd)
        : nread == UV_ENOBUFS ? "no read: alloc_buffer gave no buffer"
        : nread == UV_EOF && buf->base == NULL
            ? "no read: EPOLLHUP came after a short read"
            : bsd("read(%d) = %s", c->fd, nread == UV_EOF ? "0" : "-1");
    trace(nread, why, what, "echo_read(client %d) nread", c->fd);
}

static void check(int rc, const char *what)
{
    if (rc < 0)
        die(EX_OSERR, "%s: %s", what, uv_strerror(rc));
}

/* bind's or listen's failure, in the one-line form every socklab server
 * uses. On Unix a libuv error is minus the errno value: errno_hint(-rc). */
static void check_addr(int rc, const char *call,
                       const struct sockaddr_storage *addr)
{
    char where[ADDR_TEXT_MAX];

    if (rc == 0)
        return;
    format_addr((const struct sockaddr *)addr, where, sizeof where);
    die(EX_OSERR, "%s %s: %s%s", call, where, uv_strerror(rc),
        errno_hint(-rc));
}

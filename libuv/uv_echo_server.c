/* uv_echo_server.c - the echo server again, on libuv's event loop.
 *
 * The same job as bin/echo-server, written in the shape of the libuv
 * guide's echo server so the two read side by side (lessons/04):
 *
 *   uv_default_loop -> uv_tcp_init -> uv_ip4_addr -> uv_tcp_bind -> uv_listen
 *   on_new_connection: uv_tcp_init -> uv_accept -> uv_read_start
 *   echo_read: uv_write the nread bytes back; on_write: recycle the buffer
 *   end of a client: uv_close, and free it in the close callback
 *
 * Nothing here blocks. libuv makes every socket non-blocking, waits for all
 * of them at once (epoll on Linux) and calls us back when one is ready, so
 * one process serves many clients at a time, with no fork and no threads.
 *
 * Where the guide's sample cuts corners this one does not: every return code
 * is checked, only nread bytes are echoed, read buffers are reused instead of
 * a malloc and a free per read, a client that does not read its echo is
 * paused (backpressure), and a handle is freed only in its close callback.
 *
 * With -v each libuv call and callback is traced, with the system call it
 * stands for on the right (after "~").
 *
 * Usage: uv-echo-server [-h] [-v] [-b ADDR] [PORT]
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "addr.h"
#include "cli.h"
#include "fail.h"
#include "signals.h"
#include "trace.h"
#include "uv_trace.h"

static const char usage[] =
    "[-h] [-v] [-b ADDR] [PORT]\n"
    "  Echo every byte back, to many clients at once, with libuv.\n"
    "  -b ADDR  address to listen on (default 127.0.0.1; :: or 0.0.0.0 for "
    "all)\n"
    "  -v       trace each libuv call with the system call it stands for\n"
    "  PORT     0-65535, default 7000; 0 lets the kernel choose";

/* Reads land in 64 KiB buffers, the size echo-server reads into. */
#define CHUNK_SIZE (64 * 1024)

/* Backpressure. A client that sends without reading its echo makes our
 * writes queue up inside libuv. Once a client has this many writes
 * unfinished (4 x 64 KiB = 256 KiB held for it) we stop reading from it and
 * start again when one finishes. Counted in buffers, not bytes: a 1-byte
 * read still holds a whole 64 KiB buffer until its write is done. */
#define MAX_PENDING_WRITES 4

/* Buffers with no write left to do wait here for the next read, up to this
 * many; beyond that they go back to malloc. */
#define SPARE_CHUNKS_MAX 64

/* region: chunk */
/* One echo in flight: the bytes read and the write request that sends them
 * back. uv_write keeps a copy of the uv_buf_t (pointer and length), not of
 * the bytes, so they must stay untouched until on_write; holding them in the
 * same struct as the request makes that automatic. data comes first, so the
 * buffer address libuv hands back to echo_read is the chunk's own address. */
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
    unsigned pending_writes; /* uv_write calls whose on_write has not run */
    int reading;             /* between uv_read_start and uv_read_stop */
    int got_eof;             /* the client has finished sending */
    int accepted;            /* counts as a client served once closed */
};

struct totals {
    unsigned long clients;
    unsigned long long bytes;
};

static uv_loop_t *loop;
static uv_tcp_t server;
static uv_signal_t sigint_watcher;
static uv_signal_t sigterm_watcher;
static struct totals totals;
static struct chunk *spare_chunks;
static unsigned spare_count;

/* The descriptor behind a handle, for the trace; -1 before it has one. */
static int fd_of(const void *handle)
{
    uv_os_fd_t fd;

    if (uv_fileno((const uv_handle_t *)handle, &fd) != 0)
        return -1;
    return fd;
}

/* ---- buffers ------------------------------------------------------------ */

/* region: alloc-buffer */
/* libuv asks for a buffer each time it is about to read(2) a client. The
 * guide mallocs 64 KiB here and frees it after the write; on this machine
 * that makes glibc hand the memory back to the kernel and fault it in again
 * on almost every echo (3-4x slower). A spare list reuses buffers instead. */
static void alloc_buffer(uv_handle_t *handle, size_t suggested,
                         uv_buf_t *buf)
{
    struct chunk *chunk = spare_chunks;

    (void)handle;
    (void)suggested;  /* libuv suggests 64 KiB: what CHUNK_SIZE is anyway */
    if (chunk != NULL) {
        spare_chunks = chunk->next;
        spare_count--;
    } else {
        chunk = malloc(sizeof *chunk);
    }
    /* A NULL base makes libuv call echo_read with UV_ENOBUFS. */
    *buf = uv_buf_init(chunk != NULL ? chunk->data : NULL,
                       chunk != NULL ? CHUNK_SIZE : 0);
}

/* The chunk a buffer from alloc_buffer lives in (data is its first member). */
static struct chunk *chunk_of(const uv_buf_t *buf)
{
    return (struct chunk *)(void *)buf->base;
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
/* endregion: alloc-buffer */

static void free_spare_chunks(void)
{
    while (spare_chunks != NULL) {
        struct chunk *next = spare_chunks->next;
        free(spare_chunks);
        spare_chunks = next;
    }
    spare_count = 0;
}

/* ---- one client ----------------------------------------------------------- */

/* region: close-client */
/* uv_close closes the descriptor at once, but libuv still holds the handle
 * until it calls on_client_closed (after any on_write it still owes us, with
 * UV_ECANCELED). Only then may the memory go. */
static void on_client_closed(uv_handle_t *handle)
{
    struct client *c = handle->data;

    trace_step(bsd("(%d closed already: free the handle)", c->fd),
               "on_close(client %d)", c->fd);
    if (c->accepted)
        totals.clients++;
    free(c);
}

static void close_client(struct client *c)
{
    if (uv_is_closing((uv_handle_t *)&c->handle))
        return;
    trace_step(bsd("epoll_ctl(DEL, %d) + close(%d)", c->fd, c->fd),
               "uv_close(client %d)", c->fd);
    uv_close((uv_handle_t *)&c->handle, on_client_closed);
}
/* endregion: close-client */

static void echo_read(uv_stream_t *stream, ssize_t nread,
                      const uv_buf_t *buf);

/* region: backpressure */
static void start_reading(struct client *c)
{
    int rc = uv_read_start((uv_stream_t *)&c->handle, alloc_buffer,
                           echo_read);
    trace(rc, uv_why(rc), bsd("epoll_ctl(%d, EPOLLIN)", c->fd),
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
    trace(rc, "writes backed up", bsd("epoll_ctl(%d, no EPOLLIN)", c->fd),
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

/* region: on-write */
/* The write is over: its bytes are in the kernel (status 0), or it failed,
 * or it was cancelled because the client is closing (UV_ECANCELED). */
static void on_write(uv_write_t *req, int status)
{
    struct chunk *chunk = req->data;
    struct client *c = req->handle->data;

    trace(status, uv_why(status), bsd("write(%d, %zu) done", c->fd, chunk->len),
          "on_write(client %d) status", c->fd);
    c->pending_writes--;
    if (status == 0)
        totals.bytes += chunk->len;
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
/* endregion: on-write */

/* region: echo-read */
/* Called after each read(2) on the client: nread > 0 bytes arrived in buf,
 * UV_EOF means the client closed its side, another negative value is an
 * error. nread == 0 is libuv's EAGAIN: nothing this time. */
static void echo_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct client *c = stream->data;
    struct chunk *chunk = chunk_of(buf);

    if (nread > 0) {
        trace(nread, NULL, bsd("read(%d) = %zd", c->fd, nread),
              "echo_read(client %d) nread", c->fd);
        /* Write back exactly the nread bytes that came, not buf->len. */
        chunk->len = (size_t)nread;
        chunk->req.data = chunk;
        uv_buf_t out = uv_buf_init(chunk->data, (unsigned)nread);
        int rc = uv_write(&chunk->req, stream, &out, 1, on_write);
        trace(rc, uv_why(rc), bsd("write(%d, %zd), now or when writable", c->fd,
                                nread),
              "uv_write(client %d, %zd)", c->fd, nread);
        if (rc < 0) {
            give_back(chunk);
            warn_msg("client dropped: %s", uv_strerror(rc));
            close_client(c);
            return;
        }
        c->pending_writes++;
        if (c->pending_writes >= MAX_PENDING_WRITES)
            stop_reading(c);
        return;
    }

    give_back(chunk);  /* nothing to echo: the buffer is free again */
    if (nread == 0)
        return;
    trace(nread, nread == UV_EOF ? "UV_EOF, peer closed" : uv_why(nread),
          bsd("read(%d) = %s", c->fd, nread == UV_EOF ? "0" : "-1"),
          "echo_read(client %d) nread", c->fd);
    if (nread == UV_EOF) {
        c->got_eof = 1;  /* libuv has stopped reading by itself */
        c->reading = 0;
        finish_if_done(c);
        return;
    }
    warn_msg("client dropped: %s", uv_strerror((int)nread));
    close_client(c);
}
/* endregion: echo-read */

/* region: on-new-connection */
/* The listening socket is readable. libuv has already called accept4 and
 * holds the new descriptor; uv_accept hands it to a handle of ours. Until
 * we do, libuv stops accepting. */
static void on_new_connection(uv_stream_t *listener, int status)
{
    trace(status, uv_why(status),
          bsd("accept4(%d), done by libuv", fd_of(listener)),
          "on_new_connection status");
    if (status < 0) {
        warn_msg("accept: %s", uv_strerror(status));
        return;
    }

    struct client *c = calloc(1, sizeof *c);
    if (c == NULL)
        die(EX_OSERR, "accept: out of memory for a new client");
    c->fd = -1;
    int rc = uv_tcp_init(loop, &c->handle);
    trace(rc, uv_why(rc), "(no system call: accept4 made the socket)",
          "uv_tcp_init(client)");
    if (rc < 0) {
        free(c);  /* a handle whose init failed is not in the loop */
        die(EX_OSERR, "uv_tcp_init: %s", uv_strerror(rc));
    }
    c->handle.data = c;

    rc = uv_accept(listener, (uv_stream_t *)&c->handle);
    char note[ADDR_TEXT_MAX + 16] = "";
    if (rc == 0) {
        c->fd = fd_of(&c->handle);
        struct sockaddr_storage peer;
        int len = sizeof peer;
        /* getpeername only for the trace: nothing else needs it. */
        if (trace_enabled() &&
            uv_tcp_getpeername(&c->handle, (struct sockaddr *)&peer, &len) == 0) {
            char text[ADDR_TEXT_MAX];
            snprintf(note, sizeof note, "peer %s",
                     format_addr((struct sockaddr *)&peer, text, sizeof text));
        }
    }
    trace(rc, rc == 0 ? note : uv_why(rc),
          bsd("accept4(%d) = %d", fd_of(listener), c->fd),
          "uv_accept(server, client)");
    if (rc < 0) {
        warn_msg("accept: %s", uv_strerror(rc));
        close_client(c);
        return;
    }
    c->accepted = 1;
    start_reading(c);
}
/* endregion: on-new-connection */

/* ---- stopping ------------------------------------------------------------- */

static void on_closed(uv_handle_t *handle)
{
    const char *name = handle == (uv_handle_t *)&server ? "server"
                       : handle == (uv_handle_t *)&sigint_watcher ? "SIGINT"
                       : "SIGTERM";
    trace_step(NULL, "on_close(%s)", name);
}

/* region: stop */
/* uv_walk calls this for every handle the loop has: the listener, the two
 * signal watchers and each client. Once all are closed, uv_run returns. */
static void close_handle(uv_handle_t *handle, void *unused)
{
    (void)unused;
    if (uv_is_closing(handle))
        return;
    if (handle == (uv_handle_t *)&server) {
        trace_step(bsd("epoll_ctl(DEL, %d) + close(%d)", fd_of(handle),
                       fd_of(handle)),
                   "uv_close(server %d)", fd_of(handle));
        uv_close(handle, on_closed);
    } else if (handle->type == UV_SIGNAL) {
        trace_step("sigaction(SIG_DFL)", "uv_close(%s watcher)",
                   handle == (uv_handle_t *)&sigint_watcher ? "SIGINT"
                                                           : "SIGTERM");
        uv_close(handle, on_closed);
    } else {
        close_client(handle->data);
    }
}

/* SIGINT or SIGTERM. libuv's own handler only wrote the signal number to a
 * pipe; this runs later, from the loop, where anything may be called. */
static void on_signal(uv_signal_t *watcher, int signum)
{
    (void)watcher;
    trace(signum, signum == SIGINT ? "SIGINT" : "SIGTERM",
          "read(libuv's signal pipe)", "on_signal signum");
    trace_note("stop requested: closing every handle");
    uv_walk(loop, close_handle, NULL);
}
/* endregion: stop */

/* ---- starting ------------------------------------------------------------- */

/* region: watch-signals */
static void watch_signal(uv_signal_t *watcher, int signum, const char *name)
{
    int rc = uv_signal_init(loop, watcher);
    if (rc == 0)
        rc = uv_signal_start(watcher, on_signal, signum);
    trace(rc, uv_why(rc), bsd("sigaction(%s) + a pipe for the loop", name),
          "uv_signal_start(%s)", name);
    if (rc < 0)
        die(EX_OSERR, "uv_signal_start %s: %s", name, uv_strerror(rc));
}
/* endregion: watch-signals */

/* region: address */
/* uv_ip4_addr and uv_ip6_addr read numeric text only ("127.0.0.1", "::1").
 * A name such as localhost goes through getaddrinfo (ip_addr, common/), the
 * way echo-server resolves every -b, so both servers accept the same -b. */
static void server_address(const char *host, uint16_t port,
                           struct sockaddr_storage *addr)
{
    memset(addr, 0, sizeof *addr);
    int rc = uv_ip4_addr(host, port, (struct sockaddr_in *)addr);
    trace(rc, uv_why(rc), "fill a sockaddr_in (inet_pton)",
          "uv_ip4_addr(%s, %u)", host, (unsigned)port);
    if (rc == 0)
        return;

    rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)addr);
    trace(rc, uv_why(rc), "fill a sockaddr_in6 (inet_pton)",
          "uv_ip6_addr(%s, %u)", host, (unsigned)port);
    if (rc == 0)
        return;

    rc = ip_addr(host, port, addr);
    trace(rc == 0 ? 0 : -1, rc == 0 ? NULL : gai_strerror(rc), "getaddrinfo",
          "ip_addr(%s, %u)", host, (unsigned)port);
    if (rc != 0)
        die_unresolved(host, rc, 1);
}
/* endregion: address */

/* bind's failure, in the one-line form every socklab server uses. On Unix
 * a libuv error is minus the errno value, hence errno_hint(-rc). */
static _Noreturn void die_bind(const char *where, int rc)
{
    die(EX_OSERR, "bind %s: %s%s", where, uv_strerror(rc), errno_hint(-rc));
}

/* region: listen */
static void start_listening(const struct sockaddr_storage *addr)
{
    const struct sockaddr *sa = (const struct sockaddr *)addr;
    char where[ADDR_TEXT_MAX];

    format_addr(sa, where, sizeof where);

    /* 1. A handle, not yet a socket: libuv makes the socket in
     * uv_tcp_bind, once it knows the address family. */
    int rc = uv_tcp_init(loop, &server);
    trace(rc, uv_why(rc), "socket(), made later by uv_tcp_bind",
          "uv_tcp_init(server)");
    if (rc < 0)
        die(EX_OSERR, "uv_tcp_init: %s", uv_strerror(rc));

    /* 2. socket + setsockopt(SO_REUSEADDR) + bind, in one call. */
    rc = uv_tcp_bind(&server, sa, 0);
    trace(rc, uv_why(rc),
          bsd("socket + setsockopt(SO_REUSEADDR) + bind(%d)", fd_of(&server)),
          "uv_tcp_bind(server, %s)", where);
    if (rc < 0)
        die_bind(where, rc);

    /* 3. listen, and ask the loop to watch the socket for connections.
     * libuv holds back bind's "address in use" and reports it here. */
    rc = uv_listen((uv_stream_t *)&server, DEFAULT_BACKLOG, on_new_connection);
    trace(rc, uv_why(rc),
          bsd("listen(%d, %d) + epoll_ctl(ADD)", fd_of(&server),
              DEFAULT_BACKLOG),
          "uv_listen(server, %d)", DEFAULT_BACKLOG);
    if (rc == UV_EADDRINUSE)
        die_bind(where, rc);
    if (rc < 0)
        die(EX_OSERR, "listen %s: %s%s", where, uv_strerror(rc),
            errno_hint(-rc));
}
/* endregion: listen */

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
    trace(rc, rc == 0 ? text : uv_why(rc), bsd("getsockname(%d)", fd_of(&server)),
          "uv_tcp_getsockname(server)");
    if (rc < 0)
        die(EX_IOERR, "cannot announce the port: %s", uv_strerror(rc));
    printf("listening on %s\n", text);
    if (fflush(stdout) != 0)
        die(EX_IOERR, "cannot announce the port: %s", strerror(errno));
}
/* endregion: ready-line */

/* region: main */
int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct sockaddr_storage addr;

    trace_init("uv-echo-server", 0);
    parse_server_args(argc, argv, &args, usage, NULL, NULL, NULL);
    /* libuv writes with write(2): a client that has gone must give EPIPE,
     * not kill the server with SIGPIPE. */
    if (ignore_sigpipe() < 0)
        die(EX_OSERR, "sigaction: %s", strerror(errno));

    loop = uv_default_loop();
    if (loop == NULL)
        die(EX_OSERR, "uv_default_loop: cannot create the event loop");
    trace(uv_backend_fd(loop), NULL, "epoll_create1(EPOLL_CLOEXEC)",
          "uv_default_loop() backend fd");

    watch_signal(&sigint_watcher, SIGINT, "SIGINT");
    watch_signal(&sigterm_watcher, SIGTERM, "SIGTERM");
    server_address(args.host, args.port, &addr);
    start_listening(&addr);
    say_listening();

    /* Everything from here on happens in callbacks, until on_signal has
     * closed every handle and the loop has nothing left to wait for. */
    trace_step("epoll_wait, then callbacks, over and over",
               "uv_run(loop, UV_RUN_DEFAULT)");
    int rc = uv_run(loop, UV_RUN_DEFAULT);
    trace(rc, NULL, "(nothing left to watch)", "uv_run(loop, UV_RUN_DEFAULT)");

    rc = uv_loop_close(loop);
    trace(rc, uv_why(rc), "close(epoll fd)", "uv_loop_close(loop)");
    if (rc < 0)
        warn_msg("uv_loop_close: %s", uv_strerror(rc));
    free_spare_chunks();
    warn_msg("stopped: %lu client%s served, %llu bytes echoed",
             totals.clients, totals.clients == 1 ? "" : "s", totals.bytes);
    return 0;
}
/* endregion: main */

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
 * for the last echo, and a clean stop on SIGINT or SIGTERM.
 *
 * With -v each libuv call and callback is traced, with the system calls
 * libuv made during it on the right (after "~").
 *
 * Usage: uv-echo-server [-h] [-v] [-b ADDR] [PORT]
 */
#include <errno.h>
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
    "  -v       trace each libuv call with the system calls it makes\n"
    "  PORT     0-65535, default 7000; 0 lets the kernel choose";

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
};

static uv_loop_t *loop;
static uv_tcp_t server;
static uv_signal_t sigint_watcher, sigterm_watcher;
static unsigned long clients_served;
static unsigned long long bytes_echoed;

/* The extras, defined below main. */
static struct chunk *take_spare(void);
static void give_back(struct chunk *chunk);
static void close_client(struct client *c);
static void start_reading(struct client *c);
static void stop_reading(struct client *c);
static void finish_if_done(struct client *c);
static void watch_stop_signals(void);
static void other_address(const char *host, uint16_t port,
                          struct sockaddr_storage *addr);
static void say_listening(void);
static void free_spare_chunks(void);
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
    free(c);
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
    bytes_echoed += status == 0 ? chunk->len : 0;
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
        } else if (++c->pending_writes >= MAX_PENDING_WRITES) {
            stop_reading(c);
        }
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
    start_reading(c);  /* uv_read_start(client, alloc_buffer, echo_read) */
}
/* endregion: on-new-connection */

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
    uv_trace_loop(loop);
    watch_stop_signals();  /* SIGINT, SIGTERM: close everything (extras) */

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
    warn_msg("stopped: %lu client%s served, %llu bytes echoed",
             clients_served, clients_served == 1 ? "" : "s", bytes_echoed);
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

/* ---- stopping ------------------------------------------------------------- */

static void on_other_close(uv_handle_t *handle)
{
    trace_step(NULL, "on_close(%s)",
               handle == (uv_handle_t *)&server ? "server"
               : handle == (uv_handle_t *)&sigint_watcher ? "SIGINT"
                                                         : "SIGTERM");
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
        int fd = fd_of(handle);
        trace_step(bsd("epoll_ctl(DEL, %d) + close(%d)", fd, fd),
                   "uv_close(server %d)", fd);
        uv_close(handle, on_other_close);
    } else if (handle->type == UV_SIGNAL) {
        const char *name = handle == (uv_handle_t *)&sigint_watcher
                               ? "SIGINT" : "SIGTERM";
        trace_step(bsd("rt_sigaction(%s, SIG_DFL)", name),
                   "uv_close(%s watcher)", name);
        uv_close(handle, on_other_close);
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
          "libuv's handler wrote the signal number to a pipe; the loop read it",
          "on_signal signum");
    trace_note("stop requested: closing every handle");
    uv_walk(loop, close_handle, NULL);
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

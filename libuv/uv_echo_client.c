/* uv_echo_client.c - the echo client again, on libuv's event loop.
 *
 *   resolve -> uv_tcp_init -> uv_tcp_connect -> on_connect (each address
 *              in turn, like echo-client)
 *   on_connect: read the server (its echo goes to stdout) and stdin at once
 *   each chunk of stdin -> uv_write to the server (at most 4 unfinished)
 *   end of input -> uv_shutdown: half-close once the queued writes are out
 *   the server's EOF -> exit 0 if every byte has come back
 *
 * echo-client sends a chunk and waits for all of it to come back before it
 * reads more (stop-and-wait). Here the loop waits on stdin and the socket
 * together, so sending goes on while echoes arrive.
 *
 * Standard input can be three kinds of thing, and libuv reads each its own
 * way: a terminal (uv_tty_t) or a pipe or socket (uv_pipe_t, uv_tcp_t) is a
 * stream the loop can watch; a file (`< file`) is always "ready" to epoll,
 * which refuses it, so it is read with uv_fs_read, which libuv runs on a
 * worker thread.
 *
 * Usage: uv-echo-client [-h] [-v] [HOST [PORT]]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "addr.h"
#include "cli.h"
#include "fail.h"
#include "io.h"
#include "signals.h"
#include "trace.h"
#include "uv_trace.h"

static const char usage[] =
    "[-h] [-v] [HOST [PORT]]\n"
    "  Send standard input to an echo server and print what comes back.\n"
    "  -v    trace each libuv call with the system call it stands for\n"
    "  HOST  name or address, default 127.0.0.1; PORT default 7000";

#define CHUNK_SIZE (64 * 1024)

/* Backpressure: stdin is read only while fewer than this many writes to the
 * server are unfinished, so a fast producer (a big file) cannot fill memory
 * faster than the socket drains. 4 x 64 KiB = 256 KiB at most in flight. */
#define MAX_PENDING_WRITES 4

/* region: chunks */
/* A chunk of stdin on its way to the server. uv_write keeps the uv_buf_t
 * (pointer and length), not the bytes, so they must stay untouched until
 * on_write. With at most MAX_PENDING_WRITES in flight, that many chunks are
 * all we ever need: no malloc at all. data comes first, so a buffer's
 * address is its chunk's address. */
struct chunk {
    char data[CHUNK_SIZE];
    size_t len;
    uv_write_t req;
    struct chunk *next;  /* in the free list */
};

static struct chunk chunks[MAX_PENDING_WRITES];
static struct chunk *free_chunks;

static void init_chunks(void)
{
    for (int i = 0; i < MAX_PENDING_WRITES; i++) {
        chunks[i].next = free_chunks;
        free_chunks = &chunks[i];
    }
}

static struct chunk *take_chunk(void)
{
    struct chunk *chunk = free_chunks;
    if (chunk != NULL)
        free_chunks = chunk->next;
    return chunk;
}

static void give_back(struct chunk *chunk)
{
    if (chunk == NULL)
        return;
    chunk->next = free_chunks;
    free_chunks = chunk;
}
/* endregion: chunks */

static uv_loop_t *loop;
static uv_tcp_t sock;
static int sock_fd = -1;              /* for the trace only */
static uv_connect_t connect_req;
static uv_shutdown_t shutdown_req;

static struct addrinfo *addresses;    /* from getaddrinfo */
static struct addrinfo *next_address; /* the next one to try */
static char where[ADDR_TEXT_MAX];     /* the one being tried */
static int last_error;                /* why the last one failed */

/* Standard input: a stream handle (one of these), or a file read with
 * uv_fs_read when input == NULL. */
static union {
    uv_tty_t tty;
    uv_pipe_t pipe;
    uv_tcp_t tcp;
} stdin_handle;
static uv_stream_t *input;
static uv_fs_t file_req;
static int input_reading;             /* a read is started or in flight */
static int input_done;                /* end of input seen */
static int stdin_error;               /* errno if fd 0 was closed at start */

static unsigned pending_writes;       /* uv_write calls not yet called back */
static unsigned long long bytes_sent; /* read from stdin, queued to send */
static unsigned long long bytes_back; /* echoed back, written to stdout */

static char echo_buf[CHUNK_SIZE];     /* the server's echo lands here */

/* ---- the echo coming back ------------------------------------------------ */

/* One buffer is enough here: each echo is written to stdout (blocking, with
 * write_all) before the callback returns, so the next read may reuse it. */
static void alloc_echo(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)handle;
    (void)suggested;
    *buf = uv_buf_init(echo_buf, sizeof echo_buf);
}

static void on_closed(uv_handle_t *handle)
{
    trace_step(NULL, "on_close(%s)",
               handle == (uv_handle_t *)&sock ? "sock" : "stdin");
}

/* region: on-echo */
static void on_echo(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    if (nread == 0)
        return;  /* libuv's EAGAIN: nothing this time */
    if (nread > 0) {
        trace(nread, NULL, bsd("read(%d) = %zd", sock_fd, nread),
              "on_echo(sock) nread");
        if (write_all(STDOUT_FILENO, buf->base, (size_t)nread) < 0)
            die(EX_IOERR, "write standard output: %s", strerror(errno));
        bytes_back += (unsigned long long)nread;
        return;
    }

    trace(nread, nread == UV_EOF ? "UV_EOF, server closed" : uv_why(nread),
          bsd("read(%d) = %s", sock_fd, nread == UV_EOF ? "0" : "-1"),
          "on_echo(sock) nread");
    if (nread != UV_EOF)
        die(EX_IOERR, "read from server: %s", uv_strerror((int)nread));
    if (!input_done)
        die(EX_IOERR, "the server closed the connection before the end of "
            "input (%llu of %llu bytes came back)", bytes_back, bytes_sent);
    if (bytes_back < bytes_sent)
        die(EX_IOERR, "the server closed the connection after %llu of %llu "
            "bytes came back", bytes_back, bytes_sent);

    /* Everything came back: close the socket, and the loop, with nothing
     * left to watch, lets main go on. */
    trace_step(bsd("epoll_ctl(DEL, %d) + close(%d)", sock_fd, sock_fd),
               "uv_close(sock)");
    uv_close((uv_handle_t *)stream, on_closed);
}
/* endregion: on-echo */

/* ---- standard input to the server ----------------------------------------- */

static void resume_input(void);

/* region: send-chunk */
static void on_write(uv_write_t *req, int status)
{
    struct chunk *chunk = req->data;

    trace(status, uv_why(status), bsd("write(%d, %zu) done", sock_fd,
                                      chunk->len),
          "on_write(sock) status");
    if (status < 0)
        die(EX_IOERR, "write to server: %s", uv_strerror(status));
    pending_writes--;
    give_back(chunk);
    resume_input();  /* room for another chunk: read stdin again */
}

static void send_chunk(struct chunk *chunk, size_t len)
{
    chunk->len = len;
    chunk->req.data = chunk;
    uv_buf_t out = uv_buf_init(chunk->data, (unsigned)len);
    int rc = uv_write(&chunk->req, (uv_stream_t *)&sock, &out, 1, on_write);
    trace(rc, uv_why(rc), bsd("write(%d, %zu), now or when writable",
                              sock_fd, len),
          "uv_write(sock, %zu)", len);
    if (rc < 0)
        die(EX_IOERR, "write to server: %s", uv_strerror(rc));
    pending_writes++;
    bytes_sent += len;
}
/* endregion: send-chunk */

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    trace(status, uv_why(status), bsd("shutdown(%d, SHUT_WR)", sock_fd),
          "on_shutdown(sock) status");
    if (status < 0 && status != UV_ECANCELED)
        die(EX_IOERR, "shutdown: %s", uv_strerror(status));
}

/* region: end-of-input */
/* Nothing more to send. uv_shutdown waits until every queued write is out,
 * then half-closes (shutdown SHUT_WR): the server reads EOF while we can
 * still read the rest of the echo. */
static void end_of_input(void)
{
    input_done = 1;
    if (input != NULL) {
        trace_step("(stdin stays open: libuv never closes fds 0-2)",
                   "uv_close(stdin)");
        uv_close((uv_handle_t *)input, on_closed);
    }
    int rc = uv_shutdown(&shutdown_req, (uv_stream_t *)&sock, on_shutdown);
    trace(rc, uv_why(rc), bsd("shutdown(%d, SHUT_WR), after the writes",
                              sock_fd),
          "uv_shutdown(sock)");
    if (rc < 0)
        die(EX_IOERR, "shutdown: %s", uv_strerror(rc));
}
/* endregion: end-of-input */

/* What came from stdin, by either road: bytes to send, end, or an error. */
static void took_input(struct chunk *chunk, ssize_t n)
{
    if (n > 0) {
        send_chunk(chunk, (size_t)n);
        return;
    }
    give_back(chunk);
    if (n == UV_EOF || n == 0)
        end_of_input();
    else
        die(EX_IOERR, "read standard input: %s", uv_strerror((int)n));
}

/* region: read-stream */
/* stdin is a terminal, pipe or socket: libuv reads it when epoll says so. */
static void alloc_input(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)handle;
    (void)suggested;
    /* resume_input starts reading only when a chunk is free, and
     * on_stdin_read stops it once none is. NULL would give UV_ENOBUFS. */
    struct chunk *chunk = take_chunk();
    *buf = uv_buf_init(chunk != NULL ? chunk->data : NULL,
                       chunk != NULL ? CHUNK_SIZE : 0);
}

static void on_stdin_read(uv_stream_t *stream, ssize_t nread,
                          const uv_buf_t *buf)
{
    /* NULL only with UV_ENOBUFS, which alloc_input never causes. */
    struct chunk *chunk = (struct chunk *)(void *)buf->base;

    if (nread == 0) {  /* libuv's EAGAIN: nothing this time */
        give_back(chunk);
        return;
    }
    trace(nread, nread == UV_EOF ? "UV_EOF, end of input" : uv_why(nread),
          bsd("read(0) = %zd", nread > 0 ? nread : nread == UV_EOF ? 0 : -1),
          "on_stdin_read nread");
    if (nread < 0) {
        uv_read_stop(stream);  /* libuv stops by itself at EOF, not on error */
        input_reading = 0;
    }
    took_input(chunk, nread);

    /* Backpressure: every chunk is in flight, so stop reading stdin until
     * on_write gives one back. */
    if (input_reading && pending_writes >= MAX_PENDING_WRITES) {
        int rc = uv_read_stop(stream);
        trace(rc, "writes backed up", "epoll_ctl(0, no EPOLLIN)",
              "uv_read_stop(stdin)");
        input_reading = 0;
    }
}
/* endregion: read-stream */

/* region: read-file */
/* stdin is a file: one uv_fs_read at a time, from the current offset (-1),
 * run by libuv on a worker thread; on_file_read comes back on the loop. */
static void on_file_read(uv_fs_t *req)
{
    struct chunk *chunk = req->data;
    ssize_t n = req->result;

    uv_fs_req_cleanup(req);
    input_reading = 0;
    trace(n, n == 0 ? "end of input" : uv_why(n),
          bsd("read(0) = %zd, on a worker thread", n), "on_file_read result");
    took_input(chunk, n);
    resume_input();
}

static void read_file_chunk(void)
{
    struct chunk *chunk = take_chunk();
    uv_buf_t buf = uv_buf_init(chunk->data, CHUNK_SIZE);

    file_req.data = chunk;
    int rc = uv_fs_read(loop, &file_req, STDIN_FILENO, &buf, 1, -1,
                        on_file_read);
    if (rc < 0)
        die(EX_IOERR, "read standard input: %s", uv_strerror(rc));
    input_reading = 1;
}
/* endregion: read-file */

/* region: resume-input */
/* Read stdin again, unless it is over, already being read, or every chunk
 * is still on its way to the server. */
static void resume_input(void)
{
    if (input_done || input_reading || pending_writes >= MAX_PENDING_WRITES)
        return;
    if (input == NULL) {
        read_file_chunk();
        return;
    }
    int rc = uv_read_start(input, alloc_input, on_stdin_read);
    trace(rc, uv_why(rc), "epoll_ctl(0, EPOLLIN)", "uv_read_start(stdin)");
    if (rc < 0)
        die(EX_IOERR, "read standard input: %s", uv_strerror(rc));
    input_reading = 1;
}
/* endregion: resume-input */

/* region: open-stdin */
/* Pick the libuv handle that can read what fd 0 is. */
static void open_stdin(void)
{
    if (stdin_error != 0)
        die(EX_IOERR, "read standard input: %s", strerror(stdin_error));

    uv_handle_type kind = uv_guess_handle(STDIN_FILENO);
    int rc = 0;

    trace(kind, uv_handle_type_name(kind), "fstat(0) + isatty(0)",
          "uv_guess_handle(0)");
    if (kind == UV_TTY) {
        rc = uv_tty_init(loop, &stdin_handle.tty, STDIN_FILENO, 1);
        input = (uv_stream_t *)&stdin_handle.tty;
    } else if (kind == UV_NAMED_PIPE) {
        rc = uv_pipe_init(loop, &stdin_handle.pipe, 0);
        if (rc == 0)
            rc = uv_pipe_open(&stdin_handle.pipe, STDIN_FILENO);
        input = (uv_stream_t *)&stdin_handle.pipe;
    } else if (kind == UV_TCP) {
        rc = uv_tcp_init(loop, &stdin_handle.tcp);
        if (rc == 0)
            rc = uv_tcp_open(&stdin_handle.tcp, STDIN_FILENO);
        input = (uv_stream_t *)&stdin_handle.tcp;
    } else {
        /* A file, /dev/null, or something odd: plain read(2) calls on a
         * worker thread work for all of them, and report a bad fd 0. */
        input = NULL;
    }
    if (rc < 0)
        die(EX_IOERR, "standard input: %s", uv_strerror(rc));
}
/* endregion: open-stdin */

/* ---- connecting -------------------------------------------------------- */

static void on_connect(uv_connect_t *req, int status);

/* region: connect */
/* One address of the list. Failing ones are closed and the next is tried
 * from on_attempt_closed: a handle may be reused only after its close
 * callback. */
static void try_next_address(void)
{
    if (next_address == NULL) {
        freeaddrinfo(addresses);
        die(connect_exit_code(-last_error), "connect %s: %s%s", where,
            uv_strerror(last_error), errno_hint(-last_error));
    }
    struct addrinfo *ai = next_address;
    next_address = ai->ai_next;
    format_addr(ai->ai_addr, where, sizeof where);

    int rc = uv_tcp_init(loop, &sock);
    trace(rc, uv_why(rc), "socket(), made later by uv_tcp_connect",
          "uv_tcp_init(sock)");
    if (rc < 0)
        die(EX_OSERR, "uv_tcp_init: %s", uv_strerror(rc));

    rc = uv_tcp_connect(&connect_req, &sock, ai->ai_addr, on_connect);
    trace(rc, uv_why(rc), bsd("socket(%s) + connect() = EINPROGRESS",
                              family_name(ai->ai_family)),
          "uv_tcp_connect(sock, %s)", where);
    if (rc < 0)
        on_connect(&connect_req, rc);  /* failed at once: same road */
}

static void on_attempt_closed(uv_handle_t *handle)
{
    (void)handle;
    trace_step(NULL, "on_close(sock)");
    try_next_address();
}

/* The handshake is over (or failed): libuv saw the socket writable and
 * asked getsockopt(SO_ERROR) how it went. */
static void on_connect(uv_connect_t *req, int status)
{
    (void)req;
    sock_fd = -1;
    uv_fileno((uv_handle_t *)&sock, &sock_fd);
    trace(status, uv_why(status),
          bsd("connect(%d, %s) done", sock_fd, where), "on_connect status");
    if (status < 0) {
        last_error = status;
        trace_step(bsd("close(%d)", sock_fd), "uv_close(sock)");
        uv_close((uv_handle_t *)&sock, on_attempt_closed);
        return;
    }
    freeaddrinfo(addresses);
    addresses = NULL;

    int rc = uv_read_start((uv_stream_t *)&sock, alloc_echo, on_echo);
    trace(rc, uv_why(rc), bsd("epoll_ctl(%d, EPOLLIN)", sock_fd),
          "uv_read_start(sock)");
    if (rc < 0)
        die(EX_IOERR, "read from server: %s", uv_strerror(rc));
    open_stdin();
    resume_input();
}
/* endregion: connect */

/* region: main */
int main(int argc, char **argv)
{
    struct endpoint_args args;

    trace_init("uv-echo-client", 0);
    parse_client_args(argc, argv, &args, usage, NULL, NULL, NULL);
    /* A server that vanishes must give EPIPE from write, which we report,
     * not a silent death by SIGPIPE. */
    if (ignore_sigpipe() < 0)
        die(EX_OSERR, "sigaction: %s", strerror(errno));
    init_chunks();
    /* With fd 0 closed, the loop's epoll descriptor would be given number 0
     * and later taken for standard input. Note it now, report it when
     * stdin is first needed, as echo-client would. */
    if (fcntl(STDIN_FILENO, F_GETFD) < 0)
        stdin_error = errno;

    loop = uv_default_loop();
    if (loop == NULL)
        die(EX_OSERR, "uv_default_loop: cannot create the event loop");
    trace(uv_backend_fd(loop), NULL, "epoll_create1(EPOLL_CLOEXEC)",
          "uv_default_loop() backend fd");

    /* getaddrinfo, as echo-client does (libuv's uv_getaddrinfo is the same
     * call, run on a worker thread). */
    int rc = resolve(args.host, args.port, SOCK_STREAM, 0, &addresses);
    trace(rc == 0 ? 0 : -1, rc == 0 ? NULL : gai_strerror(rc), "getaddrinfo",
          "resolve(%s, %u)", args.host, (unsigned)args.port);
    if (rc != 0)
        die_unresolved(args.host, rc, 0);
    next_address = addresses;
    try_next_address();

    trace_step("epoll_wait, then callbacks, over and over",
               "uv_run(loop, UV_RUN_DEFAULT)");
    rc = uv_run(loop, UV_RUN_DEFAULT);
    trace(rc, NULL, "(nothing left to watch)", "uv_run(loop, UV_RUN_DEFAULT)");
    rc = uv_loop_close(loop);
    trace(rc, uv_why(rc), "close(epoll fd)", "uv_loop_close(loop)");
    if (rc < 0)
        warn_msg("uv_loop_close: %s", uv_strerror(rc));
    return 0;
}
/* endregion: main */

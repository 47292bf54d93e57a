/* uv_echo_client.c - the echo client again, on libuv's event loop.
 *
 * main, in the order a reader meets it:
 *
 *   uv_default_loop -> resolve (getaddrinfo) -> uv_tcp_init
 *   -> uv_tcp_connect(on_connect) -> uv_run
 *
 * and then the callbacks: on_connect (start reading the server and stdin),
 * alloc_buffer + on_read (the echo, to stdout), on_write (a chunk of stdin
 * has gone to the server), on_shutdown (the half-close at the end of input)
 * and on_close. Each address getaddrinfo gives is tried in turn, like
 * echo-client does.
 *
 * echo-client sends a chunk and waits for all of it to come back before it
 * reads more (stop-and-wait). Here the loop waits on stdin and the socket
 * together, so sending goes on while echoes arrive; at most 4 writes are
 * unfinished at a time (backpressure).
 *
 * Standard input can be three kinds of thing, and libuv reads each its own
 * way: a terminal (uv_tty_t) or a pipe or socket (uv_pipe_t, uv_tcp_t) is a
 * stream the loop can watch; a file (`< file`) is always "ready" to epoll,
 * which refuses it, so it is read with uv_fs_read, which libuv runs on a
 * worker thread. That part is in the "extras" below main.
 *
 * Usage: uv-echo-client [-h] [-v] [HOST [PORT]]
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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
    "  -v    trace each libuv call with the system calls it makes\n"
    "  HOST  name or address (default 127.0.0.1), or HOST:PORT / "
    "[V6ADDR]:PORT; a lone number is the PORT\n"
    "  PORT  default 7000";

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
static int connected;                 /* on_connect said yes */

static struct addrinfo *addresses;    /* from getaddrinfo */
static struct addrinfo *attempt;      /* the one being tried */
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
static int stdin_is_socket;           /* for the trace: read(0) on a socket */

static unsigned pending_writes;       /* uv_write calls not yet called back */
static unsigned long long bytes_sent; /* read from stdin, queued to send */
static unsigned long long bytes_back; /* echoed back, written to stdout */

static char echo_buf[CHUNK_SIZE];     /* the server's echo lands here */

/* The callbacks, in the order they first run, then the extras. */
static void on_connect(uv_connect_t *req, int status);
static void alloc_buffer(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void on_write(uv_write_t *req, int status);
static void on_shutdown(uv_shutdown_t *req, int status);
static void on_close(uv_handle_t *handle);
static void open_stdin(void);
static void resume_input(void);
static void try_next_address(void);
static void trace_connect(int rc);
static void check(int rc, const char *what);

/* region: connect */
/* The handshake is over (or failed): libuv saw the socket writable and
 * asked getsockopt(SO_ERROR) how it went. A failed address is closed, and
 * on_close tries the next: a handle may be reused only after its close
 * callback. */
static void on_connect(uv_connect_t *req, int status)
{
    (void)req;
    uv_fileno((uv_handle_t *)&sock, &sock_fd);
    uv_step(status, bsd("getsockopt(%d, SO_ERROR), unless connect failed at "
                        "once", sock_fd), "on_connect status");
    if (status < 0) {
        last_error = status;
        trace_step(bsd("epoll_ctl(DEL, %d) + close(%d)", sock_fd, sock_fd),
                   "uv_close(sock)");
        uv_close((uv_handle_t *)&sock, on_close);
        return;
    }
    connected = 1;
    freeaddrinfo(addresses);
    addresses = NULL;

    int rc = uv_read_start((uv_stream_t *)&sock, alloc_buffer, on_read);
    uv_step(rc, bsd("no system call: epoll_ctl(%d, EPOLLIN) at the next "
                    "wait", sock_fd), "uv_read_start(sock)");
    if (rc < 0)
        die(EX_IOERR, "read from server: %s", uv_strerror(rc));
    open_stdin();
    resume_input();
}
/* endregion: connect */

/* region: alloc-buffer */
/* One buffer is enough here: each echo is written to stdout (blocking, with
 * write_all) before on_read returns, so the next read may reuse it. */
static void alloc_buffer(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)handle;
    (void)suggested;
    *buf = uv_buf_init(echo_buf, sizeof echo_buf);
}
/* endregion: alloc-buffer */

/* region: on-read */
/* The echo coming back: nread bytes, or UV_EOF once the server has closed;
 * nread == 0 means read(2) said EAGAIN (libuv never passes UV_EAGAIN). */
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    if (nread >= 0) {
        uv_step(nread, nread == 0 ? bsd("read(%d) = -1 EAGAIN", sock_fd)
                                  : bsd("read(%d) = %zd", sock_fd, nread),
                "on_read(sock) nread");
        if (write_all(STDOUT_FILENO, buf->base, (size_t)nread) < 0)
            die(EX_IOERR, "write standard output: %s", strerror(errno));
        bytes_back += (unsigned long long)nread;
        return;
    }

    /* UV_EOF: a read that returned 0, or, once both directions are shut,
     * an EPOLLHUP after a short read (see stdin_read_note). */
    trace(nread, nread == UV_EOF ? "UV_EOF, server closed" : uv_why(nread),
          nread == UV_EOF
              ? bsd("read(%d) = 0, or a hang-up after a short read", sock_fd)
              : bsd("read(%d) = -1", sock_fd),
          "on_read(sock) nread");
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
    uv_close((uv_handle_t *)stream, on_close);
}
/* endregion: on-read */

/* region: on-write */
/* A chunk of stdin is in the kernel (or the write failed): its buffer is
 * free, so stdin may be read again. */
static void on_write(uv_write_t *req, int status)
{
    struct chunk *chunk = req->data;

    uv_step(status, "the write finished; nothing more to do",
            "on_write(sock) status");
    if (status < 0)
        die(EX_IOERR, "write to server: %s", uv_strerror(status));
    pending_writes--;
    give_back(chunk);
    resume_input();  /* room for another chunk: read stdin again */
}
/* endregion: on-write */

/* libuv called shutdown(2) just before this, once the writes were out. */
static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    uv_step(status, status == UV_ECANCELED
                        ? "no shutdown: the handle was closed first"
                        : bsd("shutdown(%d, SHUT_WR) = %d", sock_fd,
                              status < 0 ? -1 : 0),
            "on_shutdown(sock) status");
    if (status < 0 && status != UV_ECANCELED)
        die(EX_IOERR, "shutdown: %s", uv_strerror(status));
}

static void on_close(uv_handle_t *handle)
{
    int is_sock = handle == (uv_handle_t *)&sock;

    trace_step(NULL, "on_close(%s)", is_sock ? "sock" : "stdin");
    if (is_sock && !connected)
        try_next_address();  /* that address failed: the next one */
}

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

    loop = uv_default_loop();
    uv_trace_loop(loop);

    /* getaddrinfo, as echo-client does (libuv's uv_getaddrinfo is the same
     * call, run on a worker thread). */
    int rc = resolve(args.host, args.port, SOCK_STREAM, 0, &addresses);
    trace(rc == 0 ? 0 : -1, rc == 0 ? NULL : gai_strerror(rc),
          "getaddrinfo, no libuv call", "resolve(%s, %u)", args.host,
          (unsigned)args.port);
    if (rc != 0)
        die_unresolved(args.host, rc, 0);
    attempt = addresses;  /* the first address; on_close tries the others */

    rc = uv_tcp_init(loop, &sock);
    uv_step(rc, "no socket: uv_tcp_connect makes it (the loop's first "
            "stream opens /dev/null, a spare fd for EMFILE)",
            "uv_tcp_init(sock)");
    check(rc, "uv_tcp_init");

    rc = uv_tcp_connect(&connect_req, &sock, attempt->ai_addr, on_connect);
    trace_connect(rc);
    if (rc < 0)
        on_connect(&connect_req, rc);  /* failed at once: the same road */

    trace_step("epoll_ctl(ADD) for each new watcher, epoll_wait, callbacks; "
               "again and again", "uv_run(loop, UV_RUN_DEFAULT)");
    rc = uv_run(loop, UV_RUN_DEFAULT);
    uv_step(rc, "nothing left to watch", "uv_run(loop, UV_RUN_DEFAULT)");

    rc = uv_loop_close(loop);
    uv_step(rc, "closes the epoll fd, the loop's pipes, its eventfd and the "
            "spare /dev/null fd", "uv_loop_close(loop)");
    if (rc < 0)
        warn_msg("uv_loop_close: %s", uv_strerror(rc));
    return 0;
}
/* endregion: main */

/* ==== extras: the other addresses, standard input, the trace ============== */

/* region: next-address */
/* The last address failed and its handle is closed: try the next one, or
 * give up with the last error, as echo-client does. */
static void try_next_address(void)
{
    if (attempt->ai_next == NULL) {
        char where[ADDR_TEXT_MAX];
        format_addr(attempt->ai_addr, where, sizeof where);
        freeaddrinfo(addresses);
        die(connect_exit_code(-last_error), "connect %s: %s%s", where,
            uv_strerror(last_error), errno_hint(-last_error));
    }
    attempt = attempt->ai_next;

    int rc = uv_tcp_init(loop, &sock);
    uv_step(rc, "no socket: uv_tcp_connect makes it", "uv_tcp_init(sock)");
    check(rc, "uv_tcp_init");

    rc = uv_tcp_connect(&connect_req, &sock, attempt->ai_addr, on_connect);
    trace_connect(rc);
    if (rc < 0)
        on_connect(&connect_req, rc);
}
/* endregion: next-address */

/* ---- standard input to the server ----------------------------------------- */

/* How a read of stdin shows on the right: read(0) only on a socket.
 * UV_EOF on a stream need not be a read that returned 0: when the epoll
 * event carries a hang-up (EPOLLHUP) and the last read was short,
 * uv__stream_io reports the end at once, with no read (libuv 1.44's
 * src/unix/stream.c). A pipe whose writer has closed does that. */
static const char *stdin_read_note(ssize_t n, const char *how)
{
    long shown = n >= 0 ? (long)n : n == UV_EOF ? 0 : -1;
    if (n == UV_EOF && how[0] == '\0')
        return stdin_is_socket ? "read(0) = 0, or a hang-up after a short read"
                               : "a read of fd 0 = 0, or a hang-up after a short read";
    return stdin_is_socket ? bsd("read(0) = %ld", shown)
                           : bsd("a read of fd 0%s = %ld", how, shown);
}

/* region: send-chunk */
static void send_chunk(struct chunk *chunk, size_t len)
{
    chunk->len = len;
    chunk->req.data = chunk;
    uv_buf_t out = uv_buf_init(chunk->data, (unsigned)len);
    size_t queued = uv_stream_get_write_queue_size((uv_stream_t *)&sock);
    int rc = uv_write(&chunk->req, (uv_stream_t *)&sock, &out, 1, on_write);
    uv_step(rc, uv_write_note(rc, (uv_stream_t *)&sock, sock_fd, len, queued),
            "uv_write(sock, %zu)", len);
    if (rc < 0)
        die(EX_IOERR, "write to server: %s", uv_strerror(rc));
    pending_writes++;
    bytes_sent += len;
}
/* endregion: send-chunk */

/* region: end-of-input */
/* Nothing more to send. uv_shutdown waits until every queued write is out,
 * then half-closes (shutdown SHUT_WR) just before on_shutdown: the server
 * reads EOF while we can still read the rest of the echo. */
static void end_of_input(void)
{
    input_done = 1;
    if (input != NULL) {
        trace_step("epoll_ctl(DEL); fd 0 stays open: libuv never closes "
                   "fds 0-2", "uv_close(stdin)");
        uv_close((uv_handle_t *)input, on_close);
    }
    int rc = uv_shutdown(&shutdown_req, (uv_stream_t *)&sock, on_shutdown);
    uv_step(rc, "no system call yet: shutdown comes once the writes are out",
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

    if (nread == 0) {  /* read(2) said EAGAIN: nothing this time */
        give_back(chunk);
        return;
    }
    trace(nread, nread == UV_EOF ? "UV_EOF, end of input" : uv_why(nread),
          stdin_read_note(nread, ""), "on_stdin_read nread");
    if (nread < 0) {
        uv_read_stop(stream);  /* libuv stops by itself at EOF, not on error */
        input_reading = 0;
    }
    took_input(chunk, nread);

    /* Backpressure: every chunk is in flight, so stop reading stdin until
     * on_write gives one back. */
    if (input_reading && pending_writes >= MAX_PENDING_WRITES) {
        int rc = uv_read_stop(stream);
        trace(rc, "writes backed up",
              "no system call: the loop stops asking for EPOLLIN at its "
              "next wait", "uv_read_stop(stdin)");
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
          stdin_read_note(n, " on a worker thread"), "on_file_read result");
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
    uv_step(rc, "no system call: epoll_ctl(0, EPOLLIN) at the next wait",
            "uv_read_start(stdin)");
    if (rc < 0)
        die(EX_IOERR, "read standard input: %s", uv_strerror(rc));
    input_reading = 1;
}
/* endregion: resume-input */

/* region: open-stdin */
/* Pick the libuv handle that can read what fd 0 is. */
static void open_stdin(void)
{
    uv_handle_type kind = uv_guess_handle(STDIN_FILENO);
    int rc = 0;

    struct stat st;  /* for the trace: uv_guess_handle asks a socket more */
    stdin_is_socket = fstat(STDIN_FILENO, &st) == 0 && S_ISSOCK(st.st_mode);
    trace(kind, uv_handle_type_name(kind),
          stdin_is_socket ? "isatty(0) + fstat(0) + getsockname(0) + "
                            "getsockopt(0, SO_TYPE)"
                          : "isatty(0) + fstat(0)",
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
        /* A file, /dev/null (also what a closed fd 0 became at start),
         * or something odd: plain read(2) calls on a worker thread work
         * for all of them. */
        input = NULL;
    }
    if (rc < 0)
        die(EX_IOERR, "standard input: %s", uv_strerror(rc));
}
/* endregion: open-stdin */

/* ---- the trace and the errors ------------------------------------------------ */

/* uv_tcp_connect makes the socket (uv__socket: non-blocking, close-on-exec)
 * and calls connect, which says EINPROGRESS; the loop watches for EPOLLOUT
 * and on_connect runs once the handshake is over. */
static void trace_connect(int rc)
{
    char where[ADDR_TEXT_MAX];
    int fd = -1;

    format_addr(attempt->ai_addr, where, sizeof where);
    uv_fileno((uv_handle_t *)&sock, &fd);
    uv_step(rc, bsd("socket(%s, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC) = %d "
                    "+ connect(%d, %s), which does not wait",
                    family_name(attempt->ai_family), fd, fd, where),
            "uv_tcp_connect(sock, %s)", where);
}

static void check(int rc, const char *what)
{
    if (rc < 0)
        die(EX_OSERR, "%s: %s", what, uv_strerror(rc));
}

/* uv_pingpong.c - a second, independent load generator, used only to check
 * the first one (make bench: "generator check").
 *
 * bin/echo-bench is a poll() loop written for this project. This one
 * shares none of its code: it is built on libuv's loop (epoll on Linux),
 * and does the same thing as echo-bench -m pingpong: CLIENTS connections,
 * one SIZE-byte message outstanding on each, the next one written when
 * the whole echo is back. If echo-bench measures clearly less than this
 * on the same server in the same run, echo-bench is the bottleneck.
 *
 * Usage: uv-pingpong PORT CLIENTS SECONDS   (127.0.0.1, 64-byte messages)
 * Prints: uv-pingpong: 50 clients: 123456 round trips in 1.000 s = 123456/s
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define SIZE 64

struct client {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    char back[SIZE];   /* the echo of the message in flight */
    size_t got;        /* bytes of it back so far */
    int writing;       /* the write request is libuv's until on_written */
    int next_waits;    /* the echo came back before on_written ran */
};

static char message[SIZE];
static uv_buf_t out;
static long long round_trips;
static int measuring, failed;
static uint64_t t0;

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct client *c = handle->data;
    (void)suggested;
    /* Never more than the rest of the message: the echo of the next one
     * cannot come before it is sent. */
    *buf = uv_buf_init(c->back + c->got, (unsigned)(SIZE - c->got));
}

static void send_message(struct client *c);

static void on_written(uv_write_t *req, int status)
{
    struct client *c = req->data;
    c->writing = 0;
    if (status < 0) {
        fprintf(stderr, "uv-pingpong: write: %s\n", uv_strerror(status));
        failed = 1;
        uv_stop(req->handle->loop);
        return;
    }
    if (c->next_waits) {
        c->next_waits = 0;
        send_message(c);
    }
}

/* uv_try_write writes at once when the socket has room, as it always has
 * for 64 bytes here, with no request and no callback. Only when it cannot
 * take the whole message does uv_write queue the rest. A uv_write_t may not
 * be used again before its callback has run, and the echo can come back
 * before that callback does (a finished write is queued by
 * uv__write_req_finish -> uv__io_feed in libuv 1.44's src/unix/stream.c,
 * and called back on a later turn of the loop), so the next message may
 * have to wait for on_written. */
static void send_message(struct client *c)
{
    c->got = 0;
    if (c->writing) {
        c->next_waits = 1;
        return;
    }
    int n = uv_try_write((uv_stream_t *)&c->tcp, &out, 1);
    if (n == SIZE)
        return;
    uv_buf_t rest = uv_buf_init(message + (n > 0 ? n : 0),
                                (unsigned)(SIZE - (n > 0 ? n : 0)));
    c->writing = 1;
    c->write.data = c;
    uv_write(&c->write, (uv_stream_t *)&c->tcp, &rest, 1, on_written);
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct client *c = stream->data;
    (void)buf;
    if (n < 0) {
        fprintf(stderr, "uv-pingpong: read: %s\n", uv_strerror((int)n));
        failed = 1;
        uv_stop(stream->loop);
        return;
    }
    c->got += (size_t)n;
    if (c->got < SIZE)
        return;
    if (memcmp(c->back, message, SIZE) != 0) {
        fprintf(stderr, "uv-pingpong: the echo differs\n");
        failed = 1;
        uv_stop(stream->loop);
        return;
    }
    if (measuring)
        round_trips++;
    send_message(c);
}

static int connected, clients;

static void on_connect(uv_connect_t *req, int status)
{
    struct client *c = req->data;
    if (status < 0) {
        fprintf(stderr, "uv-pingpong: connect: %s\n", uv_strerror(status));
        failed = 1;
        uv_stop(req->handle->loop);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (++connected == clients) {
        /* Every connection is up: the clock starts, all send at once. */
        measuring = 1;
        t0 = uv_hrtime();
    }
    send_message(c);
}

static void on_timer(uv_timer_t *timer)
{
    uv_stop(timer->loop);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: uv-pingpong PORT CLIENTS SECONDS\n");
        return 64;
    }
    int port = atoi(argv[1]), seconds = atoi(argv[3]);
    clients = atoi(argv[2]);
    if (port < 1 || port > 65535 || clients < 1 || clients > 1000 ||
        seconds < 1 || seconds > 60) {
        fprintf(stderr, "uv-pingpong: expected PORT 1-65535, CLIENTS "
                "1-1000, SECONDS 1-60\n");
        return 64;
    }
    for (int i = 0; i < SIZE; i++)
        message[i] = (char)('a' + i % 26);
    out = uv_buf_init(message, SIZE);

    uv_loop_t *loop = uv_default_loop();
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    struct client *all = calloc((size_t)clients, sizeof *all);
    if (all == NULL)
        return 71;
    for (int i = 0; i < clients; i++) {
        uv_tcp_init(loop, &all[i].tcp);
        all[i].tcp.data = &all[i];
        all[i].connect.data = &all[i];
        uv_tcp_connect(&all[i].connect, &all[i].tcp,
                       (const struct sockaddr *)&addr, on_connect);
    }
    uv_timer_t timer;
    uv_timer_init(loop, &timer);
    uv_timer_start(&timer, on_timer, (uint64_t)seconds * 1000, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    double elapsed = (double)(uv_hrtime() - t0) / 1e9;
    if (failed || !measuring) {
        fprintf(stderr, "uv-pingpong: %s\n", failed ? "failed"
                : "not every connection was made in time");
        return 74;
    }
    printf("uv-pingpong: %d clients: %lld round trips in %.3f s = %.0f/s\n",
           clients, round_trips, elapsed, (double)round_trips / elapsed);
    /* The process ends here: the kernel closes every socket. */
    return 0;
}

/* test_poll.c - bin/echo-server-poll: many clients, backpressure, slots.
 *
 * Every server is started through the harness: on port 0, found through
 * its ready line, dying with the test and reaped by it (the suite's .fini
 * reaps whatever an early failure left). Every wait has a deadline.
 * Figures (descriptors, RSS) are logged at info level: run with --verbose
 * to see them.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define POLL_SERVER "echo-server-poll"
#define ECHO_CLIENT "echo-client"
#define MIB (1024L * 1024L)

TestSuite(poll, .timeout = 60, .fini = harness_cleanup);

/* ---- the server --------------------------------------------------------- */

static const char *const traced_args[] = {"-v", NULL};

/* Start the poll server on port 0 with args; max_fds > 0 caps its
 * descriptors (RLIMIT_NOFILE, soft and hard). */
static void start_poll(struct server *s, const char *const args[],
                       int max_fds)
{
    cr_assert_eq(server_start_fd_limit(s, POLL_SERVER, args, NULL, max_fds),
                 0, "%s", harness_error());
}

/* SIGTERM; the server must exit 0 within HARNESS_STOP_MS. Its stderr is
 * then in s->err_text. */
static void stop_poll(struct server *s)
{
    cr_expect_eq(server_stop_clean(s), 0, "%s", harness_error());
}

/* Wait (bounded) until pid has at most `want` descriptors open. Returns
 * the last count. */
static int wait_fds_at_most(pid_t pid, int want, long timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    int n;
    while ((n = count_open_fds(pid)) > want && now_ms() < end)
        nap_ms(5);
    return n;
}

/* ---- client helpers ----------------------------------------------------- */

/* A connected client, or the test fails. */
static int new_client(const struct server *s)
{
    int fd = tcp_connect(s->host, s->port);
    cr_assert_geq(fd, 0, "%s", harness_error());
    return fd;
}

/* All of data sent, or the test fails: 5 s at most. */
static void send_all(int fd, const void *data, size_t len)
{
    cr_assert_eq(sock_send_all(fd, data, len, 5000), len, "%s",
                 harness_error());
}

/* Exactly len bytes read, or the test fails: 5 s at most. */
static void recv_exact(int fd, void *data, size_t len)
{
    cr_assert_eq(sock_read_exact(fd, data, len, 5000), len, "%s",
                 harness_error());
}

static void expect_echo(int fd, const char *msg)
{
    size_t len = strlen(msg);
    char back[256];
    cr_assert_lt(len, sizeof back);
    send_all(fd, msg, len);
    recv_exact(fd, back, len);
    cr_assert(memcmp(back, msg, len) == 0, "echo differs: sent '%s'", msg);
}

static void raise_own_fd_limit(rlim_t want)
{
    struct rlimit lim;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &lim), 0);
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < want)
        cr_skip_test("RLIMIT_NOFILE hard limit is %llu, this test needs %llu "
                     "(raise it with ulimit -Hn)",
                     (unsigned long long)lim.rlim_max,
                     (unsigned long long)want);
    if (lim.rlim_cur < want) {
        lim.rlim_cur = want;
        cr_assert_eq(setrlimit(RLIMIT_NOFILE, &lim), 0, "setrlimit: %s",
                     strerror(errno));
    }
}

/* ---- the tests ---------------------------------------------------------- */

Test(poll, line_echo_through_echo_client, .timeout = 20)
{
    struct server s;
    struct run_result r;
    char port[8], how[64];
    start_poll(&s, NULL, 0);
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    const char *const args[] = {"127.0.0.1", port, NULL};
    const char input[] = "hello\nsecond line\n\nno newline at the end";

    cr_assert_eq(run_program(ECHO_CLIENT, args, input, sizeof input - 1,
                             10000, &r),
                 0, "%s", harness_error());
    cr_expect(exited_with(&r.exit, 0), "echo-client %s: %s",
              describe_exit(&r.exit, how, sizeof how), r.err);
    cr_expect_eq(r.out_len, sizeof input - 1);
    cr_expect(r.out_len == sizeof input - 1 &&
                  memcmp(r.out, input, sizeof input - 1) == 0,
              "got: %s", r.out);
    run_result_free(&r);
    stop_poll(&s);
    server_release(&s);
}

/* Full duplex with poll, so neither side waits on the other: send 8 MiB
 * (NUL bytes included), half-close, read until the server closes. The
 * server must send every byte it queued before it closes. */
Test(poll, eight_mib_byte_for_byte, .timeout = 30)
{
    const size_t total = 8 * MIB;
    struct server s;
    start_poll(&s, NULL, 0);
    char *data = malloc(total), *back = malloc(total);
    cr_assert(data != NULL && back != NULL);
    fill_random(data, total, 12345);

    int fd = new_client(&s);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    size_t sent = 0, got = 0;
    int open_out = 1;
    long long end = now_ms() + 20000;
    while (got < total + 1) {
        short want = (short)(POLLIN | (open_out ? POLLOUT : 0));
        struct pollfd p = {.fd = fd, .events = want};
        long long left = end - now_ms();
        cr_assert(left > 0 && poll(&p, 1, (int)left) == 1,
                  "stalled: %zu sent, %zu back", sent, got);
        if (p.revents & POLLOUT) {
            ssize_t n = write(fd, data + sent, total - sent);
            if (n > 0)
                sent += (size_t)n;
            if (sent == total) {
                cr_assert_eq(shutdown(fd, SHUT_WR), 0);
                open_out = 0;
            }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            char extra;
            ssize_t n = got < total ? read(fd, back + got, total - got)
                                    : read(fd, &extra, 1);
            if (n == 0)
                break;  /* the server closed after the last byte */
            cr_assert(n > 0 || errno == EAGAIN, "read: %s", strerror(errno));
            if (n > 0)
                got += (size_t)n;
        }
    }
    cr_expect_eq(got, total, "%zu of %zu bytes came back", got, total);
    cr_expect(memcmp(data, back, total) == 0, "the echo differs");
    close(fd);
    free(data);
    free(back);
    stop_poll(&s);
    server_release(&s);
}

/* How many bytes the server has read, by its trace, and whether it has
 * had to keep echo back for POLLOUT yet. */
static size_t traced_reads(const struct server *s, int *kept)
{
    char *err = server_stderr_now(s);
    size_t total = 0;

    cr_assert_not_null(err, "cannot read the server's stderr");

    for (const char *p = strstr(err, "] read("); p != NULL;
         p = strstr(p + 1, "] read(")) {
        int fd;
        long n;
        if (sscanf(p, "] read(%d) = %ld", &fd, &n) == 2 && n > 0)
            total += (size_t)n;
    }
    *kept = strstr(err, "kept for POLLOUT") != NULL;
    free(err);
    return total;
}

/* The server reads EOF while it still holds echo the client has not
 * taken; it must send all of it before it closes. To get there for sure,
 * a client with a tiny receive buffer sends 16 KiB at a time, each time
 * waiting (by the trace) until the server has read it, until the server
 * reports echo kept back. Then it half-closes, and only then reads. */
Test(poll, half_close_with_echo_pending, .timeout = 30)
{
    const size_t cap = 32 * MIB, step = 16 * 1024;
    struct sockaddr_in a = {0};
    int small = 4096, kept = 0;
    struct server s;
    start_poll(&s, traced_args, 0);

    /* Not tcp_connect: the receive buffer must be small before connect,
     * when the window is offered. Every read and write below is bounded
     * by the harness. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    a.sin_family = AF_INET;
    a.sin_port = htons(s.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0,
                 "connect to port %u: %s", (unsigned)s.port, strerror(errno));

    char *data = malloc(cap), *back = malloc(cap);
    cr_assert(data != NULL && back != NULL);
    for (size_t i = 0; i < cap; i++)
        data[i] = (char)(i % 251);
    size_t sent = 0;
    /* A server that never keeps echo back would have this loop feed its
     * receive buffer 2 s a step: give up after 20 s in all. */
    long long give_up = now_ms() + 20000;
    while (!kept && sent < cap && now_ms() < give_up) {
        send_all(fd, data + sent, step);
        sent += step;
        long long end = now_ms() + 2000;
        while (traced_reads(&s, &kept) < sent && !kept && now_ms() < end)
            nap_ms(1);
    }
    cr_assert(kept, "the server never had to keep echo back (%zu sent)",
              sent);
    cr_assert_eq(shutdown(fd, SHUT_WR), 0);

    recv_exact(fd, back, sent);
    cr_expect(memcmp(data, back, sent) == 0, "the echo differs");
    cr_expect_eq(sock_expect_eof(fd, 5000), 1, "no EOF after the echo: %s",
                 harness_error());
    close(fd);
    free(data);
    free(back);
    stop_poll(&s);

    /* The trace shows the case happened: echo written after the EOF. */
    const char *err = s.err_text;
    const char *eof = strstr(err, "= 0  peer closed");
    const char *later = eof != NULL ? strstr(eof, "uv__write") : NULL;
    const char *closed = eof != NULL ? strstr(eof, "close(") : NULL;
    cr_expect(later != NULL && closed != NULL && later < closed,
              "nothing was pending at EOF: the test proved nothing");
    cr_log_info("half-close: echo first kept back after %zu bytes", sent);
    server_release(&s);
}

Test(poll, sigterm_exits_zero_with_summary, .timeout = 20)
{
    struct server s;
    start_poll(&s, NULL, 0);
    int a = new_client(&s), b = new_client(&s);
    expect_echo(a, "0123456789");
    expect_echo(b, "abc");
    close(a);
    wait_fds_at_most(s.pid, 7, 2000);  /* a closed: 0-2, 3, pipe, b */

    stop_poll(&s);  /* b is still connected: reset after the grace */
    cr_expect(strstr(s.err_text, "stopped: 2 clients served, 13 bytes "
                                 "written back, 1 cut off by the stop") != NULL,
              "summary missing: %s", s.err_text);
    close(b);
    server_release(&s);
}

/* 1,000 clients connected at the same time, each echoed, twice. */
Test(poll, thousand_clients_at_once, .timeout = 60)
{
    enum { N = 1000, BATCH = 100 };
    static int fds[N];
    char msg[32];
    struct server s;

    /* More than the default cap (-c 256): ask for them. */
    static const char *const many[] = {"-c", "1000", NULL};
    raise_own_fd_limit(N + 64);
    start_poll(&s, many, 0);
    long rss_before = rss_kib(s.pid);
    int fds_before = count_open_fds(s.pid);
    cr_assert_gt(fds_before, 0, "%s", harness_error());

    /* Connect in batches no bigger than the backlog (128), checking each
     * batch answers, so that no SYN is dropped and retried a second later. */
    for (int first = 0; first < N; first += BATCH) {
        for (int i = first; i < first + BATCH; i++)
            fds[i] = new_client(&s);
        for (int i = first; i < first + BATCH; i++) {
            snprintf(msg, sizeof msg, "hello %d\n", i);
            expect_echo(fds[i], msg);
        }
    }
    int fds_during = count_open_fds(s.pid);
    cr_expect_geq(fds_during, N + 3, "server holds %d descriptors",
                  fds_during);

    /* All at once: everybody sends, then everybody reads its own echo. */
    for (int i = 0; i < N; i++) {
        snprintf(msg, sizeof msg, "client %04d round 2\n", i);
        send_all(fds[i], msg, strlen(msg));
    }
    for (int i = 0; i < N; i++) {
        char back[32];
        snprintf(msg, sizeof msg, "client %04d round 2\n", i);
        recv_exact(fds[i], back, strlen(msg));
        cr_assert(memcmp(back, msg, strlen(msg)) == 0,
                  "client %d got another's echo", i);
    }
    long rss_during = rss_kib(s.pid);

    for (int i = 0; i < N; i++)
        close(fds[i]);
    int fds_after = wait_fds_at_most(s.pid, fds_before, 10000);
    long rss_after = rss_kib(s.pid);
    cr_expect_eq(fds_after, fds_before, "server still holds %d descriptors",
                 fds_after);
    cr_log_info("1000 clients: server descriptors %d before, %d during, %d "
                "after; VmRSS %ld KiB before, %ld KiB during, %ld KiB after",
                fds_before, fds_during, fds_after, rss_before, rss_during,
                rss_after);

    stop_poll(&s);
    cr_expect(strstr(s.err_text, "stopped: 1000 clients served") != NULL,
              "%s", s.err_text);
    server_release(&s);
}

/* A client that sends and never reads: the server stops reading from it
 * once its unsent echo passes the bound, so its memory stays flat, and it
 * keeps serving everyone else meanwhile. The bound checked is 16 MiB of
 * growth (the server needs well under 1 MiB): without backpressure this
 * test saw about 56 MiB, which a 64 MiB bound would have let through. */
Test(poll, never_reading_client_is_bounded, .timeout = 60)
{
    const size_t goal = 64 * MIB, chunk = 1 * MIB;
    struct server s;
    start_poll(&s, NULL, 0);
    long rss_start = rss_kib(s.pid);
    cr_assert_gt(rss_start, 0, "%s", harness_error());

    int other = new_client(&s);
    expect_echo(other, "before the flood");

    int hog = new_client(&s);
    fcntl(hog, F_SETFL, O_NONBLOCK);
    char *data = malloc(chunk);
    cr_assert_not_null(data);
    memset(data, 'x', chunk);
    size_t pushed = 0;
    long rss_peak = rss_start;
    long long end = now_ms() + 20000;
    while (pushed < goal && now_ms() < end) {
        struct pollfd p = {.fd = hog, .events = POLLOUT};
        if (poll(&p, 1, 500) == 0)
            break;  /* no room for half a second: the hog is stuck */
        ssize_t n = write(hog, data, chunk < goal - pushed ? chunk
                                                          : goal - pushed);
        cr_assert(n > 0 || errno == EAGAIN, "write: %s", strerror(errno));
        if (n > 0)
            pushed += (size_t)n;
        long rss = rss_kib(s.pid);
        if (rss > rss_peak)
            rss_peak = rss;
    }

    /* The hog is stuck (or done); another client is still served. */
    long long t0 = now_ms();
    expect_echo(other, "during the flood: still answered");
    long long answer_ms = now_ms() - t0;
    long rss_during = rss_kib(s.pid);
    if (rss_during > rss_peak)
        rss_peak = rss_during;
    cr_expect_lt(answer_ms, 2000, "the other client waited %lld ms",
                 answer_ms);
    cr_expect_lt(rss_peak - rss_start, 16 * 1024,
                 "server VmRSS grew by %ld KiB", rss_peak - rss_start);

    close(hog);  /* unread data: this resets the connection */
    wait_fds_at_most(s.pid, 7, 5000);  /* 0-2, listener, pipe, other */
    expect_echo(other, "after the flood");
    long rss_after = rss_kib(s.pid);
    cr_expect_lt(rss_after - rss_start, 16 * 1024,
                 "server VmRSS still %ld KiB above the start",
                 rss_after - rss_start);
    cr_log_info("never-reading client pushed %zu bytes before it stalled; "
                "server VmRSS %ld KiB at start, %ld KiB peak during, %ld KiB "
                "during (after the stall), %ld KiB after; other client "
                "answered in %lld ms",
                pushed, rss_start, rss_peak, rss_during, rss_after,
                answer_ms);

    free(data);
    close(other);
    stop_poll(&s);
    server_release(&s);
}

/* ---- closing in every order --------------------------------------------- */

/* Every open client sends a message naming itself, then every one reads:
 * a slot paired with the wrong client, or skipped, shows up here. */
static void check_alive(const int *fds, const int *open, int n, int round)
{
    char msg[64], back[64];

    for (int i = 0; i < n; i++) {
        if (!open[i])
            continue;
        snprintf(msg, sizeof msg, "client %d round %d\n", i, round);
        send_all(fds[i], msg, strlen(msg));
    }
    for (int i = 0; i < n; i++) {
        if (!open[i])
            continue;
        snprintf(msg, sizeof msg, "client %d round %d\n", i, round);
        recv_exact(fds[i], back, strlen(msg));
        cr_assert(memcmp(back, msg, strlen(msg)) == 0,
                  "client %d, round %d: echo differs", i, round);
    }
}

/* A client that sends 'H's until it is stuck and reads nothing yet, so the
 * server holds unsent echo for it and stops reading it (backpressure): its
 * slot carries real state, and a slot moved without its record shows.
 * Returns how many bytes it got to send. */
static size_t start_hog(int fd)
{
    static char data[1 * MIB];
    size_t pushed = 0;

    memset(data, 'H', sizeof data);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    while (pushed < 64 * MIB) {
        ssize_t n = write(fd, data, sizeof data);
        if (n > 0) {
            pushed += (size_t)n;
            continue;
        }
        cr_assert(errno == EAGAIN, "hog write: %s", strerror(errno));
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, 50) == 0)
            break;  /* no room for 50 ms: every buffer on the way is full */
    }
    return pushed;
}

/* Read the hog's echo back: exactly `pushed` bytes, every one an 'H'. */
static void finish_hog(int fd, size_t pushed)
{
    static char back[64 * 1024];

    while (pushed > 0) {
        size_t want = pushed < sizeof back ? pushed : sizeof back;
        cr_assert_eq(sock_read_exact(fd, back, want, 5000), want,
                     "hog: %zu bytes still expected: %s", pushed,
                     harness_error());
        for (size_t i = 0; i < want; i++)
            cr_assert_eq(back[i], 'H', "hog got another client's bytes");
        pushed -= want;
    }
    close(fd);
}

/* The trace of a stopped server shows it did stop reading a hog at least
 * once, so the slots that moved really carried state. */
static void expect_backpressure(const struct server *s)
{
    cr_expect(strstr(s->err_text, "stop reading  ~ uv_read_stop") != NULL,
              "the hog never pushed the server into backpressure");
}

/* Open n clients and a hog behind them (the hog's slot moves down each
 * time one of them closes), then close the n in the given order (count of
 * them), checking the rest after each close. */
static void close_in_order(const struct server *s, int n, const int *order,
                           int count)
{
    int fds[16] = {0}, open[16] = {0};

    cr_assert_leq(n, 16);
    for (int i = 0; i < n; i++) {
        fds[i] = new_client(s);
        open[i] = 1;
    }
    int hog = new_client(s);
    size_t pushed = start_hog(hog);
    check_alive(fds, open, n, 0);
    for (int k = 0; k < count; k++) {
        close(fds[order[k]]);
        open[order[k]] = 0;
        check_alive(fds, open, n, k + 1);
    }
    finish_hog(hog, pushed);
    for (int i = 0; i < n; i++)
        if (open[i])
            close(fds[i]);
}

Test(poll, close_first_last_middle, .timeout = 20)
{
    struct server s;
    start_poll(&s, traced_args, 0);
    const int first[] = {0}, last[] = {7}, middle[] = {4};
    close_in_order(&s, 8, first, 1);
    close_in_order(&s, 8, last, 1);
    close_in_order(&s, 8, middle, 1);
    stop_poll(&s);
    expect_backpressure(&s);
    server_release(&s);
}

/* Close all but one at once (the server sees several closes in one pass),
 * then check the survivor and newcomers. */
Test(poll, close_all_but_one, .timeout = 20)
{
    int fds[12], open[12];
    struct server s;
    start_poll(&s, traced_args, 0);

    for (int i = 0; i < 8; i++) {
        fds[i] = new_client(&s);
        open[i] = 1;
    }
    int hog = new_client(&s);  /* behind them: it will move */
    size_t pushed = start_hog(hog);
    check_alive(fds, open, 8, 0);
    for (int i = 0; i < 8; i++) {
        if (i != 5) {
            close(fds[i]);
            open[i] = 0;
        }
    }
    check_alive(fds, open, 8, 1);
    for (int i = 8; i < 12; i++) {
        fds[i] = new_client(&s);
        open[i] = 1;
    }
    check_alive(fds, open, 12, 2);
    finish_hog(hog, pushed);
    for (int i = 0; i < 12; i++)
        if (open[i])
            close(fds[i]);
    stop_poll(&s);
    expect_backpressure(&s);
    server_release(&s);
}

/* Four clients closed in each of the 24 possible orders. */
Test(poll, close_in_every_order, .timeout = 30)
{
    struct server s;
    start_poll(&s, traced_args, 0);
    int order[4] = {0, 1, 2, 3};

    /* Heap's algorithm would do; a plain 4-deep loop reads more simply. */
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 4; c++)
                for (int d = 0; d < 4; d++) {
                    if (a == b || a == c || a == d || b == c || b == d ||
                        c == d)
                        continue;
                    order[0] = a, order[1] = b, order[2] = c, order[3] = d;
                    close_in_order(&s, 4, order, 4);
                }
    stop_poll(&s);
    cr_expect(strstr(s.err_text, "stopped: 120 clients served") != NULL,
              "no summary");
    expect_backpressure(&s);
    server_release(&s);
}

/* A client that resets (close with SO_LINGER 0) in the middle of a large
 * echo takes nobody else down. */
Test(poll, reset_client_does_not_hurt_others, .timeout = 20)
{
    struct server s;
    start_poll(&s, NULL, 0);
    int other = new_client(&s);
    int rude = new_client(&s);
    char *data = calloc(1, 2 * MIB);
    cr_assert_not_null(data);
    send_all(rude, data, 2 * MIB);  /* fits in the buffers; never read */
    sock_reset(rude);
    free(data);
    expect_echo(other, "still here");
    wait_fds_at_most(s.pid, 7, 5000);
    cr_expect_eq(count_open_fds(s.pid), 7, "the reset client was not closed");
    expect_echo(other, "still here again");
    close(other);
    stop_poll(&s);
    server_release(&s);
}

/* Out of descriptors: the server warns (once, naming ulimit -n), does not
 * spin, keeps serving its clients, and accepts the waiting ones as soon as
 * descriptors are free again. */
Test(poll, out_of_descriptors_pauses_accept, .timeout = 30)
{
    enum { N = 25 };
    int fds[N], answered[N] = {0};
    char msg[32], back[32];
    struct server s;

    /* 24 descriptors: 0-2, the listener, the wake pipe, 18 clients. */
    start_poll(&s, NULL, 24);
    for (int i = 0; i < N; i++) {
        fds[i] = new_client(&s);
        snprintf(msg, sizeof msg, "client %02d\n", i);
        send_all(fds[i], msg, strlen(msg));
    }

    /* Collect the echoes that come within a second. */
    int count = 0;
    long long end = now_ms() + 1000;
    for (;;) {
        struct pollfd p[N];
        for (int i = 0; i < N; i++)
            p[i] = (struct pollfd){.fd = answered[i] ? -1 : fds[i],
                                   .events = POLLIN};
        long long left = end - now_ms();
        if (left <= 0 || poll(p, N, (int)left) <= 0)
            break;
        for (int i = 0; i < N; i++) {
            if (p[i].revents == 0)
                continue;
            snprintf(msg, sizeof msg, "client %02d\n", i);
            recv_exact(fds[i], back, strlen(msg));
            cr_assert(memcmp(back, msg, strlen(msg)) == 0);
            answered[i] = 1;
            count++;
        }
    }
    cr_expect(count > 0 && count < N, "%d of %d answered", count, N);

    /* While the rest wait, the server must not burn the CPU. */
    long ticks0 = cpu_ticks(s.pid);
    cr_assert_geq(ticks0, 0, "%s", harness_error());
    nap_ms(1000);  /* measuring an interval, not waiting for an event */
    long ticks = cpu_ticks(s.pid) - ticks0;
    long hz = sysconf(_SC_CLK_TCK);
    cr_expect_lt(ticks, hz / 5, "server used %ld ticks of %ld in 1 s", ticks,
                 hz);

    char *err = server_stderr_now(&s);
    cr_assert_not_null(err, "cannot read the server's stderr");
    cr_expect(strstr(err, "ulimit -n") != NULL, "no hint in: %s", err);
    int warnings = 0;
    for (const char *p = err; (p = strstr(p, "accept:")) != NULL; p++)
        warnings++;
    cr_expect_eq(warnings, 1, "%d warnings in 2 s: %s", warnings, err);
    free(err);

    /* Free descriptors: the waiting clients get in and get their echo. */
    for (int i = 0; i < N; i++)
        if (answered[i])
            close(fds[i]);
    for (int i = 0; i < N; i++) {
        if (answered[i])
            continue;
        snprintf(msg, sizeof msg, "client %02d\n", i);
        recv_exact(fds[i], back, strlen(msg));  /* 5 s at most */
        cr_expect(memcmp(back, msg, strlen(msg)) == 0);
        close(fds[i]);
    }
    cr_log_info("descriptor limit 24: %d of %d clients served at once; "
                "%ld CPU ticks (of %ld/s) in 1 s paused",
                count, N, ticks, hz);
    stop_poll(&s);
    server_release(&s);
}

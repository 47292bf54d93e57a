/* test_udp.c - bin/udp-echo-server and bin/udp-echo-client.
 *
 * Datagram boundaries, empty and largest datagrams, the client's size
 * limits, timeouts, retries, loss and stray datagrams, IPv6, bad options.
 * Servers are started through the harness: on port 0, found through their
 * ready line, dying with the test and reaped by it (the suite's .fini
 * reaps whatever an early failure left). Every wait is bounded.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define UDP_SERVER "udp-echo-server"
#define UDP_CLIENT "udp-echo-client"

TestSuite(udp, .timeout = 30, .fini = harness_cleanup);

/* ---- servers and programs ----------------------------------------------- */

/* Start the UDP server on port 0 with args (may be NULL). */
static void start_udp(struct server *s, const char *const args[])
{
    cr_assert_eq(server_start(s, UDP_SERVER, args, NULL), 0, "%s",
                 harness_error());
}

/* SIGTERM; the server must exit 0 within HARNESS_STOP_MS. Its stderr is
 * then in s->err_text. */
static void stop_udp(struct server *s)
{
    cr_expect_eq(server_stop_clean(s), 0, "%s", harness_error());
}

/* Run the client with args (NULL-terminated, after the program name) and
 * input (NULL for none) within 10 s. Free r with run_result_free. */
static void run_client(const char *const args[], const char *input,
                       struct run_result *r)
{
    cr_assert_eq(run_program(UDP_CLIENT, args, input,
                             input != NULL ? strlen(input) : 0, 10000, r),
                 0, "%s", harness_error());
}

/* Run the client with options (NULL-terminated, may be NULL), then host
 * and port, and input: run_client for a given address. */
static void client_to(const char *host, uint16_t port,
                      const char *const options[], const char *input,
                      struct run_result *r)
{
    const char *args[12];
    char port_text[8];
    int n = 0;
    for (; options != NULL && options[n] != NULL; n++) {
        cr_assert_lt(n, 9, "too many options");
        args[n] = options[n];
    }
    snprintf(port_text, sizeof port_text, "%u", (unsigned)port);
    args[n++] = host;
    args[n++] = port_text;
    args[n] = NULL;
    run_client(args, input, r);
}

/* The program run with args `what` must have exited by itself with
 * code. */
static void expect_exit(const struct run_result *r, int code,
                        const char *what)
{
    char how[64];
    cr_expect(exited_with(&r->exit, code), "%s: %s, not exit %d; stderr: %s",
              what, describe_exit(&r->exit, how, sizeof how), code, r->err);
}

/* ---- datagram helpers --------------------------------------------------- */

/* A UDP socket connected to the server, or the test fails. */
static int udp_client(const struct server *s)
{
    int fd = udp_connect(s->host, s->port);
    cr_assert_geq(fd, 0, "%s", harness_error());
    return fd;
}

/* Send datagrams of the given sizes, all first, then receive as many (5 s
 * at most for each): each must come back whole, same size, same bytes, as
 * one datagram. */
static void expect_boundaries(int fd, const size_t *sizes, int count)
{
    static char out[4][2048], back[4096];

    cr_assert_leq(count, 4);
    for (int i = 0; i < count; i++) {
        fill_random(out[i], sizes[i], (uint32_t)i + 1);
        cr_assert_eq(send(fd, out[i], sizes[i], 0), (ssize_t)sizes[i]);
    }
    for (int i = 0; i < count; i++) {
        ssize_t n = udp_recv_within(fd, back, sizeof back, 5000);
        cr_assert_eq(n, (ssize_t)sizes[i],
                     "datagram %d: %zd bytes, not %zu%s%s", i, n, sizes[i],
                     n < 0 ? ": " : "", n < 0 ? harness_error() : "");
        cr_assert(memcmp(back, out[i], sizes[i]) == 0, "datagram %d differs",
                  i);
    }
}

/* ---- the tests ---------------------------------------------------------- */

Test(udp, boundaries_preserved, .timeout = 20)
{
    struct server s;
    start_udp(&s, NULL);
    int fd = udp_client(&s);
    const size_t sizes[] = {1, 100, 1000};
    expect_boundaries(fd, sizes, 3);
    close(fd);
    stop_udp(&s);
    server_release(&s);
}

Test(udp, empty_datagram_echoed, .timeout = 20)
{
    struct server s;
    start_udp(&s, NULL);
    int fd = udp_client(&s);
    char back[16];
    cr_assert_eq(send(fd, back, 0, 0), 0);
    /* An empty datagram is still a datagram: recv returns 0 for it, not
     * "end of stream" as read on a TCP socket would. */
    cr_expect_eq(udp_recv_within(fd, back, sizeof back, 5000), 0, "%s",
                 harness_error());
    close(fd);
    stop_udp(&s);
    cr_expect(strstr(s.err_text, "stopped: 1 datagram echoed, 0 bytes") !=
                  NULL,
              "%s", s.err_text);
    server_release(&s);
}

Test(udp, largest_ipv4_datagram_through_client, .timeout = 20)
{
    struct server s;
    struct run_result r;
    start_udp(&s, NULL);

    const char *const largest[] = {"-s", "65507", NULL};
    client_to(s.host, s.port, largest, NULL, &r);
    expect_exit(&r, 0, UDP_CLIENT);
    cr_expect_eq(r.out_len, 65507);
    for (size_t i = 0; i < r.out_len; i++)
        cr_assert_eq(r.out[i], (unsigned char)('a' + i % 26),
                     "byte %zu differs", i);
    run_result_free(&r);
    stop_udp(&s);
    server_release(&s);
}

Test(udp, too_big_for_ipv4_refused, .timeout = 20)
{
    struct server s;
    struct run_result r;
    start_udp(&s, NULL);

    const char *const too_big[] = {"-s", "65508", NULL};
    client_to(s.host, s.port, too_big, NULL, &r);
    expect_exit(&r, 64, UDP_CLIENT);
    cr_expect(strstr(r.err, "65508") != NULL && strstr(r.err, "65507") != NULL,
              "the message should name the size and the limit: %s", r.err);
    cr_expect_eq(r.out_len, 0, "nothing should be printed: %s", r.out);
    run_result_free(&r);

    stop_udp(&s);
    cr_expect(strstr(s.err_text, "stopped: 0 datagrams echoed") != NULL,
              "something was sent after all: %s", s.err_text);
    server_release(&s);
}

Test(udp, lines_through_client, .timeout = 20)
{
    struct server s;
    struct run_result r;
    start_udp(&s, NULL);
    const char input[] = "one\ntwo words\n\nlast, no newline";

    client_to(s.host, s.port, NULL, input, &r);
    expect_exit(&r, 0, UDP_CLIENT);
    cr_expect_eq(r.out_len, sizeof input - 1);
    cr_expect_str_eq((const char *)r.out, input);
    cr_expect_str_eq(r.err, "");
    run_result_free(&r);

    stop_udp(&s);
    cr_expect(strstr(s.err_text, "stopped: 4 datagrams echoed, 31 bytes") !=
                  NULL,
              "%s", s.err_text);
    server_release(&s);
}

/* Wait 100 ms for each echo, send once more before giving up. */
static const char *const quick_retry[] = {"-w", "100", "-r", "1", NULL};

/* Nothing bound to the port: on Linux loopback the kernel answers with
 * ICMP port unreachable, which the connected client sees as ECONNREFUSED.
 * Either way (refused, or silence until the timeout) the answer is 69. */
Test(udp, no_server_exits_69, .timeout = 20)
{
    uint16_t free_udp;
    struct run_result r;
    char port[8];
    int hole = udp_bind("127.0.0.1", &free_udp);
    cr_assert_geq(hole, 0, "%s", harness_error());
    close(hole);  /* now (almost certainly) nobody is on free_udp */
    snprintf(port, sizeof port, "%u", (unsigned)free_udp);

    long long t0 = now_ms();
    client_to("127.0.0.1", free_udp, quick_retry, "hello\n", &r);
    long long took = now_ms() - t0;
    expect_exit(&r, 69, UDP_CLIENT);
    cr_expect(strstr(r.err, "udp-echo-client: ") == r.err, "message: %s",
              r.err);
    cr_expect(strstr(r.err, port) != NULL, "should name the port: %s", r.err);
    cr_expect_lt(took, 3000, "took %lld ms", took);
    cr_expect_eq(r.out_len, 0, "nothing should be printed: %s", r.out);
    run_result_free(&r);
}

/* A port that is bound but never answers: no ICMP, only silence. The
 * client waits -w, sends again -r times, then gives up with 69. */
Test(udp, silent_server_times_out, .timeout = 20)
{
    uint16_t hole_port;
    struct run_result r;
    int hole = udp_bind("127.0.0.1", &hole_port);
    cr_assert_geq(hole, 0, "%s", harness_error());

    long long t0 = now_ms();
    client_to("127.0.0.1", hole_port, quick_retry, "hello\n", &r);
    long long took = now_ms() - t0;
    expect_exit(&r, 69, UDP_CLIENT);
    cr_expect(strstr(r.err, "no answer from") != NULL, "message: %s", r.err);
    cr_expect(strstr(r.err, "2 tries of 100 ms") != NULL, "message: %s",
              r.err);
    cr_expect_geq(took, 200, "gave up after %lld ms", took);
    cr_expect_lt(took, 3000, "took %lld ms", took);

    /* The hole got the datagram twice: the first try and one retry. The
     * client has exited, so all it sent is queued already. */
    char buf[16];
    int got = 0;
    while (udp_recv_within(hole, buf, sizeof buf, 0) == 6)
        got++;
    cr_expect_eq(got, 2, "%d datagrams reached the port", got);
    close(hole);
    run_result_free(&r);
}

/* A fake server in a child process: for datagram 1 it sends a stray
 * datagram and then the echo; it ignores both tries of datagram 2; it
 * echoes datagram 3. Exits 0 once it has seen all four. */
static int fake_server(void *arg)
{
    int fd = *(const int *)arg;
    char buf[256];
    struct sockaddr_storage peer;
    socklen_t len;

    for (int i = 0; i < 4; i++) {
        len = sizeof peer;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0,
                             (struct sockaddr *)&peer, &len);
        if (n < 0)
            return 1;
        if (i == 0) {
            sendto(fd, "stray!", 6, 0, (struct sockaddr *)&peer, len);
            sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, len);
        } else if (i == 3) {
            sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, len);
        }
    }
    return 0;
}

Test(udp, stray_and_lost_datagrams, .timeout = 20)
{
    uint16_t fake_port;
    struct run_result r;
    struct exit_info fake;
    char how[64];
    int fd = udp_bind("127.0.0.1", &fake_port);
    cr_assert_geq(fd, 0, "%s", harness_error());
    pid_t pid = child_run(fake_server, &fd);
    cr_assert_gt(pid, 0, "%s", harness_error());
    close(fd);

    const char *const options[] = {"-w", "300", "-r", "1", NULL};
    client_to("127.0.0.1", fake_port, options, "one\ntwo\nthree\n", &r);
    expect_exit(&r, 69, UDP_CLIENT);
    cr_expect_str_eq((const char *)r.out, "one\nthree\n");
    cr_expect(strstr(r.err, "datagram 2 (4 bytes) lost") != NULL, "%s",
              r.err);
    cr_expect(strstr(r.err, "ignored 1 datagram") != NULL, "%s", r.err);
    cr_expect(strstr(r.err, "1 of 3 datagrams got no echo") != NULL, "%s",
              r.err);
    cr_expect(child_wait(pid, 5000, &fake) == 0 && exited_with(&fake, 0),
              "the fake server did not finish: %s",
              describe_exit(&fake, how, sizeof how));
    run_result_free(&r);
}

Test(udp, ipv6_loopback, .timeout = 20)
{
    if (!have_ipv6_loopback())
        cr_skip_test("no IPv6 loopback (::1) on this machine");
    const char *const on_ipv6[] = {"-b", "::1", NULL};
    struct server s;
    struct run_result r;
    start_udp(&s, on_ipv6);
    cr_expect(strncmp(s.ready_line, "listening on [::1]:", 19) == 0, "%s",
              s.ready_line);

    int fd = udp_client(&s);
    const size_t sizes[] = {1, 100, 1000};
    expect_boundaries(fd, sizes, 3);
    close(fd);

    const char *const big[] = {"-s", "65527", NULL};
    client_to("::1", s.port, big, NULL, &r);
    expect_exit(&r, 0, UDP_CLIENT);
    cr_expect_eq(r.out_len, 65527, "IPv6 carries 65527 bytes, got %zu",
                 r.out_len);
    run_result_free(&r);

    const char *const too_big[] = {"-s", "65528", NULL};
    client_to("::1", s.port, too_big, NULL, &r);
    expect_exit(&r, 64, UDP_CLIENT);
    run_result_free(&r);

    stop_udp(&s);
    server_release(&s);
}

/* One line on stderr, "udp-echo-client: ...", exit 64. */
static void expect_usage_error(const char *const args[])
{
    struct run_result r;
    char shown[64];
    snprintf(shown, sizeof shown, "%s %s", args[0] != NULL ? args[0] : "",
             args[0] != NULL && args[1] != NULL ? args[1] : "");
    run_client(args, NULL, &r);
    expect_exit(&r, 64, shown);
    cr_expect(strncmp(r.err, "udp-echo-client: ", 17) == 0 &&
                  strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
              "%s: want one line, got: %s", shown, r.err);
    run_result_free(&r);
}

Test(udp, bad_client_values_exit_64, .timeout = 30)
{
    static const char *const bad[][3] = {
        {"-w", "abc"}, {"-w", "0"},    {"-w", "-5"},   {"-w", "60001"},
        {"-w", ""},    {"-r", "x"},    {"-r", "-1"},   {"-r", "101"},
        {"-s", "abc"}, {"-s", "-1"},   {"-s", "70000"}, {"-s", "1e3"},
        {"-s", ""},    {"-q", NULL},   {"-w", NULL},
        {"127.0.0.1", "7000", "more"}, {"127.0.0.1", "70000"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *const args[] = {bad[i][0], bad[i][1], bad[i][2], NULL};
        expect_usage_error(args);
    }
}

Test(udp, overlong_line_refused, .timeout = 20)
{
    struct server s;
    struct run_result r;
    start_udp(&s, NULL);
    size_t len = 70000;
    char *input = malloc(len + 2);
    cr_assert_not_null(input);
    memset(input, 'x', len);
    input[len] = '\n';
    input[len + 1] = '\0';

    client_to(s.host, s.port, NULL, input, &r);
    expect_exit(&r, 65, UDP_CLIENT);
    cr_expect(strstr(r.err, "70001 bytes") != NULL &&
                  strstr(r.err, "65507") != NULL,
              "%s", r.err);
    free(input);
    run_result_free(&r);
    stop_udp(&s);
    server_release(&s);
}

Test(udp, bad_server_arguments, .timeout = 20)
{
    static const char *const bad[][4] = {
        {"70000"}, {"abc"}, {"-1"}, {"0", "1"}, {"-b", ""}, {"-z"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct run_result r;
        cr_assert_eq(run_program(UDP_SERVER, bad[i], NULL, 0, 5000, &r), 0,
                     "%s", harness_error());
        expect_exit(&r, 64, bad[i][0]);
        cr_expect_eq(r.out_len, 0, "nothing on stdout: %s", r.out);
        run_result_free(&r);
    }
}

/* A sender that is gone before its echo arrives (the echo bounces off a
 * closed port) does not disturb the server. */
Test(udp, vanished_sender_harmless, .timeout = 20)
{
    struct server s;
    start_udp(&s, NULL);
    for (int i = 0; i < 20; i++) {
        int gone = udp_client(&s);
        send(gone, "bye", 3, 0);
        close(gone);
    }
    int fd = udp_client(&s);
    const size_t sizes[] = {5, 50};
    expect_boundaries(fd, sizes, 2);
    close(fd);
    stop_udp(&s);
    server_release(&s);
}

Test(udp, sigterm_summary_and_trace, .timeout = 20)
{
    const char *const traced[] = {"-v", NULL};
    struct server s;
    start_udp(&s, traced);
    int fd = udp_client(&s);
    const size_t sizes[] = {6, 10, 20};
    expect_boundaries(fd, sizes, 3);
    close(fd);

    stop_udp(&s);
    const char *err = s.err_text;
    cr_expect(strstr(err, "stopped: 3 datagrams echoed, 36 bytes") != NULL,
              "%s", err);
    const char *want[] = {
        "socket(AF_INET, SOCK_DGRAM, 0) = 3", "~ made in uv_udp_bind",
        "uv_udp_bind", "recvfrom(3) = 6  from 127.0.0.1:",
        "~ uv_udp_recv_start -> on_recv", "sendto(3, 6, 127.0.0.1:",
        "~ uv_udp_send",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(strstr(err, want[i]) != NULL, "trace lacks '%s'", want[i]);
    server_release(&s);
}

Test(udp, client_help_exits_zero, .timeout = 10)
{
    const char *const args[] = {"-h", NULL};
    struct run_result r;
    run_client(args, NULL, &r);
    expect_exit(&r, 0, UDP_CLIENT);
    cr_expect(strncmp((const char *)r.out, "usage: udp-echo-client ", 23) == 0,
              "%s", r.out);
    run_result_free(&r);
}

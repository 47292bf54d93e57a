/* test_sockets.c - common/sockets.c (open_listener, say_listening,
 * accept_client, connect_to) and common/echo.c (echo_connection), called
 * in the test process over loopback.
 *
 * A "stop" here is a real SIGTERM, sent to ourselves by a POSIX timer
 * (timer_create) after catch_stop_signals installed the programs' handler:
 * the same path as `kill PID` on a running server.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "echo.h"
#include "harness.h"
#include "signals.h"
#include "sockets.h"
#include "trace.h"

TestSuite(sockets, .timeout = 15, .fini = harness_cleanup);
TestSuite(echo, .timeout = 15, .fini = harness_cleanup);

/* ---- helpers ------------------------------------------------------------------- */

/* A listener from open_listener on host, port 0; its port in *port. */
static int listener(const char *host, uint16_t *port)
{
    struct sockaddr_storage ss, local;
    socklen_t len = sizeof local;
    cr_assert_eq(ip_addr(host, 0, &ss), 0);
    int fd = open_listener(&ss, 16);
    cr_assert_geq(fd, 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&local, &len), 0);
    *port = addr_port((struct sockaddr *)&local);
    return fd;
}

static timer_t stop_timer;

/* SIGTERM to this process after first_ms, then every 200 ms (so that a
 * helper that wrongly blocks again still comes back, and fails a check
 * instead of hanging). */
static void sigterm_in(long first_ms)
{
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGTERM;
    cr_assert_eq(timer_create(CLOCK_MONOTONIC, &ev, &stop_timer), 0);
    struct itimerspec when = {{0, 200 * 1000000L},
                              {first_ms / 1000, (first_ms % 1000) * 1000000L}};
    cr_assert_eq(timer_settime(stop_timer, 0, &when, NULL), 0);
}

static void no_more_sigterm(void)
{
    timer_delete(stop_timer);
}

/* ---- open_listener, say_listening ------------------------------------------------ */

Test(sockets, open_listener_gives_a_listening_socket)
{
    uint16_t port;
    int fd = listener("127.0.0.1", &port);
    int on = 0;
    socklen_t len = sizeof on;
    cr_expect_neq(port, 0, "port 0 was not replaced by a real one");
    cr_expect_eq(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len), 0);
    cr_expect_neq(on, 0, "not listening");
    len = sizeof on;
    cr_expect_eq(getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, &len), 0);
    cr_expect_neq(on, 0, "SO_REUSEADDR not set");
    int c = tcp_connect("127.0.0.1", port);
    cr_expect_geq(c, 0, "%s", harness_error());
    close(c);
    close(fd);
}

Test(sockets, open_listener_traces_each_step_with_its_libuv_twin)
{
    uint16_t port;
    trace_init("tname", 1);
    cr_assert_eq(capture_begin(2), 0, "%s", harness_error());
    int fd = listener("127.0.0.1", &port);
    const char *out = capture_end();
    char line[256], want[64];
    snprintf(want, sizeof want, "socket(AF_INET, SOCK_STREAM, 0) = %d", fd);
    cr_expect_not_null(line_with(out, want, line, sizeof line), "%s", out);
    cr_expect(strstr(line, "~ made in uv_tcp_bind") != NULL, "%s", line);
    cr_expect_not_null(line_with(out, "setsockopt(", line, sizeof line));
    snprintf(want, sizeof want, "bind(%d, 127.0.0.1:0) = 0", fd);
    cr_expect_not_null(line_with(out, want, line, sizeof line), "%s", out);
    cr_expect(strstr(line, "uv_tcp_bind") != NULL, "%s", line);
    snprintf(want, sizeof want, "listen(%d, 16) = 0", fd);
    cr_expect_not_null(line_with(out, want, line, sizeof line), "%s", out);
    cr_expect(strstr(line, "~ uv_listen") != NULL, "%s", line);
    close(fd);
}

Test(sockets, open_listener_on_a_port_in_use_exits_71, .exit_code = EX_OSERR)
{
    uint16_t port;
    int busy = tcp_listen("127.0.0.1", &port);
    cr_assert_geq(busy, 0, "%s", harness_error());
    struct sockaddr_storage ss;
    cr_assert_eq(ip_addr("127.0.0.1", port, &ss), 0);
    quiet_stderr();
    trace_init("tname", 0);
    open_listener(&ss, 16);
    cr_assert_fail("open_listener returned on a port in use");
}

Test(sockets, say_listening_prints_the_ready_line)
{
    uint16_t port;
    trace_init("tname", 0);
    int fd = listener("127.0.0.1", &port);
    cr_assert_eq(capture_begin(1), 0, "%s", harness_error());
    int rc = say_listening(fd);
    const char *out = capture_end();
    char want[64];
    snprintf(want, sizeof want, "listening on 127.0.0.1:%u\n", (unsigned)port);
    cr_expect_eq(rc, 0);
    cr_expect_str_eq(out, want);
    close(fd);
}

Test(sockets, say_listening_brackets_ipv6)
{
    if (!have_ipv6_loopback())
        cr_skip_test("no IPv6 loopback here (cannot bind ::1)");
    uint16_t port;
    trace_init("tname", 0);
    int fd = listener("::1", &port);
    cr_assert_eq(capture_begin(1), 0, "%s", harness_error());
    int rc = say_listening(fd);
    const char *out = capture_end();
    char want[64];
    snprintf(want, sizeof want, "listening on [::1]:%u\n", (unsigned)port);
    cr_expect_eq(rc, 0);
    cr_expect_str_eq(out, want);
    close(fd);
}

Test(sockets, say_listening_fails_on_a_closed_descriptor)
{
    trace_init("tname", 0);
    cr_assert_eq(capture_begin(1), 0, "%s", harness_error());
    int rc = say_listening(-1);
    const char *out = capture_end();
    cr_expect_eq(rc, -1);
    cr_expect_str_eq(out, "", "a ready line for a socket that is not there");
}

/* ---- trace_accept, trace_read, after_accept_error ------------------------ */

Test(sockets, trace_accept_names_the_peer_and_the_libuv_twin)
{
    uint16_t port;
    trace_init("tname", 0);
    int lfd = listener("127.0.0.1", &port);
    int c = tcp_connect("127.0.0.1", port);
    cr_assert_geq(c, 0, "%s", harness_error());
    struct sockaddr_storage peer, mine;
    socklen_t len = sizeof peer;
    int fd = accept(lfd, (struct sockaddr *)&peer, &len);
    cr_assert_geq(fd, 0);
    len = sizeof mine;
    cr_assert_eq(getsockname(c, (struct sockaddr *)&mine, &len), 0);

    trace_init("tname", 1);
    cr_assert_eq(capture_begin(2), 0, "%s", harness_error());
    trace_accept(fd, lfd, &peer);
    errno = EINTR;
    trace_accept(-1, lfd, &peer);
    const char *out = capture_end();
    char line[256], want[96];
    snprintf(want, sizeof want, "accept(%d) = %d  peer 127.0.0.1:%u", lfd, fd,
             (unsigned)addr_port((struct sockaddr *)&mine));
    cr_expect_not_null(line_with(out, want, line, sizeof line), "%s", out);
    cr_expect(strstr(line, "~ on_new_connection -> uv_accept") != NULL, "%s",
              line);
    cr_expect_not_null(line_with(out, "= -1 EINTR", line, sizeof line), "%s",
                       out);
    cr_expect(strstr(line, "~ (libuv retries EINTR itself: no callback)") !=
                  NULL, "%s", line);
    close(c);
    close(fd);
    close(lfd);
}

Test(sockets, trace_read_says_what_libuv_would_pass_its_callback)
{
    trace_init("tname", 1);
    cr_assert_eq(capture_begin(2), 0, "%s", harness_error());
    trace_read(6, 4, "echo_read");
    trace_read(0, 4, "echo_read");
    errno = ECONNRESET;
    trace_read(-1, 4, "on_read");
    errno = EAGAIN;
    trace_read(-1, 4, "echo_read");
    errno = EINTR;
    trace_read(-1, 4, "echo_read");
    const char *out = capture_end();
    char line[256];
    cr_expect_not_null(line_with(out, "read(4) = 6 ", line, sizeof line));
    cr_expect(strstr(line, "~ echo_read, nread = 6") != NULL, "%s", line);
    cr_expect_not_null(line_with(out, "read(4) = 0  peer closed", line,
                                 sizeof line), "%s", out);
    cr_expect(strstr(line, "~ echo_read, nread = UV_EOF") != NULL, "%s", line);
    cr_expect_not_null(line_with(out, "ECONNRESET", line, sizeof line));
    cr_expect(strstr(line, "~ on_read, nread = UV_ECONNRESET") != NULL, "%s",
              line);
    /* libuv never hands UV_EAGAIN to a read callback, nor an EINTR. */
    cr_expect_null(strstr(out, "nread = UV_EAGAIN"), "%s", out);
    cr_expect_null(strstr(out, "nread = UV_EINTR"), "%s", out);
    cr_expect_not_null(line_with(out, "EAGAIN (", line, sizeof line));
    cr_expect(strstr(line, "uv_timer_t") != NULL, "%s", line);
    cr_expect_not_null(line_with(out, "EINTR (", line, sizeof line));
    cr_expect(strstr(line, "retries EINTR itself") != NULL, "%s", line);
}

Test(sockets, after_accept_error_is_silent_for_signals_and_quitters)
{
    trace_init("tname", 0);
    cr_assert_eq(capture_begin(2), 0, "%s", harness_error());
    after_accept_error(EINTR);
    after_accept_error(ECONNABORTED);
    after_accept_error(EPROTO);
    after_accept_error(EBADF);
    const char *out = capture_end();
    cr_expect_str_eq(out, "tname: accept: Bad file descriptor\n");
}

/* ---- connect_to --------------------------------------------------------------- */

Test(sockets, connect_to_a_listening_port)
{
    uint16_t port;
    trace_init("tname", 0);
    int lfd = listener("127.0.0.1", &port);
    int fd = connect_to("127.0.0.1", port);
    cr_assert_geq(fd, 0);
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    cr_expect_eq(getpeername(fd, (struct sockaddr *)&peer, &len), 0);
    cr_expect_eq(addr_port((struct sockaddr *)&peer), port);
    close(fd);
    close(lfd);
}

Test(sockets, connect_to_localhost_tries_each_address)
{
    /* The server is on 127.0.0.1 only. If localhost gives ::1 first,
     * that one is refused and connect_to must go on to 127.0.0.1. */
    uint16_t port;
    if (!system_resolves("localhost"))
        cr_skip_test("this machine's resolver does not know 'localhost' "
                     "(no /etc/hosts entry?)");
    trace_init("tname", 0);
    int lfd = listener("127.0.0.1", &port);
    trace_init("tname", 1);
    cr_assert_eq(capture_begin(2), 0, "%s", harness_error());
    int fd = connect_to("localhost", port);
    const char *out = capture_end();
    cr_expect_geq(fd, 0);
    char line[256];
    cr_expect_not_null(line_with(out, "connect(", line, sizeof line), "%s",
                       out);
    cr_expect(strstr(line, "~ uv_tcp_connect") != NULL, "%s", line);
    close(fd);
    close(lfd);
}

Test(sockets, connect_to_a_closed_port_exits_69, .exit_code = EX_UNAVAILABLE)
{
    uint16_t port;
    cr_assert_eq(free_port("127.0.0.1", &port), 0);
    quiet_stderr();
    trace_init("tname", 0);
    connect_to("127.0.0.1", port);
    cr_assert_fail("connect_to returned for a closed port");
}

Test(sockets, connect_to_an_unknown_name_exits_68, .exit_code = EX_NOHOST)
{
    quiet_stderr();
    trace_init("tname", 0);
    connect_to("no-such-host.invalid", 7000);
    cr_assert_fail("connect_to returned for a name that cannot resolve");
}

/* ---- echo_connection --------------------------------------------------------- */

#define ECHO_BYTES (48 * 1024)

/* The client side of one echo session: send ECHO_BYTES, half-close, read
 * them all back, then expect EOF. Exit 0 when all of that held. */
struct two_fds {
    int client;  /* ours, in the child */
    int server;  /* the parent's end: the child must not hold a copy */
};

static int echo_peer(void *arg)
{
    const struct two_fds *fds = arg;
    int fd = fds->client;
    close(fds->server);
    static unsigned char out[ECHO_BYTES], back[ECHO_BYTES];
    fill_random(out, sizeof out, 7);
    if (sock_send_all(fd, out, sizeof out, 5000) != sizeof out)
        return 1;
    shutdown(fd, SHUT_WR);
    if (sock_read_exact(fd, back, sizeof back, 5000) != sizeof back)
        return 2;
    if (memcmp(out, back, sizeof out) != 0)
        return 3;
    return sock_expect_eof(fd, 5000) == 1 ? 0 : 4;
}

/* A connected pair over loopback: *client and the accepted server side. */
static int connected_pair(int *client)
{
    uint16_t port;
    int lfd = tcp_listen("127.0.0.1", &port);
    cr_assert_geq(lfd, 0, "%s", harness_error());
    *client = tcp_connect("127.0.0.1", port);
    cr_assert_geq(*client, 0, "%s", harness_error());
    int fd = accept(lfd, NULL, NULL);
    cr_assert_geq(fd, 0);
    close(lfd);
    return fd;
}

Test(echo, echoes_every_byte_until_the_peer_closes)
{
    int client;
    int fd = connected_pair(&client);
    trace_init("tname", 0);
    struct two_fds fds = {client, fd};
    pid_t pid = child_run(echo_peer, &fds);
    cr_assert_gt(pid, 0);
    close(client);

    _Atomic long long echoed = 5;  /* added to, not overwritten */
    enum echo_end end = echo_connection(fd, &echoed);
    cr_expect_eq(end, ECHO_PEER_CLOSED, "ended with %d", end);
    cr_expect_eq(echoed, 5 + ECHO_BYTES, "echoed %lld", (long long)echoed);
    close(fd);  /* the peer's EOF */

    struct exit_info how;
    cr_expect_eq(child_wait(pid, 5000, &how), 0, "%s", harness_error());
    cr_expect(how.exited && how.code == 0,
              "peer: %d (1 send, 2 short echo, 3 bytes differ, 4 no EOF)",
              how.code);
}

Test(echo, traces_reads_writes_and_eof)
{
    int client;
    int fd = connected_pair(&client);
    cr_assert_eq(write(client, "hello\n", 6), 6);
    shutdown(client, SHUT_WR);
    trace_init("tname", 1);
    _Atomic long long echoed = 0;
    cr_assert_eq(capture_begin(2), 0, "%s", harness_error());
    enum echo_end end = echo_connection(fd, &echoed);
    const char *out = capture_end();
    cr_expect_eq(end, ECHO_PEER_CLOSED);
    char want[64], line[256];
    snprintf(want, sizeof want, "read(%d) = 6", fd);
    cr_expect_not_null(line_with(out, want, line, sizeof line), "%s", out);
    cr_expect(strstr(line, "echo_read, nread = 6") != NULL, "%s", line);
    snprintf(want, sizeof want, "write(%d, 6) = 6", fd);
    cr_expect_not_null(line_with(out, want, line, sizeof line), "%s", out);
    cr_expect(strstr(line, "~ uv_write") != NULL, "%s", line);
    snprintf(want, sizeof want, "read(%d) = 0  peer closed", fd);
    cr_expect_not_null(line_with(out, want, line, sizeof line), "%s", out);
    cr_expect(strstr(line, "UV_EOF") != NULL, "%s", line);
    close(fd);
    close(client);
}

Test(echo, a_reset_is_reported_as_broken)
{
    int client;
    int fd = connected_pair(&client);
    cr_assert_eq(write(client, "abc", 3), 3);
    sock_reset(client);
    trace_init("tname", 0);
    signal(SIGPIPE, SIG_IGN);
    _Atomic long long echoed = 0;
    enum echo_end end = echo_connection(fd, &echoed);
    cr_expect_eq(end, ECHO_BROKEN, "ended with %d, not ECHO_BROKEN", end);
    close(fd);
}

Test(echo, an_idle_peer_ends_with_idle_when_a_receive_timeout_is_set)
{
    int client;
    int fd = connected_pair(&client);
    struct timeval tv = {0, 100 * 1000};
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    trace_init("tname", 0);
    _Atomic long long echoed = 0;
    enum echo_end end = echo_connection(fd, &echoed);
    cr_expect_eq(end, ECHO_IDLE, "ended with %d, not ECHO_IDLE", end);
    cr_expect_eq(echoed, 0);
    close(fd);
    close(client);
}

/* The first SIGTERM (at 50 ms) lets the client finish; the second (200 ms
 * later) cuts it off. */
Test(echo, a_second_stop_request_ends_the_session)
{
    int client;
    int fd = connected_pair(&client);
    trace_init("tname", 0);
    cr_assert_eq(catch_stop_signals(), 0);
    _Atomic long long echoed = 0;
    long long t0 = now_ms();
    sigterm_in(50);
    enum echo_end end = echo_connection(fd, &echoed);
    long long took = now_ms() - t0;
    no_more_sigterm();
    cr_expect_eq(end, ECHO_CUT_OFF, "ended with %d, not ECHO_CUT_OFF", end);
    cr_expect_geq(took, 240, "ended after %lld ms: the first SIGTERM (50 ms) "
                  "ended it, not the second (250 ms)", took);
    close(fd);
    close(client);
}

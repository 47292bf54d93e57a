/* test_notes.c - what the -v trace says about libuv is true.
 *
 * Every trace line ends with the libuv call that plays the same part. A
 * fact-check against libuv 1.44.2's source found some of those notes wrong;
 * these tests pin the corrected ones on the real programs:
 *
 *   - socket() is made by uv_tcp_bind (server) or uv_tcp_connect (client):
 *     uv_tcp_init makes no socket (tcp.c: uv_tcp_init_ex with AF_UNSPEC);
 *   - an accept interrupted by a signal has no libuv twin: uv__accept
 *     retries EINTR itself (core.c) and no callback runs;
 *   - a read that failed with EAGAIN (an idle timeout on a blocking socket)
 *     is never UV_EAGAIN in a read callback: uv__read calls back with
 *     nread 0 and waits (stream.c); an idle timeout is a uv_timer_t;
 *   - a reset seen by the client's last read is UV_ECONNRESET, not UV_EOF;
 *   - libuv's end of a stream (UV_EOF) need not be a read that returned 0:
 *     an EPOLLHUP after a short read ends it with no read (stream.c,
 *     uv__stream_io), so the uv client's note names both;
 *   - libuv's signal handler writes {watcher, signum} to the loop's signal
 *     pipe (signal.c, uv__signal_handler), not just the number;
 *   - the poll server's wake-up pipe stands for the loop's signal pipe,
 *     made by uv_loop_init (loop.c -> uv_signal_init(child_watcher) ->
 *     uv__make_pipe), and libuv makes its sockets non-blocking with
 *     SOCK_NONBLOCK and accept4 (core.c: uv__socket, uv__accept), not with
 *     fcntl.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "harness.h"

TestSuite(notes, .timeout = 30, .fini = harness_cleanup);

/* The line of text holding needle, or fail the test saying what was seen. */
static const char *must_find(const char *text, const char *needle,
                             char *line, size_t size)
{
    const char *found = line_with(text, needle, line, size);
    cr_assert_not_null(found, "no line with '%s' in:\n%s", needle, text);
    return line;
}

/* Start `name -v ...` on port 0, run one echo through it, stop it with
 * SIGTERM, and keep its stderr in *err (malloc'd). */
static char *server_session(const char *name, const char *const args[])
{
    struct server srv;
    char back[4] = "";

    cr_assert_eq(server_start(&srv, name, args, "0"), 0, "%s",
                 harness_error());
    int fd = tcp_connect("127.0.0.1", srv.port);
    cr_assert_geq(fd, 0, "%s", harness_error());
    cr_assert_eq(sock_send_all(fd, "hi\n", 3, 5000), 3);
    cr_assert_eq(sock_read_exact(fd, back, 3, 5000), 3);
    close(fd);
    cr_assert_eq(server_stop(&srv), 0, "%s", harness_error());
    char *err = strdup(srv.err_text);
    server_release(&srv);
    return err;
}

Test(notes, the_socket_is_made_in_uv_tcp_bind_not_uv_tcp_init)
{
    const char *const args[] = {"-v", NULL};
    char line[512];
    char *err = server_session("echo-server", args);

    must_find(err, "] socket(AF_INET, SOCK_STREAM, 0) = ", line, sizeof line);
    cr_expect_not_null(strstr(line, "~ made in uv_tcp_bind"), "%s", line);
    cr_expect_null(strstr(line, "~ uv_tcp_init"), "%s", line);
    free(err);
}

Test(notes, an_interrupted_accept_has_no_libuv_callback)
{
    const char *const args[] = {"-v", NULL};
    char line[512];
    char *err = server_session("echo-server", args);

    /* SIGTERM found the server blocked in accept. */
    must_find(err, "accept(3) = -1 EINTR", line, sizeof line);
    cr_expect_not_null(strstr(line, "~ (libuv retries EINTR itself: no "
                                    "callback)"), "%s", line);
    cr_expect_null(strstr(line, "on_new_connection"), "%s", line);
    free(err);
}

Test(notes, the_client_socket_is_made_in_uv_tcp_connect)
{
    struct server srv;
    struct run_result r;
    char port[8], line[512];
    const char *const srv_args[] = {NULL};

    cr_assert_eq(server_start(&srv, "echo-server", srv_args, "0"), 0, "%s",
                 harness_error());
    snprintf(port, sizeof port, "%u", (unsigned)srv.port);
    const char *const args[] = {"-v", "127.0.0.1", port, NULL};
    cr_assert_eq(run_program("echo-client", args, "x", 1, 10000, &r), 0,
                 "%s", harness_error());
    cr_expect(exited_with(&r.exit, 0), "echo-client: %s", r.err);
    must_find(r.err, "] socket(AF_INET, SOCK_STREAM, 0) = ", line,
              sizeof line);
    cr_expect_not_null(strstr(line, "~ made in uv_tcp_connect"), "%s", line);
    run_result_free(&r);
    server_stop(&srv);
    server_release(&srv);
}

/* A server that echoes what it gets, waits for the client's half-close,
 * then resets the connection: the client's last read gets ECONNRESET. */
struct resetter {
    int listen_fd;
};

static int echo_then_reset(void *arg)
{
    const struct resetter *rs = arg;
    char buf[3];
    int fd = accept(rs->listen_fd, NULL, NULL);
    if (fd < 0)
        return 1;
    if (sock_read_exact(fd, buf, sizeof buf, 5000) != sizeof buf)
        return 2;
    if (sock_send_all(fd, buf, sizeof buf, 5000) != sizeof buf)
        return 3;
    if (sock_expect_eof(fd, 5000) != 1)
        return 4;  /* the client's shutdown(SHUT_WR) */
    return sock_reset(fd) == 0 ? 0 : 5;
}

Test(notes, a_reset_at_the_clients_last_read_is_uv_econnreset)
{
    struct resetter rs;
    struct run_result r;
    struct exit_info how;
    uint16_t port;
    char port_text[8], line[512];

    rs.listen_fd = tcp_listen("127.0.0.1", &port);
    cr_assert_geq(rs.listen_fd, 0, "%s", harness_error());
    pid_t pid = child_run(echo_then_reset, &rs);
    cr_assert_gt(pid, 0, "%s", harness_error());
    close(rs.listen_fd);

    snprintf(port_text, sizeof port_text, "%u", (unsigned)port);
    const char *const args[] = {"-v", "127.0.0.1", port_text, NULL};
    cr_assert_eq(run_program("echo-client", args, "hi\n", 3, 10000, &r), 0,
                 "%s", harness_error());
    cr_expect_eq(child_wait(pid, 5000, &how), 0, "the resetting server");
    cr_expect(how.exited && how.code == 0, "resetting server exit %d",
              how.code);

    cr_expect(exited_with(&r.exit, EX_IOERR), "echo-client should exit 74 "
              "on a reset:\n%s", r.err);
    must_find(r.err, "= -1 ECONNRESET", line, sizeof line);
    cr_expect_not_null(strstr(line, "~ on_read, nread = UV_ECONNRESET"), "%s",
                       line);
    cr_expect_null(strstr(line, "UV_EOF"), "%s", line);
    run_result_free(&r);
}

/* echo-client with its standard input and error on pipes the test holds,
 * so the test decides when input ends. */
struct held_client {
    int in_read, in_write, err_read, err_write;
    const char *port;
};

static int held_client_main(void *arg)
{
    const struct held_client *hc = arg;
    char path[1024];
    /* The test's ends stay with the test: a write end of our own stdin
     * kept open here would mean input never ends. */
    close(hc->in_write);
    close(hc->err_read);
    if (dup2(hc->in_read, STDIN_FILENO) < 0 ||
        dup2(hc->err_write, STDERR_FILENO) < 0)
        return 70;
    bin_path("echo-client", path, sizeof path);
    execl(path, "echo-client", "-v", "127.0.0.1", hc->port, (char *)NULL);
    return 71;
}

/* The server resets the connection while the client waits for input;
 * then input ends. shutdown fails with ENOTCONN (the reset closed the
 * connection), and the client must still say what happened: the reset,
 * from the read that follows, not a bare "shutdown: Transport endpoint is
 * not connected". */
Test(notes, a_reset_before_end_of_input_is_reported_as_the_reset)
{
    uint16_t port;
    char port_text[8], err[8192];
    int in[2], errp[2];
    struct exit_info how;

    int listener = tcp_listen("127.0.0.1", &port);
    cr_assert_geq(listener, 0, "%s", harness_error());
    cr_assert_eq(pipe(in), 0);
    cr_assert_eq(pipe(errp), 0);
    snprintf(port_text, sizeof port_text, "%u", (unsigned)port);
    struct held_client hc = {in[0], in[1], errp[0], errp[1], port_text};
    pid_t pid = child_run(held_client_main, &hc);
    cr_assert_gt(pid, 0, "%s", harness_error());
    close(in[0]);
    close(errp[1]);

    int conn = accept(listener, NULL, NULL);
    cr_assert_geq(conn, 0, "accept");
    close(listener);
    cr_assert_eq(sock_reset(conn), 0, "reset");
    close(in[1]);  /* end of input, after the reset */

    size_t used = 0;
    ssize_t n;
    while (used < sizeof err - 1 &&
           (n = read(errp[0], err + used, sizeof err - 1 - used)) > 0)
        used += (size_t)n;
    err[used] = '\0';
    close(errp[0]);
    cr_assert_eq(child_wait(pid, 10000, &how), 0, "echo-client did not end");
    cr_expect(how.exited && how.code == EX_IOERR, "echo-client should exit "
              "74 after a reset, got %d:\n%s", how.code, err);
    cr_expect_not_null(strstr(err, "reset by peer"), "the reset is not "
                       "named:\n%s", err);
    cr_expect_null(strstr(err, "echo-client: shutdown:"), "the error is "
                   "the shutdown's, not the reset:\n%s", err);
}

Test(notes, an_idle_timeout_is_a_timer_not_uv_eagain)
{
    struct server srv;
    const char *const args[] = {"-v", "-t", "1", NULL};
    char line[512];

    cr_assert_eq(server_start(&srv, "echo-server-fork", args, "0"), 0, "%s",
                 harness_error());
    int fd = tcp_connect("127.0.0.1", srv.port);
    cr_assert_geq(fd, 0, "%s", harness_error());
    /* Silent for the one second of -t: the child's read times out, it
     * closes, and we read end of file. */
    cr_expect_eq(sock_expect_eof(fd, 10000), 1, "no close after -t 1");
    close(fd);
    cr_assert_eq(server_stop(&srv), 0, "%s", harness_error());

    must_find(srv.err_text, "= -1 EAGAIN", line, sizeof line);
    cr_expect_null(strstr(line, "nread = UV_EAGAIN"), "%s", line);
    cr_expect_not_null(strstr(line, "uv_timer_t"), "%s", line);
    server_release(&srv);
}

Test(notes, the_poll_servers_pipe_and_nonblocking_notes)
{
    const char *const args[] = {"-v", NULL};
    char line[512];
    char *err = server_session("echo-server-poll", args);

    must_find(err, "] pipe() = 0", line, sizeof line);
    cr_expect_not_null(strstr(line, "uv_loop_init"), "%s", line);
    cr_expect_null(strstr(line, "uv_signal_init"), "%s", line);
    must_find(err, "F_SETFL, O_NONBLOCK) = 0", line, sizeof line);
    cr_expect_null(strstr(line, "uv__nonblock"), "%s", line);
    cr_expect_not_null(strstr(line, "SOCK_NONBLOCK"), "%s", line);
    free(err);
}

Test(notes, the_uv_clients_end_of_input_and_echo_may_be_a_hang_up)
{
    if (!bin_exists("uv-echo-client"))
        cr_skip_test("uv-echo-client is not built (no libuv)");
    struct server srv;
    struct run_result r;
    char port_text[8], line[512];
    cr_assert_eq(server_start(&srv, "echo-server", NULL, "0"), 0, "%s",
                 harness_error());
    snprintf(port_text, sizeof port_text, "%u", (unsigned)srv.port);
    const char *const args[] = {"-v", "127.0.0.1", port_text, NULL};
    cr_assert_eq(run_program("uv-echo-client", args, "hi\n", 3, 10000, &r),
                 0, "%s", harness_error());
    cr_expect(exited_with(&r.exit, 0), "uv-echo-client: %s", r.err);
    must_find(r.err, "UV_EOF, end of input", line, sizeof line);
    cr_expect_not_null(strstr(line, "= 0, or a hang-up after a short read"),
                       "%s", line);
    must_find(r.err, "UV_EOF, server closed", line, sizeof line);
    cr_expect_not_null(strstr(line, "= 0, or a hang-up after a short read"),
                       "%s", line);
    run_result_free(&r);
    server_stop(&srv);
    server_release(&srv);
}

Test(notes, libuvs_signal_handler_writes_the_watcher_and_the_number)
{
    if (!bin_exists("uv-echo-server"))
        cr_skip_test("uv-echo-server is not built (no libuv)");
    const char *const args[] = {"-v", NULL};
    char line[512];
    char *err = server_session("uv-echo-server", args);

    must_find(err, "on_signal signum = ", line, sizeof line);
    cr_expect_not_null(strstr(line, "wrote {watcher, signum} to a pipe"),
                       "%s", line);
    free(err);
}

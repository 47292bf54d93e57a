/* test_servers.c - the real binaries, driven over loopback.
 *
 * Every server in SERVERS must pass every conformance case with every
 * client in CLIENTS; every client must pass the client cases. A new
 * program is one more line in its list. A program that is listed but not
 * built is reported as skipped, with the reason, never silently dropped.
 *
 * Each (server, client) pair is its own Criterion test (ParameterizedTest),
 * so one failure names one pair; the assertion messages name both.
 * Servers listen on port 0 and are found through their ready line; nothing
 * here sleeps to synchronise, and every wait has a bound.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "harness.h"

#ifndef SOCKLAB_HAVE_UV
#define SOCKLAB_HAVE_UV 0
#endif

/* ---- the programs under test ------------------------------------------------- */

/* Every TCP echo server: the conformance cases run against each. */
static const char *const SERVERS[] = {
    "echo-server",
    "echo-server-fork",
    "echo-server-thread",
    "echo-server-poll",
    "echo-server-epoll",
    "uv-echo-server",
};

/* Every TCP echo client: paired with every server, and on its own. */
static const char *const CLIENTS[] = {
    "echo-client",
    "uv-echo-client",
};

/* Servers that serve one client at a time (the second one waits). */
static const char *const ITERATIVE_SERVERS[] = {
    "echo-server",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

TestSuite(conformance, .timeout = 30, .fini = harness_cleanup);
TestSuite(server, .timeout = 30, .fini = harness_cleanup);
TestSuite(client, .timeout = 30, .fini = harness_cleanup);
TestSuite(iterative, .timeout = 30, .fini = harness_cleanup);

/* Parameters are copied into each test's process as bytes: names are held
 * in arrays, not pointed to. */
struct program {
    char name[48];
};

struct pair {
    char server[48];
    char client[48];
};

/* Copy names into list (one static array per list: Criterion may hold
 * several parameter arrays at once). */
static struct criterion_test_params programs(struct program *list,
                                             const char *const *names,
                                             size_t n)
{
    for (size_t i = 0; i < n; i++)
        snprintf(list[i].name, sizeof list[i].name, "%s", names[i]);
    return cr_make_param_array(struct program, list, n);
}

static struct criterion_test_params server_list(void)
{
    static struct program list[COUNT(SERVERS)];
    return programs(list, SERVERS, COUNT(SERVERS));
}

static struct criterion_test_params client_list(void)
{
    static struct program list[COUNT(CLIENTS)];
    return programs(list, CLIENTS, COUNT(CLIENTS));
}

static struct criterion_test_params iterative_list(void)
{
    static struct program list[COUNT(ITERATIVE_SERVERS)];
    return programs(list, ITERATIVE_SERVERS, COUNT(ITERATIVE_SERVERS));
}

/* Every server with every client. */
static struct criterion_test_params pair_list(void)
{
    static struct pair list[COUNT(SERVERS) * COUNT(CLIENTS)];
    size_t n = 0;
    for (size_t s = 0; s < COUNT(SERVERS); s++)
        for (size_t c = 0; c < COUNT(CLIENTS); c++, n++) {
            snprintf(list[n].server, sizeof list[n].server, "%s", SERVERS[s]);
            snprintf(list[n].client, sizeof list[n].client, "%s", CLIENTS[c]);
        }
    return cr_make_param_array(struct pair, list, n);
}

/* Skip, saying why, when a listed program has not been built. */
static void need(const char *name)
{
    char path[1024];
    if (bin_exists(name))
        return;
    if (strncmp(name, "uv-", 3) == 0 && !SOCKLAB_HAVE_UV)
        cr_skip_test("%s not built: libuv was not found (pkg-config libuv) "
                     "when the suite was built", name);
    cr_skip_test("%s not built: no executable %s", name,
                 bin_path(name, path, sizeof path));
}

/* ---- helpers -------------------------------------------------------------------- */

static void start(struct server *srv, const char *name,
                  const char *const args[])
{
    need(name);
    cr_assert_eq(server_start(srv, name, args, NULL), 0, "%s",
                 harness_error());
}

/* Start p's server, once both programs of the pair are known to exist. */
static void start_pair(struct server *srv, const struct pair *p,
                       const char *const args[])
{
    need(p->client);
    start(srv, p->server, args);
}

/* SIGTERM the server and insist on a clean exit 0. */
static void stop_cleanly(struct server *srv)
{
    char how[64];
    char name[sizeof srv->name];
    snprintf(name, sizeof name, "%s", srv->name);
    int rc = server_stop(srv);
    cr_expect_eq(rc, 0, "%s", harness_error());
    cr_expect(srv->exit.exited && srv->exit.code == 0,
              "%s: %s after SIGTERM, not exit 0; stderr:\n%s", name,
              describe_exit(&srv->exit, how, sizeof how), srv->err_text);
}

static const char *port_text(const struct server *srv, char *buf)
{
    snprintf(buf, 8, "%u", (unsigned)srv->port);
    return buf;
}

/* Run client against srv with in as its standard input. */
static void run_client(const char *client, const struct server *srv,
                       const void *in, size_t len, int timeout_ms,
                       struct run_result *r, int verbose)
{
    char port[8];
    const char *args_v[] = {"-v", srv->host, port_text(srv, port), NULL};
    need(client);
    cr_assert_eq(run_program(client, verbose ? args_v : args_v + 1, in, len,
                             timeout_ms, r),
                 0, "%s", harness_error());
}

/* The client must have echoed exactly in, exited 0, said nothing. */
static void expect_echoed(const char *client, const char *server,
                          const struct run_result *r, const void *in,
                          size_t len)
{
    char how[64];
    cr_expect(r->exit.exited && r->exit.code == 0,
              "%s -> %s: %s, not exit 0; stderr: %s", client, server,
              describe_exit(&r->exit, how, sizeof how), r->err);
    cr_expect_eq(r->out_len, len, "%s -> %s: %zu bytes came back, not %zu",
                 client, server, r->out_len, len);
    if (r->out_len == len && memcmp(r->out, in, len) != 0) {
        size_t at = 0;
        while (((const unsigned char *)in)[at] == r->out[at])
            at++;
        cr_expect_fail("%s -> %s: bytes differ from offset %zu", client,
                       server, at);
    }
}

/* Run client with in against srv and check the echo. */
static void echo_through(const char *client, const struct server *srv,
                         const void *in, size_t len, int timeout_ms)
{
    struct run_result r;
    run_client(client, srv, in, len, timeout_ms, &r, 0);
    expect_echoed(client, srv->name, &r, in, len);
    cr_expect_str_eq(r.err, "", "%s wrote to stderr: %s", client, r.err);
    run_result_free(&r);
}

/* stderr is one line, "PROGRAM: ...", naming needle. */
static void expect_one_line(const char *who, const char *err,
                            const char *needle)
{
    char head[64];
    snprintf(head, sizeof head, "%s: ", who);
    cr_expect_eq(count_lines(err), 1, "%s: not one line on stderr:\n%s", who,
                 err);
    cr_expect(strncmp(err, head, strlen(head)) == 0,
              "%s: message does not start '%s': %s", who, head, err);
    size_t len = strlen(err);
    cr_expect(len > 0 && err[len - 1] == '\n', "%s: no newline: %s", who, err);
    if (needle != NULL)
        cr_expect(strstr(err, needle) != NULL, "%s: message does not name "
                  "'%s': %s", who, needle, err);
}

/* "[NAME PID] " */
static int traced_by(const char *line, const char *name, long pid)
{
    char head[96];
    snprintf(head, sizeof head, "[%s %ld] ", name, pid);
    return strncmp(line, head, strlen(head)) == 0;
}

/* ---- conformance: every server with every client ---------------------------- */

ParameterizedTestParameters(conformance, line_echo)
{
    return pair_list();
}

ParameterizedTest(struct pair *p, conformance, line_echo)
{
    struct server srv;
    start_pair(&srv, p, NULL);
    echo_through(p->client, &srv, "hello\n", 6, 10000);
    stop_cleanly(&srv);
    server_release(&srv);
}

ParameterizedTestParameters(conformance, binary_bytes_without_newline)
{
    return pair_list();
}

ParameterizedTest(struct pair *p, conformance, binary_bytes_without_newline)
{
    static const unsigned char bytes[] = {0,   'a', 0,    0,   '\n', 0xff,
                                          0x80, '\r', 0x7f, 0,   'z',  1};
    struct server srv;
    start_pair(&srv, p, NULL);
    echo_through(p->client, &srv, bytes, sizeof bytes, 10000);
    stop_cleanly(&srv);
    server_release(&srv);
}

#define BIG (8u * 1024 * 1024)

ParameterizedTestParameters(conformance, eight_mib_of_random_bytes)
{
    return pair_list();
}

ParameterizedTest(struct pair *p, conformance, eight_mib_of_random_bytes,
                  .timeout = 60)
{
    struct server srv;
    unsigned char *data = malloc(BIG);
    cr_assert_not_null(data);
    fill_random(data, BIG, 2024);
    start_pair(&srv, p, NULL);
    echo_through(p->client, &srv, data, BIG, 30000);
    stop_cleanly(&srv);
    server_release(&srv);
    free(data);
}

ParameterizedTestParameters(conformance, two_clients_in_turn)
{
    return pair_list();
}

ParameterizedTest(struct pair *p, conformance, two_clients_in_turn)
{
    struct server srv;
    start_pair(&srv, p, NULL);
    echo_through(p->client, &srv, "first\n", 6, 10000);
    echo_through(p->client, &srv, "second, longer\n", 15, 10000);
    stop_cleanly(&srv);
    server_release(&srv);
}

ParameterizedTestParameters(conformance, survives_clients_that_reset_or_leave)
{
    return pair_list();
}

ParameterizedTest(struct pair *p, conformance,
                  survives_clients_that_reset_or_leave)
{
    struct server srv;
    static unsigned char junk[64 * 1024];
    unsigned char first;
    start_pair(&srv, p, NULL);

    /* A client that sends 64 KiB, sees the echo begin, and resets. */
    fill_random(junk, sizeof junk, 99);
    int fd = tcp_connect(srv.host, srv.port);
    cr_assert_geq(fd, 0, "%s", harness_error());
    sock_send_all(fd, junk, sizeof junk, 2000);
    cr_expect_eq(sock_read_exact(fd, &first, 1, 5000), 1, "%s: no echo: %s",
                 p->server, harness_error());
    sock_reset(fd);

    /* One that connects and leaves without a word. */
    fd = tcp_connect(srv.host, srv.port);
    cr_assert_geq(fd, 0, "%s", harness_error());
    close(fd);

    /* One that connects and resets at once. */
    fd = tcp_connect(srv.host, srv.port);
    cr_assert_geq(fd, 0, "%s", harness_error());
    sock_reset(fd);

    /* The next client is served as if nothing happened. */
    echo_through(p->client, &srv, "still there?\n", 13, 10000);
    cr_expect(server_alive(&srv), "%s died after a client reset", p->server);
    stop_cleanly(&srv);
    server_release(&srv);
}

ParameterizedTestParameters(conformance, ipv6_loopback)
{
    return pair_list();
}

ParameterizedTest(struct pair *p, conformance, ipv6_loopback)
{
    if (!have_ipv6_loopback())
        cr_skip_test("no IPv6 loopback on this machine (cannot bind ::1)");
    struct server srv;
    const char *const args[] = {"-b", "::1", NULL};
    start_pair(&srv, p, args);
    char want[64];
    snprintf(want, sizeof want, "listening on [::1]:%u", (unsigned)srv.port);
    cr_expect_str_eq(srv.ready_line, want, "%s: ready line", p->server);
    cr_expect_eq(srv.family, AF_INET6);
    echo_through(p->client, &srv, "over v6\n", 8, 10000);
    stop_cleanly(&srv);
    server_release(&srv);
}

ParameterizedTestParameters(conformance, verbose_traces_name_the_libuv_calls)
{
    return pair_list();
}

/* The line of text holding call must also hold libuv, and come from
 * [name pid]. */
static void expect_traced(const char *text, const char *name, long pid,
                          const char *call, const char *libuv)
{
    char line[512];
    if (line_with(text, call, line, sizeof line) == NULL) {
        cr_expect_fail("%s: no '%s' in the -v trace:\n%s", name, call, text);
        return;
    }
    cr_expect(strstr(line, libuv) != NULL, "%s: '%s' without '%s': %s", name,
              call, libuv, line);
    cr_expect(traced_by(line, name, pid), "%s: '%s' is not from [%s %ld]: %s",
              name, call, name, pid, line);
}

ParameterizedTest(struct pair *p, conformance,
                  verbose_traces_name_the_libuv_calls)
{
    struct server srv;
    struct run_result r;
    const char *const args[] = {"-v", NULL};
    start_pair(&srv, p, args);
    long server_pid = (long)srv.pid;

    run_client(p->client, &srv, "hi\n", 3, 10000, &r, 1);
    expect_echoed(p->client, p->server, &r, "hi\n", 3);
    expect_traced(r.err, p->client, (long)r.pid, "connect(",
                  "uv_tcp_connect");
    stop_cleanly(&srv);

    const char *err = srv.err_text;
    if (strncmp(p->server, "uv-", 3) == 0) {
        /* The libuv server names the system calls on the right, on the
         * step that makes them: uv_tcp_bind makes the socket (uv_tcp_init
         * makes none), and libuv has called accept4 before it calls
         * on_new_connection. */
        expect_traced(err, p->server, server_pid, "socket(", "uv_tcp_bind");
        expect_traced(err, p->server, server_pid, "bind(", "uv_tcp_bind");
        expect_traced(err, p->server, server_pid, "listen(", "uv_listen");
        expect_traced(err, p->server, server_pid, "accept4(",
                      "on_new_connection");
    } else {
        expect_traced(err, p->server, server_pid, "socket(", "uv_tcp_init");
        expect_traced(err, p->server, server_pid, "bind(", "uv_tcp_bind");
        expect_traced(err, p->server, server_pid, "listen(", "uv_listen");
        /* The epoll server accepts as libuv does, with accept4. */
        expect_traced(err, p->server, server_pid,
                      strcmp(p->server, "echo-server-epoll") == 0 ? "accept4("
                                                                 : "accept(",
                      "uv_accept");
    }

    /* Whole lines only: each is a trace line or a "NAME: " message. */
    char prefix[64], bracket[64];
    snprintf(prefix, sizeof prefix, "%s: ", p->server);
    snprintf(bracket, sizeof bracket, "[%s ", p->server);
    for (const char *at = err; *at != '\0';) {
        const char *nl = strchr(at, '\n');
        cr_expect(strncmp(at, bracket, strlen(bracket)) == 0 ||
                      strncmp(at, prefix, strlen(prefix)) == 0,
                  "%s: a mixed or foreign line in the trace: %.*s", p->server,
                  (int)(nl != NULL ? nl - at : (long)strlen(at)), at);
        if (nl == NULL)
            break;
        at = nl + 1;
    }
    run_result_free(&r);
    server_release(&srv);
}

/* ---- servers on their own ------------------------------------------------------- */

ParameterizedTestParameters(server, half_close_gets_everything_back_then_eof)
{
    return server_list();
}

ParameterizedTest(struct program *p, server,
                  half_close_gets_everything_back_then_eof)
{
    struct server srv;
    static unsigned char out[10000], back[10000];
    start(&srv, p->name, NULL);
    fill_random(out, sizeof out, 5);
    out[0] = out[500] = out[9999] = 0;

    int fd = tcp_connect(srv.host, srv.port);
    cr_assert_geq(fd, 0, "%s", harness_error());
    cr_assert_eq(sock_send_all(fd, out, sizeof out, 5000), sizeof out, "%s",
                 harness_error());
    cr_assert_eq(shutdown(fd, SHUT_WR), 0);
    cr_expect_eq(sock_read_exact(fd, back, sizeof back, 5000), sizeof back,
                 "%s: %s", p->name, harness_error());
    cr_expect(memcmp(out, back, sizeof out) == 0, "%s: bytes differ", p->name);
    cr_expect_eq(sock_expect_eof(fd, 5000), 1,
                 "%s: no end of file after the echo: %s", p->name,
                 harness_error());
    close(fd);
    stop_cleanly(&srv);
    server_release(&srv);
}

ParameterizedTestParameters(server, address_in_use_exits_71_with_a_hint)
{
    return server_list();
}

ParameterizedTest(struct program *p, server,
                  address_in_use_exits_71_with_a_hint)
{
    struct server srv;
    struct run_result r;
    char port[8], where[32], how[64];
    start(&srv, p->name, NULL);
    port_text(&srv, port);
    const char *const args[] = {"-b", "127.0.0.1", port, NULL};
    cr_assert_eq(run_program(p->name, args, NULL, 0, 5000, &r), 0, "%s",
                 harness_error());
    cr_expect(r.exit.exited && r.exit.code == EX_OSERR,
              "%s on a port in use: %s, not exit 71", p->name,
              describe_exit(&r.exit, how, sizeof how));
    snprintf(where, sizeof where, "127.0.0.1:%s", port);
    expect_one_line(p->name, r.err, where);
    cr_expect(strstr(r.err, "try another PORT") != NULL, "%s: no hint: %s",
              p->name, r.err);
    cr_expect_eq(r.out_len, 0, "%s printed on stdout: %s", p->name, r.out);
    cr_expect(server_alive(&srv), "the first %s died", p->name);
    run_result_free(&r);
    stop_cleanly(&srv);
    server_release(&srv);
}

struct bad_args {
    const char *args[4];
    const char *named;  /* what the message must mention */
};

static const struct bad_args server_bad_args[] = {
    {{"abc", NULL}, "abc"},
    {{"70000", NULL}, "70000"},
    {{"-1", NULL}, "-1"},
    {{"7000x", NULL}, "7000x"},
    {{"-b", "", NULL}, "-b"},
    {{"-b", NULL}, "-b"},
    {{"7000", "extra", NULL}, "extra"},
    {{"-z", NULL}, "-z"},
};

static const struct bad_args client_bad_args[] = {
    {{"localhost", "abc", NULL}, "abc"},
    {{"localhost", "70000", NULL}, "70000"},
    {{"localhost", "7000x", NULL}, "7000x"},
    {{"", NULL}, "host"},
    {{"localhost", "7000", "extra", NULL}, "extra"},
    {{"-z", NULL}, "-z"},
};

/* Each bad command line: exit 64, nothing on stdout, one line naming it. */
static void expect_usage_errors(const char *name, const struct bad_args *bad,
                                size_t n)
{
    need(name);
    for (size_t i = 0; i < n; i++) {
        struct run_result r;
        char how[64], shown[64] = "";
        for (int a = 0; bad[i].args[a] != NULL; a++)
            snprintf(shown + strlen(shown), sizeof shown - strlen(shown),
                     " '%s'", bad[i].args[a]);
        cr_assert_eq(run_program(name, bad[i].args, NULL, 0, 5000, &r), 0,
                     "%s", harness_error());
        cr_expect(r.exit.exited && r.exit.code == EX_USAGE,
                  "%s%s: %s, not exit 64", name, shown,
                  describe_exit(&r.exit, how, sizeof how));
        expect_one_line(name, r.err, bad[i].named);
        cr_expect_eq(r.out_len, 0, "%s%s printed on stdout: %s", name, shown,
                     r.out);
        run_result_free(&r);
    }
}

/* -h: usage on stdout, exit 0, nothing on stderr. */
static void expect_help(const char *name)
{
    struct run_result r;
    char head[64], how[64];
    const char *const args[] = {"-h", NULL};
    need(name);
    cr_assert_eq(run_program(name, args, NULL, 0, 5000, &r), 0, "%s",
                 harness_error());
    snprintf(head, sizeof head, "usage: %s ", name);
    cr_expect(r.exit.exited && r.exit.code == 0, "%s -h: %s", name,
              describe_exit(&r.exit, how, sizeof how));
    cr_expect(strncmp((const char *)r.out, head, strlen(head)) == 0,
              "%s -h: stdout does not start '%s': %s", name, head, r.out);
    cr_expect_str_eq(r.err, "", "%s -h wrote to stderr: %s", name, r.err);
    run_result_free(&r);
}

ParameterizedTestParameters(server, bad_arguments_exit_64_naming_the_value)
{
    return server_list();
}

ParameterizedTest(struct program *p, server,
                  bad_arguments_exit_64_naming_the_value)
{
    expect_usage_errors(p->name, server_bad_args, COUNT(server_bad_args));
}

ParameterizedTestParameters(server, dash_h_prints_usage_and_exits_0)
{
    return server_list();
}

ParameterizedTest(struct program *p, server, dash_h_prints_usage_and_exits_0)
{
    expect_help(p->name);
}

ParameterizedTestParameters(server, sigterm_prints_a_summary_and_exits_0)
{
    return server_list();
}

ParameterizedTest(struct program *p, server,
                  sigterm_prints_a_summary_and_exits_0)
{
    struct server srv;
    start(&srv, p->name, NULL);
    /* Two clients, 6 + 3 bytes. Raw sockets, so no client is needed. */
    for (int i = 0; i < 2; i++) {
        const char *msg = i == 0 ? "hello\n" : "abc";
        size_t len = strlen(msg);
        char back[8];
        int fd = tcp_connect(srv.host, srv.port);
        cr_assert_geq(fd, 0, "%s", harness_error());
        cr_assert_eq(sock_send_all(fd, msg, len, 5000), len);
        shutdown(fd, SHUT_WR);
        cr_expect_eq(sock_read_exact(fd, back, len, 5000), len, "%s: %s",
                     p->name, harness_error());
        cr_expect_eq(sock_expect_eof(fd, 5000), 1, "%s: %s", p->name,
                     harness_error());
        close(fd);
    }
    stop_cleanly(&srv);
    const char *err = srv.err_text;
    expect_one_line(p->name, err, NULL);
    cr_expect(strstr(err, "client") != NULL && strstr(err, "byte") != NULL,
              "%s: the summary does not mention clients and bytes: %s",
              p->name, err);
    cr_expect(has_number(err, 2), "%s: 2 clients not in: %s", p->name, err);
    cr_expect(has_number(err, 9), "%s: 9 bytes not in: %s", p->name, err);
    cr_expect_str_eq(srv.out_rest, "",
                     "%s: stdout holds more than the ready line: %s", p->name,
                     srv.out_rest);
    server_release(&srv);
}

ParameterizedTestParameters(server, sigterm_with_v_traces_the_wind_down)
{
    return server_list();
}

/* The trace must narrate the stop too: after SIGTERM the program still
 * closes its listening socket, and -v must say so before the summary. */
ParameterizedTest(struct program *p, server,
                  sigterm_with_v_traces_the_wind_down)
{
    struct server srv;
    const char *args[] = {"-v", NULL};
    start(&srv, p->name, args);
    long pid = (long)srv.pid;
    stop_cleanly(&srv);

    const char *err = srv.err_text;
    const char *summary = strstr(err, "stopped:");
    cr_assert_not_null(summary, "%s: no summary after SIGTERM:\n%s", p->name,
                       err);
    /* No client ever connected, so any traced close( line of this very
     * process belongs to the wind-down. */
    char head[64];
    snprintf(head, sizeof head, "[%s %ld] ", p->name, pid);
    int closes_after_stop = 0;
    for (const char *line = err; line != NULL && line < summary;) {
        const char *nl = strchr(line, '\n');
        char text[512];
        snprintf(text, sizeof text, "%.*s",
                 (int)(nl != NULL ? nl - line : (long)strlen(line)), line);
        if (strncmp(text, head, strlen(head)) == 0 &&
            strstr(text, "close(") != NULL)
            closes_after_stop++;
        line = nl != NULL ? nl + 1 : NULL;
    }
    cr_expect_gt(closes_after_stop, 0, "%s: the -v trace says nothing of "
                 "closing the listening socket after SIGTERM:\n%s", p->name,
                 err);
    server_release(&srv);
}

ParameterizedTestParameters(server, sigterm_with_an_idle_client_connected)
{
    return server_list();
}

ParameterizedTest(struct program *p, server,
                  sigterm_with_an_idle_client_connected)
{
    struct server srv;
    char back;
    start(&srv, p->name, NULL);
    int fd = tcp_connect(srv.host, srv.port);
    cr_assert_geq(fd, 0, "%s", harness_error());
    cr_assert_eq(sock_send_all(fd, "x", 1, 5000), 1);
    cr_expect_eq(sock_read_exact(fd, &back, 1, 5000), 1, "%s: %s", p->name,
                 harness_error());
    /* The server now waits in read for a client that says nothing. */
    stop_cleanly(&srv);
    close(fd);
    server_release(&srv);
}

ParameterizedTestParameters(server, sigterm_while_a_client_does_not_read)
{
    return server_list();
}

/* KNOWN BUG for the blocking servers (common/io.c write_all, see
 * io::write_all_stops_after_a_short_write_too): when SIGTERM lands while
 * the server's write has moved part of a buffer to a client that does not
 * read, write returns a short count, write_all writes again and blocks,
 * and the server never notices the stop. */
ParameterizedTest(struct program *p, server,
                  sigterm_while_a_client_does_not_read)
{
    struct server srv;
    static unsigned char chunk[64 * 1024];
    start(&srv, p->name, NULL);
    int fd = tcp_connect(srv.host, srv.port);
    cr_assert_geq(fd, 0, "%s", harness_error());
    /* Send and never read, until our sends stall: then both directions
     * are full and the server is stuck writing its echo to us. Bounded:
     * at most 256 MiB, and each send gets 300 ms. */
    size_t total = 0;
    for (int i = 0; i < 4096; i++) {
        size_t n = sock_send_all(fd, chunk, sizeof chunk, 300);
        total += n;
        if (n < sizeof chunk)
            break;
    }
    cr_assert_lt(total, (size_t)4096 * sizeof chunk,
                 "%s: 256 MiB went in without the echo backing up", p->name);
    stop_cleanly(&srv);
    close(fd);
    server_release(&srv);
}

/* ---- clients on their own ---------------------------------------------------- */

ParameterizedTestParameters(client, a_closed_port_exits_69)
{
    return client_list();
}

ParameterizedTest(struct program *p, client, a_closed_port_exits_69)
{
    struct run_result r;
    uint16_t port;
    char port_s[8], where[32], how[64];
    need(p->name);
    cr_assert_eq(free_port("127.0.0.1", &port), 0);
    snprintf(port_s, sizeof port_s, "%u", (unsigned)port);
    const char *const args[] = {"127.0.0.1", port_s, NULL};
    cr_assert_eq(run_program(p->name, args, "x", 1, 5000, &r), 0, "%s",
                 harness_error());
    cr_expect(r.exit.exited && r.exit.code == EX_UNAVAILABLE,
              "%s to a closed port: %s, not exit 69", p->name,
              describe_exit(&r.exit, how, sizeof how));
    snprintf(where, sizeof where, "127.0.0.1:%s", port_s);
    expect_one_line(p->name, r.err, where);
    cr_expect_eq(r.out_len, 0);
    run_result_free(&r);
}

ParameterizedTestParameters(client, an_unknown_host_exits_68)
{
    return client_list();
}

ParameterizedTest(struct program *p, client, an_unknown_host_exits_68)
{
    struct run_result r;
    char how[64];
    need(p->name);
    const char *const args[] = {"no-such-host.invalid", "7000", NULL};
    cr_assert_eq(run_program(p->name, args, "x", 1, 10000, &r), 0, "%s",
                 harness_error());
    cr_expect(r.exit.exited && r.exit.code == EX_NOHOST,
              "%s to an unknown host: %s, not exit 68", p->name,
              describe_exit(&r.exit, how, sizeof how));
    expect_one_line(p->name, r.err, "no-such-host.invalid");
    run_result_free(&r);
}

/* A stand-in server in a child process: accept one client, then act. */
struct peer {
    int listen_fd;
    int mode;  /* PEER_ECHO, PEER_RESET or PEER_SHORT */
};

enum { PEER_ECHO, PEER_RESET, PEER_SHORT };

static int peer_main(void *arg)
{
    const struct peer *pr = arg;
    static unsigned char buf[64 * 1024];
    int fd = accept(pr->listen_fd, NULL, NULL);
    if (fd < 0)
        return 1;
    close(pr->listen_fd);
    if (pr->mode == PEER_ECHO) {
        /* Any RFC 862 server, in plain calls: read, write it all back. */
        for (;;) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            if (sock_send_all(fd, buf, (size_t)n, 10000) != (size_t)n)
                return 2;
        }
    } else if (pr->mode == PEER_RESET) {
        /* Take a little, then vanish with a reset. */
        sock_read_exact(fd, buf, 1000, 5000);
        sock_reset(fd);
        return 0;
    } else {
        /* Take all 100 bytes, send back only 10, close cleanly. */
        if (sock_read_exact(fd, buf, 100, 5000) != 100)
            return 3;
        if (sock_send_all(fd, buf, 10, 5000) != 10)
            return 4;
    }
    close(fd);
    return 0;
}

/* Start a stand-in server in mode; its port in *port. */
static pid_t start_peer(int mode, uint16_t *port)
{
    struct peer pr;
    pr.listen_fd = tcp_listen("127.0.0.1", port);
    cr_assert_geq(pr.listen_fd, 0, "%s", harness_error());
    pr.mode = mode;
    pid_t pid = child_run(peer_main, &pr);
    cr_assert_gt(pid, 0, "%s", harness_error());
    close(pr.listen_fd);
    return pid;
}

static void run_client_at(const char *client, uint16_t port, const void *in,
                          size_t len, struct run_result *r)
{
    char port_s[8];
    snprintf(port_s, sizeof port_s, "%u", (unsigned)port);
    const char *const args[] = {"127.0.0.1", port_s, NULL};
    cr_assert_eq(run_program(client, args, in, len, 10000, r), 0, "%s",
                 harness_error());
}

ParameterizedTestParameters(client, a_server_that_resets_mid_stream_exits_74)
{
    return client_list();
}

ParameterizedTest(struct program *p, client,
                  a_server_that_resets_mid_stream_exits_74)
{
    struct run_result r;
    struct exit_info peer_end;
    uint16_t port;
    char how[64];
    need(p->name);
    unsigned char *data = malloc(1024 * 1024);
    cr_assert_not_null(data);
    fill_random(data, 1024 * 1024, 3);
    pid_t peer = start_peer(PEER_RESET, &port);
    run_client_at(p->name, port, data, 1024 * 1024, &r);
    cr_expect(r.exit.exited && r.exit.code == EX_IOERR,
              "%s, server reset: %s, not exit 74; stderr: %s", p->name,
              describe_exit(&r.exit, how, sizeof how), r.err);
    expect_one_line(p->name, r.err, NULL);
    child_wait(peer, 5000, &peer_end);
    run_result_free(&r);
    free(data);
}

ParameterizedTestParameters(client, a_server_that_closes_early_exits_74)
{
    return client_list();
}

ParameterizedTest(struct program *p, client,
                  a_server_that_closes_early_exits_74)
{
    struct run_result r;
    struct exit_info peer_end;
    uint16_t port;
    char in[100], how[64];
    need(p->name);
    memset(in, 'q', sizeof in);
    pid_t peer = start_peer(PEER_SHORT, &port);
    run_client_at(p->name, port, in, sizeof in, &r);
    cr_expect(r.exit.exited && r.exit.code == EX_IOERR,
              "%s, 10 of 100 bytes echoed then EOF: %s, not exit 74; "
              "stderr: %s", p->name, describe_exit(&r.exit, how, sizeof how),
              r.err);
    expect_one_line(p->name, r.err, NULL);
    cr_expect_eq(child_wait(peer, 5000, &peer_end), 0);
    cr_expect(peer_end.exited && peer_end.code == 0,
              "the stand-in server failed (%d)", peer_end.code);
    run_result_free(&r);
}

ParameterizedTestParameters(client, works_with_any_echo_server)
{
    return client_list();
}

ParameterizedTest(struct program *p, client, works_with_any_echo_server)
{
    struct run_result r;
    struct exit_info peer_end;
    uint16_t port;
    static unsigned char in[100 * 1024];
    need(p->name);
    fill_random(in, sizeof in, 862);
    pid_t peer = start_peer(PEER_ECHO, &port);
    run_client_at(p->name, port, in, sizeof in, &r);
    expect_echoed(p->name, "a plain echo peer", &r, in, sizeof in);
    cr_expect_eq(child_wait(peer, 5000, &peer_end), 0, "%s", harness_error());
    cr_expect(peer_end.exited && peer_end.code == 0,
              "the echo peer failed (%d)", peer_end.code);
    run_result_free(&r);
}

ParameterizedTestParameters(client, works_with_socat_as_the_server)
{
    return client_list();
}

/* socat -d -d logs "listening on AF=2 127.0.0.1:PORT" with the real port
 * even for port 0. Should a socat print port 0 there, fall back to a port
 * that was free a moment ago, a few times. */
static int start_socat(struct server *srv, const char *socat)
{
    char listen_spec[96];
    char *argv[] = {(char *)socat, "-d", "-d", listen_spec, "EXEC:cat", NULL};
    snprintf(listen_spec, sizeof listen_spec,
             "TCP-LISTEN:0,bind=127.0.0.1,reuseaddr,fork");
    if (server_start_argv(srv, argv, "listening on ", 1) == 0 &&
        srv->port != 0)
        return 0;
    if (srv->pid > 0)
        server_stop(srv);
    server_release(srv);
    for (int attempt = 0; attempt < 3; attempt++) {
        uint16_t port;
        if (free_port("127.0.0.1", &port) < 0)
            continue;
        snprintf(listen_spec, sizeof listen_spec,
                 "TCP-LISTEN:%u,bind=127.0.0.1,reuseaddr,fork",
                 (unsigned)port);
        if (server_start_argv(srv, argv, "listening on ", 1) == 0) {
            srv->port = port;
            return 0;
        }
        server_release(srv);
    }
    return -1;
}

ParameterizedTest(struct program *p, client, works_with_socat_as_the_server)
{
    char socat[1024];
    struct server srv;
    need(p->name);
    if (find_on_path("socat", socat, sizeof socat) == NULL)
        cr_skip_test("socat is not installed");
    cr_assert_eq(start_socat(&srv, socat), 0, "socat: %s", harness_error());
    echo_through(p->name, &srv, "through socat\n\0\1\2", 17, 10000);
    server_stop(&srv);  /* socat exits 143 on SIGTERM: not ours to judge */
    server_release(&srv);
}

ParameterizedTestParameters(client, empty_input_exits_0_with_no_output)
{
    return pair_list();
}

ParameterizedTest(struct pair *p, client, empty_input_exits_0_with_no_output)
{
    struct server srv;
    start_pair(&srv, p, NULL);
    echo_through(p->client, &srv, "", 0, 10000);
    stop_cleanly(&srv);
    server_release(&srv);
}

ParameterizedTestParameters(client, bad_arguments_exit_64_naming_the_value)
{
    return client_list();
}

ParameterizedTest(struct program *p, client,
                  bad_arguments_exit_64_naming_the_value)
{
    expect_usage_errors(p->name, client_bad_args, COUNT(client_bad_args));
}

ParameterizedTestParameters(client, dash_h_prints_usage_and_exits_0)
{
    return client_list();
}

ParameterizedTest(struct program *p, client, dash_h_prints_usage_and_exits_0)
{
    expect_help(p->name);
}

/* ---- iterative servers: one client at a time ---------------------------------- */

ParameterizedTestParameters(iterative, the_second_client_waits_for_the_first)
{
    return iterative_list();
}

ParameterizedTest(struct program *p, iterative,
                  the_second_client_waits_for_the_first)
{
    struct server srv;
    char back[4];
    start(&srv, p->name, NULL);

    int a = tcp_connect(srv.host, srv.port);
    cr_assert_geq(a, 0, "%s", harness_error());
    cr_assert_eq(sock_send_all(a, "A", 1, 5000), 1);
    cr_assert_eq(sock_read_exact(a, back, 1, 5000), 1, "%s: A not echoed: %s",
                 p->name, harness_error());

    /* B's connect succeeds (the kernel queues it in the backlog), but
     * nobody reads what it sends while A is being served. */
    int b = tcp_connect(srv.host, srv.port);
    cr_assert_geq(b, 0, "%s: B could not connect: %s", p->name,
                  harness_error());
    cr_assert_eq(sock_send_all(b, "B", 1, 5000), 1);
    cr_expect_eq(sock_quiet_for(b, 300), 1,
                 "%s: B was answered while A was still connected", p->name);

    cr_expect_eq(sock_send_all(a, "A2", 2, 5000), 2);
    cr_expect_eq(sock_read_exact(a, back, 2, 5000), 2,
                 "%s: A stopped being served: %s", p->name, harness_error());
    close(a);

    /* Once A is gone the server accepts B and echoes what was waiting. */
    cr_expect_eq(sock_read_exact(b, back, 1, 5000), 1,
                 "%s: B never got its echo after A left: %s", p->name,
                 harness_error());
    cr_expect_eq(back[0], 'B');
    close(b);
    stop_cleanly(&srv);
    server_release(&srv);
}

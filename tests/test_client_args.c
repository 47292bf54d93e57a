/* test_client_args.c - the operands a client takes: HOST, PORT, HOST PORT,
 * HOST:PORT and [V6ADDR]:PORT.
 *
 * Two halves. client_args drives the pure functions split_endpoint and
 * client_operands (common/cli.c) directly, case by case, checking the host
 * and port they find or the error that names the value. client_args_run
 * runs the real programs: against a server on port 0, with the forms a
 * learner types (the bare port, the ready line's address copied as it is),
 * and with the mistakes, which must stop at exit 64 before any socket.
 *
 * No test here may send a packet off the machine, yet every operand here,
 * misread, would go elsewhere: "7100" is 0.0.27.188 to getaddrinfo. So
 * before a program runs, two guards: the parser it links (the same
 * libsocklab.a as this suite) must read the operands as loopback, or
 * refuse them; and, where this machine allows network namespaces, the
 * program is first run in an empty one (unshare -n: its only interface a
 * loopback that is down, so nothing can leave) and must try the loopback
 * address there. The mistakes are only ever run inside such a namespace
 * when one can be had.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "harness.h"
#include "trace.h"

#ifndef SOCKLAB_HAVE_UV
#define SOCKLAB_HAVE_UV 0
#endif

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

TestSuite(client_args, .timeout = 10);
TestSuite(client_args_run, .timeout = 30, .fini = harness_cleanup);

/* ---- the pure functions: operands that work --------------------------------- */

/* Parameters are copied into each test's process as bytes: no pointers. */
struct good_case {
    int count;           /* operands */
    char op[2][48];
    char host[48];       /* expected */
    unsigned port;
    int has_port;
    int port_only;
};

ParameterizedTestParameters(client_args, good_operands_give_host_and_port)
{
    static struct good_case cases[] = {
        {0, {"", ""}, "127.0.0.1", 7000, 0, 0},
        /* a lone number is the PORT, on the default host */
        {1, {"7100", ""}, "127.0.0.1", 7100, 1, 1},
        {1, {"07100", ""}, "127.0.0.1", 7100, 1, 1},
        {1, {"0", ""}, "127.0.0.1", 0, 1, 1},
        {1, {"65535", ""}, "127.0.0.1", 65535, 1, 1},
        /* HOST:PORT, as an IPv4 ready line prints it */
        {1, {"127.0.0.1:7000", ""}, "127.0.0.1", 7000, 1, 0},
        {1, {"localhost:7001", ""}, "localhost", 7001, 1, 0},
        {1, {"127.0.0.1:0", ""}, "127.0.0.1", 0, 1, 0},
        /* [V6ADDR]:PORT, as an IPv6 ready line prints it, and [V6ADDR] */
        {1, {"[::1]:7000", ""}, "::1", 7000, 1, 0},
        {1, {"[::1]:65535", ""}, "::1", 65535, 1, 0},
        {1, {"[::1]", ""}, "::1", 7000, 0, 0},
        {1, {"[fe80::1%lo]:9", ""}, "fe80::1%lo", 9, 1, 0},
        /* two or more ':' without brackets: a bare IPv6 address */
        {1, {"::1", ""}, "::1", 7000, 0, 0},
        {1, {"fe80::1", ""}, "fe80::1", 7000, 0, 0},
        {1, {"::ffff:127.0.0.1", ""}, "::ffff:127.0.0.1", 7000, 0, 0},
        /* anything else is a HOST */
        {1, {"localhost", ""}, "localhost", 7000, 0, 0},
        {1, {"127.0.0.1", ""}, "127.0.0.1", 7000, 0, 0},
        {1, {"7100x", ""}, "7100x", 7000, 0, 0},
        /* HOST PORT */
        {2, {"127.0.0.1", "7001"}, "127.0.0.1", 7001, 1, 0},
        {2, {"localhost", "0"}, "localhost", 0, 1, 0},
        {2, {"::1", "9"}, "::1", 9, 1, 0},
        {2, {"[::1]", "7000"}, "::1", 7000, 1, 0},
    };
    return cr_make_param_array(struct good_case, cases, COUNT(cases));
}

ParameterizedTest(struct good_case *c, client_args,
                  good_operands_give_host_and_port)
{
    struct endpoint_text out;
    char *ops[] = {c->op[0], c->op[1], NULL};
    int rc = client_operands(c->count, ops, "tname", &out);
    cr_assert_eq(rc, 0, "'%s' '%s' (%d operands) refused: %s", c->op[0],
                 c->op[1], c->count, out.error);
    cr_expect_str_eq(out.host, c->host, "'%s' '%s': host", c->op[0],
                     c->op[1]);
    cr_expect_eq(out.port, c->port, "'%s' '%s': port %u, not %u", c->op[0],
                 c->op[1], (unsigned)out.port, c->port);
    cr_expect_eq(out.has_port, c->has_port, "'%s' '%s': has_port", c->op[0],
                 c->op[1]);
    if (c->count == 1) {
        /* One operand: split_endpoint alone says the same. */
        struct endpoint_text one;
        cr_assert_eq(split_endpoint(c->op[0], &one), 0, "%s", one.error);
        cr_expect_str_eq(one.host, c->host);
        cr_expect_eq(one.port, c->port);
        cr_expect_eq(one.port_only, c->port_only, "'%s': port_only",
                     c->op[0]);
    }
}

/* ---- the pure functions: mistakes, each named --------------------------------- */

struct bad_case {
    int count;
    char op[3][48];
    char named[64];  /* the value the error must quote */
    char says[64];   /* and what kind of mistake it reports */
};

ParameterizedTestParameters(client_args, bad_operands_are_refused_naming_them)
{
    static struct bad_case cases[] = {
        {1, {""}, "", "empty host"},
        /* a lone number out of range is a bad PORT, never an address */
        {1, {"70000"}, "'70000'", "bad port"},
        {1, {"2130706433"}, "'2130706433'", "bad port"},
        {1, {"99999999999999999999999"}, "'99999999999999999999999'",
         "bad port"},
        /* brackets */
        {1, {"[::1"}, "'[::1'", "forms that work"},
        {1, {"["}, "'['", "forms that work"},
        {1, {"[::1]7000"}, "'[::1]7000'", "forms that work"},
        {1, {"[::1]x"}, "'[::1]x'", "forms that work"},
        {1, {"[::1]]"}, "'[::1]]'", "forms that work"},
        {1, {"[]"}, "'[]'", "empty host"},
        {1, {"[]:7000"}, "'[]:7000'", "empty host"},
        {1, {"[::1]:"}, "bad port ''", "'[::1]:'"},
        {1, {"[::1]:70000"}, "bad port '70000'", "'[::1]:70000'"},
        {1, {"[::1]:x"}, "bad port 'x'", "'[::1]:x'"},
        /* HOST:PORT */
        {1, {":7000"}, "':7000'", "empty host"},
        {1, {":"}, "':'", "empty host"},
        {1, {"127.0.0.1:"}, "bad port ''", "'127.0.0.1:'"},
        {1, {"127.0.0.1:x"}, "bad port 'x'", "'127.0.0.1:x'"},
        {1, {"127.0.0.1:-1"}, "bad port '-1'", "'127.0.0.1:-1'"},
        {1, {"localhost:65536"}, "bad port '65536'", "'localhost:65536'"},
        /* HOST PORT */
        {2, {"7100", "7000"}, "host '7100' is a bare number",
         "try tname 127.0.0.1 7100"},
        {2, {"2130706433", "7000"}, "'2130706433' is a bare number",
         "try tname 127.0.0.1 PORT"},
        {2, {"127.0.0.1:7000", "7001"}, "'127.0.0.1:7000'",
         "port given twice"},
        {2, {"[::1]:7000", "7001"}, "'[::1]:7000'", "port given twice"},
        {2, {"7100", "7001"}, "'7100'", "bare number"},
        {2, {"localhost", "abc"}, "bad port 'abc'", "expected a number"},
        {2, {"localhost", "70000"}, "bad port '70000'", "expected a number"},
        {2, {"localhost", ""}, "bad port ''", "expected a number"},
        {2, {"", "7000"}, "", "empty host"},
        {2, {"[::1", "7000"}, "'[::1'", "forms that work"},
        /* a third operand */
        {3, {"localhost", "7000", "extra"}, "'extra'", "unexpected argument"},
    };
    return cr_make_param_array(struct bad_case, cases, COUNT(cases));
}

ParameterizedTest(struct bad_case *c, client_args,
                  bad_operands_are_refused_naming_them)
{
    struct endpoint_text out;
    char *ops[] = {c->op[0], c->op[1], c->op[2], NULL};
    int rc = client_operands(c->count, ops, "tname", &out);
    cr_assert_eq(rc, -1, "'%s' '%s' '%s' (%d operands) accepted: %s port %u",
                 c->op[0], c->op[1], c->op[2], c->count, out.host,
                 (unsigned)out.port);
    cr_expect(strstr(out.error, c->named) != NULL,
              "'%s' '%s': the error does not name %s: %s", c->op[0],
              c->op[1], c->named, out.error);
    cr_expect(strstr(out.error, c->says) != NULL,
              "'%s' '%s': the error does not say '%s': %s", c->op[0],
              c->op[1], c->says, out.error);
    cr_expect(strchr(out.error, '\n') == NULL, "more than one line: %s",
              out.error);
    if (c->count == 1)
        cr_expect_eq(split_endpoint(c->op[0], &out), -1);
}

/* ---- long operands: bounded, never written past ------------------------------ */

/* 255 characters of host fit HOST_TEXT_MAX; 256 are refused, whichever form
 * carries them, and the refusal is one line of bounded length. */
Test(client_args, a_long_host_is_bounded)
{
    static const char *const forms[] = {"%s", "%s:7000", "[%s]", "[%s]:7000"};
    char host[HOST_TEXT_MAX + 1], operand[HOST_TEXT_MAX + 16];
    struct endpoint_text out;

    for (size_t f = 0; f < COUNT(forms); f++) {
        memset(host, 'a', HOST_TEXT_MAX - 1);
        host[HOST_TEXT_MAX - 1] = '\0';
        snprintf(operand, sizeof operand, forms[f], host);
        cr_expect_eq(split_endpoint(operand, &out), 0, "%zu chars in '%s': %s",
                     strlen(host), forms[f], out.error);
        cr_expect_str_eq(out.host, host, "form '%s'", forms[f]);

        host[HOST_TEXT_MAX - 1] = 'a';
        host[HOST_TEXT_MAX] = '\0';
        snprintf(operand, sizeof operand, forms[f], host);
        cr_expect_eq(split_endpoint(operand, &out), -1,
                     "%zu chars in '%s' accepted", strlen(host), forms[f]);
        cr_expect(strstr(out.error, "too long") != NULL, "%s", out.error);
    }
}

/* Operands far longer than any buffer: refused or accepted, nothing is
 * written past the struct (ASan would say), and the message is one line
 * quoting the start of the operand. */
Test(client_args, a_huge_operand_gives_a_short_error)
{
    static const char *const forms[] = {"%s", "%s:7000", "[%s]:7000",
                                        "[%s", "%s:x", "[%s]junk"};
    size_t n = 100000;
    char *big = malloc(n + 1), *operand = malloc(n + 16);
    struct endpoint_text out;
    cr_assert(big != NULL && operand != NULL);
    memset(big, 'b', n);
    big[n] = '\0';
    for (size_t f = 0; f < COUNT(forms); f++) {
        snprintf(operand, n + 16, forms[f], big);
        cr_expect_eq(split_endpoint(operand, &out), -1, "form '%s'",
                     forms[f]);
        cr_expect(strlen(out.error) < 300 && strchr(out.error, '\n') == NULL,
                  "form '%s': %zu chars: %s", forms[f], strlen(out.error),
                  out.error);
        cr_expect(strstr(out.error, "'bbbb") != NULL ||
                      strstr(out.error, "'[bbbb") != NULL,
                  "form '%s' does not quote the operand: %s", forms[f],
                  out.error);
    }
    memset(big, '7', n);  /* a huge number: a bad port, quoted short */
    cr_expect_eq(split_endpoint(big, &out), -1);
    cr_expect(strlen(out.error) < 300, "%s", out.error);
    free(operand);
    free(big);
}

/* parse_client_args keeps its API: the host it hands back (split out of an
 * operand, so no longer inside argv) lives on after the call. */
Test(client_args, parse_client_args_splits_host_colon_port)
{
    struct endpoint_args a;
    char *argv[] = {"prog", "-v", "[::1]:7100", NULL};
    trace_init("tname", 0);
    parse_client_args(3, argv, &a, "[-h] [-v] [HOST [PORT]]", NULL, NULL,
                      NULL);
    cr_expect_str_eq(a.host, "::1");
    cr_expect_eq(a.port, 7100);
    cr_expect_eq(a.verbose, 1);
}

Test(client_args, parse_client_args_takes_a_lone_number_as_the_port)
{
    struct endpoint_args a;
    char *argv[] = {"prog", "7100", NULL};
    trace_init("tname", 0);
    parse_client_args(2, argv, &a, "[-h] [-v] [HOST [PORT]]", NULL, NULL,
                      NULL);
    cr_expect_str_eq(a.host, "127.0.0.1");
    cr_expect_eq(a.port, 7100);
}

/* ---- real programs ------------------------------------------------------------- */

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

/* Start server NAME with -v (and extra args) on port 0. */
static void start(struct server *srv, const char *name, const char *bind_to)
{
    const char *const plain[] = {"-v", NULL};
    const char *const bound[] = {"-v", "-b", bind_to, NULL};
    need(name);
    cr_assert_eq(server_start(srv, name, bind_to != NULL ? bound : plain,
                              NULL), 0, "%s", harness_error());
}

/* What the ready line says after "listening on ", exactly as printed:
 * "127.0.0.1:40123" or "[::1]:40123", the text a learner copies. */
static const char *ready_address(const struct server *srv)
{
    static const char marker[] = "listening on ";
    cr_assert(strncmp(srv->ready_line, marker, strlen(marker)) == 0,
              "ready line: '%s'", srv->ready_line);
    return srv->ready_line + strlen(marker);
}

static void expect_clean_stop(struct server *srv)
{
    cr_expect_eq(server_stop_clean(srv), 0, "%s", harness_error());
}

/* The path of unshare when `unshare -n` works here (root, or user
 * namespaces allowed), else NULL. Asked once per test process. */
static const char *netns_runner(char *buf, size_t size)
{
    char truth[1024];
    struct run_result r;
    if (find_on_path("unshare", buf, size) == NULL ||
        find_on_path("true", truth, sizeof truth) == NULL)
        return NULL;
    const char *const args[] = {"-n", "--", truth, NULL};
    if (run_program(buf, args, NULL, 0, 5000, &r) < 0)
        return NULL;
    int works = exited_with(&r.exit, 0);
    run_result_free(&r);
    return works ? buf : NULL;
}

/* The guard for the good cases: the programs link this same parser, so
 * before one runs, the parser must read operand as loopback host and the
 * server's port. Should it ever read "7100" as an address again, the test
 * fails here instead of a client sending a SYN to 0.0.27.188. */
static void expect_parsed_as(const char *operand, const char *host,
                             uint16_t port)
{
    struct endpoint_text out;
    char *ops[] = {(char *)operand, NULL};
    cr_assert_eq(client_operands(1, ops, "test", &out), 0, "'%s': %s",
                 operand, out.error);
    cr_assert(strcmp(out.host, host) == 0 && out.port == port,
              "'%s' parses as %s port %u, not %s port %u: not running it",
              operand, out.host, (unsigned)out.port, host, (unsigned)port);
}

/* The second guard, for the program rather than the parser: where a
 * network namespace can be had, run the client first inside an empty one
 * (its loopback down, so nothing can leave it, and the connect fails),
 * and insist that its trace tried where, before running it for real. */
static void expect_dry_run_connects_to(const char *client,
                                       const char *const args[],
                                       const char *where)
{
    char runner[1024], path[1024], line[256];
    const char *sealed[12] = {"-n", "--"};
    struct run_result r;
    int n = 2;
    const char *unshare = netns_runner(runner, sizeof runner);
    if (unshare == NULL)
        return;  /* the parser guard (expect_parsed_as) still holds */
    sealed[n++] = bin_path(client, path, sizeof path);
    for (int i = 0; args[i] != NULL && n < 11; i++)
        sealed[n++] = args[i];
    sealed[n] = NULL;
    cr_assert_eq(run_program(unshare, sealed, NULL, 0, 10000, &r), 0, "%s",
                 harness_error());
    const char *tried = line_with(r.err, "connect(", line, sizeof line);
    cr_assert(tried != NULL && strstr(tried, where) != NULL,
              "%s, in an empty network namespace, did not try %s: not "
              "running it for real; stderr:\n%s", client, where, r.err);
    run_result_free(&r);
}

/* Run client with args and in; it must exit 0 having echoed in exactly,
 * and its trace's connect line must name where (loopback). */
static void run_and_expect_echo(const char *client, const char *const args[],
                                const char *in, size_t len,
                                const char *where)
{
    struct run_result r;
    char how[64], line[256];
    need(client);
    expect_dry_run_connects_to(client, args, where);
    cr_assert_eq(run_program(client, args, in, len, 10000, &r), 0, "%s",
                 harness_error());
    cr_expect(exited_with(&r.exit, 0), "%s %s: %s, not exit 0; stderr: %s",
              client, args[1], describe_exit(&r.exit, how, sizeof how),
              r.err);
    cr_expect_eq(r.out_len, len, "%s %s: %zu bytes came back, not %zu",
                 client, args[1], r.out_len, len);
    if (r.out_len == len)
        cr_expect(memcmp(r.out, in, len) == 0, "%s %s: other bytes came back",
                  client, args[1]);
    if (line_with(r.err, "connect(", line, sizeof line) == NULL)
        cr_expect_fail("%s -v %s: no connect( line in its trace:\n%s", client,
                       args[1], r.err);
    else
        cr_expect(strstr(line, where) != NULL,
                  "%s -v %s: connected elsewhere than %s: %s", client,
                  args[1], where, line);
    run_result_free(&r);
}

static const char tcp_input[] = "hello\n\0binary\377 and no newline";

/* echo-client (or uv-echo-client) against echo-server: operand made by
 * form from the server's port or ready line. */
enum form { BARE_PORT, READY_TEXT };

static void tcp_case(const char *client, enum form form)
{
    struct server srv;
    char operand[80], where[80];
    need(client);
    start(&srv, "echo-server", NULL);
    snprintf(where, sizeof where, "127.0.0.1:%u", (unsigned)srv.port);
    if (form == BARE_PORT)
        snprintf(operand, sizeof operand, "%u", (unsigned)srv.port);
    else
        snprintf(operand, sizeof operand, "%s", ready_address(&srv));
    expect_parsed_as(operand, "127.0.0.1", srv.port);
    const char *const args[] = {"-v", operand, NULL};
    run_and_expect_echo(client, args, tcp_input, sizeof tcp_input - 1, where);
    expect_clean_stop(&srv);
    server_release(&srv);
}

Test(client_args_run, echo_client_takes_a_lone_number_as_the_port)
{
    tcp_case("echo-client", BARE_PORT);
}

Test(client_args_run, echo_client_takes_the_ready_lines_address)
{
    tcp_case("echo-client", READY_TEXT);
}

Test(client_args_run, uv_echo_client_takes_a_lone_number_as_the_port)
{
    tcp_case("uv-echo-client", BARE_PORT);
}

Test(client_args_run, uv_echo_client_takes_the_ready_lines_address)
{
    tcp_case("uv-echo-client", READY_TEXT);
}

Test(client_args_run, echo_client_takes_an_ipv6_ready_lines_address)
{
    struct server srv;
    char where[80], operand[80];
    need("echo-client");
    if (!have_ipv6_loopback())
        cr_skip_test("this machine cannot bind ::1 (no IPv6 loopback)");
    start(&srv, "echo-server", "::1");
    snprintf(where, sizeof where, "[::1]:%u", (unsigned)srv.port);
    snprintf(operand, sizeof operand, "%s", ready_address(&srv));
    cr_expect_str_eq(operand, where, "the ready line of -b ::1");
    expect_parsed_as(operand, "::1", srv.port);
    const char *const args[] = {"-v", operand, NULL};
    run_and_expect_echo("echo-client", args, tcp_input, sizeof tcp_input - 1,
                        where);
    expect_clean_stop(&srv);
    server_release(&srv);
}

static void udp_case(enum form form)
{
    struct server srv;
    char operand[80], where[80];
    static const char lines[] = "one\ntwo\nthree\n";
    need("udp-echo-client");
    start(&srv, "udp-echo-server", NULL);
    snprintf(where, sizeof where, "127.0.0.1:%u", (unsigned)srv.port);
    if (form == BARE_PORT)
        snprintf(operand, sizeof operand, "%u", (unsigned)srv.port);
    else
        snprintf(operand, sizeof operand, "%s", ready_address(&srv));
    expect_parsed_as(operand, "127.0.0.1", srv.port);
    const char *const args[] = {"-v", operand, NULL};
    run_and_expect_echo("udp-echo-client", args, lines, sizeof lines - 1,
                        where);
    expect_clean_stop(&srv);
    server_release(&srv);
}

Test(client_args_run, udp_echo_client_takes_a_lone_number_as_the_port)
{
    udp_case(BARE_PORT);
}

Test(client_args_run, udp_echo_client_takes_the_ready_lines_address)
{
    udp_case(READY_TEXT);
}

/* echo-bench -n 10: ten 64-byte round trips, so the server must report
 * 640 bytes echoed, and the bench ten round trips. */
static void bench_case(enum form form)
{
    struct server srv;
    struct run_result r;
    char operand[80], where[80], how[64], line[256];
    need("echo-bench");
    start(&srv, "echo-server", NULL);
    snprintf(where, sizeof where, "127.0.0.1:%u", (unsigned)srv.port);
    if (form == BARE_PORT)
        snprintf(operand, sizeof operand, "%u", (unsigned)srv.port);
    else
        snprintf(operand, sizeof operand, "%s", ready_address(&srv));
    expect_parsed_as(operand, "127.0.0.1", srv.port);
    const char *const args[] = {"-v", "-n", "10", operand, NULL};
    expect_dry_run_connects_to("echo-bench", args, where);
    cr_assert_eq(run_program("echo-bench", args, NULL, 0, 15000, &r), 0, "%s",
                 harness_error());
    cr_expect(exited_with(&r.exit, 0), "echo-bench %s: %s; stderr: %s",
              operand, describe_exit(&r.exit, how, sizeof how), r.err);
    cr_expect(strstr((const char *)r.out, " 10 round trips ") != NULL,
              "echo-bench %s: %s", operand, r.out);
    if (line_with(r.err, "connect(", line, sizeof line) == NULL)
        cr_expect_fail("echo-bench -v %s: no connect( line:\n%s", operand,
                       r.err);
    else
        cr_expect(strstr(line, where) != NULL, "echo-bench %s: %s", operand,
                  line);
    run_result_free(&r);
    expect_clean_stop(&srv);
    cr_expect(srv.err_text != NULL &&
                  line_with(srv.err_text, "stopped:", line, sizeof line) &&
                  has_number(line, 640),
              "the server did not echo 640 bytes: %s",
              srv.err_text != NULL ? srv.err_text : "(no stderr)");
    server_release(&srv);
}

Test(client_args_run, echo_bench_takes_a_lone_number_as_the_port)
{
    bench_case(BARE_PORT);
}

Test(client_args_run, echo_bench_takes_the_ready_lines_address)
{
    bench_case(READY_TEXT);
}

/* ---- real programs: mistakes stop before any socket ------------------------- */

struct mistake {
    char client[32];
    char op[2][24];
    char named[32];  /* what the one line must quote */
};

ParameterizedTestParameters(client_args_run, a_mistake_exits_64_before_any_socket)
{
    static const char *const clients[] = {"echo-client", "uv-echo-client",
                                          "udp-echo-client", "echo-bench"};
    static const struct mistake kinds[] = {
        {"", {"7100", "7000"}, "'7100'"},
        {"", {"[::1", ""}, "'[::1'"},
        {"", {"127.0.0.1:7000", "7001"}, "'127.0.0.1:7000'"},
    };
    static struct mistake cases[COUNT(clients) * COUNT(kinds)];
    size_t n = 0;
    for (size_t c = 0; c < COUNT(clients); c++)
        for (size_t k = 0; k < COUNT(kinds); k++, n++) {
            cases[n] = kinds[k];
            snprintf(cases[n].client, sizeof cases[n].client, "%s",
                     clients[c]);
        }
    return cr_make_param_array(struct mistake, cases, n);
}

ParameterizedTest(struct mistake *m, client_args_run,
                  a_mistake_exits_64_before_any_socket)
{
    struct endpoint_text out;
    struct run_result r;
    char runner[1024], path[1024], head[48], how[64];
    char *ops[] = {m->op[0], m->op[1], NULL};
    int count = m->op[1][0] != '\0' ? 2 : 1;
    need(m->client);

    /* The guard: the programs link this same parser; if it would let the
     * operands through, stop here rather than let a program connect to
     * what getaddrinfo makes of them. */
    cr_assert_eq(client_operands(count, ops, m->client, &out), -1,
                 "the parser accepts '%s' '%s' (host %s): not running %s",
                 m->op[0], m->op[1], out.host, m->client);

    const char *args[8];
    int a = 0;
    const char *unshare = netns_runner(runner, sizeof runner);
    if (unshare != NULL) {
        args[a++] = "-n";
        args[a++] = "--";
        args[a++] = bin_path(m->client, path, sizeof path);
    }
    args[a++] = "-v";
    args[a++] = m->op[0];
    if (count == 2)
        args[a++] = m->op[1];
    args[a] = NULL;
    cr_assert_eq(run_program(unshare != NULL ? unshare : m->client, args,
                             "x\n", 2, 5000, &r), 0, "%s", harness_error());

    cr_expect(exited_with(&r.exit, EX_USAGE), "%s '%s' '%s': %s, not exit 64;"
              " stderr: %s", m->client, m->op[0], m->op[1],
              describe_exit(&r.exit, how, sizeof how), r.err);
    snprintf(head, sizeof head, "%s: ", m->client);
    cr_expect(strncmp(r.err, head, strlen(head)) == 0 &&
                  count_lines(r.err) == 1 && strstr(r.err, m->named) != NULL,
              "%s '%s' '%s': want one line '%s...' naming %s, got:\n%s",
              m->client, m->op[0], m->op[1], head, m->named, r.err);
    cr_expect(strstr(r.err, "socket(") == NULL && strstr(r.err, "uv_tcp_init")
                  == NULL && strstr(r.err, "uv_udp_init") == NULL,
              "%s '%s' '%s' made a socket:\n%s", m->client, m->op[0],
              m->op[1], r.err);
    cr_expect_eq(r.out_len, 0, "%s printed on stdout: %s", m->client, r.out);
    run_result_free(&r);
}

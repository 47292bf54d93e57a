/* test_cli.c - common/cli.c: the shared command lines and parse_long_in.
 *
 * getopt keeps its state in globals (optind, ...); each Criterion test is
 * a fresh process, so every test parses exactly one command line. The
 * messages of the real programs are checked against the binaries in
 * test_servers.c; here the parser is driven directly.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "harness.h"
#include "trace.h"

TestSuite(cli, .timeout = 10, .fini = harness_cleanup);

static const char server_usage[] = "[-h] [-v] [-b ADDR] [PORT]";
static const char client_usage[] = "[-h] [-v] [HOST [PORT]]";

static int count_args(char **argv)
{
    int n = 0;
    while (argv[n] != NULL)
        n++;
    return n;
}

static void server_args(char **argv, struct endpoint_args *a)
{
    trace_init("tname", 0);
    parse_server_args(count_args(argv), argv, a, server_usage, NULL, NULL,
                      NULL);
}

static void client_args(char **argv, struct endpoint_args *a)
{
    trace_init("tname", 0);
    parse_client_args(count_args(argv), argv, a, client_usage, NULL, NULL,
                      NULL);
}

/* ---- servers: good command lines ------------------------------------------- */

Test(cli, server_defaults)
{
    struct endpoint_args a;
    server_args((char *[]){"prog", NULL}, &a);
    cr_expect_str_eq(a.host, "127.0.0.1");
    cr_expect_eq(a.port, 7000);
    cr_expect_eq(a.verbose, 0);
    cr_expect_eq(trace_enabled(), 0);
    cr_expect_str_eq(program_name(), "tname");
}

Test(cli, server_verbose_bind_and_port)
{
    struct endpoint_args a;
    server_args((char *[]){"prog", "-v", "-b", "::1", "8080", NULL}, &a);
    cr_expect_str_eq(a.host, "::1");
    cr_expect_eq(a.port, 8080);
    cr_expect_eq(a.verbose, 1);
    cr_expect_eq(trace_enabled(), 1, "-v must switch the trace on");
}

Test(cli, server_port_0_and_grouped_flags)
{
    struct endpoint_args a;
    server_args((char *[]){"prog", "-vb0.0.0.0", "0", NULL}, &a);
    cr_expect_str_eq(a.host, "0.0.0.0");
    cr_expect_eq(a.port, 0);
    cr_expect_eq(a.verbose, 1);
}

Test(cli, server_double_dash_ends_options)
{
    struct endpoint_args a;
    server_args((char *[]){"prog", "--", "65535", NULL}, &a);
    cr_expect_eq(a.port, 65535);
}

/* ---- clients: good command lines ------------------------------------------- */

Test(cli, client_defaults)
{
    struct endpoint_args a;
    client_args((char *[]){"prog", NULL}, &a);
    cr_expect_str_eq(a.host, "127.0.0.1");
    cr_expect_eq(a.port, 7000);
    cr_expect_eq(a.verbose, 0);
}

Test(cli, client_host_only)
{
    struct endpoint_args a;
    client_args((char *[]){"prog", "localhost", NULL}, &a);
    cr_expect_str_eq(a.host, "localhost");
    cr_expect_eq(a.port, 7000);
}

Test(cli, client_verbose_host_and_port)
{
    struct endpoint_args a;
    client_args((char *[]){"prog", "-v", "::1", "9", NULL}, &a);
    cr_expect_str_eq(a.host, "::1");
    cr_expect_eq(a.port, 9);
    cr_expect_eq(a.verbose, 1);
    cr_expect_eq(trace_enabled(), 1);
}

/* ---- a program's own options (extra + on_option) ----------------------------- */

struct seen {
    int letter;
    char value[32];
    int calls;
};

static const char *take_count(int letter, const char *arg, void *ctx)
{
    struct seen *s = ctx;
    long n;
    s->letter = letter;
    snprintf(s->value, sizeof s->value, "%s", arg);
    s->calls++;
    return parse_long_in(arg, 1, 4096, &n) == 0 ? NULL
                                                : "a number from 1 to 4096";
}

Test(cli, extra_options_reach_on_option)
{
    struct endpoint_args a;
    struct seen s = {0, "", 0};
    char *argv[] = {"prog", "-c", "50", "127.0.0.1", "1234", NULL};
    trace_init("tname", 0);
    parse_client_args(5, argv, &a, client_usage, "c:", take_count, &s);
    cr_expect_eq(s.calls, 1);
    cr_expect_eq(s.letter, 'c');
    cr_expect_str_eq(s.value, "50");
    cr_expect_eq(a.port, 1234);
}

Test(cli, extra_option_with_a_bad_value_exits_64, .exit_code = EX_USAGE)
{
    struct endpoint_args a;
    struct seen s = {0, "", 0};
    char *argv[] = {"prog", "-c", "0", NULL};
    quiet_stderr();
    trace_init("tname", 0);
    parse_server_args(3, argv, &a, server_usage, "c:", take_count, &s);
    cr_assert_fail("a bad -c value was accepted");
}

/* ---- bad command lines: exit 64 ---------------------------------------------- */

struct bad_line {
    int server;       /* 1: parse_server_args, 0: parse_client_args */
    int argc;
    char argv[4][24];  /* no pointers: Criterion copies parameters */
};

ParameterizedTestParameters(cli, bad_command_line_exits_64)
{
    static struct bad_line lines[] = {
        {1, 2, {"prog", "abc"}},
        {1, 2, {"prog", "70000"}},
        {1, 2, {"prog", "-1"}},
        {1, 2, {"prog", "7000x"}},
        {1, 2, {"prog", ""}},
        {1, 3, {"prog", "-b", ""}},
        {1, 2, {"prog", "-b"}},
        {1, 3, {"prog", "7000", "extra"}},
        {1, 2, {"prog", "-z"}},
        {0, 2, {"prog", ""}},
        {0, 3, {"prog", "localhost", "abc"}},
        {0, 3, {"prog", "localhost", "65536"}},
        {0, 4, {"prog", "localhost", "7000", "extra"}},
        {0, 3, {"prog", "-b", "127.0.0.1"}},
        {0, 2, {"prog", "-z"}},
    };
    return cr_make_param_array(struct bad_line, lines,
                               sizeof lines / sizeof lines[0]);
}

ParameterizedTest(struct bad_line *line, cli, bad_command_line_exits_64,
                  .exit_code = EX_USAGE)
{
    char *argv[5];
    struct endpoint_args a;
    for (int i = 0; i < line->argc; i++)
        argv[i] = line->argv[i];
    argv[line->argc] = NULL;
    quiet_stderr();
    trace_init("tname", 0);
    if (line->server)
        parse_server_args(line->argc, argv, &a, server_usage, NULL, NULL,
                          NULL);
    else
        parse_client_args(line->argc, argv, &a, client_usage, NULL, NULL,
                          NULL);
    cr_assert_fail("%s accepted '%s %s %s'",
                   line->server ? "parse_server_args" : "parse_client_args",
                   line->argv[1], line->argv[2], line->argv[3]);
}

/* ---- -h, and the message of a bad value -------------------------------------- */

struct parse_run {
    int out_fd, err_fd;
    char *arg;
};

/* In a child: stdout and stderr to the files given, then parse. */
static int parse_in_child(void *p)
{
    struct parse_run *run = p;
    struct endpoint_args a;
    char *argv[] = {"prog", run->arg, NULL};
    dup2(run->out_fd, STDOUT_FILENO);
    dup2(run->err_fd, STDERR_FILENO);
    trace_init("tname", 0);
    parse_server_args(2, argv, &a, server_usage, NULL, NULL, NULL);
    return 99;  /* parsed: neither usage nor an error */
}

static int temp_file(void)
{
    char name[] = "/tmp/socklab-test-cli-XXXXXX";
    int fd = mkstemp(name);
    cr_assert_geq(fd, 0);
    unlink(name);
    return fd;
}

static const char *file_contents(int fd, char *buf, size_t size)
{
    ssize_t n = pread(fd, buf, size - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return drop_sanitizer_lines(buf);
}

static int run_parse(char *arg, char *out, char *err, size_t size)
{
    struct parse_run run = {temp_file(), temp_file(), arg};
    pid_t pid = child_run(parse_in_child, &run);
    cr_assert_gt(pid, 0);
    struct exit_info how;
    cr_assert_eq(child_wait(pid, 5000, &how), 0, "%s", harness_error());
    file_contents(run.out_fd, out, size);
    file_contents(run.err_fd, err, size);
    close(run.out_fd);
    close(run.err_fd);
    return how.exited ? how.code : -1;
}

Test(cli, dash_h_prints_usage_on_stdout_and_exits_0)
{
    char out[512], err[512];
    int code = run_parse("-h", out, err, sizeof out);
    cr_expect_eq(code, 0);
    cr_expect_str_eq(out, "usage: tname [-h] [-v] [-b ADDR] [PORT]\n");
    cr_expect_str_eq(err, "");
}

Test(cli, a_bad_port_is_named_in_one_line)
{
    char out[512], err[512];
    int code = run_parse("7000x", out, err, sizeof out);
    cr_expect_eq(code, EX_USAGE);
    cr_expect_str_eq(out, "");
    cr_expect_str_eq(err, "tname: bad port '7000x': expected a number from "
                          "0 to 65535\n");
}

Test(cli, an_unknown_option_is_named_in_one_line)
{
    char out[512], err[512];
    int code = run_parse("-z", out, err, sizeof out);
    cr_expect_eq(code, EX_USAGE);
    cr_expect(strstr(err, "tname: ") == err && strstr(err, "-z") != NULL &&
              count_lines(err) == 1, "'%s'", err);
}

/* ---- parse_long_in ------------------------------------------------------------- */

Test(cli, parse_long_in_accepts_whole_numbers_in_range)
{
    long v = -7;
    cr_expect_eq(parse_long_in("5", 1, 10, &v), 0);
    cr_expect_eq(v, 5);
    cr_expect_eq(parse_long_in("1", 1, 10, &v), 0, "min is allowed");
    cr_expect_eq(v, 1);
    cr_expect_eq(parse_long_in("10", 1, 10, &v), 0, "max is allowed");
    cr_expect_eq(v, 10);
    cr_expect_eq(parse_long_in("007", 0, 10, &v), 0);
    cr_expect_eq(v, 7);
    cr_expect_eq(parse_long_in("0", -5, 5, &v), 0);
    cr_expect_eq(v, 0);
    cr_expect_eq(parse_long_in("9223372036854775807", 0, LONG_MAX, &v), 0);
    cr_expect_eq(v, LONG_MAX);
}

Test(cli, parse_long_in_refuses_junk_and_out_of_range)
{
    static const struct {
        const char *text;
        long min, max;
    } bad[] = {
        {"0", 1, 10},   {"11", 1, 10},  {"100", 1, 10},
        {"", 0, 10},    {"-1", -5, 5},  {"+1", 0, 10},
        {" 1", 0, 10},  {"1 ", 0, 10},  {"1x", 0, 10},
        {"x1", 0, 10},  {"99999999999999999999", 0, LONG_MAX},
        {"9223372036854775808", 0, LONG_MAX},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long v = -7;
        cr_expect_eq(parse_long_in(bad[i].text, bad[i].min, bad[i].max, &v),
                     -1, "'%s' accepted for [%ld, %ld]", bad[i].text,
                     bad[i].min, bad[i].max);
        cr_expect_eq(v, -7, "'%s' changed the value on failure", bad[i].text);
    }
    long v;
    cr_expect_eq(parse_long_in(NULL, 0, 10, &v), -1);
}

/* KNOWN BUG (common/cli.c parse_long_in): the overflow test
 * `v > (max - digit) / 10` truncates toward zero when max < digit, so a
 * one-digit number above a max below 9 passes, and nothing checks v > max
 * afterwards: parse_long_in("7", 0, 5) returns 0 with 7. Fix: also refuse
 * v > max after the loop. */
Test(cli, parse_long_in_respects_a_max_below_9)
{
    long v = -7;
    cr_expect_eq(parse_long_in("7", 0, 5, &v), -1,
                 "'7' accepted for [0, 5] (value %ld)", v);
    v = -7;
    cr_expect_eq(parse_long_in("9", 1, 8, &v), -1,
                 "'9' accepted for [1, 8] (value %ld)", v);
    cr_expect_eq(parse_long_in("5", 0, 5, &v), 0);
    cr_expect_eq(v, 5);
}

/* test_bench.c - the load generator (bin/echo-bench) and make bench's chart.
 *
 * echo-bench must tell the truth about what happened: a hard deadline
 * against a server that accepts and never answers, the offset of the first
 * byte that came back different, a server that closed mid-message, and
 * figures a script can read (-o csv, -o json). -m idle holds 200 idle
 * connections (never 10,000 here: make bench does that) on the poll and
 * epoll servers, and must say so when a server stops accepting, when the
 * hard descriptor limit is too low, and when the new client gets no echo.
 * make bench's SVGs are checked as data, not as pictures, on CSV fixtures
 * (no bench is run): well-formed XML with exactly one bar per server and
 * workload, and one series per server in the idle-clients chart.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#ifndef SOCKLAB_ROOT
#error "SOCKLAB_ROOT must name the checkout (the Makefile defines it)"
#endif

TestSuite(bench, .timeout = 60, .fini = harness_cleanup);
TestSuite(bench_chart, .timeout = 30, .fini = harness_cleanup);

/* ---- fake servers ----------------------------------------------------------
 * Each runs in a child (child_run) on a listening socket made here, and
 * plays one way a server can let a client down. */

enum fake { SILENT, FLIPS_BYTE_10, CLOSES_AFTER_30 };

struct fake_server {
    int listen_fd;
    enum fake how;
};

static int run_fake(void *arg)
{
    const struct fake_server *f = arg;
    unsigned char buf[4096];
    int kept[64];
    size_t n_kept = 0;
    for (;;) {
        int fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0)
            return 1;
        if (f->how == SILENT) {
            /* Accept, keep the connection open, never read a byte. */
            if (n_kept < sizeof kept / sizeof kept[0])
                kept[n_kept++] = fd;
            continue;
        }
        if (f->how == CLOSES_AFTER_30) {
            /* Take the whole first message (so that the close is a FIN,
             * not a reset for unread bytes), echo 30 bytes of it, close. */
            size_t got = 0;
            ssize_t n;
            while (got < 64 && (n = read(fd, buf + got, 64 - got)) > 0)
                got += (size_t)n;
            if (write(fd, buf, 30) != 30)
                return 1;
            close(fd);
            continue;
        }
        size_t at = 0;  /* stream offset of buf[0] */
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
            if (at <= 10 && at + (size_t)n > 10)
                buf[10 - at] ^= 0x20;
            if (write(fd, buf, (size_t)n) != n)
                break;
            at += (size_t)n;
        }
        close(fd);
    }
}

static pid_t start_fake(enum fake how, uint16_t *port)
{
    static struct fake_server f;
    f.listen_fd = tcp_listen("127.0.0.1", port);
    cr_assert_geq(f.listen_fd, 0, "tcp_listen: %s", harness_error());
    f.how = how;
    pid_t pid = child_run(run_fake, &f);
    cr_assert_gt(pid, 0, "child_run: %s", harness_error());
    close(f.listen_fd);
    return pid;
}

static void stop_fake(pid_t pid)
{
    struct exit_info how;
    kill(pid, SIGKILL);
    child_wait(pid, 5000, &how);
}

/* echo-bench ARGS... PORT; r filled; the time it took in *ms. */
static void bench_run(const char *const args[], uint16_t port,
                      struct run_result *r, long long *ms)
{
    const char *argv[24];
    char p[16];
    size_t n = 0;
    snprintf(p, sizeof p, "%u", (unsigned)port);
    for (; args[n] != NULL; n++)
        argv[n] = args[n];
    argv[n++] = p;
    argv[n] = NULL;
    long long t0 = now_ms();
    cr_assert_eq(run_program("echo-bench", argv, NULL, 0, 20000, r), 0, "%s",
                 harness_error());
    *ms = now_ms() - t0;
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void need(const char *name)
{
    if (!bin_exists(name))
        cr_skip_test("%s is not built", name);
}

/* ---- the deadline ------------------------------------------------------- */

/* The old generator, against such a server, ran until it was killed (and
 * -m connect -d 2 took 9.8 s). */
static void silent_server_case(const char *const args[], const char *mode)
{
    struct run_result r;
    char how[64];
    long long ms;
    uint16_t port;
    need("echo-bench");
    pid_t fake = start_fake(SILENT, &port);
    bench_run(args, port, &r, &ms);
    stop_fake(fake);
    cr_expect(exited_with(&r.exit, 69), "%s -d 2 against a silent server: "
              "%s, not exit 69; stderr: %s", mode,
              describe_exit(&r.exit, how, sizeof how), r.err);
    cr_expect(ms >= 1900 && ms <= 4000, "%s -d 2 took %lld ms", mode, ms);
    cr_expect(strstr(r.err, "nothing came back in 2 s") != NULL,
              "%s: the message does not say what happened: %s", mode, r.err);
    run_result_free(&r);
}

Test(bench, pingpong_ends_at_its_deadline_against_a_server_that_never_answers)
{
    silent_server_case(ARGS("-c", "5", "-d", "2"), "pingpong");
}

Test(bench, pump_ends_at_its_deadline_against_a_server_that_never_answers)
{
    silent_server_case(ARGS("-m", "pump", "-d", "2"), "pump");
}

Test(bench, connect_ends_at_its_deadline_against_a_server_that_never_answers)
{
    silent_server_case(ARGS("-m", "connect", "-c", "3", "-d", "2"),
                       "connect");
}

/* ---- what came back ----------------------------------------------------- */

Test(bench, an_echo_that_differs_is_reported_with_its_offset)
{
    struct run_result r;
    char how[64];
    long long ms;
    uint16_t port;
    need("echo-bench");
    pid_t fake = start_fake(FLIPS_BYTE_10, &port);
    bench_run(ARGS("-n", "5", "-d", "5"), port, &r, &ms);
    stop_fake(fake);
    cr_expect(exited_with(&r.exit, 74), "%s; stderr: %s",
              describe_exit(&r.exit, how, sizeof how), r.err);
    cr_expect(strstr(r.err, "echo differs at byte 10 ") != NULL, "%s",
              r.err);
    cr_expect(strstr((const char *)r.out, " 1 mismatches") != NULL,
              "one byte differed: %s", r.out);
    run_result_free(&r);
}

Test(bench, a_server_that_closes_mid_message_is_named_so)
{
    struct run_result r;
    char how[64];
    long long ms;
    uint16_t port;
    need("echo-bench");
    pid_t fake = start_fake(CLOSES_AFTER_30, &port);
    bench_run(ARGS("-n", "5", "-d", "5"), port, &r, &ms);
    stop_fake(fake);
    cr_expect(exited_with(&r.exit, 74), "%s; stderr: %s",
              describe_exit(&r.exit, how, sizeof how), r.err);
    cr_expect(strstr(r.err, "server closed after 30 of 64 bytes") != NULL,
              "%s", r.err);
    run_result_free(&r);
}

/* A field of a CSV row by its header's name. */
static int csv_field(const char *text, const char *name, char *out,
                     size_t size)
{
    const char *nl = strchr(text, '\n');
    if (nl == NULL)
        return 0;
    const char *h = text, *v = nl + 1;
    while (h < nl && *v != '\0' && *v != '\n') {
        size_t hl = strcspn(h, ",\n"), vl = strcspn(v, ",\n");
        if (hl == strlen(name) && strncmp(h, name, hl) == 0) {
            snprintf(out, size, "%.*s", (int)vl, v);
            return 1;
        }
        h += hl + 1;
        v += vl + (v[vl] == ',');
    }
    return 0;
}

Test(bench, csv_gives_every_mode_its_figures_and_the_servers_cpu)
{
    static const char *const modes[] = {"pingpong", "pump", "connect"};
    struct server srv;
    char pid[16], port[16], v[64], how[64];
    need("echo-bench");
    need("echo-server-poll");
    cr_assert_eq(server_start(&srv, "echo-server-poll", NULL, NULL), 0, "%s",
                 harness_error());
    snprintf(pid, sizeof pid, "%ld", (long)srv.pid);
    snprintf(port, sizeof port, "%u", (unsigned)srv.port);
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        struct run_result r;
        const char *const args[] = {"-o", "csv", "-m", modes[i], "-c", "4",
                                    "-n", "200", "-d", "10", "-p", pid,
                                    port, NULL};
        cr_assert_eq(run_program("echo-bench", args, NULL, 0, 20000, &r), 0,
                     "%s", harness_error());
        cr_expect(exited_with(&r.exit, 0), "%s: %s; %s", modes[i],
                  describe_exit(&r.exit, how, sizeof how), r.err);
        const char *out = (const char *)r.out;
        cr_expect_eq(count_lines(out), 2, "%s: not a header and a row: %s",
                     modes[i], out);
        cr_expect(csv_field(out, "mode", v, sizeof v) &&
                      strcmp(v, modes[i]) == 0, "%s: mode %s", modes[i], v);
        cr_expect(csv_field(out, "count", v, sizeof v) &&
                      strcmp(v, "800") == 0,
                  "%s: 4 clients x 200 should count 800, not %s", modes[i],
                  v);
        cr_expect(csv_field(out, "mismatches", v, sizeof v) &&
                      strcmp(v, "0") == 0, "%s: mismatches %s", modes[i], v);
        cr_expect(csv_field(out, "server_cpu_s", v, sizeof v) &&
                      atof(v) >= 0, "%s: server CPU '%s'", modes[i], v);
        run_result_free(&r);
    }
    server_release(&srv);
}

Test(bench, json_is_one_line_for_each_reference_mode)
{
    static const char *const refs[] = {"ref-socketpair", "ref-fork",
                                       "ref-stream"};
    need("echo-bench");
    for (size_t i = 0; i < sizeof refs / sizeof *refs; i++) {
        struct run_result r;
        char how[64];
        const char *const args[] = {"-o", "json", "-m", refs[i], "-n", "50",
                                    NULL};
        cr_assert_eq(run_program("echo-bench", args, NULL, 0, 20000, &r), 0,
                     "%s", harness_error());
        cr_expect(exited_with(&r.exit, 0), "%s: %s; %s", refs[i],
                  describe_exit(&r.exit, how, sizeof how), r.err);
        const char *out = (const char *)r.out;
        cr_expect(count_lines(out) == 1 && out[0] == '{' &&
                      strstr(out, "\"count\":50,") != NULL,
                  "%s: %s", refs[i], out);
        run_result_free(&r);
    }
}

Test(bench, bad_values_are_refused_with_what_would_work)
{
    static const struct { const char *flag, *value, *says; } bad[] = {
        {"-m", "ping", "pingpong, pump, connect"},
        {"-c", "5000", "from 1 to 1000 (up to 65536 with -m idle)"},
        {"-c", "70000", "from 1 to 1000 (up to 65536 with -m idle)"},
        {"-o", "xml", "text, csv or json"},
        {"-s", "70000", "from 1 to 65536"},
        {"-d", "0", "from 1 to 3600"},
        {"-p", "x", "the pid of a running server"},
    };
    need("echo-bench");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct run_result r;
        char how[64];
        const char *const args[] = {bad[i].flag, bad[i].value, NULL};
        cr_assert_eq(run_program("echo-bench", args, NULL, 0, 10000, &r), 0,
                     "%s", harness_error());
        cr_expect(exited_with(&r.exit, 64), "%s %s: %s", bad[i].flag,
                  bad[i].value, describe_exit(&r.exit, how, sizeof how));
        cr_expect(strstr(r.err, bad[i].says) != NULL, "%s %s: %s",
                  bad[i].flag, bad[i].value, r.err);
        run_result_free(&r);
    }
}

/* ---- idle clients ------------------------------------------------------- */

/* echo-bench -m idle -o csv ARGS... PORT against srv, checked to exit with
 * code; the output in r (freed by the caller). */
static void idle_run(const char *const args[], uint16_t port, int code,
                     struct run_result *r)
{
    char how[64];
    long long ms;
    bench_run(args, port, r, &ms);
    cr_assert(exited_with(&r->exit, code), "echo-bench %s: %s, not exit %d; "
              "stderr: %s", args[0], describe_exit(&r->exit, how, sizeof how),
              code, r->err);
}

static double field_num(const char *out, const char *name)
{
    char v[64];
    cr_assert(csv_field(out, name, v, sizeof v), "no column %s in: %s", name,
              out);
    return atof(v);
}

/* 200 idle connections held, a new client timed, the server's memory and
 * CPU read; then every connection closed: the server, which closes its
 * side when it reads end of file, is back to the descriptors it had. */
static void idle_case(const char *name)
{
    struct server srv;
    struct run_result r;
    char pid[16];
    need("echo-bench");
    need(name);
    const char *const cap[] = {"-c", "201", NULL};
    cr_assert_eq(server_start(&srv, name, cap, NULL), 0, "%s",
                 harness_error());
    snprintf(pid, sizeof pid, "%ld", (long)srv.pid);
    int fds0 = count_open_fds(srv.pid);
    cr_assert_gt(fds0, 0, "no /proc/%s/fd", pid);
    idle_run(ARGS("-m", "idle", "-c", "200", "-n", "300", "-o", "csv", "-d",
                  "20", "-p", pid), srv.port, 0, &r);
    const char *out = (const char *)r.out;
    cr_expect_eq(count_lines(out), 2, "%s: not a header and a row: %s", name,
                 out);
    cr_expect_eq(field_num(out, "held"), 200, "%s: %s", name, out);
    cr_expect_eq(field_num(out, "count"), 300, "%s: %s", name, out);
    cr_expect_eq(field_num(out, "mismatches"), 0, "%s: %s", name, out);
    double p50 = field_num(out, "p50_us"), p99 = field_num(out, "p99_us");
    double max = field_num(out, "max_us");
    cr_expect(p50 > 0 && p50 <= p99 && p99 <= max && max < 20e6,
              "%s: latency p50 %.1f, p99 %.1f, max %.1f us", name, p50, p99,
              max);
    cr_expect(field_num(out, "first_echo_us") > 0, "%s: %s", name, out);
    cr_expect(field_num(out, "open_s") > 0, "%s: %s", name, out);
    double rss = field_num(out, "rss_kb");
    cr_expect(rss > 100 && rss < 64 * 1024, "%s: RSS %.0f KB", name, rss);
    cr_expect(field_num(out, "rss_start_kb") > 0, "%s: %s", name, out);
    cr_expect_eq(field_num(out, "server_procs"), 1, "%s: %s", name, out);
    cr_expect_eq(field_num(out, "server_threads"), 1, "%s: %s", name, out);
    double idle = field_num(out, "idle_cpu_pct");
    cr_expect(idle >= 0 && idle <= 100, "%s: idle CPU %.1f %%", name, idle);
    run_result_free(&r);

    /* Bounded wait for the server to see the 201 ends of file. */
    int fds = count_open_fds(srv.pid);
    for (long long end = now_ms() + 5000; fds > fds0 && now_ms() < end;
         fds = count_open_fds(srv.pid))
        nap_ms(20);
    cr_expect_eq(fds, fds0, "%s holds %d descriptors after echo-bench ended, "
                 "%d before: a connection was left open", name, fds, fds0);
    cr_expect_eq(server_stop_clean(&srv), 0, "%s", harness_error());
    server_release(&srv);
}

Test(bench, idle_holds_200_clients_on_the_poll_server_and_closes_them)
{
    idle_case("echo-server-poll");
}

Test(bench, idle_holds_200_clients_on_the_epoll_server_and_closes_them)
{
    idle_case("echo-server-epoll");
}

Test(bench, idle_says_how_many_were_open_when_the_server_stops_accepting)
{
    struct server srv;
    struct run_result r;
    long long ms;
    char how[64];
    need("echo-bench");
    need("echo-server-poll");
    const char *const cap[] = {"-c", "50", NULL};
    cr_assert_eq(server_start(&srv, "echo-server-poll", cap, NULL), 0, "%s",
                 harness_error());
    bench_run(ARGS("-m", "idle", "-c", "200", "-d", "3"), srv.port, &r, &ms);
    cr_expect(exited_with(&r.exit, 69), "%s; stderr: %s",
              describe_exit(&r.exit, how, sizeof how), r.err);
    cr_expect(ms >= 2900 && ms <= 6000, "-d 3 took %lld ms", ms);
    cr_expect(strstr(r.err, "50 of 200 idle connections open after 3 s") !=
                  NULL && strstr(r.err, "-c cap") != NULL,
              "the message does not give the count and the cap: %s", r.err);
    run_result_free(&r);
    server_release(&srv);
}

Test(bench, idle_ends_at_its_deadline_against_a_server_that_never_answers)
{
    struct run_result r;
    char how[64];
    long long ms;
    uint16_t port;
    need("echo-bench");
    pid_t fake = start_fake(SILENT, &port);
    bench_run(ARGS("-m", "idle", "-c", "20", "-d", "2"), port, &r, &ms);
    stop_fake(fake);
    cr_expect(exited_with(&r.exit, 69), "%s; stderr: %s",
              describe_exit(&r.exit, how, sizeof how), r.err);
    cr_expect(ms >= 1900 && ms <= 4000, "-d 2 took %lld ms", ms);
    cr_expect(strstr(r.err, "0 of 20 idle connections open after 2 s") !=
                  NULL, "%s", r.err);
    run_result_free(&r);
}

/* The iterative server serves the one idle client and nobody else: the new
 * client's echo never comes, and -d ends the wait with a reason. */
Test(bench, idle_against_the_iterative_server_says_why_no_echo_came)
{
    struct server srv;
    struct run_result r;
    long long ms;
    char how[64];
    need("echo-bench");
    need("echo-server");
    cr_assert_eq(server_start(&srv, "echo-server", NULL, NULL), 0, "%s",
                 harness_error());
    bench_run(ARGS("-m", "idle", "-c", "1", "-d", "2"), srv.port, &r, &ms);
    cr_expect(exited_with(&r.exit, 69), "%s; stderr: %s",
              describe_exit(&r.exit, how, sizeof how), r.err);
    cr_expect(ms >= 1900 && ms <= 4000, "-d 2 took %lld ms", ms);
    cr_expect(strstr(r.err, "no echo in 2 s while 1 idle connections were "
                            "held") != NULL &&
                  strstr(r.err, "one that serves a client at a time") != NULL,
              "%s", r.err);
    run_result_free(&r);
    server_release(&srv);
}

/* The hard limit is lowered in this test's own process (each Criterion
 * test is a process of its own), so echo-bench inherits it. */
Test(bench, idle_refuses_clearly_when_the_hard_descriptor_limit_is_too_low)
{
    struct run_result r;
    uint16_t port;
    need("echo-bench");
    cr_assert_eq(free_port("127.0.0.1", &port), 0, "%s", harness_error());
    struct rlimit lim = {100, 100};
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &lim), 0, "setrlimit");
    idle_run(ARGS("-m", "idle", "-c", "200", "-d", "5"), port, 71, &r);
    cr_expect(count_lines(r.err) == 1 &&
                  strstr(r.err, "-c 200 needs 232 descriptors, over the hard "
                                "limit RLIMIT_NOFILE of 100") != NULL &&
                  strstr(r.err, "use -c 68 or fewer") != NULL,
              "not one line with the limit and what would work: %s", r.err);
    run_result_free(&r);
}

Test(bench, idle_raises_its_soft_descriptor_limit_and_says_so)
{
    struct server srv;
    struct run_result r;
    need("echo-bench");
    need("echo-server-epoll");
    const char *const cap[] = {"-c", "201", NULL};
    cr_assert_eq(server_start(&srv, "echo-server-epoll", cap, NULL), 0, "%s",
                 harness_error());
    struct rlimit lim;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &lim), 0);
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < 1024)
        cr_skip_test("the hard descriptor limit is under 1024 here");
    lim.rlim_cur = 64;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &lim), 0, "setrlimit");
    idle_run(ARGS("-m", "idle", "-c", "200", "-n", "50", "-d", "20"),
             srv.port, 0, &r);
    cr_expect(strstr(r.err, "raised the descriptor limit (RLIMIT_NOFILE, "
                            "soft) from 64 to 232") != NULL, "%s", r.err);
    cr_expect(strstr((const char *)r.out, "200 of 200 connections held") !=
                  NULL, "%s", r.out);
    run_result_free(&r);
    server_release(&srv);
}

/* ---- the chart ---------------------------------------------------------- */

/* What make bench writes to build/bench/bench.csv, with a server name a
 * careless chart would break the XML with. */
static const char fixture[] =
    "server,workload,unit,rate,ratio,p50_us,p99_us,server_cpu_us_per,"
    "rounds,mismatches\n"
    "reference,socketpair,rt/s,50000.0,,18.0,50.0,,3,0\n"
    "reference,fork,fork/s,4000.0,,230.0,700.0,,3,0\n"
    "reference,stream,MB/s,2700.0,,0.0,0.0,,3,0\n"
    "echo-server,pingpong-1,rt/s,30000.0,1.00,30.0,60.0,15.0,3,0\n"
    "echo-server,pingpong-50,rt/s,29000.0,0.45,25.0,900.0,13.0,3,0\n"
    "echo-server,pump,MB/s,1000.0,0.90,0.0,0.0,600.0,3,0\n"
    "echo-server,connect,conn/s,9000.0,1.50,60.0,200.0,50.0,3,0\n"
    "echo-server-poll,pingpong-1,rt/s,30000.0,1.00,30.0,60.0,15.0,3,0\n"
    "echo-server-poll,pingpong-50,rt/s,65000.0,1.00,700.0,1500.0,12.0,3,0\n"
    "echo-server-poll,pump,MB/s,1100.0,1.00,0.0,0.0,600.0,3,0\n"
    "echo-server-poll,connect,conn/s,6000.0,1.00,90.0,400.0,70.0,3,0\n"
    "uv-pingpong,pingpong-50,rt/s,66000.0,,0.0,0.0,,3,0\n"
    "a<b&c,pingpong-1,rt/s,1.0,0.00,1.0,1.0,1.0,3,0\n";

static char scratch[] = "/tmp/socklab-bench-test.XXXXXX";

static void scratch_init(void)
{
    cr_assert_not_null(mkdtemp(scratch), "mkdtemp");
}

static void scratch_fini(void)
{
    char path[128];
    static const char *const names[] = {"bench.csv", "bench.svg", "raw.csv",
                                        "pairs.csv", "table.csv", "idle.csv",
                                        "idle.svg"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", scratch, names[i]);
        unlink(path);
    }
    rmdir(scratch);
    harness_cleanup();
}

/* The value of attribute name="..." in the tag at tag, raw (entities
 * left as they are), into out; 1 when found. */
static int attr(const char *tag, const char *name, char *out, size_t size)
{
    const char *end = strchr(tag, '>');
    char key[64];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *p = strstr(tag, key);
    if (p == NULL || end == NULL || p > end)
        return 0;
    p += strlen(key);
    size_t n = strcspn(p, "\"");
    snprintf(out, size, "%.*s", (int)n, p);
    return 1;
}

static int count_bars(const char *svg, const char *server,
                      const char *workload)
{
    int n = 0;
    char s[128], w[64];
    for (const char *p = svg; (p = strstr(p, "<rect class=\"bar\"")) != NULL;
         p++) {
        if (attr(p, "data-server", s, sizeof s) &&
            attr(p, "data-workload", w, sizeof w) &&
            (server == NULL || strcmp(s, server) == 0) &&
            (workload == NULL || strcmp(w, workload) == 0))
            n++;
    }
    return n;
}

/* Write csv_text to SCRATCH/NAME.csv, have bench.sh MODE draw it into
 * SCRATCH/NAME.svg, and return the chart (a static buffer), asserted to be
 * well-formed XML. */
static const char *draw_chart(const char *mode, const char *name,
                              const char *csv_text)
{
    char csv[128], svg_path[128], script[1024], how[64];
    struct run_result r;
    snprintf(csv, sizeof csv, "%s/%s.csv", scratch, name);
    snprintf(svg_path, sizeof svg_path, "%s/%s.svg", scratch, name);
    FILE *f = fopen(csv, "w");
    cr_assert_not_null(f);
    fputs(csv_text, f);
    fclose(f);
    snprintf(script, sizeof script, "%s/tests/scripts/bench.sh",
             SOCKLAB_ROOT);
    const char *const args[] = {script, mode, csv, svg_path, NULL};
    cr_assert_eq(run_program("/bin/sh", args, NULL, 0, 20000, &r), 0, "%s",
                 harness_error());
    cr_assert(exited_with(&r.exit, 0), "bench.sh %s: %s; %s", mode,
              describe_exit(&r.exit, how, sizeof how), r.err);
    run_result_free(&r);

    f = fopen(svg_path, "r");
    cr_assert_not_null(f, "no %s", svg_path);
    static char svg[1 << 16];
    size_t n = fread(svg, 1, sizeof svg - 1, f);
    fclose(f);
    svg[n] = '\0';
    const char *why = xml_problem(svg);
    cr_assert_null(why, "the SVG is not well-formed: %s", why);
    return svg;
}

Test(bench_chart, one_well_formed_bar_per_server_and_workload,
     .init = scratch_init, .fini = scratch_fini)
{
    const char *svg = draw_chart("--chart", "bench", fixture);

    static const char *const servers[] = {"echo-server", "echo-server-poll"};
    static const char *const work[] = {"pingpong-1", "pingpong-50", "pump",
                                       "connect"};
    for (size_t s = 0; s < 2; s++)
        for (size_t w = 0; w < 4; w++)
            cr_expect_eq(count_bars(svg, servers[s], work[w]), 1,
                         "%s %s: not exactly one bar", servers[s], work[w]);
    cr_expect_eq(count_bars(svg, "a&lt;b&amp;c", "pingpong-1"), 1,
                 "the odd name is not one escaped bar");
    cr_expect_eq(count_bars(svg, NULL, NULL), 9,
                 "9 bars (2 servers x 4 workloads + 1); the references and "
                 "the generator check are not bars");
    cr_expect_eq(count_bars(svg, "reference", NULL), 0);
    cr_expect_eq(count_bars(svg, "uv-pingpong", NULL), 0);
    cr_expect(strstr(svg, "class=\"limit\"") != NULL,
              "no dashed line for the machine's limits");
}

Test(bench_chart, a_missing_csv_is_an_error_not_an_empty_chart)
{
    char script[1024], how[64];
    struct run_result r;
    snprintf(script, sizeof script, "%s/tests/scripts/bench.sh",
             SOCKLAB_ROOT);
    const char *const args[] = {script, "--chart", "/nonexistent/bench.csv",
                                "/tmp/socklab-never.svg", NULL};
    cr_assert_eq(run_program("/bin/sh", args, NULL, 0, 20000, &r), 0, "%s",
                 harness_error());
    cr_expect(exited_with(&r.exit, 66), "%s; %s",
              describe_exit(&r.exit, how, sizeof how), r.err);
    cr_expect(access("/tmp/socklab-never.svg", F_OK) != 0);
    run_result_free(&r);
}

/* ---- the table's paired checks ------------------------------------------ */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

/* A target that compares two figures is judged on the median of the
 * ratios inside each pair, not on the ratio of each side's median: one
 * busy second in a pair must not decide it. The fixture is built so that
 * the two disagree (the medians of each side give 60,000 / 30,000 = 2.00x;
 * the median pair gives 0.95x). */
Test(bench_table, paired_checks_use_the_median_of_the_pair_ratios,
     .init = scratch_init, .fini = scratch_fini)
{
    char raw[128], pairs[128], out[128], script[1024], how[64];
    struct run_result r;
    snprintf(raw, sizeof raw, "%s/raw.csv", scratch);
    snprintf(pairs, sizeof pairs, "%s/pairs.csv", scratch);
    snprintf(out, sizeof out, "%s/table.csv", scratch);
    write_file(raw, "round,server,workload,mode,clients,size,count,seconds,"
               "rate,unit,mb_per_s,p50_us,p99_us,max_us,mismatches,"
               "server_cpu_s,server_cpu_us_per,generator_cpu_pct\n"
               "1,echo-server-poll,pingpong-50,pingpong,50,64,1,1,65000,"
               "rt/s,4,700,1500,2000,0,1,12,50\n");
    write_file(pairs, "check,pair,a,b,a_rate,b_rate,ratio\n"
               "generator,1,echo-bench,uv-pingpong,10000,20000,0.5000\n"
               "generator,2,echo-bench,uv-pingpong,95000,100000,0.9500\n"
               "generator,3,echo-bench,uv-pingpong,60000,30000,2.0000\n"
               "epoll-uv,1,echo-server-epoll,uv-echo-server,90,100,0.9000\n"
               "epoll-uv,2,echo-server-epoll,uv-echo-server,120,100,1.2000\n");
    char formats[1024];
    snprintf(script, sizeof script, "%s/tests/scripts/bench_table.awk",
             SOCKLAB_ROOT);
    snprintf(formats, sizeof formats, "%s/tests/scripts/bench_fmt.awk",
             SOCKLAB_ROOT);
    char base[] = "base=echo-server-poll", csv[160], pv[160];
    snprintf(csv, sizeof csv, "csv=%s", out);
    snprintf(pv, sizeof pv, "pairs=%s", pairs);
    const char *const args[] = {"-F,", "-v", base, "-v", csv, "-v", pv,
                                "-f", formats, "-f", script, raw, pairs,
                                NULL};
    cr_assert_eq(run_program("/usr/bin/awk", args, NULL, 0, 20000, &r), 0,
                 "%s", harness_error());
    cr_assert(exited_with(&r.exit, 0), "bench_table.awk: %s; %s",
              describe_exit(&r.exit, how, sizeof how), r.err);
    const char *table = (const char *)r.out;
    cr_expect(strstr(table, "on echo-server-poll (95,000 / 100,000 rt/s; "
                     "median of 3 pairs, 0.50x-2.00x) | 0.95x | >= 0.90x | "
                     "met |") != NULL,
              "the generator check is not the median pair's 0.95x:\n%s",
              table);
    cr_expect(strstr(table, "median of 2 pairs, 0.90x-1.20x) | 1.05x | "
                     ">= 1.00x | met |") != NULL,
              "with two pairs the median is their mean, 1.05x:\n%s", table);
    cr_expect(strstr(table, "the same pairs | 0.95x | >= 0.90x | met |")
                  != NULL, "uv / epoll is not 1 / 1.05:\n%s", table);
    run_result_free(&r);
}

/* What make bench's scaling part writes to build/bench/idle.csv (the
 * columns the chart reads, and more), with a name to escape. */
static const char idle_fixture[] =
    "server,cap,mode,clients,size,count,seconds,rate,unit,mb_per_s,p50_us,"
    "p99_us,max_us,mismatches,server_cpu_s,server_cpu_us_per,"
    "generator_cpu_pct,held,open_s,first_echo_us\n"
    "echo-server-poll,65536,idle,1000,64,500,0.2,2500,rt/s,0.1,300.0,"
    "1400.0,1600.0,0,0.15,300.0,10,1000,0.1,1800\n"
    "echo-server-epoll,65536,idle,1000,64,500,0.02,25000,rt/s,1.6,30.0,"
    "180.0,1400.0,0,0.01,20.0,40,1000,0.1,1000\n"
    "echo-server-poll,65536,idle,10000,64,500,6.0,83,rt/s,0.0,11800.0,"
    "16000.0,23000.0,0,5.6,11200.0,1,10000,2.0,29000\n"
    "echo-server-epoll,65536,idle,10000,64,500,0.02,25000,rt/s,1.6,28.0,"
    "70.0,300.0,0,0.01,20.0,40,10000,0.9,300\n"
    "a<b&c,4096,idle,4095,64,500,0.02,25000,rt/s,1.6,26.0,77.0,356.0,0,"
    "0.01,20.0,40,4095,1.8,750\n";

static int count_tags(const char *svg, const char *tag, const char *server)
{
    int n = 0;
    char s[128];
    for (const char *p = svg; (p = strstr(p, tag)) != NULL; p++)
        if (server == NULL ||
            (attr(p, "data-server", s, sizeof s) && strcmp(s, server) == 0))
            n++;
    return n;
}

Test(bench_chart, idle_chart_is_well_formed_with_one_series_per_server,
     .init = scratch_init, .fini = scratch_fini)
{
    const char *svg = draw_chart("--idle-chart", "idle", idle_fixture);

    static const struct { const char *server; int points; } want[] = {
        {"echo-server-poll", 2}, {"echo-server-epoll", 2}, {"a&lt;b&amp;c", 1}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        cr_expect_eq(count_tags(svg, "<g class=\"series\"", want[i].server), 1,
                     "%s: not exactly one series", want[i].server);
        cr_expect_eq(count_tags(svg, "<circle class=\"point\"",
                                want[i].server), want[i].points,
                     "%s: not %d points", want[i].server, want[i].points);
    }
    cr_expect_eq(count_tags(svg, "<g class=\"series\"", NULL), 3,
                 "3 series, one per server");
    cr_expect_eq(count_tags(svg, "<circle class=\"point\"", NULL), 5);
    cr_expect(strstr(svg, ">10 ms<") != NULL && strstr(svg, ">10 us<") != NULL,
              "the latency axis does not run on a log scale from 10 us to "
              "10 ms");
}

/* test_hardening_input.c - what a hostile or careless user feeds the
 * programs: forged datagrams, closed standard descriptors, odd command
 * lines. One test per way in, each named after what it proves.
 *
 *   udp/      the UDP server's filter against reflection and loops. The
 *             forged datagrams (a source address and port the sender
 *             writes itself, through a raw socket) go only to 127.0.0.1,
 *             and only inside a network namespace the test made for itself
 *             (unshare CLONE_NEWNET, as root): whatever a broken filter
 *             answered could reach nothing else. Without root they skip.
 *   std/      programs started with descriptor 0, 1 or 2 closed.
 *   cmdline/  -b and HOST read alike by every program, scopes, hints,
 *             --help, -h that cannot write, -1, options after operands,
 *             long values, parse_long_in below zero.
 *   fork/     the fork server says why it hung up on a client.
 *
 * Every server starts on port 0 and is found through its ready line (or,
 * with stdout closed, through its -v trace); every wait is bounded.
 */
#define _GNU_SOURCE /* unshare(CLONE_NEWNET), struct ifreq */

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "echo.h"
#include "fail.h"
#include "harness.h"
#include "trace.h"

#ifndef SOCKLAB_HAVE_UV
#define SOCKLAB_HAVE_UV 0
#endif

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* udp-echo-server's LOOP_LIMIT: a peer may bounce our own echo back this
 * many times in a row before it gets no more answers. */
#define LOOP_LIMIT 100

TestSuite(std, .timeout = 30, .fini = harness_cleanup);
TestSuite(cmdline, .timeout = 30, .fini = harness_cleanup);
/* The udp and fork suites are declared in test_udp.c and test_fork.c. */

/* ---- helpers: namespaces and forged datagrams ------------------------------ */

/* Move this test process (and so every process it starts) into a network
 * namespace of its own, with its loopback up: 127.0.0.1 and ::1 there are
 * nobody else's, and no datagram can leave. Skips the test without the
 * privilege for it. */
static void private_netns_or_skip(void)
{
    if (unshare(CLONE_NEWNET) < 0)
        cr_skip_test("needs a network namespace of its own: unshare"
                     "(CLONE_NEWNET): %s (run the suite as root)",
                     strerror(errno));
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    cr_assert_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0, "SIOCGIFFLAGS lo: %s",
                 strerror(errno));
    ifr.ifr_flags |= IFF_UP;
    cr_assert_eq(ioctl(fd, SIOCSIFFLAGS, &ifr), 0, "lo up: %s",
                 strerror(errno));
    close(fd);
}

/* The same, for a test that is safe anyway (what it runs must stop before
 * any socket) and only takes the namespace as a second guard. */
static void private_netns_if_possible(void)
{
    if (unshare(CLONE_NEWNET) < 0)
        return;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    if (fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    if (fd >= 0)
        close(fd);
}

/* One UDP datagram to 127.0.0.1:dport that claims to come from src:sport.
 * A raw socket (IPPROTO_RAW) lets us write the IP header, and with it the
 * source address; the UDP header carries the source port. Checksum 0
 * means "none" in IPv4. Only ever called inside private_netns_or_skip. */
static void forge(const char *src, uint16_t sport, uint16_t dport,
                  const char *data)
{
    unsigned char pkt[20 + 8 + 256];
    size_t len = strlen(data), udp_len = 8 + len, total = 20 + udp_len;
    struct sockaddr_in to;

    cr_assert_leq(len, 256);
    memset(pkt, 0, sizeof pkt);
    pkt[0] = 0x45;  /* IPv4, 5 x 4-byte header */
    pkt[2] = (unsigned char)(total >> 8);
    pkt[3] = (unsigned char)(total & 0xff);
    pkt[8] = 64;    /* TTL */
    pkt[9] = IPPROTO_UDP;
    cr_assert_eq(inet_pton(AF_INET, src, pkt + 12), 1, "bad source %s", src);
    cr_assert_eq(inet_pton(AF_INET, "127.0.0.1", pkt + 16), 1);
    pkt[20] = (unsigned char)(sport >> 8);
    pkt[21] = (unsigned char)(sport & 0xff);
    pkt[22] = (unsigned char)(dport >> 8);
    pkt[23] = (unsigned char)(dport & 0xff);
    pkt[24] = (unsigned char)(udp_len >> 8);
    pkt[25] = (unsigned char)(udp_len & 0xff);
    memcpy(pkt + 28, data, len); /* NOLINT(bugprone-not-null-terminated-result): a packet, not a string */

    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (fd < 0)
        cr_skip_test("forging a datagram needs a raw socket: %s",
                     strerror(errno));
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(sendto(fd, pkt, total, 0, (struct sockaddr *)&to, sizeof to),
                 (ssize_t)total, "raw sendto: %s", strerror(errno));
    close(fd);
}

/* A UDP socket bound to 127.0.0.1:port (a low one needs root, which the
 * namespace already asked for). */
static int udp_on_port(uint16_t port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_geq(fd, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
        cr_skip_test("bind 127.0.0.1:%u: %s", (unsigned)port,
                     strerror(errno));
    return fd;
}

static void udp_sendto(int fd, uint16_t port, const char *data)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(sendto(fd, data, strlen(data), 0, (struct sockaddr *)&a,
                        sizeof a),
                 (ssize_t)strlen(data), "sendto: %s", strerror(errno));
}

/* A datagram from an ordinary client, echoed. The server answers in the
 * order datagrams arrived, so once this echo is back, every datagram sent
 * to it before has been dealt with: the condition the tests wait for. */
static void probe(const struct server *s)
{
    char back[16];
    int fd = udp_connect(s->host, s->port);
    cr_assert_geq(fd, 0, "%s", harness_error());
    cr_assert_eq(send(fd, "probe", 5, 0), 5);
    ssize_t n = udp_recv_within(fd, back, sizeof back, 5000);
    cr_assert_eq(n, 5, "no echo of the probe from %s: %s", s->name,
                 harness_error());
    close(fd);
}

static void start_or_fail(struct server *s, const char *name,
                          const char *const args[])
{
    cr_assert_eq(server_start(s, name, args, NULL), 0, "%s",
                 harness_error());
}

static void stop_or_fail(struct server *s)
{
    cr_assert_eq(server_stop_clean(s), 0, "%s", harness_error());
}

/* N in a UDP server's "stopped: N datagram(s) echoed". */
static unsigned long echoed_in(const char *err)
{
    const char *at = strstr(err, "stopped: ");
    cr_assert_not_null(at, "no summary in: %s", err);
    return strtoul(at + 9, NULL, 10);
}

/* ---- udp: the filter ------------------------------------------------------------- */

Test(udp, ignores_a_forged_datagram_from_a_low_port, .timeout = 30,
     .fini = harness_cleanup)
{
    struct server s;
    char back[64], line[256];

    private_netns_or_skip();
    start_or_fail(&s, "udp-echo-server", (const char *const[]){"-v", NULL});
    /* Port 19 is chargen's: it answers anything with a stream of text.
     * Echo answering it would set the two talking. */
    int low = udp_on_port(19);
    udp_sendto(low, s.port, "from chargen");
    probe(&s);
    cr_expect_eq(udp_recv_within(low, back, sizeof back, 0), -1,
                 "the server answered a datagram from port 19");
    close(low);

    stop_or_fail(&s);
    cr_expect_eq(echoed_in(s.err_text), 1, "%s", s.err_text);
    cr_expect(strstr(s.err_text, "1 ignored: 1 from a port below 1024") !=
                  NULL, "the summary should count it: %s", s.err_text);
    cr_expect_not_null(line_with(s.err_text, "no answer to 12 bytes from "
                                 "127.0.0.1:19: from a port below 1024",
                                 line, sizeof line),
                       "-v should trace the drop, what and why: %s",
                       s.err_text);
    server_release(&s);
}

Test(udp, ignores_a_datagram_from_its_own_address, .timeout = 30,
     .fini = harness_cleanup)
{
    struct server s;

    private_netns_or_skip();
    start_or_fail(&s, "udp-echo-server", NULL);
    /* Answered, this datagram would come straight back to the server, and
     * again, for ever, at full speed (the server's own CPU). */
    forge("127.0.0.1", s.port, s.port, "myself");
    probe(&s);
    stop_or_fail(&s);
    cr_expect_eq(echoed_in(s.err_text), 1, "only the probe should have been "
                 "answered: %s", s.err_text);
    cr_expect(strstr(s.err_text, "1 ignored: 1 from its own port") != NULL,
              "%s", s.err_text);
    server_release(&s);
}

Test(udp, ignores_broadcast_and_multicast_sources, .timeout = 30,
     .fini = harness_cleanup)
{
    struct server s;

    private_netns_or_skip();
    start_or_fail(&s, "udp-echo-server", NULL);
    /* No single host sends from these: an answer would go to many. */
    forge("255.255.255.255", 5000, s.port, "everyone");
    forge("224.0.0.1", 5000, s.port, "all hosts");
    probe(&s);
    stop_or_fail(&s);
    cr_expect_eq(echoed_in(s.err_text), 1, "%s", s.err_text);
    cr_expect(strstr(s.err_text, "2 ignored: 1 from a broadcast address, 1 "
                     "from a multicast address") != NULL, "%s", s.err_text);
    server_release(&s);
}

/* Which of the two servers' stderr has said it cut a loop. */
static int loop_seen(const struct server *a, const struct server *b)
{
    int seen = 0;
    const struct server *both[] = {a, b};
    for (int i = 0; i < 2 && !seen; i++) {
        char *text = server_stderr_now(both[i]);
        seen = text != NULL && strstr(text, ": looping") != NULL;
        free(text);
    }
    return seen;
}

Test(udp, two_servers_do_not_loop, .timeout = 40, .fini = harness_cleanup)
{
    struct server a, b;

    private_netns_or_skip();
    start_or_fail(&a, "udp-echo-server", (const char *const[]){"-v", NULL});
    start_or_fail(&b, "udp-echo-server", (const char *const[]){"-v", NULL});
    /* One datagram to b that says it comes from a: b answers a, a answers
     * b, and so on. Both ports are ordinary ones, so only the loop guard
     * can stop it. Before it, this ran for ever (140,000 datagrams each way
     * in 3 s). */
    forge("127.0.0.1", a.port, b.port, "ping-pong");
    long long deadline = now_ms() + 15000;
    while (!loop_seen(&a, &b) && now_ms() < deadline)
        nap_ms(10);
    cr_expect(loop_seen(&a, &b), "neither server cut the loop within 15 s");
    /* Then both still answer an ordinary client, and nothing else is in
     * flight: the counts below are final. */
    probe(&a);
    probe(&b);
    stop_or_fail(&a);
    stop_or_fail(&b);
    unsigned long na = echoed_in(a.err_text), nb = echoed_in(b.err_text);
    cr_expect(na >= 2 && nb >= 2, "the loop never started: %lu and %lu "
              "echoed", na, nb);
    cr_expect(na <= LOOP_LIMIT + 10 && nb <= LOOP_LIMIT + 10,
              "the loop ran on: %lu and %lu datagrams echoed (the guard "
              "allows %d round trips)", na, nb, LOOP_LIMIT);
    server_release(&a);
    server_release(&b);
}

Test(udp, the_filter_can_be_turned_off, .timeout = 30,
     .fini = harness_cleanup)
{
    struct server s;
    char back[64];

    private_netns_or_skip();
    start_or_fail(&s, "udp-echo-server", (const char *const[]){"-a", NULL});
    int low = udp_on_port(19);
    udp_sendto(low, s.port, "answer me");
    cr_expect_eq(udp_recv_within(low, back, sizeof back, 5000), 9,
                 "-a should answer port 19 too: %s", harness_error());
    close(low);
    stop_or_fail(&s);
    cr_expect(strstr(s.err_text, "1 datagram echoed, 9 bytes; 0 ignored (-a: "
                     "no filter)") != NULL, "%s", s.err_text);
    server_release(&s);
}

/* The guard must not take an ordinary client that repeats itself for a
 * loop: a few equal lines in a row all come back. */
Test(udp, a_client_repeating_a_line_is_still_answered, .timeout = 30,
     .fini = harness_cleanup)
{
    struct server s;
    struct run_result r;
    char port[8];
    static const char input[] = "same\nsame\nsame\nsame\nsame\nsame\n";

    start_or_fail(&s, "udp-echo-server", NULL);
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    cr_assert_eq(run_program("udp-echo-client",
                             (const char *const[]){s.host, port, NULL}, input,
                             strlen(input), 10000, &r),
                 0, "%s", harness_error());
    cr_expect(exited_with(&r.exit, 0), "stderr: %s", r.err);
    cr_expect_str_eq((const char *)r.out, input);
    run_result_free(&r);
    stop_or_fail(&s);
    cr_expect(strstr(s.err_text, "6 datagrams echoed, 30 bytes; 0 ignored") !=
                  NULL, "%s", s.err_text);
    server_release(&s);
}

/* ---- std: closed standard descriptors ------------------------------------------- */

/* Run program NAME with args through sh, with one redirection (`2>&-`,
 * `<&-`, `>/dev/full`) applied to it alone: the shell closes or points
 * that descriptor, then execs the program in its place. */
static void run_with(const char *redirect, const char *name,
                     const char *const args[], const char *input,
                     struct run_result *r)
{
    char path[1024], script[64];
    const char *argv[16];
    int n = 0;

    bin_path(name, path, sizeof path);
    snprintf(script, sizeof script, "exec \"$0\" \"$@\" %s", redirect);
    argv[n++] = "-c";
    argv[n++] = script;
    argv[n++] = path;
    for (int i = 0; args != NULL && args[i] != NULL; i++) {
        cr_assert_lt(n, 15);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    cr_assert_eq(run_program("/bin/sh", argv, input,
                             input != NULL ? strlen(input) : 0, 10000, r),
                 0, "%s", harness_error());
}

static const char *const tcp_clients[] = {"echo-client", "uv-echo-client"};

static int built(const char *name)
{
    return strncmp(name, "uv-", 3) != 0 || (SOCKLAB_HAVE_UV &&
                                            bin_exists(name));
}

Test(std, echo_client_with_stderr_closed_keeps_its_trace_off_the_socket)
{
    struct server s;
    struct run_result r;
    char port[8];
    static const char input[] = "hello\nworld\n";

    start_or_fail(&s, "echo-server", NULL);
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    for (size_t i = 0; i < COUNT(tcp_clients); i++) {
        if (!built(tcp_clients[i]))
            continue;
        /* -v with nowhere to write: before, the socket got descriptor 2
         * and the trace went to the server, and came back as "data". */
        run_with("2>&-", tcp_clients[i],
                 (const char *const[]){"-v", s.host, port, NULL}, input, &r);
        cr_expect(exited_with(&r.exit, 0), "%s: exit %d", tcp_clients[i],
                  r.exit.code);
        cr_expect_eq(r.out_len, strlen(input), "%s: %zu bytes back, not %zu",
                     tcp_clients[i], r.out_len, strlen(input));
        cr_expect_str_eq((const char *)r.out, input, "%s", tcp_clients[i]);
        run_result_free(&r);
    }
    stop_or_fail(&s);
    server_release(&s);
}

Test(std, udp_echo_client_with_stdin_closed_does_not_hang)
{
    struct server s;
    struct run_result r;
    char port[8];

    start_or_fail(&s, "udp-echo-server", NULL);
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    /* Before, the socket became descriptor 0 and the client waited in
     * read(0) on it for ever. Now stdin is /dev/null: empty input. */
    run_with("<&-", "udp-echo-client", (const char *const[]){s.host, port,
             NULL}, NULL, &r);
    cr_expect(!r.exit.timed_out, "the client hung");
    cr_expect(exited_with(&r.exit, 0), "exit %d; stderr: %s", r.exit.code,
              r.err);
    cr_expect_eq(r.out_len, 0);
    cr_expect_str_eq(r.err, "");
    run_result_free(&r);
    stop_or_fail(&s);
    cr_expect_eq(echoed_in(s.err_text), 0, "%s", s.err_text);
    server_release(&s);
}

Test(std, a_tcp_client_with_stdin_closed_sends_nothing_and_exits_0)
{
    struct server s;
    struct run_result r;
    char port[8];
    int ran = 0;

    start_or_fail(&s, "echo-server", NULL);
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    for (size_t i = 0; i < COUNT(tcp_clients); i++) {
        if (!built(tcp_clients[i]))
            continue;
        run_with("<&-", tcp_clients[i], (const char *const[]){s.host, port,
                 NULL}, NULL, &r);
        cr_expect(exited_with(&r.exit, 0), "%s: exit %d; stderr: %s",
                  tcp_clients[i], r.exit.code, r.err);
        cr_expect_eq(r.out_len, 0, "%s", tcp_clients[i]);
        run_result_free(&r);
        ran++;
    }
    stop_or_fail(&s);
    char want[64];
    snprintf(want, sizeof want, "%d client%s served, 0 bytes", ran,
             ran == 1 ? "" : "s");
    cr_expect(strstr(s.err_text, want) != NULL, "%s", s.err_text);
    server_release(&s);
}

/* Each server, and where its -v trace shows the bound address. */
static const struct {
    const char *name;
    const char *marker;
    int udp;
} servers[] = {
    {"echo-server", "getsockname(3) = 0  ", 0},
    {"echo-server-fork", "getsockname(3) = 0  ", 0},
    {"echo-server-thread", "getsockname(3) = 0  ", 0},
    {"echo-server-poll", "getsockname(3) = 0  ", 0},
    {"echo-server-epoll", "getsockname(6) = 0  ", 0},
    {"udp-echo-server", "getsockname(3) = 0  ", 1},
    {"uv-echo-server", "uv_tcp_getsockname(server) = 0  ", 0},
};

/* One echo of "ping" through the server at s, by TCP or UDP. */
static void ping(const struct server *s, int udp)
{
    char back[8];
    int fd = udp ? udp_connect(s->host, s->port)
                 : tcp_connect(s->host, s->port);
    cr_assert_geq(fd, 0, "%s: %s", s->name, harness_error());
    if (udp) {
        cr_assert_eq(send(fd, "ping", 4, 0), 4);
        cr_expect_eq(udp_recv_within(fd, back, sizeof back, 5000), 4,
                     "%s: no echo", s->name);
    } else {
        cr_assert_eq(sock_send_all(fd, "ping", 4, 5000), 4);
        cr_expect_eq(sock_read_exact(fd, back, 4, 5000), 4, "%s: no echo",
                     s->name);
    }
    close(fd);
}

/* The choice: a server started with `>&-` runs, and its ready line goes to
 * /dev/null, as output to a closed stdout does for any well-behaved
 * program (it is the same as `>/dev/null`). A script that needs the port
 * should not close stdout; here the -v trace tells it. Before, the
 * listener became descriptor 1 and the server died writing its ready line
 * into it ("cannot announce the port: Broken pipe"). */
Test(std, a_server_with_stdout_closed_still_listens)
{
    char path[1024];

    for (size_t i = 0; i < COUNT(servers); i++) {
        struct server s;
        if (!built(servers[i].name))
            continue;
        bin_path(servers[i].name, path, sizeof path);
        char *argv[] = {"/bin/sh", "-c", "exec \"$0\" \"$@\" >&-", path, "-v",
                        "0", NULL};
        cr_assert_eq(server_start_argv(&s, argv, servers[i].marker, 1), 0,
                     "%s: %s", servers[i].name, harness_error());
        ping(&s, servers[i].udp);
        cr_expect_eq(server_stop_clean(&s), 0, "%s: %s", servers[i].name,
                     harness_error());
        cr_expect(strstr(s.err_text, "cannot announce") == NULL, "%s: %s",
                  servers[i].name, s.err_text);
        server_release(&s);
    }
}

/* In a child: close what `closed` says, run guard_std_fds, and report by
 * exit code: 0 when each closed one is now /dev/null and the open ones are
 * the same files as before. */
static int guard_in_child(void *arg)
{
    const int *closed = arg;
    struct stat null, before[3], after;

    if (stat("/dev/null", &null) < 0)
        return 10;
    for (int fd = 0; fd < 3; fd++) {
        if (fstat(fd, &before[fd]) < 0)
            return 11;
        if (closed[fd])
            close(fd);
    }
    guard_std_fds();
    for (int fd = 0; fd < 3; fd++) {
        if (fstat(fd, &after) < 0)
            return 20 + fd;  /* still closed */
        const struct stat *want = closed[fd] ? &null : &before[fd];
        if (after.st_dev != want->st_dev || after.st_ino != want->st_ino)
            return 30 + fd;  /* not what it should be */
    }
    return 0;
}

Test(std, guard_std_fds_fills_the_closed_ones_and_leaves_the_rest)
{
    static int cases[][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1},
                             {0, 0, 0}, {1, 0, 1}};
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct exit_info how;
        pid_t pid = child_run(guard_in_child, cases[i]);
        cr_assert_gt(pid, 0);
        cr_assert_eq(child_wait(pid, 5000, &how), 0, "%s", harness_error());
        cr_expect(exited_with(&how, 0), "closed %d %d %d: code %d",
                  cases[i][0], cases[i][1], cases[i][2], how.code);
    }
}

/* ---- cmdline ----------------------------------------------------------------- */

static const char *const server_names[] = {
    "echo-server", "echo-server-fork", "echo-server-thread",
    "echo-server-poll", "echo-server-epoll", "udp-echo-server",
    "uv-echo-server"};
static const char *const every_program[] = {
    "echo-server", "echo-server-fork", "echo-server-thread",
    "echo-server-poll", "echo-server-epoll", "udp-echo-server",
    "echo-client", "udp-echo-client", "echo-bench", "uv-echo-server",
    "uv-echo-client"};
static const char *const client_names[] = {
    "echo-client", "udp-echo-client", "echo-bench", "uv-echo-client"};

/* Run name with args (no input) and expect exit code and a one-line
 * message on stderr containing says. */
static void expect_refusal(const char *name, const char *const args[],
                           int code, const char *says)
{
    struct run_result r;
    char how[64];
    cr_assert_eq(run_program(name, args, NULL, 0, 10000, &r), 0, "%s",
                 harness_error());
    drop_sanitizer_lines(r.err);
    cr_expect(exited_with(&r.exit, code), "%s %s: %s, not exit %d; stderr: %s",
              name, args[0], describe_exit(&r.exit, how, sizeof how), code,
              r.err);
    cr_expect(strstr(r.err, says) != NULL, "%s %s: stderr does not say '%s': "
              "%s", name, args[0], says, r.err);
    cr_expect_eq(count_lines(r.err), 1, "%s %s: not one line: %s", name,
                 args[0], r.err);
    cr_expect_eq(r.out_len, 0, "%s %s: printed %s", name, args[0], r.out);
    run_result_free(&r);
}

Test(cmdline, dash_b_takes_a_bracketed_ipv6_address)
{
    if (!have_ipv6_loopback())
        cr_skip_test("no IPv6 loopback here");
    for (size_t i = 0; i < COUNT(server_names); i++) {
        struct server s;
        if (!built(server_names[i]))
            continue;
        /* As every ready line prints it: [::1], and [::1]:PORT. */
        start_or_fail(&s, server_names[i], (const char *const[]){"-b",
                      "[::1]", NULL});
        cr_expect_str_eq(s.host, "::1", "%s", server_names[i]);
        stop_or_fail(&s);
        server_release(&s);

        char *argv[] = {(char *)server_names[i], "-b", "[::1]:0", NULL};
        cr_assert_eq(server_start_argv(&s, argv, "listening on ", 0), 0,
                     "%s: %s", server_names[i], harness_error());
        cr_expect_str_eq(s.host, "::1", "%s", server_names[i]);
        stop_or_fail(&s);
        server_release(&s);
    }
}

Test(cmdline, every_server_reads_a_scoped_address_alike)
{
    for (size_t i = 0; i < COUNT(server_names); i++) {
        const char *name = server_names[i];
        if (!built(name))
            continue;
        /* A scope on an address that is not link-local means nothing to
         * the kernel: every server listens on ::1 (uv-echo-server did, the
         * others said "cannot resolve", exit 68). */
        if (have_ipv6_loopback()) {
            struct server s;
            start_or_fail(&s, name, (const char *const[]){"-b", "::1%lo",
                          NULL});
            cr_expect_str_eq(s.host, "::1", "%s", name);
            stop_or_fail(&s);
            server_release(&s);
        }
        /* An interface that does not exist: 68, like a host that does not
         * resolve, for every server. */
        expect_refusal(name, (const char *const[]){"-b", "fe80::1%nosuch0",
                       "0", NULL}, EX_NOHOST, "no interface 'nosuch0'");
        /* A scope after something that is not an IPv6 address. */
        expect_refusal(name, (const char *const[]){"-b", "127.0.0.1%lo", "0",
                       NULL}, EX_USAGE, "only an IPv6 address");
    }
}

Test(cmdline, a_link_local_address_without_a_scope_gets_a_hint)
{
    private_netns_if_possible();
    for (size_t i = 0; i < COUNT(server_names); i++)
        if (built(server_names[i]))
            expect_refusal(server_names[i], (const char *const[]){"-b",
                           "fe80::1", "0", NULL}, EX_USAGE,
                           "add %IFACE to say which, e.g. fe80::1%eth0");
    for (size_t i = 0; i < COUNT(client_names); i++)
        if (built(client_names[i]))
            expect_refusal(client_names[i], (const char *const[]){"fe80::1",
                           "7000", NULL}, EX_USAGE,
                           "add %IFACE to say which, e.g. fe80::1%eth0");
}

/* Run the client with input "hi\n" at the address a ready line printed,
 * pasted as it is: the echo must come back. */
static void paste_into(const char *client, const char *ready_line)
{
    struct run_result r;
    const char *address = ready_line + strlen("listening on ");
    cr_assert_eq(run_program(client, (const char *const[]){address, NULL},
                             "hi\n", 3, 10000, &r),
                 0, "%s", harness_error());
    cr_expect(exited_with(&r.exit, 0), "%s %s: exit %d; stderr: %s", client,
              address, r.exit.code, r.err);
    cr_expect_str_eq((const char *)r.out, "hi\n", "%s %s", client, address);
    run_result_free(&r);
}

Test(cmdline, a_scoped_ready_line_can_be_pasted_into_a_client)
{
    char ip[1024];
    struct run_result r;

    private_netns_or_skip();
    if (find_on_path("ip", ip, sizeof ip) == NULL)
        cr_skip_test("needs ip (iproute2) to give lo a link-local address");
    /* fe80::1 on this namespace's loopback, at once (nodad). */
    cr_assert_eq(run_program(ip, (const char *const[]){"addr", "add",
                             "fe80::1/64", "dev", "lo", "nodad", NULL},
                             NULL, 0, 10000, &r), 0, "%s", harness_error());
    cr_assert(exited_with(&r.exit, 0), "ip addr add: %s", r.err);
    run_result_free(&r);

    static const struct {
        const char *server, *client;
    } pairs[] = {{"echo-server", "echo-client"},
                 {"echo-server-poll", "echo-client"},
                 {"echo-server-epoll", "echo-client"},
                 {"uv-echo-server", "uv-echo-client"},
                 {"udp-echo-server", "udp-echo-client"}};
    for (size_t i = 0; i < COUNT(pairs); i++) {
        struct server s;
        if (!built(pairs[i].server))
            continue;
        start_or_fail(&s, pairs[i].server, (const char *const[]){"-b",
                      "fe80::1%lo", NULL});
        /* Before, the scope was dropped: "[fe80::1]:PORT", which no
         * client can reach. */
        cr_expect(strncmp(s.ready_line, "listening on [fe80::1%lo]:", 26) ==
                      0, "%s: %s", pairs[i].server, s.ready_line);
        paste_into(pairs[i].client, s.ready_line);
        stop_or_fail(&s);
        server_release(&s);
    }
}

Test(cmdline, udp_client_names_broadcast_when_the_kernel_refuses)
{
    struct run_result r;

    /* 127.255.255.255 is the broadcast address of lo's 127.0.0.0/8. Without
     * SO_BROADCAST, which the client never sets, the kernel refuses it at
     * connect with EACCES: no datagram is sent at all. In our own
     * namespace, to be sure of it. */
    private_netns_or_skip();
    cr_assert_eq(run_program("udp-echo-client", (const char *const[]){
                                 "127.255.255.255", "7000", NULL},
                             "hi\n", 3, 10000, &r),
                 0, "%s", harness_error());
    cr_expect(exited_with(&r.exit, EX_USAGE), "exit %d: %s", r.exit.code,
              r.err);
    cr_expect(strstr(r.err, "Permission denied (a broadcast address? "
                     "broadcast needs SO_BROADCAST") != NULL, "%s", r.err);
    cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
    run_result_free(&r);
}

Test(cmdline, dash_dash_help_is_dash_h)
{
    for (size_t i = 0; i < COUNT(every_program); i++) {
        struct run_result h, help;
        if (!built(every_program[i]))
            continue;
        cr_assert_eq(run_program(every_program[i], (const char *const[]){
                                     "-h", NULL}, NULL, 0, 10000, &h),
                     0);
        cr_assert_eq(run_program(every_program[i], (const char *const[]){
                                     "--help", NULL}, NULL, 0, 10000, &help),
                     0);
        cr_expect(exited_with(&help.exit, 0), "%s --help: exit %d: %s",
                  every_program[i], help.exit.code, help.err);
        cr_expect(help.out_len > 0 && strncmp((const char *)help.out,
                                              "usage: ", 7) == 0,
                  "%s --help: %s", every_program[i], help.out);
        cr_expect_str_eq((const char *)help.out, (const char *)h.out, "%s",
                         every_program[i]);
        run_result_free(&h);
        run_result_free(&help);
    }
}

Test(cmdline, help_that_cannot_be_written_exits_74)
{
    if (access("/dev/full", W_OK) != 0)
        cr_skip_test("no /dev/full here");
    for (size_t i = 0; i < COUNT(every_program); i++) {
        struct run_result r;
        if (!built(every_program[i]))
            continue;
        run_with(">/dev/full", every_program[i], (const char *const[]){"-h",
                 NULL}, NULL, &r);
        drop_sanitizer_lines(r.err);
        cr_expect(exited_with(&r.exit, EX_IOERR), "%s -h >/dev/full: exit "
                  "%d", every_program[i], r.exit.code);
        cr_expect(strstr(r.err, "cannot write the usage") != NULL &&
                      count_lines(r.err) == 1,
                  "%s: %s", every_program[i], r.err);
        run_result_free(&r);
    }
}

Test(cmdline, a_negative_port_is_a_bad_port)
{
    private_netns_if_possible();
    for (size_t i = 0; i < COUNT(server_names); i++)
        if (built(server_names[i]))
            expect_refusal(server_names[i], (const char *const[]){"-1", NULL},
                           EX_USAGE, "bad port '-1': expected a number");
    for (size_t i = 0; i < COUNT(client_names); i++) {
        if (!built(client_names[i]))
            continue;
        expect_refusal(client_names[i], (const char *const[]){"127.0.0.1",
                       "-1", NULL}, EX_USAGE, "bad port '-1'");
        expect_refusal(client_names[i], (const char *const[]){"-1", NULL},
                       EX_USAGE, "bad port '-1'");
    }
}

Test(cmdline, options_after_operands_are_accepted)
{
    struct server s;
    struct run_result r;
    char port[8];

    /* A server: "echo-server 0 -v" listens on a port of the kernel's and
     * traces. */
    char *argv[] = {"echo-server", "0", "-v", NULL};
    cr_assert_eq(server_start_argv(&s, argv, "listening on ", 0), 0, "%s",
                 harness_error());
    snprintf(port, sizeof port, "%u", (unsigned)s.port);

    /* A client: "echo-client 127.0.0.1 -v PORT", options between operands
     * as GNU tools take them. */
    cr_assert_eq(run_program("echo-client", (const char *const[]){s.host,
                             "-v", port, NULL}, "hi\n", 3, 10000, &r),
                 0, "%s", harness_error());
    cr_expect(exited_with(&r.exit, 0), "exit %d: %s", r.exit.code, r.err);
    cr_expect_str_eq((const char *)r.out, "hi\n");
    cr_expect(strstr(r.err, "connect(") != NULL, "no trace: %s", r.err);
    run_result_free(&r);

    /* And "--" still ends the options: after it, -v is an operand. */
    cr_assert_eq(run_program("echo-client", (const char *const[]){"--",
                             s.host, "-v", NULL}, NULL, 0, 10000, &r), 0);
    cr_expect(exited_with(&r.exit, EX_USAGE), "exit %d: %s", r.exit.code,
              r.err);
    cr_expect(strstr(r.err, "bad port '-v'") != NULL, "%s", r.err);
    run_result_free(&r);

    stop_or_fail(&s);
    cr_expect(strstr(s.err_text, "accept(") != NULL, "the server's -v after "
              "its PORT was not taken: %s", s.err_text);
    server_release(&s);
}

/* A value thousands of characters long, refused: one short line that
 * still ends with why. */
Test(cmdline, a_long_value_keeps_the_reason_at_the_end_of_its_line)
{
    static char big[5001];
    struct run_result r;

    private_netns_if_possible();
    memset(big, 'a', sizeof big - 1);
    cr_assert_eq(run_program("echo-server", (const char *const[]){"-b", big,
                             "0", NULL}, NULL, 0, 10000, &r), 0);
    cr_expect(exited_with(&r.exit, EX_USAGE), "exit %d", r.exit.code);
    cr_expect(r.err_len < 300, "%zu characters: %s", r.err_len, r.err);
    static const char reason[] = "is too long: 5000 characters, at most "
                                 "255\n";
    cr_expect(r.err_len > sizeof reason &&
                  strcmp(r.err + r.err_len - (sizeof reason - 1), reason) == 0,
              "the reason is not at the end: %s", r.err);
    run_result_free(&r);

    memset(big, '1', sizeof big - 1);
    cr_assert_eq(run_program("udp-echo-client", (const char *const[]){"-w",
                             big, NULL}, NULL, 0, 10000, &r), 0);
    cr_expect(exited_with(&r.exit, EX_USAGE), "exit %d", r.exit.code);
    cr_expect(r.err_len < 300, "%zu characters: %s", r.err_len, r.err);
    cr_expect(strstr(r.err, "expected milliseconds from 1 to 60000\n") != NULL,
              "%s", r.err);
    run_result_free(&r);
}

/* The last line of defence, in fail.c: whatever the message, a line too
 * long loses its middle, never its end. */
static int die_long(void *arg)
{
    int fd = *(int *)arg;
    static char big[5000];
    dup2(fd, STDERR_FILENO);
    memset(big, 'x', sizeof big - 1);
    trace_init("tname", 0);
    die(EX_USAGE, "what %s: the reason (a hint)", big);
}

Test(cmdline, a_long_error_line_loses_its_middle_not_its_end)
{
    char name[] = "/tmp/socklab-test-long-XXXXXX", text[1024];
    int fd = mkstemp(name);
    cr_assert_geq(fd, 0);
    unlink(name);
    struct exit_info how;
    pid_t pid = child_run(die_long, &fd);
    cr_assert_gt(pid, 0);
    cr_assert_eq(child_wait(pid, 5000, &how), 0);
    cr_expect(exited_with(&how, EX_USAGE));
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    close(fd);
    cr_assert_gt(n, 0);
    text[n] = '\0';
    drop_sanitizer_lines(text);
    cr_expect(strncmp(text, "tname: what xxx", 15) == 0, "%s", text);
    cr_expect(strstr(text, "...") != NULL, "%s", text);
    static const char end[] = "xx: the reason (a hint)\n";
    size_t len = strlen(text);
    cr_expect(len < 520, "%zu characters", len);
    cr_expect(len > sizeof end &&
                  strcmp(text + len - (sizeof end - 1), end) == 0,
              "the end is lost: %s", text);
    cr_expect_eq(count_lines(text), 1, "%s", text);
}

Test(cmdline, shortened_keeps_both_ends)
{
    char buf[16];
    cr_expect_str_eq(shortened("short", buf, sizeof buf), "short");
    cr_expect_str_eq(shortened("0123456789abcde", buf, sizeof buf),
                     "0123456789abcde", "15 characters fit in 16 bytes");
    cr_expect_str_eq(shortened("0123456789abcdefghij", buf, sizeof buf),
                     "0123...cdefghij", "a third of the room for the head, the rest "
                     "for the tail");
    cr_expect_eq(strlen(buf), 15);
}

Test(cmdline, parse_long_in_takes_ranges_below_zero)
{
    long v = 7;
    /* max - digit used to overflow here (UBSan: signed overflow). Digits
     * only, so no number is in a range below zero. */
    cr_expect_eq(parse_long_in("5", LONG_MIN, LONG_MIN, &v), -1);
    cr_expect_eq(parse_long_in("0", LONG_MIN, -1, &v), -1);
    cr_expect_eq(parse_long_in("9", LONG_MIN + 3, LONG_MIN + 8, &v), -1);
    cr_expect_eq(v, 7, "changed on failure");
    cr_expect_eq(parse_long_in("0", LONG_MIN, 0, &v), 0);
    cr_expect_eq(v, 0);
    cr_expect_eq(parse_long_in("9", LONG_MIN, 9, &v), 0);
    cr_expect_eq(v, 9);
}

Test(cmdline, settle_scope_reads_scopes_one_way)
{
    struct endpoint_text w;

    memset(&w, 0, sizeof w);
    snprintf(w.host, sizeof w.host, "::1%%lo");
    cr_expect_eq(settle_scope(&w), 0, "%s", w.error);
    cr_expect_str_eq(w.host, "::1", "no scope off link-local");

    snprintf(w.host, sizeof w.host, "fe80::1%%lo");
    cr_expect_eq(settle_scope(&w), 0, "%s", w.error);
    cr_expect_str_eq(w.host, "fe80::1%lo");

    snprintf(w.host, sizeof w.host, "fe80::1%%1");  /* lo is number 1 */
    cr_expect_eq(settle_scope(&w), 0, "%s", w.error);
    cr_expect_str_eq(w.host, "fe80::1%lo", "a number becomes the name");

    snprintf(w.host, sizeof w.host, "fe80::1%%");
    cr_expect_eq(settle_scope(&w), EX_USAGE);
    snprintf(w.host, sizeof w.host, "fe80::1%%no-such-if");
    cr_expect_eq(settle_scope(&w), EX_NOHOST);
    snprintf(w.host, sizeof w.host, "localhost%%lo");
    cr_expect_eq(settle_scope(&w), EX_USAGE);
    snprintf(w.host, sizeof w.host, "ff02::1");
    cr_expect_eq(settle_scope(&w), EX_USAGE, "link-local multicast too");
    snprintf(w.host, sizeof w.host, "127.0.0.1");
    cr_expect_eq(settle_scope(&w), 0);
    cr_expect_str_eq(w.host, "127.0.0.1");
}

/* The exit codes a user may meet are in the README: 65 too, which only
 * udp-echo-client uses (a line longer than one datagram). */
Test(cmdline, exit_65_is_documented)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/README.md", SOCKLAB_ROOT);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    char line[512];
    int found = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strstr(line, "65") != NULL && strstr(line, "EX_DATAERR") != NULL)
            found = 1;
    fclose(f);
    cr_expect(found, "README.md names no exit 65 (EX_DATAERR)");
}

/* ---- fork: why a client was let go ---------------------------------------------- */

/* A client that sends and never reads: the server's write of the echo
 * blocks until -t runs out. The trace said "client silent", which is the
 * opposite of what happened. */
Test(fork, a_client_that_sends_but_never_reads_is_traced_as_not_reading,
     .timeout = 40, .fini = harness_cleanup)
{
    struct server s;
    static char data[4 * 1024 * 1024];

    start_or_fail(&s, "echo-server-fork", (const char *const[]){"-v", "-t",
                  "1", NULL});
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    /* A small receive buffer, so the echo we never read fills it soon. */
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(s.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    /* Send until the kernel's buffers both ways are full (sending stops
     * with a timeout: that is expected). */
    sock_send_all(fd, data, sizeof data, 3000);

    char line[256];
    long long deadline = now_ms() + 15000;
    int found = 0;
    while (!found && now_ms() < deadline) {
        char *text = server_stderr_now(&s);
        found = text != NULL && line_with(text, "client read none of its echo for 1s",
                                          line, sizeof line) != NULL;
        free(text);
        if (!found)
            nap_ms(20);
    }
    close(fd);
    stop_or_fail(&s);
    cr_expect(found, "no 'client read none of its echo' in the trace: %s",
              s.err_text);
    cr_expect(strstr(s.err_text, "client silent") == NULL, "%s", s.err_text);
    server_release(&s);
}

/* echo_connection itself: a write that times out is "not reading", a read
 * that times out is "idle". */
Test(echo, a_write_that_times_out_ends_as_not_reading, .timeout = 15)
{
    int sv[2];
    struct timeval tv = {0, 200 * 1000};
    int small = 4096;
    static char fill[256 * 1024];
    _Atomic long long echoed = 0;

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    /* sv[0] is the server's end: small send buffer, both timeouts. */
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    /* The client sends what its buffer takes and reads nothing back. */
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    while (write(sv[1], fill, sizeof fill) > 0)
        ;
    enum echo_end end = echo_connection(sv[0], &echoed);
    cr_expect_eq(end, ECHO_NOT_READING, "ended with %d", end);
    close(sv[0]);
    close(sv[1]);
}

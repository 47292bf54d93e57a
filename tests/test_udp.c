/* test_udp.c - bin/udp-echo-server and bin/udp-echo-client.
 *
 * Datagram boundaries, empty and largest datagrams, the client's size
 * limits, timeouts, retries, loss and stray datagrams, IPv6, bad options.
 * Servers start on port 0, are found through their ready line, die with
 * the test (PR_SET_PDEATHSIG) and are reaped in it; every wait is bounded.
 *
 * The small static helpers below stand in for tests/harness.h until that
 * lands; they are static so they cannot clash with other test files.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define UDP_SERVER SOCKLAB_ROOT "/bin/udp-echo-server"
#define UDP_CLIENT SOCKLAB_ROOT "/bin/udp-echo-client"

/* ---- process helpers ---------------------------------------------------- */

struct server {
    pid_t pid;
    int out;        /* read end of its stdout */
    FILE *err;      /* its stderr: a temporary file, which never fills up */
    uint16_t port;
    char ready[128];
};

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* In a fresh child: die with the test, drop descriptors the test process
 * holds (Criterion's among them), then exec. */
static void child_setup(pid_t parent, int keep_max)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);  /* the test died before prctl */
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = keep_max + 1; fd < max; fd++)
        close(fd);
}

/* Start argv (argv[0] a path) with stdout on a pipe and stderr in a temp
 * file; wait (5 s at most) for the ready line. */
static void start_server(struct server *s, const char *const argv[])
{
    int out[2];
    pid_t parent = getpid();

    memset(s, 0, sizeof *s);
    cr_assert_eq(pipe(out), 0, "pipe: %s", strerror(errno));
    s->err = tmpfile();
    cr_assert_not_null(s->err, "tmpfile: %s", strerror(errno));

    s->pid = fork();
    cr_assert_geq(s->pid, 0, "fork: %s", strerror(errno));
    if (s->pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(out[1], 1);
        dup2(fileno(s->err), 2);
        child_setup(parent, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    s->out = out[0];

    size_t used = 0;
    long long end = now_ms() + 5000;
    while (used == 0 || s->ready[used - 1] != '\n') {
        long long left = end - now_ms();
        struct pollfd p = {.fd = s->out, .events = POLLIN};
        cr_assert(left > 0 && poll(&p, 1, (int)left) == 1,
                  "no ready line from %s within 5 s", argv[0]);
        ssize_t n = read(s->out, s->ready + used, 1);
        cr_assert_eq(n, 1, "%s closed stdout before its ready line", argv[0]);
        used++;
        cr_assert_lt(used, sizeof s->ready - 1, "ready line too long");
    }
    s->ready[used] = '\0';
    cr_assert(strncmp(s->ready, "listening on ", 13) == 0,
              "unexpected ready line: %s", s->ready);
    const char *colon = strrchr(s->ready, ':');
    cr_assert_not_null(colon, "no port in: %s", s->ready);
    s->port = (uint16_t)atoi(colon + 1);
    cr_assert_gt(s->port, 0, "bad port in: %s", s->ready);
}

/* Wait at most timeout_ms for pid. Returns its exit code, 128 + signal, or
 * -1 after killing it when it did not end in time. */
static int wait_exit(pid_t pid, long timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    int status;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status)
                                     : 128 + WTERMSIG(status);
        if (r < 0)
            return -2;
        if (now_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        nap_ms(5);
    }
}

/* Everything the server wrote on stderr so far (caller frees). */
static char *server_stderr(struct server *s)
{
    fflush(s->err);
    long size = lseek(fileno(s->err), 0, SEEK_END);
    char *text = calloc(1, (size_t)(size > 0 ? size : 0) + 1);
    cr_assert_not_null(text);
    if (size > 0)
        cr_assert_eq(pread(fileno(s->err), text, (size_t)size, 0), size);
    return text;
}

/* SIGTERM, then at most 5 s for the exit. Returns the exit code. */
static int stop_server(struct server *s)
{
    kill(s->pid, SIGTERM);
    int code = wait_exit(s->pid, 5000);
    close(s->out);
    return code;
}

static void release_server(struct server *s)
{
    if (s->err != NULL)
        fclose(s->err);
    s->err = NULL;
}

/* Run argv with `input` on stdin; collect stdout and stderr (caller frees).
 * Returns the exit code, or -1 when it ran past timeout_ms. */
static int run_program(const char *const argv[], const char *input,
                       size_t input_len, char **out, size_t *out_len,
                       char **err, long timeout_ms)
{
    int in_p[2], out_p[2], err_p[2];
    pid_t parent = getpid();

    cr_assert(pipe(in_p) == 0 && pipe(out_p) == 0 && pipe(err_p) == 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(in_p[0], 0);
        dup2(out_p[1], 1);
        dup2(err_p[1], 2);
        child_setup(parent, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in_p[0]);
    close(out_p[1]);
    close(err_p[1]);
    fcntl(in_p[1], F_SETFL, O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);

    size_t cap[2] = {4096, 4096}, len[2] = {0, 0};
    char *buf[2] = {malloc(cap[0]), malloc(cap[1])};
    int fds[2] = {out_p[0], err_p[0]};
    size_t written = 0;
    int in_fd = in_p[1];
    if (input_len == 0) {
        close(in_fd);
        in_fd = -1;
    }
    long long end = now_ms() + timeout_ms;
    while (fds[0] >= 0 || fds[1] >= 0) {
        struct pollfd p[3] = {{.fd = fds[0], .events = POLLIN},
                              {.fd = fds[1], .events = POLLIN},
                              {.fd = in_fd, .events = POLLOUT}};
        long long left = end - now_ms();
        if (left <= 0 || poll(p, 3, (int)left) <= 0)
            break;  /* timed out */
        for (int k = 0; k < 2; k++) {
            if (fds[k] < 0 || p[k].revents == 0)
                continue;
            if (cap[k] - len[k] < 4096) {
                cap[k] *= 2;
                buf[k] = realloc(buf[k], cap[k]);
            }
            ssize_t n = read(fds[k], buf[k] + len[k], cap[k] - len[k] - 1);
            if (n <= 0) {
                close(fds[k]);
                fds[k] = -1;
            } else {
                len[k] += (size_t)n;
            }
        }
        if (in_fd >= 0 && p[2].revents != 0) {
            ssize_t n = write(in_fd, input + written, input_len - written);
            if (n > 0)
                written += (size_t)n;
            if (n < 0 || written == input_len) {
                close(in_fd);
                in_fd = -1;
            }
        }
    }
    for (int k = 0; k < 2; k++)
        if (fds[k] >= 0)
            close(fds[k]);
    if (in_fd >= 0)
        close(in_fd);
    buf[0][len[0]] = '\0';
    buf[1][len[1]] = '\0';
    *out = buf[0];
    if (out_len != NULL)
        *out_len = len[0];
    *err = buf[1];
    long left = (long)(end - now_ms());
    return wait_exit(pid, left > 0 ? left : 1);
}

/* ---- datagram helpers --------------------------------------------------- */

/* A UDP socket connected to the loopback address of `family` at port, with
 * a 5 s receive timeout. */
static int udp_to(int family, uint16_t port)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    struct timeval tv = {5, 0};

    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    }
    int fd = socket(family, SOCK_DGRAM, 0);
    cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    cr_assert_eq(connect(fd, (struct sockaddr *)&ss, len), 0, "connect: %s",
                 strerror(errno));
    return fd;
}

/* A UDP socket bound to an ephemeral loopback port; *port gets the port. */
static int udp_bound(uint16_t *port)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    struct timeval tv = {5, 0};

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_geq(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static int have_ipv6_loopback(void)
{
    struct sockaddr_in6 a = {0};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd < 0)
        return 0;
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void fill(char *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)((i * 7 + seed) % 256);
}

/* Send datagrams of the given sizes, all first, then receive as many: each
 * must come back whole, same size, same bytes, as one datagram. */
static void expect_boundaries(int fd, const size_t *sizes, int count)
{
    static char out[4][2048], back[4096];

    cr_assert_leq(count, 4);
    for (int i = 0; i < count; i++) {
        fill(out[i], sizes[i], (unsigned)i + 1);
        cr_assert_eq(send(fd, out[i], sizes[i], 0), (ssize_t)sizes[i]);
    }
    for (int i = 0; i < count; i++) {
        ssize_t n = recv(fd, back, sizeof back, 0);
        cr_assert_eq(n, (ssize_t)sizes[i], "datagram %d: %zd bytes, not %zu",
                     i, n, sizes[i]);
        cr_assert(memcmp(back, out[i], sizes[i]) == 0, "datagram %d differs",
                  i);
    }
}

static const char *const udp_argv[] = {UDP_SERVER, "0", NULL};

/* Run the client with args (NULL-terminated, after the program name) and
 * input; returns the exit code, fills out/err (caller frees). */
static int run_client(const char *const args[], const char *input,
                      char **out, size_t *out_len, char **err)
{
    const char *argv[16] = {UDP_CLIENT};
    int i = 0;
    while (args[i] != NULL && i < 14) {
        argv[i + 1] = args[i];
        i++;
    }
    argv[i + 1] = NULL;
    return run_program(argv, input, input != NULL ? strlen(input) : 0, out,
                       out_len, err, 10000);
}

/* ---- the tests ---------------------------------------------------------- */

Test(udp, boundaries_preserved, .timeout = 20)
{
    struct server s;
    start_server(&s, udp_argv);
    int fd = udp_to(AF_INET, s.port);
    const size_t sizes[] = {1, 100, 1000};
    expect_boundaries(fd, sizes, 3);
    close(fd);
    cr_expect_eq(stop_server(&s), 0);
    release_server(&s);
}

Test(udp, empty_datagram_echoed, .timeout = 20)
{
    struct server s;
    start_server(&s, udp_argv);
    int fd = udp_to(AF_INET, s.port);
    char back[16];
    cr_assert_eq(send(fd, back, 0, 0), 0);
    /* An empty datagram is still a datagram: recv returns 0 for it, not
     * "end of stream" as read on a TCP socket would. */
    cr_expect_eq(recv(fd, back, sizeof back, 0), 0, "recv: %s",
                 strerror(errno));
    close(fd);
    cr_expect_eq(stop_server(&s), 0);
    char *err = server_stderr(&s);
    cr_expect(strstr(err, "stopped: 1 datagram echoed, 0 bytes") != NULL,
              "%s", err);
    free(err);
    release_server(&s);
}

Test(udp, largest_ipv4_datagram_through_client, .timeout = 20)
{
    struct server s;
    start_server(&s, udp_argv);
    char port[8], *out, *err;
    size_t out_len;
    snprintf(port, sizeof port, "%u", (unsigned)s.port);

    const char *const args[] = {"-s", "65507", "127.0.0.1", port, NULL};
    int code = run_client(args, NULL, &out, &out_len, &err);
    cr_expect_eq(code, 0, "exit %d: %s", code, err);
    cr_expect_eq(out_len, 65507);
    for (size_t i = 0; i < out_len; i++)
        cr_assert_eq(out[i], (char)('a' + i % 26), "byte %zu differs", i);
    free(out);
    free(err);
    cr_expect_eq(stop_server(&s), 0);
    release_server(&s);
}

Test(udp, too_big_for_ipv4_refused, .timeout = 20)
{
    struct server s;
    start_server(&s, udp_argv);
    char port[8], *out, *err;
    snprintf(port, sizeof port, "%u", (unsigned)s.port);

    const char *const args[] = {"-s", "65508", "127.0.0.1", port, NULL};
    int code = run_client(args, NULL, &out, NULL, &err);
    cr_expect_eq(code, 64, "exit %d: %s", code, err);
    cr_expect(strstr(err, "65508") != NULL && strstr(err, "65507") != NULL,
              "the message should name the size and the limit: %s", err);
    cr_expect_eq(out[0], '\0', "nothing should be printed: %s", out);
    free(out);
    free(err);

    cr_expect_eq(stop_server(&s), 0);
    err = server_stderr(&s);
    cr_expect(strstr(err, "stopped: 0 datagrams echoed") != NULL,
              "something was sent after all: %s", err);
    free(err);
    release_server(&s);
}

Test(udp, lines_through_client, .timeout = 20)
{
    struct server s;
    start_server(&s, udp_argv);
    char port[8], *out, *err;
    size_t out_len;
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    const char input[] = "one\ntwo words\n\nlast, no newline";

    const char *const args[] = {"127.0.0.1", port, NULL};
    int code = run_client(args, input, &out, &out_len, &err);
    cr_expect_eq(code, 0, "exit %d: %s", code, err);
    cr_expect_str_eq(out, input);
    cr_expect_str_eq(err, "");
    free(out);
    free(err);

    cr_expect_eq(stop_server(&s), 0);
    err = server_stderr(&s);
    cr_expect(strstr(err, "stopped: 4 datagrams echoed, 31 bytes") != NULL,
              "%s", err);
    free(err);
    release_server(&s);
}

/* Nothing bound to the port: on Linux loopback the kernel answers with
 * ICMP port unreachable, which the connected client sees as ECONNREFUSED.
 * Either way (refused, or silence until the timeout) the answer is 69. */
Test(udp, no_server_exits_69, .timeout = 20)
{
    uint16_t free_port;
    int hole = udp_bound(&free_port);
    close(hole);  /* now (almost certainly) nobody is on free_port */
    char port[8], *out, *err;
    snprintf(port, sizeof port, "%u", (unsigned)free_port);

    const char *const args[] = {"-w", "100", "-r", "1", "127.0.0.1", port,
                                NULL};
    long long t0 = now_ms();
    int code = run_client(args, "hello\n", &out, NULL, &err);
    long long took = now_ms() - t0;
    cr_expect_eq(code, 69, "exit %d: %s", code, err);
    cr_expect(strstr(err, "udp-echo-client: ") == err, "message: %s", err);
    cr_expect(strstr(err, port) != NULL, "should name the port: %s", err);
    cr_expect_lt(took, 3000, "took %lld ms", took);
    cr_expect_str_eq(out, "");
    free(out);
    free(err);
}

/* A port that is bound but never answers: no ICMP, only silence. The
 * client waits -w, sends again -r times, then gives up with 69. */
Test(udp, silent_server_times_out, .timeout = 20)
{
    uint16_t hole_port;
    int hole = udp_bound(&hole_port);
    char port[8], *out, *err;
    snprintf(port, sizeof port, "%u", (unsigned)hole_port);

    const char *const args[] = {"-w", "100", "-r", "1", "127.0.0.1", port,
                                NULL};
    long long t0 = now_ms();
    int code = run_client(args, "hello\n", &out, NULL, &err);
    long long took = now_ms() - t0;
    cr_expect_eq(code, 69, "exit %d: %s", code, err);
    cr_expect(strstr(err, "no answer from") != NULL, "message: %s", err);
    cr_expect(strstr(err, "2 tries of 100 ms") != NULL, "message: %s", err);
    cr_expect_geq(took, 200, "gave up after %lld ms", took);
    cr_expect_lt(took, 3000, "took %lld ms", took);

    /* The hole got the datagram twice: the first try and one retry. */
    char buf[16];
    int got = 0;
    fcntl(hole, F_SETFL, O_NONBLOCK);
    while (recv(hole, buf, sizeof buf, 0) == 6)
        got++;
    cr_expect_eq(got, 2, "%d datagrams reached the port", got);
    close(hole);
    free(out);
    free(err);
}

/* A fake server in a child process: for datagram 1 it sends a stray
 * datagram and then the echo; it ignores both tries of datagram 2; it
 * echoes datagram 3. */
static void fake_server(int fd)
{
    char buf[256];
    struct sockaddr_storage peer;
    socklen_t len;

    for (int i = 0; i < 4; i++) {
        len = sizeof peer;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0,
                             (struct sockaddr *)&peer, &len);
        if (n < 0)
            _exit(1);
        if (i == 0) {
            sendto(fd, "stray!", 6, 0, (struct sockaddr *)&peer, len);
            sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, len);
        } else if (i == 3) {
            sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, len);
        }
    }
    _exit(0);
}

Test(udp, stray_and_lost_datagrams, .timeout = 20)
{
    uint16_t fake_port;
    int fd = udp_bound(&fake_port);
    pid_t parent = getpid();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        fake_server(fd);
    }
    close(fd);

    char port[8], *out, *err;
    snprintf(port, sizeof port, "%u", (unsigned)fake_port);
    const char *const args[] = {"-w", "300", "-r", "1", "127.0.0.1", port,
                                NULL};
    int code = run_client(args, "one\ntwo\nthree\n", &out, NULL, &err);
    cr_expect_eq(code, 69, "exit %d: %s", code, err);
    cr_expect_str_eq(out, "one\nthree\n");
    cr_expect(strstr(err, "datagram 2 (4 bytes) lost") != NULL, "%s", err);
    cr_expect(strstr(err, "ignored 1 datagram") != NULL, "%s", err);
    cr_expect(strstr(err, "1 of 3 datagrams got no echo") != NULL, "%s", err);
    cr_expect_eq(wait_exit(pid, 5000), 0, "the fake server did not finish");
    free(out);
    free(err);
}

Test(udp, ipv6_loopback, .timeout = 20)
{
    if (!have_ipv6_loopback())
        cr_skip_test("no IPv6 loopback (::1) on this machine");
    const char *const argv[] = {UDP_SERVER, "-b", "::1", "0", NULL};
    struct server s;
    start_server(&s, argv);
    cr_expect(strncmp(s.ready, "listening on [::1]:", 19) == 0, "%s",
              s.ready);

    int fd = udp_to(AF_INET6, s.port);
    const size_t sizes[] = {1, 100, 1000};
    expect_boundaries(fd, sizes, 3);
    close(fd);

    char port[8], *out, *err;
    size_t out_len;
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    const char *const big[] = {"-s", "65527", "::1", port, NULL};
    int code = run_client(big, NULL, &out, &out_len, &err);
    cr_expect_eq(code, 0, "exit %d: %s", code, err);
    cr_expect_eq(out_len, 65527, "IPv6 carries 65527 bytes, got %zu",
                 out_len);
    free(out);
    free(err);

    const char *const too_big[] = {"-s", "65528", "::1", port, NULL};
    code = run_client(too_big, NULL, &out, NULL, &err);
    cr_expect_eq(code, 64, "exit %d: %s", code, err);
    free(out);
    free(err);

    cr_expect_eq(stop_server(&s), 0);
    release_server(&s);
}

Test(udp, bad_client_values_exit_64, .timeout = 30)
{
    static const char *const bad[][3] = {
        {"-w", "abc"}, {"-w", "0"},    {"-w", "-5"},   {"-w", "60001"},
        {"-w", ""},    {"-r", "x"},    {"-r", "-1"},   {"-r", "101"},
        {"-s", "abc"}, {"-s", "-1"},   {"-s", "70000"}, {"-s", "1e3"},
        {"-s", ""},    {"-q", NULL},   {"-w", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *const args[] = {bad[i][0], bad[i][1], NULL};
        char *out, *err;
        int code = run_client(args, NULL, &out, NULL, &err);
        cr_expect_eq(code, 64, "%s %s: exit %d", bad[i][0],
                     bad[i][1] ? bad[i][1] : "", code);
        cr_expect(strncmp(err, "udp-echo-client: ", 17) == 0 &&
                      strchr(err, '\n') == err + strlen(err) - 1,
                  "%s %s: want one line, got: %s", bad[i][0],
                  bad[i][1] ? bad[i][1] : "", err);
        free(out);
        free(err);
    }
    const char *const extra[] = {"127.0.0.1", "7000", "more", NULL};
    const char *const port[] = {"127.0.0.1", "70000", NULL};
    char *out, *err;
    cr_expect_eq(run_client(extra, NULL, &out, NULL, &err), 64);
    free(out);
    free(err);
    cr_expect_eq(run_client(port, NULL, &out, NULL, &err), 64);
    free(out);
    free(err);
}

Test(udp, overlong_line_refused, .timeout = 20)
{
    struct server s;
    start_server(&s, udp_argv);
    char port[8], *out, *err;
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    size_t len = 70000;
    char *input = malloc(len + 2);
    cr_assert_not_null(input);
    memset(input, 'x', len);
    input[len] = '\n';
    input[len + 1] = '\0';

    const char *const args[] = {"127.0.0.1", port, NULL};
    int code = run_client(args, input, &out, NULL, &err);
    cr_expect_eq(code, 65, "exit %d: %s", code, err);
    cr_expect(strstr(err, "70001 bytes") != NULL && strstr(err, "65507"),
              "%s", err);
    free(input);
    free(out);
    free(err);
    cr_expect_eq(stop_server(&s), 0);
    release_server(&s);
}

Test(udp, bad_server_arguments, .timeout = 20)
{
    static const char *const bad[][4] = {
        {"70000"}, {"abc"}, {"-1"}, {"0", "1"}, {"-b", ""}, {"-z"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[6] = {UDP_SERVER};
        for (int k = 0; k < 4 && bad[i][k] != NULL; k++)
            argv[k + 1] = bad[i][k];
        char *out, *err;
        int code = run_program(argv, NULL, 0, &out, NULL, &err, 5000);
        cr_expect_eq(code, 64, "%s: exit %d: %s", bad[i][0], code, err);
        cr_expect_str_eq(out, "", "nothing on stdout");
        free(out);
        free(err);
    }
}

/* A sender that is gone before its echo arrives (the echo bounces off a
 * closed port) does not disturb the server. */
Test(udp, vanished_sender_harmless, .timeout = 20)
{
    struct server s;
    start_server(&s, udp_argv);
    for (int i = 0; i < 20; i++) {
        int gone = udp_to(AF_INET, s.port);
        send(gone, "bye", 3, 0);
        close(gone);
    }
    int fd = udp_to(AF_INET, s.port);
    const size_t sizes[] = {5, 50};
    expect_boundaries(fd, sizes, 2);
    close(fd);
    cr_expect_eq(stop_server(&s), 0);
    release_server(&s);
}

Test(udp, sigterm_summary_and_trace, .timeout = 20)
{
    const char *const argv[] = {UDP_SERVER, "-v", "0", NULL};
    struct server s;
    start_server(&s, argv);
    int fd = udp_to(AF_INET, s.port);
    const size_t sizes[] = {6, 10, 20};
    expect_boundaries(fd, sizes, 3);
    close(fd);

    int code = stop_server(&s);
    char *err = server_stderr(&s);
    cr_expect_eq(code, 0, "exit %d: %s", code, err);
    cr_expect(strstr(err, "stopped: 3 datagrams echoed, 36 bytes") != NULL,
              "%s", err);
    const char *want[] = {
        "socket(AF_INET, SOCK_DGRAM, 0) = 3", "~ uv_udp_init",
        "uv_udp_bind", "recvfrom(3) = 6  from 127.0.0.1:",
        "~ uv_udp_recv_start -> on_recv", "sendto(3, 6, 127.0.0.1:",
        "~ uv_udp_send",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(strstr(err, want[i]) != NULL, "trace lacks '%s'", want[i]);
    free(err);
    release_server(&s);
}

Test(udp, client_help_exits_zero, .timeout = 10)
{
    const char *const args[] = {"-h", NULL};
    char *out, *err;
    cr_expect_eq(run_client(args, NULL, &out, NULL, &err), 0);
    cr_expect(strncmp(out, "usage: udp-echo-client ", 23) == 0, "%s", out);
    free(out);
    free(err);
}

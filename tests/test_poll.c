/* test_poll.c - bin/echo-server-poll: many clients, backpressure, slots.
 *
 * Every server is started on port 0 and found through its ready line; it
 * dies with the test (PR_SET_PDEATHSIG) and is reaped in the test. Every
 * wait has a deadline. Figures (descriptors, RSS) are logged at info level:
 * run with --verbose to see them.
 *
 * The small static helpers below stand in for tests/harness.h until that
 * lands; they are static so they cannot clash with other test files.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_SERVER SOCKLAB_ROOT "/bin/echo-server-poll"
#define ECHO_CLIENT SOCKLAB_ROOT "/bin/echo-client"
#define MIB (1024L * 1024L)

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
 * file; wait (5 s at most) for the ready line. fd_limit > 0 sets both the
 * soft and hard RLIMIT_NOFILE of the child first. */
static void start_server_limited(struct server *s, const char *const argv[],
                                 rlim_t fd_limit)
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
        if (fd_limit > 0) {
            struct rlimit lim = {fd_limit, fd_limit};
            setrlimit(RLIMIT_NOFILE, &lim);
        }
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

static void start_server(struct server *s, const char *const argv[])
{
    start_server_limited(s, argv, 0);
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

/* ---- /proc readings ----------------------------------------------------- */

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;

    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static int open_fds(pid_t pid)
{
    char path[64];
    int count = 0;

    snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            count++;
    closedir(d);
    return count;
}

/* User + system CPU time of pid, in clock ticks. */
static long cpu_ticks(pid_t pid)
{
    char path[64], text[1024];

    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *p = strrchr(text, ')');  /* the name may hold spaces */
    unsigned long utime = 0, stime = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &utime, &stime) != 2)
        return -1;
    return (long)(utime + stime);
}

/* Wait (bounded) until pid has at most `want` descriptors open. */
static int wait_fds_at_most(pid_t pid, int want, long timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    int n;
    while ((n = open_fds(pid)) > want && now_ms() < end)
        nap_ms(5);
    return n;
}

/* ---- client helpers ----------------------------------------------------- */

/* A blocking client with 5 s send and receive timeouts, so that no test
 * can hang on a broken server. */
static int connect_port(uint16_t port)
{
    struct sockaddr_in a = {0};
    struct timeval tv = {5, 0};

    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0,
                 "connect to port %u: %s", (unsigned)port, strerror(errno));
    return fd;
}

static void send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        cr_assert_gt(n, 0, "write: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
}

static void recv_exact(int fd, void *data, size_t len)
{
    char *p = data;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        cr_assert_gt(n, 0, "read (%zu bytes still expected): %s", len,
                     n == 0 ? "server closed" : strerror(errno));
        p += n;
        len -= (size_t)n;
    }
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

static const char *const poll_argv[] = {POLL_SERVER, "0", NULL};
static const char *const traced_argv[] = {POLL_SERVER, "-v", "0", NULL};

/* ---- the tests ---------------------------------------------------------- */

Test(poll, line_echo_through_echo_client, .timeout = 20)
{
    struct server s;
    start_server(&s, poll_argv);
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    const char *const argv[] = {ECHO_CLIENT, "127.0.0.1", port, NULL};
    const char input[] = "hello\nsecond line\n\nno newline at the end";
    char *out, *err;
    size_t out_len;

    int code = run_program(argv, input, sizeof input - 1, &out, &out_len,
                           &err, 10000);
    cr_expect_eq(code, 0, "echo-client exit %d: %s", code, err);
    cr_expect_eq(out_len, sizeof input - 1);
    cr_expect(memcmp(out, input, sizeof input - 1) == 0, "got: %s", out);
    free(out);
    free(err);
    cr_expect_eq(stop_server(&s), 0);
    release_server(&s);
}

/* Full duplex with poll, so neither side waits on the other: send 8 MiB
 * (NUL bytes included), half-close, read until the server closes. The
 * server must send every byte it queued before it closes. */
Test(poll, eight_mib_byte_for_byte, .timeout = 30)
{
    const size_t total = 8 * MIB;
    struct server s;
    start_server(&s, poll_argv);
    char *data = malloc(total), *back = malloc(total);
    cr_assert(data != NULL && back != NULL);
    uint32_t x = 12345;
    for (size_t i = 0; i < total; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (char)(x >> 16);
    }

    int fd = connect_port(s.port);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    size_t sent = 0, got = 0;
    int open_out = 1;
    long long end = now_ms() + 20000;
    while (got < total + 1) {
        struct pollfd p = {.fd = fd,
                           .events = (short)(POLLIN | (open_out ? POLLOUT : 0))};
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
    cr_expect_eq(stop_server(&s), 0);
    release_server(&s);
}

/* How many bytes the server has read, by its trace, and whether it has
 * had to keep echo back for POLLOUT yet. */
static size_t traced_reads(struct server *s, int *kept)
{
    char *err = server_stderr(s);
    size_t total = 0;

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
    struct timeval tv = {5, 0};
    int small = 4096, kept = 0;
    struct server s;
    start_server(&s, traced_argv);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    a.sin_family = AF_INET;
    a.sin_port = htons(s.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);

    char *data = malloc(cap), *back = malloc(cap);
    cr_assert(data != NULL && back != NULL);
    for (size_t i = 0; i < cap; i++)
        data[i] = (char)(i % 251);
    size_t sent = 0;
    while (!kept && sent < cap) {
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
    char extra;
    cr_expect_eq(read(fd, &extra, 1), 0, "no EOF after the echo");
    close(fd);
    free(data);
    free(back);
    cr_expect_eq(stop_server(&s), 0);

    /* The trace shows the case happened: echo written after the EOF. */
    char *err = server_stderr(&s);
    const char *eof = strstr(err, "= 0  peer closed");
    const char *later = eof != NULL ? strstr(eof, "uv__write") : NULL;
    const char *closed = eof != NULL ? strstr(eof, "close(") : NULL;
    cr_expect(later != NULL && closed != NULL && later < closed,
              "nothing was pending at EOF: the test proved nothing");
    cr_log_info("half-close: echo first kept back after %zu bytes", sent);
    free(err);
    release_server(&s);
}

Test(poll, sigterm_exits_zero_with_summary, .timeout = 20)
{
    struct server s;
    start_server(&s, poll_argv);
    int a = connect_port(s.port), b = connect_port(s.port);
    expect_echo(a, "0123456789");
    expect_echo(b, "abc");
    close(a);
    wait_fds_at_most(s.pid, 7, 2000);  /* a closed: 0-2, 3, pipe, b */

    int code = stop_server(&s);  /* b is still connected */
    char *err = server_stderr(&s);
    cr_expect_eq(code, 0, "exit %d; stderr: %s", code, err);
    cr_expect(strstr(err, "stopped: 2 clients served, 13 bytes echoed") !=
                  NULL,
              "summary missing: %s", err);
    free(err);
    close(b);
    release_server(&s);
}

/* 1,000 clients connected at the same time, each echoed, twice. */
Test(poll, thousand_clients_at_once, .timeout = 60)
{
    enum { N = 1000, BATCH = 100 };
    static int fds[N];
    char msg[32];
    struct server s;

    raise_own_fd_limit(N + 64);
    start_server(&s, poll_argv);
    long rss_before = rss_kib(s.pid);
    int fds_before = open_fds(s.pid);

    /* Connect in batches no bigger than the backlog (128), checking each
     * batch answers, so that no SYN is dropped and retried a second later. */
    for (int first = 0; first < N; first += BATCH) {
        for (int i = first; i < first + BATCH; i++)
            fds[i] = connect_port(s.port);
        for (int i = first; i < first + BATCH; i++) {
            snprintf(msg, sizeof msg, "hello %d\n", i);
            expect_echo(fds[i], msg);
        }
    }
    int fds_during = open_fds(s.pid);
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

    int code = stop_server(&s);
    char *err = server_stderr(&s);
    cr_expect_eq(code, 0, "exit %d: %s", code, err);
    cr_expect(strstr(err, "stopped: 1000 clients served") != NULL, "%s", err);
    free(err);
    release_server(&s);
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
    start_server(&s, poll_argv);
    long rss_start = rss_kib(s.pid);

    int other = connect_port(s.port);
    expect_echo(other, "before the flood");

    int hog = connect_port(s.port);
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
    cr_expect_eq(stop_server(&s), 0);
    release_server(&s);
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

    fcntl(fd, F_SETFL, 0);  /* blocking again, with the 5 s timeout */
    while (pushed > 0) {
        size_t want = pushed < sizeof back ? pushed : sizeof back;
        ssize_t n = read(fd, back, want);
        cr_assert_gt(n, 0, "hog: %zu bytes still expected", pushed);
        for (ssize_t i = 0; i < n; i++)
            cr_assert_eq(back[i], 'H', "hog got another client's bytes");
        pushed -= (size_t)n;
    }
    close(fd);
}

/* The trace shows the server did stop reading a hog at least once, so the
 * slots that moved really carried state. */
static void expect_backpressure(struct server *s)
{
    char *err = server_stderr(s);
    cr_expect(strstr(err, "stop reading  ~ uv_read_stop") != NULL,
              "the hog never pushed the server into backpressure");
    free(err);
}

/* Open n clients and a hog behind them (the hog's slot moves down each
 * time one of them closes), then close the n in the given order (count of
 * them), checking the rest after each close. */
static void close_in_order(uint16_t port, int n, const int *order, int count)
{
    int fds[16], open[16];

    cr_assert_leq(n, 16);
    for (int i = 0; i < n; i++) {
        fds[i] = connect_port(port);
        open[i] = 1;
    }
    int hog = connect_port(port);
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
    start_server(&s, traced_argv);
    const int first[] = {0}, last[] = {7}, middle[] = {4};
    close_in_order(s.port, 8, first, 1);
    close_in_order(s.port, 8, last, 1);
    close_in_order(s.port, 8, middle, 1);
    cr_expect_eq(stop_server(&s), 0);
    expect_backpressure(&s);
    release_server(&s);
}

/* Close all but one at once (the server sees several closes in one pass),
 * then check the survivor and newcomers. */
Test(poll, close_all_but_one, .timeout = 20)
{
    int fds[12], open[12];
    struct server s;
    start_server(&s, traced_argv);

    for (int i = 0; i < 8; i++) {
        fds[i] = connect_port(s.port);
        open[i] = 1;
    }
    int hog = connect_port(s.port);  /* behind them: it will move */
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
        fds[i] = connect_port(s.port);
        open[i] = 1;
    }
    check_alive(fds, open, 12, 2);
    finish_hog(hog, pushed);
    for (int i = 0; i < 12; i++)
        if (open[i])
            close(fds[i]);
    cr_expect_eq(stop_server(&s), 0);
    expect_backpressure(&s);
    release_server(&s);
}

/* Four clients closed in each of the 24 possible orders. */
Test(poll, close_in_every_order, .timeout = 30)
{
    struct server s;
    start_server(&s, traced_argv);
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
                    close_in_order(s.port, 4, order, 4);
                }
    int code = stop_server(&s);
    char *err = server_stderr(&s);
    cr_expect_eq(code, 0, "exit %d: %s", code, err);
    cr_expect(strstr(err, "stopped: 120 clients served") != NULL,
              "no summary");
    free(err);
    expect_backpressure(&s);
    release_server(&s);
}

/* A client that resets (close with SO_LINGER 0) in the middle of a large
 * echo takes nobody else down. */
Test(poll, reset_client_does_not_hurt_others, .timeout = 20)
{
    struct server s;
    start_server(&s, poll_argv);
    int other = connect_port(s.port);
    int rude = connect_port(s.port);
    char *data = calloc(1, 2 * MIB);
    cr_assert_not_null(data);
    send_all(rude, data, 2 * MIB);  /* fits in the buffers; never read */
    struct linger hard = {1, 0};
    setsockopt(rude, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    close(rude);
    free(data);
    expect_echo(other, "still here");
    wait_fds_at_most(s.pid, 7, 5000);
    cr_expect_eq(open_fds(s.pid), 7, "the reset client was not closed");
    expect_echo(other, "still here again");
    close(other);
    cr_expect_eq(stop_server(&s), 0);
    release_server(&s);
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
    start_server_limited(&s, poll_argv, 24);
    for (int i = 0; i < N; i++) {
        fds[i] = connect_port(s.port);
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
    nap_ms(1000);  /* measuring an interval, not waiting for an event */
    long ticks = cpu_ticks(s.pid) - ticks0;
    long hz = sysconf(_SC_CLK_TCK);
    cr_expect_lt(ticks, hz / 5, "server used %ld ticks of %ld in 1 s", ticks,
                 hz);

    char *err = server_stderr(&s);
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
        recv_exact(fds[i], back, strlen(msg));  /* 5 s receive timeout */
        cr_expect(memcmp(back, msg, strlen(msg)) == 0);
        close(fds[i]);
    }
    cr_log_info("descriptor limit 24: %d of %d clients served at once; "
                "%ld CPU ticks (of %ld/s) in 1 s paused",
                count, N, ticks, hz);
    cr_expect_eq(stop_server(&s), 0);
    release_server(&s);
}

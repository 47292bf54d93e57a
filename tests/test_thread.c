/* test_thread.c - what the thread-per-client server adds: a thread per
 * client and none left over, the -c cap counted in threads, stop signals
 * for main only, and a stop that reaches a thread wherever it sleeps.
 *
 * The cases every server shares (echo, 8 MiB, reset, IPv6, -c, -t, -g, the
 * stop's reset and byte count, a second SIGINT) run from test_servers.c
 * and test_hardening_bounds.c, where echo-server-thread is one line of
 * each list. Threads are counted in /proc/PID/task: one entry per thread,
 * main's included. (Not for a ThreadSanitizer build: its runtime starts a
 * thread of its own at the first pthread_create. Run that one through the
 * stop and bounds suites, which count no threads.)
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define THREAD_SERVER "echo-server-thread"
#define KIB 1024UL

TestSuite(thread, .timeout = 60, .fini = harness_cleanup);

static void start_thread_server(struct server *srv, const char *const args[])
{
    char path[1024];
    if (!bin_exists(THREAD_SERVER))
        cr_skip_test("%s not built: no executable %s", THREAD_SERVER,
                     bin_path(THREAD_SERVER, path, sizeof path));
    cr_assert_eq(server_start(srv, THREAD_SERVER, args, NULL), 0, "%s",
                 harness_error());
}

/* Connect, send msg, read it back; the fd stays open. */
static int connect_and_echo(const struct server *srv, const char *msg)
{
    char back[256];
    size_t n = strlen(msg);
    int fd = tcp_connect(srv->host, srv->port);
    cr_assert_geq(fd, 0, "connect: %s", harness_error());
    cr_assert_eq(sock_send_all(fd, msg, n, 5000), n);
    cr_assert_eq(sock_read_exact(fd, back, n, 5000), n,
                 "no echo of '%s' within 5 s: %s", msg, harness_error());
    cr_assert(memcmp(back, msg, n) == 0);
    return fd;
}

/* ---- what /proc says about the server's threads ------------------------- */

/* The thread ids of pid (entries of /proc/PID/task), up to max into tids
 * (may be NULL). Returns how many, or -1 when pid is gone. */
static int threads_of(pid_t pid, pid_t *tids, int max)
{
    char path[64];
    int n = 0;
    snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        if (tids != NULL && n < max)
            tids[n] = (pid_t)atol(e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

/* Wait at most ms until pid has exactly want threads. A detached thread
 * ends a moment after its client's close reaches us: this waits for that
 * condition, bounded. Returns the last count seen. */
static int wait_threads(pid_t pid, int want, long ms)
{
    long long deadline = now_ms() + ms;
    int n;
    while ((n = threads_of(pid, NULL, 0)) != want && now_ms() < deadline)
        nap_ms(2);
    return n;
}

/* The blocked-signal mask of one thread (SigBlk in its status), as bits:
 * bit signo - 1 is signal signo. Returns 0 and fills *mask, or -1. */
static int blocked_signals(pid_t pid, pid_t tid, unsigned long long *mask)
{
    char path[96], line[256];
    int found = -1;
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/status", (long)pid,
             (long)tid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "SigBlk: %llx", mask) == 1)
            found = 0;
    fclose(f);
    return found;
}

static int has_signal(unsigned long long mask, int signo)
{
    return (mask >> (signo - 1)) & 1;
}

/* ---- sockets ------------------------------------------------------------ */

/* Read everything until the connection ends, at most ms; adds to *got.
 * Returns 0 for a normal end of file, the errno of an error (ECONNRESET
 * for a reset), or -1 when the time ran out. */
static int read_to_the_end(int fd, size_t *got, long ms)
{
    static char buf[256 * KIB];
    long long deadline = now_ms() + ms;
    for (;;) {
        long long left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) == 0)
            return -1;
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            *got += (size_t)n;
            continue;
        }
        if (n == 0)
            return 0;
        if (errno != EAGAIN && errno != EINTR)
            return errno;
    }
}

/* A client with a 4 KiB receive buffer that sends and reads none of the
 * echo, until nothing more goes in for 300 ms (at most 64 MiB): every
 * buffer both ways is full, so the server's thread is blocked in write
 * (it cannot be in read: a read would have made room for more). Returns
 * the socket; *sent says how much went. */
static int stuck_writer(const struct server *srv, size_t *sent)
{
    static unsigned char chunk[64 * KIB];
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons(srv->port)};
    int small = 4096;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small),
                 0);
    inet_pton(AF_INET, srv->host, &sin.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0, "%s",
                 strerror(errno));
    fill_random(chunk, sizeof chunk, 37);
    *sent = 0;
    for (int i = 0; i < 1024; i++) {
        size_t n = sock_send_all(fd, chunk, sizeof chunk, 300);
        *sent += n;
        if (n < sizeof chunk)
            return fd;
    }
    cr_assert_fail("64 MiB went in without the echo backing up");
    return -1;
}

/* "stopped: N clients served, B bytes written back, K cut off by the
 * stop": N, B and K. Returns 0, or -1 when there is no such line. */
static int summary(const char *err, long *served, long long *bytes,
                   long *cut_off)
{
    const char *line = strstr(err, "stopped: ");
    if (line == NULL || sscanf(line, "stopped: %ld client", served) != 1)
        return -1;
    const char *rest = strchr(line, ',');
    if (rest == NULL ||
        sscanf(rest, ", %lld bytes written back, %ld cut off by the stop",
               bytes, cut_off) != 2)
        return -1;
    return 0;
}

/* Wait at most ms until the server has exited by itself (a zombie, not
 * yet reaped: state Z). Returns 1 when it has. */
static int wait_exited(pid_t pid, long ms)
{
    char path[64], text[512];
    long long deadline = now_ms() + ms;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    for (;;) {
        FILE *f = fopen(path, "r");
        if (f == NULL)
            return 0;  /* not ours to reap any more: should not happen */
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[n] = '\0';
        const char *paren = strrchr(text, ')');
        if (paren != NULL && paren[1] == ' ' && paren[2] == 'Z')
            return 1;
        if (now_ms() >= deadline)
            return 0;
        nap_ms(2);
    }
}

/* ---- threads come and go ------------------------------------------------ */

/* One thread per client while it is connected, and none left after it
 * goes: 50 clients, ten at a time, and the server is back to its one
 * thread (and its descriptors) at the end. A detached thread that never
 * ended, or a descriptor never closed, would show here. */
Test(thread, a_thread_per_client_and_none_left_after_50)
{
    struct server srv;
    int fds[10];
    char msg[32];

    start_thread_server(&srv, NULL);
    cr_assert_eq(threads_of(srv.pid, NULL, 0), 1, "threads before any "
                 "client");
    int fds_before = count_open_fds(srv.pid);
    cr_assert_gt(fds_before, 0);

    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 10; i++) {
            snprintf(msg, sizeof msg, "client %d.%d\n", round, i);
            fds[i] = connect_and_echo(&srv, msg);
        }
        /* Every one was echoed, so every one has its thread now. */
        cr_expect_eq(threads_of(srv.pid, NULL, 0), 11, "round %d: ten "
                     "clients connected, not ten threads and main", round);
        for (int i = 0; i < 10; i++)
            close(fds[i]);
    }
    int left = wait_threads(srv.pid, 1, 5000);
    cr_expect_eq(left, 1, "%d threads 5 s after the 50th client left",
                 left);
    cr_expect_eq(count_open_fds(srv.pid), fds_before,
                 "descriptors: %d before, %d after 50 clients", fds_before,
                 count_open_fds(srv.pid));
    cr_assert_eq(server_stop_clean(&srv), 0, "%s", harness_error());
    long served = 0, cut_off = -1;
    long long bytes = 0;
    cr_assert_eq(summary(srv.err_text, &served, &bytes, &cut_off), 0, "%s",
                 srv.err_text);
    cr_expect_eq(served, 50, "%s", srv.err_text);
    cr_expect_eq(cut_off, 0, "%s", srv.err_text);
    server_release(&srv);
}

/* -c 3: three clients, three threads. A fourth and a fifth connect (the
 * kernel queues them) but get no thread and no echo until one of the
 * three leaves; then the fourth is served, still with three threads. */
Test(thread, at_the_cap_no_thread_is_started_until_one_ends)
{
    const char *const args[] = {"-v", "-c", "3", NULL};
    struct server srv;
    int fds[3];
    char back[8];

    start_thread_server(&srv, args);
    for (int i = 0; i < 3; i++)
        fds[i] = connect_and_echo(&srv, "in\n");
    int d = tcp_connect(srv.host, srv.port);
    int e = tcp_connect(srv.host, srv.port);
    cr_assert(d >= 0 && e >= 0, "%s", harness_error());
    cr_assert_eq(sock_send_all(d, "D\n", 2, 5000), 2);
    cr_assert_eq(sock_send_all(e, "E\n", 2, 5000), 2);
    cr_expect_eq(sock_quiet_for(d, 300), 1, "the 4th client was echoed "
                 "with -c 3");
    cr_expect_eq(threads_of(srv.pid, NULL, 0), 4, "-c 3 with 5 clients "
                 "connected: not three threads and main");

    close(fds[0]);
    cr_expect_eq(sock_read_exact(d, back, 2, 5000), 2, "the 4th client was "
                 "not served after one of three left: %s", harness_error());
    cr_expect_eq(sock_quiet_for(e, 300), 1, "the 5th client was echoed "
                 "while three were served");
    cr_expect_eq(wait_threads(srv.pid, 4, 5000), 4,
                 "threads after one left and the 4th came in");
    close(fds[1]);
    cr_expect_eq(sock_read_exact(e, back, 2, 5000), 2, "the 5th client was "
                 "not served after another left: %s", harness_error());
    close(fds[2]);
    close(d);
    close(e);
    char *err = server_stderr_now(&srv);
    cr_expect(err != NULL && strstr(err, "3 threads = the cap (-c 3)") !=
                                 NULL,
              "the trace does not say the cap was reached:\n%s", err);
    free(err);
    cr_expect_eq(server_stop_clean(&srv), 0, "%s", harness_error());
    server_release(&srv);
}

/* SIGINT, SIGTERM and SIGALRM are sent to the process; the kernel gives
 * them to a thread that does not block them. Every client's thread blocks
 * them (main created it with them blocked), so main alone gets them;
 * SIGUSR1, by which main interrupts a thread at a stop, stays open. */
Test(thread, stop_signals_are_blocked_in_every_clients_thread)
{
    struct server srv;
    pid_t tids[8];
    unsigned long long mask;

    start_thread_server(&srv, NULL);
    int a = connect_and_echo(&srv, "a\n");
    int b = connect_and_echo(&srv, "b\n");
    /* Main blocks the stop signals for the moment of each pthread_create
     * (the new thread inherits that mask), and b's echo can come back
     * before main has unblocked them again: read the masks once main is
     * asleep in accept, where its own mask is back to normal. */
    cr_assert(wait_until_asleep(srv.pid, 2000), "main never went back to "
              "sleep in accept");
    int n = threads_of(srv.pid, tids, 8);
    cr_assert_eq(n, 3, "two clients: %d threads", n);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(blocked_signals(srv.pid, tids[i], &mask), 0);
        if (tids[i] == srv.pid) {
            cr_expect(!has_signal(mask, SIGINT) && !has_signal(mask, SIGTERM)
                          && !has_signal(mask, SIGALRM),
                      "main blocks a stop signal: SigBlk %llx", mask);
            continue;
        }
        cr_expect(has_signal(mask, SIGINT) && has_signal(mask, SIGTERM) &&
                      has_signal(mask, SIGALRM),
                  "thread %ld does not block SIGINT, SIGTERM and SIGALRM: "
                  "SigBlk %llx", (long)tids[i], mask);
        cr_expect(!has_signal(mask, SIGUSR1), "thread %ld blocks SIGUSR1: "
                  "main could not interrupt it", (long)tids[i]);
    }
    close(a);
    close(b);
    cr_expect_eq(server_stop_clean(&srv), 0, "%s", harness_error());
    server_release(&srv);
}

/* ---- the stop ----------------------------------------------------------- */

/* A stop with three clients (-g 2): A is mid-echo and finishes within the
 * grace period (its whole echo, then a normal end of file); B is idle and
 * C reads none of its echo, so both are still there when the grace period
 * ends, and each gets a reset, never a normal end of file: C's after part
 * of its echo. The summary counts exactly the bytes the three received. */
Test(thread, a_stop_lets_one_finish_and_resets_the_others_after_the_grace)
{
    static unsigned char data[256 * KIB], back[256 * KIB];
    const char *const args[] = {"-g", "2", NULL};
    struct server srv;
    size_t got_b = 2, got_c = 0, sent_c = 0, extra = 0;  /* B: "B\n" */

    start_thread_server(&srv, args);
    fill_random(data, sizeof data, 31);
    int a = connect_and_echo(&srv, "A\n");
    int b = connect_and_echo(&srv, "B\n");
    int c = stuck_writer(&srv, &sent_c);
    cr_assert_eq(wait_threads(srv.pid, 4, 5000), 4);

    cr_assert(wait_until_asleep(srv.pid, 2000));
    long long t0 = now_ms();
    cr_assert_eq(kill(srv.pid, SIGTERM), 0);
    /* A finishes: all of it, a half-close, all of it back, a normal end. */
    cr_assert_eq(sock_send_all(a, data, sizeof data, 5000), sizeof data);
    cr_assert_eq(shutdown(a, SHUT_WR), 0);
    cr_expect_eq(sock_read_exact(a, back, sizeof back, 5000), sizeof back,
                 "A did not get its whole echo after the stop: %s",
                 harness_error());
    cr_expect(memcmp(back, data, sizeof data) == 0, "A's echo differs");
    cr_expect_eq(read_to_the_end(a, &extra, 5000), 0, "A's session did not "
                 "end normally");
    close(a);

    /* B is idle: it gets a reset when the grace period is over. */
    int end = read_to_the_end(b, &got_b, 5000);
    long long waited = now_ms() - t0;
    cr_expect_eq(end, ECONNRESET, "idle B saw %s, not a reset",
                 end < 0 ? "nothing" : end == 0 ? "a normal end of file"
                                                : strerror(end));
    cr_expect_geq(waited, 1500, "B was reset %lld ms after the stop, "
                  "before the grace period of 2 s was over", waited);
    close(b);

    /* C reads only once the server has gone (its count is taken just
     * before the reset): part of its echo, then a reset. */
    cr_assert(wait_exited(srv.pid, 5000), "still running 5 s after the "
              "grace period");
    server_stop(&srv);  /* it has exited: this reaps it, reads its stderr */
    cr_expect(exited_with(&srv.exit, 0), "not exit 0:\n%s", srv.err_text);
    end = read_to_the_end(c, &got_c, 5000);
    cr_expect_eq(end, ECONNRESET, "C saw %s after %zu of %zu bytes, not a "
                 "reset", end < 0 ? "nothing" : end == 0
                                    ? "a normal end of file" : strerror(end),
                 got_c, sent_c);
    cr_expect_lt(got_c, sent_c, "C got its whole echo: not cut off");
    close(c);

    long served = 0, cut_off = -1;
    long long bytes = -1;
    cr_assert_eq(summary(srv.err_text, &served, &bytes, &cut_off), 0, "%s",
                 srv.err_text);
    cr_expect_eq(cut_off, 2, "%s", srv.err_text);
    cr_expect_eq(bytes, (long long)(2 + sizeof data + got_b + got_c),
                 "reported %lld bytes written back; the clients received "
                 "%zu", bytes, 2 + sizeof data + got_b + got_c);
    cr_expect_null(strstr(srv.err_text, "did not end"), "%s", srv.err_text);
    server_release(&srv);
}

/* -g 60, and a client whose thread is blocked in write (it reads none of
 * its echo). The second SIGINT cuts it at once: the thread is interrupted
 * in write by main's SIGUSR1, resets the client and ends, well within the
 * second main would give it before leaving it stuck. */
Test(thread, a_second_sigint_interrupts_a_thread_blocked_in_write)
{
    const char *const args[] = {"-v", "-g", "60", NULL};
    struct server srv;
    size_t got = 0, sent = 0;

    start_thread_server(&srv, args);
    int c = stuck_writer(&srv, &sent);
    cr_assert_eq(wait_threads(srv.pid, 2, 5000), 2);
    cr_assert(wait_until_asleep(srv.pid, 2000));
    cr_assert_eq(kill(srv.pid, SIGINT), 0);
    /* Bounded wait until the first stop has been seen: the listener is
     * closed, so a connect is refused. */
    long long deadline = now_ms() + 5000;
    for (;;) {
        struct sockaddr_in sin = {.sin_family = AF_INET,
                                  .sin_port = htons(srv.port)};
        inet_pton(AF_INET, srv.host, &sin.sin_addr);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        cr_assert_geq(fd, 0);
        int rc = connect(fd, (struct sockaddr *)&sin, sizeof sin);
        int err = errno;
        close(fd);
        if (rc < 0 && err == ECONNREFUSED)
            break;
        cr_assert_lt(now_ms(), deadline, "still accepting 5 s after SIGINT");
        nap_ms(5);
    }
    cr_assert(server_alive(&srv), "ended at the first SIGINT with -g 60");

    long long t0 = now_ms();
    cr_assert_eq(kill(srv.pid, SIGINT), 0);
    cr_assert(wait_exited(srv.pid, 5000),
              "still running 5 s after the second SIGINT");
    long long took = now_ms() - t0;
    server_stop(&srv);  /* it has exited: this reaps it, reads its stderr */
    cr_expect(exited_with(&srv.exit, 0), "not exit 0:\n%s", srv.err_text);
    int end = read_to_the_end(c, &got, 5000);
    cr_expect_eq(end, ECONNRESET, "the client saw %s, not a reset",
                 end < 0 ? "nothing" : end == 0 ? "a normal end of file"
                                                : strerror(end));
    close(c);
    cr_expect_lt(got, sent, "the whole echo came back: nothing was cut");
    cr_expect_lt(took, 900, "exited %lld ms after the second SIGINT", took);
    cr_expect(strstr(srv.err_text, "pthread_kill(thread 1, SIGUSR1) = 0") !=
                  NULL, "main did not interrupt the thread:\n%s",
              srv.err_text);
    cr_expect_null(strstr(srv.err_text, "did not end"),
                   "the thread was not interrupted in write:\n%s",
                   srv.err_text);
    long served = 0, cut_off = -1;
    long long bytes = -1;
    cr_assert_eq(summary(srv.err_text, &served, &bytes, &cut_off), 0, "%s",
                 srv.err_text);
    cr_expect_eq(cut_off, 1, "%s", srv.err_text);
    cr_expect_eq(bytes, (long long)got, "reported %lld bytes written back; "
                 "the client received %zu", bytes, got);
    server_release(&srv);
}

/* The -v trace names each thread as it is created, and says what libuv
 * does instead. */
Test(thread, the_trace_shows_each_pthread_create)
{
    const char *const args[] = {"-v", NULL};
    struct server srv;
    char line[512];

    start_thread_server(&srv, args);
    int a = connect_and_echo(&srv, "one\n");
    int b = connect_and_echo(&srv, "two\n");
    close(a);
    close(b);
    cr_assert_eq(wait_threads(srv.pid, 1, 5000), 1);
    cr_assert_eq(server_stop_clean(&srv), 0, "%s", harness_error());
    cr_assert_not_null(line_with(srv.err_text, "(thread 2)", line,
                                 sizeof line), "%s", srv.err_text);
    cr_expect(strstr(line, "pthread_create(serve_client, fd ") != NULL &&
                  strstr(line, ") = 0  (thread 2)") != NULL,
              "%s", line);
    cr_expect(strstr(line, "one loop") != NULL, "no libuv twin: %s", line);
    cr_expect_not_null(strstr(srv.err_text, "thread 1: done"), "%s",
                       srv.err_text);
    cr_expect_not_null(strstr(srv.err_text, "pthread_attr_setstacksize("),
                       "%s", srv.err_text);
    server_release(&srv);
}

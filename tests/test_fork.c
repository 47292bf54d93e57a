/* test_fork.c - what the fork-per-client server adds: concurrency, reaping,
 * the -c cap, the -t idle timeout, and surviving its children.
 *
 * The cases every server shares (echo, binary, 8 MiB, reset, IPv6, bad
 * ports, SIGTERM) run from test_servers.c, where echo-server-fork is one
 * line of the SERVERS list. The contrast with the iterative server's
 * waiting client is there too (suite "iterative").
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define FORK_SERVER "echo-server-fork"

TestSuite(fork, .timeout = 60, .fini = harness_cleanup);

static void start_fork(struct server *srv, const char *const args[])
{
    char path[1024];
    if (!bin_exists(FORK_SERVER))
        cr_skip_test("%s not built: no executable %s", FORK_SERVER,
                     bin_path(FORK_SERVER, path, sizeof path));
    cr_assert_eq(server_start(srv, FORK_SERVER, args, NULL), 0, "%s",
                 harness_error());
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
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
                 "no echo of '%s' within 5 s", msg);
    cr_assert(memcmp(back, msg, n) == 0);
    return fd;
}

/* ---- what /proc says about the server ----------------------------------- */

/* Processes whose parent is pid and whose state is Z, from /proc/N/stat. */
static int zombies_of(pid_t pid)
{
    int zombies = 0;
    DIR *proc = opendir("/proc");
    struct dirent *e;
    cr_assert_not_null(proc);
    while ((e = readdir(proc)) != NULL) {
        char path[300], comm[64], state;
        long ppid;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;  /* gone since readdir */
        /* pid (comm) state ppid: comm has no spaces for our programs, and
         * a process that is not ours and has odd comm only fails to match */
        if (fscanf(f, "%*d (%63[^)]) %c %ld", comm, &state, &ppid) == 3 &&
            ppid == (long)pid && state == 'Z')
            zombies++;
        fclose(f);
    }
    closedir(proc);
    return zombies;
}

/* Wait (bounded) until the server has no children left: they exit after
 * their clients close, and are reaped when SIGCHLD has run. */
static int wait_no_children(pid_t pid, int timeout_ms)
{
    struct timespec t0, pause = {0, 5 * 1000 * 1000};
    pid_t kids[8];
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (ms_since(&t0) < timeout_ms) {
        if (children_of(pid, kids, 8) == 0)
            return 0;
        nanosleep(&pause, NULL);  /* polling a condition, with a bound */
    }
    return -1;
}

/* ---- concurrency ----------------------------------------------------------- */

Test(fork, twenty_clients_connected_at_once_are_all_echoed)
{
    struct server srv;
    int fds[20];
    char msg[32];
    start_fork(&srv, NULL);

    /* All twenty are connected before any is answered... */
    for (int i = 0; i < 20; i++) {
        fds[i] = tcp_connect(srv.host, srv.port);
        cr_assert_geq(fds[i], 0, "connect %d: %s", i, harness_error());
    }
    /* ...and each is echoed while the other nineteen stay connected. */
    for (int i = 19; i >= 0; i--) {
        char back[32];
        int n = snprintf(msg, sizeof msg, "client %d\n", i);
        cr_assert_eq(sock_send_all(fds[i], msg, (size_t)n, 5000), (size_t)n);
        cr_assert_eq(sock_read_exact(fds[i], back, (size_t)n, 5000),
                     (size_t)n, "client %d got no echo while 19 others were "
                     "connected", i);
        cr_assert(memcmp(back, msg, (size_t)n) == 0);
    }
    pid_t kids[32];
    cr_expect_eq(children_of(srv.pid, kids, 32), 20,
                 "expected one child per connected client");
    for (int i = 0; i < 20; i++)
        close(fds[i]);
    cr_expect_eq(server_stop(&srv), 0, "%s", harness_error());
    cr_expect(srv.exit.exited && srv.exit.code == 0);
    server_release(&srv);
}

/* ---- churn: no zombies, no leaked descriptors ----------------------------- */

#define CHURN_CLIENTS 200
#define CHURN_AT_ONCE 4

/* One churning child of the test: its share of short clients, each
 * connect, echo, close. Exit 0 when every echo came back. */
static const struct server *churn_target;

static int churn_main(void *arg)
{
    int count = *(int *)arg;
    for (int i = 0; i < count; i++) {
        char back[16];
        int fd = tcp_connect(churn_target->host, churn_target->port);
        if (fd < 0)
            return 1;
        if (sock_send_all(fd, "churn\n", 6, 5000) != 6 ||
            sock_read_exact(fd, back, 6, 5000) != 6) {
            close(fd);
            return 2;
        }
        close(fd);
    }
    return 0;
}

Test(fork, two_hundred_short_clients_leave_no_zombie_and_no_fd)
{
    struct server srv;
    pid_t workers[CHURN_AT_ONCE];
    int share = CHURN_CLIENTS / CHURN_AT_ONCE;
    start_fork(&srv, NULL);
    churn_target = &srv;

    int fds_before = count_open_fds(srv.pid);
    cr_assert_gt(fds_before, 0);

    for (int i = 0; i < CHURN_AT_ONCE; i++) {
        workers[i] = child_run(churn_main, &share);
        cr_assert_gt(workers[i], 0);
    }
    for (int i = 0; i < CHURN_AT_ONCE; i++) {
        struct exit_info how;
        char text[64];
        cr_assert_eq(child_wait(workers[i], 30000, &how), 0);
        cr_assert(how.exited && how.code == 0, "churn worker %d: %s", i,
                  describe_exit(&how, text, sizeof text));
    }

    cr_assert_eq(wait_no_children(srv.pid, 5000), 0,
                 "children still there 5 s after their clients left");
    int zombies = zombies_of(srv.pid);
    int fds_after = count_open_fds(srv.pid);
    cr_log_info("churn: %d clients, %d zombies after, fds %d before / %d "
                "after", CHURN_CLIENTS, zombies, fds_before, fds_after);
    cr_expect_eq(zombies, 0, "%d zombie children after %d clients", zombies,
                 CHURN_CLIENTS);
    cr_expect_eq(fds_after, fds_before, "server had %d fds before the churn "
                 "and %d after", fds_before, fds_after);

    cr_assert_eq(server_stop(&srv), 0, "%s", harness_error());
    char served[64];
    snprintf(served, sizeof served, "%d clients served", CHURN_CLIENTS);
    cr_expect(strstr(srv.err_text, served) != NULL,
              "summary does not say '%s': %s", served, srv.err_text);
    cr_expect(has_number(srv.err_text, CHURN_CLIENTS * 6ULL),
              "summary does not count %d bytes: %s", CHURN_CLIENTS * 6,
              srv.err_text);
    server_release(&srv);
}

/* ---- the cap ----------------------------------------------------------------- */

Test(fork, at_the_cap_the_third_client_waits_for_one_to_leave)
{
    struct server srv;
    const char *args[] = {"-v", "-c", "2", NULL};
    char back[8];
    start_fork(&srv, args);

    int a = connect_and_echo(&srv, "A\n");
    int b = connect_and_echo(&srv, "B\n");

    /* C's connect succeeds (the kernel queues it) but nobody serves it. */
    int c = tcp_connect(srv.host, srv.port);
    cr_assert_geq(c, 0, "%s", harness_error());
    cr_assert_eq(sock_send_all(c, "C\n", 2, 5000), 2);
    cr_expect_eq(sock_quiet_for(c, 300), 1,
                 "the third client was echoed with -c 2 and two connected");

    /* One of the first two leaves: now C is accepted and echoed. */
    close(a);
    cr_expect_eq(sock_read_exact(c, back, 2, 5000), 2,
                 "the third client was not served after one of two left");
    close(c);
    close(b);

    char *err = server_stderr_now(&srv);
    cr_expect(err != NULL && strstr(err, "the cap (-c 2)") != NULL,
              "the trace does not say the cap was reached:\n%s", err);
    free(err);
    cr_expect_eq(server_stop(&srv), 0, "%s", harness_error());
    server_release(&srv);
}

/* ---- the idle timeout ------------------------------------------------------- */

Test(fork, an_idle_client_is_closed_and_an_active_one_is_not)
{
    struct server srv;
    const char *args[] = {"-t", "1", NULL};
    struct timespec t0;
    start_fork(&srv, args);

    int idle = connect_and_echo(&srv, "idle\n");
    int busy = connect_and_echo(&srv, "busy\n");
    clock_gettime(CLOCK_MONOTONIC, &t0);

    /* Keep `busy` talking (every 200 ms, well inside -t 1) while waiting
     * for the server to hang up on `idle`. */
    int eof = -1;
    while (eof != 1 && ms_since(&t0) < 5000) {
        char back[8];
        cr_assert_eq(sock_send_all(busy, "ping\n", 5, 2000), 5);
        cr_assert_eq(sock_read_exact(busy, back, 5, 2000), 5,
                     "the active client stopped being echoed");
        eof = sock_expect_eof(idle, 200);
    }
    long waited = ms_since(&t0);
    cr_expect_eq(eof, 1, "the idle client was not closed within 5 s");
    cr_expect_geq(waited, 900, "the idle client was closed after %ld ms, "
                  "before its 1 s", waited);

    /* The active client is still served after the idle one has gone. */
    char back[8];
    cr_expect_eq(sock_send_all(busy, "last\n", 5, 2000), 5);
    cr_expect_eq(sock_read_exact(busy, back, 5, 2000), 5);
    close(idle);
    close(busy);
    cr_expect_eq(server_stop(&srv), 0, "%s", harness_error());
    server_release(&srv);
}

/* ---- children dying ----------------------------------------------------------- */

Test(fork, a_child_killed_mid_session_leaves_the_parent_serving)
{
    struct server srv;
    pid_t kids[4];
    start_fork(&srv, NULL);

    /* The victim connects alone, so the one child then is its own. */
    int victim = connect_and_echo(&srv, "about to die\n");
    cr_assert_eq(children_of(srv.pid, kids, 4), 1);
    pid_t victim_child = kids[0];
    int other = connect_and_echo(&srv, "bystander\n");
    cr_assert_eq(children_of(srv.pid, kids, 4), 2);

    cr_assert_eq(kill(victim_child, SIGKILL), 0);
    /* The kernel closes a dead process's sockets. The child armed
     * SO_LINGER {1, 0} until its echo would be complete, so that close is
     * a reset: a dying child never looks like a normal end. */
    struct pollfd ended = {.fd = victim, .events = POLLIN};
    cr_assert_eq(poll(&ended, 1, 5000), 1, "the killed child's client saw "
                 "nothing within 5 s");
    char byte;
    ssize_t n = recv(victim, &byte, 1, 0);
    cr_expect(n < 0 && errno == ECONNRESET, "the killed child's client saw "
              "%s, not a reset", n == 0 ? "a normal end of file"
                                 : n > 0 ? "a byte" : strerror(errno));

    char back[8];
    cr_expect_eq(sock_send_all(other, "still\n", 6, 2000), 6);
    cr_expect_eq(sock_read_exact(other, back, 6, 2000), 6,
                 "the other client stopped being served");
    int fresh = connect_and_echo(&srv, "new client\n");
    close(fresh);
    close(victim);
    close(other);

    cr_assert_eq(wait_no_children(srv.pid, 5000), 0);
    cr_expect_eq(zombies_of(srv.pid), 0);
    cr_assert_eq(server_stop(&srv), 0, "%s", harness_error());
    cr_expect(srv.exit.exited && srv.exit.code == 0);
    server_release(&srv);
}

Test(fork, the_trace_shows_fork_and_each_reaped_child)
{
    struct server srv;
    const char *args[] = {"-v", NULL};
    start_fork(&srv, args);
    pid_t parent = srv.pid;  /* server_stop zeroes srv.pid */
    int fd = connect_and_echo(&srv, "trace me\n");
    close(fd);
    cr_assert_eq(wait_no_children(parent, 5000), 0);
    cr_assert_eq(server_stop(&srv), 0, "%s", harness_error());

    char line[256], prefix[64];
    snprintf(prefix, sizeof prefix, "[%s %ld] fork() = ", FORK_SERVER,
             (long)parent);
    const char *fork_line = line_with(srv.err_text, prefix, line, sizeof line);
    cr_assert_not_null(fork_line, "no parent 'fork() = PID' line:\n%s",
                       srv.err_text);
    long child = atol(strstr(line, "= ") + 2);
    cr_assert_gt(child, 0);

    char child_prefix[64];
    snprintf(child_prefix, sizeof child_prefix, "[%s %ld] read(", FORK_SERVER,
             child);
    cr_expect_not_null(line_with(srv.err_text, child_prefix, line,
                                 sizeof line),
                       "the child's reads are not traced under its pid "
                       "%ld:\n%s", child, srv.err_text);
    char reaped[96];
    snprintf(reaped, sizeof reaped, "waitpid(-1, WNOHANG) = %ld  exited 0",
             child);
    cr_expect_not_null(line_with(srv.err_text, reaped, line, sizeof line),
                       "no trace of child %ld reaped:\n%s", child,
                       srv.err_text);
    server_release(&srv);
}

/* ---- bad values for its own options -------------------------------------------- */

Test(fork, bad_cap_and_timeout_values_exit_64_naming_the_value)
{
    static const char *const bad[][2] = {
        {"-c", "0"},    {"-c", "4097"}, {"-c", "abc"}, {"-c", "-1"},
        {"-t", "86401"}, {"-t", "x"},   {"-t", "1.5"}, {"-c", ""},
    };
    char path[1024];
    if (!bin_exists(FORK_SERVER))
        cr_skip_test("%s not built: no executable %s", FORK_SERVER,
                     bin_path(FORK_SERVER, path, sizeof path));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[] = {bad[i][0], bad[i][1], "0", NULL};
        struct run_result r;
        char quoted[32];
        cr_assert_eq(run_program(FORK_SERVER, args, NULL, 0, 5000, &r), 0);
        cr_expect(r.exit.exited && r.exit.code == 64, "%s %s: exit %d, not 64",
                  bad[i][0], bad[i][1], r.exit.code);
        snprintf(quoted, sizeof quoted, "'%s'", bad[i][1]);
        cr_expect(count_lines(r.err) == 1 && strstr(r.err, quoted) != NULL &&
                      strstr(r.err, bad[i][0]) != NULL,
                  "%s %s: want one line naming %s and the option: %s",
                  bad[i][0], bad[i][1], quoted, r.err);
        cr_expect_eq(r.out_len, 0u);
        run_result_free(&r);
    }
}

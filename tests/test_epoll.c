/* test_epoll.c - echo-server-epoll is libuv's loop, unwrapped: the proof.
 *
 * The same scripted session runs against bin/echo-server-epoll and
 * bin/uv-echo-server, each under `strace -f`: a client connects, sends
 * "hello\n", reads it back and half-closes; once the server has closed its
 * side, the server gets SIGTERM. Each strace log is reduced to its socket
 * and epoll calls, descriptors renamed by role, and the two lists must be
 * equal, call for call.
 *
 * Roles: E the epoll instance (epoll_create1), L the listener (socket),
 * C1, C2... the clients (accept4), W0/W1 the two ends of the signal pipe
 * (the pipe2 whose read end is added to epoll), stdout and stderr. What
 * is left out, and why:
 *   - calls on descriptors the dynamic loader opens (openat, read, close
 *     of the shared libraries, before main), and those a sanitizer's
 *     runtime opens (/proc/self/maps...) under make test SANITIZE=1;
 *   - libuv's own setup, which has no counterpart in a loop of 700 lines:
 *     the pipe2 that uv__signal_global_init makes as a lock for its
 *     signal handler (read and written around every signal, never added to
 *     epoll), the eventfd that uv_loop_init makes for its thread pool's
 *     wake-ups (uv_async_init; added to epoll, read by nobody here), and
 *     the /dev/null descriptor uv__stream_init keeps for its EMFILE trick;
 *     their epoll_ctl, read, write and close calls are dropped;
 *   - uv-echo-server's own dup(2) + close, which looks for a free
 *     descriptor before each uv_accept (its EMFILE guard);
 *   - sigaction/rt_sigaction and setrlimit, not traced at all;
 *   - an epoll_wait that returned 0 (uv-echo-server's once-a-second idle
 *     timer may fire on a slow machine) or -1 EINTR (whether the SIGTERM
 *     lands inside the wait or just before it is luck; both servers wait
 *     again at once, and the signal pipe then wakes them).
 * A call on a descriptor of no role and not in this list shows as "?" and
 * fails the comparison. And the list must hold the calls the lesson is
 * about, so an empty or truncated log cannot pass.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

TestSuite(epoll, .timeout = 60, .fini = harness_cleanup);

#define MAX_FD 4096

/* What the reduction knows about each descriptor number right now. */
struct fds {
    char role[MAX_FD][16];  /* "" = none */
    char other[MAX_FD];    /* 1: a descriptor we leave out (see above) */
    int pipe_peer[MAX_FD]; /* for a pipe2 end not yet in a role: the other */
    int clients;
};

/* strace can be installed yet unable to trace (ptrace forbidden in some
 * containers): try it on `true` first. */
static const char *usable_strace(char *buf, size_t size)
{
    const char *strace = find_on_path("strace", buf, size);
    if (strace == NULL)
        return NULL;
    const char *args[] = {"-f", "-o", "/dev/null", "true", NULL};
    struct run_result r;
    if (run_program(strace, args, NULL, 0, 10000, &r) != 0)
        return NULL;
    int ok = r.exit.exited && r.exit.code == 0;
    run_result_free(&r);
    return ok ? strace : NULL;
}

static int valid_fd(long fd)
{
    return fd >= 0 && fd < MAX_FD;
}

/* The role of fd as text, "?" for a descriptor we know nothing about, or
 * NULL for one we leave out. */
static const char *role_of(struct fds *f, long fd)
{
    if (!valid_fd(fd))
        return "?";
    if (f->role[fd][0] != '\0')
        return f->role[fd];
    return f->other[fd] ? NULL : "?";
}

static void forget(struct fds *f, long fd)
{
    if (!valid_fd(fd))
        return;
    f->role[fd][0] = '\0';
    f->other[fd] = 0;
    f->pipe_peer[fd] = -1;
}

static void append(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void append(char *out, size_t size, const char *fmt, ...)
{
    size_t used = strlen(out);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + used, size - used, fmt, ap);
    va_end(ap);
}

/* One strace line ("PID name(args) = result") reduced into out, or
 * nothing when it is left out. */
static void reduce_line(struct fds *f, const char *line, char *out,
                        size_t size)
{
    char name[32];
    const char *p = line;

    while (*p >= '0' && *p <= '9')
        p++;
    while (*p == ' ')
        p++;
    if (strncmp(p, "--- SIGTERM", 11) == 0) {
        append(out, size, "SIGTERM\n");
        return;
    }
    if (sscanf(p, "%31[a-z0-9_](", name) != 1)
        return;
    const char *args = p + strlen(name) + 1;
    /* The result follows the last " = " (strace pads before it). */
    const char *eq = NULL;
    for (const char *at = args; (at = strstr(at, " = ")) != NULL; at++)
        eq = at;
    if (eq == NULL)
        return;  /* unfinished or odd: the comparison will show it */
    long result = strtol(eq + 3, NULL, 10);
    char err[24] = "";
    if (result == -1)
        sscanf(eq + 3, "-1 %23[A-Z]", err);
    long fd = strtol(args, NULL, 10);

    if (strcmp(name, "epoll_pwait") == 0)
        snprintf(name, sizeof name, "epoll_wait");  /* arm64 has only this */

    if (strcmp(name, "openat") == 0 || strcmp(name, "open") == 0 ||
        strcmp(name, "eventfd2") == 0 ||
        strncmp(name, "dup", 3) == 0) {
        if (valid_fd(result))
            f->other[result] = 1;
        return;
    }
    if (strcmp(name, "pipe2") == 0) {
        int a, b;
        if (result == 0 && sscanf(args, "[%d, %d]", &a, &b) == 2 &&
            valid_fd(a) && valid_fd(b)) {
            f->other[a] = f->other[b] = 1;
            f->pipe_peer[a] = b;
        }
        return;
    }
    if (strcmp(name, "epoll_create1") == 0) {
        if (valid_fd(result))
            snprintf(f->role[result], sizeof f->role[result], "E");
        append(out, size, "epoll_create1() = E\n");
        return;
    }
    if (strcmp(name, "socket") == 0) {
        if (valid_fd(result))
            snprintf(f->role[result], sizeof f->role[result], "L");
        append(out, size, "socket(%s) = L\n",
               strstr(args, "SOCK_NONBLOCK") != NULL ? "SOCK_NONBLOCK" : "");
        return;
    }
    if (strcmp(name, "accept4") == 0) {
        if (valid_fd(result)) {
            f->clients = (f->clients + 1) % 100000;
            snprintf(f->role[result], sizeof f->role[result], "C%d",
                     f->clients);
            append(out, size, "accept4(%s) = %s\n", role_of(f, fd),
                   f->role[result]);
        } else {
            append(out, size, "accept4(%s) = -1 %s\n", role_of(f, fd), err);
        }
        return;
    }
    if (strcmp(name, "epoll_ctl") == 0) {
        char op[16] = "", events[64] = "";
        long target = -1;
        const char *after = strchr(args, ',');
        if (after != NULL)
            sscanf(after, ", EPOLL_CTL_%15[A-Z], %ld", op, &target);
        const char *ev = strstr(args, "events=");
        if (ev != NULL)
            sscanf(ev, "events=%63[A-Z|]", events);
        if (strcmp(op, "ADD") == 0 && valid_fd(target) &&
            f->role[target][0] == '\0' && f->pipe_peer[target] >= 0) {
            int peer = f->pipe_peer[target];  /* the signal pipe */
            snprintf(f->role[target], sizeof f->role[target], "W0");
            snprintf(f->role[peer], sizeof f->role[peer], "W1");
        }
        const char *who = role_of(f, target);
        if (who == NULL)
            return;
        append(out, size, "epoll_ctl(%s, %s, %s%s%s)%s%s\n", role_of(f, fd),
               op, who, events[0] != '\0' ? ", " : "", events,
               err[0] != '\0' ? " = -1 " : "", err);
        return;
    }
    if (strcmp(name, "epoll_wait") == 0) {
        if (result == 0 || result == -1)
            return;  /* a timer tick, or an EINTR: see the header */
        append(out, size, "epoll_wait(%s) = %ld\n", role_of(f, fd), result);
        return;
    }
    const char *who = role_of(f, fd);
    if (strcmp(name, "close") == 0) {
        if (who != NULL)
            append(out, size, "close(%s)\n", who);
        forget(f, fd);
        return;
    }
    if (who == NULL)
        return;
    if (strcmp(name, "read") == 0 || strcmp(name, "write") == 0) {
        if (who[0] != 'C') {  /* the pipe, stdout, stderr: sizes differ */
            append(out, size, "%s(%s)\n", name, who);
            return;
        }
        long len = -1;  /* the last argument: the size asked for */
        const char *comma = eq;
        while (comma > args && *comma != ',')
            comma--;
        if (*comma == ',')
            len = strtol(comma + 1, NULL, 10);
        if (result == -1)
            append(out, size, "%s(%s, %ld) = -1 %s\n", name, who, len, err);
        else
            append(out, size, "%s(%s, %ld) = %ld\n", name, who, len, result);
        return;
    }
    if (strcmp(name, "setsockopt") == 0) {
        char opt[32] = "";
        const char *so = strstr(args, "SO_");
        if (so != NULL)
            sscanf(so, "%31[A-Z_]", opt);
        append(out, size, "setsockopt(%s, %s)\n", who, opt);
        return;
    }
    append(out, size, "%s(%s)%s%s\n", name, who,
           err[0] != '\0' ? " = -1 " : "", err);
}

/* Run server name under strace through the scripted session and reduce
 * its log into out. */
static void traced_session(const char *name, const char *strace, char *out,
                           size_t size)
{
    char server_path[1024], log_path[] = "/tmp/socklab-epoll-XXXXXX";
    int log_fd = mkstemp(log_path);
    cr_assert_geq(log_fd, 0);
    close(log_fd);

    /* LeakSanitizer cannot run in a traced process (it uses ptrace
     * itself): leaks are checked in the untraced runs of these servers. */
    char no_leaks[1024] = "ASAN_OPTIONS=detect_leaks=0";
    const char *asan = getenv("SOCKLAB_PROGRAM_ASAN_OPTIONS");
    if (asan != NULL)
        snprintf(no_leaks, sizeof no_leaks, "ASAN_OPTIONS=%s:detect_leaks=0",
                 asan);
    static const char trace_calls[] =
        "trace=socket,bind,listen,accept4,read,write,close,"
        "epoll_create1,epoll_ctl,epoll_wait,epoll_pwait,"
        "setsockopt,getsockname,pipe2,eventfd2,open,openat,"
        "dup,dup2,dup3";
    char *argv[] = {(char *)strace, "-f", "-qq", "-o", log_path, "-E",
                    no_leaks, "-e", (char *)trace_calls,
                    (char *)bin_path(name, server_path, sizeof server_path),
                    "0", NULL};
    struct server srv;
    cr_assert_eq(server_start_argv(&srv, argv, "listening on ", 0), 0,
                 "%s: %s", name, harness_error());

    int fd = tcp_connect(srv.host, srv.port);
    cr_assert_geq(fd, 0, "%s", harness_error());
    char back[6];
    cr_assert_eq(sock_send_all(fd, "hello\n", 6, 5000), 6);
    cr_assert_eq(sock_read_exact(fd, back, 6, 5000), 6, "%s: no echo",
                 name);
    cr_assert_eq(memcmp(back, "hello\n", 6), 0);
    /* Half-close, and wait for the server's end of file: it has closed
     * the connection, so the SIGTERM meets an idle server. */
    shutdown(fd, SHUT_WR);
    cr_assert_eq(sock_expect_eof(fd, 5000), 1, "%s did not close", name);
    close(fd);

    /* Stop the traced server itself (strace's child): a signal to strace
     * would only detach it. strace exits when its tracee does. */
    pid_t traced[2];
    cr_assert_eq(children_of(srv.pid, traced, 2), 1,
                 "strace should have exactly one child, the server");
    wait_until_asleep(traced[0], 2000);
    cr_assert_eq(kill(traced[0], SIGTERM), 0);
    cr_expect_eq(server_stop(&srv), 0, "%s", harness_error());
    cr_expect(srv.exit.exited && srv.exit.code == 0,
              "traced %s did not exit 0 after SIGTERM", name);
    server_release(&srv);

    FILE *log = fopen(log_path, "r");
    cr_assert_not_null(log);
    static struct fds f;
    memset(&f, 0, sizeof f);
    for (int i = 0; i < MAX_FD; i++)
        f.pipe_peer[i] = -1;
    snprintf(f.role[1], sizeof f.role[1], "stdout");
    snprintf(f.role[2], sizeof f.role[2], "stderr");
    out[0] = '\0';
    char line[4096];
    while (fgets(line, sizeof line, log) != NULL)
        reduce_line(&f, line, out, size);
    fclose(log);
    unlink(log_path);
}

/* Both lists, side by side, for the failure message. */
static void side_by_side(const char *a, const char *b, char *out,
                         size_t size)
{
    out[0] = '\0';
    while (*a != '\0' || *b != '\0') {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        append(out, size, "  %-36.*s %s %.*s\n", (int)la, a,
               la == lb && strncmp(a, b, la) == 0 ? "|" : "X", (int)lb, b);
        a += la + (a[la] == '\n');
        b += lb + (b[lb] == '\n');
    }
}

Test(epoll, makes_the_same_socket_and_epoll_calls_as_uv_echo_server)
{
    char strace_path[1024], path[1024];
    static char ours[16384], theirs[16384], both[40000];

    if (!bin_exists("echo-server-epoll"))
        cr_skip_test("echo-server-epoll not built (Linux only): %s",
                     bin_path("echo-server-epoll", path, sizeof path));
    if (!bin_exists("uv-echo-server"))
        cr_skip_test("uv-echo-server not built (libuv not found by "
                     "pkg-config): nothing to line up with");
    const char *strace = usable_strace(strace_path, sizeof strace_path);
    if (strace == NULL)
        cr_skip_test("strace is not installed or cannot trace here "
                     "(apt-get install strace; ptrace may be forbidden)");

    traced_session("echo-server-epoll", strace, ours, sizeof ours);
    traced_session("uv-echo-server", strace, theirs, sizeof theirs);
    side_by_side(ours, theirs, both, sizeof both);

    /* Not vacuous: the calls the lesson is about are all there. */
    static const char *const must[] = {
        "epoll_create1() = E\n",
        "socket(SOCK_NONBLOCK) = L\n",
        "epoll_ctl(E, ADD, W0, EPOLLIN)\n",
        "epoll_ctl(E, ADD, L, EPOLLIN)\n",
        "epoll_wait(E) = 1\n",
        "accept4(L) = C1\n",
        "accept4(L) = -1 EAGAIN\n",
        "epoll_ctl(E, ADD, C1, EPOLLIN)\n",
        "read(C1, 65536) = 6\n",
        "write(C1, 6) = 6\n",
        "read(C1, 65536) = 0\n",
        "epoll_ctl(E, DEL, C1)\nclose(C1)\n",
        "write(W1)\n",
        "read(W0)\n",
        "epoll_ctl(E, DEL, L)\nclose(L)\n",
        "close(E)\n",
    };
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        cr_expect_not_null(strstr(ours, must[i]), "echo-server-epoll's "
                           "strace lacks %s(ours | libuv's):\n%s", must[i],
                           both);
    cr_expect_null(strstr(ours, "?"), "a call on an unknown descriptor:\n%s",
                   both);
    cr_expect_str_eq(ours, theirs, "the two straces differ (echo-server-epoll "
                     "| uv-echo-server):\n%s", both);
}

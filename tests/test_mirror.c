/* test_mirror.c - the blocking server and its libuv twin make the same
 * socket calls, in the same order.
 *
 * Lesson 04 sets server/echo_server.c and libuv/uv_echo_server.c side by
 * side and says that libuv ends up at the system calls echo-server makes
 * itself. This suite holds the two programs to it: one scripted session
 * (a client connects, sends "hello\n", reads it back and closes; then the
 * server is stopped) is run against each with -v, and
 *
 *   - from echo-server's trace we take the call on each line
 *     ("[echo-server 42] accept(3) = 4 ..." -> accept);
 *   - from uv-echo-server's trace we take the system calls its right-hand
 *     column names ("~ socket(AF_INET) + setsockopt(3, ...) + bind(3, ...)"
 *     -> socket setsockopt bind). The uv programs keep a rule for this: a
 *     socket call's name followed at once by "(" means libuv makes that call
 *     during the step; mentioned for any other reason, the name has no "("
 *     after it.
 *
 * Only the socket calls are compared (socket, setsockopt, bind, listen,
 * getsockname, accept, read, write, shutdown, close; accept4 counts as
 * accept). A blocking call that a signal interrupted (= -1 EINTR) is left
 * out: libuv retries those itself and shows its user nothing. So are the
 * receive and send timeouts of -t (setsockopt SO_RCVTIMEO, SO_SNDTIMEO):
 * libuv keeps that limit with a uv_timer_t, which makes no socket call.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#ifndef SOCKLAB_HAVE_UV
#define SOCKLAB_HAVE_UV 0
#endif

#define MAX_CALLS 64
#define NAME_LEN 16

TestSuite(mirror, .timeout = 30, .fini = harness_cleanup);

struct calls {
    char name[MAX_CALLS][NAME_LEN];
    size_t count;
};

static const char *const SOCKET_CALLS[] = {
    "socket", "setsockopt", "bind",     "listen", "getsockname",
    "accept", "accept4",    "read",     "write",  "shutdown",
    "close",
};

/* The call a name stands for in the comparison, or NULL if it is not a
 * socket call. accept4 is libuv's accept. */
static const char *socket_call(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof SOCKET_CALLS / sizeof *SOCKET_CALLS; i++)
        if (strlen(SOCKET_CALLS[i]) == len &&
            strncmp(SOCKET_CALLS[i], name, len) == 0)
            return strcmp(SOCKET_CALLS[i], "accept4") == 0 ? "accept"
                                                            : SOCKET_CALLS[i];
    return NULL;
}

static void add_call(struct calls *c, const char *name)
{
    cr_assert_lt(c->count, MAX_CALLS, "more than %d socket calls traced",
                 MAX_CALLS);
    snprintf(c->name[c->count++], NAME_LEN, "%s", name);
}

static int is_word_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '_';
}

/* Copy the line at *at into buf (without its newline) and move *at past
 * it. Returns 0 once the text is used up. */
static int next_line(const char **at, char *buf, size_t size)
{
    if (**at == '\0')
        return 0;
    const char *nl = strchr(*at, '\n');
    size_t len = nl != NULL ? (size_t)(nl - *at) : strlen(*at);
    snprintf(buf, size, "%.*s", (int)len, *at);
    *at += nl != NULL ? len + 1 : len;
    return 1;
}

/* Each trace line of `prog` begins "[prog PID] CALL(". Lines that are not
 * trace lines ("prog: stopped: ...") and interrupted calls are skipped. */
static void blocking_calls(const char *trace, const char *prog,
                           struct calls *out)
{
    char bracket[64];
    snprintf(bracket, sizeof bracket, "[%s ", prog);
    char text[512];
    out->count = 0;
    for (const char *at = trace; next_line(&at, text, sizeof text);) {
        const char *close_br = strchr(text, ']');
        if (strncmp(text, bracket, strlen(bracket)) != 0 || close_br == NULL ||
            strstr(text, "= -1 EINTR") != NULL ||
            strstr(text, "SO_RCVTIMEO") != NULL ||
            strstr(text, "SO_SNDTIMEO") != NULL)
            continue;
        const char *call = close_br + 2;
        size_t n = 0;
        while (is_word_char(call[n]))
            n++;
        const char *name = call[n] == '(' ? socket_call(call, n) : NULL;
        if (name != NULL)
            add_call(out, name);
    }
}

/* The system calls named in the right-hand column ("  ~ ...") of each
 * trace line: every socket call's name directly followed by "(". */
static void twin_calls(const char *trace, struct calls *out)
{
    char text[512];
    out->count = 0;
    for (const char *at = trace; next_line(&at, text, sizeof text);) {
        const char *col = strstr(text, "  ~ ");
        if (col == NULL)
            continue;
        col += 4;
        for (const char *p = col; *p != '\0'; p++) {
            if (!is_word_char(*p) || (p > col && is_word_char(p[-1])))
                continue;  /* not the start of a word */
            size_t n = 0;
            while (is_word_char(p[n]))
                n++;
            const char *name = p[n] == '(' ? socket_call(p, n) : NULL;
            if (name != NULL)
                add_call(out, name);
            p += n - 1;
        }
    }
}

static void join(const struct calls *c, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->count && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", i ? " " : "",
                         c->name[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* ---- the readers, on text whose answer we know ------------------------- */

Test(mirror, reads_the_call_on_each_blocking_trace_line)
{
    const char *trace =
        "[echo-server 9] socket(AF_INET, SOCK_STREAM, 0) = 3   ~ x\n"
        "[echo-server 9] accept(3) = 4  peer 127.0.0.1:5   ~ on_new_connection\n"
        "echo-server: client dropped: Connection reset by peer\n"
        "[echo-server 9] fork() = 77  (parent)\n"
        "[echo-server 9] accept(3) = -1 EINTR (Interrupted system call)  ~ y\n"
        "[other 9] read(4) = 6\n"
        "[echo-server 9] close(3) = 0   ~ uv_close\n";
    struct calls c;
    char got[256];
    blocking_calls(trace, "echo-server", &c);
    join(&c, got, sizeof got);
    cr_expect_str_eq(got, "socket accept close");
}

Test(mirror, reads_only_the_calls_a_twin_says_it_makes)
{
    const char *trace =
        "[uv 9] uv_tcp_init(server) = 0   ~ no system call: socket comes in "
        "uv_tcp_bind\n"
        "[uv 9] uv_tcp_bind(server) = 0   ~ socket(AF_INET) + setsockopt(3, "
        "SO_REUSEADDR) + bind(3, 127.0.0.1:0)\n"
        "[uv 9] uv_accept = 0   ~ accept4(3) = 4, before on_new_connection\n"
        "[uv 9] on_signal = 2   ~ the loop read the signal pipe; "
        "epoll_wait(5) woke\n"
        "[uv 9] uv_loop_close = 0   ~ closes the epoll fd\n"
        "[uv 9] a line with no column, read(4)\n"
        "[uv 9] echo_write   ~ the write(4) finished: myread(4) xclose(3)\n";
    struct calls c;
    char got[256];
    twin_calls(trace, &c);
    join(&c, got, sizeof got);
    /* "the write(4) finished" breaks the rule on purpose: it is read as a
     * write, which is how a slip in a trace note would make this fail. */
    cr_expect_str_eq(got, "socket setsockopt bind accept write");
}

/* ---- the two servers, one session ---------------------------------------- */

/* The last socket call named so far in the server's stderr, per `read`. */
static int session_over(const struct server *srv, int twin)
{
    char *text = server_stderr_now(srv);
    struct calls c;
    int over = 0;

    if (text == NULL)
        return 0;
    if (twin)
        twin_calls(text, &c);
    else
        blocking_calls(text, srv->name, &c);
    /* The session is over once the server has closed the client: the
     * last call so far is a close that comes after a read. */
    over = c.count >= 2 && strcmp(c.name[c.count - 1], "close") == 0 &&
           strcmp(c.name[c.count - 2], "read") == 0;
    free(text);
    return over;
}

/* Run the session against `prog` and return its socket calls. */
static void run_session(const char *prog, int twin, struct calls *out)
{
    struct server srv;
    const char *const args[] = {"-v", NULL};
    char back[8] = "";

    cr_assert_eq(server_start(&srv, prog, args, "0"), 0, "%s",
                 harness_error());
    int fd = tcp_connect("127.0.0.1", srv.port);
    cr_assert_geq(fd, 0, "%s", harness_error());
    cr_assert_eq(sock_send_all(fd, "hello\n", 6, 5000), 6);
    cr_assert_eq(sock_read_exact(fd, back, 6, 5000), 6);
    cr_expect_str_eq(back, "hello\n");
    close(fd);

    /* Stop it only once it has closed the client, or the two traces
     * would differ by when the signal landed, not by what libuv does. */
    long long deadline = now_ms() + 5000;
    while (!session_over(&srv, twin) && now_ms() < deadline)
        nap_ms(5);
    cr_assert(session_over(&srv, twin),
              "%s did not close the client within 5 s", prog);

    cr_assert_eq(server_stop(&srv), 0, "%s", harness_error());
    cr_expect(exited_with(&srv.exit, 0), "%s did not exit 0 on SIGTERM", prog);
    if (twin)
        twin_calls(srv.err_text, out);
    else
        blocking_calls(srv.err_text, prog, out);
    cr_log_info("%s trace:\n%s", prog, srv.err_text);
    server_release(&srv);
}

Test(mirror, echo_server_and_uv_echo_server_make_the_same_socket_calls)
{
    if (!SOCKLAB_HAVE_UV || !bin_exists("uv-echo-server"))
        cr_skip_test("uv-echo-server is not built (libuv not found by "
                     "pkg-config; apt-get install libuv1-dev)");
    struct calls plain, twin;
    char a[512], b[512];

    run_session("echo-server", 0, &plain);
    run_session("uv-echo-server", 1, &twin);
    join(&plain, a, sizeof a);
    join(&twin, b, sizeof b);

    /* Not vacuous: the blocking server must show the whole session. */
    cr_expect_str_eq(a, "socket setsockopt bind listen getsockname accept "
                        "read write read close close",
                     "echo-server's own calls changed: %s", a);
    cr_expect_str_eq(b, a,
                     "the libuv twin's calls differ from echo-server's\n"
                     "  echo-server:    %s\n  uv-echo-server: %s", a, b);
}

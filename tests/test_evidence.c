/* test_evidence.c - the claims lesson 06 makes, checked.
 *
 * "libuv ends up at the same system calls": run uv-echo-server under
 * strace -f, give it one client, and look for socket, bind, listen, an
 * epoll call and accept/accept4 in what the kernel saw.
 *
 * "make compare sets each step beside its counterpart": run the script and
 * find socket(...) beside uv_tcp_bind (which makes the socket: uv_tcp_init
 * makes none), accept(...) beside on_new_connection, and so on. And "the
 * libuv server reads like the guide": its main makes the guide's calls, in
 * the guide's order.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(evidence, .timeout = 60, .fini = harness_cleanup);

static void need_uv_server(void)
{
    char path[1024];
    if (!bin_exists("uv-echo-server"))
        cr_skip_test("uv-echo-server not built (libuv not found by "
                     "pkg-config): no libuv evidence to check at %s",
                     bin_path("uv-echo-server", path, sizeof path));
}

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

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, len = 0, n;
    char *text = malloc(cap);
    while (text != NULL && (n = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *bigger = realloc(text, cap *= 2);
            if (bigger == NULL) {
                free(text);
                text = NULL;
                break;
            }
            text = bigger;
        }
    }
    fclose(f);
    if (text != NULL)
        text[len] = '\0';
    return text;
}

/* Does some line of the strace log start a call to name? ("PID name(") */
static int saw_call(const char *log, const char *name)
{
    char needle[64];
    snprintf(needle, sizeof needle, " %s(", name);
    if (strstr(log, needle) != NULL)
        return 1;
    snprintf(needle, sizeof needle, "\n%s(", name);  /* no pid column */
    return strstr(log, needle) != NULL || strncmp(log, name, strlen(name)) == 0;
}

Test(evidence, uv_echo_server_makes_the_same_system_calls_under_strace)
{
    char strace_path[1024], server_path[1024], log_path[] = "/tmp/socklab-strace-XXXXXX";
    need_uv_server();
    const char *strace = usable_strace(strace_path, sizeof strace_path);
    if (strace == NULL)
        cr_skip_test("strace is not installed or cannot trace here "
                     "(apt-get install strace; ptrace may be forbidden)");
    int log_fd = mkstemp(log_path);
    cr_assert_geq(log_fd, 0);
    close(log_fd);

    char *argv[] = {(char *)strace, "-f", "-qq", "-o", log_path,
                    (char *)bin_path("uv-echo-server", server_path,
                                     sizeof server_path),
                    "0", NULL};
    struct server srv;
    cr_assert_eq(server_start_argv(&srv, argv, "listening on ", 0), 0, "%s",
                 harness_error());

    /* One client, echoed, so accept, read and write all happen. */
    int fd = tcp_connect(srv.host, srv.port);
    cr_assert_geq(fd, 0, "%s", harness_error());
    char back[6];
    cr_assert_eq(sock_send_all(fd, "hello\n", 6, 5000), 6);
    cr_assert_eq(sock_read_exact(fd, back, 6, 5000), 6);
    close(fd);

    /* Stop the traced server itself (strace's child): a signal to strace
     * would only detach it and leave the server running. strace exits
     * when its tracee does. */
    pid_t traced[2];
    cr_assert_eq(children_of(srv.pid, traced, 2), 1,
                 "strace should have exactly one child, the server");
    cr_assert_eq(kill(traced[0], SIGTERM), 0);
    cr_expect_eq(server_stop(&srv), 0, "%s", harness_error());
    cr_expect(srv.exit.exited && srv.exit.code == 0,
              "the traced server did not exit 0 after SIGTERM");
    char *log = slurp(log_path);
    unlink(log_path);
    cr_assert_not_null(log);

    cr_expect(saw_call(log, "socket"), "no socket() in the strace log");
    cr_expect(saw_call(log, "bind"), "no bind() in the strace log");
    cr_expect(saw_call(log, "listen"), "no listen() in the strace log");
    cr_expect(saw_call(log, "accept4") || saw_call(log, "accept"),
              "no accept()/accept4() in the strace log");
    cr_expect(saw_call(log, "epoll_create1") || saw_call(log, "epoll_create"),
              "no epoll_create in the strace log");
    cr_expect(saw_call(log, "epoll_wait") || saw_call(log, "epoll_pwait") ||
                  saw_call(log, "epoll_pwait2"),
              "no epoll_wait in the strace log");
    cr_expect(strstr(log, "SOCK_NONBLOCK") != NULL ||
                  strstr(log, "O_NONBLOCK") != NULL,
              "libuv's sockets should be non-blocking; the log never says so");
    free(log);
    server_release(&srv);
}

Test(evidence, make_compare_sets_socket_beside_uv_tcp_bind)
{
    need_uv_server();
    char script[1024];
    snprintf(script, sizeof script, "%s/tests/scripts/compare.sh",
             SOCKLAB_ROOT);
    const char *args[] = {script, NULL};
    struct run_result r;
    cr_assert_eq(run_program("/bin/sh", args, NULL, 0, 30000, &r), 0);
    char how[64];
    cr_assert(r.exit.exited && r.exit.code == 0, "compare.sh: %s\n%s",
              describe_exit(&r.exit, how, sizeof how), r.err);

    /* Each row: the blocking call in the left column, its libuv twin in
     * the right one. */
    static const char *const pairs[][2] = {
        {"socket(", "uv_tcp_bind"},
        {"listen(", "uv_listen"},
        {"accept(", "on_new_connection"},
        {"read(", "echo_read"},
        {"write(", "uv_write"},
    };
    char line[256];
    const char *text = (const char *)r.out;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        cr_expect_not_null(line_with(text, pairs[i][1], line, sizeof line),
                           "no %s in make compare's output:\n%s",
                           pairs[i][1], text);
        cr_expect(strncmp(line, pairs[i][0], strlen(pairs[i][0])) == 0,
                  "%s is not beside %s: %s", pairs[i][0], pairs[i][1], line);
    }

    /* 80 columns, as the script promises. */
    for (const char *p = text; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        cr_expect_leq(len, 80u, "a line of %zu columns: %.*s", len, (int)len,
                      p);
        p = nl != NULL ? nl + 1 : p + len;
    }
    run_result_free(&r);
}

/* The text of region NAME in source file PATH (below SOCKLAB_ROOT), or
 * NULL; the caller frees it. */
static char *region_of(const char *path, const char *name)
{
    char full[1024], begin[128], end[128];
    snprintf(full, sizeof full, "%s/%s", SOCKLAB_ROOT, path);
    snprintf(begin, sizeof begin, "/* region: %s */\n", name);
    snprintf(end, sizeof end, "/* endregion: %s */\n", name);
    char *text = slurp(full);
    if (text == NULL)
        return NULL;
    char *from = strstr(text, begin);
    char *to = from != NULL ? strstr(from, end) : NULL;
    if (to == NULL) {
        free(text);
        return NULL;
    }
    *to = '\0';
    memmove(text, from, strlen(from) + 1);
    return text;
}

/* Lesson 06 sets uv-echo-server beside the libuv guide's echo server: its
 * main must make the guide's calls itself, in the guide's order. */
Test(evidence, uv_echo_server_main_calls_what_the_guide_calls_in_order)
{
    char *main_text = region_of("libuv/uv_echo_server.c", "main");
    cr_assert_not_null(main_text, "no region main in libuv/uv_echo_server.c");
    static const char *const calls[] = {
        "uv_default_loop(", "uv_tcp_init(loop, &server)", "uv_ip4_addr(",
        "uv_tcp_bind(",     "uv_listen(",                 "uv_run(",
    };
    const char *at = main_text;
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        const char *found = strstr(at, calls[i]);
        cr_expect_not_null(found, "main: no %s after %s", calls[i],
                           i > 0 ? calls[i - 1] : "the start");
        if (found != NULL)
            at = found + strlen(calls[i]);
    }
    cr_expect_not_null(strstr(main_text, "on_new_connection)"),
                       "main: uv_listen should name on_new_connection");
    free(main_text);
}

Test(evidence, uv_echo_client_main_calls_in_the_order_a_reader_meets_them)
{
    char *main_text = region_of("libuv/uv_echo_client.c", "main");
    cr_assert_not_null(main_text, "no region main in libuv/uv_echo_client.c");
    static const char *const calls[] = {
        "uv_default_loop(", "resolve(", "uv_tcp_init(", "uv_tcp_connect(",
        "uv_run(",
    };
    const char *at = main_text;
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        const char *found = strstr(at, calls[i]);
        cr_expect_not_null(found, "main: no %s after %s", calls[i],
                           i > 0 ? calls[i - 1] : "the start");
        if (found != NULL)
            at = found + strlen(calls[i]);
    }
    cr_expect_not_null(strstr(main_text, "on_connect)"),
                       "main: uv_tcp_connect should name on_connect");
    free(main_text);
}

/* test_trace.c - common/trace.c (the -v lines) and common/fail.c (one-line
 * errors, exit codes, hints).
 *
 * Each Criterion test runs in its own process, so a test may point its own
 * stderr (fd 2) at a temp file with dup2, call the helper, and read back
 * exactly what a learner would have seen.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "fail.h"
#include "harness.h"
#include "trace.h"

TestSuite(trace, .timeout = 10);
TestSuite(fail, .timeout = 10, .fini = harness_cleanup);

static char expected_prefix[64];

/* "[tname 1234] " for this process. */
static const char *prefix(void)
{
    snprintf(expected_prefix, sizeof expected_prefix, "[tname %ld] ",
             (long)getpid());
    return expected_prefix;
}

static int starts_with(const char *s, const char *head)
{
    return strncmp(s, head, strlen(head)) == 0;
}

/* ---- trace ------------------------------------------------------------------ */

Test(trace, a_call_line_has_pid_call_result_and_libuv_name)
{
    trace_init("tname", 1);
    cr_assert_eq(capture_begin(STDERR_FILENO), 0, "%s", harness_error());
    trace(3, NULL, "uv_tcp_init", "socket(%s, SOCK_STREAM, %d)", "AF_INET", 0);
    const char *out = capture_end();

    char want[128];
    snprintf(want, sizeof want, "%ssocket(AF_INET, SOCK_STREAM, 0) = 3",
             prefix());
    cr_expect(starts_with(out, want), "line '%s' does not start '%s'", out,
              want);
    cr_expect_eq(count_lines(out), 1, "not one line: '%s'", out);
    size_t len = strlen(out);
    cr_expect(len > 0 && out[len - 1] == '\n', "no newline: '%s'", out);
    const char *tilde = strstr(out, "  ~ uv_tcp_init\n");
    cr_expect_not_null(tilde, "no '~ uv_tcp_init' at the end: '%s'", out);
    /* The libuv name sits in a column of its own. */
    cr_expect_geq(tilde - out, 56, "'~' at column %td", tilde - out);
}

Test(trace, a_failed_call_shows_errno_name_and_text)
{
    trace_init("tname", 1);
    cr_assert_eq(capture_begin(STDERR_FILENO), 0, "%s", harness_error());
    errno = ECONNREFUSED;
    trace(-1, NULL, "uv_tcp_connect", "connect(%d, %s)", 3, "127.0.0.1:1");
    int after = errno;
    const char *out = capture_end();

    char want[160];
    snprintf(want, sizeof want, "connect(3, 127.0.0.1:1) = -1 ECONNREFUSED (%s)",
             strerror(ECONNREFUSED));
    cr_expect(strstr(out, want) != NULL, "'%s' lacks '%s'", out, want);
    cr_expect(strstr(out, "~ uv_tcp_connect") != NULL, "%s", out);
    cr_expect_eq(after, ECONNREFUSED, "trace changed errno to %d", after);
}

Test(trace, the_note_follows_the_result)
{
    trace_init("tname", 1);
    cr_assert_eq(capture_begin(STDERR_FILENO), 0, "%s", harness_error());
    trace(4, "peer 127.0.0.1:5", "uv_accept", "accept(%d)", 3);
    trace(0, "peer closed", "echo_read, nread = UV_EOF", "read(%d)", 4);
    const char *out = capture_end();
    cr_expect(strstr(out, "accept(3) = 4  peer 127.0.0.1:5") != NULL, "%s",
              out);
    cr_expect(strstr(out, "read(4) = 0  peer closed") != NULL, "%s", out);
    cr_expect_eq(count_lines(out), 2, "%s", out);
}

Test(trace, no_libuv_name_no_tilde)
{
    trace_init("tname", 1);
    cr_assert_eq(capture_begin(STDERR_FILENO), 0, "%s", harness_error());
    trace(0, NULL, NULL, "shutdown(%d, SHUT_WR)", 3);
    trace(0, NULL, "", "close(%d)", 3);
    const char *out = capture_end();
    cr_expect(strchr(out, '~') == NULL, "'%s'", out);
    cr_expect_eq(count_lines(out), 2);
}

Test(trace, errno_is_preserved_on_and_off)
{
    trace_init("tname", 1);
    cr_assert_eq(capture_begin(STDERR_FILENO), 0, "%s", harness_error());
    errno = ECONNRESET;
    trace(5, NULL, "uv_write", "write(%d, %d)", 4, 5);
    cr_expect_eq(errno, ECONNRESET);
    errno = EPIPE;
    trace_note("stop requested");
    cr_expect_eq(errno, EPIPE);
    capture_end();

    trace_init("tname", 0);
    errno = EINTR;
    trace(-1, NULL, "uv_write", "write(%d, %d)", 4, 5);
    trace_note("x");
    cr_expect_eq(errno, EINTR);
}

Test(trace, disabled_trace_prints_nothing)
{
    trace_init("tname", 0);
    cr_expect_eq(trace_enabled(), 0);
    cr_assert_eq(capture_begin(STDERR_FILENO), 0, "%s", harness_error());
    trace(3, "note", "uv_tcp_init", "socket(%s)", "AF_INET");
    errno = EINVAL;
    trace(-1, NULL, "uv_listen", "listen(%d)", 3);
    trace_note("waiting for a client");
    const char *out = capture_end();
    cr_expect_str_eq(out, "");
}

Test(trace, a_note_line_is_prefixed_and_has_no_result)
{
    trace_init("tname", 1);
    cr_expect_eq(trace_enabled(), 1);
    cr_assert_eq(capture_begin(STDERR_FILENO), 0, "%s", harness_error());
    trace_note("waiting for client %d", 2);
    const char *out = capture_end();
    char want[128];
    snprintf(want, sizeof want, "%swaiting for client 2\n", prefix());
    cr_expect_str_eq(out, want);
}

Test(trace, an_overlong_line_stays_one_line)
{
    static char big[2000];
    memset(big, 'x', sizeof big - 1);
    trace_init("tname", 1);
    cr_assert_eq(capture_begin(STDERR_FILENO), 0, "%s", harness_error());
    trace(1, big, "uv_write", "write(%s)", big);
    trace_note("%s", big);
    const char *out = capture_end();
    cr_expect_eq(count_lines(out), 2, "an overlong trace split or merged");
    const char *second = strchr(out, '\n') + 1;
    cr_expect(starts_with(out, prefix()), "first line lost its prefix");
    cr_expect(starts_with(second, prefix()), "second line lost its prefix");
    cr_expect_leq((size_t)(second - out), (size_t)512, "line over 512 bytes");
    cr_expect_eq(out[strlen(out) - 1], '\n');
}

Test(trace, program_name_is_what_trace_init_was_given)
{
    cr_expect_str_eq(program_name(), "socklab", "default name");
    trace_init("echo-server", 0);
    cr_expect_str_eq(program_name(), "echo-server");
}

Test(trace, errno_name_known_and_unknown)
{
    cr_expect_str_eq(errno_name(ECONNRESET), "ECONNRESET");
    cr_expect_str_eq(errno_name(EINTR), "EINTR");
    cr_expect_str_eq(errno_name(EADDRINUSE), "EADDRINUSE");
    cr_expect_str_eq(errno_name(EPIPE), "EPIPE");
    cr_expect_str_eq(errno_name(EAGAIN), "EAGAIN");
    cr_expect_str_eq(errno_name(ETIMEDOUT), "ETIMEDOUT");
    cr_expect_str_eq(errno_name(0), "E?");
    cr_expect_str_eq(errno_name(99999), "E?");
    cr_expect_str_eq(errno_name(-1), "E?");
}

/* ---- fail ------------------------------------------------------------------- */

Test(fail, connect_exit_code_maps_errors_to_sysexits)
{
    static const int unavailable[] = {ECONNREFUSED, ENETUNREACH, EHOSTUNREACH,
                                      ETIMEDOUT, EADDRNOTAVAIL};
    for (size_t i = 0; i < sizeof unavailable / sizeof unavailable[0]; i++)
        cr_expect_eq(connect_exit_code(unavailable[i]), EX_UNAVAILABLE,
                     "%s should be 69", errno_name(unavailable[i]));
    cr_expect_eq(connect_exit_code(EACCES), EX_OSERR);
    cr_expect_eq(connect_exit_code(EMFILE), EX_OSERR);
    cr_expect_eq(connect_exit_code(0), EX_OSERR);
}

Test(fail, errno_hint_for_the_errors_learners_meet)
{
    cr_expect(strstr(errno_hint(EADDRINUSE), "try another PORT") != NULL,
              "EADDRINUSE hint: '%s'", errno_hint(EADDRINUSE));
    cr_expect(strstr(errno_hint(ECONNREFUSED), "echo-server") != NULL,
              "ECONNREFUSED hint: '%s'", errno_hint(ECONNREFUSED));
    cr_expect(strstr(errno_hint(EMFILE), "ulimit") != NULL);
    cr_expect_str_eq(errno_hint(0), "");
    cr_expect_str_eq(errno_hint(EINTR), "");
    /* Every hint reads as " (...)" after the error text. */
    static const int with_hint[] = {EADDRINUSE, EADDRNOTAVAIL, EACCES,
                                    ECONNREFUSED, EMFILE, ENFILE};
    for (size_t i = 0; i < sizeof with_hint / sizeof with_hint[0]; i++) {
        const char *h = errno_hint(with_hint[i]);
        size_t len = strlen(h);
        cr_expect(len > 3 && starts_with(h, " (") && h[len - 1] == ')',
                  "%s hint '%s' is not ' (...)'", errno_name(with_hint[i]), h);
    }
}

Test(fail, warn_msg_is_program_colon_message)
{
    trace_init("tname", 0);
    cr_assert_eq(capture_begin(STDERR_FILENO), 0, "%s", harness_error());
    warn_msg("bind %s: %s", "127.0.0.1:7000", "Address already in use");
    const char *out = capture_end();
    cr_expect_str_eq(out, "tname: bind 127.0.0.1:7000: Address already in use\n");
}

Test(fail, an_overlong_message_stays_one_line)
{
    static char big[2000];
    memset(big, 'y', sizeof big - 1);
    trace_init("tname", 0);
    cr_assert_eq(capture_begin(STDERR_FILENO), 0, "%s", harness_error());
    warn_msg("%s", big);
    const char *out = capture_end();
    cr_expect_eq(count_lines(out), 1);
    cr_expect(starts_with(out, "tname: yyy"), "%.20s", out);
    cr_expect_eq(out[strlen(out) - 1], '\n');
}

Test(fail, die_exits_with_its_code, .exit_code = EX_USAGE)
{
    quiet_stderr();
    trace_init("tname", 0);
    die(EX_USAGE, "bad port '%s': expected a number from 0 to 65535", "abc");
}

static int call_die(void *arg)
{
    int fd = *(int *)arg;
    dup2(fd, STDERR_FILENO);
    trace_init("tname", 0);
    errno = EADDRINUSE;
    die(EX_OSERR, "bind %s: %s%s", "127.0.0.1:7000", strerror(errno),
        errno_hint(errno));
}

Test(fail, die_prints_one_line_then_exits)
{
    char name[] = "/tmp/socklab-test-die-XXXXXX";
    int fd = mkstemp(name);
    cr_assert_geq(fd, 0);
    unlink(name);
    pid_t pid = child_run(call_die, &fd);
    cr_assert_gt(pid, 0, "%s", harness_error());
    struct exit_info how;
    cr_assert_eq(child_wait(pid, 5000, &how), 0, "%s", harness_error());
    cr_expect(how.exited && how.code == EX_OSERR, "exit %d, not 71",
              how.code);

    char text[1024] = "";
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    drop_sanitizer_lines(text);
    char want[512];
    snprintf(want, sizeof want, "tname: bind 127.0.0.1:7000: %s%s\n",
             strerror(EADDRINUSE), errno_hint(EADDRINUSE));
    cr_expect_str_eq(text, want);
    close(fd);
}

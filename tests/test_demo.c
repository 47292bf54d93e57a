/* test_demo.c - make demo (tests/scripts/demo.sh), run as a learner runs it.
 *
 * Without a terminal the script plays its one-terminal session: both traces,
 * prefixed, through to the server's summary. In tmux it opens two panes; the
 * test starts a tmux server of its own (its socket in a scratch directory,
 * so no other tmux is touched), runs the script inside one of its panes,
 * and drives the client pane with send-keys: a typed line, then Ctrl-D. The
 * half-close trace and the server's summary must then stay on screen until
 * Enter is pressed, and the script, started inside tmux, must have opened a
 * window of its own rather than played the one-terminal version. Every wait
 * is for something on screen or on disk, bounded; the tmux server is killed
 * in teardown, and the script runs under `timeout` inside it, so nothing
 * outlives the test by more than that.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#ifndef SOCKLAB_ROOT
#error "SOCKLAB_ROOT must name the checkout (the Makefile defines it)"
#endif

#define PATH_SIZE 1024
#define STEP_MS 10000  /* the longest wait for any one thing to appear */

static void demo_fini(void);

TestSuite(demo, .timeout = 60, .fini = demo_fini);

static char scratch[PATH_SIZE];

/* snprintf into buf, failing the test rather than cutting the text short. */
#define FORMAT(buf, size, ...)                                                \
    do {                                                                      \
        int n_ = snprintf((buf), (size), __VA_ARGS__);                        \
        cr_assert(n_ >= 0 && (size_t)n_ < (size), "text too long for %s",     \
                  #buf);                                                      \
    } while (0)
static char tmux_bin[PATH_SIZE];
static char sock[PATH_SIZE];

/* Run tmux -S sock ARGS... to completion; its stdout, malloc'd, or NULL
 * when it failed (want_ok: the test fails instead). */
static char *tmux_run(int want_ok, const char *const args[])
{
    const char *argv[32];
    size_t n = 0;
    struct run_result r;

    argv[n++] = "-S";
    argv[n++] = sock;
    for (size_t i = 0; args[i] != NULL; i++) {
        cr_assert(n < sizeof argv / sizeof argv[0] - 1, "too many arguments");
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    cr_assert_eq(run_program(tmux_bin, argv, NULL, 0, 5000, &r), 0,
                 "cannot run tmux: %s", harness_error());
    char *out = NULL;
    if (exited_with(&r.exit, 0))
        out = strdup((const char *)r.out);
    else if (want_ok)
        cr_assert_fail("tmux %s failed: %s", args[0], r.err);
    run_result_free(&r);
    return out;
}

#define TMUX(want_ok, ...) tmux_run((want_ok), (const char *const[]){__VA_ARGS__, NULL})

static void demo_fini(void)
{
    if (sock[0] != '\0') {
        free(TMUX(0, "kill-server"));
        sock[0] = '\0';
    }
    if (scratch[0] != '\0')
        remove_tree(scratch);
    scratch[0] = '\0';
    harness_cleanup();
}

/* The text of a pane, wrapped lines joined (malloc'd); a note when the
 * pane, or the whole tmux server, has gone. */
static char *pane_text(const char *pane)
{
    char *text = TMUX(0, "capture-pane", "-p", "-J", "-t", pane, "-S", "-300");
    if (text == NULL)
        text = strdup("(nothing: the pane has gone, or tmux has)");
    cr_assert_not_null(text, "out of memory");
    return text;
}

/* Wait until the pane shows want; return its text (malloc'd). */
static char *wait_for_text(const char *pane, const char *want)
{
    long long deadline = now_ms() + STEP_MS;
    for (;;) {
        char *text = pane_text(pane);
        if (strstr(text, want) != NULL)
            return text;
        if (now_ms() > deadline)
            cr_assert_fail("pane %s never showed \"%s\"; it shows:\n%s", pane,
                           want, text);
        free(text);
        nap_ms(50);
    }
}

/* The id (%N) of pane index idx in the window called name, or "" when
 * there is no such pane. */
static void find_pane(const char *name, int idx, char *id, size_t size)
{
    char *list = TMUX(0, "list-panes", "-a", "-F",
                      "#{window_name} #{pane_index} #{pane_id}");
    char want[64];
    FORMAT(want, sizeof want, "%s %d ", name, idx);
    id[0] = '\0';
    for (char *line = list; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        if (strncmp(line, want, strlen(want)) == 0)
            FORMAT(id, size, "%s", line + strlen(want));
        line = nl != NULL ? nl + 1 : NULL;
    }
    free(list);
}

/* Assert that text holds each of the strings, in this order. */
static void expect_in_order(const char *text, const char *const want[])
{
    const char *at = text;
    for (size_t i = 0; want[i] != NULL; i++) {
        const char *hit = strstr(at, want[i]);
        cr_expect_not_null(hit, "expected \"%s\" (after \"%s\") in:\n%s",
                           want[i], i > 0 ? want[i - 1] : "the start", text);
        if (hit == NULL)
            return;
        at = hit + strlen(want[i]);
    }
}

Test(demo, without_a_terminal_it_plays_the_whole_session)
{
    char script[PATH_SIZE];
    struct run_result r;

    FORMAT(script, sizeof script, "%s/tests/scripts/demo.sh", SOCKLAB_ROOT);
    cr_assert(bin_exists("echo-server") && bin_exists("echo-client"),
              "bin/echo-server and bin/echo-client must be built");
    /* stdin is a pipe here, not a terminal: the one-terminal version. */
    const char *args[] = {script, NULL};
    cr_assert_eq(run_program("/bin/sh", args, NULL, 0, 20000, &r), 0,
                 "cannot run demo.sh: %s", harness_error());
    const char *out = (const char *)r.out;
    cr_expect(exited_with(&r.exit, 0), "demo.sh: %s\n%s%s",
              describe_exit(&r.exit, (char[64]){0}, 64), out, r.err);
    cr_expect_not_null(strstr(out, "server | listening on 127.0.0.1:"), "%s",
                       out);
    expect_in_order(out, (const char *const[]){
        "client | hello, socket\n", "client | second line\n",
        "shutdown(3, SHUT_WR) = 0", "read(3) = 0  peer closed",
        "close(3) = 0", NULL});
    cr_expect_not_null(strstr(out, "server | echo-server: stopped: 1 client "
                                   "served, 26 bytes written back, 0 cut "
                                   "off by the stop\n"),
                       "%s", out);
    run_result_free(&r);
}

Test(demo, in_tmux_the_ending_stays_until_a_key, .timeout = 60)
{
    char outer[32], server[32], client[32], exit_file[PATH_SIZE],
        command[8 * PATH_SIZE];

    if (find_on_path("tmux", tmux_bin, sizeof tmux_bin) == NULL)
        cr_skip_test("tmux is not installed (Debian: apt-get install tmux)");
    char timeout_bin[PATH_SIZE];
    if (find_on_path("timeout", timeout_bin, sizeof timeout_bin) == NULL)
        cr_skip_test("timeout (coreutils) is not installed");
    cr_assert(bin_exists("echo-server") && bin_exists("echo-client"),
              "bin/echo-server and bin/echo-client must be built");

    const char *tmp = getenv("TMPDIR");
    FORMAT(scratch, sizeof scratch, "%s/socklab-demo-XXXXXX",
           tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(scratch), "mkdtemp: %s", strerror(errno));
    FORMAT(sock, sizeof sock, "%s/tmux.sock", scratch);
    FORMAT(exit_file, sizeof exit_file, "%s/exit", scratch);

    /* The learner's tmux: one window, a shell running make demo's script.
     * When the script ends, its status goes to a file and the whole tmux
     * server goes; timeout bounds a script that would hang. */
    FORMAT(command, sizeof command,
           "cd '%s' && %s --foreground 50 sh tests/scripts/demo.sh; "
           "echo $? >'%s.new' && mv '%s.new' '%s'; %s -S '%s' kill-server",
           SOCKLAB_ROOT, timeout_bin, exit_file, exit_file, exit_file,
           tmux_bin, sock);
    free(TMUX(1, "-f", "/dev/null", "new-session", "-d", "-s", "learner",
              "-n", "shell", "-x", "200", "-y", "50", command));
    find_pane("shell", 0, outer, sizeof outer);
    cr_assert_neq(outer[0], '\0', "no pane in the learner's window");

    /* A window of its own, two panes: the server, then the client. */
    long long deadline = now_ms() + STEP_MS;
    do {
        find_pane("socklab-demo", 1, client, sizeof client);
        if (client[0] == '\0')
            nap_ms(50);
    } while (client[0] == '\0' && now_ms() < deadline);
    cr_assert_neq(client[0], '\0',
                  "demo.sh, started inside tmux, opened no window "
                  "'socklab-demo' with two panes; its pane shows:\n%s",
                  pane_text(outer));
    find_pane("socklab-demo", 0, server, sizeof server);
    find_pane("shell", 0, outer, sizeof outer);
    cr_assert_neq(outer[0], '\0', "the learner's own window went away");

    /* Type a line, as a learner would; it comes back. */
    free(wait_for_text(client, "~ uv_tcp_connect + on_connect"));
    free(TMUX(1, "send-keys", "-t", client, "-l", "hello socket"));
    free(TMUX(1, "send-keys", "-t", client, "Enter"));
    free(wait_for_text(client, "read(3) = 13"));

    /* Ctrl-D: the client half-closes and ends. */
    free(TMUX(1, "send-keys", "-t", client, "C-d"));
    char *ctext = wait_for_text(client, "Press Enter to close the demo.");
    char *stext = wait_for_text(server, "echo-server: stopped: 1 client "
                                        "served, 13 bytes written back");
    expect_in_order(ctext, (const char *const[]){
        "hello socket\n", "read(0) = 0  end of input",
        "shutdown(3, SHUT_WR) = 0", "read(3) = 0  peer closed",
        "close(3) = 0", "the client exited with status 0", NULL});
    expect_in_order(stext, (const char *const[]){
        "listening on 127.0.0.1:", "read(4) = 13", "read(4) = 0  peer closed",
        "close(4) = 0", "stopped: 1 client served, 13 bytes written back",
        "(server stopped)", NULL});
    free(ctext);
    free(stext);

    /* Both panes are still there, a moment later: nothing ends the demo
     * but a key. And the script played no one-terminal version. */
    nap_ms(300);
    char again[32];
    find_pane("socklab-demo", 1, again, sizeof again);
    cr_expect_str_eq(again, client, "the client pane closed by itself");
    find_pane("socklab-demo", 0, again, sizeof again);
    cr_expect_str_eq(again, server, "the server pane closed by itself");
    char *otext = pane_text(outer);
    cr_expect_not_null(strstr(otext, "demo: running in the tmux window "
                                     "'socklab-demo'"), "%s", otext);
    cr_expect_null(strstr(otext, "server | "), "played the plain version:\n%s",
                   otext);
    free(otext);
    cr_expect_neq(access(exit_file, F_OK), 0, "demo.sh ended before a key");

    /* Enter closes the demo window, and the script ends with status 0. */
    free(TMUX(1, "send-keys", "-t", client, "Enter"));
    deadline = now_ms() + STEP_MS;
    while (access(exit_file, F_OK) != 0 && now_ms() < deadline)
        nap_ms(50);
    FILE *f = fopen(exit_file, "r");
    cr_assert_not_null(f, "demo.sh did not end after Enter");
    int status = -1;
    cr_expect_eq(fscanf(f, "%d", &status), 1, "no status in %s", exit_file);
    fclose(f);
    cr_expect_eq(status, 0, "demo.sh exited with status %d", status);
}

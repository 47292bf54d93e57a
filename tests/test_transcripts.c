/* test_transcripts.c - the outputs the lessons show are what the programs
 * print.
 *
 * The checker is tests/scripts/quotes.sh (its header documents the run
 * markers, how an example runs, what is masked); this suite only runs it:
 *
 *   --transcripts          run every marked example, each in a network
 *                          namespace of its own, and compare its output with
 *                          the lesson's block, pids, ephemeral ports, times,
 *                          durations and rates masked
 *   --update-transcripts   write what the run printed into the blocks that
 *                          differ
 *
 * First on small scratch trees (a mkdtemp directory holding lessons/ and a
 * link to the real bin/), so that each rule is seen to fail when it should,
 * then on the real lessons. Making a namespace needs root: where the script
 * says it skipped, these tests skip with its reason, and one test sees that
 * path on purpose (SOCKLAB_TRANSCRIPTS_NO_NS=1).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#ifndef SOCKLAB_ROOT
#error "SOCKLAB_ROOT must name the checkout (the Makefile defines it)"
#endif
#ifndef SOCKLAB_BIN_DIR
#error "SOCKLAB_BIN_DIR must name the programs' directory (the Makefile)"
#endif

/* The real lessons mark at least this many examples; fewer means the
 * checker found nothing to run, or the markers were lost. */
#define MIN_REAL_EXAMPLES 15

#define PATH_SIZE 4096
#define SCRATCH_MS 30000   /* a scratch tree: two or three small examples */
#define REAL_MS 150000     /* every example of the lessons */

static void transcripts_fini(void);

TestSuite(transcripts, .timeout = 60, .fini = transcripts_fini);

/* ---- scratch trees ------------------------------------------------------ */

static char scratch[PATH_SIZE];

static void path_join(char *out, size_t size, const char *a, const char *b)
{
    int n = snprintf(out, size, "%s/%s", a, b);
    cr_assert(n >= 0 && (size_t)n < size, "path too long: %s/%s", a, b);
}

/* A scratch project: lessons/ and bin -> the real programs. */
static void make_scratch(void)
{
    const char *tmp = getenv("TMPDIR");
    char path[PATH_SIZE];

    snprintf(scratch, sizeof scratch, "%s/socklab-transcripts-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(scratch), "mkdtemp: %s", strerror(errno));
    path_join(path, sizeof path, scratch, "lessons");
    cr_assert(mkdir(path, 0755) == 0, "mkdir %s: %s", path, strerror(errno));
    path_join(path, sizeof path, scratch, "bin");
    cr_assert(symlink(SOCKLAB_BIN_DIR, path) == 0, "symlink %s: %s", path,
              strerror(errno));
}

static void put_lesson(const char *content)
{
    char path[PATH_SIZE];

    path_join(path, sizeof path, scratch, "lessons/01-demo.md");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
    cr_assert(fputs(content, f) >= 0 && fclose(f) == 0, "cannot write %s",
              path);
}

/* The scratch lesson's Korean twin, lessons/ko/01-demo.md. */
static void put_korean(const char *content)
{
    char path[PATH_SIZE];

    path_join(path, sizeof path, scratch, "lessons/ko");
    cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s",
              path, strerror(errno));
    path_join(path, sizeof path, scratch, "lessons/ko/01-demo.md");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
    cr_assert(fputs(content, f) >= 0 && fclose(f) == 0, "cannot write %s",
              path);
}

/* The scratch lesson as a malloc'd string. */
static char *get_lesson(void)
{
    char path[PATH_SIZE];

    path_join(path, sizeof path, scratch, "lessons/01-demo.md");
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot read %s: %s", path, strerror(errno));
    size_t cap = 1 << 16;
    char *data = malloc(cap);
    cr_assert_not_null(data, "out of memory");
    size_t len = fread(data, 1, cap - 1, f);
    cr_assert(len < cap - 1, "the scratch lesson outgrew %zu bytes", cap);
    fclose(f);
    data[len] = '\0';
    return data;
}

/* Replace the first occurrence of from in text (a malloc'd string) by to;
 * the test fails if there is none. */
static char *replace_once(char *text, const char *from, const char *to)
{
    char *at = strstr(text, from);
    cr_assert_not_null(at, "\"%s\" not found in:\n%s", from, text);
    size_t head = (size_t)(at - text), flen = strlen(from), tlen = strlen(to);
    size_t size = strlen(text) - flen + tlen + 1;
    char *out = malloc(size);
    cr_assert_not_null(out, "out of memory");
    snprintf(out, size, "%.*s%s%s", (int)head, text, to, at + flen);
    free(text);
    return out;
}

static void transcripts_fini(void)
{
    if (scratch[0] != '\0')
        remove_tree(scratch);
    scratch[0] = '\0';
    harness_cleanup();
}

/* ---- running the script ------------------------------------------------- */

/* "sh quotes.sh FLAG --root ROOT", to completion within ms. */
static int run_script(struct script_run *r, const char *flag,
                      const char *root, int ms)
{
    const char *const flags[] = {flag, NULL};
    cr_assert_eq(run_quotes_script(r, flags, root, ms), 0,
                 "cannot run quotes.sh: %s", harness_error());
    cr_assert(r->raw.exit.exited && !r->raw.exit.timed_out,
              "quotes.sh %s did not finish (timed out or killed)\n%s", flag,
              r->err);
    return r->raw.exit.code;
}

/* Run --transcripts (or --update-transcripts) on root; skip the test with
 * the script's reason when it could not make a network namespace. */
static int run_examples(struct script_run *r, const char *flag,
                        const char *root, int ms)
{
    int rc = run_script(r, flag, root, ms);
    const char *skip = strstr(r->out, "not run: skipped: ");
    if (rc == 0 && skip != NULL) {
        char reason[512];
        snprintf(reason, sizeof reason, "%s", skip + 18);
        reason[strcspn(reason, "\n")] = '\0';
        script_free(r);
        cr_skip_test("the examples need a network namespace: %s", reason);
    }
    return rc;
}

/* Check the scratch lesson's markers only, as the script does without a
 * namespace (SOCKLAB_TRANSCRIPTS_NO_NS): the marker problems, no run. */
static int check_markers(struct script_run *r)
{
    setenv("SOCKLAB_TRANSCRIPTS_NO_NS", "1", 1);
    int rc = run_script(r, "--transcripts", scratch, SCRATCH_MS);
    unsetenv("SOCKLAB_TRANSCRIPTS_NO_NS");
    return rc;
}

#define expect_has(text, want)                                                \
    cr_expect_not_null(strstr((text), (want)), "expected:\n%s\nin:\n%s",     \
                       (want), (text))

/* Write lesson, with its first `from` changed to `to`, as the scratch
 * lesson, and run its examples; returns the exit code (r to be freed). */
static int run_changed(struct script_run *r, const char *lesson,
                       const char *from, const char *to)
{
    char *changed = replace_once(strdup(lesson), from, to);
    put_lesson(changed);
    free(changed);
    return run_examples(r, "--transcripts", scratch, SCRATCH_MS);
}

/* That change must make the check fail (exit 1), its report saying says. */
static void expect_change_fails(const char *lesson, const char *from,
                                const char *to, const char *says)
{
    struct script_run r;
    int rc = run_changed(&r, lesson, from, to);
    cr_expect_eq(rc, 1, "\"%s\" -> \"%s\": exit %d\n%s", from, to, rc,
                 r.err);
    expect_has(r.err, says);
    script_free(&r);
}

/* A client with no server: refused, exit 69. Deterministic, no pid. */
static const char refused_lesson[] =
    "# Demo\n"                                                     /* 1 */
    "\n"                                                           /* 2 */
    "<!-- run: refused -->\n"                                      /* 3 */
    "```sh\n"                                                      /* 4 */
    "printf 'hi\\n' | bin/echo-client; echo \"exit $?\"\n"         /* 5 */
    "```\n"                                                        /* 6 */
    "\n"                                                           /* 7 */
    "```text\n"                                                    /* 8 */
    "echo-client: connect 127.0.0.1:7000: Connection refused (is a server "
    "listening there? start bin/echo-server first)\n"              /* 9 */
    "exit 69\n"                                                    /* 10 */
    "```\n";                                                       /* 11 */

/* Two terminals, terminal 1's output last, with pids and a client port
 * that no run will reproduce (the masks must absorb them) and a trace pad
 * made for a 4-digit pid. */
static const char pair_lesson[] =
    "Terminal 1:\n"                                                /* 1 */
    "\n"                                                           /* 2 */
    "<!-- run: pair terminal=1 end=SIGINT -->\n"                   /* 3 */
    "```sh\n"                                                      /* 4 */
    "bin/echo-server -v\n"                                         /* 5 */
    "```\n"                                                        /* 6 */
    "\n"                                                           /* 7 */
    "Terminal 2:\n"                                                /* 8 */
    "\n"                                                           /* 9 */
    "<!-- run: pair terminal=2 show=stdout -->\n"                  /* 10 */
    "```sh\n"                                                      /* 11 */
    "printf 'hello\\n' | bin/echo-client -v\n"                     /* 12 */
    "```\n"                                                        /* 13 */
    "\n"                                                           /* 14 */
    "```text\n"                                                    /* 15 */
    "hello\n"                                                      /* 16 */
    "```\n"                                                        /* 17 */
    "\n"                                                           /* 18 */
    "Meanwhile terminal 1 shows, and Ctrl-C ends it:\n"            /* 19 */
    "\n"                                                           /* 20 */
    "```text\n"                                                    /* 21 */
    "[echo-server 4242] socket(AF_INET, SOCK_STREAM, 0) = 3    ~ made in "
    "uv_tcp_bind (uv_tcp_init makes none)\n"                       /* 22 */
    "[echo-server 4242] setsockopt(3, SO_REUSEADDR, 1) = 0     ~ set inside "
    "uv_tcp_bind\n"                                                /* 23 */
    "[echo-server 4242] bind(3, 127.0.0.1:7000) = 0            ~ uv_ip4_addr "
    "+ uv_tcp_bind\n"                                              /* 24 */
    "[echo-server 4242] listen(3, 128) = 0                     ~ uv_listen\n"
    "[echo-server 4242] getsockname(3) = 0  127.0.0.1:7000     ~ "
    "uv_tcp_getsockname\n"                                         /* 26 */
    "listening on 127.0.0.1:7000\n"                                /* 27 */
    "[echo-server 4242] accept(3) = 4  peer 127.0.0.1:40123    ~ "
    "on_new_connection -> uv_accept\n"                             /* 28 */
    "[echo-server 4242] setsockopt(4, SO_RCVTIMEO, 300s) = 0   ~ a "
    "uv_timer_t, started again by each read\n"                     /* 29 */
    "[echo-server 4242] setsockopt(4, SO_SNDTIMEO, 300s) = 0   ~ the same "
    "timer, while writes wait\n"                                   /* 30 */
    "[echo-server 4242] read(4) = 6                            ~ echo_read, "
    "nread = 6\n"                                                  /* 31 */
    "[echo-server 4242] write(4, 6) = 6                        ~ uv_write\n"
    "[echo-server 4242] read(4) = 0  peer closed               ~ echo_read, "
    "nread = UV_EOF\n"                                             /* 33 */
    "[echo-server 4242] close(4) = 0                           ~ uv_close\n"
    "[echo-server 4242] accept(3) = -1 EINTR (Interrupted system call)  ~ "
    "(libuv retries EINTR itself: no callback)\n"                  /* 35 */
    "[echo-server 4242] close(3) = 0  no new clients           ~ uv_close\n"
    "echo-server: stopped: 1 client served, 6 bytes written back, 0 cut off "
    "by the stop\n"                                                /* 37 */
    "```\n";                                                       /* 38 */

/* A terminal 1 that is not one of our servers (socat, nc -l): no
 * "listening on" line, but a line of its own once it is ready, on stderr
 * here as socat -d -d writes it, named by ready=. It takes a moment, then
 * makes a file and says so; terminal 2 must run only after that line. */
static const char ready_lesson[] =
    "Terminal 1:\n"                                                /* 1 */
    "\n"                                                           /* 2 */
    "<!-- run: slow terminal=1 ready=bound timeout=5 output=ignore -->\n"
    "```sh\n"                                                      /* 4 */
    "sleep 1; : >made; echo 'N now bound' >&2; exec sleep 30\n"    /* 5 */
    "```\n"                                                        /* 6 */
    "\n"                                                           /* 7 */
    "<!-- run: slow terminal=2 -->\n"                              /* 8 */
    "```sh\n"                                                      /* 9 */
    "ls made && rm made\n"                                         /* 10 */
    "```\n"                                                        /* 11 */
    "\n"                                                           /* 12 */
    "```text\n"                                                    /* 13 */
    "made\n"                                                       /* 14 */
    "```\n";                                                       /* 15 */

/* Terminal 2 ends while terminal 1 is still busy (a server finishing with
 * its last client, here a shell counting for a moment): Ctrl-C must wait
 * until terminal 1 sleeps again, as a learner's would come seconds later.
 * Two fifos make terminal 2 end exactly when terminal 1 starts counting. */
static const char busy_lesson[] =
    "<!-- run: busy terminal=1 -->\n"                              /* 1 */
    "```sh\n"                                                      /* 2 */
    "rm -f go busy; mkfifo go busy\n"                              /* 3 */
    "trap 'echo \"Ctrl-C came while $phase\"; rm -f go busy; exit 0' INT\n"
    "phase=waiting; echo 'listening on a fifo'\n"                  /* 5 */
    "read -r x <go; phase=counting; echo >busy\n"                  /* 6 */
    "i=0; while [ $i -lt 300000 ]; do i=$((i + 1)); done\n"        /* 7 */
    "phase=asleep; sleep 30\n"                                     /* 8 */
    "```\n"                                                        /* 9 */
    "<!-- run: busy terminal=2 output=none -->\n"                  /* 10 */
    "```sh\n"                                                      /* 11 */
    "echo >go; read -r x <busy\n"                                  /* 12 */
    "```\n"                                                        /* 13 */
    "```text\n"                                                    /* 14 */
    "listening on a fifo\n"                                        /* 15 */
    "Ctrl-C came while asleep\n"                                   /* 16 */
    "```\n";                                                       /* 17 */

/* A session a person drives: a client typed into and left running while
 * ss looks (its rows listed here in the other order than ss prints them),
 * terminal 1 shown while the client still runs, and a Ctrl-C shown as a
 * terminal echoes it. */
static const char live_lesson[] =
    "<!-- run: live terminal=1 end=none -->\n"                     /* 1 */
    "```sh\n"                                                      /* 2 */
    "bin/echo-server -v\n"                                         /* 3 */
    "```\n"                                                        /* 4 */
    "<!-- run: live terminal=2 type=hello end=eof -->\n"           /* 5 */
    "```sh\n"                                                      /* 6 */
    "bin/echo-client\n"                                            /* 7 */
    "```\n"                                                        /* 8 */
    "```text\n"                                                    /* 9 */
    "hello\n"                                                      /* 10 */
    "hello\n"                                                      /* 11 */
    "```\n"                                                        /* 12 */
    "<!-- run: live terminal=3 order=any -->\n"                    /* 13 */
    "```sh\n"                                                      /* 14 */
    "ss -tan 'sport = :7000'\n"                                    /* 15 */
    "```\n"                                                        /* 16 */
    "```text\n"                                                    /* 17 */
    "State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
    "ESTAB  0      0          127.0.0.1:7000    127.0.0.1:38928\n" /* 19 */
    "LISTEN 0      128        127.0.0.1:7000      0.0.0.0:*\n"     /* 20 */
    "```\n"                                                        /* 21 */
    "```text\n"                                                    /* 22 */
    "[echo-server 8548] socket(AF_INET, SOCK_STREAM, 0) = 3    ~ made in "
    "uv_tcp_bind (uv_tcp_init makes none)\n"                       /* 23 */
    "[echo-server 8548] setsockopt(3, SO_REUSEADDR, 1) = 0     ~ set inside "
    "uv_tcp_bind\n"                                                /* 24 */
    "[echo-server 8548] bind(3, 127.0.0.1:7000) = 0            ~ uv_ip4_addr "
    "+ uv_tcp_bind\n"                                              /* 25 */
    "[echo-server 8548] listen(3, 128) = 0                     ~ uv_listen\n"
    "[echo-server 8548] getsockname(3) = 0  127.0.0.1:7000     ~ "
    "uv_tcp_getsockname\n"                                         /* 27 */
    "listening on 127.0.0.1:7000\n"                                /* 28 */
    "[echo-server 8548] accept(3) = 4  peer 127.0.0.1:38928    ~ "
    "on_new_connection -> uv_accept\n"                             /* 29 */
    "[echo-server 8548] setsockopt(4, SO_RCVTIMEO, 300s) = 0   ~ a "
    "uv_timer_t, started again by each read\n"                     /* 30 */
    "[echo-server 8548] setsockopt(4, SO_SNDTIMEO, 300s) = 0   ~ the same "
    "timer, while writes wait\n"                                   /* 31 */
    "[echo-server 8548] read(4) = 6                            ~ echo_read, "
    "nread = 6\n"                                                  /* 32 */
    "[echo-server 8548] write(4, 6) = 6                        ~ uv_write\n"
    "```\n"                                                        /* 34 */
    "<!-- run: stop terminal=1 end=^C -->\n"                       /* 35 */
    "```sh\n"                                                      /* 36 */
    "bin/echo-server -v\n"                                         /* 37 */
    "```\n"                                                        /* 38 */
    "```text\n"                                                    /* 39 */
    "[echo-server 9853] socket(AF_INET, SOCK_STREAM, 0) = 3    ~ made in "
    "uv_tcp_bind (uv_tcp_init makes none)\n"                       /* 40 */
    "[echo-server 9853] setsockopt(3, SO_REUSEADDR, 1) = 0     ~ set inside "
    "uv_tcp_bind\n"                                                /* 41 */
    "[echo-server 9853] bind(3, 127.0.0.1:7000) = 0            ~ uv_ip4_addr "
    "+ uv_tcp_bind\n"                                              /* 42 */
    "[echo-server 9853] listen(3, 128) = 0                     ~ uv_listen\n"
    "[echo-server 9853] getsockname(3) = 0  127.0.0.1:7000     ~ "
    "uv_tcp_getsockname\n"                                         /* 44 */
    "listening on 127.0.0.1:7000\n"                                /* 45 */
    "^C[echo-server 9853] accept(3) = -1 EINTR (Interrupted system call)  ~ "
    "(libuv retries EINTR itself: no callback)\n"                  /* 46 */
    "[echo-server 9853] close(3) = 0  no new clients           ~ uv_close\n"
    "echo-server: stopped: 0 clients served, 0 bytes written back, 0 cut off "
    "by the stop\n"                                                /* 48 */
    "```\n";                                                       /* 49 */

/* ---- on scratch trees --------------------------------------------------- */

Test(transcripts, a_matching_example_passes)
{
    struct script_run r;

    make_scratch();
    put_lesson(refused_lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 1 example (1 output block marked of 1 text "
                      "blocks) run in ");
    expect_has(r.out, ": all match their run");
    cr_expect_str_empty(r.err);
    script_free(&r);
}

Test(transcripts, one_changed_character_fails_and_update_puts_it_back)
{
    struct script_run r;

    make_scratch();
    char *lesson = replace_once(strdup(refused_lesson), "exit 69", "exit 64");
    put_lesson(lesson);
    free(lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/"), 1, "one report:\n%s",
                 r.err);
    expect_has(r.err, "lessons/01-demo.md:3: <!-- run: refused -->: output "
                      "differs at line 2: lesson lessons/01-demo.md:10 "
                      "\"exit 64\", got \"exit 69\"\n");
    expect_has(r.err, "1 differ, 0 failed to run, 0 marker problems");
    expect_has(r.err, "make transcripts");
    script_free(&r);

    rc = run_examples(&r, "--update-transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "--update-transcripts: exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/01-demo.md:3: <!-- run: refused -->: output "
                      "block rewritten from the run");
    expect_has(r.out, "1 lesson rewritten: all match their run");
    script_free(&r);
    char *now = get_lesson();
    cr_expect_str_eq(now, refused_lesson);
    free(now);

    rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "after the update: exit %d\n%s", rc, r.err);
    script_free(&r);
}

Test(transcripts, a_korean_twin_is_compared_with_the_same_run)
{
    struct script_run r;

    /* The same example under Korean prose: run once, compared twice. */
    make_scratch();
    put_lesson(refused_lesson);
    char *korean = replace_once(strdup(refused_lesson), "# Demo\n",
                                "# 데모\n");
    put_korean(korean);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 2 examples (2 output blocks marked of 2 "
                      "text blocks) run in ");
    expect_has(r.out, " (1 the same run as an earlier one, made once): all "
                      "match their run");
    script_free(&r);

    /* The twin's block is its own: a drift there is reported there. */
    korean = replace_once(korean, "exit 69", "exit 64");
    put_korean(korean);
    free(korean);
    rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/"), 1, "one report:\n%s",
                 r.err);
    expect_has(r.err, "lessons/ko/01-demo.md:3: <!-- run: refused -->: "
                      "output differs at line 2: lesson "
                      "lessons/ko/01-demo.md:10 \"exit 64\", got \"exit "
                      "69\"\n");
    script_free(&r);
}

Test(transcripts, a_two_terminal_example_runs_both_and_ends_terminal_1)
{
    struct script_run r;

    make_scratch();
    put_lesson(pair_lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 1 example (2 output blocks marked of 2 text "
                      "blocks) run in ");
    cr_expect_str_empty(r.err);
    script_free(&r);

    /* What terminal 2 printed is compared too: here its last line. */
    expect_change_fails(pair_lesson, "hello\n```", "hello\nbye\n```",
                        "lessons/01-demo.md:10: <!-- run: pair terminal=2 "
                        "-->: output differs at line 2: lesson "
                        "lessons/01-demo.md:17 \"bye\", got (the output has "
                        "ended)\n");
}

/* A terminal left running (end=SIGINT): its client holds the blocking
 * server, so terminal 3's client waits in the backlog until timeout gives
 * up. Run to its end instead, terminal 2 would read end of input at once,
 * leave, and terminal 3 would be served ("hi", exit 0). */
static const char held_lesson[] =
    "<!-- run: held terminal=1 output=ignore -->\n"                /* 1 */
    "```sh\n"                                                      /* 2 */
    "bin/echo-server\n"                                            /* 3 */
    "```\n"                                                        /* 4 */
    "<!-- run: held terminal=2 end=SIGINT ready=first -->\n"       /* 5 */
    "```sh\n"                                                      /* 6 */
    "(printf 'first\\n'; cat) | bin/echo-client\n"                 /* 7 */
    "```\n"                                                        /* 8 */
    "```text\n"                                                    /* 9 */
    "first\n"                                                      /* 10 */
    "```\n"                                                        /* 11 */
    "<!-- run: held terminal=3 -->\n"                              /* 12 */
    "```sh\n"                                                      /* 13 */
    "printf 'hi\\n' | timeout 1 bin/echo-client; echo \"exit $?\"\n"
    "```\n"                                                        /* 15 */
    "```text\n"                                                    /* 16 */
    "exit 124\n"                                                   /* 17 */
    "```\n";                                                       /* 18 */

/* end=eof: the client is still connected while terminal 1 stops, so the
 * server cuts it off (1 cut off), and only then does its input end. Ended
 * before terminal 1, it would have left first (0 cut off). */
static const char eof_lesson[] =
    "<!-- run: late terminal=1 -->\n"                              /* 1 */
    "```sh\n"                                                      /* 2 */
    "bin/echo-server-poll\n"                                       /* 3 */
    "```\n"                                                        /* 4 */
    "<!-- run: late terminal=2 end=eof ready='still here' -->\n"   /* 5 */
    "```sh\n"                                                      /* 6 */
    "(printf 'still here\\n'; cat) | bin/echo-client\n"            /* 7 */
    "```\n"                                                        /* 8 */
    "```text\n"                                                    /* 9 */
    "still here\n"                                                 /* 10 */
    "echo-client: read from server: Connection reset by peer\n"    /* 11 */
    "```\n"                                                        /* 12 */
    "```text\n"                                                    /* 13 */
    "listening on 127.0.0.1:7000\n"                                /* 14 */
    "echo-server-poll: stopped: 1 client served, 11 bytes written back, 1 "
    "cut off by the stop\n"                                        /* 15 */
    "```\n";                                                       /* 16 */

Test(transcripts, a_terminal_left_running_holds_while_the_next_one_runs)
{
    struct script_run r;

    make_scratch();
    put_lesson(held_lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 1 example (2 output blocks marked of 2 text "
                      "blocks) run in ");
    cr_expect_str_empty(r.err);
    script_free(&r);
}

/* stop=2 on an end=eof terminal is its Ctrl-D, there and then: the client
 * sends its FIN, reads the rest and leaves, and terminal 3 finds no
 * client. Without it, terminal 3 would print the client's pid. */
static const char eof_stop_lesson[] =
    "<!-- run: early terminal=1 output=ignore -->\n"               /* 1 */
    "```sh\n"                                                      /* 2 */
    "bin/echo-server-poll\n"                                       /* 3 */
    "```\n"                                                        /* 4 */
    "<!-- run: early terminal=2 end=eof -->\n"                     /* 5 */
    "```sh\n"                                                      /* 6 */
    "(printf 'bye\\n'; cat) | bin/echo-client\n"                  /* 7 */
    "```\n"                                                        /* 8 */
    "```text\n"                                                    /* 9 */
    "bye\n"                                                        /* 10 */
    "```\n"                                                        /* 11 */
    "<!-- run: early terminal=3 stop=2 -->\n"                      /* 12 */
    "```sh\n"                                                      /* 13 */
    "pgrep -x echo-client || echo gone\n"                          /* 14 */
    "```\n"                                                        /* 15 */
    "```text\n"                                                    /* 16 */
    "gone\n"                                                       /* 17 */
    "```\n";                                                       /* 18 */

Test(transcripts, an_eof_terminal_ends_after_terminal_1)
{
    struct script_run r;

    make_scratch();
    put_lesson(eof_lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 1 example (2 output blocks marked of 2 text "
                      "blocks) run in ");
    cr_expect_str_empty(r.err);
    script_free(&r);

    put_lesson(eof_stop_lesson);
    rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    cr_expect_str_empty(r.err);
    script_free(&r);

    expect_change_fails(eof_stop_lesson, " stop=2 -->", " -->",
                        "lessons/01-demo.md:12: <!-- run: early terminal=3 "
                        "-->: output differs at line 1");
}

Test(transcripts, ends_in_the_wrong_place_are_reported)
{
    struct script_run r;

    make_scratch();
    put_lesson("<!-- run: one end=SIGINT -->\n"          /* 1 */
               "```sh\n"                                 /* 2 */
               "true\n"                                  /* 3 */
               "```\n"                                   /* 4 */
               "```text\n"                               /* 5 */
               "```\n"                                   /* 6 */
               "<!-- run: two terminal=1 end=eof -->\n"  /* 7 */
               "```sh\n"                                 /* 8 */
               "bin/echo-server\n"                       /* 9 */
               "```\n"                                   /* 10 */
               "<!-- run: two terminal=2 end=exit -->\n" /* 11 */
               "```sh\n"                                 /* 12 */
               "true\n"                                  /* 13 */
               "```\n"                                   /* 14 */
               "```text\n"                               /* 15 */
               "```\n"                                   /* 16 */
               "```text\n"                               /* 17 */
               "```\n");                                 /* 18 */
    int rc = check_markers(&r);
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    /* end=exit on terminal 2 is right: left running, it ends by itself. */
    cr_expect_eq(lines_starting(r.err, "lessons/"), 2, "two reports:\n%s",
                 r.err);
    expect_has(r.err, "lessons/01-demo.md:1: <!-- run: one -->: end= belongs "
                      "to a terminal that is stopped");
    expect_has(r.err, "lessons/01-demo.md:7: <!-- run: two terminal=1 -->: "
                      "end=eof is for a terminal 2, 3... left running");
    script_free(&r);
}

Test(transcripts, ready_names_the_line_a_terminal_1_is_waited_for)
{
    struct script_run r;

    make_scratch();
    put_lesson(ready_lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 1 example (1 output block marked of 1 text "
                      "blocks) run in ");
    cr_expect_str_empty(r.err);
    script_free(&r);

    /* Without ready=, the same terminal 1 never prints "listening on". */
    expect_change_fails(ready_lesson, " ready=bound", "",
                        "lessons/01-demo.md: <!-- run: slow -->: terminal 1 "
                        "ended (or timed out) before its ready line "
                        "\"listening on ...\"");

    /* A text it never prints is reported by name. */
    expect_change_fails(ready_lesson, "ready=bound", "ready=never",
                        "before its ready line \"never\"");

    /* Only terminal 1 and terminals left running are waited for. */
    char *lesson = replace_once(strdup(ready_lesson), "slow terminal=2",
                                "slow terminal=2 ready=bound");
    put_lesson(lesson);
    free(lesson);
    rc = check_markers(&r);
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/01-demo.md:8: <!-- run: slow -->: ready= "
                      "belongs to terminal 1 or a terminal left running");
    script_free(&r);
}

/* Ctrl-C stops terminal 1's command, not its shell, as in a learner's
 * terminal: the command after it on the line still runs and says how the
 * first one ended (130: killed by SIGINT). Were the shell killed with it,
 * "exit 130" would never show. */
static const char survive_lesson[] =
    "<!-- run: survive terminal=1 -->\n"                          /* 1 */
    "```sh\n"                                                     /* 2 */
    "sh -c 'echo \"listening on nothing\"; exec sleep 30'; "
    "echo \"exit $?\"\n"                                         /* 3 */
    "```\n"                                                       /* 4 */
    "```text\n"                                                   /* 5 */
    "listening on nothing\n"                                      /* 6 */
    "exit 130\n"                                                  /* 7 */
    "```\n";                                                      /* 8 */

Test(transcripts, ctrl_c_stops_the_command_not_the_shell)
{
    struct script_run r;

    make_scratch();
    put_lesson(survive_lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 1 example (1 output block marked of 1 text "
                      "blocks) run in ");
    cr_expect_str_empty(r.err);
    script_free(&r);
}

Test(transcripts, ctrl_c_waits_until_terminal_1_sleeps)
{
    struct script_run r;

    make_scratch();
    put_lesson(busy_lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 1 example (1 output block marked of 1 text "
                      "blocks) run in ");
    cr_expect_str_empty(r.err);
    script_free(&r);
}

/* The report quotes both lines whole: a tab shows as \t (it used to split
 * the line in two), and an empty line of the lesson stays empty (it used
 * to take the run's line as its own). */
Test(transcripts, a_report_shows_tabs_and_empty_lines_as_they_are)
{
    struct script_run r;

    make_scratch();
    put_lesson("<!-- run: tab -->\n"            /* 1 */
               "```sh\n"                        /* 2 */
               "printf 'a\\tb\\n'\n"            /* 3 */
               "```\n"                          /* 4 */
               "```text\n"                      /* 5 */
               "a\tc\n"                         /* 6 */
               "```\n"                          /* 7 */
               "<!-- run: empty -->\n"          /* 8 */
               "```sh\n"                        /* 9 */
               "echo x\n"                       /* 10 */
               "```\n"                          /* 11 */
               "```text\n"                      /* 12 */
               "\n"                             /* 13 */
               "```\n");                        /* 14 */
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/01-demo.md:1: <!-- run: tab -->: output "
                      "differs at line 1: lesson lessons/01-demo.md:6 "
                      "\"a\\tc\", got \"a\\tb\"\n");
    expect_has(r.err, "lessons/01-demo.md:8: <!-- run: empty -->: output "
                      "differs at line 1: lesson lessons/01-demo.md:13 "
                      "\"\", got \"x\"\n");
    script_free(&r);
}

/* Each new option is needed: without it, or with the block changed where
 * it matters, the example fails on the line that shows it. The session as
 * written passes only if terminal 1 is looked at while the client still
 * runs (no "peer closed" yet), the typed line is echoed, and so on. */
Test(transcripts, typed_lines_terminals_left_running_and_ctrl_c)
{
    static const struct {
        const char *from, *to;
        const char *report; /* what the failure must say */
    } cases[] = {
        /* Without order=any the rows must come as ss lists them. */
        {"live terminal=3 order=any", "live terminal=3",
         "lessons/01-demo.md:13: <!-- run: live terminal=3 -->: output "
         "differs at line 2: lesson lessons/01-demo.md:19 \"ESTAB "},
        /* With it, another row is still another row. */
        {"ESTAB  0      0 ", "ESTAB  1      0 ",
         "lessons/01-demo.md:13: <!-- run: live terminal=3 -->: output "
         "differs at line 2: lesson lessons/01-demo.md:19 \"ESTAB  1 "},
        /* The typed line shows once as typed, once as echoed. */
        {"hello\nhello\n", "hello\n",
         "lessons/01-demo.md:5: <!-- run: live terminal=2 -->: output "
         "differs at line 2: lesson (the block has ended), got \"hello\""},
        /* end=^C shows ^C where the cursor was. */
        {"^C[echo-server 9853]", "[echo-server 9853]",
         "lessons/01-demo.md:35: <!-- run: stop terminal=1 -->: output "
         "differs at line 7: lesson lessons/01-demo.md:46 "},
        /* end=none: what terminal 1 showed before the client ended. */
        {"uv_write\n```\n<!-- run: stop",
         "uv_write\n[echo-server 8548] read(4) = 0  peer closed              "
         "~ echo_read, nread = UV_EOF\n```\n<!-- run: stop",
         "lessons/01-demo.md:1: <!-- run: live terminal=1 -->: output differs "
         "at line 12: lesson lessons/01-demo.md:34 "},
    };
    struct script_run r;

    make_scratch();
    put_lesson(live_lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "as written: exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 2 examples (4 output blocks marked of 4 "
                      "text blocks) run in ");
    cr_expect_str_empty(r.err);
    script_free(&r);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_change_fails(live_lesson, cases[i].from, cases[i].to,
                            cases[i].report);

    /* Options in the wrong place are refused before anything runs. */
    put_lesson("<!-- run: a terminal=1 type=x end=eof -->\n"      /* 1 */
               "```sh\n"                                          /* 2 */
               "bin/echo-server\n"                                /* 3 */
               "```\n"                                            /* 4 */
               "<!-- run: lone end=eof -->\n"                     /* 5 */
               "```sh\n"                                          /* 6 */
               "true\n"                                           /* 7 */
               "```\n"                                            /* 8 */
               "```text\n"                                        /* 9 */
               "```\n");                                          /* 10 */
    rc = check_markers(&r);
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/01-demo.md:1: <!-- run: a terminal=1 -->: "
                      "end=eof is for a terminal 2, 3... left running");
    expect_has(r.err, "lessons/01-demo.md:1: <!-- run: a terminal=1 -->: "
                      "type= is for terminals 2, 3");
    expect_has(r.err, "lessons/01-demo.md:5: <!-- run: lone -->: end= "
                      "belongs to a terminal");
    script_free(&r);
}

Test(transcripts, masks_cover_pids_and_ports_and_nothing_else)
{
    static const struct {
        const char *from, *to;
        int fails;       /* 1: a real difference; 0: masked away */
        const char *line; /* the report names this lesson line */
    } cases[] = {
        /* Masked: another pid (and so another pad), another client port. */
        {"[echo-server 4242] read(4) = 6                            ~",
         "[echo-server 987654] read(4) = 6                        ~", 0,
         NULL},
        {"peer 127.0.0.1:40123", "peer 127.0.0.1:61000", 0, NULL},
        /* Not masked: a byte count, the server's port (below 32768), a
         * descriptor, a word. */
        {"6 bytes written back", "7 bytes written back", 1,
         "lessons/01-demo.md:37 \"echo-server: stopped: 1 client served, 7 "},
        {"listening on 127.0.0.1:7000", "listening on 127.0.0.1:7001", 1,
         "lessons/01-demo.md:27 \"listening on 127.0.0.1:7001\""},
        {"close(4) = 0 ", "close(5) = 0 ", 1, "lessons/01-demo.md:34 "},
        {"peer closed", "peer gone", 1, "lessons/01-demo.md:33 "},
    };
    struct script_run r;

    make_scratch();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *lesson = replace_once(strdup(pair_lesson), cases[i].from,
                                    cases[i].to);
        put_lesson(lesson);
        free(lesson);
        int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
        cr_expect_eq(rc, cases[i].fails, "\"%s\" -> \"%s\": exit %d\n%s",
                     cases[i].from, cases[i].to, rc, r.err);
        if (cases[i].fails) {
            expect_has(r.err, "lessons/01-demo.md:3: <!-- run: pair "
                              "terminal=1 -->: output differs at line ");
            expect_has(r.err, cases[i].line);
        }
        script_free(&r);
    }
}

/* Terminals left running (end= on a terminal 2, 3...): a client that
 * stays connected while later terminals run, a line typed into it (type=,
 * shown on its screen as typed, then its echo), its echo waited for
 * (after=), Ctrl-C in it before a later terminal (stop=), its output shown
 * last; a second server waited for by its ready= text; a command run again
 * until its output matches (until=). */
static const char kept_lesson[] =
    "<!-- run: kept terminal=1 output=ignore timeout=3 -->\n"      /* 1 */
    "```sh\n"                                                      /* 2 */
    "bin/echo-server\n"                                            /* 3 */
    "```\n"                                                        /* 4 */
    "<!-- run: kept terminal=2 end=SIGINT timeout=3 -->\n"         /* 5 */
    "```sh\n"                                                      /* 6 */
    "bin/echo-client\n"                                            /* 7 */
    "```\n"                                                        /* 8 */
    "<!-- run: kept terminal=3 type=2:hello after=2:hello timeout=3 -->\n"
    "```sh\n"                                                      /* 10 */
    "pgrep -x echo-client >/dev/null && echo connected\n"          /* 11 */
    "```\n"                                                        /* 12 */
    "```text\n"                                                    /* 13 */
    "connected\n"                                                  /* 14 */
    "```\n"                                                        /* 15 */
    "<!-- run: kept terminal=4 stop=2 timeout=3 -->\n"             /* 16 */
    "```sh\n"                                                      /* 17 */
    "pgrep -x echo-client || echo gone\n"                          /* 18 */
    "```\n"                                                        /* 19 */
    "```text\n"                                                    /* 20 */
    "gone\n"                                                       /* 21 */
    "```\n"                                                        /* 22 */
    "Terminal 2 showed:\n"                                         /* 23 */
    "```text\n"                                                    /* 24 */
    "hello\n"                                                      /* 25 */
    "hello\n"                                                      /* 26 */
    "```\n"                                                        /* 27 */
    "<!-- run: second terminal=1 output=ignore timeout=2 -->\n"    /* 28 */
    "```sh\n"                                                      /* 29 */
    "bin/echo-server\n"                                            /* 30 */
    "```\n"                                                        /* 31 */
    "<!-- run: second terminal=2 end=SIGTERM ready=7001 output=ignore "
    "timeout=2 -->\n"
    "```sh\n"                                                      /* 33 */
    "bin/echo-server 7001\n"                                       /* 34 */
    "```\n"                                                        /* 35 */
    "<!-- run: second terminal=3 timeout=2 -->\n"                  /* 36 */
    "```sh\n"                                                      /* 37 */
    "printf 'hi\\n' | bin/echo-client 7001\n"                      /* 38 */
    "```\n"                                                        /* 39 */
    "```text\n"                                                    /* 40 */
    "hi\n"                                                         /* 41 */
    "```\n"                                                        /* 42 */
    "<!-- run: again until=^3$ -->\n"                              /* 43 */
    "```sh\n"                                                      /* 44 */
    "echo x >>again.count; n=$(wc -l <again.count)\n"              /* 45 */
    "[ \"$n\" -lt 3 ] || rm again.count; echo \"$n\"\n"               /* 46 */
    "```\n"                                                        /* 47 */
    "```text\n"                                                    /* 48 */
    "3\n"                                                          /* 49 */
    "```\n";                                                       /* 50 */

Test(transcripts, terminals_left_running_are_typed_into_and_stopped)
{
    struct script_run r;

    make_scratch();
    put_lesson(kept_lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 3 examples (5 output blocks marked of 5 "
                      "text blocks) run in ");
    cr_expect_str_empty(r.err);
    script_free(&r);

    /* Another line typed: terminal 2 has its first line (the echo of
     * "bye"), but "hello" never comes: after= says so. */
    expect_change_fails(kept_lesson, "type=2:hello ", "type=2:bye ",
                        "lessons/01-demo.md: <!-- run: kept -->: terminal "
                        "3: after=2:hello: terminal 2 did not show it "
                        "within 3 s");

    /* Typed into a program that prints nothing back: "hello" is on
     * terminal 2's screen as typed, but after= waits for a line a program
     * printed, so it reports that none came. */
    expect_change_fails(kept_lesson, "```sh\nbin/echo-client\n```",
                        "```sh\ncat >/dev/null\n```",
                        "lessons/01-demo.md: <!-- run: kept -->: terminal "
                        "3: after=2:hello: terminal 2 did not show it "
                        "within 3 s");

    /* Without stop=, the client is still there when terminal 4 looks. */
    expect_change_fails(kept_lesson, "terminal=4 stop=2 ", "terminal=4 ",
                        "lessons/01-demo.md:16: <!-- run: kept terminal=4 "
                        "-->: output differs at line 1: lesson "
                        "lessons/01-demo.md:21 \"gone\"");

    /* A terminal without end= must end by itself before the next one
     * runs: a server does not. */
    expect_change_fails(kept_lesson, " end=SIGTERM ready=7001 output=ignore ",
                        " output=ignore ",
                        "lessons/01-demo.md: <!-- run: second -->: terminal "
                        "2 did not finish within 2 s");

    /* until= that never matches: reported, bounded by the timeout. */
    expect_change_fails(kept_lesson, "until=^3$ -->",
                        "until=^never$ timeout=1 -->",
                        "lessons/01-demo.md: <!-- run: again -->: terminal "
                        "0: until=^never$: no line of its output matched "
                        "within 1 s");
}

/* The masks for strace and ss -o: a pid in strace's "[pid  N]" and
 * "Process N attached", a client port in htons(N), the time left on an ss
 * timer; not a server port in htons(7000), nor a timer's name. */
Test(transcripts, masks_cover_strace_pids_ports_and_ss_timers)
{
    static const char lesson[] =
        "<!-- run: masks -->\n"                                    /* 1 */
        "```sh\n"                                                  /* 2 */
        "printf '%s\\n' '[pid  1277] close(3) = 0' "
        "'strace: Process 1344 attached' "
        "'connect(3, {sin_port=htons(7000)}) accept(3, "
        "{sin_port=htons(49518)})' "
        "'FIN-WAIT-2 timer:(timewait,58sec,0)'\n"                  /* 3 */
        "```\n"                                                    /* 4 */
        "```text\n"                                                /* 5 */
        "[pid 4] close(3) = 0\n"                                   /* 6 */
        "strace: Process 99999 attached\n"                         /* 7 */
        "connect(3, {sin_port=htons(7000)}) accept(3, "
        "{sin_port=htons(33333)})\n"                               /* 8 */
        "FIN-WAIT-2 timer:(timewait,1min,0)\n"                     /* 9 */
        "```\n";                                                   /* 10 */
    static const struct {
        const char *from, *to, *line;
    } breaks[] = {
        {"htons(7000)}) accept", "htons(7001)}) accept",
         "output differs at line 3: lesson lessons/01-demo.md:8 "},
        {"(timewait,1min", "(keepalive,1min",
         "output differs at line 4: lesson lessons/01-demo.md:9 "},
        {"close(3) = 0\nstrace", "close(4) = 0\nstrace",
         "output differs at line 1: lesson lessons/01-demo.md:6 "},
    };
    struct script_run r;

    make_scratch();
    put_lesson(lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    script_free(&r);
    for (size_t i = 0; i < sizeof breaks / sizeof breaks[0]; i++)
        expect_change_fails(lesson, breaks[i].from, breaks[i].to,
                            breaks[i].line);
}

/* tcpdump -n writes a port after the address with a dot: an ephemeral
 * one there is masked, a server port (7000) or a short number is not. */
Test(transcripts, masks_cover_tcpdump_ports)
{
    static const char lesson[] =
        "<!-- run: dump -->\n"                                     /* 1 */
        "```sh\n"                                                  /* 2 */
        "printf '%s\\n' '12:00:01.000001 IP 127.0.0.1.46061 > "
        "127.0.0.1.7000: UDP, length 4'\n"                         /* 3 */
        "```\n"                                                    /* 4 */
        "```text\n"                                                /* 5 */
        "13:47:12.100236 IP 127.0.0.1.53103 > 127.0.0.1.7000: UDP, "
        "length 4\n"                                               /* 6 */
        "```\n";                                                   /* 7 */
    static const struct {
        const char *from, *to;
    } breaks[] = {
        {"127.0.0.1.7000: UDP, length 4\n", "127.0.0.1.7001: UDP, length 4\n"},
        {"IP 127.0.0.1.46061 >", "IP 127.0.0.2.46061 >"},
        {"IP 127.0.0.1.46061 >", "IP 127.0.0.1.12345 >"},
    };
    struct script_run r;

    make_scratch();
    put_lesson(lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    script_free(&r);
    for (size_t i = 0; i < sizeof breaks / sizeof breaks[0]; i++)
        expect_change_fails(lesson, breaks[i].from, breaks[i].to,
                            "output differs at line 1: lesson "
                            "lessons/01-demo.md:6 ");
}

/* socat's log lines: the date goes with the time, the pid after the
 * program name is masked; the program, the level letter, the message and
 * a bracketed number that follows no stamp are not. */
Test(transcripts, masks_cover_a_log_lines_date_and_pid)
{
    static const char lesson[] =
        "<!-- run: log -->\n"                                      /* 1 */
        "```sh\n"                                                  /* 2 */
        "printf '%s\\n' '2026/11/30 11:39:59 socat[1555] E bind(5, "
        "{AF=2 127.0.0.1:7000}, 16): Address already in use' "
        "'slot[3] taken'\n"                                        /* 3 */
        "```\n"                                                    /* 4 */
        "```text\n"                                                /* 5 */
        "2027/01/02 08:00:01 socat[42] E bind(5, {AF=2 "
        "127.0.0.1:7000}, 16): Address already in use\n"           /* 6 */
        "slot[3] taken\n"                                          /* 7 */
        "```\n";                                                   /* 8 */
    static const struct {
        const char *from, *to, *line;
    } breaks[] = {
        {"socat[42] E", "socat[42] W", "at line 1: lesson lessons/01-demo.md:6 "},
        {"socat[42] E", "socax[42] E", "at line 1: lesson lessons/01-demo.md:6 "},
        {"slot[3] taken\n```", "slot[4] taken\n```",
         "at line 2: lesson lessons/01-demo.md:7 "},
    };
    struct script_run r;

    make_scratch();
    put_lesson(lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    script_free(&r);
    for (size_t i = 0; i < sizeof breaks / sizeof breaks[0]; i++)
        expect_change_fails(lesson, breaks[i].from, breaks[i].to,
                            breaks[i].line);
}

/* A terminal 1 that prints nothing until a client comes (nc -l): ready=''
 * makes it ready once settled, and a later terminal types into it
 * (type=1:), after the line from terminal 2 has reached it. Without
 * ready='', the runner waits for a "listening on" line that never comes;
 * without the typing, its second line is missing. */
static const char silent_lesson[] =
    "<!-- run: talk terminal=1 ready='' end=exit timeout=4 -->\n"  /* 1 */
    "```sh\n"                                                      /* 2 */
    "nc -l 127.0.0.1 7001\n"                                       /* 3 */
    "```\n"                                                        /* 4 */
    "<!-- run: talk terminal=2 type='from two' end=SIGINT "
    "output=ignore timeout=4 -->\n"                                /* 5 */
    "```sh\n"                                                      /* 6 */
    "nc 127.0.0.1 7001\n"                                          /* 7 */
    "```\n"                                                        /* 8 */
    "<!-- run: talk terminal=3 type='1:from one' after='2:from one' "
    "output=none timeout=4 -->\n"                                  /* 9 */
    "```sh\n"                                                      /* 10 */
    "true\n"                                                       /* 11 */
    "```\n"                                                        /* 12 */
    "```text\n"                                                    /* 13 */
    "from two\n"                                                   /* 14 */
    "from one\n"                                                   /* 15 */
    "```\n";                                                       /* 16 */

Test(transcripts, a_silent_terminal_1_is_waited_for_and_typed_into)
{
    struct script_run r;

    make_scratch();
    put_lesson(silent_lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    cr_expect_str_empty(r.err);
    script_free(&r);

    expect_change_fails(silent_lesson, " ready=''", "",
                        "terminal 1 ended (or timed out) before its ready "
                        "line \"listening on ...\"");

    expect_change_fails(silent_lesson, " type='1:from one' after='2:from one'",
                        "",
                        "lessons/01-demo.md:1: <!-- run: talk terminal=1 "
                        "-->: output differs at line 2: lesson "
                        "lessons/01-demo.md:15 \"from one\", got (the "
                        "output has ended)");
}

/* stop=1,2 in the middle of a session: terminal 1's server, then terminal
 * 2's client, end before terminal 3 looks; without it both are there. */
static const char stop_one_lesson[] =
    "<!-- run: halt terminal=1 output=ignore -->\n"                /* 1 */
    "```sh\n"                                                      /* 2 */
    "bin/echo-server\n"                                            /* 3 */
    "```\n"                                                        /* 4 */
    "<!-- run: halt terminal=2 end=eof ready=bye output=ignore -->\n"
    "```sh\n"                                                      /* 6 */
    "(printf 'bye\\n'; cat) | bin/echo-client\n"                   /* 7 */
    "```\n"                                                        /* 8 */
    "<!-- run: halt terminal=3 stop=1,2 -->\n"                     /* 9 */
    "```sh\n"                                                      /* 10 */
    "pgrep -l echo- || echo both gone\n"                           /* 11 */
    "```\n"                                                        /* 12 */
    "```text\n"                                                    /* 13 */
    "both gone\n"                                                  /* 14 */
    "```\n";                                                       /* 15 */

Test(transcripts, stop_ends_terminal_1_in_the_middle_of_a_session)
{
    struct script_run r;

    make_scratch();
    put_lesson(stop_one_lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    cr_expect_str_empty(r.err);
    script_free(&r);

    expect_change_fails(stop_one_lesson, " stop=1,2", "",
                        "lessons/01-demo.md:9: <!-- run: halt terminal=3 "
                        "-->: output differs at line 1: lesson "
                        "lessons/01-demo.md:14 \"both gone\"");
}

Test(transcripts, markers_without_their_blocks_are_reported)
{
    struct script_run r;

    make_scratch();
    put_lesson("<!-- run: lost -->\n"           /* 1 */
               "```sh\n"                        /* 2 */
               "bin/echo-client -h\n"           /* 3 */
               "```\n"                          /* 4 */
               "```sh\n"                        /* 5: no output between */
               "make\n"                         /* 6 */
               "```\n"                          /* 7 */
               "<!-- run: nocmd -->\n"          /* 8 */
               "Text, not a command block.\n"   /* 9 */
               "<!-- run: bad colour=red -->\n" /* 10 */
               "<!-- run: -->\n");              /* 11 */
    int rc = check_markers(&r);
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/"), 4, "four reports:\n%s",
                 r.err);
    expect_has(r.err, "lessons/01-demo.md:1: <!-- run: lost -->: no ```text "
                      "block holds its output before line 5");
    expect_has(r.err, "lessons/01-demo.md:8: <!-- run: nocmd --> must be "
                      "followed at once by the ```sh block it runs");
    expect_has(r.err, "lessons/01-demo.md:10: <!-- run: bad -->: bad option "
                      "\"colour=red\"");
    expect_has(r.err, "lessons/01-demo.md:11: malformed run marker");
    script_free(&r);
}

Test(transcripts, without_a_namespace_they_skip_with_the_reason)
{
    struct script_run r;

    make_scratch();
    put_lesson(refused_lesson);
    int rc = check_markers(&r);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 1 example (1 output block marked of 1 text "
                      "blocks) found, not run: skipped: "
                      "SOCKLAB_TRANSCRIPTS_NO_NS is set");
    cr_expect_str_empty(r.err);
    script_free(&r);
}

/* ps and pgrep in an example see its processes only: a "sleep 31.25" the
 * test runs meanwhile is not found (a test running echo-server-fork beside
 * the suite would otherwise be in lesson 04's ps tables). The runner's own
 * sleeps (its time bounds) are in the example's namespace: hence the odd
 * length. */
static const char pgrep_lesson[] =
    "<!-- run: alone -->\n"                                        /* 1 */
    "```sh\n"                                                      /* 2 */
    "pgrep -f 'sleep 31[.]25'; echo \"exit $?\"\n"                /* 3 */
    "```\n"                                                        /* 4 */
    "```text\n"                                                    /* 5 */
    "exit 1\n"                                                     /* 6 */
    "```\n";                                                       /* 7 */

Test(transcripts, an_example_sees_only_its_own_processes)
{
    struct script_run r;

    make_scratch();
    put_lesson(pgrep_lesson);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        execlp("sleep", "sleep", "31.25", (char *)NULL);
        _exit(127);
    }
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    cr_expect_eq(rc, 0, "with a sleep running beside it: exit %d\n%s", rc,
                 r.err);
    cr_expect_str_empty(r.err);
    script_free(&r);
}

/* ---- masks for ps tables and trace pids; order=per-process ------------- */

/* A scratch lesson whose one example prints the lines of run (a
 * "\n"-separated list, printed by printf '%s\n' as they are; no single
 * quote in them) and shows block; opts go in the marker. Returns the
 * script's exit status; its stderr is kept in err (size bytes). */
static int compare_case(const char *opts, const char *run, const char *block,
                        char *err, size_t size)
{
    char lesson[8192], cmd[4096], *end;
    size_t used = 0;
    struct script_run r;

    used += (size_t)snprintf(cmd, sizeof cmd, "printf '%%s\\n'");
    for (const char *line = run; *line != '\0'; line = end + 1) {
        end = strchr(line, '\n');
        cr_assert_not_null(end, "run lines end with a newline");
        used += (size_t)snprintf(cmd + used, sizeof cmd - used, " '%.*s'",
                                 (int)(end - line), line);
        cr_assert(used < sizeof cmd, "the case is too long");
    }
    int n = snprintf(lesson, sizeof lesson,
                     "<!-- run: case%s -->\n```sh\n%s\n```\n```text\n%s```\n",
                     opts, cmd, block);
    cr_assert(n > 0 && (size_t)n < sizeof lesson, "the case is too long");
    put_lesson(lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    snprintf(err, size, "%s", r.err);
    script_free(&r);
    return rc;
}

Test(transcripts, ps_tables_mask_their_pid_columns_only)
{
    static const char run[] = "  PID  PPID  PGID S NLWP CMD\n"
                              " 8977 20100  8977 S    1 bin/echo-server-fork\n"
                              " 9067  8977  8977 S    1 bin/echo-server-fork\n"
                              "8977 9067\n";
    static const struct {
        const char *block;
        int fails;
        const char *report; /* in the report when it fails */
    } cases[] = {
        /* Other pids, other widths (ps sizes the pid columns for the
         * machine's largest pid): masked. */
        {"    PID    PPID    PGID S NLWP CMD\n"
         "11161 20100 11161 S    1 bin/echo-server-fork\n"
         "11174 11161 11161 S    1 bin/echo-server-fork\n"
         "8977 9067\n", 0, NULL},
        /* The state is not a pid. */
        {"  PID  PPID  PGID S NLWP CMD\n"
         " 8977 20100  8977 Z    1 bin/echo-server-fork\n"
         " 9067  8977  8977 S    1 bin/echo-server-fork\n"
         "8977 9067\n", 1, "at line 2: lesson lessons/01-demo.md:7 "},
        /* Nor is a number in another column (threads). */
        {"  PID  PPID  PGID S NLWP CMD\n"
         " 8977 20100  8977 S    1 bin/echo-server-fork\n"
         " 9067  8977  8977 S    2 bin/echo-server-fork\n"
         "8977 9067\n", 1, "at line 3: lesson lessons/01-demo.md:8 "},
        /* Nor the command. */
        {"  PID  PPID  PGID S NLWP CMD\n"
         " 8977 20100  8977 S    1 bin/echo-server-fork -v\n"
         " 9067  8977  8977 S    1 bin/echo-server-fork\n"
         "8977 9067\n", 1, "at line 2: "},
        /* Numbers that are under no ps header stay compared. */
        {"  PID  PPID  PGID S NLWP CMD\n"
         " 8977 20100  8977 S    1 bin/echo-server-fork\n"
         " 9067  8977  8977 S    1 bin/echo-server-fork\n"
         "1234 5678\n", 1, "at line 4: lesson lessons/01-demo.md:9 "},
    };
    char err[4096];

    make_scratch();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = compare_case("", run, cases[i].block, err, sizeof err);
        cr_expect_eq(rc, cases[i].fails, "case %zu: exit %d\n%s", i, rc, err);
        if (cases[i].fails)
            expect_has(err, cases[i].report);
    }
}

Test(transcripts, trace_lines_mask_the_pids_they_fork_kill_and_reap)
{
    static const char run[] = "[srv 7] fork() = 8  (parent)\n"
                              "[srv 8] fork() = 0\n"
                              "[srv 7] kill(8, SIGTERM) = 0  finish\n"
                              "[srv 7] waitpid(-1, WNOHANG) = 8  exited 0\n";
    char err[4096];

    make_scratch();
    int rc = compare_case("", run,
                          "[srv 5104] fork() = 5222  (parent)\n"
                          "[srv 5222] fork() = 0\n"
                          "[srv 5104] kill(5222, SIGTERM) = 0  finish\n"
                          "[srv 5104] waitpid(-1, WNOHANG) = 5222  exited 0\n",
                          err, sizeof err);
    cr_expect_eq(rc, 0, "other pids: exit %d\n%s", rc, err);
    /* The child's fork() = 0 is no pid: the parent's line in its place is
     * a difference. So is a status, or a signal. */
    static const char *const differ[] = {
        "[srv 5104] fork() = 5222  (parent)\n"
        "[srv 5222] fork() = 5223\n"
        "[srv 5104] kill(5222, SIGTERM) = 0  finish\n"
        "[srv 5104] waitpid(-1, WNOHANG) = 5222  exited 0\n",
        "[srv 5104] fork() = 5222  (parent)\n"
        "[srv 5222] fork() = 0\n"
        "[srv 5104] kill(5222, SIGKILL) = 0  finish\n"
        "[srv 5104] waitpid(-1, WNOHANG) = 5222  exited 0\n",
        "[srv 5104] fork() = 5222  (parent)\n"
        "[srv 5222] fork() = 0\n"
        "[srv 5104] kill(5222, SIGTERM) = 0  finish\n"
        "[srv 5104] waitpid(-1, WNOHANG) = 5222  exited 1\n",
    };
    for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++) {
        rc = compare_case("", run, differ[i], err, sizeof err);
        cr_expect_eq(rc, 1, "case %zu: exit %d\n%s", i, rc, err);
        expect_has(err, "output differs at line ");
    }
}

Test(transcripts, per_process_frees_the_interleaving_and_nothing_else)
{
    /* The run: two processes interleaved, untagged lines around them. */
    static const char run[] = "listening on x\n"
                              "[srv 7] p1\n"
                              "[srv 8] c1\n"
                              "[srv 7] p2\n"
                              "[srv 8] c2\n"
                              "done\n";
    static const char grouped[] = "listening on x\n"
                                  "[srv 100] p1\n"
                                  "[srv 100] p2\n"
                                  "[srv 200] c1\n"
                                  "[srv 200] c2\n"
                                  "done\n";
    static const struct {
        const char *block;
        const char *report; /* NULL: it matches */
    } cases[] = {
        {grouped, NULL},
        /* Another interleaving, the untagged lines elsewhere among them. */
        {"[srv 200] c1\n"
         "listening on x\n"
         "[srv 100] p1\n"
         "[srv 200] c2\n"
         "done\n"
         "[srv 100] p2\n", NULL},
        /* One process's own order is still checked. */
        {"listening on x\n"
         "[srv 100] p1\n"
         "[srv 100] p2\n"
         "[srv 200] c2\n"
         "[srv 200] c1\n"
         "done\n",
         "at line 4: lesson lessons/01-demo.md:9 \"[srv 200] c2\", got "
         "\"[srv 8] c1\""},
        /* A line the run did not print. */
        {"listening on x\n"
         "[srv 100] p1\n"
         "[srv 100] p2\n"
         "[srv 200] c1\n"
         "[srv 200] c2\n"
         "[srv 200] c3\n"
         "done\n",
         "at line 6: lesson lessons/01-demo.md:11 \"[srv 200] c3\", got (the "
         "output has ended)"},
        /* A process the lesson leaves out. */
        {"listening on x\n"
         "[srv 100] p1\n"
         "[srv 100] p2\n"
         "done\n",
         "lesson (the block has ended), got \"[srv 8] c1\""},
        /* The untagged lines keep their order. */
        {"done\n"
         "[srv 100] p1\n"
         "[srv 100] p2\n"
         "[srv 200] c1\n"
         "[srv 200] c2\n"
         "listening on x\n",
         "at line 1: lesson lessons/01-demo.md:6 \"done\", got \"listening "
         "on x\""},
    };
    char err[4096];

    make_scratch();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = compare_case(" order=per-process", run, cases[i].block, err,
                              sizeof err);
        cr_expect_eq(rc, cases[i].report != NULL, "case %zu: exit %d\n%s", i,
                     rc, err);
        if (cases[i].report != NULL)
            expect_has(err, cases[i].report);
    }
    /* Without the option, the order of the lines is the run's. */
    int rc = compare_case("", run, grouped, err, sizeof err);
    cr_expect_eq(rc, 1, "without order=per-process: exit %d\n%s", rc, err);
    expect_has(err, "at line 3: lesson lessons/01-demo.md:8 \"[srv 100] p2\"");
}

/* ---- what the runner gives each example: descriptors, /tmp ------------- */

/* quotes.sh as a shell would run it with descriptors 3 and 9 already open
 * (as they are under make, an editor or a terminal multiplexer): the
 * harness closes everything of the test's above 2, so a small sh opens
 * them before it becomes the script. */
static int run_examples_with_fds(struct script_run *r, const char *root)
{
    char script[PATH_SIZE];

    path_join(script, sizeof script, SOCKLAB_ROOT, "tests/scripts/quotes.sh");
    static const char opener[] =
        "exec 3</dev/null 9</dev/null; exec /bin/sh \"$0\" \"$@\"";
    const char *args[] = {"-c", opener, script, "--transcripts", "--root",
                          root, NULL};
    cr_assert_eq(run_program("/bin/sh", args, NULL, 0, SCRATCH_MS, &r->raw),
                 0, "cannot run quotes.sh: %s", harness_error());
    r->out = (const char *)r->raw.out;
    r->err = r->raw.err;
    cr_assert(r->raw.exit.exited && !r->raw.exit.timed_out,
              "quotes.sh did not finish (timed out or killed)\n%s", r->err);
    int rc = r->raw.exit.code;
    const char *skip = strstr(r->out, "not run: skipped: ");
    if (rc == 0 && skip != NULL) {
        script_free(r);
        cr_skip_test("the examples need a network namespace");
    }
    return rc;
}

/* The client's first socket is descriptor 3 in a fresh terminal. */
static const char fd_lesson[] =
    "<!-- run: first-fd -->\n"                                   /* 1 */
    "```sh\n"                                                    /* 2 */
    "printf 'hi\\n' | bin/echo-client -v 2>&1 | head -n 1\n"      /* 3 */
    "```\n"                                                      /* 4 */
    "```text\n"                                                  /* 5 */
    "[echo-client 4242] socket(AF_INET, SOCK_STREAM, 0) = 3  ~ made in "
    "uv_tcp_connect (uv_tcp_init makes none)\n"                  /* 6 */
    "```\n";                                                     /* 7 */

Test(transcripts, descriptors_the_runner_inherited_do_not_reach_examples)
{
    struct script_run r;

    make_scratch();
    put_lesson(fd_lesson);
    int rc = run_examples_with_fds(&r, scratch);
    cr_expect_eq(rc, 0, "with 3 and 9 open in the runner: exit %d\n%s", rc,
                 r.err);
    cr_expect_str_empty(r.err);
    script_free(&r);
}

/* Each example has a /tmp of its own, shared by its terminals: terminal 1
 * writes a file before its ready line, terminal 2 reads it; the next
 * example does not see it, nor does the machine's /tmp afterwards. */
#define SHARED_TMP "/tmp/socklab-transcripts-private-tmp-check"
static const char tmp_lesson[] =
    "<!-- run: writer terminal=1 output=ignore -->\n"            /* 1 */
    "```sh\n"                                                    /* 2 */
    "echo mine >" SHARED_TMP "; echo 'listening on nothing'; exec sleep 30\n"
    "```\n"                                                      /* 4 */
    "<!-- run: writer terminal=2 -->\n"                          /* 5 */
    "```sh\n"                                                    /* 6 */
    "cat " SHARED_TMP "\n"                                        /* 7 */
    "```\n"                                                      /* 8 */
    "```text\n"                                                  /* 9 */
    "mine\n"                                                     /* 10 */
    "```\n"                                                      /* 11 */
    "<!-- run: reader -->\n"                                     /* 12 */
    "```sh\n"                                                    /* 13 */
    "test -e " SHARED_TMP "; echo \"exit $?\"\n"                  /* 14 */
    "```\n"                                                      /* 15 */
    "```text\n"                                                  /* 16 */
    "exit 1\n"                                                   /* 17 */
    "```\n";                                                     /* 18 */

Test(transcripts, each_example_has_a_tmp_of_its_own)
{
    struct script_run r;

    unlink(SHARED_TMP);
    make_scratch();
    put_lesson(tmp_lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    cr_expect_str_empty(r.err);
    script_free(&r);
    cr_expect_neq(access(SHARED_TMP, F_OK), 0,
                  SHARED_TMP " is in the machine's /tmp after the run");
    unlink(SHARED_TMP);
}

/* ---- the real lessons ----------------------------------------------------- */

Test(transcripts, every_marked_example_prints_what_its_lesson_shows,
     .timeout = 180)
{
    struct script_run r;

    int rc = run_examples(&r, "--transcripts", SOCKLAB_ROOT, REAL_MS);
    cr_expect_eq(rc, 0, "sh tests/scripts/quotes.sh --transcripts: exit %d\n"
                 "%s", rc, r.err);
    long examples = -1;
    const char *tag = strstr(r.out, "quotes.sh: ");
    if (tag != NULL)
        examples = strtol(tag + 11, NULL, 10);
    cr_expect_geq(examples, MIN_REAL_EXAMPLES,
                  "%ld examples run (expected at least %d):\n%s", examples,
                  MIN_REAL_EXAMPLES, r.out);
    script_free(&r);
}

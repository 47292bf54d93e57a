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

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static void remove_tree(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    DIR *d = opendir(path);
    if (d != NULL) {
        struct dirent *e;
        char child[PATH_SIZE];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            path_join(child, sizeof child, path, e->d_name);
            remove_tree(child);
        }
        closedir(d);
    }
    rmdir(path);
}

static void transcripts_fini(void)
{
    if (scratch[0] != '\0')
        remove_tree(scratch);
    scratch[0] = '\0';
    harness_cleanup();
}

/* ---- running the script ------------------------------------------------- */

struct script_run {
    struct run_result raw;
    const char *out;
    const char *err;
};

/* "sh quotes.sh FLAG --root ROOT", to completion within ms. */
static int run_script(struct script_run *r, const char *flag,
                      const char *root, int ms)
{
    char script[PATH_SIZE];

    path_join(script, sizeof script, SOCKLAB_ROOT, "tests/scripts/quotes.sh");
    const char *args[] = {script, flag, "--root", root, NULL};
    cr_assert_eq(run_program("/bin/sh", args, NULL, 0, ms, &r->raw), 0,
                 "cannot run quotes.sh: %s", harness_error());
    r->out = (const char *)r->raw.out;
    r->err = r->raw.err;
    cr_assert(r->raw.exit.exited && !r->raw.exit.timed_out,
              "quotes.sh %s did not finish (timed out or killed)\n%s", flag,
              r->err);
    return r->raw.exit.code;
}

static void script_free(struct script_run *r)
{
    run_result_free(&r->raw);
    r->out = r->err = NULL;
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

#define expect_has(text, want)                                                \
    cr_expect_not_null(strstr((text), (want)), "expected:\n%s\nin:\n%s",     \
                       (want), (text))

/* How many lines of text start with prefix. */
static int lines_starting(const char *text, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);

    for (const char *p = text; *p != '\0';) {
        if (strncmp(p, prefix, len) == 0)
            n++;
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return n;
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
    char *lesson = replace_once(strdup(pair_lesson), "hello\n```",
                                "hello\nbye\n```");
    put_lesson(lesson);
    free(lesson);
    rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/01-demo.md:10: <!-- run: pair terminal=2 -->: "
                      "output differs at line 2: lesson lessons/01-demo.md:17 "
                      "\"bye\", got (the output has ended)\n");
    script_free(&r);
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
    "<!-- run: held terminal=2 end=SIGINT -->\n"                   /* 5 */
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
    "<!-- run: late terminal=2 end=eof -->\n"                      /* 5 */
    "```sh\n"                                                      /* 6 */
    "(printf 'still here\\n'; cat) | bin/echo-client\n"            /* 7 */
    "```\n"                                                        /* 8 */
    "```text\n"                                                    /* 9 */
    "still here\n"                                                 /* 10 */
    "echo-client: read from server: Connection reset by peer\n"  /* 11 */
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

    char *lesson = replace_once(strdup(eof_stop_lesson), " stop=2 -->",
                                " -->");
    put_lesson(lesson);
    free(lesson);
    rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/01-demo.md:12: <!-- run: early terminal=3 -->: "
                      "output differs at line 1");
    script_free(&r);
}

/* Terminal 1 is still busy (a counting loop) when the other terminals are
 * done: its Ctrl-C waits until it sleeps, so "asleep now" is printed.
 * Sent at once, SIGINT would end the loop and that line with it. */
static const char settle_lesson[] =
    "<!-- run: busy terminal=1 -->\n"                              /* 1 */
    "```sh\n"                                                      /* 2 */
    "echo 'listening on nothing'; i=0; while [ $i -lt 100000 ]; do "
    "i=$((i + 1)); done; echo 'asleep now'; exec sleep 30\n"       /* 3 */
    "```\n"                                                        /* 4 */
    "```text\n"                                                    /* 5 */
    "listening on nothing\n"                                       /* 6 */
    "asleep now\n"                                                 /* 7 */
    "```\n";                                                       /* 8 */

Test(transcripts, terminal_1_is_stopped_only_once_it_sleeps)
{
    struct script_run r;

    make_scratch();
    put_lesson(settle_lesson);
    int rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    cr_expect_str_empty(r.err);
    script_free(&r);
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
    setenv("SOCKLAB_TRANSCRIPTS_NO_NS", "1", 1);
    int rc = run_script(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/"), 3, "three reports:\n%s",
                 r.err);
    expect_has(r.err, "lessons/01-demo.md:1: <!-- run: one -->: end= belongs "
                      "to a terminal that is stopped");
    expect_has(r.err, "lessons/01-demo.md:7: <!-- run: two terminal=1 -->: "
                      "end=eof is for a terminal 2, 3... left running");
    expect_has(r.err, "lessons/01-demo.md:11: <!-- run: two terminal=2 -->: "
                      "a terminal 2, 3... runs to its end unless told to "
                      "stay");
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
 * stays connected while later terminals run, a line typed into it (type=),
 * its echo waited for (after=), Ctrl-C in it before a later terminal
 * (stop=), its output shown last; a second server waited for by its ready=
 * text; a command run again until its output matches (until=). */
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
    "```\n"                                                        /* 26 */
    "<!-- run: second terminal=1 output=ignore timeout=2 -->\n"    /* 27 */
    "```sh\n"                                                      /* 28 */
    "bin/echo-server\n"                                            /* 29 */
    "```\n"                                                        /* 30 */
    "<!-- run: second terminal=2 end=SIGTERM ready=7001 output=ignore "
    "timeout=2 -->\n"
    "```sh\n"                                                      /* 32 */
    "bin/echo-server 7001\n"                                       /* 33 */
    "```\n"                                                        /* 34 */
    "<!-- run: second terminal=3 timeout=2 -->\n"                  /* 35 */
    "```sh\n"                                                      /* 36 */
    "printf 'hi\\n' | bin/echo-client 7001\n"                      /* 37 */
    "```\n"                                                        /* 38 */
    "```text\n"                                                    /* 39 */
    "hi\n"                                                         /* 40 */
    "```\n"                                                        /* 41 */
    "<!-- run: again until=^3$ -->\n"                              /* 42 */
    "```sh\n"                                                      /* 43 */
    "echo x >>again.count; n=$(wc -l <again.count)\n"              /* 44 */
    "[ \"$n\" -lt 3 ] || rm again.count; echo \"$n\"\n"               /* 45 */
    "```\n"                                                        /* 46 */
    "```text\n"                                                    /* 47 */
    "3\n"                                                          /* 48 */
    "```\n";                                                       /* 49 */

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
    char *lesson = replace_once(strdup(kept_lesson), "type=2:hello ",
                                "type=2:bye ");
    put_lesson(lesson);
    free(lesson);
    rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/01-demo.md: <!-- run: kept -->: terminal 3: "
                      "after=2:hello: terminal 2 did not show it within 3 s");
    script_free(&r);

    /* Nothing typed: the client shows nothing, and terminal 3 would start
     * before terminal 2 has a first line; the wait for it says so. */
    lesson = replace_once(strdup(kept_lesson), "type=2:hello ", "");
    put_lesson(lesson);
    free(lesson);
    rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/01-demo.md: <!-- run: kept -->: terminal 2 "
                      "ended (or timed out) before its first line");
    script_free(&r);

    /* Without stop=, the client is still there when terminal 4 looks. */
    lesson = replace_once(strdup(kept_lesson), "terminal=4 stop=2 ",
                          "terminal=4 ");
    put_lesson(lesson);
    free(lesson);
    rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/01-demo.md:16: <!-- run: kept terminal=4 -->: "
                      "output differs at line 1: lesson lessons/01-demo.md:21 "
                      "\"gone\"");
    script_free(&r);

    /* A terminal without end= must end by itself before the next one
     * runs: a server does not. */
    lesson = replace_once(strdup(kept_lesson),
                          " end=SIGTERM ready=7001 output=ignore ",
                          " output=ignore ");
    put_lesson(lesson);
    free(lesson);
    rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/01-demo.md: <!-- run: second -->: terminal 2 "
                      "did not finish within 2 s");
    script_free(&r);

    /* until= that never matches: reported, bounded by the timeout. */
    lesson = replace_once(strdup(kept_lesson), "until=^3$ -->",
                          "until=^never$ timeout=1 -->");
    put_lesson(lesson);
    free(lesson);
    rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/01-demo.md: <!-- run: again -->: terminal 0: "
                      "until=^never$: no line of its output matched within "
                      "1 s");
    script_free(&r);
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
    for (size_t i = 0; i < sizeof breaks / sizeof breaks[0]; i++) {
        char *broken = replace_once(strdup(lesson), breaks[i].from,
                                    breaks[i].to);
        put_lesson(broken);
        free(broken);
        rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
        cr_expect_eq(rc, 1, "\"%s\" -> \"%s\": exit %d\n%s", breaks[i].from,
                     breaks[i].to, rc, r.err);
        expect_has(r.err, breaks[i].line);
        script_free(&r);
    }
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
    for (size_t i = 0; i < sizeof breaks / sizeof breaks[0]; i++) {
        char *broken = replace_once(strdup(lesson), breaks[i].from,
                                    breaks[i].to);
        put_lesson(broken);
        free(broken);
        rc = run_examples(&r, "--transcripts", scratch, SCRATCH_MS);
        cr_expect_eq(rc, 1, "\"%s\" -> \"%s\": exit %d\n%s", breaks[i].from,
                     breaks[i].to, rc, r.err);
        expect_has(r.err, "output differs at line 1: lesson "
                          "lessons/01-demo.md:6 ");
        script_free(&r);
    }
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
    setenv("SOCKLAB_TRANSCRIPTS_NO_NS", "1", 1);
    int rc = run_script(&r, "--transcripts", scratch, SCRATCH_MS);
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
    setenv("SOCKLAB_TRANSCRIPTS_NO_NS", "1", 1);
    int rc = run_script(&r, "--transcripts", scratch, SCRATCH_MS);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 1 example (1 output block marked of 1 text "
                      "blocks) found, not run: skipped: "
                      "SOCKLAB_TRANSCRIPTS_NO_NS is set");
    cr_expect_str_empty(r.err);
    script_free(&r);
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

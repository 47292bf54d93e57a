/* test_lessons.c - the lessons never drift from the code they quote.
 *
 * One parser does the checking: tests/scripts/quotes.sh (POSIX sh + awk;
 * its header documents every rule). This suite only runs it, with
 * `sh tests/scripts/quotes.sh FLAGS --root DIR`:
 *
 *   --quotes   each quote marker's fenced block equals its source region,
 *              and each side-by-side table's code cells are lines of its
 *              two regions, in source order
 *   --links    lessons/README.md links every lessons/NN-*.md, and every
 *              local link in the lessons (README.md too) names a file
 *              that exists
 *   --sources  region markers in server/ client/ common/ libuv/ are closed,
 *              named once per file, and every endregion has its region
 *   --shape    no shell code block (sh, bash, shell, zsh, console) in a
 *              lesson holds a line starting with a "$ " prompt, so every
 *              command pastes as it is
 *   --parity   each lessons/NN-*.md has its Korean twin in lessons/ko/
 *              (and each Korean lesson its English original), with the
 *              same markers in the same order, as many "## " sections and
 *              the same fenced blocks; the other parts read lessons/ko/ too
 *   --check    the five together; --update rewrites drifted quotes
 *
 * First on small scratch trees (a mkdtemp directory, removed after each
 * test), so that every rule is seen to fail when it should: each test
 * asserts on the exit status and on the text of the messages. Then on the
 * real tree, where the script's summary line gives the number of quotes
 * checked, so the check cannot pass by finding nothing to check.
 */
#include <criterion/criterion.h>

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

/* The real lessons quote at least this many regions; fewer means the
 * checker found nothing to check, or the lessons lost their quotes. */
#define MIN_REAL_QUOTES 15

/* The real lessons show at least this many shell blocks; fewer means the
 * shape check found nothing to check. */
#define MIN_REAL_SHELL_BLOCKS 40

/* The English track has at least this many lessons, each with its Korean
 * twin (lessons/ko/, the same file name). */
#define MIN_REAL_LESSONS 10

#define PATH_SIZE 4096
#define SCRIPT_MS 20000

static void lessons_fini(void);

TestSuite(lessons, .timeout = 30, .fini = lessons_fini);

/* ---- scratch trees ------------------------------------------------------ */

static char scratch[PATH_SIZE];

/* out = a/b; a path that does not fit fails the test rather than being cut. */
static void path_join(char *out, size_t size, const char *a, const char *b)
{
    int n = snprintf(out, size, "%s/%s", a, b);
    cr_assert(n >= 0 && (size_t)n < size, "path too long: %s/%s", a, b);
}

static void make_scratch(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/socklab-lessons-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(scratch), "mkdtemp: %s", strerror(errno));
}

/* Create scratch/rel (and its directories) holding content. */
static void put_file(const char *rel, const char *content)
{
    char path[PATH_SIZE];

    path_join(path, sizeof path, scratch, rel);
    for (char *slash = strchr(path + strlen(scratch) + 1, '/'); slash != NULL;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s",
                  path, strerror(errno));
        *slash = '/';
    }
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
    cr_assert(fputs(content, f) >= 0 && fclose(f) == 0, "cannot write %s",
              path);
}

/* The whole of root/rel as a malloc'd string, or NULL when it cannot be
 * opened. */
static char *file_under(const char *root, const char *rel)
{
    char path[PATH_SIZE];

    path_join(path, sizeof path, root, rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *data = malloc(cap);
    cr_assert_not_null(data, "out of memory");
    size_t got;
    while ((got = fread(data + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) {
            cap *= 2;
            data = realloc(data, cap);
            cr_assert_not_null(data, "out of memory");
        }
    }
    fclose(f);
    data[len] = '\0';
    return data;
}

/* The whole of scratch/rel as a malloc'd string. */
static char *get_file(const char *rel)
{
    char *data = file_under(scratch, rel);
    cr_assert_not_null(data, "cannot read %s/%s: %s", scratch, rel,
                       strerror(errno));
    return data;
}

/* After each test, even one that failed an assertion. */
static void lessons_fini(void)
{
    if (scratch[0] != '\0')
        remove_tree(scratch);
    scratch[0] = '\0';
    harness_cleanup();
}

/* ---- running quotes.sh -------------------------------------------------- */

/* Run "sh SOCKLAB_ROOT/tests/scripts/quotes.sh FLAGS... --root root" (no
 * --root when root is NULL) to completion; free r with script_free.
 * Returns its exit status. */
static int run_quotes(struct script_run *r, const char *root,
                      const char *const flags[])
{
    cr_assert_eq(run_quotes_script(r, flags, root, SCRIPT_MS), 0,
                 "cannot run quotes.sh: %s", harness_error());
    cr_assert(r->raw.exit.exited && !r->raw.exit.timed_out,
              "quotes.sh did not finish (timed out or killed)\n%s", r->err);
    return r->raw.exit.code;
}

#define FLAGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The N of the first summary line "quotes.sh: N NOUN..." in text, or -1. */
static long summary_count(const char *text, const char *noun)
{
    static const char tag[] = "quotes.sh: ";
    size_t nlen = strlen(noun);

    for (const char *p = strstr(text, tag); p != NULL;
         p = strstr(p + 1, tag)) {
        if (p != text && p[-1] != '\n')
            continue;
        char *end;
        long n = strtol(p + sizeof tag - 1, &end, 10);
        if (end != p + sizeof tag - 1 && *end == ' ' &&
            strncmp(end + 1, noun, nlen) == 0)
            return n;
    }
    return -1;
}

/* Assert that text holds want, showing the whole text when it does not. */
#define expect_has(text, want)                                                \
    cr_expect_not_null(strstr((text), (want)), "expected:\n%s\nin:\n%s",     \
                       (want), (text))

/* A source with two regions, one nested in the other. */
static const char sample_source[] =
    "int before;\n"
    "/* region: part */\n"
    "int f(void)\n"
    "{\n"
    "    /* region: body */\n"
    "    return 1;\n"
    "    /* endregion: body */\n"
    "}\n"
    "/* endregion: part */\n";

/* ---- quotes, on scratch trees -------------------------------------------- */

Test(lessons, a_matching_quote_passes)
{
    struct script_run r;

    make_scratch();
    put_file("src/a.c", sample_source);
    put_file("lessons/01-demo.md",
             "Some text.\n"
             "<!-- quote: src/a.c#part -->\n"
             "```c\n"
             "int f(void)\n"
             "{\n"
             "    return 1;\n"
             "}\n"
             "```\n"
             "<!--quote:src/a.c#body-->\n"
             "~~~\n"
             "    return 1;\n"
             "~~~\n");
    int rc = run_quotes(&r, scratch, FLAGS("--quotes"));
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 2 quotes, 0 tables checked: all match "
                      "their source");
    cr_expect_str_empty(r.err);
    script_free(&r);
}

Test(lessons, the_first_drifted_line_is_reported)
{
    struct script_run r;

    make_scratch();
    put_file("src/a.c", sample_source);
    put_file("lessons/01-demo.md",
             "# Demo\n"
             "<!-- quote: src/a.c#part -->\n"
             "```c\n"
             "int f(void)\n"
             "{\n"
             "    return 2;\n"
             "}\n"
             "```\n");
    int rc = run_quotes(&r, scratch, FLAGS("--quotes"));
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/"), 1, "one report:\n%s",
                 r.err);
    expect_has(r.err, "lessons/01-demo.md:2: <!-- quote: src/a.c#part -->: "
                      "drifted from the source at block line 3: source "
                      "src/a.c:6 \"    return 1;\", lesson "
                      "lessons/01-demo.md:6 \"    return 2;\"\n");
    expect_has(r.err, "quotes.sh: 1 quote, 0 tables checked: 1 drifted, "
                      "0 broken, 0 table problems");
    script_free(&r);
}

Test(lessons, a_block_longer_or_shorter_than_its_region_fails)
{
    struct script_run r;

    make_scratch();
    put_file("src/a.c", sample_source);
    put_file("lessons/01-demo.md",
             "<!-- quote: src/a.c#body -->\n"
             "```c\n"
             "    return 1;\n"
             "    return 1;\n"
             "```\n"
             "<!-- quote: src/a.c#part -->\n"
             "```c\n"
             "int f(void)\n"
             "```\n");
    int rc = run_quotes(&r, scratch, FLAGS("--quotes"));
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/"), 2, "two reports:\n%s",
                 r.err);
    expect_has(r.err, "lessons/01-demo.md:1: <!-- quote: src/a.c#body -->: "
                      "drifted from the source at block line 2: source (the "
                      "region has ended), lesson lessons/01-demo.md:4");
    expect_has(r.err, "lessons/01-demo.md:6: <!-- quote: src/a.c#part -->: "
                      "drifted from the source at block line 2: source "
                      "src/a.c:4 \"{\", lesson (the block has ended)");
    script_free(&r);
}

Test(lessons, missing_files_regions_and_blocks_are_reported)
{
    struct script_run r;

    make_scratch();
    put_file("src/a.c", sample_source);
    put_file("lessons/01-demo.md",
             "<!-- quote: src/nothere.c#part -->\n"
             "```c\n"
             "```\n"
             "<!-- quote: src/a.c#nothere -->\n"
             "```c\n"
             "```\n"
             "<!-- quote: src/a.c#part -->\n"
             "No block follows.\n"
             "<!-- quote: ../outside.c#part -->\n"
             "```c\n"
             "```\n"
             "<!-- quote: src/a.c -->\n");
    int rc = run_quotes(&r, scratch, FLAGS("--quotes"));
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/01-demo.md:"), 5,
                 "five reports:\n%s", r.err);
    expect_has(r.err, "lessons/01-demo.md:1: <!-- quote: src/nothere.c#part "
                      "-->: cannot read src/nothere.c");
    expect_has(r.err, "lessons/01-demo.md:4: <!-- quote: src/a.c#nothere -->:"
                      " no region \"nothere\" in src/a.c");
    expect_has(r.err, "lessons/01-demo.md:7: <!-- quote: src/a.c#part --> "
                      "must be followed at once by a fenced code block");
    expect_has(r.err, "lessons/01-demo.md:9: <!-- quote: ../outside.c#part "
                      "-->: the path must be relative to the project root, "
                      "without ..");
    expect_has(r.err, "lessons/01-demo.md:12: malformed quote marker");
    script_free(&r);
}

Test(lessons, markers_inside_code_blocks_are_skipped)
{
    struct script_run r;

    make_scratch();
    put_file("src/a.c", sample_source);
    put_file("lessons/01-demo.md",
             "How to quote:\n"
             "````md\n"
             "<!-- quote: src/a.c#nothere -->\n"
             "```c\n"
             "anything\n"
             "```\n"
             "<!-- side-by-side: src/a.c#nothere src/a.c#part -->\n"
             "| no | table | here |\n"
             "````\n"
             "<!-- quote: src/a.c#body -->\n"
             "```c\n"
             "    return 1;\n"
             "```\n");
    int rc = run_quotes(&r, scratch, FLAGS("--quotes"));
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 1 quote, 0 tables checked: all match");
    script_free(&r);
}

Test(lessons, bad_region_markers_are_reported)
{
    struct script_run r;

    make_scratch();
    put_file("server/good.c", sample_source);
    put_file("client/twice.c", "/* region: a */\nx\n/* endregion: a */\n"
                               "/* region: a */\ny\n/* endregion: a */\n");
    put_file("common/open.h", "/* region: a */\nx\n");
    put_file("libuv/stray.c", "x\n/* endregion: b */\n");
    put_file("src/elsewhere.c", "/* region: a */\n");
    int rc = run_quotes(&r, scratch, FLAGS("--sources"));
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "client/") +
                     lines_starting(r.err, "common/") +
                     lines_starting(r.err, "libuv/") +
                     lines_starting(r.err, "server/"),
                 3, "three reports:\n%s", r.err);
    expect_has(r.err, "client/twice.c:4: region \"a\" opened again (first at "
                      "line 1)");
    expect_has(r.err, "common/open.h:1: region \"a\" is never closed");
    expect_has(r.err, "libuv/stray.c:2: endregion \"b\" has no open region");
    expect_has(r.err, "quotes.sh: 5 regions in 4 source files: 3 bad "
                      "markers");
    script_free(&r);

    /* A quote of a file whose markers are broken is refused too. */
    put_file("lessons/01-demo.md",
             "<!-- quote: common/open.h#a -->\n```c\nx\n```\n");
    rc = run_quotes(&r, scratch, FLAGS("--quotes"));
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/01-demo.md:1: <!-- quote: common/open.h#a -->: "
                      "bad region markers in the source: common/open.h:1: "
                      "region \"a\" is never closed");
    script_free(&r);
}

Test(lessons, unlinked_lessons_and_dead_links_are_reported)
{
    struct script_run r;

    make_scratch();
    put_file("lessons/01-one.md", "# One\n");
    put_file("lessons/02-two.md", "# Two\nBack to [one](01-one.md), on to "
             "[five](05-five.md). Code: `f[1](nothere.md)`.\n");
    put_file("lessons/README.md",
             "1. [One](01-one.md#start)\n"
             "2. Two, coming\n"
             "3. [Three](./03-three.md)\n"
             "[code]: ../src/a.c\n"
             "[site](https://example.org/x.md) and [top](#top)\n"
             "```\n[in a block](nothere.md)\n```\n");
    int rc = run_quotes(&r, scratch, FLAGS("--links"));
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/"), 4, "four reports:\n%s",
                 r.err);
    expect_has(r.err, "lessons/02-two.md is not linked from "
                      "lessons/README.md");
    expect_has(r.err, "lessons/02-two.md:2: links to \"05-five.md\", but "
                      "lessons/05-five.md does not exist");
    expect_has(r.err, "lessons/README.md:3: links to \"03-three.md\"");
    expect_has(r.err, "lessons/README.md:4: links to \"../src/a.c\"");
    expect_has(r.err, "quotes.sh: 2 lessons, 5 local links checked: 4 "
                      "problems");
    script_free(&r);

    /* Fix them and the same check passes. */
    put_file("src/a.c", sample_source);
    put_file("lessons/03-three.md", "# Three\n");
    put_file("lessons/02-two.md", "# Two\nBack to [one](01-one.md).\n");
    put_file("lessons/README.md",
             "1. [One](01-one.md#start)\n"
             "2. [Two](02-two.md)\n"
             "3. [Three](./03-three.md)\n"
             "[code]: ../src/a.c\n");
    rc = run_quotes(&r, scratch, FLAGS("--links"));
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 3 lessons, 5 local links checked: all "
                      "linked, all resolve");
    script_free(&r);
}

Test(lessons, the_links_of_the_readmes_at_the_top_are_checked)
{
    struct script_run r;

    make_scratch();
    put_file("lessons/01-one.md", "# One\n");
    put_file("lessons/README.md", "[One](01-one.md)\n");
    put_file("README.md", "[Lessons](lessons/README.md), "
             "[한국어](README.ko.md#start)\n");
    put_file("README.ko.md", "[English](README.md) [강의](lessons/ko/README.md)\n");
    int rc = run_quotes(&r, scratch, FLAGS("--links"));
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "README"), 1, "one report:\n%s",
                 r.err);
    expect_has(r.err, "README.ko.md:1: links to \"lessons/ko/README.md\", "
                      "but lessons/ko/README.md does not exist (a link in a "
                      "README at the top is relative to the top)\n");
    expect_has(r.err, "quotes.sh: 1 lesson, 5 local links checked: 1 "
                      "problem");
    script_free(&r);

    put_file("README.ko.md", "[English](README.md) [강의](lessons/README.md)\n");
    rc = run_quotes(&r, scratch, FLAGS("--links"));
    cr_expect_eq(rc, 0, "fixed: exit %d\n%s", rc, r.err);
    script_free(&r);
}

Test(lessons, update_fixes_a_drifted_quote)
{
    struct script_run r;
    static const char drifted[] =
        "<!-- quote: src/a.c#body -->\n```c\n    return 2;\n```\n";
    static const char fixed[] =
        "<!-- quote: src/a.c#body -->\n```c\n    return 1;\n```\n";

    make_scratch();
    put_file("src/a.c", sample_source);
    put_file("lessons/01-demo.md", drifted);

    int rc = run_quotes(&r, scratch, FLAGS("--quotes"));
    cr_expect_eq(rc, 1, "--quotes on a drifted quote: exit %d\n%s", rc,
                 r.err);
    expect_has(r.err, "lessons/01-demo.md:1: <!-- quote: src/a.c#body -->: "
                      "drifted");
    script_free(&r);

    rc = run_quotes(&r, scratch, FLAGS("--update"));
    cr_expect_eq(rc, 0, "--update: exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/01-demo.md:1: <!-- quote: src/a.c#body -->: "
                      "updated from the source");
    expect_has(r.out, "1 lesson rewritten");
    script_free(&r);
    char *lesson = get_file("lessons/01-demo.md");
    cr_expect_str_eq(lesson, fixed);
    free(lesson);

    rc = run_quotes(&r, scratch, FLAGS("--quotes"));
    cr_expect_eq(rc, 0, "--quotes after --update: exit %d\n%s", rc, r.err);
    script_free(&r);
}

Test(lessons, bad_usage_and_no_lessons_have_their_exit_codes)
{
    struct script_run r;

    make_scratch();
    int rc = run_quotes(&r, scratch, FLAGS("--bogus"));
    cr_expect_eq(rc, 64, "a bad option: exit %d\n%s", rc, r.err);
    expect_has(r.err, "unknown option '--bogus'");
    script_free(&r);

    rc = run_quotes(&r, scratch, FLAGS("--update", "--quotes"));
    cr_expect_eq(rc, 64, "--update with --quotes: exit %d\n%s", rc, r.err);
    script_free(&r);

    rc = run_quotes(&r, NULL, FLAGS("--root"));
    cr_expect_eq(rc, 64, "--root without a directory: exit %d\n%s", rc,
                 r.err);
    script_free(&r);

    rc = run_quotes(&r, scratch, FLAGS("--check"));
    cr_expect_eq(rc, 66, "no lessons: exit %d\n%s", rc, r.err);
    expect_has(r.err, "quotes.sh: no lessons/*.md under");
    script_free(&r);
}

/* ---- side-by-side tables, on scratch trees ------------------------------- */

/* Two sources for the tables: a blocking one and a libuv-like one. */
static const char blocking_source[] =
    "int main(void)\n"                              /* 1 */
    "{\n"                                           /* 2 */
    "    /* region: main */\n"                      /* 3 */
    "    int fd = socket(AF_INET, SOCK_STREAM, 0);\n" /* 4 */
    "    x = a | b;\n"                              /* 5 */
    "    /* region: loop */\n"                      /* 6 */
    "    int c = accept(fd, NULL, NULL);\n"         /* 7 */
    "    /* endregion: loop */\n"                   /* 8 */
    "    close(fd);\n"                              /* 9 */
    "    /* endregion: main */\n"                   /* 10 */
    "}\n";                                          /* 11 */

static const char uv_source[] =
    "/* region: main */\n"                          /* 1 */
    "loop = uv_default_loop();\n"                   /* 2 */
    "uv_tcp_init(loop, &server);\n"                 /* 3 */
    "uv_listen((uv_stream_t *)&server, 128, on_new_connection);\n" /* 4 */
    "return uv_run(loop, UV_RUN_DEFAULT);\n"        /* 5 */
    "/* endregion: main */\n";                      /* 6 */

#define TABLE_MARKER "<!-- side-by-side: src/a.c#main src/b.c#main -->\n"
#define TABLE_HEAD "| step | `a.c` | `b.c` |\n|---|---|---|\n"

static void put_table_sources(void)
{
    make_scratch();
    put_file("src/a.c", blocking_source);
    put_file("src/b.c", uv_source);
}

Test(lessons, a_side_by_side_table_matching_its_regions_passes)
{
    struct script_run r;

    put_table_sources();
    put_file("lessons/01-demo.md",
             "Intro.\n"
             TABLE_MARKER
             TABLE_HEAD
             "| a loop | — | `loop = uv_default_loop();` |\n"
             "| a socket | `int fd = socket(AF_INET, SOCK_STREAM, 0);` | "
             "`uv_tcp_init(loop, &server);` |\n"
             "| a pipe | `x = a \\| b;` | (nothing) |\n"
             "| accept | ` int c = accept(fd, NULL, NULL); ` <br> "
             "`close(fd);` | `uv_listen((uv_stream_t *)&server, 128, "
             "on_new_connection);` <br> `return uv_run(loop, "
             "UV_RUN_DEFAULT);` |\n"
             "After the table.\n"
             "<!-- quote: src/a.c#loop -->\n"
             "```c\n"
             "    int c = accept(fd, NULL, NULL);\n"
             "```\n");
    int rc = run_quotes(&r, scratch, FLAGS("--quotes"));
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 1 quote, 1 table checked: all match their "
                      "source");
    cr_expect_str_empty(r.err);
    script_free(&r);
}

Test(lessons, a_table_cell_not_in_its_region_fails)
{
    struct script_run r;

    put_table_sources();
    put_file("lessons/01-demo.md",
             TABLE_MARKER
             TABLE_HEAD
             "| a loop | — | `loop = uv_default_loop();` |\n"
             "| a socket | `int fd = socket(AF_INET, SOCK_STREAM, 0);` | "
             "`uv_tcp_init(loop, &client);` |\n"
             "| a pipe | `x = a \\| b;` <br> `}` | (nothing) |\n");
    int rc = run_quotes(&r, scratch, FLAGS("--quotes"));
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/"), 2, "two reports:\n%s",
                 r.err);
    expect_has(r.err, "lessons/01-demo.md:5: side-by-side src/b.c#main, row "
                      "2: \"uv_tcp_init(loop, &client);\" is not a line of "
                      "the region\n");
    /* In the file, but outside the region. */
    expect_has(r.err, "lessons/01-demo.md:6: side-by-side src/a.c#main, row "
                      "3: \"}\" is not a line of the region\n");
    expect_has(r.err, "quotes.sh: 0 quotes, 1 table checked: 0 drifted, 0 "
                      "broken, 2 table problems");
    script_free(&r);
}

Test(lessons, table_rows_out_of_source_order_fail)
{
    struct script_run r;

    put_table_sources();
    put_file("lessons/01-demo.md",
             TABLE_MARKER
             TABLE_HEAD
             "| a socket | `int fd = socket(AF_INET, SOCK_STREAM, 0);` | "
             "`uv_tcp_init(loop, &server);` |\n"
             "| a loop | — | `loop = uv_default_loop();` |\n"
             "| accept | `close(fd);` <br> `int c = accept(fd, NULL, NULL);` "
             "| — |\n");
    int rc = run_quotes(&r, scratch, FLAGS("--quotes"));
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/"), 2, "two reports:\n%s",
                 r.err);
    expect_has(r.err, "lessons/01-demo.md:5: side-by-side src/b.c#main, row "
                      "2: \"loop = uv_default_loop();\" is not a line of the "
                      "region after line 3 (source order)\n");
    expect_has(r.err, "lessons/01-demo.md:6: side-by-side src/a.c#main, row "
                      "3: \"int c = accept(fd, NULL, NULL);\" is not a line "
                      "of the region after line 9 (source order)\n");
    script_free(&r);
}

Test(lessons, a_table_with_no_code_fails)
{
    struct script_run r;

    put_table_sources();
    put_file("lessons/01-demo.md",
             TABLE_MARKER
             TABLE_HEAD
             "| `socket` | make a socket | make a handle |\n"
             "| `accept` | — | (in libuv) |\n");
    int rc = run_quotes(&r, scratch, FLAGS("--quotes"));
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/"), 1, "one report:\n%s",
                 r.err);
    expect_has(r.err, "lessons/01-demo.md:1: <!-- side-by-side src/a.c#main "
                      "src/b.c#main -->: the table holds no code span, so it "
                      "checks nothing\n");
    script_free(&r);
}

Test(lessons, a_missing_table_or_a_short_row_fails_and_update_keeps_tables)
{
    struct script_run r;
    static const char lesson[] =
        TABLE_MARKER
        "The table went missing.\n"
        "\n"
        "<!-- side-by-side: src/a.c#main src/b.c#nothere -->\n"
        TABLE_HEAD
        "| a loop | `loop = uv_default_loop();` |\n"
        "| a socket | `int fd = socket(AF_INET, SOCK_STREAM, 0);` | — |\n"
        "<!-- side-by-side: src/a.c#main -->\n";

    put_table_sources();
    put_file("lessons/01-demo.md", lesson);
    int rc = run_quotes(&r, scratch, FLAGS("--quotes"));
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/"), 4, "four reports:\n%s",
                 r.err);
    expect_has(r.err, "lessons/01-demo.md:1: <!-- side-by-side src/a.c#main "
                      "src/b.c#main --> must be followed at once by a "
                      "markdown table");
    expect_has(r.err, "lessons/01-demo.md:4: side-by-side src/b.c#nothere: "
                      "no region \"nothere\" in src/b.c");
    expect_has(r.err, "lessons/01-demo.md:7: side-by-side src/a.c#main "
                      "src/b.c#nothere, row 1: 2 cells; a row needs 3");
    expect_has(r.err, "lessons/01-demo.md:9: malformed side-by-side marker");
    script_free(&r);

    /* --update cannot rewrite a table: it leaves the lesson alone and
     * still fails. */
    rc = run_quotes(&r, scratch, FLAGS("--update"));
    cr_expect_eq(rc, 1, "--update: exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/01-demo.md:7: side-by-side src/a.c#main "
                      "src/b.c#nothere, row 1: 2 cells");
    script_free(&r);
    char *now = get_file("lessons/01-demo.md");
    cr_expect_str_eq(now, lesson);
    free(now);
}

/* ---- shell blocks, on scratch trees ------------------------------------- */

Test(lessons, a_prompt_in_a_shell_block_fails)
{
    struct script_run r;

    make_scratch();
    put_file("lessons/01-demo.md",
             "# Demo\n"                        /* 1 */
             "```sh\n"                         /* 2 */
             "make\n"                          /* 3 */
             "$ bin/echo-server &\n"           /* 4: a prompt */
             "```\n"                           /* 5 */
             "```text\n"                       /* 6 */
             "$ output may show a prompt\n"    /* 7: output, fine */
             "```\n"                           /* 8 */
             "~~~ Console\n"                   /* 9 */
             "  $ ls\n"                        /* 10: indented prompt */
             "$\n"                             /* 11: a lone "$" */
             "~~~\n"                           /* 12 */
             "````md\n"                        /* 13 */
             "```sh\n"                         /* 14: an example */
             "$ not a block of this lesson\n"  /* 15 */
             "```\n"                           /* 16 */
             "````\n"                          /* 17 */
             "```bash\n"                       /* 18 */
             "echo \"$HOME\" $(date) $1\n"     /* 19: fine */
             "```\n");                         /* 20 */
    put_file("lessons/README.md", "```shell\n$ make test\n```\n");
    int rc = run_quotes(&r, scratch, FLAGS("--shape"));
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/"), 4, "four reports:\n%s",
                 r.err);
    expect_has(r.err, "lessons/01-demo.md:4: a \"$ \" prompt inside a ```sh "
                      "block: pasted, it runs a command named \"$\"");
    expect_has(r.err, "lessons/01-demo.md:10: a \"$ \" prompt inside a "
                      "```console block");
    expect_has(r.err, "lessons/01-demo.md:11: a \"$ \" prompt");
    expect_has(r.err, "lessons/README.md:2: a \"$ \" prompt inside a "
                      "```shell block");
    expect_has(r.err, "quotes.sh: 4 shell blocks in 2 files checked: 4 "
                      "prompts");
    script_free(&r);

    /* Commands as typed, output apart: the same check passes. */
    put_file("lessons/01-demo.md",
             "```sh\nmake\nbin/echo-server &\n```\n"
             "```text\n$ output may show a prompt\n```\n");
    put_file("lessons/README.md", "```shell\nmake test\n```\n");
    rc = run_quotes(&r, scratch, FLAGS("--shape"));
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 2 shell blocks in 2 files checked: no "
                      "prompts");
    cr_expect_str_empty(r.err);
    script_free(&r);
}

Test(lessons, shape_goes_with_check_and_not_with_update)
{
    struct script_run r;

    make_scratch();
    put_file("lessons/README.md", "```sh\n$ make\n```\n");
    int rc = run_quotes(&r, scratch, FLAGS("--update", "--shape"));
    cr_expect_eq(rc, 64, "--update with --shape: exit %d\n%s", rc, r.err);
    script_free(&r);

    /* --check runs the shape check too (and fails on it alone here). */
    rc = run_quotes(&r, scratch, FLAGS("--check"));
    cr_expect_eq(rc, 1, "--check: exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/README.md:2: a \"$ \" prompt");
    script_free(&r);
}

/* ---- the Korean track, on scratch trees ---------------------------------- */

/* An English lesson with one of each thing parity compares: a quote, two
 * "## " sections, a command and its output. */
static const char english_lesson[] =
    "# 01 · Demo\n"                                                /* 1 */
    "\n"                                                           /* 2 */
    "## What you will learn\n"                                     /* 3 */
    "\n"                                                           /* 4 */
    "The body of f:\n"                                             /* 5 */
    "<!-- quote: src/a.c#body -->\n"                               /* 6 */
    "```c\n"                                                       /* 7 */
    "    return 1;\n"                                              /* 8 */
    "```\n"                                                        /* 9 */
    "\n"                                                           /* 10 */
    "## Try it\n"                                                  /* 11 */
    "\n"                                                           /* 12 */
    "```sh\n"                                                      /* 13 */
    "make # build everything\n"                                    /* 14 */
    "```\n";                                                       /* 15 */

/* Its twin: the prose in Korean, everything parity compares the same. */
static const char korean_lesson[] =
    "# 01 · 데모\n"                                                /* 1 */
    "\n"                                                           /* 2 */
    "## 배울 것\n"                                                 /* 3 */
    "\n"                                                           /* 4 */
    "`f`의 본문입니다:\n"                                          /* 5 */
    "<!-- quote: src/a.c#body -->\n"                               /* 6 */
    "```c\n"                                                       /* 7 */
    "    return 1;\n"                                              /* 8 */
    "```\n"                                                        /* 9 */
    "\n"                                                           /* 10 */
    "## 해 보기\n"                                                 /* 11 */
    "\n"                                                           /* 12 */
    "```sh\n"                                                      /* 13 */
    "make # build everything\n"                                    /* 14 */
    "```\n";                                                       /* 15 */

/* A scratch tree with the English lesson and, unless korean is NULL, its
 * twin lessons/ko/01-demo.md holding korean. */
static void put_pair(const char *korean)
{
    make_scratch();
    put_file("src/a.c", sample_source);
    put_file("lessons/01-demo.md", english_lesson);
    if (korean != NULL)
        put_file("lessons/ko/01-demo.md", korean);
}

/* Run --parity on the scratch tree with the Korean lesson changed (the
 * first from replaced by to): it must fail with that many reports, the
 * first of them says. */
static void expect_parity_fails(const char *from, const char *to,
                                int reports, const char *says)
{
    struct script_run r;
    const char *at = strstr(korean_lesson, from);
    cr_assert_not_null(at, "\"%s\" is not in the Korean lesson", from);
    size_t size = sizeof korean_lesson - strlen(from) + strlen(to);
    char *changed = malloc(size);
    cr_assert_not_null(changed, "out of memory");
    snprintf(changed, size, "%.*s%s%s", (int)(at - korean_lesson),
             korean_lesson, to, at + strlen(from));
    put_pair(changed);
    free(changed);
    int rc = run_quotes(&r, scratch, FLAGS("--parity"));
    cr_expect_eq(rc, 1, "\"%s\" -> \"%s\": exit %d\n%s", from, to, rc,
                 r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/"), reports,
                 "%d reports expected:\n%s", reports, r.err);
    expect_has(r.err, says);
    char summary[80];
    snprintf(summary, sizeof summary, "quotes.sh: 1 lesson and 1 Korean "
             "twin: %d problem%s\n", reports, reports == 1 ? "" : "s");
    expect_has(r.err, summary);
    script_free(&r);
    lessons_fini();
}

Test(lessons, a_korean_twin_in_step_passes_parity)
{
    struct script_run r;

    put_pair(korean_lesson);
    int rc = run_quotes(&r, scratch, FLAGS("--parity"));
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 1 lesson and 1 Korean twin: 1 marker, 2 "
                      "sections, 2 fenced blocks in step");
    cr_expect_str_empty(r.err);
    script_free(&r);
}

Test(lessons, without_a_translation_parity_says_so_and_passes)
{
    struct script_run r;

    put_pair(NULL);
    int rc = run_quotes(&r, scratch, FLAGS("--parity"));
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: no lessons/ko/: no translation to keep in "
                      "step");
    script_free(&r);
}

Test(lessons, a_lesson_in_one_language_only_fails_parity)
{
    struct script_run r;

    put_pair(korean_lesson);
    put_file("lessons/02-more.md", "# 02 · More\n");
    put_file("lessons/ko/03-extra.md", "# 03 · 더\n");
    put_file("lessons/ko/용어.md", "# 용어집\n");  /* not a lesson: no twin */
    int rc = run_quotes(&r, scratch, FLAGS("--parity"));
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/"), 2, "two reports:\n%s",
                 r.err);
    expect_has(r.err, "lessons/ko/02-more.md is missing: lessons/02-more.md "
                      "has no Korean twin (write one with the same file "
                      "name)\n");
    expect_has(r.err, "lessons/ko/03-extra.md has no English original: "
                      "lessons/03-extra.md does not exist");
    expect_has(r.err, "quotes.sh: 2 lessons and 1 Korean twin: 2 problems");
    script_free(&r);
}

Test(lessons, a_changed_marker_fails_parity_with_the_file_and_the_marker)
{
    /* The Korean quotes another region: --quotes alone would pass it. */
    expect_parity_fails("<!-- quote: src/a.c#body -->",
                        "<!-- quote: src/a.c#part -->", 1,
                        "lessons/ko/01-demo.md:6: <!-- quote: src/a.c#part "
                        "-->: marker 1 differs from lessons/01-demo.md:6: "
                        "<!-- quote: src/a.c#body --> (the same markers, in "
                        "the same order, in both languages)\n");
    /* The Korean lost it (and its block with it). */
    expect_parity_fails("<!-- quote: src/a.c#body -->\n```c\n    return 1;\n"
                        "```\n", "", 2,
                        "lessons/ko/01-demo.md: marker 1 of "
                        "lessons/01-demo.md, line 6, <!-- quote: "
                        "src/a.c#body -->, is missing (0 markers here, 1 in "
                        "English)\n");
    /* The Korean added a run marker of its own. */
    expect_parity_fails("```sh\n",
                        "<!-- run: build output=none -->\n```sh\n", 1,
                        "lessons/ko/01-demo.md:13: <!-- run: build "
                        "output=none -->: marker 2 is not in "
                        "lessons/01-demo.md (1 marker there, 2 here)\n");
}

Test(lessons, a_changed_section_or_block_fails_parity)
{
    /* Two sections merged into one. */
    expect_parity_fails("## 해 보기\n", "### 해 보기\n", 1,
                        "lessons/ko/01-demo.md: 1 \"## \" sections, but "
                        "lessons/01-demo.md has 2 (one section for each)\n");
    /* A command's comment translated: commands stay as in English. */
    expect_parity_fails("make # build everything",
                        "make # 전부 빌드합니다", 1,
                        "lessons/ko/01-demo.md:14: fenced block 2 differs "
                        "from lessons/01-demo.md:14 at its line 2: \"make # "
                        "전부 빌드합니다\" here, \"make # build everything\" "
                        "in English (code, commands and output stay as in "
                        "English)\n");
    /* An output block the English does not have. */
    expect_parity_fails("make # build everything\n```\n",
                        "make # build everything\n```\n\n```text\nok\n```\n", 1,
                        "lessons/ko/01-demo.md:17: fenced block 3 is not in "
                        "lessons/01-demo.md (2 blocks there, 3 here)\n");
}

Test(lessons, a_word_the_glossary_rules_out_fails_parity_in_prose_only)
{
    struct script_run r;

    put_pair(korean_lesson);
    put_file("lessons/ko/용어.md",
             "# 용어집\n\n| 한국어 | English |\n|---|---|\n"
             "| 논블로킹 | non-blocking |\n\n"
             "## 쓰지 않는 말\n\n"
             "| 쓰지 않는 말 | 대신 쓰는 말 | 까닭 |\n|---|---|---|\n"
             "| 비블로킹 | 논블로킹 | 한국 개발자가 쓰는 말 |\n"
             "| 포어그라운드 | 포그라운드 | 표기를 하나로 |\n\n"
             "## 다음 표\n\n| 비블로킹 아님 | x | y |\n");
    /* In a code span, a fenced block or a marker a variant is not prose. */
    put_file("lessons/ko/README.md",
             "[데모](01-demo.md): 비블로킹 소켓, 포그라운드 `비블로킹`\n"
             "```text\n포어그라운드\n```\n");
    int rc = run_quotes(&r, scratch, FLAGS("--parity"));
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/"), 1, "one report:\n%s",
                 r.err);
    expect_has(r.err, "lessons/ko/README.md:1: \"비블로킹\": the glossary "
                      "(lessons/ko/용어.md) uses 논블로킹 for this\n");
    script_free(&r);

    put_file("lessons/ko/README.md",
             "[데모](01-demo.md): 논블로킹 소켓, 포그라운드 `비블로킹`\n"
             "```text\n포어그라운드\n```\n");
    rc = run_quotes(&r, scratch, FLAGS("--parity"));
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, r.err);
    expect_has(r.out, "in step; 2 words the glossary rules out, none used");
    script_free(&r);
}

Test(lessons, quotes_shape_and_links_cover_the_korean_lessons)
{
    struct script_run r;

    /* A drifted quote in the Korean lesson is reported there, and --update
     * rewrites it. */
    char *drifted = strdup(korean_lesson);
    cr_assert_not_null(drifted, "out of memory");
    char *at = strstr(drifted, "return 1;");
    cr_assert_not_null(at);
    at[7] = '2';
    put_pair(drifted);
    free(drifted);
    int rc = run_quotes(&r, scratch, FLAGS("--quotes"));
    cr_expect_eq(rc, 1, "--quotes: exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/ko/01-demo.md:6: <!-- quote: src/a.c#body "
                      "-->: drifted");
    expect_has(r.err, "quotes.sh: 2 quotes, 0 tables checked: 1 drifted");
    script_free(&r);
    rc = run_quotes(&r, scratch, FLAGS("--update"));
    cr_expect_eq(rc, 0, "--update: exit %d\n%s", rc, r.err);
    script_free(&r);
    char *now = get_file("lessons/ko/01-demo.md");
    cr_expect_str_eq(now, korean_lesson);
    free(now);

    /* A prompt in a Korean shell block. */
    put_file("lessons/ko/01-demo.md", "# 데모\n```sh\n$ make\n```\n");
    rc = run_quotes(&r, scratch, FLAGS("--shape"));
    cr_expect_eq(rc, 1, "--shape: exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/ko/01-demo.md:3: a \"$ \" prompt");
    script_free(&r);
    lessons_fini();

    /* Links: each folder's index links its lessons, the two indexes link
     * each other, and a Korean link is relative to lessons/ko/. */
    put_pair(korean_lesson);
    put_file("img/x.svg", "<svg/>\n");
    put_file("lessons/README.md", "[Demo](01-demo.md)\n");
    put_file("lessons/ko/README.md", "[English](../README.md)\n");
    put_file("lessons/ko/02-more.md",
             "# 02\n![그림](../../img/x.svg) [데모](01-demo.md#배울-것) "
             "[틀림](img/x.svg)\n");
    rc = run_quotes(&r, scratch, FLAGS("--links"));
    cr_expect_eq(rc, 1, "--links: exit %d\n%s", rc, r.err);
    cr_expect_eq(lines_starting(r.err, "lessons/"), 4, "four reports:\n%s",
                 r.err);
    expect_has(r.err, "lessons/README.md does not link lessons/ko/README.md, "
                      "the index of a translation: link it, "
                      "[title](ko/README.md)\n");
    expect_has(r.err, "lessons/ko/01-demo.md is not linked from "
                      "lessons/ko/README.md");
    expect_has(r.err, "lessons/ko/02-more.md is not linked from "
                      "lessons/ko/README.md");
    expect_has(r.err, "lessons/ko/02-more.md:2: links to \"img/x.svg\", but "
                      "lessons/ko/img/x.svg does not exist (a link is "
                      "relative to its lesson's folder, lessons/ko/: "
                      "../img/, ../../server/)\n");
    script_free(&r);

    put_file("lessons/README.md", "[Demo](01-demo.md) [한국어](ko/README.md)\n");
    put_file("lessons/ko/README.md", "[English](../README.md) "
             "[데모](01-demo.md) [더](02-more.md)\n");
    put_file("lessons/ko/02-more.md",
             "# 02\n![그림](../../img/x.svg) [데모](01-demo.md#배울-것)\n");
    rc = run_quotes(&r, scratch, FLAGS("--links"));
    cr_expect_eq(rc, 0, "--links, fixed: exit %d\n%s", rc, r.err);
    expect_has(r.out, "quotes.sh: 3 lessons, 7 local links checked: all "
                      "linked, all resolve");
    script_free(&r);
    lessons_fini();

    /* The index of a translation must exist. */
    put_pair(korean_lesson);
    put_file("lessons/README.md", "[Demo](01-demo.md) [한국어](ko/README.md)\n");
    rc = run_quotes(&r, scratch, FLAGS("--links"));
    cr_expect_eq(rc, 1, "--links, no Korean index: exit %d\n%s", rc, r.err);
    expect_has(r.err, "lessons/ko/README.md is missing: it is the index that "
                      "links every lesson beside it");
    expect_has(r.err, "links to \"ko/README.md\", but lessons/ko/README.md "
                      "does not exist");
    script_free(&r);
}

/* ---- the real lessons ----------------------------------------------------- */

/* The first fenced block of text (from its opening fence to its closing
 * one) as a malloc'd string, or NULL. */
static char *first_block(const char *text)
{
    const char *open = strstr(text, "\n```");
    if (open == NULL)
        return NULL;
    const char *close = strstr(open + 4, "\n```");
    if (close == NULL)
        return NULL;
    return strndup(open + 1, (size_t)(close + 4 - (open + 1)));
}

Test(lessons, the_korean_readme_starts_with_the_same_commands_and_links_right)
{
    char *en = file_under(SOCKLAB_ROOT, "README.md");
    char *ko = file_under(SOCKLAB_ROOT, "README.ko.md");
    cr_assert_not_null(en, "README.md cannot be read");
    cr_assert_not_null(ko, "README.ko.md is missing: the Korean README");
    expect_has(en, "(README.ko.md)");

    /* The set-up commands are the README's first block, in both. */
    char *en_block = first_block(en), *ko_block = first_block(ko);
    cr_assert_not_null(en_block, "README.md has no fenced block");
    cr_assert_not_null(ko_block, "README.ko.md has no fenced block");
    cr_expect_str_eq(ko_block, en_block, "README.ko.md's first block is not "
                     "README.md's set-up commands");
    free(en_block);
    free(ko_block);

    /* It leads to the Korean lessons and back to the README; that every
     * link of it resolves is --links' part (the_index_links_...). */
    expect_has(ko, "](lessons/ko/README.md)");
    expect_has(ko, "](lessons/ko/00-what-is-a-socket.md)");
    expect_has(ko, "](README.md)");
    free(en);
    free(ko);
}

Test(lessons, every_english_lesson_has_its_korean_twin_in_step)
{
    struct script_run r;

    int rc = run_quotes(&r, SOCKLAB_ROOT, FLAGS("--parity"));
    cr_expect_eq(rc, 0, "sh tests/scripts/quotes.sh --parity: exit %d\n%s",
                 rc, r.err);
    long english = summary_count(r.out, "lesson");
    const char *and = strstr(r.out, " and ");
    long twins = and != NULL ? strtol(and + 5, NULL, 10) : -1;
    cr_expect_geq(english, MIN_REAL_LESSONS, "%ld English lessons (expected "
                  "at least %d):\n%s", english, MIN_REAL_LESSONS, r.out);
    cr_expect_eq(twins, english, "%ld Korean twins of %ld lessons:\n%s",
                 twins, english, r.out);
    script_free(&r);
}


Test(lessons, every_quote_in_the_lessons_matches_its_source)
{
    struct script_run r;

    int rc = run_quotes(&r, SOCKLAB_ROOT, FLAGS("--quotes"));
    cr_expect_eq(rc, 0, "sh tests/scripts/quotes.sh --quotes: exit %d\n%s",
                 rc, r.err);
    long quotes = summary_count(r.out, "quote");
    cr_expect_geq(quotes, MIN_REAL_QUOTES,
                  "%ld quotes checked (expected at least %d):\n%s", quotes,
                  MIN_REAL_QUOTES, r.out);
    script_free(&r);
}

Test(lessons, region_markers_in_the_sources_are_well_formed)
{
    struct script_run r;

    int rc = run_quotes(&r, SOCKLAB_ROOT, FLAGS("--sources"));
    cr_expect_eq(rc, 0, "sh tests/scripts/quotes.sh --sources: exit %d\n%s",
                 rc, r.err);
    long regions = summary_count(r.out, "region");
    cr_expect_gt(regions, 0, "no region markers found in the sources:\n%s",
                 r.out);
    script_free(&r);
}

Test(lessons, the_index_links_every_lesson_and_only_existing_files)
{
    struct script_run r;

    int rc = run_quotes(&r, SOCKLAB_ROOT, FLAGS("--links"));
    cr_expect_eq(rc, 0, "sh tests/scripts/quotes.sh --links: exit %d\n%s",
                 rc, r.err);
    long lessons = summary_count(r.out, "lesson");
    cr_expect_geq(lessons, 2, "lesson files found: %ld\n%s", lessons, r.out);
    script_free(&r);
}

Test(lessons, every_shell_block_in_the_lessons_pastes_as_it_is)
{
    struct script_run r;

    int rc = run_quotes(&r, SOCKLAB_ROOT, FLAGS("--shape"));
    cr_expect_eq(rc, 0, "sh tests/scripts/quotes.sh --shape: exit %d\n%s",
                 rc, r.err);
    long blocks = summary_count(r.out, "shell block");
    cr_expect_geq(blocks, MIN_REAL_SHELL_BLOCKS,
                  "%ld shell blocks checked (expected at least %d):\n%s",
                  blocks, MIN_REAL_SHELL_BLOCKS, r.out);
    script_free(&r);
}

Test(lessons, check_runs_every_part_from_the_default_root)
{
    struct script_run r;

    /* No --root: the script finds the project from where it lives. */
    int rc = run_quotes(&r, NULL, FLAGS("--check"));
    cr_expect_eq(rc, 0, "sh tests/scripts/quotes.sh --check: exit %d\n%s",
                 rc, r.err);
    cr_expect_geq(summary_count(r.out, "quote"), MIN_REAL_QUOTES, "%s",
                  r.out);
    cr_expect_geq(summary_count(r.out, "lesson"), 2, "%s", r.out);
    cr_expect_gt(summary_count(r.out, "region"), 0, "%s", r.out);
    cr_expect_geq(summary_count(r.out, "shell block"), MIN_REAL_SHELL_BLOCKS,
                  "%s", r.out);
    script_free(&r);
}

/* test_diagram.c - the trace's timestamps (SOCKLAB_TRACE_TIME) and the
 * sequence diagram drawn from traces (tests/scripts/diagram.sh, make
 * diagram).
 *
 * The diagram is checked as data, not as a picture: the SVG must be
 * well-formed XML (a small checker below, itself tested on broken
 * documents), and it carries its facts in data-* attributes: one
 * <g class="lifeline"> per process, one <g class="mark"> per trace line
 * (data-unpaired="why" when its other end is missing), one
 * <g class="arrow" data-kind=... data-from-call=... data-to-call=...> per
 * arrow. A recorded session must give exactly the lifelines and arrows its
 * calls imply; traces written here by hand check what cannot be paired.
 */
#include <criterion/criterion.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "trace.h"

#ifndef SOCKLAB_ROOT
#error "SOCKLAB_ROOT must name the checkout (the Makefile defines it)"
#endif

TestSuite(diagram, .timeout = 120, .fini = harness_cleanup);
TestSuite(trace_time, .timeout = 30, .fini = harness_cleanup);

/* The script bounds each of its waits (10 s at most, a session has a few);
 * this is only the last resort. */
#define SCRIPT_MS 100000

Test(diagram, the_xml_checker_tells_broken_documents_from_good_ones)
{
    cr_expect_null(xml_problem("<?xml version=\"1.0\"?>\n<svg a=\"1\" b='2'>"
                               "<g><text>x &amp; y &#39;</text></g><p/></svg>\n"));
    static const char *const broken[] = {
        "<svg><g></svg></g>",              /* crossed */
        "<svg><g></svg>",                  /* left open */
        "<svg a=1></svg>",                 /* unquoted */
        "<svg a=\"1\" a=\"2\"></svg>",     /* twice */
        "<svg a=\"x<y\"></svg>",           /* '<' in a value */
        "<svg a=\"x&y\"></svg>",           /* bare & in a value */
        "<svg>fish & chips</svg>",         /* bare & in text */
        "<svg>1 < 2</svg>",                /* stray < */
        "<svg></svg><svg></svg>",          /* two roots */
        "<svg></svg>tail",                 /* text after the root */
        "<svg a=\"1\"b=\"2\"></svg>",      /* no space between attributes */
        "",                                /* no root */
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++)
        cr_expect_not_null(xml_problem(broken[i]),
                           "'%s' was taken for well-formed", broken[i]);
}

/* ---- reading the SVG's facts ------------------------------------------------ */

/* The value of attribute name in the tag starting at tag (up to its '>'),
 * with XML's entities turned back into characters, into out. 1 when the
 * tag has it, else 0. */
static int attr(const char *tag, const char *name, char *out, size_t size)
{
    const char *end = strchr(tag, '>');
    char key[64];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *at = strstr(tag, key);
    if (at == NULL || end == NULL || at > end)
        return 0;
    at += strlen(key);
    size_t n = 0;
    while (*at != '"' && *at != '\0' && n + 1 < size) {
        static const struct { const char *from; char to; } ents[] = {
            {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'},
            {"&#39;", '\''}};
        int done = 0;
        for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++)
            if (strncmp(at, ents[i].from, strlen(ents[i].from)) == 0) {
                out[n++] = ents[i].to;
                at += strlen(ents[i].from);
                done = 1;
                break;
            }
        if (!done)
            out[n++] = *at++;
    }
    out[n] = '\0';
    return 1;
}

#define MAX_ITEMS 128

struct lifeline {
    char id[8], program[64], forked_by[8];
};

struct arrow {
    char kind[16], from[8], to[8], from_call[160], to_call[160];
    long bytes;
};

struct facts {
    int nlifelines, narrows, nmarks, nunpaired;
    struct lifeline lifelines[MAX_ITEMS];
    struct arrow arrows[MAX_ITEMS];
    char unpaired_calls[MAX_ITEMS][160];
};

/* Every lifeline, arrow and unpaired mark in svg. */
static void read_facts(const char *svg, struct facts *f)
{
    memset(f, 0, sizeof *f);
    for (const char *p = svg; (p = strstr(p, "<g class=\"")) != NULL; p++) {
        char tmp[32];
        if (strncmp(p, "<g class=\"lifeline\"", 19) == 0) {
            cr_assert_lt(f->nlifelines, MAX_ITEMS);
            struct lifeline *l = &f->lifelines[f->nlifelines++];
            cr_assert(attr(p, "data-id", l->id, sizeof l->id));
            cr_assert(attr(p, "data-program", l->program, sizeof l->program));
            attr(p, "data-forked-by", l->forked_by, sizeof l->forked_by);
        } else if (strncmp(p, "<g class=\"arrow\"", 16) == 0) {
            cr_assert_lt(f->narrows, MAX_ITEMS);
            struct arrow *a = &f->arrows[f->narrows++];
            cr_assert(attr(p, "data-kind", a->kind, sizeof a->kind));
            cr_assert(attr(p, "data-from-lifeline", a->from, sizeof a->from));
            cr_assert(attr(p, "data-to-lifeline", a->to, sizeof a->to));
            cr_assert(attr(p, "data-from-call", a->from_call, sizeof a->from_call));
            cr_assert(attr(p, "data-to-call", a->to_call, sizeof a->to_call));
            a->bytes = attr(p, "data-bytes", tmp, sizeof tmp) ? atol(tmp) : -1;
        } else if (strncmp(p, "<g class=\"mark\"", 15) == 0) {
            f->nmarks++;
            if (attr(p, "data-unpaired", tmp, sizeof tmp)) {
                cr_assert_lt(f->nunpaired, MAX_ITEMS);
                /* The call is the mark's <title>. */
                const char *t = strstr(p, "<title>");
                cr_assert_not_null(t);
                t += 7;
                size_t n = strcspn(t, "<");
                if (n >= sizeof f->unpaired_calls[0])
                    n = sizeof f->unpaired_calls[0] - 1;
                memcpy(f->unpaired_calls[f->nunpaired], t, n);
                f->unpaired_calls[f->nunpaired++][n] = '\0';
            }
        }
    }
}

static const struct lifeline *lifeline(const struct facts *f, const char *id)
{
    for (int i = 0; i < f->nlifelines; i++)
        if (strcmp(f->lifelines[i].id, id) == 0)
            return &f->lifelines[i];
    return NULL;
}

static int starts(const char *s, const char *head)
{
    return strncmp(s, head, strlen(head)) == 0;
}

/* How many arrows of kind go from a call starting from_head and containing
 * from_has to a call starting to_head and containing to_has ("" matches
 * any), from lifeline from to lifeline to (NULL: any). */
static int count_arrows(const struct facts *f, const char *kind,
                        const char *from, const char *from_head,
                        const char *from_has, const char *to,
                        const char *to_head, const char *to_has)
{
    int n = 0;
    for (int i = 0; i < f->narrows; i++) {
        const struct arrow *a = &f->arrows[i];
        if (strcmp(a->kind, kind) == 0 &&
            (from == NULL || strcmp(a->from, from) == 0) &&
            (to == NULL || strcmp(a->to, to) == 0) &&
            starts(a->from_call, from_head) && strstr(a->from_call, from_has) &&
            starts(a->to_call, to_head) && strstr(a->to_call, to_has))
            n++;
    }
    return n;
}

/* All the arrows, one a line, for assertion messages. */
static const char *list_arrows(const struct facts *f)
{
    static char text[16384];
    size_t used = 0;
    text[0] = '\0';
    for (int i = 0; i < f->narrows && used < sizeof text - 1; i++) {
        const struct arrow *a = &f->arrows[i];
        int n = snprintf(text + used, sizeof text - used,
                         "  %s %s:%s -> %s:%s\n", a->kind, a->from,
                         a->from_call, a->to, a->to_call);
        if (n < 0)
            break;
        used += (size_t)n < sizeof text - used ? (size_t)n : sizeof text - used - 1;
    }
    return text;
}

/* The id of the one lifeline of program (not forked), or NULL. */
static const char *id_of(const struct facts *f, const char *program)
{
    const char *found = NULL;
    for (int i = 0; i < f->nlifelines; i++)
        if (strcmp(f->lifelines[i].program, program) == 0 &&
            f->lifelines[i].forked_by[0] == '\0') {
            if (found != NULL)
                return NULL;
            found = f->lifelines[i].id;
        }
    return found;
}

/* ---- running the script ------------------------------------------------------ */

/* sh tests/scripts/diagram.sh ARGS..., to completion. */
static void run_diagram(struct run_result *r, const char *const args[])
{
    char script[1024];
    const char *argv[24];
    size_t n = 0;

    snprintf(script, sizeof script, "%s/tests/scripts/diagram.sh",
             SOCKLAB_ROOT);
    argv[n++] = script;
    for (size_t i = 0; args[i] != NULL; i++) {
        cr_assert_lt(n, sizeof argv / sizeof argv[0] - 1);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    cr_assert_eq(run_program("/bin/sh", argv, NULL, 0, SCRIPT_MS, r), 0,
                 "cannot run diagram.sh: %s", harness_error());
    cr_assert(r->exit.exited && !r->exit.timed_out,
              "diagram.sh did not finish\n%s", r->err);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Run a recorded session, expect exit 0 and a well-formed SVG; fill f. */
static void session_svg(const char *session, struct facts *f, struct run_result *r)
{
    char how[64];
    run_diagram(r, ARGS("--session", session));
    cr_assert(exited_with(&r->exit, 0), "diagram.sh --session %s: %s\n%s",
              session, describe_exit(&r->exit, how, sizeof how), r->err);
    const char *svg = (const char *)r->out;
    cr_assert(starts(svg, "<?xml"), "not an SVG: %.200s", svg);
    const char *why = xml_problem(svg);
    cr_assert_null(why, "the SVG is not well-formed: %s", why);
    read_facts(svg, f);
}

static char scratch[] = "/tmp/socklab-diagram-test.XXXXXX";

static void scratch_init(void)
{
    cr_assert_not_null(mkdtemp(scratch), "mkdtemp");
}

/* scratch/NAME holding text; its path in path. */
static void write_file(const char *name, const char *text, char *path,
                       size_t size)
{
    snprintf(path, size, "%s/%s", scratch, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void scratch_fini(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (strstr(scratch, "XXXXXX") == NULL)
        (void)system(cmd);
    harness_cleanup();
}

/* ---- recorded sessions ------------------------------------------------------- */

Test(diagram, the_blocking_session_has_exactly_its_two_lifelines_and_five_arrows)
{
    struct run_result r;
    struct facts f;
    session_svg("blocking", &f, &r);

    cr_assert_eq(f.nlifelines, 2, "lifelines: %d", f.nlifelines);
    const char *c = id_of(&f, "echo-client");
    const char *s = id_of(&f, "echo-server");
    cr_assert(c != NULL && s != NULL, "no echo-client or echo-server lifeline");

    const char *arrows = list_arrows(&f);
    cr_expect_eq(count_arrows(&f, "connect", c, "connect(", "", s, "accept(", "= 4"), 1,
                 "connect -> accept:\n%s", arrows);
    cr_expect_eq(count_arrows(&f, "data", c, "write(", "= 6", s, "read(", "= 6"), 1,
                 "the client's write -> the server's read:\n%s", arrows);
    cr_expect_eq(count_arrows(&f, "data", s, "write(", "= 6", c, "read(", "= 6"), 1,
                 "the server's echo -> the client's read:\n%s", arrows);
    cr_expect_eq(count_arrows(&f, "fin", c, "shutdown(", "SHUT_WR", s, "read(", "= 0"), 1,
                 "the half-close -> the server's read = 0:\n%s", arrows);
    cr_expect_eq(count_arrows(&f, "fin", s, "close(", "", c, "read(", "= 0"), 1,
                 "the server's close -> the client's read = 0:\n%s", arrows);
    cr_expect_eq(f.narrows, 5, "exactly five arrows:\n%s", arrows);
    cr_expect_eq(f.nunpaired, 0, "an unpaired mark: %s", f.unpaired_calls[0]);
    /* The client's stdin reads are calls too, and no arrow comes to them. */
    cr_expect_eq(count_arrows(&f, "data", NULL, "", "", c, "read(0)", ""), 0);
    cr_expect_geq(f.nmarks, 21, "marks: %d", f.nmarks);
    run_result_free(&r);
}

Test(diagram, the_fork_session_gives_each_client_its_own_child)
{
    struct run_result r;
    struct facts f;
    session_svg("fork", &f, &r);
    const char *arrows = list_arrows(&f);

    /* Two clients, the parent, and a child per client forked by it. */
    cr_assert_eq(f.nlifelines, 5, "lifelines: %d", f.nlifelines);
    const char *parent = id_of(&f, "echo-server-fork");
    cr_assert_not_null(parent, "no single unforked echo-server-fork lifeline");
    int children = 0, clients = 0;
    for (int i = 0; i < f.nlifelines; i++) {
        const struct lifeline *l = &f.lifelines[i];
        if (strcmp(l->program, "echo-client") == 0)
            clients++;
        else if (strcmp(l->program, "echo-server-fork") == 0 &&
                 strcmp(l->forked_by, parent) == 0)
            children++;
    }
    cr_assert_eq(clients, 2);
    cr_assert_eq(children, 2);
    cr_expect_eq(count_arrows(&f, "fork", parent, "fork()", "(parent)", NULL, "fork() = 0", ""), 2,
                 "a fork arrow to each child:\n%s", arrows);

    /* Each client: connect -> the parent's accept; its line to a child
     * and back from the same child; each FIN between the two of them. */
    char seen[2][8] = {"", ""};
    int nseen = 0;
    for (int i = 0; i < f.nlifelines; i++) {
        const struct lifeline *c = &f.lifelines[i];
        if (strcmp(c->program, "echo-client") != 0)
            continue;
        cr_expect_eq(count_arrows(&f, "connect", c->id, "connect(", "", parent, "accept(", ""), 1,
                     "client %s: connect -> the parent's accept:\n%s", c->id, arrows);
        const struct arrow *out = NULL;
        for (int k = 0; k < f.narrows; k++)
            if (strcmp(f.arrows[k].kind, "data") == 0 &&
                strcmp(f.arrows[k].from, c->id) == 0)
                out = &f.arrows[k];
        cr_assert_not_null(out, "client %s sends no bytes:\n%s", c->id, arrows);
        const struct lifeline *child = lifeline(&f, out->to);
        cr_assert(child != NULL && strcmp(child->forked_by, parent) == 0,
                  "client %s's bytes go to %s, not to a child:\n%s", c->id,
                  out->to, arrows);
        cr_expect(out->bytes == 6 || out->bytes == 9, "bytes: %ld", out->bytes);
        cr_expect_eq(count_arrows(&f, "data", child->id, "write(", "", c->id, "read(3)", ""), 1,
                     "the echo comes back from %s to %s:\n%s", child->id, c->id, arrows);
        cr_expect_eq(count_arrows(&f, "fin", c->id, "shutdown(", "SHUT_WR", child->id, "read(", "= 0"), 1,
                     "%s's half-close reaches %s:\n%s", c->id, child->id, arrows);
        /* FIN comes from the child's close: the parent's copy was closed
         * first, and closing it sent nothing. */
        cr_expect_eq(count_arrows(&f, "fin", child->id, "close(", "", c->id, "read(", "= 0"), 1,
                     "%s's close ends %s's stream:\n%s", child->id, c->id, arrows);
        cr_expect_eq(count_arrows(&f, "fin", parent, "", "", c->id, "", ""), 0,
                     "the parent's close sent a FIN:\n%s", arrows);
        if (nseen < 2)
            snprintf(seen[nseen++], sizeof seen[0], "%s", child->id);
    }
    cr_expect_eq(nseen, 2);
    cr_expect_str_neq(seen[0], seen[1], "both clients went to one child");
    /* 2 connect + 2 fork + 4 data + 4 FIN. */
    cr_expect_eq(f.narrows, 12, "exactly twelve arrows:\n%s", arrows);
    cr_expect_eq(f.nunpaired, 0, "an unpaired mark: %s", f.unpaired_calls[0]);
    run_result_free(&r);
}

Test(diagram, the_libuv_session_pairs_the_libuv_steps_by_the_calls_they_made)
{
    char path[1024];
    if (!bin_exists("uv-echo-server") || !bin_exists("uv-echo-client"))
        cr_skip_test("the libuv programs are not built (libuv not found by "
                     "pkg-config): %s", bin_path("uv-echo-server", path, sizeof path));
    struct run_result r;
    struct facts f;
    session_svg("libuv", &f, &r);
    const char *arrows = list_arrows(&f);

    cr_assert_eq(f.nlifelines, 2, "lifelines: %d", f.nlifelines);
    const char *c = id_of(&f, "uv-echo-client");
    const char *s = id_of(&f, "uv-echo-server");
    cr_assert(c != NULL && s != NULL);
    /* The twin column says uv_tcp_connect made the connect(2) and libuv
     * accepted before on_new_connection ran. */
    cr_expect_eq(count_arrows(&f, "connect", c, "uv_tcp_connect(", "", s, "on_new_connection", ""), 1,
                 "\n%s", arrows);
    cr_expect_eq(count_arrows(&f, "data", c, "uv_write(sock", "", s, "echo_read(", "nread = 6"), 1,
                 "\n%s", arrows);
    cr_expect_eq(count_arrows(&f, "data", s, "uv_write(client", "", c, "on_read(", "nread = 6"), 1,
                 "\n%s", arrows);
    cr_expect_eq(count_arrows(&f, "fin", c, "on_shutdown(", "", s, "echo_read(", "UV_EOF"), 1,
                 "\n%s", arrows);
    cr_expect_eq(count_arrows(&f, "fin", s, "uv_close(client", "", c, "on_read(", "UV_EOF"), 1,
                 "\n%s", arrows);
    cr_expect_eq(f.narrows, 5, "exactly five arrows:\n%s", arrows);
    cr_expect_eq(f.nunpaired, 0, "an unpaired mark: %s", f.unpaired_calls[0]);
    run_result_free(&r);
}

Test(diagram, the_text_diagram_draws_the_same_arrows)
{
    struct run_result r;
    char how[64];
    run_diagram(&r, ARGS("--format", "text", "--session", "blocking"));
    cr_assert(exited_with(&r.exit, 0), "%s\n%s",
              describe_exit(&r.exit, how, sizeof how), r.err);
    const char *out = (const char *)r.out;
    char line[512];
    cr_expect_not_null(line_with(out, "A  echo-client ", line, sizeof line), "%s", out);
    cr_expect_not_null(line_with(out, "B  echo-server ", line, sizeof line), "%s", out);
    cr_expect_not_null(line_with(out, "accept(3) = 4", line, sizeof line));
    cr_expect(strstr(line, "|-->*") && strstr(line, "[connection from A]"), "%s", line);
    cr_expect_not_null(line_with(out, "[6 bytes from A]", line, sizeof line), "%s", out);
    cr_expect(strstr(line, "|-->* ") && strstr(line, " read(4) = 6"), "%s", line);
    cr_expect_not_null(line_with(out, "[6 bytes from B]", line, sizeof line), "%s", out);
    cr_expect(strstr(line, "*<--|") && strstr(line, " read(3) = 6"), "%s", line);
    cr_expect_not_null(line_with(out, "[FIN (shutdown) from A]", line, sizeof line), "%s", out);
    cr_expect(strstr(line, "|==>*") && strstr(line, " read(4) = 0"), "%s", line);
    cr_expect_not_null(line_with(out, "[FIN (last close) from B]", line, sizeof line), "%s", out);
    cr_expect(strstr(line, "*<==|") && strstr(line, " read(3) = 0"), "%s", line);
    /* The twin, after "~", as in the trace. */
    cr_expect_not_null(line_with(out, "listen(3, 128) = 0", line, sizeof line));
    cr_expect(strstr(line, "~ uv_listen") != NULL, "%s", line);
    cr_expect_null(strstr(out, "[unpaired:"), "%s", out);
    run_result_free(&r);
}

/* ---- traces written by hand -------------------------------------------------- */

/* Two trace files (no timestamps, as a learner's two terminals would give
 * them) drawn in the given format; out must be freed. */
static void draw_traces(const char *server_text, const char *client_text,
                        const char *format, struct run_result *r)
{
    char server[512], client[512], how[64];
    write_file("server.trace", server_text, server, sizeof server);
    if (client_text != NULL) {
        write_file("client.trace", client_text, client, sizeof client);
        run_diagram(r, ARGS("--format", format, server, client));
    } else {
        run_diagram(r, ARGS("--format", format, server));
    }
    cr_assert(exited_with(&r->exit, 0), "%s\n%s",
              describe_exit(&r->exit, how, sizeof how), r->err);
}

static const char server_walkthrough[] =
    "[echo-server 13425] socket(AF_INET, SOCK_STREAM, 0) = 3   ~ made in uv_tcp_bind (uv_tcp_init makes none)\n"
    "[echo-server 13425] bind(3, 127.0.0.1:7000) = 0           ~ uv_ip4_addr + uv_tcp_bind\n"
    "[echo-server 13425] listen(3, 128) = 0                    ~ uv_listen\n"
    "listening on 127.0.0.1:7000\n"
    "[echo-server 13425] accept(3) = 4  peer 127.0.0.1:38504   ~ on_new_connection -> uv_accept\n"
    "[echo-server 13425] read(4) = 6                           ~ echo_read, nread = 6\n"
    "[echo-server 13425] write(4, 6) = 6                       ~ uv_write\n"
    "[echo-server 13425] read(4) = 0  peer closed              ~ echo_read, nread = UV_EOF\n"
    "[echo-server 13425] close(4) = 0                          ~ uv_close\n";

static const char client_walkthrough[] =
    "[echo-client 13430] socket(AF_INET, SOCK_STREAM, 0) = 3   ~ made in uv_tcp_connect (uv_tcp_init makes none)\n"
    "[echo-client 13430] connect(3, 127.0.0.1:7000) = 0        ~ uv_tcp_connect + on_connect\n"
    "[echo-client 13430] read(0) = 6                           ~ uv_read_start(stdin) callback\n"
    "[echo-client 13430] write(3, 6) = 6                       ~ uv_write\n"
    "[echo-client 13430] read(3) = 6                           ~ on_read, nread = 6\n"
    "hello\n"
    "[echo-client 13430] read(0) = 0  end of input             ~ uv_read_start(stdin) callback\n"
    "[echo-client 13430] shutdown(3, SHUT_WR) = 0              ~ uv_shutdown\n"
    "[echo-client 13430] read(3) = 0  peer closed              ~ on_read, nread = UV_EOF\n"
    "[echo-client 13430] close(3) = 0                          ~ uv_close\n";

Test(diagram, two_terminals_without_timestamps_pair_by_address_and_bytes,
     .init = scratch_init, .fini = scratch_fini)
{
    struct run_result r;
    struct facts f;
    draw_traces(server_walkthrough, client_walkthrough, "svg", &r);
    const char *why = xml_problem((const char *)r.out);
    cr_assert_null(why, "%s", why);
    read_facts((const char *)r.out, &f);
    cr_expect_eq(f.nlifelines, 2);
    cr_expect_eq(f.nmarks, 17, "one mark per trace line, none for the others");
    cr_expect_eq(count_arrows(&f, "connect", "A", "connect(", "", "B", "accept(", ""), 1, "%s", list_arrows(&f));
    cr_expect_eq(f.narrows, 5, "%s", list_arrows(&f));
    cr_expect_eq(f.nunpaired, 0);
    run_result_free(&r);
}

Test(diagram, a_read_no_traced_write_explains_is_unpaired_not_an_arrow,
     .init = scratch_init, .fini = scratch_fini)
{
    /* The client wrote 6 bytes; the server read 6, then 4 more that no
     * trace line wrote. */
    static const char server[] =
        "[echo-server 100] getsockname(3) = 0  127.0.0.1:7000   ~ uv_tcp_getsockname\n"
        "[echo-server 100] accept(3) = 4  peer 127.0.0.1:5000   ~ on_new_connection -> uv_accept\n"
        "[echo-server 100] read(4) = 6                           ~ echo_read, nread = 6\n"
        "[echo-server 100] read(4) = 4                           ~ echo_read, nread = 4\n";
    static const char client[] =
        "[echo-client 200] connect(3, 127.0.0.1:7000) = 0       ~ uv_tcp_connect + on_connect\n"
        "[echo-client 200] write(3, 6) = 6                       ~ uv_write\n";
    struct run_result r;
    struct facts f;
    draw_traces(server, client, "svg", &r);
    const char *why = xml_problem((const char *)r.out);
    cr_assert_null(why, "%s", why);
    read_facts((const char *)r.out, &f);
    const char *arrows = list_arrows(&f);
    cr_expect_eq(count_arrows(&f, "data", "A", "write(3, 6)", "", "B", "read(4) = 6", ""), 1, "%s", arrows);
    cr_expect_eq(count_arrows(&f, "data", NULL, "", "", NULL, "read(4) = 4", ""), 0,
                 "an arrow was invented:\n%s", arrows);
    cr_expect_eq(f.narrows, 2, "connect and the 6 bytes only:\n%s", arrows);
    cr_expect_eq(f.nunpaired, 1);
    cr_expect(starts(f.unpaired_calls[0], "read(4) = 4"), "%s", f.unpaired_calls[0]);
    run_result_free(&r);

    /* The text diagram marks it too. */
    draw_traces(server, client, "text", &r);
    char line[512];
    cr_expect_not_null(line_with((const char *)r.out, "read(4) = 4", line, sizeof line));
    cr_expect(strstr(line, "?") && strstr(line, "[unpaired: no write") &&
              !strstr(line, "-->"), "%s", line);
    run_result_free(&r);
}

Test(diagram, a_server_trace_alone_has_no_arrows, .init = scratch_init,
     .fini = scratch_fini)
{
    struct run_result r;
    struct facts f;
    draw_traces(server_walkthrough, NULL, "svg", &r);
    read_facts((const char *)r.out, &f);
    cr_expect_eq(f.nlifelines, 1);
    cr_expect_eq(f.narrows, 0, "%s", list_arrows(&f));
    /* accept, read 6, write 6, read 0: each misses its other end. */
    cr_expect_eq(f.nunpaired, 4);
    run_result_free(&r);
}

Test(diagram, two_clients_the_traces_cannot_tell_apart_stay_unpaired,
     .init = scratch_init, .fini = scratch_fini)
{
    /* Two connects to one address, two accepts, the same bytes each way
     * and no timestamps: nothing says which is which. */
    static const char server[] =
        "[echo-server 100] getsockname(3) = 0  127.0.0.1:7000   ~ uv_tcp_getsockname\n"
        "[echo-server 100] accept(3) = 4  peer 127.0.0.1:5000   ~ on_new_connection -> uv_accept\n"
        "[echo-server 100] read(4) = 6                           ~ echo_read, nread = 6\n"
        "[echo-server 100] accept(3) = 5  peer 127.0.0.1:5002   ~ on_new_connection -> uv_accept\n"
        "[echo-server 100] read(5) = 6                           ~ echo_read, nread = 6\n";
    static const char clients[] =
        "[echo-client 200] connect(3, 127.0.0.1:7000) = 0       ~ uv_tcp_connect + on_connect\n"
        "[echo-client 200] write(3, 6) = 6                       ~ uv_write\n"
        "[echo-client 300] connect(3, 127.0.0.1:7000) = 0       ~ uv_tcp_connect + on_connect\n"
        "[echo-client 300] write(3, 6) = 6                       ~ uv_write\n";
    struct run_result r;
    struct facts f;
    draw_traces(server, clients, "svg", &r);
    read_facts((const char *)r.out, &f);
    cr_expect_eq(f.nlifelines, 3);
    cr_expect_eq(f.narrows, 0, "a guess:\n%s", list_arrows(&f));
    cr_expect_eq(f.nunpaired, 8);
    run_result_free(&r);

    /* One accept for two such connects: either could be its client (the
     * other's accept is not in the traces), so neither is joined to it. */
    static const char one_accept[] =
        "[echo-server 100] getsockname(3) = 0  127.0.0.1:7000   ~ uv_tcp_getsockname\n"
        "[echo-server 100] accept(3) = 4  peer 127.0.0.1:5000   ~ on_new_connection -> uv_accept\n"
        "[echo-server 100] read(4) = 6                           ~ echo_read, nread = 6\n";
    draw_traces(one_accept, clients, "svg", &r);
    read_facts((const char *)r.out, &f);
    cr_expect_eq(f.narrows, 0, "a guess:\n%s", list_arrows(&f));
    run_result_free(&r);

    /* The client's own address, when traced, settles it. */
    static const char clients_known[] =
        "[echo-client 200] connect(3, 127.0.0.1:7000) = 0       ~ uv_tcp_connect + on_connect\n"
        "[echo-client 200] getsockname(3) = 0  127.0.0.1:5002   ~ uv_tcp_getsockname\n"
        "[echo-client 200] write(3, 6) = 6                       ~ uv_write\n"
        "[echo-client 300] connect(3, 127.0.0.1:7000) = 0       ~ uv_tcp_connect + on_connect\n"
        "[echo-client 300] write(3, 6) = 6                       ~ uv_write\n";
    draw_traces(server, clients_known, "svg", &r);
    read_facts((const char *)r.out, &f);
    const char *arrows = list_arrows(&f);
    cr_expect_eq(count_arrows(&f, "connect", NULL, "connect(", "", NULL, "accept(3) = 5", ""), 1, "%s", arrows);
    cr_expect_eq(count_arrows(&f, "connect", NULL, "connect(", "", NULL, "accept(3) = 4", ""), 1, "%s", arrows);
    cr_expect_eq(count_arrows(&f, "data", NULL, "", "", NULL, "read(5) = 6", ""), 1, "%s", arrows);
    cr_expect_eq(f.nunpaired, 0);
    run_result_free(&r);
}

Test(diagram, a_reset_is_an_arrow_from_the_last_close_to_econnreset,
     .init = scratch_init, .fini = scratch_fini)
{
    static const char server[] =
        "[echo-server 100] getsockname(3) = 0  127.0.0.1:7000   ~ uv_tcp_getsockname\n"
        "[echo-server 100] accept(3) = 4  peer 127.0.0.1:5000   ~ on_new_connection -> uv_accept\n"
        "[echo-server 100] read(4) = -1 ECONNRESET (Connection reset by peer)  ~ echo_read, nread = UV_ECONNRESET\n"
        "[echo-server 100] close(4) = 0                          ~ uv_close\n";
    static const char client[] =
        "[echo-client 200] connect(3, 127.0.0.1:7000) = 0       ~ uv_tcp_connect + on_connect\n"
        "[echo-client 200] close(3) = 0                          ~ uv_close\n";
    struct run_result r;
    struct facts f;
    draw_traces(server, client, "svg", &r);
    read_facts((const char *)r.out, &f);
    cr_expect_eq(count_arrows(&f, "reset", "A", "close(3)", "", "B", "read(4) = -1 ECONNRESET", ""), 1,
                 "%s", list_arrows(&f));
    cr_expect_eq(f.narrows, 2, "%s", list_arrows(&f));
    run_result_free(&r);
}

Test(diagram, text_in_the_trace_is_escaped_in_the_svg, .init = scratch_init,
     .fini = scratch_fini)
{
    static const char trace_text[] =
        "[echo-server 100] note <b> & \"quoted\" 'too'  ~ a < b && c > d\n";
    struct run_result r;
    draw_traces(trace_text, NULL, "svg", &r);
    const char *why = xml_problem((const char *)r.out);
    cr_expect_null(why, "%s", why);
    cr_expect_not_null(strstr((const char *)r.out, "note &lt;b&gt; &amp; &quot;quoted&quot; &#39;too&#39;"));
    run_result_free(&r);
}

Test(diagram, bad_usage_and_bad_input_have_their_exit_codes,
     .init = scratch_init, .fini = scratch_fini)
{
    struct run_result r;
    char empty[512], missing[512];
    const struct {
        const char *const *args;
        int code;
        const char *says;
    } cases[] = {
        {ARGS("--format", "pdf"), 64, "format 'pdf': expected svg or text"},
        {ARGS("--session", "threads"), 64, "session 'threads': expected blocking, fork or libuv"},
        {ARGS("--width", "12"), 64, "width '12'"},
        {ARGS("--out"), 64, "--out needs a value"},
        {ARGS("--bogus"), 64, "unknown option '--bogus'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_diagram(&r, cases[i].args);
        cr_expect(exited_with(&r.exit, cases[i].code), "case %zu: exit %d, not %d",
                  i, r.exit.code, cases[i].code);
        cr_expect_not_null(strstr(r.err, cases[i].says), "case %zu: '%s'", i, r.err);
        cr_expect_eq(count_lines(r.err), 1, "case %zu: not one line: '%s'", i, r.err);
        run_result_free(&r);
    }
    write_file("empty.trace", "listening on 127.0.0.1:7000\nhello\n", empty, sizeof empty);
    run_diagram(&r, ARGS(empty));
    cr_expect(exited_with(&r.exit, 65), "no trace lines: exit %d", r.exit.code);
    cr_expect_not_null(strstr(r.err, "no trace lines"), "%s", r.err);
    run_result_free(&r);
    snprintf(missing, sizeof missing, "%s/nothing-here.trace", scratch);
    run_diagram(&r, ARGS(missing));
    cr_expect(exited_with(&r.exit, 66), "missing file: exit %d", r.exit.code);
    cr_expect_not_null(strstr(r.err, "nothing-here.trace"), "%s", r.err);
    run_result_free(&r);
    run_diagram(&r, ARGS("--session", "fork", empty));
    cr_expect(exited_with(&r.exit, 64), "session and files: exit %d", r.exit.code);
    run_result_free(&r);
}

/* ---- SOCKLAB_TRACE_TIME -------------------------------------------------------- */

/* The seconds at the start of line ("12345.678901 [..."), or -1 when the
 * line does not start with a timestamp of that shape. */
static double stamp_of(const char *line)
{
    const char *p = line;
    while (isdigit((unsigned char)*p))
        p++;
    if (p == line || *p != '.')
        return -1;
    for (int i = 1; i <= 6; i++)
        if (!isdigit((unsigned char)p[i]))
            return -1;
    if (strncmp(p + 7, " [", 2) != 0)
        return -1;
    return atof(line);
}

static double monotonic_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

Test(trace_time, off_by_default_and_for_0_or_empty)
{
    static const char *const values[] = {NULL, "0", ""};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        if (values[i] == NULL)
            unsetenv("SOCKLAB_TRACE_TIME");
        else
            setenv("SOCKLAB_TRACE_TIME", values[i], 1);
        trace_init("tname", 1);
        cr_assert_eq(capture_begin(2), 0, "%s", harness_error());
        trace(3, NULL, "uv_listen", "listen(%d, %d)", 3, 128);
        const char *out = capture_end();
        cr_expect(starts(out, "[tname "), "value %s: '%s'",
                  values[i] ? values[i] : "(unset)", out);
    }
}

Test(trace_time, on_each_line_starts_with_the_monotonic_time)
{
    setenv("SOCKLAB_TRACE_TIME", "1", 1);
    trace_init("tname", 1);
    double before = monotonic_now();
    cr_assert_eq(capture_begin(2), 0, "%s", harness_error());
    trace(3, NULL, "uv_listen", "listen(%d, %d)", 3, 128);
    trace_note("a note");
    trace_step("uv_close", "uv_close(%s)", "server");
    const char *out = capture_end();
    double after = monotonic_now();

    cr_expect_eq(count_lines(out), 3, "'%s'", out);
    char want[64];
    snprintf(want, sizeof want, " [tname %ld] ", (long)getpid());
    double last = 0;
    for (const char *p = out; *p != '\0';) {
        double t = stamp_of(p);
        cr_expect_geq(t, 0, "no timestamp: '%.80s'", p);
        /* Six decimals are microseconds: allow for the rounding down. */
        cr_expect(t >= before - 1e-6 && t <= after + 1e-6,
                  "%f not between %f and %f", t, before, after);
        cr_expect_geq(t, last, "time went back");
        last = t;
        const char *bracket = strchr(p, '[');
        cr_expect(bracket != NULL && strncmp(bracket - 1, want, strlen(want)) == 0,
                  "'%.80s'", p);
        /* The libuv column counts from "[": it lines up as without. */
        const char *nl = strchr(p, '\n');
        const char *tilde = strstr(p, "  ~ ");
        if (tilde != NULL && tilde < nl)
            cr_expect_geq(tilde - bracket, 56, "'~' at %td", tilde - bracket);
        p = nl ? nl + 1 : p + strlen(p);
    }
}

Test(trace_time, a_value_other_than_1_or_0_is_a_usage_error)
{
    setenv("SOCKLAB_TRACE_TIME", "yes", 1);
    const char *args[] = {"-v", "127.0.0.1", "1", NULL};
    struct run_result r;
    cr_assert_eq(run_program("echo-client", args, "", 0, 10000, &r), 0, "%s",
                 harness_error());
    cr_expect(exited_with(&r.exit, 64), "exit %d", r.exit.code);
    cr_expect_eq(count_lines(r.err), 1, "'%s'", r.err);
    cr_expect_not_null(strstr(r.err, "echo-client: SOCKLAB_TRACE_TIME=yes: expected 1"),
                       "'%s'", r.err);
    run_result_free(&r);
}

/* Every trace line in text starts with a timestamp, and they never go
 * back; returns how many trace lines there were. */
static int expect_all_stamped(const char *who, const char *text)
{
    int n = 0;
    double last = 0;
    for (const char *p = text; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        /* Messages ("echo-client: connect ...") start with the program's
         * name; trace lines with "[" or, stamped, a digit. */
        if (p[0] == '[' || isdigit((unsigned char)p[0])) {
            double t = stamp_of(p);
            cr_expect_geq(t, 0, "%s: a trace line without a timestamp: '%.*s'",
                          who, (int)len, p);
            cr_expect_geq(t, last, "%s: time went back at '%.*s'", who, (int)len, p);
            if (t >= 0)
                last = t;
            n++;
        }
        p = nl ? nl + 1 : p + len;
    }
    return n;
}

Test(trace_time, every_program_stamps_its_trace)
{
    static const char *const servers[] = {"echo-server", "echo-server-fork",
                                          "echo-server-thread",
                                          "echo-server-poll",
                                          "echo-server-epoll",
                                          "udp-echo-server", "uv-echo-server"};
    setenv("SOCKLAB_TRACE_TIME", "1", 1);
    for (size_t i = 0; i < sizeof servers / sizeof servers[0]; i++) {
        if (!bin_exists(servers[i]))
            continue;  /* the libuv one without libuv */
        struct server srv;
        const char *args[] = {"-v", NULL};
        cr_assert_eq(server_start(&srv, servers[i], args, NULL), 0, "%s: %s",
                     servers[i], harness_error());
        cr_expect_eq(server_stop_clean(&srv), 0, "%s: %s", servers[i], harness_error());
        cr_expect_gt(expect_all_stamped(servers[i], srv.err_text), 3,
                     "%s traced too little: '%s'", servers[i], srv.err_text);
        server_release(&srv);
    }
    /* Clients, against a port where nobody listens: their lines up to the
     * refused connect. */
    static const char *const clients[] = {"echo-client", "uv-echo-client"};
    uint16_t port;
    cr_assert_eq(free_port("127.0.0.1", &port), 0);
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%u", (unsigned)port);
    for (size_t i = 0; i < sizeof clients / sizeof clients[0]; i++) {
        if (!bin_exists(clients[i]))
            continue;
        const char *args[] = {"-v", "127.0.0.1", port_text, NULL};
        struct run_result r;
        cr_assert_eq(run_program(clients[i], args, "", 0, 10000, &r), 0);
        cr_expect_gt(expect_all_stamped(clients[i], r.err), 0, "%s: '%s'",
                     clients[i], r.err);
        run_result_free(&r);
    }
}

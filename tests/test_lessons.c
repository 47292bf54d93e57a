/* test_lessons.c - the lessons never drift from the code they quote.
 *
 * A lesson quotes code through a marker line, followed at once by a fenced
 * block that must hold exactly the lines of a region of a source file:
 *
 *     <!-- quote: server/echo_server.c#accept-loop -->
 *     ```c
 *     ...the lines between the region's two markers...
 *     ```
 *
 * The source marks the region with two comment lines of their own (shown
 * here as // lines, since a C comment cannot contain another):
 */
//     /* region: accept-loop */
//     ...
//     /* endregion: accept-loop */
/*
 * Region markers nested inside a region are not part of its text. Markers
 * inside other fenced blocks are examples, not quotes. tests/scripts/quotes.sh
 * applies the same rules from the shell (and can rewrite drifted blocks); keep
 * the two in step.
 *
 * Also checked: every region in the program sources is closed and named once
 * per file; lessons/README.md links every lessons/NN-*.md, and every local
 * link in the lessons points at a file that exists. The checker is tested on
 * small examples first, so a broken checker cannot pass vacuously.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SOCKLAB_ROOT
#error "SOCKLAB_ROOT must name the checkout (the Makefile defines it)"
#endif

/* The real lessons quote at least this many regions; fewer means the
 * checker found nothing to check, or the lessons lost their quotes. */
#define MIN_REAL_QUOTES 15

#define PATH_SIZE 4096
#define NAME_SIZE 128
#define MAX_REGIONS 256

/* ---- problems, collected so one run lists all of them ------------------- */

struct report {
    char text[32768];
    size_t used;
    int problems;
};

static void complain(struct report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void complain(struct report *r, const char *fmt, ...)
{
    va_list ap;
    size_t room = sizeof r->text - r->used;

    r->problems++;
    if (room < 2)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(r->text + r->used, room - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    r->used += (size_t)n < room - 1 ? (size_t)n : room - 2;
    r->text[r->used++] = '\n';
    r->text[r->used] = '\0';
}

/* ---- files as arrays of lines ------------------------------------------- */

/* out = a/b; a path that does not fit fails the test rather than being cut. */
static void path_join(char *out, size_t size, const char *a, const char *b)
{
    int n = snprintf(out, size, "%s/%s", a, b);
    cr_assert(n >= 0 && (size_t)n < size, "path too long: %s/%s", a, b);
}

struct text {
    char *data;    /* the file, each '\n' replaced by '\0' */
    char **lines;
    size_t count;
};

/* Split data (malloc'd, NUL-terminated; ownership moves to t) into lines. A
 * final newline ends the last line rather than starting an empty one. */
static void text_split(struct text *t, char *data)
{
    size_t n = 0, len = strlen(data);

    for (size_t i = 0; i < len; i++)
        if (data[i] == '\n')
            n++;
    if (len > 0 && data[len - 1] != '\n')
        n++;
    t->data = data;
    t->count = 0;
    t->lines = malloc((n + 1) * sizeof *t->lines);
    cr_assert_not_null(t->lines, "out of memory");
    char *p = data;
    while (t->count < n) {
        char *nl = strchr(p, '\n');
        t->lines[t->count++] = p;
        if (nl == NULL)
            break;
        *nl = '\0';
        p = nl + 1;
    }
}

/* A whole file as a NUL-terminated string to free, or NULL with errno set. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *data = malloc(cap);
    cr_assert_not_null(data, "out of memory");
    for (;;) {
        if (cap - len < 2) {
            cap *= 2;
            data = realloc(data, cap);
            cr_assert_not_null(data, "out of memory");
        }
        size_t got = fread(data + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(data);
        errno = EIO;
        return NULL;
    }
    data[len] = '\0';
    return data;
}

/* Read a file as lines. Returns 0, or -1 with errno set. */
static int text_load(struct text *t, const char *path)
{
    char *data = slurp(path);
    if (data == NULL)
        return -1;
    text_split(t, data);
    return 0;
}

static void text_free(struct text *t)
{
    free(t->lines);
    free(t->data);
    t->lines = NULL;
    t->data = NULL;
    t->count = 0;
}

/* ---- region markers in the sources -------------------------------------- */

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* Copy the blank-trimmed [from, to) into out; 0, or -1 if it does not fit. */
static int trimmed(const char *from, const char *to, char *out, size_t size)
{
    while (from < to && is_blank(*from))
        from++;
    while (to > from && is_blank(to[-1]))
        to--;
    if ((size_t)(to - from) >= size)
        return -1;
    memcpy(out, from, (size_t)(to - from));
    out[to - from] = '\0';
    return 0;
}

enum marker { NOT_A_MARKER, REGION_OPEN, REGION_CLOSE };

/* Is line a whole-line marker, region: NAME or endregion: NAME inside a C
 * comment? Fills name when it is. */
static enum marker region_marker(const char *line, char *name, size_t size)
{
    char t[512];
    enum marker kind;
    const char *rest;

    if (trimmed(line, line + strlen(line), t, sizeof t) < 0)
        return NOT_A_MARKER;
    size_t len = strlen(t);
    if (len < 4 || strncmp(t, "/*", 2) != 0 || strcmp(t + len - 2, "*/") != 0)
        return NOT_A_MARKER;
    t[len - 2] = '\0';
    rest = t + 2;
    while (is_blank(*rest))
        rest++;
    if (strncmp(rest, "region:", 7) == 0) {
        kind = REGION_OPEN;
        rest += 7;
    } else if (strncmp(rest, "endregion:", 10) == 0) {
        kind = REGION_CLOSE;
        rest += 10;
    } else {
        return NOT_A_MARKER;
    }
    if (trimmed(rest, rest + strlen(rest), name, size) < 0 || *name == '\0')
        return NOT_A_MARKER;
    for (const char *p = name; *p != '\0'; p++)
        if (!is_name_char(*p))
            return NOT_A_MARKER;
    return kind;
}

/* The lines of one region, as indexes into the source's lines. */
struct region {
    size_t *at;
    size_t count;
    int found;
};

/* Check every marker in src (named path in messages): each region opened
 * once, closed, and no endregion without its region. When want is not NULL,
 * collect that region's lines (nested markers left out) into *out. Returns
 * the number of problems added to r. */
static int scan_regions(const struct text *src, const char *path,
                        const char *want, struct region *out, struct report *r)
{
    struct {
        char name[NAME_SIZE];
        size_t line;
        int open;
    } seen[MAX_REGIONS];
    size_t nseen = 0;
    int before = r->problems;
    int inside = 0;
    char name[NAME_SIZE];

    if (out != NULL) {
        out->at = malloc((src->count + 1) * sizeof *out->at);
        cr_assert_not_null(out->at, "out of memory");
        out->count = 0;
        out->found = 0;
    }
    for (size_t i = 0; i < src->count; i++) {
        enum marker kind = region_marker(src->lines[i], name, sizeof name);
        if (kind == NOT_A_MARKER) {
            if (inside && out != NULL)
                out->at[out->count++] = i;
            continue;
        }
        size_t k = 0;
        while (k < nseen && strcmp(seen[k].name, name) != 0)
            k++;
        if (kind == REGION_OPEN) {
            if (k < nseen) {
                complain(r, "%s:%zu: region \"%s\" opened again (first at "
                         "line %zu); names must be unique in a file",
                         path, i + 1, name, seen[k].line);
            } else if (nseen == MAX_REGIONS) {
                complain(r, "%s:%zu: more than %d regions; raise MAX_REGIONS "
                         "in tests/test_lessons.c", path, i + 1, MAX_REGIONS);
                break;
            } else {
                snprintf(seen[k].name, sizeof seen[k].name, "%s", name);
                seen[k].line = i + 1;
                nseen++;
            }
            seen[k].open = 1;
            if (want != NULL && strcmp(name, want) == 0) {
                inside = 1;
                if (out != NULL)
                    out->found = 1;
            }
        } else {
            if (k == nseen || !seen[k].open)
                complain(r, "%s:%zu: endregion \"%s\" has no open region of "
                         "that name", path, i + 1, name);
            else
                seen[k].open = 0;
            if (want != NULL && strcmp(name, want) == 0)
                inside = 0;
        }
    }
    for (size_t k = 0; k < nseen; k++)
        if (seen[k].open)
            complain(r, "%s:%zu: region \"%s\" is never closed (add an "
                     "endregion: %s marker)", path, seen[k].line,
                     seen[k].name, seen[k].name);
    return r->problems - before;
}

/* ---- quote markers and code fences in the lessons ----------------------- */

/* 1 for a well-formed quote marker (file and name filled), -1 for a line
 * that starts like one but is malformed, 0 for any other line. */
static int quote_marker(const char *line, char *file, size_t fsize,
                        char *name, size_t nsize)
{
    char t[1024];
    const char *p, *hash, *end;

    if (trimmed(line, line + strlen(line), t, sizeof t) < 0)
        return strstr(line, "<!--") != NULL && strstr(line, "quote:") ? -1 : 0;
    if (strncmp(t, "<!--", 4) != 0)
        return 0;
    p = t + 4;
    while (is_blank(*p))
        p++;
    if (strncmp(p, "quote:", 6) != 0)
        return 0;
    p += 6;
    while (is_blank(*p))
        p++;
    size_t len = strlen(t);
    if (len < 7 || strcmp(t + len - 3, "-->") != 0)
        return -1;
    end = t + len - 3;
    while (end > p && is_blank(end[-1]))
        end--;
    hash = memchr(p, '#', (size_t)(end - p));
    if (hash == NULL || hash == p || hash + 1 == end)
        return -1;
    for (const char *c = p; c < hash; c++)
        if (!is_name_char(*c) && *c != '/')
            return -1;
    for (const char *c = hash + 1; c < end; c++)
        if (!is_name_char(*c))
            return -1;
    if ((size_t)(hash - p) >= fsize || (size_t)(end - hash - 1) >= nsize)
        return -1;
    memcpy(file, p, (size_t)(hash - p));
    file[hash - p] = '\0';
    memcpy(name, hash + 1, (size_t)(end - hash - 1));
    name[end - hash - 1] = '\0';
    return 1;
}

struct fence {
    char c;      /* '`' or '~' */
    size_t len;  /* how many of them opened the block */
};

/* An opening fence: up to three spaces, then three or more backticks or
 * tildes (no backtick may follow a backtick fence). */
static int fence_open(const char *line, struct fence *f)
{
    size_t i = 0, n = 0;

    while (i < 3 && line[i] == ' ')
        i++;
    char c = line[i];
    if (c != '`' && c != '~')
        return 0;
    while (line[i + n] == c)
        n++;
    if (n < 3)
        return 0;
    if (c == '`' && strchr(line + i + n, '`') != NULL)
        return 0;
    f->c = c;
    f->len = n;
    return 1;
}

/* The line that closes f: the same character, at least as many, nothing
 * after but blanks. */
static int fence_close(const char *line, const struct fence *f)
{
    size_t i = 0, n = 0;

    while (i < 3 && line[i] == ' ')
        i++;
    while (line[i + n] == f->c)
        n++;
    if (n < f->len)
        return 0;
    for (const char *p = line + i + n; *p != '\0'; p++)
        if (!is_blank(*p))
            return 0;
    return 1;
}

/* A path a marker may name: relative, inside the project. */
static int safe_path(const char *path)
{
    if (path[0] == '/')
        return 0;
    for (const char *p = path; *p != '\0'; p++) {
        int at_start = p == path || p[-1] == '/';
        if (at_start && p[0] == '.' && p[1] == '.' &&
            (p[2] == '/' || p[2] == '\0'))
            return 0;
    }
    return 1;
}

/* Compare one quoted block (lesson lines [first, first + n)) with its
 * region. lesson is the lesson's path for messages, mline its marker line. */
static void compare_quote(const char *root, const char *lesson,
                          const struct text *md, size_t mline, size_t first,
                          size_t n, const char *file, const char *name,
                          struct report *r)
{
    char path[PATH_SIZE];
    struct text src;
    struct region reg;
    struct report local = {.used = 0, .problems = 0};

    if (!safe_path(file)) {
        complain(r, "%s:%zu: quote %s#%s: the path must be relative to the "
                 "project root, without ..", lesson, mline, file, name);
        return;
    }
    path_join(path, sizeof path, root, file);
    if (text_load(&src, path) < 0) {
        complain(r, "%s:%zu: quote %s#%s: cannot read %s: %s", lesson, mline,
                 file, name, file, strerror(errno));
        return;
    }
    if (scan_regions(&src, file, name, &reg, &local) > 0) {
        complain(r, "%s:%zu: quote %s#%s: bad region markers in the source:"
                 "\n%s", lesson, mline, file, name, local.text);
    } else if (!reg.found) {
        complain(r, "%s:%zu: quote %s#%s: there is no region \"%s\" in %s",
                 lesson, mline, file, name, name, file);
    } else {
        size_t most = n > reg.count ? n : reg.count;
        for (size_t i = 0; i < most; i++) {
            const char *want = i < reg.count ? src.lines[reg.at[i]] : NULL;
            const char *got = i < n ? md->lines[first + i] : NULL;
            if (want != NULL && got != NULL && strcmp(want, got) == 0)
                continue;
            char wline[24] = "", gline[24] = "";
            if (want != NULL)
                snprintf(wline, sizeof wline, ":%zu", reg.at[i] + 1);
            if (got != NULL)
                snprintf(gline, sizeof gline, ":%zu", first + i + 1);
            complain(r, "%s:%zu: quote %s#%s has drifted from the source: "
                     "first difference at line %zu of the block\n"
                     "    source %s%s: %s\n    lesson %s%s: %s\n"
                     "    (sh tests/scripts/quotes.sh --update copies the "
                     "source in)", lesson, mline, file, name, i + 1, file,
                     wline, want != NULL ? want : "(the region has ended)",
                     lesson, gline,
                     got != NULL ? got : "(the block has ended)");
            break;
        }
    }
    free(reg.at);
    text_free(&src);
}

/* Check every quote in the lesson at root/lesson. Returns the number of
 * quotes compared; problems go to r. */
static int check_lesson(const char *root, const char *lesson, struct report *r)
{
    char path[PATH_SIZE], file[PATH_SIZE], name[NAME_SIZE];
    struct text md;
    struct fence f;
    int quotes = 0;

    path_join(path, sizeof path, root, lesson);
    if (text_load(&md, path) < 0) {
        complain(r, "cannot read %s: %s", lesson, strerror(errno));
        return 0;
    }
    for (size_t i = 0; i < md.count; i++) {
        const char *line = md.lines[i];
        int q = quote_marker(line, file, sizeof file, name, sizeof name);
        if (q < 0) {
            complain(r, "%s:%zu: malformed quote marker; the form is "
                     "<!-- quote: path/to/file.c#region-name -->", lesson,
                     i + 1);
            continue;
        }
        if (q == 0) {
            if (!fence_open(line, &f))
                continue;
            /* An ordinary block: skip to its end, markers inside it are
             * examples. */
            size_t open_line = i;
            while (++i < md.count && !fence_close(md.lines[i], &f))
                ;
            if (i == md.count)
                complain(r, "%s:%zu: this code block is never closed", lesson,
                         open_line + 1);
            continue;
        }
        size_t mline = i + 1;
        if (i + 1 >= md.count || !fence_open(md.lines[i + 1], &f)) {
            complain(r, "%s:%zu: quote %s#%s must be followed at once by a "
                     "fenced code block (```c)", lesson, mline, file, name);
            continue;
        }
        size_t first = i + 2, end = first;
        while (end < md.count && !fence_close(md.lines[end], &f))
            end++;
        if (end == md.count) {
            complain(r, "%s:%zu: the code block quoting %s#%s is never "
                     "closed", lesson, mline + 1, file, name);
            break;
        }
        quotes++;
        compare_quote(root, lesson, &md, mline, first, end - first, file,
                      name, r);
        i = end;
    }
    text_free(&md);
    return quotes;
}

/* ---- directories -------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir that end with suffix, sorted; NULL-terminated, free
 * with free_names. A missing directory gives an empty list. */
static char **list_dir(const char *dir, const char *suffix)
{
    size_t n = 0, cap = 16, slen = strlen(suffix);
    char **names = malloc(cap * sizeof *names);
    cr_assert_not_null(names, "out of memory");
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len < slen || strcmp(e->d_name + len - slen, suffix) != 0)
                continue;
            if (n + 1 >= cap) {
                cap *= 2;
                names = realloc(names, cap * sizeof *names);
                cr_assert_not_null(names, "out of memory");
            }
            names[n] = strdup(e->d_name);
            cr_assert_not_null(names[n], "out of memory");
            n++;
        }
        closedir(d);
    }
    qsort(names, n, sizeof *names, by_name);
    names[n] = NULL;
    return names;
}

static void free_names(char **names)
{
    for (char **p = names; *p != NULL; p++)
        free(*p);
    free(names);
}

/* Check every .md file in root/lessons. Returns the quotes compared. */
static int check_all_lessons(const char *root, int *lessons, struct report *r)
{
    char dir[PATH_SIZE], rel[PATH_SIZE];
    int quotes = 0;

    path_join(dir, sizeof dir, root, "lessons");
    char **names = list_dir(dir, ".md");
    *lessons = 0;
    for (char **p = names; *p != NULL; p++) {
        path_join(rel, sizeof rel, "lessons", *p);
        quotes += check_lesson(root, rel, r);
        (*lessons)++;
    }
    free_names(names);
    return quotes;
}

/* Check the region markers of every .c and .h file in the given
 * directories under root. Returns the number of regions seen. */
static int check_source_regions(const char *root, const char *const *dirs,
                                struct report *r)
{
    static const char *const suffixes[] = {".c", ".h"};
    char dir[PATH_SIZE], rel[PATH_SIZE], path[PATH_SIZE], name[NAME_SIZE];
    int regions = 0;

    for (const char *const *d = dirs; *d != NULL; d++) {
        path_join(dir, sizeof dir, root, *d);
        for (size_t s = 0; s < sizeof suffixes / sizeof suffixes[0]; s++) {
            char **names = list_dir(dir, suffixes[s]);
            for (char **p = names; *p != NULL; p++) {
                struct text src;
                path_join(rel, sizeof rel, *d, *p);
                path_join(path, sizeof path, root, rel);
                if (text_load(&src, path) < 0) {
                    complain(r, "cannot read %s: %s", rel, strerror(errno));
                    continue;
                }
                scan_regions(&src, rel, NULL, NULL, r);
                for (size_t i = 0; i < src.count; i++)
                    if (region_marker(src.lines[i], name, sizeof name) ==
                        REGION_OPEN)
                        regions++;
                text_free(&src);
            }
            free_names(names);
        }
    }
    return regions;
}

/* ---- the index: lessons/README.md --------------------------------------- */

/* lessons/NN-something.md */
static int is_lesson_name(const char *name)
{
    size_t len = strlen(name);
    return len > 6 && name[0] >= '0' && name[0] <= '9' && name[1] >= '0' &&
           name[1] <= '9' && name[2] == '-' &&
           strcmp(name + len - 3, ".md") == 0;
}

/* Copy the local part of a link target (no "#fragment", no leading "./")
 * into out. Returns 0 for a local file, -1 for a URL, a fragment alone or
 * anything too long. */
static int local_target(const char *from, size_t len, char *out, size_t size)
{
    if (len >= size)
        return -1;
    memcpy(out, from, len);
    out[len] = '\0';
    char *hash = strchr(out, '#');
    if (hash != NULL)
        *hash = '\0';
    if (strstr(out, "://") != NULL || strncmp(out, "mailto:", 7) == 0)
        return -1;
    while (strncmp(out, "./", 2) == 0)
        memmove(out, out + 2, strlen(out + 2) + 1);
    return *out == '\0' ? -1 : 0;
}

struct links {
    char target[64][PATH_SIZE / 16];
    size_t line[64];
    size_t count;
};

/* Collect the local link targets of an index: inline links [text](target)
 * and reference definitions [label]: target, outside code blocks. */
static void collect_links(const struct text *md, const char *where,
                          struct links *links, struct report *r)
{
    struct fence f;
    char target[PATH_SIZE / 16];

    links->count = 0;
    for (size_t i = 0; i < md->count; i++) {
        const char *line = md->lines[i];
        if (fence_open(line, &f)) {
            while (++i < md->count && !fence_close(md->lines[i], &f))
                ;
            continue;
        }
        const char *p = line;
        while (is_blank(*p))
            p++;
        const char *close = p[0] == '[' ? strstr(p, "]:") : NULL;
        if (close != NULL) {
            /* [label]: target */
            const char *t = close + 2;
            while (is_blank(*t))
                t++;
            size_t len = strcspn(t, " \t\r");
            if (local_target(t, len, target, sizeof target) == 0 &&
                links->count < 64) {
                snprintf(links->target[links->count], sizeof target, "%s",
                         target);
                links->line[links->count++] = i + 1;
            }
            continue;
        }
        for (const char *s = strstr(line, "]("); s != NULL;
             s = strstr(s + 2, "](")) {
            const char *t = s + 2;
            size_t len = strcspn(t, ") \t");
            if (local_target(t, len, target, sizeof target) < 0)
                continue;
            if (links->count == 64) {
                complain(r, "%s: more than 64 local links; raise the limit "
                         "in tests/test_lessons.c", where);
                return;
            }
            snprintf(links->target[links->count], sizeof target, "%s", target);
            links->line[links->count++] = i + 1;
        }
    }
}

/* Every local link in root/lessons/NAME must point at an existing file;
 * the links are left in *links. */
static void check_links(const char *root, const char *name,
                        struct links *links, struct report *r)
{
    char dir[PATH_SIZE], path[PATH_SIZE], where[PATH_SIZE];
    struct text md;

    links->count = 0;
    path_join(dir, sizeof dir, root, "lessons");
    path_join(path, sizeof path, dir, name);
    path_join(where, sizeof where, "lessons", name);
    if (text_load(&md, path) < 0) {
        complain(r, "cannot read %s: %s", where, strerror(errno));
        return;
    }
    collect_links(&md, where, links, r);
    text_free(&md);
    for (size_t k = 0; k < links->count; k++) {
        struct stat st;
        path_join(path, sizeof path, dir, links->target[k]);
        if (stat(path, &st) < 0)
            complain(r, "%s:%zu: links to \"%s\", but lessons/%s does not "
                     "exist (name it as coming instead of linking it)", where,
                     links->line[k], links->target[k], links->target[k]);
    }
}

/* lessons/README.md under root links every lesson file, and every local
 * link in the index and in the lessons points at a file that exists.
 * Returns the number of lesson files found. */
static int check_index(const char *root, struct report *r)
{
    char dir[PATH_SIZE];
    static struct links index, other;
    int lessons = 0;

    path_join(dir, sizeof dir, root, "lessons");
    check_links(root, "README.md", &index, r);

    char **names = list_dir(dir, ".md");
    for (char **p = names; *p != NULL; p++) {
        if (strcmp(*p, "README.md") != 0)
            check_links(root, *p, &other, r);
        if (!is_lesson_name(*p))
            continue;
        lessons++;
        size_t k = 0;
        while (k < index.count && strcmp(index.target[k], *p) != 0)
            k++;
        if (k == index.count)
            complain(r, "lessons/%s is not linked from lessons/README.md "
                     "(turn its \"coming\" entry into a link: [title](%s))",
                     *p, *p);
    }
    free_names(names);
    return lessons;
}

/* ---- scratch trees for testing the checker itself ----------------------- */

static char scratch[PATH_SIZE];

/* Create root/rel (and its directories) holding content. */
static void put_file(const char *root, const char *rel, const char *content)
{
    char path[PATH_SIZE];

    path_join(path, sizeof path, root, rel);
    for (char *slash = strchr(path + strlen(root) + 1, '/'); slash != NULL;
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

static void make_scratch(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/socklab-lessons-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(scratch), "mkdtemp: %s", strerror(errno));
}

static void remove_tree(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d != NULL) {
            struct dirent *e;
            char child[PATH_SIZE];
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 ||
                    strcmp(e->d_name, "..") == 0)
                    continue;
                path_join(child, sizeof child, path, e->d_name);
                remove_tree(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* Runs after each scratch test, even one that failed an assertion. */
static void drop_scratch(void)
{
    if (scratch[0] != '\0')
        remove_tree(scratch);
    scratch[0] = '\0';
}

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

/* ---- running quotes.sh -------------------------------------------------- */

/* Run "sh ROOT/tests/scripts/quotes.sh ARG", its stdout and stderr into out.
 * Returns its exit status, or -1 if it did not exit normally. */
static int run_quotes(const char *root, const char *arg, char *out,
                      size_t size)
{
    char script[PATH_SIZE];
    int fds[2];

    path_join(script, sizeof script, root, "tests/scripts/quotes.sh");
    cr_assert(pipe(fds) == 0, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        execlp("sh", "sh", script, arg, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    /* Read to end of output (the test's timeout bounds this), keeping what
     * fits. */
    size_t used = 0;
    char sink[512];
    for (;;) {
        char *to = used + 1 < size ? out + used : sink;
        size_t room = used + 1 < size ? size - used - 1 : sizeof sink;
        ssize_t n = read(fds[0], to, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (to != sink)
            used += (size_t)n;
    }
    out[used] = '\0';
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        cr_assert(errno == EINTR, "waitpid: %s", strerror(errno));
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- the checker, on small examples ------------------------------------- */

Test(lessons, checker_accepts_a_matching_quote, .fini = drop_scratch)
{
    struct report r = {.used = 0, .problems = 0};

    make_scratch();
    put_file(scratch, "src/a.c", sample_source);
    put_file(scratch, "lessons/01-demo.md",
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
    int quotes = check_lesson(scratch, "lessons/01-demo.md", &r);
    cr_expect_eq(quotes, 2, "expected 2 quotes checked, got %d", quotes);
    cr_expect_eq(r.problems, 0, "a matching quote was refused:\n%s", r.text);
}

Test(lessons, checker_reports_the_first_drifted_line, .fini = drop_scratch)
{
    struct report r = {.used = 0, .problems = 0};

    make_scratch();
    put_file(scratch, "src/a.c", sample_source);
    put_file(scratch, "lessons/01-demo.md",
             "# Demo\n"
             "<!-- quote: src/a.c#part -->\n"
             "```c\n"
             "int f(void)\n"
             "{\n"
             "    return 2;\n"
             "}\n"
             "```\n");
    int quotes = check_lesson(scratch, "lessons/01-demo.md", &r);
    cr_expect_eq(quotes, 1);
    cr_assert_eq(r.problems, 1, "expected one drift report, got:\n%s", r.text);
    cr_expect_not_null(strstr(r.text, "lessons/01-demo.md:2:"),
                       "names the lesson and marker line: %s", r.text);
    cr_expect_not_null(strstr(r.text, "src/a.c#part"), "names the marker: %s",
                       r.text);
    cr_expect_not_null(strstr(r.text, "line 3 of the block"),
                       "names the first differing line: %s", r.text);
    cr_expect_not_null(strstr(r.text, "src/a.c:6:     return 1;"),
                       "shows the source line: %s", r.text);
    cr_expect_not_null(strstr(r.text, "lessons/01-demo.md:6:     return 2;"),
                       "shows the lesson line: %s", r.text);
}

Test(lessons, checker_reports_a_block_longer_or_shorter_than_its_region,
     .fini = drop_scratch)
{
    struct report r = {.used = 0, .problems = 0};

    make_scratch();
    put_file(scratch, "src/a.c", sample_source);
    put_file(scratch, "lessons/01-demo.md",
             "<!-- quote: src/a.c#body -->\n"
             "```c\n"
             "    return 1;\n"
             "    return 1;\n"
             "```\n"
             "<!-- quote: src/a.c#part -->\n"
             "```c\n"
             "int f(void)\n"
             "```\n");
    check_lesson(scratch, "lessons/01-demo.md", &r);
    cr_expect_eq(r.problems, 2, "expected two reports, got:\n%s", r.text);
    cr_expect_not_null(strstr(r.text, "(the region has ended)"), "%s", r.text);
    cr_expect_not_null(strstr(r.text, "(the block has ended)"), "%s", r.text);
}

Test(lessons, checker_reports_missing_files_regions_and_blocks,
     .fini = drop_scratch)
{
    struct report r = {.used = 0, .problems = 0};

    make_scratch();
    put_file(scratch, "src/a.c", sample_source);
    put_file(scratch, "lessons/01-demo.md",
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
    check_lesson(scratch, "lessons/01-demo.md", &r);
    cr_expect_eq(r.problems, 5, "expected five reports, got:\n%s", r.text);
    cr_expect_not_null(strstr(r.text, ":1: quote src/nothere.c#part: cannot "
                              "read"), "%s", r.text);
    cr_expect_not_null(strstr(r.text, "no region \"nothere\""), "%s", r.text);
    cr_expect_not_null(strstr(r.text, ":7: quote src/a.c#part must be "
                              "followed"), "%s", r.text);
    cr_expect_not_null(strstr(r.text, "without .."), "%s", r.text);
    cr_expect_not_null(strstr(r.text, ":12: malformed quote marker"), "%s",
                       r.text);
}

Test(lessons, checker_skips_markers_inside_code_blocks, .fini = drop_scratch)
{
    struct report r = {.used = 0, .problems = 0};

    make_scratch();
    put_file(scratch, "src/a.c", sample_source);
    put_file(scratch, "lessons/01-demo.md",
             "How to quote:\n"
             "````md\n"
             "<!-- quote: src/a.c#nothere -->\n"
             "```c\n"
             "anything\n"
             "```\n"
             "````\n"
             "<!-- quote: src/a.c#body -->\n"
             "```c\n"
             "    return 1;\n"
             "```\n");
    int quotes = check_lesson(scratch, "lessons/01-demo.md", &r);
    cr_expect_eq(quotes, 1, "only the real quote counts, got %d", quotes);
    cr_expect_eq(r.problems, 0, "%s", r.text);
}

Test(lessons, checker_reports_bad_region_markers, .fini = drop_scratch)
{
    struct report r = {.used = 0, .problems = 0};
    static const char *const dirs[] = {"src", NULL};

    make_scratch();
    put_file(scratch, "src/good.c", sample_source);
    put_file(scratch, "src/twice.c",
             "/* region: a */\nx\n/* endregion: a */\n"
             "/* region: a */\ny\n/* endregion: a */\n");
    put_file(scratch, "src/open.h", "/* region: a */\nx\n");
    put_file(scratch, "src/stray.c", "x\n/* endregion: b */\n");
    int regions = check_source_regions(scratch, dirs, &r);
    cr_expect_eq(regions, 5, "regions opened: %d", regions);
    cr_expect_eq(r.problems, 3, "expected three reports, got:\n%s", r.text);
    cr_expect_not_null(strstr(r.text, "src/twice.c:4: region \"a\" opened "
                              "again"), "%s", r.text);
    cr_expect_not_null(strstr(r.text, "src/open.h:1: region \"a\" is never "
                              "closed"), "%s", r.text);
    cr_expect_not_null(strstr(r.text, "src/stray.c:2: endregion \"b\""), "%s",
                       r.text);

    /* A lesson quoting a file with broken markers is refused too. */
    struct report q = {.used = 0, .problems = 0};
    put_file(scratch, "lessons/01-demo.md",
             "<!-- quote: src/open.h#a -->\n```c\nx\n```\n");
    check_lesson(scratch, "lessons/01-demo.md", &q);
    cr_expect_eq(q.problems, 1, "%s", q.text);
    cr_expect_not_null(strstr(q.text, "bad region markers"), "%s", q.text);
}

Test(lessons, index_check_finds_unlinked_lessons_and_dead_links,
     .fini = drop_scratch)
{
    struct report r = {.used = 0, .problems = 0};

    make_scratch();
    put_file(scratch, "lessons/01-one.md", "# One\n");
    put_file(scratch, "lessons/02-two.md", "# Two\nBack to [one](01-one.md), "
             "on to [five](05-five.md).\n");
    put_file(scratch, "lessons/README.md",
             "1. [One](01-one.md#start)\n"
             "2. Two, coming\n"
             "3. [Three](./03-three.md)\n"
             "[code]: ../src/a.c\n"
             "[site](https://example.org/x.md)\n"
             "```\n[in a block](nothere.md)\n```\n");
    int lessons = check_index(scratch, &r);
    cr_expect_eq(lessons, 2);
    cr_expect_eq(r.problems, 4, "expected four reports, got:\n%s", r.text);
    cr_expect_not_null(strstr(r.text, "lessons/02-two.md is not linked"), "%s",
                       r.text);
    cr_expect_not_null(strstr(r.text, "lessons/02-two.md:2: links to "
                              "\"05-five.md\""), "%s", r.text);
    cr_expect_not_null(strstr(r.text, "README.md:3: links to \"03-three.md\""),
                       "%s", r.text);
    cr_expect_not_null(strstr(r.text, "README.md:4: links to \"../src/a.c\""),
                       "%s", r.text);
}

Test(lessons, quotes_sh_finds_and_fixes_a_drifted_quote, .fini = drop_scratch,
     .timeout = 20)
{
    char path[PATH_SIZE], out[8192];
    static const char drifted[] =
        "<!-- quote: src/a.c#body -->\n```c\n    return 2;\n```\n";
    static const char fixed[] =
        "<!-- quote: src/a.c#body -->\n```c\n    return 1;\n```\n";

    /* A copy of the script in a scratch tree works on that tree. */
    make_scratch();
    path_join(path, sizeof path, SOCKLAB_ROOT, "tests/scripts/quotes.sh");
    char *script = slurp(path);
    cr_assert_not_null(script, "cannot read %s: %s", path, strerror(errno));
    put_file(scratch, "tests/scripts/quotes.sh", script);
    free(script);
    put_file(scratch, "src/a.c", sample_source);
    put_file(scratch, "lessons/01-demo.md", drifted);

    int rc = run_quotes(scratch, "--check", out, sizeof out);
    cr_expect_eq(rc, 1, "--check on a drifted quote: exit %d\n%s", rc, out);
    cr_expect_not_null(strstr(out, "lessons/01-demo.md:1: <!-- quote: "
                              "src/a.c#body -->: drifted"), "%s", out);

    rc = run_quotes(scratch, "--update", out, sizeof out);
    cr_expect_eq(rc, 0, "--update: exit %d\n%s", rc, out);
    path_join(path, sizeof path, scratch, "lessons/01-demo.md");
    char *lesson = slurp(path);
    cr_assert_not_null(lesson, "cannot read %s: %s", path, strerror(errno));
    cr_expect_str_eq(lesson, fixed);
    free(lesson);

    rc = run_quotes(scratch, "--check", out, sizeof out);
    cr_expect_eq(rc, 0, "--check after --update: exit %d\n%s", rc, out);

    rc = run_quotes(scratch, "--bogus", out, sizeof out);
    cr_expect_eq(rc, 64, "a bad option is a usage error: exit %d\n%s", rc,
                 out);
}

/* ---- the real lessons --------------------------------------------------- */

Test(lessons, every_quote_matches_its_source)
{
    struct report r = {.used = 0, .problems = 0};
    int lessons;

    int quotes = check_all_lessons(SOCKLAB_ROOT, &lessons, &r);
    cr_expect_eq(r.problems, 0, "%d problem(s) in the lessons' quotes:\n%s",
                 r.problems, r.text);
    cr_expect_geq(lessons, 3, "lessons/*.md found: %d", lessons);
    cr_expect_geq(quotes, MIN_REAL_QUOTES,
                  "only %d quotes checked in %d lessons (expected at least "
                  "%d)", quotes, lessons, MIN_REAL_QUOTES);
}

Test(lessons, region_markers_in_the_sources_are_well_formed)
{
    static const char *const dirs[] = {"server", "client", "common", "libuv",
                                       NULL};
    struct report r = {.used = 0, .problems = 0};

    int regions = check_source_regions(SOCKLAB_ROOT, dirs, &r);
    cr_expect_eq(r.problems, 0, "%s", r.text);
    cr_expect_gt(regions, 0, "no region markers found in the sources");
}

Test(lessons, index_links_every_lesson_and_only_existing_files)
{
    struct report r = {.used = 0, .problems = 0};

    int lessons = check_index(SOCKLAB_ROOT, &r);
    cr_expect_eq(r.problems, 0, "%s", r.text);
    cr_expect_geq(lessons, 2, "lesson files found: %d", lessons);
}

Test(lessons, quotes_sh_agrees_on_the_real_lessons, .timeout = 20)
{
    char out[8192];

    int rc = run_quotes(SOCKLAB_ROOT, "--check", out, sizeof out);
    cr_expect_eq(rc, 0, "sh tests/scripts/quotes.sh --check: exit %d\n%s", rc,
                 out);
}

/* cli.c - see cli.h. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "fail.h"
#include "trace.h"

int parse_long_in(const char *text, long min, long max, long *value)
{
    long v = 0;

    /* Digits only, so nothing below 0 can be written: a range wholly below
     * it has no member, and refusing it here keeps max - digit below from
     * overflowing when max is near LONG_MIN. */
    if (text == NULL || *text == '\0' || max < 0)
        return -1;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        if (v > (max - (*p - '0')) / 10)  /* the next digit would pass max */
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v < min || v > max)
        return -1;
    *value = v;
    return 0;
}

static void usage_and_exit(const char *usage, int code)
{
    FILE *out = code == 0 ? stdout : stderr;
    fprintf(out, "usage: %s %s\n", program_name(), usage);
    exit(code);
}

static void check_host(const char *what, const char *host)
{
    if (*host == '\0')
        die(EX_USAGE, "empty %s; give an address such as 127.0.0.1, ::1 or "
            "localhost", what);
}

static uint16_t port_or_die(const char *text)
{
    uint16_t port;
    if (parse_port(text, &port) < 0)
        die(EX_USAGE, "bad port '%s': expected a number from 0 to 65535",
            text);
    return port;
}

/* Options common to every program, plus the program's own (extra). Returns
 * the index of the first operand. */
static int parse_options(int argc, char **argv, struct endpoint_args *args,
                         const char *usage, int is_server, const char *extra,
                         option_fn *on_option, void *ctx)
{
    char optstring[64];
    int c;

    snprintf(optstring, sizeof optstring, ":hv%s%s", is_server ? "b:" : "",
             extra != NULL ? extra : "");
    opterr = 0;  /* we print our own one-line errors */
    while ((c = getopt(argc, argv, optstring)) != -1) {
        if (c == 'h') {
            usage_and_exit(usage, 0);
        } else if (c == 'v') {
            args->verbose = 1;
        } else if (c == 'b' && is_server) {
            check_host("address for -b", optarg);
            args->host = optarg;
        } else if (c == ':') {
            die(EX_USAGE, "option -%c needs a value (try -h)", optopt);
        } else if (c == '?') {
            die(EX_USAGE, "unknown option -%c (try -h)", optopt);
        } else {
            const char *expected = on_option(c, optarg, ctx);
            if (expected != NULL)
                die(EX_USAGE, "bad value '%s' for -%c: expected %s", optarg,
                    c, expected);
        }
    }
    return optind;
}

void parse_server_args(int argc, char **argv, struct endpoint_args *args,
                       const char *usage, const char *extra,
                       option_fn *on_option, void *ctx)
{
    args->host = DEFAULT_HOST;
    args->port = DEFAULT_PORT;
    args->verbose = 0;
    int i = parse_options(argc, argv, args, usage, 1, extra, on_option, ctx);
    if (i < argc)
        args->port = port_or_die(argv[i++]);
    if (i < argc)
        die(EX_USAGE, "unexpected argument '%s' (try -h)", argv[i]);
    trace_init(program_name(), args->verbose);
}

/* ---- a client's operands ------------------------------------------------ */

/* The forms a learner can use, for messages about an operand that is
 * none of them. */
#define FORMS "HOST, HOST PORT, HOST:PORT, [V6ADDR]:PORT or a lone PORT"

/* The operand as an error quotes it: whole, or its start and "..." when it
 * is too long to be worth a line (the error must stay one line). */
static const char *quoted(const char *operand, char *buf, size_t size)
{
    size_t keep = size - 4;  /* room for "..." and the NUL */
    if (strlen(operand) < size) {
        snprintf(buf, size, "%s", operand);
    } else {
        memcpy(buf, operand, keep);
        memcpy(buf + keep, "...", 4);
    }
    /* A newline (or any control byte) inside an operand would break the
     * one-line error, or speak to the terminal: it is shown as '?'. */
    for (char *p = buf; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return buf;
}

static int all_digits(const char *text)
{
    if (*text == '\0')
        return 0;
    for (; *text != '\0'; text++)
        if (*text < '0' || *text > '9')  /* ASCII only, whatever the locale */
            return 0;
    return 1;
}

/* Copy len bytes of host into out->host, refusing what would not fit. */
static int take_host(const char *operand, const char *host, size_t len,
                     struct endpoint_text *out)
{
    char shown[80];
    if (len == 0) {
        snprintf(out->error, sizeof out->error, "empty host in '%s'; give an "
                 "address such as 127.0.0.1, ::1 or localhost",
                 quoted(operand, shown, sizeof shown));
        return -1;
    }
    if (len >= sizeof out->host) {
        snprintf(out->error, sizeof out->error, "host in '%s' is too long: "
                 "%zu characters, at most %zu", quoted(operand, shown,
                 sizeof shown), len, sizeof out->host - 1);
        return -1;
    }
    memcpy(out->host, host, len);
    out->host[len] = '\0';
    return 0;
}

/* The port after the ':' of HOST:PORT or [V6ADDR]:PORT. */
static int take_port(const char *operand, const char *text,
                     struct endpoint_text *out)
{
    char shown[80], shown_port[24];
    if (parse_port(text, &out->port) < 0) {
        snprintf(out->error, sizeof out->error, "bad port '%s' in '%s': "
                 "expected a number from 0 to 65535",
                 quoted(text, shown_port, sizeof shown_port),
                 quoted(operand, shown, sizeof shown));
        return -1;
    }
    out->has_port = 1;
    return 0;
}

/* The defaults, and no error yet. */
static void reset(struct endpoint_text *out)
{
    snprintf(out->host, sizeof out->host, "%s", DEFAULT_HOST);
    out->port = DEFAULT_PORT;
    out->has_port = 0;
    out->port_only = 0;
    out->error[0] = '\0';
}

int split_endpoint(const char *operand, struct endpoint_text *out)
{
    char shown[80];

    reset(out);

    if (*operand == '\0') {
        snprintf(out->error, sizeof out->error, "empty host; give an address "
                 "such as 127.0.0.1, ::1 or localhost");
        return -1;
    }

    /* Digits alone are the PORT. getaddrinfo would take them for an IPv4
     * address in inet_aton's one-number form (7100 is 0.0.27.188), which
     * is never what a learner who just started a server on 7100 means. */
    if (all_digits(operand)) {
        if (parse_port(operand, &out->port) < 0) {
            snprintf(out->error, sizeof out->error, "bad port '%s': expected "
                     "a number from 0 to 65535",
                     quoted(operand, shown, sizeof shown));
            return -1;
        }
        out->has_port = 1;
        out->port_only = 1;
        return 0;
    }

    /* [V6ADDR] or [V6ADDR]:PORT, as a ready line prints an IPv6 address:
     * the brackets keep the address's own colons apart from the port's. */
    if (operand[0] == '[') {
        const char *end = strchr(operand, ']');
        if (end == NULL) {
            snprintf(out->error, sizeof out->error, "bad address '%s': a '[' "
                     "without its ']'; forms that work: " FORMS,
                     quoted(operand, shown, sizeof shown));
            return -1;
        }
        if (end[1] != '\0' && end[1] != ':') {
            snprintf(out->error, sizeof out->error, "bad address '%s': only "
                     ":PORT may follow ']'; forms that work: " FORMS,
                     quoted(operand, shown, sizeof shown));
            return -1;
        }
        if (take_host(operand, operand + 1, (size_t)(end - operand - 1),
                      out) < 0)
            return -1;
        if (end[1] == ':')
            return take_port(operand, end + 2, out);
        return 0;
    }

    /* One ':' separates HOST from PORT. Two or more, without brackets, can
     * only be an IPv6 address (::1, fe80::1): it keeps the default port. */
    const char *colon = strchr(operand, ':');
    if (colon != NULL && strchr(colon + 1, ':') == NULL) {
        if (take_host(operand, operand, (size_t)(colon - operand), out) < 0)
            return -1;
        return take_port(operand, colon + 1, out);
    }
    return take_host(operand, operand, strlen(operand), out);
}

int client_operands(int count, char *const operands[], const char *program,
                    struct endpoint_text *out)
{
    char shown[80];

    reset(out);
    if (count > 2) {
        snprintf(out->error, sizeof out->error, "unexpected argument '%s' "
                 "(try -h)", quoted(operands[2], shown, sizeof shown));
        return -1;
    }
    if (count == 0)
        return 0;
    if (count == 1)
        return split_endpoint(operands[0], out);

    /* HOST PORT. A number in HOST's place is a mistake, not an address:
     * "7100 7000" most likely means a server on 7100 was meant. */
    if (all_digits(operands[0])) {
        uint16_t port;
        const char *hint = parse_port(operands[0], &port) == 0 ? operands[0]
                                                              : "PORT";
        snprintf(out->error, sizeof out->error, "host '%s' is a bare number, "
                 "not an address: try %s 127.0.0.1 %s",
                 quoted(operands[0], shown, sizeof shown), program, hint);
        return -1;
    }
    if (split_endpoint(operands[0], out) < 0)
        return -1;
    if (out->has_port) {
        char shown_port[24];
        snprintf(out->error, sizeof out->error, "port given twice: '%s' "
                 "carries one and '%s' is another; give HOST:PORT or "
                 "HOST PORT",
                 quoted(operands[0], shown, sizeof shown),
                 quoted(operands[1], shown_port, sizeof shown_port));
        return -1;
    }
    if (parse_port(operands[1], &out->port) < 0) {
        snprintf(out->error, sizeof out->error, "bad port '%s': expected a "
                 "number from 0 to 65535",
                 quoted(operands[1], shown, sizeof shown));
        return -1;
    }
    out->has_port = 1;
    return 0;
}

void parse_client_args(int argc, char **argv, struct endpoint_args *args,
                       const char *usage, const char *extra,
                       option_fn *on_option, void *ctx)
{
    /* Static: args->host points into it for the rest of the program. */
    static struct endpoint_text where;

    args->host = DEFAULT_HOST;
    args->port = DEFAULT_PORT;
    args->verbose = 0;
    int i = parse_options(argc, argv, args, usage, 0, extra, on_option, ctx);
    /* Every operand is checked here, before the program makes a socket:
     * a mistake must not send a packet anywhere. */
    if (client_operands(argc - i, argv + i, program_name(), &where) < 0)
        die(EX_USAGE, "%s", where.error);
    args->host = where.host;
    args->port = where.port;
    trace_init(program_name(), args->verbose);
}

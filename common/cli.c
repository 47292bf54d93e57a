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

    if (text == NULL || *text == '\0')
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

void parse_client_args(int argc, char **argv, struct endpoint_args *args,
                       const char *usage, const char *extra,
                       option_fn *on_option, void *ctx)
{
    args->host = DEFAULT_HOST;
    args->port = DEFAULT_PORT;
    args->verbose = 0;
    int i = parse_options(argc, argv, args, usage, 0, extra, on_option, ctx);
    if (i < argc) {
        check_host("host", argv[i]);
        args->host = argv[i++];
    }
    if (i < argc)
        args->port = port_or_die(argv[i++]);
    if (i < argc)
        die(EX_USAGE, "unexpected argument '%s' (try -h)", argv[i]);
    trace_init(program_name(), args->verbose);
}

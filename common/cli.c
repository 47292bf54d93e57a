/* cli.c - see cli.h. */
#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
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

/* ---- standard descriptors ------------------------------------------------ */

/* region: guard-std-fds */
void guard_std_fds(void)
{
    /* Started with 0, 1 or 2 closed (`2>&-`, `<&-`), a program would be
     * given that number by its first socket, and then read its own
     * connection as input or write its trace into it. /dev/null in each
     * closed one, before anything else is opened, keeps the three numbers
     * taken (OpenSSH does the same at start). Going up from 0, the lowest
     * free number open() returns is the one being filled. */
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        int null = open("/dev/null", O_RDWR);
        if (null < 0)
            die(EX_OSERR, "descriptor %d is closed and /dev/null cannot be "
                "opened in its place: %s", fd, strerror(errno));
        if (null != fd) {
            dup2(null, fd);
            close(null);
        }
    }
}
/* endregion: guard-std-fds */

/* ---- options -------------------------------------------------------------- */

static _Noreturn void usage_and_exit(const char *usage)
{
    printf("usage: %s %s\n", program_name(), usage);
    /* `-h > /dev/full`: the text was lost, so say so and fail. */
    if (fflush(stdout) != 0 || ferror(stdout))
        die(EX_IOERR, "cannot write the usage to standard output: %s",
            strerror(errno));
    exit(0);
}

static uint16_t port_or_die(const char *text)
{
    uint16_t port;
    char shown[80];
    if (parse_port(text, &port) < 0)
        die(EX_USAGE, "bad port '%s': expected a number from 0 to 65535",
            shortened(text, shown, sizeof shown));
    return port;
}

static int all_digits(const char *text);

/* The operands, gathered wherever they stand among the options. One slot
 * more than any program takes, so the first extra one can be named. */
#define MAX_OPERANDS 3
struct operands {
    int count;
    char *v[MAX_OPERANDS];
};

static void add_operand(struct operands *ops, char *arg)
{
    if (ops->count < MAX_OPERANDS)
        ops->v[ops->count] = arg;
    ops->count++;
}

/* Options common to every program, plus the program's own (extra); -b's
 * value, for a server, into *bind. Options may come after operands
 * ("echo-client 127.0.0.1 -v 7000"), as GNU getopt allows, but without
 * relying on it: POSIX getopt stops at the first operand, so each element
 * that is not an option is taken here as an operand and getopt goes on
 * from the next. A negative number ("-1") is an operand too (a bad port,
 * then), "--help" is -h, and "--" ends the options. */
static void parse_options(int argc, char **argv, struct endpoint_args *args,
                          const char *usage, int is_server, const char *extra,
                          option_fn *on_option, void *ctx, const char **bind,
                          struct operands *ops)
{
    char optstring[64], shown[80];
    int at_start = 1;  /* optind is at an element's start, not inside -vb */

    snprintf(optstring, sizeof optstring, ":hv%s%s", is_server ? "b:" : "",
             extra != NULL ? extra : "");
    opterr = 0;  /* we print our own one-line errors */
    optind = 1;
    while (optind < argc) {
        char *arg = argv[optind];
        if (at_start && strcmp(arg, "--") == 0) {
            while (++optind < argc)
                add_operand(ops, argv[optind]);
            break;
        }
        if (at_start && strcmp(arg, "--help") == 0)
            usage_and_exit(usage);
        if (at_start && arg[0] == '-' && arg[1] == '-')
            die(EX_USAGE, "unknown option '%s': options are one letter, "
                "such as -v (try -h)", shortened(arg, shown, sizeof shown));
        if (at_start && (arg[0] != '-' || arg[1] == '\0' ||
                         all_digits(arg + 1))) {
            add_operand(ops, arg);
            optind++;
            continue;
        }

        int before = optind;
        int c = getopt(argc, argv, optstring);
        at_start = optind != before;
        if (c == -1) {
            break;  /* not reached: argv[optind] starts with '-' */
        } else if (c == 'h') {
            usage_and_exit(usage);
        } else if (c == 'v') {
            args->verbose = 1;
        } else if (c == 'b' && is_server) {
            *bind = optarg;
        } else if (c == ':') {
            die(EX_USAGE, "option -%c needs a value (try -h)", optopt);
        } else if (c == '?') {
            die(EX_USAGE, "unknown option -%c (try -h)", optopt);
        } else {
            const char *expected = on_option(c, optarg, ctx);
            if (expected != NULL)
                die(EX_USAGE, "bad value '%s' for -%c: expected %s",
                    shortened(optarg, shown, sizeof shown), c, expected);
        }
    }
}

void parse_server_args(int argc, char **argv, struct endpoint_args *args,
                       const char *usage, const char *extra,
                       option_fn *on_option, void *ctx)
{
    /* Static: args->host points into it for the rest of the program. */
    static struct endpoint_text where;
    struct operands ops = {0, {NULL}};
    const char *bind = NULL;
    char shown[80], shown_port[24];

    guard_std_fds();  /* first: nothing may be opened before it */
    args->host = DEFAULT_HOST;
    args->port = DEFAULT_PORT;
    args->verbose = 0;
    parse_options(argc, argv, args, usage, 1, extra, on_option, ctx, &bind,
                  &ops);
    if (ops.count > 1)
        die(EX_USAGE, "unexpected argument '%s' (try -h)",
            shortened(ops.v[1], shown, sizeof shown));

    /* -b reads the way a client's HOST does (one parser for both): ::1,
     * [::1], fe80::1%eth0, or the address a ready line printed, port and
     * all. */
    if (bind != NULL) {
        if (split_endpoint(bind, &where) < 0)
            die(EX_USAGE, "-b: %s", where.error);
        if (where.port_only)
            die(EX_USAGE, "-b %s is a port, not an address: give it as PORT "
                "(%s %s), and to -b an address such as 127.0.0.1 or ::1",
                shortened(bind, shown, sizeof shown), program_name(),
                shortened(bind, shown_port, sizeof shown_port));
        if (where.has_port && ops.count > 0)
            die(EX_USAGE, "port given twice: -b '%s' carries one and '%s' is "
                "another; give -b ADDR PORT",
                shortened(bind, shown, sizeof shown),
                shortened(ops.v[0], shown_port, sizeof shown_port));
        int code = settle_scope(&where);
        if (code != 0)
            die(code, "-b: %s", where.error);
        args->host = where.host;
        if (where.has_port)
            args->port = where.port;
    }
    if (ops.count == 1)
        args->port = port_or_die(ops.v[0]);
    trace_init(program_name(), args->verbose);
}

/* ---- a client's operands ------------------------------------------------ */

/* The forms a learner can use, for messages about an operand that is
 * none of them. */
#define FORMS "HOST, HOST PORT, HOST:PORT, [V6ADDR]:PORT or a lone PORT"

/* The operand as an error quotes it: whole, or its start and end around
 * "..." when it is too long to be worth a line (fail.h's shortened). */
static const char *quoted(const char *operand, char *buf, size_t size)
{
    return shortened(operand, buf, size);
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

    /* A negative number is no address either: a port, and a bad one. */
    if (operand[0] == '-' && all_digits(operand + 1)) {
        snprintf(out->error, sizeof out->error, "bad port '%s': expected a "
                 "number from 0 to 65535", quoted(operand, shown,
                 sizeof shown));
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

/* ---- scopes and link-local addresses ------------------------------------------ */

/* Addresses that exist once per interface: fe80::/10, and link-local
 * multicast (ff02::/16). Without a scope the kernel cannot tell which
 * interface is meant (bind and connect fail with EINVAL). */
static int needs_scope(const struct in6_addr *a)
{
    return IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_MC_LINKLOCAL(a);
}

int settle_scope(struct endpoint_text *where)
{
    char *host = where->host, *percent = strchr(host, '%');
    char shown[80], name[IF_NAMESIZE], addr[INET6_ADDRSTRLEN];
    struct in6_addr a6;

    if (percent == NULL) {
        if (inet_pton(AF_INET6, host, &a6) == 1 && needs_scope(&a6)) {
            inet_ntop(AF_INET6, &a6, addr, sizeof addr);
            snprintf(where->error, sizeof where->error, "'%s' is a "
                     "link-local address, which every interface has its own "
                     "of: add %%IFACE to say which, e.g. %s%%eth0 (ip link "
                     "lists the interfaces)", addr, addr);
            return EX_USAGE;
        }
        return 0;
    }

    *percent = '\0';  /* host is now the address alone */
    const char *iface = percent + 1;
    if (inet_pton(AF_INET6, host, &a6) != 1) {
        *percent = '%';
        snprintf(where->error, sizeof where->error, "bad address '%s': a "
                 "%%IFACE scope follows only an IPv6 address, as in "
                 "fe80::1%%eth0", quoted(host, shown, sizeof shown));
        return EX_USAGE;
    }
    inet_ntop(AF_INET6, &a6, addr, sizeof addr);
    if (*iface == '\0') {
        snprintf(where->error, sizeof where->error, "bad address '%s%%': no "
                 "interface after the '%%'; name one, e.g. %s%%eth0", addr,
                 addr);
        return EX_USAGE;
    }

    /* The interface by name (eth0) or by number (2); getaddrinfo and
     * uv_ip6_addr both read a name, so a number becomes its name. */
    unsigned index = 0;
    if (all_digits(iface)) {
        long number;
        if (parse_long_in(iface, 1, 65535, &number) == 0 &&
            if_indextoname((unsigned)number, name) != NULL)
            index = (unsigned)number;
    } else if (strlen(iface) < sizeof name) {
        index = if_nametoindex(iface);
        snprintf(name, sizeof name, "%s", iface);
    }
    if (index == 0) {
        snprintf(where->error, sizeof where->error, "no interface '%s' on "
                 "this machine for %s (ip link lists them; lo is loopback)",
                 quoted(iface, shown, sizeof shown), addr);
        return EX_NOHOST;
    }

    /* Only a link-local address keeps its scope: on any other the kernel
     * ignores it (::1%lo is ::1), so it goes, and every program reads the
     * same address. */
    if (needs_scope(&a6))
        snprintf(where->host, sizeof where->host, "%s%%%s", addr, name);
    else
        snprintf(where->host, sizeof where->host, "%s", addr);
    return 0;
}

void parse_client_args(int argc, char **argv, struct endpoint_args *args,
                       const char *usage, const char *extra,
                       option_fn *on_option, void *ctx)
{
    /* Static: args->host points into it for the rest of the program. */
    static struct endpoint_text where;
    struct operands ops = {0, {NULL}};

    guard_std_fds();  /* first: nothing may be opened before it */
    args->host = DEFAULT_HOST;
    args->port = DEFAULT_PORT;
    args->verbose = 0;
    parse_options(argc, argv, args, usage, 0, extra, on_option, ctx, NULL,
                  &ops);
    /* Every operand is checked here, before the program makes a socket:
     * a mistake must not send a packet anywhere. */
    if (client_operands(ops.count, ops.v, program_name(), &where) < 0)
        die(EX_USAGE, "%s", where.error);
    int code = settle_scope(&where);
    if (code != 0)
        die(code, "%s", where.error);
    args->host = where.host;
    args->port = where.port;
    trace_init(program_name(), args->verbose);
}

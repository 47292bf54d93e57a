/* cli.h - the command lines every socklab program shares.
 *
 *   servers: NAME [-h] [-v] [-b ADDR] [PORT]     (default 127.0.0.1 7000)
 *   clients: NAME [-h] [-v] [HOST [PORT]]        (default 127.0.0.1 7000)
 *            HOST may also be HOST:PORT or [V6ADDR]:PORT, as a server's
 *            ready line prints it, and a lone number is the PORT
 *
 * Programs with options of their own (-c, -t, -w ...) pass them in `extra`
 * (getopt letters) and handle them in `on_option`. Options may stand before
 * or after the operands ("echo-client 127.0.0.1 -v 7000"); "--" ends them.
 * Bad input exits 64 (EX_USAGE) with one line naming the value (a long one
 * shortened in its middle, so the reason stays on the line); a negative
 * number is a bad port, not an unknown option. -h and --help print usage
 * on stdout and exit 0, or 74 (EX_IOERR) when it cannot be written.
 *
 * Both parsers first put /dev/null on any of descriptors 0, 1, 2 that is
 * closed (guard_std_fds), so every program gets that before it opens
 * anything: a client started with `<&-` reads empty input, a server
 * started with `>&-` runs, its ready line going to /dev/null.
 *
 * -b ADDR and a client's HOST go through one parser (split_endpoint, then
 * settle_scope): an address, a name, [V6ADDR], or HOST:PORT as a ready line
 * prints it, and V6ADDR%IFACE for a link-local address. A link-local
 * address without its %IFACE is refused with a hint (64); an interface
 * that does not exist exits 68 (EX_NOHOST), like a host that does not
 * resolve.
 */
#ifndef SOCKLAB_CLI_H
#define SOCKLAB_CLI_H

#include <stdint.h>

#define DEFAULT_PORT 7000    /* the libuv guide's DEFAULT_PORT */
#define DEFAULT_BACKLOG 128  /* and its DEFAULT_BACKLOG */
#define DEFAULT_HOST "127.0.0.1"

struct endpoint_args {
    const char *host;  /* -b ADDR for servers, HOST for clients */
    uint16_t port;
    int verbose;       /* -v */
};

/* Called for each letter of `extra` with its argument. Returns NULL when
 * the value is good, or what would work ("a number from 1 to 4096"); the
 * parser then prints "bad value 'X' for -c: expected ..." and exits 64. */
typedef const char *option_fn(int letter, const char *arg, void *ctx);

/* usage is the text after "usage: NAME ", e.g. "[-h] [-v] [-b ADDR] [PORT]"
 * followed by lines describing the options. -b takes what split_endpoint
 * takes, except a lone number; a port it carries ("-b [::1]:7000") is the
 * PORT, and giving PORT as well is an error. */
void parse_server_args(int argc, char **argv, struct endpoint_args *args,
                       const char *usage, const char *extra,
                       option_fn *on_option, void *ctx);

/* A client's operands are read by client_operands below; a bad one exits
 * 64 with its one-line error before any socket exists. */
void parse_client_args(int argc, char **argv, struct endpoint_args *args,
                       const char *usage, const char *extra,
                       option_fn *on_option, void *ctx);

/* ---- a client's HOST and PORT operands ----------------------------------
 *
 * A learner copies an address from wherever it is shown: a server's ready
 * line prints "listening on 127.0.0.1:7000" or "listening on [::1]:7000",
 * and "echo-client 7100" means port 7100 to anyone who just started
 * "echo-server 7100". getaddrinfo would read a lone 7100 as the IPv4
 * address 0.0.27.188 (inet_aton's one-number form) and send a SYN off the
 * machine, and would refuse "127.0.0.1:7000" as a name. So the operands are
 * taken apart here, before anything reaches getaddrinfo:
 *
 *   operands                    host          port
 *   (none)                      127.0.0.1     7000
 *   7100  (ASCII digits only)   127.0.0.1     7100   a lone number is the
 *                                                    PORT, never an address
 *   127.0.0.1:7000, name:7000   127.0.0.1     7000   exactly one ':'
 *   [::1]:7000                  ::1           7000
 *   [::1]                       ::1           7000
 *   ::1, fe80::1%eth0           as given      7000   two or more ':', no []
 *   -1 (a negative number)      refused: a bad port
 *   anything else               as given      7000
 *   HOST PORT                   HOST (or V6ADDR of [V6ADDR])   PORT
 *
 * Refused, each with one line naming the value (usage error, exit 64):
 * an empty host (":7000", "[]"), a bad or empty port ("70000", "x:",
 * "x:y", "[::1]:"), a '[' without its ']' or junk after ']' ("[::1",
 * "[::1]7000"), a host over HOST_TEXT_MAX - 1 characters, a bare number
 * as HOST in "HOST PORT" ("7100 7000"), a port given twice
 * ("127.0.0.1:7000 7001"), and a third operand.
 */

/* Room for any host an operand can name: a DNS name is at most 253
 * characters, an IPv6 address with a zone ("fe80::1%eth0") far less. */
#define HOST_TEXT_MAX 256
#define CLI_ERROR_MAX 400

struct endpoint_text {
    char host[HOST_TEXT_MAX];  /* without brackets; DEFAULT_HOST if none */
    uint16_t port;             /* DEFAULT_PORT if none */
    int has_port;              /* the operand carried a port */
    int port_only;             /* it was a lone number: a PORT, no host */
    char error[CLI_ERROR_MAX]; /* on failure: one line, no program name,
                                  no newline ("bad port '70000': ...") */
};

/* Take one operand apart as in the table above: fills out and returns 0,
 * or returns -1 with out->error saying what is wrong, naming the operand.
 * Pure: no output, no exit, no global state; never writes past out. */
int split_endpoint(const char *operand, struct endpoint_text *out);

/* All of a client's operands (count of them, after the options): none,
 * one (split_endpoint) or HOST PORT. program (the name to show in a hint,
 * "echo-client") makes "7100 7000" answer "try echo-client 127.0.0.1
 * 7100". Returns 0 or -1 with out->error, like split_endpoint. */
int client_operands(int count, char *const operands[], const char *program,
                    struct endpoint_text *out);

/* The host of where, as split_endpoint or client_operands left it, made
 * ready for every resolver (getaddrinfo, uv_ip6_addr) to read alike:
 *
 *   fe80::1%eth0, fe80::1%2     fe80::1%eth0   the interface by name
 *   ::1%lo                      ::1            a scope means nothing off
 *                                              link-local: the kernel
 *                                              ignores it, so it goes
 *   fe80::1                     refused (64): which interface? with a hint
 *   localhost%lo, fe80::1%      refused (64): no scope there / empty
 *   fe80::1%nosuch              refused (68): no such interface
 *
 * Returns 0, or the exit code with where->error saying why. Asks the
 * system about interfaces (if_nametoindex), so it is not pure. */
int settle_scope(struct endpoint_text *where);

/* Put /dev/null on each of descriptors 0, 1 and 2 that is closed. Called
 * first thing by parse_server_args and parse_client_args. Exits 71 in the
 * unlikely case that /dev/null cannot be opened. */
void guard_std_fds(void);

/* Parse a whole decimal number in [min, max]; digits only. Returns 0 or -1. */
int parse_long_in(const char *text, long min, long max, long *value);

#endif

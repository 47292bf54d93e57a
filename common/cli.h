/* cli.h - the command lines every socklab program shares.
 *
 *   servers: NAME [-h] [-v] [-b ADDR] [PORT]     (default 127.0.0.1 7000)
 *   clients: NAME [-h] [-v] [HOST [PORT]]        (default 127.0.0.1 7000)
 *
 * Programs with options of their own (-c, -t, -w ...) pass them in `extra`
 * (getopt letters) and handle them in `on_option`. Bad input exits 64
 * (EX_USAGE) with one line naming the value; -h prints usage and exits 0.
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
 * followed by lines describing the options. */
void parse_server_args(int argc, char **argv, struct endpoint_args *args,
                       const char *usage, const char *extra,
                       option_fn *on_option, void *ctx);

void parse_client_args(int argc, char **argv, struct endpoint_args *args,
                       const char *usage, const char *extra,
                       option_fn *on_option, void *ctx);

/* Parse a whole decimal number in [min, max]; digits only. Returns 0 or -1. */
int parse_long_in(const char *text, long min, long max, long *value);

#endif

/* fuzz_args.c - whole command lines through parse_server_args and
 * parse_client_args (common/cli.c), getopt and all.
 *
 * Input: one byte choosing server (even) or client (odd), then the
 * arguments, separated by NUL bytes (at most MAX_ARGS of them, each in a
 * block of its own). For every command line the parser either returns
 * with a usable host (non-empty, and for a server either the default or
 * one of the arguments) or ends the program with exit 0 (-h), 68 (a
 * scope naming no interface) or 64
 * (EX_USAGE): never a crash, and no other exit code.
 *
 * Surviving the exit. The parsers end the program on bad input, as they
 * should; a fuzzer must go on to the next input, and forking a child per
 * input would cost a fork each and hide the child's coverage from
 * libFuzzer. So this harness is linked with -Wl,--wrap=exit: every call to
 * exit lands in __wrap_exit below, which, while a parser runs, records the
 * code and longjmps back here; at any other time (libFuzzer's own exit) it
 * is the real exit. Nothing the parsers allocate outlives the jump (they
 * allocate nothing), and getopt is reset before each parse with optind = 0
 * (glibc's way to start afresh).
 */
#include "fuzz.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"

#define MAX_ARGS 16

_Noreturn void __real_exit(int code);
_Noreturn void __wrap_exit(int code);

static jmp_buf back_to_harness;
static volatile int parsing;  /* 1 while a parser runs */
static volatile int exit_code;

_Noreturn void __wrap_exit(int code)
{
    if (!parsing)
        __real_exit(code);
    parsing = 0;
    exit_code = code;
    longjmp(back_to_harness, 1);
}

/* A program's own options, as the servers and clients have them: a count
 * and a time, both checked with parse_long_in. */
static const char *on_option(int letter, const char *arg, void *ctx)
{
    long value;
    (void)ctx;
    if (letter == 'c')
        return parse_long_in(arg, 1, 4096, &value) == 0
                   ? NULL : "a number from 1 to 4096";
    return parse_long_in(arg, 0, 3600, &value) == 0
               ? NULL : "a number of seconds from 0 to 3600";
}

/* Whether arg holds, just before a '%', an IPv6 address equal to bare.
 * settle_scope writes a scoped address back in inet_ntop's form ("::A%lo"
 * becomes "::a", "::0:1%1" becomes "::1"), so its text need not be in the
 * argument, but the address it stands for must be. */
static int scoped_in(const char *arg, const char *bare)
{
    struct in6_addr want, seen;
    char text[300];
    const char *percent = strchr(arg, '%');
    if (percent == NULL || inet_pton(AF_INET6, bare, &want) != 1)
        return 0;
    for (const char *start = arg; start < percent; start++) {
        size_t len = (size_t)(percent - start);
        if (len >= sizeof text)
            continue;
        memcpy(text, start, len);
        text[len] = '\0';
        if (inet_pton(AF_INET6, text, &seen) == 1 &&
            memcmp(&want, &seen, sizeof want) == 0)
            return 1;
    }
    return 0;
}

static const char usage[] = "[-h] [-v] [-c MAX] [-t SECONDS] ...";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int is_server = data[0] % 2 == 0;

    /* argv: the program's name, then the arguments from the input. */
    char *argv[MAX_ARGS + 2] = {NULL};
    char *given[MAX_ARGS + 2] = {NULL};  /* getopt permutes argv */
    int argc = 0;
    argv[argc++] = fuzz_string((const uint8_t *)"fuzz-args", 9);
    const uint8_t *p = data + 1, *end = data + size;
    while (p < end && argc < MAX_ARGS + 1) {
        const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
        size_t len = nul != NULL ? (size_t)(nul - p) : (size_t)(end - p);
        argv[argc++] = fuzz_string(p, len);
        p = nul != NULL ? nul + 1 : end;
    }
    memcpy(given, argv, sizeof argv);

    struct endpoint_args args;
    memset(&args, 0, sizeof args);
    /* getopt keeps a pointer into the element it was scanning ("-vc2").
     * A program parses once; this harness leaves a parse half-way (the
     * longjmp out of exit) and frees argv, so flush that pointer: glibc
     * starts afresh when optind is 0 (parse_options then sets it to 1). */
    char *flush[] = {argv[0], NULL};
    optind = 0;
    (void)getopt(1, flush, "");
    exit_code = -1;
    if (setjmp(back_to_harness) == 0) {
        parsing = 1;
        if (is_server)
            parse_server_args(argc, argv, &args, usage, "c:t:", on_option,
                              NULL);
        else
            parse_client_args(argc, argv, &args, usage, "c:t:", on_option,
                              NULL);
        parsing = 0;

        check(args.host != NULL && args.host[0] != '\0',
              "a parsed command line has a host");
        check(args.verbose == 0 || args.verbose == 1, "-v is on or off");
        if (is_server) {
            /* -b goes through the client's operand parser, so the host is
             * a copy: brackets and port taken off, a scope settled (kept
             * by name on a link-local address, else dropped). What comes
             * before any '%' is still text of one of the arguments. */
            char bare[300];
            snprintf(bare, sizeof bare, "%s", args.host);
            bare[strcspn(bare, "%")] = '\0';
            int known = strcmp(args.host, DEFAULT_HOST) == 0;
            for (int i = 1; i < argc && !known; i++)  /* -b ADDR or -bADDR */
                known = (bare[0] != '\0' && strstr(given[i], bare) != NULL) ||
                        scoped_in(given[i], bare);
            check(known, "a server's host is the default or an argument");
        } else {
            check(strlen(args.host) < HOST_TEXT_MAX,
                  "a client's host fits HOST_TEXT_MAX");
        }
    } else {
        /* 68: a %IFACE scope naming no interface on this machine is
         * looked up, like a host that does not resolve. */
        check(exit_code == 0 || exit_code == EX_USAGE || exit_code == EX_NOHOST,
              "a command line ends in exit 0 (-h), 64 (EX_USAGE) or 68 "
              "(EX_NOHOST)");
    }

    for (int i = 0; i < argc; i++)
        free(given[i]);
    return 0;
}

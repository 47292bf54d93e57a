/* test_addr_show.c - bin/addr-show, lesson 03's window on addresses.
 *
 * What lesson 03 reads off its output must be true: the port's bytes before
 * and after htons, the bytes of each struct sockaddr_in / sockaddr_in6 that
 * getaddrinfo returns, what inet_pton (and so uv_ip4_addr / uv_ip6_addr)
 * accepts, a lone number read as an IPv4 address, the null host with and
 * without AI_PASSIVE, an IPv6 zone as sin6_scope_id. And bad input: one
 * line naming the value, a sysexits code, nothing on stdout.
 *
 * addr-show makes no socket: nothing here touches the network (the one
 * name that does not resolve is in .invalid, reserved never to resolve).
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define PROG "addr-show"

TestSuite(addr_show, .timeout = 30, .fini = harness_cleanup);

/* Run addr-show with args (NULL-terminated) to completion within 10 s. */
static void show(const char *const args[], struct run_result *r)
{
    cr_assert_eq(run_program(PROG, args, NULL, 0, 10000, r), 0, "%s",
                 harness_error());
}

static void expect_ok(const struct run_result *r)
{
    char how[64];
    cr_assert(exited_with(&r->exit, 0), "addr-show: %s, stderr: %s",
              describe_exit(&r->exit, how, sizeof how), r->err);
    cr_expect_eq(r->err_len, 0, "addr-show wrote on stderr: %s", r->err);
}

static void expect_line(const struct run_result *r, const char *text)
{
    cr_expect(strstr((const char *)r->out, text) != NULL,
              "no \"%s\" in the output:\n%s", text, r->out);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* "58 1b" on a little-endian CPU, "1b 58" on a big-endian one: the bytes
 * of v as this machine stores a uint16_t. */
static void host_bytes16(uint16_t v, char *out, size_t size)
{
    unsigned char b[2];
    memcpy(b, &v, sizeof b);
    snprintf(out, size, "%02x %02x", b[0], b[1]);
}

Test(addr_show, ipv4_port_and_address_bytes)
{
    const char *const args[] = {"127.0.0.1", "7000", NULL};
    struct run_result r;
    char line[128], mine[8];

    show(args, &r);
    expect_ok(&r);
    expect_line(&r, "sizeof: sockaddr 16, sockaddr_in 16, sockaddr_in6 28, "
                    "sockaddr_storage 128 bytes\n");
    host_bytes16(7000, mine, sizeof mine);
    snprintf(line, sizeof line, "port 7000 (0x1b58) as this CPU stores it:  "
             "%s\n", mine);
    expect_line(&r, line);
    /* Network byte order is the same on every CPU: 0x1b first. */
    snprintf(line, sizeof line, "htons(7000) = %u (0x%04x), stored as:  1b 58",
             (unsigned)htons(7000), (unsigned)htons(7000));
    expect_line(&r, line);
    expect_line(&r, "inet_pton(AF_INET, \"127.0.0.1\") = 1  7f 00 00 01   "
                    "~ uv_ip4_addr returns 0\n");
    expect_line(&r, "inet_pton(AF_INET6, \"127.0.0.1\") = 0  not IPv6 text   "
                    "~ uv_ip6_addr returns UV_EINVAL\n");
    expect_line(&r, "getaddrinfo(\"127.0.0.1\", \"7000\", {AF_UNSPEC, "
                    "SOCK_STREAM, AI_NUMERICSERV}) = 0");
    expect_line(&r, "1: AF_INET, SOCK_STREAM, protocol 6: 127.0.0.1:7000, "
                    "ai_addrlen 16\n");
    expect_line(&r, "   sin_port       1b 58        ntohs: 7000\n");
    expect_line(&r, "   sin_addr       7f 00 00 01  inet_ntop: 127.0.0.1\n");
    expect_line(&r, "   sin_zero       00 00 00 00 00 00 00 00");
    /* The hexdump: family in host order, then port and address. */
    host_bytes16(AF_INET, mine, sizeof mine);
    snprintf(line, sizeof line, "   0000  %s 1b 58 7f 00 00 01 00 00 00 00 00 "
             "00 00 00\n", mine);
    expect_line(&r, line);
    cr_expect_eq(count_of((const char *)r.out, "ai_addrlen"), 1,
                 "one numeric address, one entry:\n%s", r.out);
    run_result_free(&r);
}

Test(addr_show, ipv6_loopback_bytes)
{
    const char *const args[] = {"::1", "7100", NULL};
    struct run_result r;

    show(args, &r);
    expect_ok(&r);
    expect_line(&r, "inet_pton(AF_INET, \"::1\") = 0  not IPv4 text   "
                    "~ uv_ip4_addr returns UV_EINVAL\n");
    expect_line(&r, "inet_pton(AF_INET6, \"::1\") = 1  00 00 00 00 00 00 00 "
                    "00 00 00 00 00 00 00 00 01   ~ uv_ip6_addr returns 0\n");
    expect_line(&r, "1: AF_INET6, SOCK_STREAM, protocol 6: [::1]:7100, "
                    "ai_addrlen 28\n");
    expect_line(&r, "   sin6_port      1b bc        ntohs: 7100\n");
    expect_line(&r, "   sin6_addr      00 00 00 00 00 00 00 00 00 00 00 00 "
                    "00 00 00 01  inet_ntop: ::1\n");
    expect_line(&r, "   sin6_scope_id  00 00 00 00  0, in this CPU's order "
                    "(no zone)\n");
    expect_line(&r, "   0010  00 00 00 00 00 00 00 01 00 00 00 00\n");
    run_result_free(&r);
}

Test(addr_show, a_lone_number_is_an_ipv4_address_to_getaddrinfo)
{
    const char *const args[] = {"7100", NULL};
    struct run_result r;

    show(args, &r);
    expect_ok(&r);
    /* inet_pton (and uv_ip4_addr) refuse it; getaddrinfo does not. */
    expect_line(&r, "inet_pton(AF_INET, \"7100\") = 0  not IPv4 text");
    expect_line(&r, "getaddrinfo(\"7100\", \"7000\", {AF_UNSPEC, SOCK_STREAM, "
                    "AI_NUMERICSERV}) = 0");
    expect_line(&r, "1: AF_INET, SOCK_STREAM, protocol 6: 0.0.27.188:7000");
    expect_line(&r, "   sin_addr       00 00 1b bc  inet_ntop: 0.0.27.188\n");
    run_result_free(&r);
}

Test(addr_show, null_host_is_the_wildcard_only_with_ai_passive)
{
    const char *const passive[] = {"-p", "NULL", "7000", NULL};
    const char *const active[] = {"NULL", "7000", NULL};
    struct run_result r;

    show(passive, &r);
    expect_ok(&r);
    expect_line(&r, "getaddrinfo(NULL, \"7000\", {AF_UNSPEC, SOCK_STREAM, "
                    "AI_NUMERICSERV | AI_PASSIVE}) = 0");
    expect_line(&r, "AF_INET, SOCK_STREAM, protocol 6: 0.0.0.0:7000");
    expect_line(&r, "AF_INET6, SOCK_STREAM, protocol 6: [::]:7000");
    cr_expect_eq(count_of((const char *)r.out, "inet_pton"), 0,
                 "no text to parse, yet inet_pton was shown:\n%s", r.out);
    run_result_free(&r);

    show(active, &r);
    expect_ok(&r);
    expect_line(&r, "AF_INET, SOCK_STREAM, protocol 6: 127.0.0.1:7000");
    expect_line(&r, "AF_INET6, SOCK_STREAM, protocol 6: [::1]:7000");
    run_result_free(&r);
}

Test(addr_show, an_ipv6_zone_becomes_the_scope_id)
{
    const char *const args[] = {"fe80::1%lo", NULL};
    struct run_result r;

    show(args, &r);
    expect_ok(&r);
    /* As uv_ip6_addr does: the text before '%' to inet_pton, the zone to
     * if_nametoindex. The loopback interface always exists. */
    expect_line(&r, "inet_pton(AF_INET6, \"fe80::1\") = 1  fe 80 00");
    expect_line(&r, "if_nametoindex(\"lo\") = ");
    cr_expect(strstr((const char *)r.out, "if_nametoindex(\"lo\") = 0") ==
                  NULL, "lo has no index?\n%s", r.out);
    cr_expect(strstr((const char *)r.out, "(the interface)\n") != NULL,
              "getaddrinfo left sin6_scope_id at 0:\n%s", r.out);
    run_result_free(&r);
}

Test(addr_show, help_goes_to_stdout)
{
    const char *const args[] = {"-h", NULL};
    struct run_result r;

    show(args, &r);
    expect_ok(&r);
    expect_line(&r, "usage: addr-show [-h] [-p] HOST [PORT]\n");
    run_result_free(&r);
}

struct bad_case {
    const char *args[4];
    int code;
    const char *named;  /* what the one line must contain */
};

Test(addr_show, bad_input_is_one_line_and_a_sysexits_code)
{
    static const struct bad_case bad[] = {
        {{NULL}, 64, "no HOST given"},
        {{"", NULL}, 64, "empty HOST"},
        {{"127.0.0.1", "abc", NULL}, 64, "bad port 'abc'"},
        {{"127.0.0.1", "70000", NULL}, 64, "bad port '70000'"},
        {{"127.0.0.1", "-1", NULL}, 64, "'-1'"},
        {{"127.0.0.1", "7000", "x", NULL}, 64, "unexpected argument 'x'"},
        {{"-x", "127.0.0.1", NULL}, 64, "unknown option -x"},
        {{"no-such-host.invalid", NULL}, 68,
         "cannot resolve 'no-such-host.invalid'"},
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct run_result r;
        char how[64];

        show(bad[i].args, &r);
        cr_expect(exited_with(&r.exit, bad[i].code), "case %zu (%s): %s, "
                  "wanted exit %d", i, bad[i].named,
                  describe_exit(&r.exit, how, sizeof how), bad[i].code);
        cr_expect(strncmp(r.err, "addr-show: ", 11) == 0 &&
                      strchr(r.err, '\n') == r.err + r.err_len - 1,
                  "case %zu: not one 'addr-show: ...' line: %s", i, r.err);
        cr_expect(strstr(r.err, bad[i].named) != NULL,
                  "case %zu: the message does not say '%s': %s", i,
                  bad[i].named, r.err);
        /* A usage error prints nothing else; a name that does not resolve
         * still shows what came before getaddrinfo failed. */
        if (bad[i].code == 64)
            cr_expect_eq(r.out_len, 0, "case %zu printed: %s", i, r.out);
        else
            expect_line(&r, "= EAI_");
        run_result_free(&r);
    }
}

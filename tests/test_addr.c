/* test_addr.c - common/addr.c: ports, getaddrinfo, sockaddr <-> text. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

#include "addr.h"
#include "harness.h"

TestSuite(addr, .timeout = 10);

/* ---- parse_port ------------------------------------------------------------- */

Test(addr, parse_port_accepts_0_to_65535)
{
    static const struct {
        const char *text;
        uint16_t want;
    } good[] = {
        {"0", 0}, {"1", 1}, {"7000", 7000}, {"65535", 65535},
        {"007", 7}, {"00000000000000000000080", 80},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint16_t port = 4242;
        cr_expect_eq(parse_port(good[i].text, &port), 0,
                     "parse_port(\"%s\") refused a good port", good[i].text);
        cr_expect_eq(port, good[i].want, "parse_port(\"%s\") gave %u, not %u",
                     good[i].text, (unsigned)port, (unsigned)good[i].want);
    }
}

Test(addr, parse_port_refuses_junk_and_leaves_port_alone)
{
    static const char *const bad[] = {
        "", "abc", "-1", "+1", "65536", "7000x", " 7000", "7000 ",
        "99999999999999999999", "0x10", "1e3", "70000", "7 000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint16_t port = 4242;
        cr_expect_eq(parse_port(bad[i], &port), -1,
                     "parse_port(\"%s\") accepted a bad port", bad[i]);
        cr_expect_eq(port, 4242, "parse_port(\"%s\") changed the port on "
                     "failure", bad[i]);
    }
    uint16_t port = 4242;
    cr_expect_eq(parse_port(NULL, &port), -1, "parse_port(NULL) accepted");
}

/* ---- resolve ----------------------------------------------------------------- */

Test(addr, resolve_numeric_ipv4)
{
    struct addrinfo *list = NULL;
    cr_assert_eq(resolve("127.0.0.1", 7000, SOCK_STREAM, 0, &list), 0);
    cr_assert_not_null(list);
    cr_expect_eq(list->ai_family, AF_INET);
    cr_expect_eq(list->ai_socktype, SOCK_STREAM);
    const struct sockaddr_in *in4 = (const struct sockaddr_in *)list->ai_addr;
    cr_expect_eq(ntohs(in4->sin_port), 7000);
    cr_expect_eq(ntohl(in4->sin_addr.s_addr), INADDR_LOOPBACK);
    freeaddrinfo(list);
}

Test(addr, resolve_numeric_ipv6)
{
    struct addrinfo *list = NULL;
    cr_assert_eq(resolve("::1", 9, SOCK_STREAM, 0, &list), 0);
    cr_assert_not_null(list);
    cr_expect_eq(list->ai_family, AF_INET6);
    const struct sockaddr_in6 *in6 =
        (const struct sockaddr_in6 *)list->ai_addr;
    cr_expect_eq(ntohs(in6->sin6_port), 9);
    cr_expect(memcmp(&in6->sin6_addr, &in6addr_loopback,
                     sizeof in6addr_loopback) == 0, "not ::1");
    freeaddrinfo(list);
}

Test(addr, resolve_localhost_gives_loopback_addresses_with_the_port)
{
    struct addrinfo *list = NULL;
    if (!system_resolves("localhost"))
        cr_skip_test("this machine's resolver does not know 'localhost' "
                     "(no /etc/hosts entry?)");
    cr_assert_eq(resolve("localhost", 65535, SOCK_STREAM, 0, &list), 0);
    cr_assert_not_null(list);
    for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        cr_expect(ai->ai_family == AF_INET || ai->ai_family == AF_INET6,
                  "family %d", ai->ai_family);
        cr_expect_eq(addr_port(ai->ai_addr), 65535);
        cr_expect_eq(ai->ai_socktype, SOCK_STREAM);
    }
    freeaddrinfo(list);
}

Test(addr, resolve_honours_socktype_and_passive)
{
    struct addrinfo *list = NULL;
    cr_assert_eq(resolve("127.0.0.1", 53, SOCK_DGRAM, 1, &list), 0);
    cr_expect_eq(list->ai_socktype, SOCK_DGRAM);
    freeaddrinfo(list);
    /* Passive with a wildcard address: the one a server binds to all. */
    cr_assert_eq(resolve("0.0.0.0", 7000, SOCK_STREAM, 1, &list), 0);
    const struct sockaddr_in *in4 = (const struct sockaddr_in *)list->ai_addr;
    cr_expect_eq(in4->sin_addr.s_addr, htonl(INADDR_ANY));
    freeaddrinfo(list);
}

Test(addr, resolve_refuses_empty_host_with_eai_noname)
{
    struct addrinfo *list = NULL;
    cr_expect_eq(resolve("", 7000, SOCK_STREAM, 0, &list), EAI_NONAME);
    cr_expect_eq(resolve(NULL, 7000, SOCK_STREAM, 0, &list), EAI_NONAME);
}

Test(addr, resolve_fails_for_a_name_that_cannot_exist)
{
    /* .invalid is reserved (RFC 2606): it never resolves. */
    struct addrinfo *list = NULL;
    int rc = resolve("no-such-host.invalid", 7000, SOCK_STREAM, 0, &list);
    cr_expect_neq(rc, 0, "no-such-host.invalid resolved");
    cr_expect_not_null(gai_strerror(rc));
}

/* ---- ip_addr ----------------------------------------------------------------- */

Test(addr, ip_addr_fills_ipv4)
{
    struct sockaddr_storage ss;
    memset(&ss, 0xAB, sizeof ss);
    cr_assert_eq(ip_addr("127.0.0.1", 7000, &ss), 0);
    const struct sockaddr_in *in4 = (const struct sockaddr_in *)&ss;
    cr_expect_eq(in4->sin_family, AF_INET);
    cr_expect_eq(ntohs(in4->sin_port), 7000);
    cr_expect_eq(ntohl(in4->sin_addr.s_addr), INADDR_LOOPBACK);
    /* The rest of the storage is zeroed, not left as garbage. */
    const unsigned char *rest = (const unsigned char *)&ss + sizeof *in4;
    for (size_t i = 0; i < sizeof ss - sizeof *in4; i++)
        cr_assert_eq(rest[i], 0, "byte %zu after the sockaddr_in is %#x",
                     i + sizeof *in4, rest[i]);
}

Test(addr, ip_addr_fills_ipv6)
{
    struct sockaddr_storage ss;
    cr_assert_eq(ip_addr("::1", 8080, &ss), 0);
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
    cr_expect_eq(in6->sin6_family, AF_INET6);
    cr_expect_eq(ntohs(in6->sin6_port), 8080);
    cr_expect(memcmp(&in6->sin6_addr, &in6addr_loopback,
                     sizeof in6addr_loopback) == 0, "not ::1");
}

Test(addr, ip_addr_reports_failures)
{
    struct sockaddr_storage ss;
    cr_expect_neq(ip_addr("", 7000, &ss), 0);
    cr_expect_neq(ip_addr("no-such-host.invalid", 7000, &ss), 0);
    cr_expect_neq(ip_addr("300.1.1.1", 7000, &ss), 0);
}

/* ---- addr_len, addr_port, family_name ------------------------------------------ */

Test(addr, addr_len_per_family)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_INET;
    cr_expect_eq(addr_len((struct sockaddr *)&ss), sizeof(struct sockaddr_in));
    ss.ss_family = AF_INET6;
    cr_expect_eq(addr_len((struct sockaddr *)&ss),
                 sizeof(struct sockaddr_in6));
    ss.ss_family = AF_UNIX;
    cr_expect_eq(addr_len((struct sockaddr *)&ss), 0);
}

Test(addr, addr_port_per_family)
{
    struct sockaddr_storage ss;
    cr_assert_eq(ip_addr("127.0.0.1", 1234, &ss), 0);
    cr_expect_eq(addr_port((struct sockaddr *)&ss), 1234);
    cr_assert_eq(ip_addr("::1", 65535, &ss), 0);
    cr_expect_eq(addr_port((struct sockaddr *)&ss), 65535);
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_UNIX;
    cr_expect_eq(addr_port((struct sockaddr *)&ss), 0);
}

Test(addr, family_name_known_and_unknown)
{
    cr_expect_str_eq(family_name(AF_INET), "AF_INET");
    cr_expect_str_eq(family_name(AF_INET6), "AF_INET6");
    cr_expect_str_eq(family_name(AF_UNIX), "AF_UNIX");
    cr_expect_str_eq(family_name(12345), "AF_?");
    cr_expect_str_eq(family_name(-1), "AF_?");
}

/* ---- format_addr ------------------------------------------------------------ */

static const char *formatted(const char *host, uint16_t port, char *text)
{
    struct sockaddr_storage ss;
    cr_assert_eq(ip_addr(host, port, &ss), 0, "ip_addr(%s)", host);
    return format_addr((struct sockaddr *)&ss, text, ADDR_TEXT_MAX);
}

Test(addr, format_addr_ipv4_and_ipv6)
{
    char text[ADDR_TEXT_MAX];
    cr_expect_str_eq(formatted("127.0.0.1", 7000, text), "127.0.0.1:7000");
    cr_expect_str_eq(formatted("0.0.0.0", 0, text), "0.0.0.0:0");
    cr_expect_str_eq(formatted("::1", 7000, text), "[::1]:7000");
    cr_expect_str_eq(formatted("::", 65535, text), "[::]:65535");
    cr_expect_str_eq(formatted("::ffff:127.0.0.1", 1, text),
                     "[::ffff:127.0.0.1]:1");
}

Test(addr, format_addr_longest_ipv6_fits)
{
    char text[ADDR_TEXT_MAX];
    cr_expect_str_eq(formatted("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                               65535, text),
                     "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}

Test(addr, format_addr_unknown_family_and_return_value)
{
    char text[ADDR_TEXT_MAX];
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = 200;  /* no such family */
    char *r = format_addr((struct sockaddr *)&ss, text, sizeof text);
    cr_expect_eq(r, text, "format_addr must return its buffer");
    cr_expect(strstr(text, "family") != NULL && strstr(text, "200") != NULL,
              "unknown family 200 shown as '%s'", text);
}

Test(addr, format_addr_truncates_safely)
{
    char text[8];
    memset(text, 'Z', sizeof text);
    struct sockaddr_storage ss;
    cr_assert_eq(ip_addr("127.0.0.1", 7000, &ss), 0);
    format_addr((struct sockaddr *)&ss, text, 5);
    cr_expect_str_eq(text, "127.");
    cr_expect_eq(text[5], 'Z', "wrote past the size given");
}

/* fuzz_addr.c - the address helpers (common/addr.c), without the network.
 *
 * Input: two bytes of port (big-endian), then the payload, used three
 * ways:
 *
 *   1. as the raw bytes of a struct sockaddr_storage, of any family:
 *      format_addr writes a NUL-terminated text inside ADDR_TEXT_MAX,
 *      addr_len and addr_port agree with the family, family_name always
 *      has an answer;
 *   2. as text for inet_pton, IPv4 then IPv6: an address that parses,
 *      printed by format_addr as a ready line prints it, is read back by
 *      the client's operand parser (split_endpoint) as the same address
 *      and port;
 *   3. as the host for ip_addr (and so resolve): what it accepts has a
 *      family we know and the port asked for, and makes the same round
 *      trip.
 *
 * No DNS: this harness is linked with -Wl,--wrap=getaddrinfo, so every
 * getaddrinfo call from common/ lands in __wrap_getaddrinfo below, which
 * adds AI_NUMERICHOST and AI_NUMERICSERV. getaddrinfo then only parses
 * numeric text and never sends a query, whatever the fuzzer feeds it.
 * (strace shows what remains, for one host only: glibc reads "*" as no
 * host at all, so with AI_PASSIVE it answers both wildcards, :: and
 * 0.0.0.0, and orders them the RFC 6724 way: a netlink dump of this
 * machine's addresses and a connect() on a UDP socket per answer, which
 * picks a route and sends nothing.)
 */
#include "fuzz.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "addr.h"
#include "cli.h"

int __real_getaddrinfo(const char *node, const char *service,
                       const struct addrinfo *hints, struct addrinfo **res);
int __wrap_getaddrinfo(const char *node, const char *service,
                       const struct addrinfo *hints, struct addrinfo **res);

int __wrap_getaddrinfo(const char *node, const char *service,
                       const struct addrinfo *hints, struct addrinfo **res)
{
    struct addrinfo numeric;
    memset(&numeric, 0, sizeof numeric);
    if (hints != NULL)
        numeric = *hints;
    numeric.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
    return __real_getaddrinfo(node, service, &numeric, res);
}

/* format_addr's text, checked for its size promise. */
static const char *formatted(const struct sockaddr *addr,
                             char text[ADDR_TEXT_MAX])
{
    memset(text, 'x', ADDR_TEXT_MAX);
    format_addr(addr, text, ADDR_TEXT_MAX);
    check(memchr(text, '\0', ADDR_TEXT_MAX) != NULL,
          "format_addr's text ends inside ADDR_TEXT_MAX");
    return text;
}

/* The bytes of addr's IP address (4 or 16) and their count. */
static size_t ip_bytes(const struct sockaddr *addr, const void **bytes)
{
    if (addr->sa_family == AF_INET) {
        *bytes = &((const struct sockaddr_in *)addr)->sin_addr;
        return 4;
    }
    *bytes = &((const struct sockaddr_in6 *)addr)->sin6_addr;
    return 16;
}

/* What format_addr printed for an IPv4 or IPv6 addr must split, as a
 * client operand, into that address and port. */
static void check_round_trip(const struct sockaddr *addr)
{
    char text[ADDR_TEXT_MAX];
    struct endpoint_text back;
    memset(&back, 0x5a, sizeof back);  /* no help from a zeroed struct */
    check(split_endpoint(formatted(addr, text), &back) == 0,
          "a client accepts what format_addr prints");
    check(back.has_port && back.port == addr_port(addr),
          "the printed port comes back");
    /* A link-local IPv6 address is printed with its scope, fe80::1%lo,
     * so that it can be pasted: the scope is not part of the address. */
    char *scope = strchr(back.host, '%');
    if (scope != NULL) {
        check(addr->sa_family == AF_INET6 &&
                  ((const struct sockaddr_in6 *)addr)->sin6_scope_id != 0,
              "only an IPv6 address with a scope id is printed with %");
        *scope = '\0';
    }
    unsigned char parsed[16];
    check(inet_pton(addr->sa_family, back.host, parsed) == 1,
          "the printed host is an address of the same family");
    const void *bytes;
    size_t n = ip_bytes(addr, &bytes);
    check(memcmp(parsed, bytes, n) == 0, "the printed address comes back");
}

static void raw_sockaddr(const uint8_t *data, size_t size)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    memcpy(&ss, data, size < sizeof ss ? size : sizeof ss);
    const struct sockaddr *addr = (const struct sockaddr *)&ss;
    char text[ADDR_TEXT_MAX];
    formatted(addr, text);
    socklen_t len = addr_len(addr);
    if (ss.ss_family == AF_INET)
        check(len == sizeof(struct sockaddr_in), "addr_len of AF_INET");
    else if (ss.ss_family == AF_INET6)
        check(len == sizeof(struct sockaddr_in6), "addr_len of AF_INET6");
    else
        check(len == 0 && addr_port(addr) == 0,
              "an unknown family has no length and no port");
    check(family_name(ss.ss_family) != NULL, "family_name always answers");
    if (len != 0)
        check_round_trip(addr);
}

static void numeric_text(const char *text, uint16_t port)
{
    struct sockaddr_in in4;
    memset(&in4, 0, sizeof in4);
    in4.sin_family = AF_INET;
    in4.sin_port = htons(port);
    if (inet_pton(AF_INET, text, &in4.sin_addr) == 1)
        check_round_trip((const struct sockaddr *)&in4);

    struct sockaddr_in6 in6;
    memset(&in6, 0, sizeof in6);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
    if (inet_pton(AF_INET6, text, &in6.sin6_addr) == 1)
        check_round_trip((const struct sockaddr *)&in6);
}

static void through_ip_addr(const char *text, uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0x5a, sizeof ss);
    if (ip_addr(text, port, &ss) != 0)
        return;
    const struct sockaddr *addr = (const struct sockaddr *)&ss;
    check(ss.ss_family == AF_INET || ss.ss_family == AF_INET6,
          "ip_addr gives IPv4 or IPv6");
    check(addr_port(addr) == port, "ip_addr keeps the port");
    check_round_trip(addr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint16_t port = (uint16_t)(data[0] << 8 | data[1]);
    data += 2;
    size -= 2;

    raw_sockaddr(data, size);
    char *text = fuzz_string(data, size);
    numeric_text(text, port);
    through_ip_addr(text, port);
    free(text);
    return 0;
}

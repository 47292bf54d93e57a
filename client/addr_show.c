/* addr_show.c - what an address looks like, byte by byte.
 *
 * Lesson 03's window on addresses. Give it a HOST and a PORT as you would
 * give them to a client, and it shows, without making a socket or sending
 * anything:
 *
 *   - the sizes of the address structs every socket call passes around;
 *   - the port as this CPU stores it, and after htons (network byte order);
 *   - what inet_pton makes of HOST as IPv4 and as IPv6: the strict parser
 *     that libuv's uv_ip4_addr and uv_ip6_addr rely on;
 *   - what getaddrinfo makes of it: every address in its list, as text
 *     (inet_ntop, ntohs) and as a hexdump, field by field.
 *
 * HOST goes to inet_pton and getaddrinfo exactly as given, a lone number
 * too (getaddrinfo reads 7100 as the IPv4 address 0.0.27.188: seeing that
 * is the point here; the clients refuse it). NULL stands for the null
 * pointer, to show what getaddrinfo answers with no host, with and
 * without AI_PASSIVE (-p).
 *
 * Usage: addr-show [-h] [-p] HOST [PORT]
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "fail.h"
#include "trace.h"

static const char usage[] =
    "[-h] [-p] HOST [PORT]\n"
    "  Show what inet_pton and getaddrinfo make of HOST and PORT: each\n"
    "  address as text and as the bytes of its struct sockaddr_in or\n"
    "  sockaddr_in6. Makes no socket and sends nothing.\n"
    "  -p    add AI_PASSIVE to the hints (an address to bind, not to dial)\n"
    "  HOST  a name or a numeric address, passed on exactly as given (a\n"
    "        lone number too); NULL passes a null pointer as the host\n"
    "  PORT  0-65535, default 7000";

/* "1b 58": n bytes in hex, as they lie in memory. */
static void put_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        printf("%s%02x", i > 0 ? " " : "", b[i]);
}

/* The whole struct as a hexdump: offset, then up to 16 bytes a row. */
static void put_hexdump(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t off = 0; off < n; off += 16) {
        printf("   %04zx  ", off);
        put_bytes(b + off, n - off < 16 ? n - off : 16);
        printf("\n");
    }
}

/* One field of a struct: its name, its bytes where they lie, a note. */
static void put_field(const char *name, const void *base, size_t offset,
                      size_t size, const char *note)
{
    printf("   %-15s", name);
    put_bytes((const char *)base + offset, size);
    /* Line the notes up after a field of 4 bytes ("7f 00 00 01"). */
    int width = (int)(size * 3 - 1);
    printf("%*s  %s\n", width < 11 ? 11 - width : 0, "", note);
}

/* region: port-bytes */
/* A port is a 16-bit number. This CPU keeps numbers in its own byte order
 * (least significant byte first on x86 and most ARM); the network, and
 * every sockaddr, keeps them most significant byte first. htons ("host to
 * network, short") converts; on a big-endian CPU it changes nothing. */
static void show_port(uint16_t port)
{
    uint16_t in_network_order = htons(port);

    printf("port %u (0x%04x) as this CPU stores it:  ", (unsigned)port,
           (unsigned)port);
    put_bytes(&port, sizeof port);
    printf("\nhtons(%u) = %u (0x%04x), stored as:  ", (unsigned)port,
           (unsigned)in_network_order, (unsigned)in_network_order);
    put_bytes(&in_network_order, sizeof in_network_order);
    printf("   network byte order\n");
}
/* endregion: port-bytes */

/* region: pton */
/* inet_pton accepts only an address in its standard text form: four
 * decimal numbers for IPv4, the colon form for IPv6. No names, no short
 * forms. libuv's uv_ip4_addr and uv_ip6_addr parse with their own copy of
 * the same rules (uv_inet_pton), except that uv_ip6_addr first splits off a
 * "%zone" and turns it into sin6_scope_id with if_nametoindex. */
static void show_pton(const char *host)
{
    struct in_addr a4;
    int rc = inet_pton(AF_INET, host, &a4);
    printf("inet_pton(AF_INET, \"%s\") = %d  ", host, rc);
    if (rc == 1)
        put_bytes(&a4, sizeof a4);
    else
        printf("not IPv4 text");
    printf("   ~ uv_ip4_addr returns %s\n", rc == 1 ? "0" : "UV_EINVAL");

    /* The address part, before any "%zone", cut the way uv_ip6_addr cuts
     * it: into a 40-byte buffer. */
    char part[40];
    const char *text6 = host;
    const char *zone = strchr(host, '%');
    if (zone != NULL) {
        size_t len = (size_t)(zone - host);
        if (len >= sizeof part)
            len = sizeof part - 1;
        memcpy(part, host, len);
        part[len] = '\0';
        text6 = part;
    }

    struct in6_addr a6;
    rc = inet_pton(AF_INET6, text6, &a6);
    printf("inet_pton(AF_INET6, \"%s\") = %d  ", text6, rc);
    if (rc == 1)
        put_bytes(&a6, sizeof a6);
    else
        printf("not IPv6 text");
    printf("   ~ uv_ip6_addr returns %s\n", rc == 1 ? "0" : "UV_EINVAL");
    if (zone != NULL && rc == 1) {
        unsigned index = if_nametoindex(zone + 1);
        printf("if_nametoindex(\"%s\") = %u  %s   ~ uv_ip6_addr's "
               "sin6_scope_id\n", zone + 1, index,
               index == 0 ? "no such interface: uv_ip6_addr leaves scope 0"
                          : "the zone after '%'");
    }
}
/* endregion: pton */

static const char *eai_name(int rc)
{
    switch (rc) {
    case EAI_AGAIN:    return "EAI_AGAIN";
    case EAI_BADFLAGS: return "EAI_BADFLAGS";
    case EAI_FAIL:     return "EAI_FAIL";
    case EAI_FAMILY:   return "EAI_FAMILY";
    case EAI_MEMORY:   return "EAI_MEMORY";
    case EAI_NONAME:   return "EAI_NONAME";
    case EAI_SERVICE:  return "EAI_SERVICE";
    case EAI_SOCKTYPE: return "EAI_SOCKTYPE";
    case EAI_SYSTEM:   return "EAI_SYSTEM";
    case EAI_OVERFLOW: return "EAI_OVERFLOW";
    default:           return "EAI_?";
    }
}

/* region: show-entry */
/* One entry of getaddrinfo's list: ready-made arguments for socket()
 * (family, type, protocol) and for bind() or connect() (addr, addrlen).
 * The address is a struct sockaddr_in or sockaddr_in6, reached through a
 * struct sockaddr pointer: sa_family, at the same place in each, says
 * which, so we cast to the struct it names before reading the fields. */
static void show_entry(int n, const struct addrinfo *ai)
{
    char text[ADDR_TEXT_MAX], ip[INET6_ADDRSTRLEN], note[96];
    const struct sockaddr *sa = ai->ai_addr;

    printf("%d: %s, %s, protocol %d: %s, ai_addrlen %u\n", n,
           family_name(ai->ai_family),
           ai->ai_socktype == SOCK_STREAM  ? "SOCK_STREAM"
           : ai->ai_socktype == SOCK_DGRAM ? "SOCK_DGRAM"
                                           : "another type",
           ai->ai_protocol, format_addr(sa, text, sizeof text),
           (unsigned)ai->ai_addrlen);
    put_hexdump(sa, ai->ai_addrlen);

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof ip);
        put_field("sin_family", in4, offsetof(struct sockaddr_in, sin_family),
                  sizeof in4->sin_family, "AF_INET, in this CPU's order");
        snprintf(note, sizeof note, "ntohs: %u", (unsigned)ntohs(in4->sin_port));
        put_field("sin_port", in4, offsetof(struct sockaddr_in, sin_port),
                  sizeof in4->sin_port, note);
        snprintf(note, sizeof note, "inet_ntop: %s", ip);
        put_field("sin_addr", in4, offsetof(struct sockaddr_in, sin_addr),
                  sizeof in4->sin_addr, note);
        put_field("sin_zero", in4, offsetof(struct sockaddr_in, sin_zero),
                  sizeof in4->sin_zero, "padding to 16 bytes");
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        put_field("sin6_family", in6,
                  offsetof(struct sockaddr_in6, sin6_family),
                  sizeof in6->sin6_family, "AF_INET6, in this CPU's order");
        snprintf(note, sizeof note, "ntohs: %u",
                 (unsigned)ntohs(in6->sin6_port));
        put_field("sin6_port", in6, offsetof(struct sockaddr_in6, sin6_port),
                  sizeof in6->sin6_port, note);
        put_field("sin6_flowinfo", in6,
                  offsetof(struct sockaddr_in6, sin6_flowinfo),
                  sizeof in6->sin6_flowinfo, "flow label, unused here");
        snprintf(note, sizeof note, "inet_ntop: %s", ip);
        put_field("sin6_addr", in6, offsetof(struct sockaddr_in6, sin6_addr),
                  sizeof in6->sin6_addr, note);
        snprintf(note, sizeof note, "%u, in this CPU's order (%s)",
                 (unsigned)in6->sin6_scope_id,
                 in6->sin6_scope_id == 0 ? "no zone" : "the interface");
        put_field("sin6_scope_id", in6,
                  offsetof(struct sockaddr_in6, sin6_scope_id),
                  sizeof in6->sin6_scope_id, note);
    }
}
/* endregion: show-entry */

int main(int argc, char **argv)
{
    int passive = 0, c;

    trace_init("addr-show", 0);
    opterr = 0;  /* our own one-line errors */
    while ((c = getopt(argc, argv, ":hp")) != -1) {
        if (c == 'h') {
            printf("usage: addr-show %s\n", usage);
            return 0;
        } else if (c == 'p') {
            passive = 1;
        } else if (c == ':') {
            die(EX_USAGE, "option -%c needs a value (try -h)", optopt);
        } else {
            die(EX_USAGE, "unknown option -%c (try -h)", optopt);
        }
    }
    if (optind >= argc)
        die(EX_USAGE, "no HOST given: try addr-show 127.0.0.1 7000, or -h");
    const char *host = argv[optind++];
    if (*host == '\0')
        die(EX_USAGE, "empty HOST: give a name or an address such as "
            "127.0.0.1 or ::1, or NULL for a null pointer");
    if (strcmp(host, "NULL") == 0)
        host = NULL;
    uint16_t port = DEFAULT_PORT;
    if (optind < argc && parse_port(argv[optind++], &port) < 0)
        die(EX_USAGE, "bad port '%s': expected a number from 0 to 65535",
            argv[optind - 1]);
    if (optind < argc)
        die(EX_USAGE, "unexpected argument '%s' (try -h)", argv[optind]);

    printf("sizeof: sockaddr %zu, sockaddr_in %zu, sockaddr_in6 %zu, "
           "sockaddr_storage %zu bytes\n", sizeof(struct sockaddr),
           sizeof(struct sockaddr_in), sizeof(struct sockaddr_in6),
           sizeof(struct sockaddr_storage));
    show_port(port);
    if (host != NULL)
        show_pton(host);

    /* region: getaddrinfo */
    struct addrinfo hints, *list;
    char service[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;      /* IPv4 and IPv6 */
    hints.ai_socktype = SOCK_STREAM;  /* one entry per address, for TCP */
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    snprintf(service, sizeof service, "%u", (unsigned)port);
    int rc = getaddrinfo(host, service, &hints, &list);
    /* endregion: getaddrinfo */

    printf("getaddrinfo(%s%s%s, \"%s\", {AF_UNSPEC, SOCK_STREAM, "
           "AI_NUMERICSERV%s}) = %s   ~ uv_getaddrinfo\n",
           host != NULL ? "\"" : "", host != NULL ? host : "NULL",
           host != NULL ? "\"" : "", service, passive ? " | AI_PASSIVE" : "",
           rc == 0 ? "0" : eai_name(rc));
    if (fflush(stdout) != 0)
        die_errno(EX_IOERR, "write standard output");
    if (rc != 0)
        die_unresolved(host != NULL ? host : "NULL", rc, passive);

    int n = 0;
    for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next)
        show_entry(++n, ai);
    freeaddrinfo(list);

    if (fflush(stdout) != 0 || ferror(stdout))
        die_errno(EX_IOERR, "write standard output");
    return 0;
}

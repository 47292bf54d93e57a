/* addr.c - see addr.h. */
#include "addr.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

int parse_port(const char *text, uint16_t *port)
{
    unsigned long value = 0;

    /* Walk the digits ourselves rather than trust strtoul, which accepts
     * leading blanks, a sign and trailing junk; we want exactly 0..65535. */
    if (text == NULL || *text == '\0')
        return -1;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        value = value * 10 + (unsigned long)(*p - '0');
        if (value > 65535)
            return -1;
    }
    *port = (uint16_t)value;
    return 0;
}

/* region: resolve */
int resolve(const char *host, uint16_t port, int socktype, int passive,
            struct addrinfo **list)
{
    struct addrinfo hints;
    char service[6];

    if (host == NULL || *host == '\0')
        return EAI_NONAME;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;  /* IPv4 or IPv6, whatever host names */
    hints.ai_socktype = socktype;
    /* The port is already a number: NUMERICSERV stops a lookup in
     * /etc/services. PASSIVE marks an address we will bind, not dial. */
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    snprintf(service, sizeof service, "%u", (unsigned)port);
    return getaddrinfo(host, service, &hints, list);
}
/* endregion: resolve */

/* region: ip-addr */
int ip_addr(const char *host, uint16_t port, struct sockaddr_storage *addr)
{
    struct addrinfo *list;
    int rc = resolve(host, port, SOCK_STREAM, 1, &list);

    if (rc != 0)
        return rc;
    memset(addr, 0, sizeof *addr);
    memcpy(addr, list->ai_addr, list->ai_addrlen);
    freeaddrinfo(list);
    return 0;
}
/* endregion: ip-addr */

/* region: addr-len */
socklen_t addr_len(const struct sockaddr *addr)
{
    switch (addr->sa_family) {
    case AF_INET:
        return sizeof(struct sockaddr_in);
    case AF_INET6:
        return sizeof(struct sockaddr_in6);
    default:
        return 0;
    }
}
/* endregion: addr-len */

/* region: format-addr */
char *format_addr(const struct sockaddr *addr, char *text, size_t size)
{
    char ip[INET6_ADDRSTRLEN];

    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)addr;
        inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof ip);
        snprintf(text, size, "%s:%u", ip, (unsigned)ntohs(in4->sin_port));
    } else if (addr->sa_family == AF_INET6) {
        /* Brackets keep the port apart from the colons of the address. */
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        char scope[IF_NAMESIZE + 1] = "";
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        /* A link-local address means nothing without its interface: keep
         * it, by name where the interface still has one. */
        if (in6->sin6_scope_id != 0 &&
            if_indextoname(in6->sin6_scope_id, scope + 1) != NULL)
            scope[0] = '%';
        else if (in6->sin6_scope_id != 0)
            snprintf(scope, sizeof scope, "%%%u",
                     (unsigned)in6->sin6_scope_id);
        snprintf(text, size, "[%s%s]:%u", ip, scope,
                 (unsigned)ntohs(in6->sin6_port));
    } else {
        snprintf(text, size, "(address family %d)", (int)addr->sa_family);
    }
    return text;
}
/* endregion: format-addr */

uint16_t addr_port(const struct sockaddr *addr)
{
    if (addr->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)addr)->sin_port);
    if (addr->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
    return 0;
}

const char *family_name(int family)
{
    switch (family) {
    case AF_INET:
        return "AF_INET";
    case AF_INET6:
        return "AF_INET6";
    case AF_UNIX:
        return "AF_UNIX";
    default:
        return "AF_?";
    }
}

/* addr.h - turning text into socket addresses and back.
 *
 * Every program in socklab takes a host and a port on its command line and
 * prints the addresses it uses. These helpers do the three conversions a
 * learner needs: text port -> number, host + port -> struct sockaddr (through
 * getaddrinfo, so names, IPv4 and IPv6 all work), and sockaddr -> text.
 */
#ifndef SOCKLAB_ADDR_H
#define SOCKLAB_ADDR_H

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest text format_addr writes: "[" + IPv6 text (45) + "%" + an
 * interface name (15) + "]:" + 5 digits + NUL = 70, rounded up. */
#define ADDR_TEXT_MAX 80

/* Parse a decimal port, 0..65535. Digits only: "", "abc", "-1", "+1",
 * " 7000", "7000x" and "65536" are all refused. Returns 0 on success, -1
 * (port untouched) otherwise. */
int parse_port(const char *text, uint16_t *port);

/* getaddrinfo for one host and port. socktype is SOCK_STREAM or SOCK_DGRAM;
 * passive asks for addresses to bind (AI_PASSIVE) rather than to connect to.
 * Returns 0 and a list to release with freeaddrinfo, or an EAI_* code for
 * gai_strerror. An empty host is refused with EAI_NONAME. */
int resolve(const char *host, uint16_t port, int socktype, int passive,
            struct addrinfo **list);

/* Our uv_ip4_addr / uv_ip6_addr: the same three arguments (host, port,
 * &addr) and the same job, filling addr, but host may be IPv4, IPv6 or a name.
 * Takes the first address getaddrinfo gives for a passive TCP socket.
 * Returns 0 or an EAI_* code. */
int ip_addr(const char *host, uint16_t port, struct sockaddr_storage *addr);

/* The length the kernel expects for addr's family (sizeof sockaddr_in or
 * sockaddr_in6); 0 for a family we do not handle. */
socklen_t addr_len(const struct sockaddr *addr);

/* Write addr as "127.0.0.1:7000" or "[::1]:7000" into text (at least
 * ADDR_TEXT_MAX bytes). An IPv6 address with a scope (a link-local one,
 * bound or reached through one interface) keeps it: "[fe80::1%eth0]:7000",
 * so the text can be pasted into a client as it is. Returns text, so it
 * can sit inside a printf. */
char *format_addr(const struct sockaddr *addr, char *text, size_t size);

/* The port of an IPv4 or IPv6 address, in host byte order. */
uint16_t addr_port(const struct sockaddr *addr);

/* "AF_INET", "AF_INET6", ... for traces. */
const char *family_name(int family);

#endif

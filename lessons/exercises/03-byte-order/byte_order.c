/* byte_order.c - exercise 3: a socket address filled in by hand.
 *
 * Every program so far let getaddrinfo (through common/) build its socket
 * addresses. This one builds a struct sockaddr_in itself, from an IPv4
 * address and a port given as text, shows the bytes it holds, turns them
 * back into text, and sends one UDP datagram to that address, so the kernel
 * reads the same bytes too:
 *
 *   TODO 1  fill in sin: the family, the port (htons) and the address
 *           (inet_pton), refusing text that is not an IPv4 address
 *   TODO 2  read it back: the port (ntohs) and the address (inet_ntop)
 *
 * As it stands it prints zeros, and the datagram goes nowhere. `make
 * exercise 3` builds your copy and checks it; by hand:
 *
 *   build/exercises/03-byte-order 127.0.0.1 7000
 *
 * Usage: byte-order [-h] ADDR PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "fail.h"
#include "trace.h"

static const char usage[] =
    "usage: byte-order [-h] ADDR PORT\n"
    "  Exercise 3: fill a struct sockaddr_in by hand, show its bytes,\n"
    "  read it back, and send one UDP datagram to it.\n"
    "  ADDR  an IPv4 address in dotted decimal, e.g. 127.0.0.1\n"
    "  PORT  0-65535\n";

/* The bytes of one field as they sit in memory, first byte first. */
static void show_bytes(const char *field, const void *at, size_t size)
{
    const unsigned char *byte = at;

    printf("%-11s", field);
    for (size_t i = 0; i < size; i++)
        printf(" %02x", byte[i]);
    printf("\n");
}

/* Send one datagram to sin: the kernel reads sin_port and sin_addr the way
 * the network does, most significant byte first. */
static void send_hello(const struct sockaddr_in *sin, const char *to)
{
    static const char hello[] = "byte-order says hello\n";

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        die_errno(EX_OSERR, "socket");
    ssize_t n = sendto(fd, hello, sizeof hello - 1, 0,
                       (const struct sockaddr *)sin, sizeof *sin);
    if (n < 0)
        die_errno(EX_OSERR, "sendto %s", to);
    printf("sendto:     %zd bytes to %s\n", n, to);
    close(fd);
}

int main(int argc, char **argv)
{
    struct sockaddr_in sin;
    uint16_t port;

    trace_init("byte-order", 0);
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "--help") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc != 3) {
        fputs(usage, stderr);
        return EX_USAGE;
    }
    const char *text = argv[1];
    if (parse_port(argv[2], &port) < 0)
        die(EX_USAGE, "bad port '%s': expected a number from 0 to 65535",
            argv[2]);

    /* Every byte zero first: the padding (sin_zero) included. */
    memset(&sin, 0, sizeof sin);

    /* TODO 1 (lesson 03, byte order): fill in sin.
     *
     *   sin.sin_family  AF_INET (a plain number in this host's order: the
     *                   kernel reads it, the network never sees it)
     *   sin.sin_port    the port in network byte order, most significant
     *                   byte first: htons(port)
     *   sin.sin_addr    inet_pton(AF_INET, text, &sin.sin_addr) writes the
     *                   four bytes, already in network order. It returns 1
     *                   for an address, 0 for text that is not an IPv4
     *                   address (say so and exit 64, EX_USAGE, naming the
     *                   text and what would work), -1 with errno set for an
     *                   unknown family.
     */
    (void)text;  /* unused until TODO 1 uses it: delete this line then */

    printf("sin_family: %d%s\n", (int)sin.sin_family,
           sin.sin_family == AF_INET ? " (AF_INET)" : "");
    show_bytes("sin_port:", &sin.sin_port, sizeof sin.sin_port);
    show_bytes("sin_addr:", &sin.sin_addr, sizeof sin.sin_addr);

    char back[INET_ADDRSTRLEN] = "?";
    unsigned back_port = 0;
    /* TODO 2 (lesson 03, byte order): read sin back into numbers and text.
     *
     *   back_port  the port as a number again: ntohs(sin.sin_port)
     *   back       the address as text: inet_ntop(AF_INET, &sin.sin_addr,
     *              back, sizeof back), which returns NULL on failure
     */
    char where[INET_ADDRSTRLEN + 8];
    snprintf(where, sizeof where, "%s:%u", back, back_port);
    printf("read back:  %s\n", where);

    send_hello(&sin, where);
    return 0;
}

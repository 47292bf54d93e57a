/* 03-byte-order.c - the reference solution of exercise 3 (byte order).
 *
 * lessons/exercises/03-byte-order/byte_order.c with its two TODOs done. The
 * suite checks that this file passes every check of `make exercise 3` and
 * that the starting file does not.
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

    /* TODO 1: family, port, address. */
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    int rc = inet_pton(AF_INET, text, &sin.sin_addr);
    if (rc == 0)
        die(EX_USAGE, "'%s' is not an IPv4 address: expected four numbers "
            "from 0 to 255 with dots between, e.g. 127.0.0.1", text);
    if (rc < 0)
        die_errno(EX_OSERR, "inet_pton");

    printf("sin_family: %d%s\n", (int)sin.sin_family,
           sin.sin_family == AF_INET ? " (AF_INET)" : "");
    show_bytes("sin_port:", &sin.sin_port, sizeof sin.sin_port);
    show_bytes("sin_addr:", &sin.sin_addr, sizeof sin.sin_addr);

    char back[INET_ADDRSTRLEN] = "?";
    unsigned back_port = 0;
    /* TODO 2: back to a number and to text. */
    back_port = ntohs(sin.sin_port);
    if (inet_ntop(AF_INET, &sin.sin_addr, back, sizeof back) == NULL)
        die_errno(EX_OSERR, "inet_ntop");
    char where[INET_ADDRSTRLEN + 8];
    snprintf(where, sizeof where, "%s:%u", back, back_port);
    printf("read back:  %s\n", where);

    send_hello(&sin, where);
    return 0;
}

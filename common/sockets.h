/* sockets.h - the BSD socket steps every TCP program in socklab takes.
 *
 * Server side: open_listener (socket, setsockopt, bind, listen),
 * say_listening (getsockname and the ready line), accept_client (accept).
 * Client side: connect_to (getaddrinfo, then socket + connect for each
 * address in turn). Each step is traced with -v, with its libuv twin.
 */
#ifndef SOCKLAB_SOCKETS_H
#define SOCKLAB_SOCKETS_H

#include <stdint.h>
#include <sys/socket.h>

/* socket -> setsockopt(SO_REUSEADDR) -> bind -> listen for addr. On failure
 * prints one line and exits (71 for a failed system call, with a hint for
 * "address in use"). Returns the listening descriptor. */
int open_listener(const struct sockaddr_storage *addr, int backlog);

/* getsockname, then print "listening on ADDR:PORT" on stdout and flush it:
 * the line tests and scripts wait for. Returns 0 or -1 (errno set). */
int say_listening(int listen_fd);

/* accept one connection. Returns the connected descriptor and fills peer,
 * or -1: errno EINTR when a signal arrived (the caller checks its flags and
 * comes back), otherwise the accept error after it has been reported.
 * Errors a client can cause (ECONNABORTED: it left while queued) are
 * retried here. */
int accept_client(int listen_fd, struct sockaddr_storage *peer);

/* Resolve host and port and connect to the first address that accepts,
 * trying each in turn as real clients do. Returns the connected descriptor;
 * on failure prints one line and exits (68 for a name that does not resolve,
 * 69 when nothing answers). */
int connect_to(const char *host, uint16_t port);

#endif

/* sockets.h - the BSD socket steps every TCP program in socklab takes.
 *
 * Server side: open_listener (socket, setsockopt, bind, listen),
 * say_listening (getsockname and the ready line), after_accept_error.
 * Lesson 01 shows these calls raw in server/echo_server.c; later servers
 * reach the same steps through here.
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

/* open_listener with type_flags or'ed into socket's type: SOCK_NONBLOCK |
 * SOCK_CLOEXEC (Linux, the BSDs) makes the listener non-blocking and
 * close-on-exec from birth, as libuv's uv__socket does, instead of an
 * fcntl afterwards. */
int open_listener_flags(const struct sockaddr_storage *addr, int backlog,
                        int type_flags);

/* getsockname, then print "listening on ADDR:PORT" on stdout and flush it:
 * the line tests and scripts wait for. Returns 0 or -1 (errno set). */
int say_listening(int listen_fd);

/* What to do after accept returned -1 with errno err: nothing for a
 * signal (EINTR: the caller's loop checks its flags) or a client that left
 * while queued (ECONNABORTED, EPROTO); otherwise one line on stderr, and
 * after running out of descriptors or memory a 100 ms pause, since the
 * queued connection would make accept fail again at once. */
void after_accept_error(int err);

/* Resolve host and port and connect to the first address that accepts,
 * trying each in turn as real clients do. Returns the connected descriptor;
 * on failure prints one line and exits (68 for a name that does not resolve,
 * 69 when nothing answers). */
int connect_to(const char *host, uint16_t port);

#endif

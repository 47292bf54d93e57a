/* echo.h - the Echo protocol (RFC 862) on one connected socket.
 *
 * Read what arrives, write every byte back, until the peer closes. Shared by
 * every blocking server (iterative and fork-per-client).
 */
#ifndef SOCKLAB_ECHO_H
#define SOCKLAB_ECHO_H

#include <stddef.h>

enum echo_end {
    ECHO_PEER_CLOSED,  /* read returned 0: the client finished */
    ECHO_BROKEN,       /* reset, EPIPE, ...: the client vanished */
    ECHO_STOPPED,      /* SIGINT/SIGTERM arrived */
    ECHO_IDLE,         /* no byte within the idle timeout (SO_RCVTIMEO) */
    ECHO_NOT_READING   /* our write could not finish within it
                          (SO_SNDTIMEO): the client sends, never reads */
};

/* Echo on fd until the peer closes, the connection breaks or a stop is
 * requested. Adds the bytes echoed to *echoed. Does not close fd. */
enum echo_end echo_connection(int fd, unsigned long long *echoed);

#endif

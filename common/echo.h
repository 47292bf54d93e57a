/* echo.h - the Echo protocol (RFC 862) on one connected blocking socket.
 *
 * Read what arrives, write every byte back, until the peer closes, the
 * connection breaks, an idle timeout runs out or a stop cannot wait. Used by
 * the fork server's children; echo-server has the same loop in its own file,
 * since it is lesson 01's subject.
 *
 * And how a server ends a session on purpose: reset_on_close (SO_LINGER)
 * and unsent_bytes, for the clients it cuts off; every TCP server uses
 * these, the libuv one included.
 */
#ifndef SOCKLAB_ECHO_H
#define SOCKLAB_ECHO_H

#include <stddef.h>

/* How a session ended, which decides how the server hangs up: a normal
 * close (FIN) when every byte owed went back, a reset otherwise. */
enum echo_end {
    ECHO_PEER_CLOSED,  /* read returned 0: the client finished, all echoed */
    ECHO_BROKEN,       /* reset, EPIPE, ...: the client vanished */
    ECHO_CUT_OFF,      /* a second stop signal, or the grace period ran out */
    ECHO_IDLE,         /* no byte came for -t seconds (SO_RCVTIMEO); nothing
                          was owed */
    ECHO_NOT_READING   /* no room came for our echo for -t seconds
                          (SO_SNDTIMEO): the client reads none of it */
};

/* The default idle timeout (-t) of every TCP server, in seconds. */
#define DEFAULT_IDLE_SECONDS 300

/* SO_LINGER on a connected socket. on = 1: {1, 0}, from now on close sends
 * RST instead of FIN and throws away whatever is still unsent, so the peer
 * sees ECONNRESET, never a normal end of file after half its echo. on = 0:
 * {0, 0}, the normal close again. Traced; a failure is reported in one line.
 * Returns setsockopt's result. */
int reset_on_close(int fd, int on);

/* Bytes that write() handed to the kernel for fd and the kernel has not yet
 * sent (Linux: SIOCOUTQNSD). A reset drops them: the peer never gets them,
 * so a server takes them off its count before it resets. 0 where the system
 * cannot say. */
long unsent_bytes(int fd);

/* Echo on fd until one of the ends above. A first stop (STOP_FINISH) does
 * not end it: the client may finish. Adds each write's count to *written as
 * it goes, so a process killed midway has still counted what the kernel took.
 * Does not close fd. */
enum echo_end echo_connection(int fd, _Atomic long long *written);

#endif

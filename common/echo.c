/* echo.c - see echo.h. */
#include "echo.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/sockios.h>  /* SIOCOUTQNSD */
#endif

#include "fail.h"
#include "signals.h"
#include "trace.h"

/* Why a read or write failed, as an echo_end. */
static enum echo_end failure(int reading)
{
    if (errno == EAGAIN || errno == EWOULDBLOCK)  /* -t ran out */
        return reading ? ECHO_IDLE : ECHO_NOT_READING;
    return ECHO_BROKEN;
}

/* region: echo-loop */
/* write may take only part of the buffer (the socket's send buffer is
 * full); the rest is still ours to send. Each count goes into *written at
 * once: the summary must say what the kernel took, to the byte. Returns 0
 * when all n bytes went, or -1 with *end saying why not. */
static int write_back(int fd, const char *buf, size_t n,
                      _Atomic long long *written, enum echo_end *end)
{
    size_t sent = 0;

    while (sent < n) {
        if (stop_requested == STOP_NOW) {
            *end = ECHO_CUT_OFF;
            return -1;
        }
        ssize_t w = write(fd, buf + sent, n - sent);
        trace_write(w, fd, n - sent);
        if (w < 0 && errno == EINTR)
            continue;  /* a signal: the test above decides */
        if (w < 0) {
            *end = failure(0);
            return -1;
        }
        sent += (size_t)w;
        atomic_fetch_add(written, (long long)w);
    }
    return 0;
}

enum echo_end echo_connection(int fd, _Atomic long long *written)
{
    char buf[64 * 1024];

    while (stop_requested != STOP_NOW) {
        /* read blocks until at least one byte is here, the client closes
         * its side (0), or the connection breaks (-1). */
        ssize_t n = read(fd, buf, sizeof buf);
        trace_read(n, fd, "echo_read");
        if (n == 0)
            return ECHO_PEER_CLOSED;
        if (n < 0 && errno == EINTR)
            continue;  /* a first stop too: this client may finish */
        if (n < 0)
            return failure(1);

        /* Send back exactly the n bytes read, not the whole buffer. */
        enum echo_end end;
        if (write_back(fd, buf, (size_t)n, written, &end) < 0)
            return end;
    }
    return ECHO_CUT_OFF;
}
/* endregion: echo-loop */

/* region: reset-on-close */
int reset_on_close(int fd, int on)
{
    struct linger linger = {on, 0};

    int rc = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
    trace(rc, on ? "close will send RST" : "close will send FIN",
          on ? "uv_tcp_close_reset sets the same" : "(libuv: the default)",
          "setsockopt(%d, SO_LINGER, {%d, 0})", fd, on);
    if (rc < 0)
        warn_msg("setsockopt SO_LINGER: %s", strerror(errno));
    return rc;
}
/* endregion: reset-on-close */

long unsent_bytes(int fd)
{
#ifdef SIOCOUTQNSD
    int unsent = 0;
    if (ioctl(fd, SIOCOUTQNSD, &unsent) == 0 && unsent > 0)
        return unsent;
#else
    (void)fd;
#endif
    return 0;
}

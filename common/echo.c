/* echo.c - see echo.h. */
#include "echo.h"

#include <errno.h>
#include <stdio.h>

#include "io.h"
#include "signals.h"
#include "trace.h"

/* Why a read or write failed, as an echo_end. */
static enum echo_end failure(void)
{
    if (errno == EINTR && stop_requested)
        return ECHO_STOPPED;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return ECHO_IDLE;  /* SO_RCVTIMEO ran out */
    return ECHO_BROKEN;
}

/* region: echo-loop */
enum echo_end echo_connection(int fd, unsigned long long *echoed)
{
    char buf[64 * 1024];

    for (;;) {
        /* read blocks until at least one byte is here, the client closes
         * its side (0), or the connection breaks (-1). */
        ssize_t n = read_some(fd, buf, sizeof buf);
        trace_read(n, fd, "echo_read");
        if (n == 0)
            return ECHO_PEER_CLOSED;
        if (n < 0)
            return failure();

        /* Send back exactly the n bytes read, not the whole buffer. */
        int rc = write_all(fd, buf, (size_t)n);
        trace(rc == 0 ? n : -1, NULL, "uv_write", "write(%d, %zd)", fd, n);
        if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return ECHO_NOT_READING;  /* SO_SNDTIMEO ran out */
        if (rc < 0)
            return failure();
        *echoed += (unsigned long long)n;
    }
}
/* endregion: echo-loop */

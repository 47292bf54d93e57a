/* io.c - see io.h. */
#include "io.h"

#include <errno.h>
#include <unistd.h>

#include "signals.h"

/* region: read-some */
ssize_t read_some(int fd, void *buf, size_t size)
{
    for (;;) {
        /* A stop that landed between two calls (not during one) set the
         * flag without interrupting anything: honour it before blocking. */
        if (stop_requested) {
            errno = EINTR;
            return -1;
        }
        ssize_t n = read(fd, buf, size);
        /* A signal landed before any byte arrived. Go back to waiting,
         * unless that signal was the request to stop. */
        if (n < 0 && errno == EINTR && !stop_requested)
            continue;
        return n;
    }
}
/* endregion: read-some */

/* region: read-full */
ssize_t read_full(int fd, void *buf, size_t size)
{
    char *p = buf;
    size_t got = 0;

    /* TCP is a byte stream: 6 bytes written may arrive as 2 + 4. */
    while (got < size) {
        ssize_t n = read_some(fd, p + got, size - got);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}
/* endregion: read-full */

/* region: write-all */
int write_all(int fd, const void *buf, size_t size)
{
    const char *p = buf;

    /* write may take only part of the buffer when the socket's send buffer
     * is full; the rest is still ours to send. */
    while (size > 0) {
        /* A stop during a partial write shows up only here: write returned
         * the bytes it took, not EINTR. */
        if (stop_requested) {
            errno = EINTR;
            return -1;
        }
        ssize_t n = write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR && !stop_requested)
                continue;
            return -1;
        }
        p += n;
        size -= (size_t)n;
    }
    return 0;
}
/* endregion: write-all */

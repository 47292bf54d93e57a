/* io.h - read and write that finish the job.
 *
 * read and write on a socket may move fewer bytes than asked for, and a
 * signal may interrupt them (EINTR) before they move any. Every program needs
 * the same three loops around them; they live here once.
 *
 * An EINTR is retried, unless stop_requested (signals.h) has been set, in
 * which case the helper returns -1 with errno == EINTR so the program can
 * wind down instead of blocking again.
 */
#ifndef SOCKLAB_IO_H
#define SOCKLAB_IO_H

#include <stddef.h>
#include <sys/types.h>

/* One read(2): up to size bytes, at least 1 unless end of file (0) or error
 * (-1, errno set). */
ssize_t read_some(int fd, void *buf, size_t size);

/* Read exactly size bytes. Returns size, or fewer if end of file came first,
 * or -1 on error (errno set). */
ssize_t read_full(int fd, void *buf, size_t size);

/* Write all size bytes, however many write(2) calls it takes. Returns 0, or
 * -1 on error (errno set; some bytes may have gone). */
int write_all(int fd, const void *buf, size_t size);

#endif

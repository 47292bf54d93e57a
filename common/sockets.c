/* sockets.c - see sockets.h. */
#include "sockets.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "fail.h"
#include "signals.h"
#include "trace.h"

/* "|SOCK_NONBLOCK|SOCK_CLOEXEC", or the part of it type_flags holds. */
static const char *type_flag_names(int type_flags)
{
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    int nb = (type_flags & SOCK_NONBLOCK) != 0;
    int ce = (type_flags & SOCK_CLOEXEC) != 0;
    return nb && ce ? "|SOCK_NONBLOCK|SOCK_CLOEXEC"
           : nb     ? "|SOCK_NONBLOCK"
           : ce     ? "|SOCK_CLOEXEC"
                    : "";
#else
    return type_flags != 0 ? "|(flags)" : "";
#endif
}

/* region: open-listener */
int open_listener(const struct sockaddr_storage *addr, int backlog)
{
    return open_listener_flags(addr, backlog, 0);
}

int open_listener_flags(const struct sockaddr_storage *addr, int backlog,
                        int type_flags)
{
    const struct sockaddr *sa = (const struct sockaddr *)addr;
    char where[ADDR_TEXT_MAX];
    int one = 1;

    format_addr(sa, where, sizeof where);

    /* region: listener-socket */
    /* 1. A socket is just a descriptor until we give it an address. */
    int fd = socket(sa->sa_family, SOCK_STREAM | type_flags, 0);
    trace(fd, NULL, "made in uv_tcp_bind (uv_tcp_init makes none)",
          "socket(%s, SOCK_STREAM%s, 0)", family_name(sa->sa_family),
          type_flag_names(type_flags));
    if (fd < 0)
        die(EX_OSERR, "socket: %s%s", strerror(errno), errno_hint(errno));
    /* endregion: listener-socket */

    /* region: listener-reuseaddr */
    /* 2. Without SO_REUSEADDR, a restarted server cannot bind its port
     * while connections from the last run sit in TIME_WAIT (about a
     * minute). uv_tcp_bind sets the same option for the same reason. */
    int rc = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    trace(rc, NULL, "set inside uv_tcp_bind",
          "setsockopt(%d, SO_REUSEADDR, 1)", fd);
    if (rc < 0)
        die(EX_OSERR, "setsockopt SO_REUSEADDR: %s", strerror(errno));
    /* endregion: listener-reuseaddr */

    /* region: listener-bind */
    /* 3. bind claims the address and port; port 0 lets the kernel pick. */
    rc = bind(fd, sa, addr_len(sa));
    trace(rc, NULL, uv_bind_twin(sa->sa_family), "bind(%d, %s)", fd, where);
    if (rc < 0)
        die(EX_OSERR, "bind %s: %s%s", where, strerror(errno),
            errno_hint(errno));
    /* endregion: listener-bind */

    /* region: listener-listen */
    /* 4. listen turns it into a passive socket: the kernel now completes
     * handshakes and queues up to `backlog` connections for accept. */
    rc = listen(fd, backlog);
    trace(rc, NULL, "uv_listen", "listen(%d, %d)", fd, backlog);
    if (rc < 0)
        die(EX_OSERR, "listen %s: %s%s", where, strerror(errno),
            errno_hint(errno));
    /* endregion: listener-listen */
    return fd;
}
/* endregion: open-listener */

/* region: say-listening */
int say_listening(int listen_fd)
{
    struct sockaddr_storage local;
    socklen_t len = sizeof local;
    char text[ADDR_TEXT_MAX];

    /* Ask the kernel which port we got: with port 0 only it knows. */
    int rc = getsockname(listen_fd, (struct sockaddr *)&local, &len);
    if (rc == 0)
        format_addr((struct sockaddr *)&local, text, sizeof text);
    trace(rc, rc == 0 ? text : NULL, "uv_tcp_getsockname",
          "getsockname(%d)", listen_fd);
    if (rc < 0)
        return -1;
    /* The one line on stdout. Flushed now: when stdout is a pipe it is
     * fully buffered, and whoever waits for this line would wait forever. */
    printf("listening on %s\n", text);
    return fflush(stdout) == 0 ? 0 : -1;
}
/* endregion: say-listening */

/* region: after-accept-error */
void after_accept_error(int err)
{
    /* A signal: the caller's loop looks at its flags (stop? a child?). A
     * client that gave up while it was queued is no error of ours. */
    if (err == EINTR || err == ECONNABORTED || err == EPROTO)
        return;
    warn_msg("accept: %s%s", strerror(err), errno_hint(err));
    /* Out of descriptors or memory: the connection stays queued, so accept
     * would fail again at once. Pause a moment instead of spinning. */
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}
/* endregion: after-accept-error */

/* region: connect-to */
int connect_to(const char *host, uint16_t port)
{
    struct addrinfo *list;
    char where[ADDR_TEXT_MAX];
    int err = 0;

    int rc = resolve(host, port, SOCK_STREAM, 0, &list);
    if (rc != 0)
        die_unresolved(host, rc, 0);

    /* A name may have several addresses (localhost: ::1 and 127.0.0.1).
     * Try each in the order getaddrinfo prefers until one answers. */
    for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        format_addr(ai->ai_addr, where, sizeof where);
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        trace(fd, NULL, "made in uv_tcp_connect (uv_tcp_init makes none)",
              "socket(%s, SOCK_STREAM, 0)", family_name(ai->ai_family));
        if (fd < 0) {
            err = errno;
            continue;
        }
        /* connect does the three-way handshake and blocks until it ends. */
        rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        trace(rc, NULL, "uv_tcp_connect + on_connect", "connect(%d, %s)", fd,
              where);
        if (rc == 0) {
            freeaddrinfo(list);
            return fd;
        }
        err = errno;
        close(fd);
    }
    freeaddrinfo(list);
    errno = err;
    die(connect_exit_code(err), "connect %s: %s%s", where, strerror(err),
        errno_hint(err));
}
/* endregion: connect-to */

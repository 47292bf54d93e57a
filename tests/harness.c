/* harness.c - see harness.h.
 *
 * Linux-only pieces: prctl(PR_SET_PDEATHSIG) (sys/prctl.h declares it with
 * no feature macro), so that a server whose test was killed at its timeout
 * dies too instead of lingering; and the readings of /proc. The rest is
 * POSIX.1-2008.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SOCKLAB_ROOT
#define SOCKLAB_ROOT "."
#endif

/* Where the programs are: the Makefile names the bin directory of the
 * build this suite belongs to (bin/, or build/san/bin/ for SANITIZE=1), so
 * a sanitized suite runs sanitized programs. */
#ifndef SOCKLAB_BIN_DIR
#define SOCKLAB_BIN_DIR SOCKLAB_ROOT "/bin"
#endif

#define MAX_CHILDREN 64
#define MAX_ARGS 32
#define IO_CHUNK (64 * 1024)

/* ---- errors, time ---------------------------------------------------------- */

static char the_error[512] = "";

static void set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(the_error, sizeof the_error, fmt, ap);
    va_end(ap);
}

const char *harness_error(void)
{
    return the_error;
}

long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline, never negative, as poll wants it. */
static int left_ms(long long deadline)
{
    long long left = deadline - now_ms();
    if (left <= 0)
        return 0;
    return left > 60000 ? 60000 : (int)left;
}

/* See harness.h. In here it paces the loops that poll for a child's exit
 * (waitpid WNOHANG under a deadline): the nap only sets how often we look. */
void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static void set_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0)
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

/* Turn O_NONBLOCK on or off; returns the old file status flags. */
static int set_nonblock(int fd, int on)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -1;
    fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
    return flags;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* The test process writes to children's stdin pipes and to sockets whose
 * peers may be gone: it must see EPIPE, not die of SIGPIPE. */
static void ignore_sigpipe_once(void)
{
    static int done = 0;
    if (!done) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_IGN;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGPIPE, &sa, NULL);
        done = 1;
    }
}

/* ---- growable byte buffers ------------------------------------------------- */

struct buf {
    unsigned char *data;
    size_t len, cap;
};

static int buf_add(struct buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > cap)
            cap *= 2;
        unsigned char *d = realloc(b->data, cap);
        if (d == NULL)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* The buffer's bytes as a NUL-terminated malloc'd block, never NULL unless
 * memory ran out. */
static unsigned char *buf_take(struct buf *b)
{
    if (b->data == NULL)
        buf_add(b, "", 0);
    unsigned char *d = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

/* Read what fd has now, without blocking, until EOF or EAGAIN. */
static void drain_now(int fd, struct buf *b)
{
    char chunk[IO_CHUNK];
    int old = set_nonblock(fd, 1);
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n > 0) {
            buf_add(b, chunk, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    if (old >= 0)
        fcntl(fd, F_SETFL, old);
}

/* The whole of a (temp) file from offset 0, without moving its offset. */
static char *file_text(int fd)
{
    struct buf b = {0};
    char chunk[IO_CHUNK];
    off_t off = 0;
    for (;;) {
        ssize_t n = pread(fd, chunk, sizeof chunk, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        buf_add(&b, chunk, (size_t)n);
        off += n;
    }
    return (char *)buf_take(&b);
}

/* ---- binaries ------------------------------------------------------------- */

const char *bin_path(const char *name, char *buf, size_t size)
{
    const char *dir = getenv("SOCKLAB_BIN");
    if (strchr(name, '/') != NULL)
        snprintf(buf, size, "%s", name);
    else if (dir != NULL && *dir != '\0')
        snprintf(buf, size, "%s/%s", dir, name);
    else
        snprintf(buf, size, "%s/%s", SOCKLAB_BIN_DIR, name);
    return buf;
}

int bin_exists(const char *name)
{
    char path[1024];
    return access(bin_path(name, path, sizeof path), X_OK) == 0;
}

const char *find_on_path(const char *name, char *buf, size_t size)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/bin:/bin";
    while (*path != '\0') {
        size_t len = strcspn(path, ":");
        snprintf(buf, size, "%.*s/%s", (int)len, path, name);
        if (len > 0 && access(buf, X_OK) == 0)
            return buf;
        path += len;
        if (*path == ':')
            path++;
    }
    return NULL;
}

/* ---- children: start, remember, reap ------------------------------------ */

static pid_t the_children[MAX_CHILDREN];

static void track(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (the_children[i] == 0) {
            the_children[i] = pid;
            return;
        }
}

static void untrack(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (the_children[i] == pid)
            the_children[i] = 0;
}

static void decode_status(int status, struct exit_info *how)
{
    how->exited = WIFEXITED(status);
    how->code = how->exited ? WEXITSTATUS(status) : -1;
    how->signaled = WIFSIGNALED(status);
    how->signo = how->signaled ? WTERMSIG(status) : 0;
}

/* Wait for pid until deadline (WNOHANG + naps); SIGKILL and reap past it.
 * Returns 0 when it exited by itself, -1 when it had to be killed. */
static int reap_by(pid_t pid, long long deadline, struct exit_info *how)
{
    int status = 0;
    memset(how, 0, sizeof *how);
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            decode_status(status, how);
            untrack(pid);
            return 0;
        }
        if (r < 0 && errno != EINTR) {
            set_error("waitpid %ld: %s", (long)pid, strerror(errno));
            untrack(pid);
            how->exited = 0;
            how->code = -1;
            return -1;
        }
        if (now_ms() >= deadline)
            break;
        nap_ms(2);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    decode_status(status, how);
    how->timed_out = 1;
    untrack(pid);
    return -1;
}

/* In a new child, first thing: die when the test process dies. The
 * getppid check closes the race where the parent died before prctl. */
static void child_setup(pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(126);
}

/* Under make test SANITIZE=1 the programs get sanitizer options of their
 * own, SOCKLAB_PROGRAM_ASAN_OPTIONS, with leak checks on, which the test
 * process cannot have (Criterion never frees some of its memory). A
 * process reads ASAN_OPTIONS when it starts, so setting it here, once and
 * before any fork, leaves this process as it is and reaches only the
 * programs exec'd from now on. */
static void program_sanitizer_options_once(void)
{
    static int done = 0;
    const char *options = getenv("SOCKLAB_PROGRAM_ASAN_OPTIONS");
    if (!done && options != NULL)
        setenv("ASAN_OPTIONS", options, 1);
    done = 1;
}

/* fork, with what every child of the harness needs: it dies with the test
 * (child_setup) and the parent ignores SIGPIPE. Returns the pid in the
 * parent, 0 in the child, -1 (error set) on failure. */
static pid_t fork_child(void)
{
    pid_t parent = getpid();
    ignore_sigpipe_once();
    program_sanitizer_options_once();
    pid_t pid = fork();
    if (pid < 0)
        set_error("fork: %s", strerror(errno));
    else if (pid == 0)
        child_setup(parent);
    return pid;
}

/* fork + exec path with the given fds as its stdin/stdout/stderr (-1 means
 * /dev/null), and RLIMIT_NOFILE set to max_fds when that is above 0.
 * Returns the pid or -1. */
static pid_t spawn(const char *path, char *const argv[], int in, int out,
                   int err, int max_fds)
{
    pid_t pid = fork_child();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDWR);
        dup2(in >= 0 ? in : null_fd, 0);
        dup2(out >= 0 ? out : null_fd, 1);
        dup2(err >= 0 ? err : null_fd, 2);
        /* Nothing of the test's (its sockets, Criterion's own pipes) may
         * leak into the program: a copy of a client socket held by a
         * server would keep that connection open. */
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        if (max_fds > 0) {
            struct rlimit lim = {(rlim_t)max_fds, (rlim_t)max_fds};
            if (setrlimit(RLIMIT_NOFILE, &lim) < 0) {
                dprintf(2, "harness: setrlimit(RLIMIT_NOFILE, %d): %s\n",
                        max_fds, strerror(errno));
                _exit(126);
            }
        }
        /* Start the program as a shell would: default SIGPIPE, no
         * blocked signals. */
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(path, argv);
        dprintf(2, "harness: cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    track(pid);
    return pid;
}

/* argv for path + args (+ optional last). Returns argc, or -1 if too many. */
static int build_argv(char *argv[MAX_ARGS], const char *path,
                      const char *const args[], const char *last)
{
    int n = 0;
    argv[n++] = (char *)path;
    for (int i = 0; args != NULL && args[i] != NULL; i++) {
        if (n >= MAX_ARGS - 2)
            return -1;
        argv[n++] = (char *)args[i];
    }
    if (last != NULL)
        argv[n++] = (char *)last;
    argv[n] = NULL;
    return n;
}

pid_t child_run(int (*fn)(void *arg), void *arg)
{
    pid_t pid = fork_child();
    if (pid < 0)
        return -1;
    if (pid == 0)
        _exit(fn(arg) & 0xff);
    track(pid);
    return pid;
}

int child_wait(pid_t pid, int timeout_ms, struct exit_info *how)
{
    int rc = reap_by(pid, now_ms() + timeout_ms, how);
    if (rc < 0 && how->timed_out)
        set_error("child %ld did not exit within %d ms", (long)pid,
                  timeout_ms);
    return rc;
}

void harness_cleanup(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        pid_t pid = the_children[i];
        if (pid > 0) {
            int status;
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            the_children[i] = 0;
        }
    }
}

const char *describe_exit(const struct exit_info *how, char *buf, size_t size)
{
    if (how->timed_out)
        snprintf(buf, size, "timed out (killed)");
    else if (how->exited)
        snprintf(buf, size, "exit %d", how->code);
    else if (how->signaled)
        snprintf(buf, size, "killed by signal %d", how->signo);
    else
        snprintf(buf, size, "unknown end");
    return buf;
}

int exited_with(const struct exit_info *how, int code)
{
    return how->exited && !how->timed_out && how->code == code;
}

/* ---- servers --------------------------------------------------------------- */

/* Read one line (without '\n') from fd before deadline, a byte at a time so
 * nothing after the line is taken from the pipe. Returns 0, or -1 on EOF,
 * error or timeout (errno ETIMEDOUT for the last). */
static int read_line_by(int fd, char *line, size_t size, long long deadline)
{
    size_t used = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int rc = poll(&p, 1, left_ms(deadline));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return -1;
        if (rc == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            errno = n == 0 ? EPIPE : errno;
            return -1;
        }
        if (c == '\n') {
            line[used] = '\0';
            return 0;
        }
        if (used + 1 < size)
            line[used++] = c;
    }
}

/* "HOST:PORT", "[HOST]:PORT" or "AF=N HOST:PORT" after marker. */
static int parse_ready(struct server *srv, const char *after)
{
    const char *p = after;
    const char *host_end, *port_text;

    if (strncmp(p, "AF=", 3) == 0) {
        p = strchr(p, ' ');
        if (p == NULL)
            return -1;
        p++;
    }
    if (*p == '[') {
        p++;
        host_end = strchr(p, ']');
        if (host_end == NULL || host_end[1] != ':')
            return -1;
        port_text = host_end + 2;
    } else {
        host_end = strrchr(p, ':');
        if (host_end == NULL)
            return -1;
        port_text = host_end + 1;
    }
    size_t len = (size_t)(host_end - p);
    if (len == 0 || len >= sizeof srv->host)
        return -1;
    memcpy(srv->host, p, len);
    srv->host[len] = '\0';

    unsigned long port = 0;
    if (*port_text < '0' || *port_text > '9')
        return -1;
    for (; *port_text >= '0' && *port_text <= '9'; port_text++) {
        port = port * 10 + (unsigned long)(*port_text - '0');
        if (port > 65535)
            return -1;
    }
    if (*port_text != '\0' && *port_text != ' ')
        return -1;
    srv->port = (uint16_t)port;
    srv->family = strchr(srv->host, ':') != NULL ? AF_INET6 : AF_INET;
    return 0;
}

static void server_collect(struct server *srv)
{
    free(srv->err_text);
    free(srv->out_rest);
    srv->err_text = NULL;
    srv->out_rest = NULL;
    if (srv->err_fd >= 0) {
        if (srv->err_is_pipe) {
            struct buf b = {0};
            drain_now(srv->err_fd, &b);
            srv->err_text = (char *)buf_take(&b);
        } else {
            srv->err_text = file_text(srv->err_fd);
        }
    }
    if (srv->out_fd >= 0) {
        struct buf b = {0};
        drain_now(srv->out_fd, &b);
        srv->out_rest = (char *)buf_take(&b);
    }
    if (srv->err_text == NULL)
        srv->err_text = calloc(1, 1);
    if (srv->out_rest == NULL)
        srv->out_rest = calloc(1, 1);
    close_fd(&srv->err_fd);
    close_fd(&srv->out_fd);
}

/* server_start_argv, with the fd limit spawn takes. */
static int start_argv(struct server *srv, char *const argv[],
                      const char *marker, int ready_on_stderr, int max_fds)
{
    char path[1024];
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    int err_file = -1;

    memset(srv, 0, sizeof *srv);
    srv->out_fd = srv->err_fd = -1;
    snprintf(srv->name, sizeof srv->name, "%s", argv[0]);
    bin_path(argv[0], path, sizeof path);
    if (access(path, X_OK) != 0) {
        set_error("%s: no such program (%s)", path, strerror(errno));
        return -1;
    }

    if (pipe(out) < 0) {
        set_error("pipe: %s", strerror(errno));
        return -1;
    }
    if (ready_on_stderr) {
        if (pipe(err) < 0) {
            set_error("pipe: %s", strerror(errno));
            close(out[0]);
            close(out[1]);
            return -1;
        }
    } else {
        /* A file, not a pipe: nobody reads a server's stderr while it
         * runs, and a -v trace must never block on a full pipe. */
        char name[] = "/tmp/socklab-test-stderr-XXXXXX";
        err_file = mkstemp(name);
        if (err_file < 0) {
            set_error("mkstemp: %s", strerror(errno));
            close(out[0]);
            close(out[1]);
            return -1;
        }
        unlink(name);
    }

    char *args[MAX_ARGS];
    int n = 0;
    args[n++] = path;
    for (int i = 1; argv[i] != NULL && n < MAX_ARGS - 1; i++)
        args[n++] = argv[i];
    args[n] = NULL;

    srv->pid = spawn(path, args, -1, out[1],
                     ready_on_stderr ? err[1] : err_file, max_fds);
    close(out[1]);
    if (ready_on_stderr)
        close(err[1]);
    srv->out_fd = out[0];
    srv->err_fd = ready_on_stderr ? err[0] : err_file;
    srv->err_is_pipe = ready_on_stderr;
    set_cloexec(srv->out_fd);
    set_cloexec(srv->err_fd);
    if (srv->pid < 0) {
        srv->pid = 0;
        server_release(srv);
        return -1;
    }

    /* Wait for the ready line: the server has bound and listens once it
     * has printed it. Lines without the marker are skipped. */
    long long deadline = now_ms() + HARNESS_READY_MS;
    int ready_fd = ready_on_stderr ? srv->err_fd : srv->out_fd;
    char line[sizeof srv->ready_line];
    for (;;) {
        if (read_line_by(ready_fd, line, sizeof line, deadline) < 0) {
            int timed_out = errno == ETIMEDOUT;
            char how[64];
            reap_by(srv->pid, now_ms() + (timed_out ? 0 : HARNESS_STOP_MS),
                    &srv->exit);
            srv->pid = 0;
            server_collect(srv);
            char first[200] = "";
            line_with(srv->err_text, "", first, sizeof first);
            set_error("%s: %s before its ready line (%s); stderr: %s",
                      srv->name,
                      timed_out ? "no ready line in time" : "ended",
                      describe_exit(&srv->exit, how, sizeof how), first);
            return -1;
        }
        const char *at = strstr(line, marker);
        if (at != NULL) {
            snprintf(srv->ready_line, sizeof srv->ready_line, "%s", line);
            if (parse_ready(srv, at + strlen(marker)) < 0) {
                set_error("%s: cannot parse ready line '%s'", srv->name,
                          line);
                server_stop(srv);
                return -1;
            }
            return 0;
        }
        srv->lines_before_ready++;
    }
}

int server_start_argv(struct server *srv, char *const argv[],
                      const char *marker, int ready_on_stderr)
{
    return start_argv(srv, argv, marker, ready_on_stderr, 0);
}

int server_start_fd_limit(struct server *srv, const char *name,
                          const char *const args[], const char *port,
                          int max_fds)
{
    char *argv[MAX_ARGS];
    if (build_argv(argv, name, args, port != NULL ? port : "0") < 0) {
        memset(srv, 0, sizeof *srv);
        srv->out_fd = srv->err_fd = -1;
        set_error("too many arguments for %s", name);
        return -1;
    }
    if (start_argv(srv, argv, "listening on ", 0, max_fds) < 0)
        return -1;
    /* The contract: the ready line is all a socklab server prints on
     * stdout, so it is the first line, and it starts with the words. */
    if (srv->lines_before_ready > 0 ||
        strncmp(srv->ready_line, "listening on ", 13) != 0) {
        set_error("%s: ready line '%s' is not alone at the start of stdout "
                  "(%d other lines before it)", name, srv->ready_line,
                  srv->lines_before_ready);
        server_stop(srv);
        return -1;
    }
    if (srv->port == 0) {
        set_error("%s: ready line '%s' names port 0, not the real port",
                  name, srv->ready_line);
        server_stop(srv);
        return -1;
    }
    return 0;
}

int server_start(struct server *srv, const char *name,
                 const char *const args[], const char *port)
{
    return server_start_fd_limit(srv, name, args, port, 0);
}

/* The state letter of pid from /proc/PID/stat ("1234 (name) S ..."), or
 * 0 when it cannot be read. */
static char process_state(pid_t pid)
{
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    const char *paren = strrchr(text, ')');  /* the name may hold spaces */
    return paren != NULL && paren[1] == ' ' ? paren[2] : 0;
}

int wait_until_asleep(pid_t pid, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        char state = process_state(pid);
        if (state == 'S')
            return 1;
        if (state == 0 || state == 'Z' || now_ms() >= deadline)
            return 0;
        nap_ms(1);
    }
}

int server_stop(struct server *srv)
{
    if (srv->pid <= 0) {
        set_error("%s: not running", srv->name);
        return -1;
    }
    wait_until_asleep(srv->pid, 2000);
    kill(srv->pid, SIGTERM);
    int rc = reap_by(srv->pid, now_ms() + HARNESS_STOP_MS, &srv->exit);
    if (rc < 0 && srv->exit.timed_out)
        set_error("%s did not exit within %d ms of SIGTERM (killed)",
                  srv->name, HARNESS_STOP_MS);
    srv->pid = 0;
    server_collect(srv);
    return rc;
}

int server_stop_clean(struct server *srv)
{
    char name[sizeof srv->name], how[64], first[200] = "";
    snprintf(name, sizeof name, "%s", srv->name);
    if (server_stop(srv) < 0 && !srv->exit.timed_out)
        return -1;  /* not running, or waitpid failed: server_stop said */
    if (exited_with(&srv->exit, 0))
        return 0;
    line_with(srv->err_text, "", first, sizeof first);
    set_error("%s: %s after SIGTERM, not exit 0; stderr begins: %s", name,
              describe_exit(&srv->exit, how, sizeof how), first);
    return -1;
}

int server_alive(struct server *srv)
{
    int status;
    if (srv->pid <= 0)
        return 0;
    pid_t r = waitpid(srv->pid, &status, WNOHANG);
    if (r == 0)
        return 1;
    if (r == srv->pid) {
        decode_status(status, &srv->exit);
        untrack(srv->pid);
        srv->pid = 0;
    }
    return 0;
}

char *server_stderr_now(const struct server *srv)
{
    if (srv->err_fd < 0 || srv->err_is_pipe)
        return NULL;
    return file_text(srv->err_fd);
}

void server_release(struct server *srv)
{
    if (srv->pid > 0) {
        reap_by(srv->pid, now_ms(), &srv->exit);
        srv->pid = 0;
    }
    close_fd(&srv->out_fd);
    close_fd(&srv->err_fd);
    free(srv->err_text);
    free(srv->out_rest);
    srv->err_text = NULL;
    srv->out_rest = NULL;
}

/* ---- programs run to completion ----------------------------------------- */

int run_program(const char *name, const char *const args[], const void *in,
                size_t in_len, int timeout_ms, struct run_result *r)
{
    char path[1024];
    char *argv[MAX_ARGS];
    int in_p[2], out_p[2], err_p[2];
    struct buf out = {0}, err = {0};
    const unsigned char *next = in;
    size_t to_write = in_len;

    memset(r, 0, sizeof *r);
    bin_path(name, path, sizeof path);
    if (build_argv(argv, path, args, NULL) < 0) {
        set_error("too many arguments for %s", name);
        return -1;
    }
    if (pipe(in_p) < 0 || pipe(out_p) < 0 || pipe(err_p) < 0) {
        set_error("pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = spawn(path, argv, in_p[0], out_p[1], err_p[1], 0);
    close(in_p[0]);
    close(out_p[1]);
    close(err_p[1]);
    int fds[3] = {in_p[1], out_p[0], err_p[0]};
    for (int i = 0; i < 3; i++) {
        set_cloexec(fds[i]);
        set_nonblock(fds[i], 1);
    }
    if (pid < 0) {
        for (int i = 0; i < 3; i++)
            close(fds[i]);
        return -1;
    }
    r->pid = pid;
    if (to_write == 0)
        close_fd(&fds[0]);

    /* One loop over the three pipes: write stdin while it has room, read
     * stdout and stderr as they fill, so neither side ever waits on the
     * other. */
    long long deadline = now_ms() + timeout_ms;
    int killed = 0;
    while (fds[0] >= 0 || fds[1] >= 0 || fds[2] >= 0) {
        struct pollfd p[3];
        for (int i = 0; i < 3; i++) {
            p[i].fd = fds[i];
            p[i].events = i == 0 ? POLLOUT : POLLIN;
            p[i].revents = 0;
        }
        int left = left_ms(deadline);
        if (left == 0) {
            killed = 1;
            break;
        }
        int rc = poll(p, 3, left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            break;
        if (fds[0] >= 0 && p[0].revents != 0) {
            size_t chunk = to_write < IO_CHUNK ? to_write : IO_CHUNK;
            ssize_t n = write(fds[0], next, chunk);
            if (n > 0) {
                next += n;
                to_write -= (size_t)n;
            }
            if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
                to_write == 0)
                close_fd(&fds[0]);  /* done, or the program stopped reading */
        }
        for (int i = 1; i < 3; i++) {
            if (fds[i] < 0 || p[i].revents == 0)
                continue;
            char chunk[IO_CHUNK];
            ssize_t n = read(fds[i], chunk, sizeof chunk);
            if (n > 0)
                buf_add(i == 1 ? &out : &err, chunk, (size_t)n);
            else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                close_fd(&fds[i]);
        }
    }
    for (int i = 0; i < 3; i++)
        close_fd(&fds[i]);

    reap_by(pid, killed ? now_ms() : deadline + 1000, &r->exit);
    if (killed)
        r->exit.timed_out = 1;
    r->out_len = out.len;
    r->out = buf_take(&out);
    r->err_len = err.len;
    r->err = (char *)buf_take(&err);
    return 0;
}

void run_result_free(struct run_result *r)
{
    free(r->out);
    free(r->err);
    r->out = NULL;
    r->err = NULL;
}

void quiet_stderr(void)
{
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) {
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
}

/* ---- raw sockets ------------------------------------------------------------ */

static socklen_t make_addr(const char *host, uint16_t port,
                           struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (strchr(host, ':') != NULL) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return 0;
        return sizeof *a;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
        return 0;
    return sizeof *a;
}

/* The port of an IPv4 or IPv6 address, in host order. */
static uint16_t port_in(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET6
               ? ntohs(((const struct sockaddr_in6 *)ss)->sin6_port)
               : ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* A close-on-exec socket of type (SOCK_STREAM, SOCK_DGRAM) in the family
 * of host (numeric), with host and port written to ss and *len. Returns
 * the fd or -1. */
static int socket_for(const char *host, uint16_t port, int type,
                      struct sockaddr_storage *ss, socklen_t *len)
{
    *len = make_addr(host, port, ss);
    if (*len == 0) {
        set_error("'%s' is not a numeric address", host);
        return -1;
    }
    int fd = socket(ss->ss_family, type, 0);
    if (fd < 0) {
        set_error("socket: %s", strerror(errno));
        return -1;
    }
    set_cloexec(fd);
    return fd;
}

/* A socket of type bound to host on a port the kernel picks, written to
 * *port; a SOCK_STREAM one listens too. Returns the fd or -1. */
static int bound_socket(const char *host, int type, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd = socket_for(host, 0, type, &ss, &len);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
        (type == SOCK_STREAM && listen(fd, 16) < 0) ||
        getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        set_error("bind%s %s: %s", type == SOCK_STREAM ? "/listen" : "",
                  host, strerror(errno));
        close(fd);
        return -1;
    }
    *port = port_in(&ss);
    return fd;
}

int tcp_connect(const char *host, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    ignore_sigpipe_once();
    int fd = socket_for(host, port, SOCK_STREAM, &ss, &len);
    if (fd < 0)
        return -1;
    /* Non-blocking connect + poll: bounded even if SYNs went unanswered. */
    int old = set_nonblock(fd, 1);
    int rc = connect(fd, (struct sockaddr *)&ss, len);
    if (rc < 0 && errno == EINPROGRESS) {
        struct pollfd p = {fd, POLLOUT, 0};
        int err = 0;
        socklen_t elen = sizeof err;
        rc = poll(&p, 1, 5000);
        if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0)
            rc = err == 0 ? 0 : -1;
        else {
            err = ETIMEDOUT;
            rc = -1;
        }
        errno = err;
    }
    if (rc < 0) {
        set_error("connect %s port %u: %s", host, (unsigned)port,
                  strerror(errno));
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, old);
    return fd;
}

int tcp_listen(const char *host, uint16_t *port)
{
    return bound_socket(host, SOCK_STREAM, port);
}

size_t sock_send_all(int fd, const void *buf, size_t n, int timeout_ms)
{
    const char *p = buf;
    size_t sent = 0;
    long long deadline = now_ms() + timeout_ms;
    int old = set_nonblock(fd, 1);

    ignore_sigpipe_once();
    while (sent < n) {
        struct pollfd pf = {fd, POLLOUT, 0};
        int rc = poll(&pf, 1, left_ms(deadline));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            set_error("send: %s", rc == 0 ? "timed out" : strerror(errno));
            break;
        }
        ssize_t k = send(fd, p + sent, n - sent, MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (k < 0) {
            set_error("send: %s", strerror(errno));
            break;
        }
        sent += (size_t)k;
    }
    if (old >= 0)
        fcntl(fd, F_SETFL, old);
    return sent;
}

size_t sock_read_exact(int fd, void *buf, size_t n, int timeout_ms)
{
    char *p = buf;
    size_t got = 0;
    long long deadline = now_ms() + timeout_ms;
    int old = set_nonblock(fd, 1);

    while (got < n) {
        struct pollfd pf = {fd, POLLIN, 0};
        int rc = poll(&pf, 1, left_ms(deadline));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            set_error("read: %s after %zu of %zu bytes",
                      rc == 0 ? "timed out" : strerror(errno), got, n);
            break;
        }
        ssize_t k = read(fd, p + got, n - got);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (k <= 0) {
            set_error("read: %s after %zu of %zu bytes",
                      k == 0 ? "end of file" : strerror(errno), got, n);
            break;
        }
        got += (size_t)k;
    }
    if (old >= 0)
        fcntl(fd, F_SETFL, old);
    return got;
}

int sock_expect_eof(int fd, int timeout_ms)
{
    char c;
    struct pollfd pf = {fd, POLLIN, 0};
    long long deadline = now_ms() + timeout_ms;
    int rc;

    while ((rc = poll(&pf, 1, left_ms(deadline))) < 0 && errno == EINTR) {
    }
    if (rc <= 0) {
        set_error("no end of file within %d ms", timeout_ms);
        return -1;
    }
    ssize_t k = recv(fd, &c, 1, 0);
    if (k == 0)
        return 1;
    if (k > 0) {
        set_error("a byte arrived where end of file was expected");
        return 0;
    }
    set_error("read: %s", strerror(errno));
    return -1;
}

int sock_quiet_for(int fd, int ms)
{
    struct pollfd pf = {fd, POLLIN, 0};
    long long deadline = now_ms() + ms;
    int rc;

    while ((rc = poll(&pf, 1, left_ms(deadline))) < 0 && errno == EINTR) {
    }
    return rc == 0;
}

int sock_reset(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    return close(fd);
}

int udp_connect(const char *host, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd = socket_for(host, port, SOCK_DGRAM, &ss, &len);
    if (fd < 0)
        return -1;
    /* On a datagram socket connect sends nothing: it only records the
     * peer, so it cannot hang. */
    if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
        set_error("connect (UDP) %s port %u: %s", host, (unsigned)port,
                  strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int udp_bind(const char *host, uint16_t *port)
{
    return bound_socket(host, SOCK_DGRAM, port);
}

ssize_t udp_recv_within(int fd, void *buf, size_t size, int timeout_ms)
{
    struct pollfd pf = {fd, POLLIN, 0};
    long long deadline = now_ms() + timeout_ms;
    int rc;

    while ((rc = poll(&pf, 1, left_ms(deadline))) < 0 && errno == EINTR) {
    }
    if (rc < 0) {
        set_error("poll: %s", strerror(errno));
        return -1;
    }
    if (rc == 0) {
        set_error("no datagram within %d ms", timeout_ms);
        return -1;
    }
    /* Readable: a datagram (perhaps an empty one) or a pending error.
     * Non-blocking all the same, in case it went between poll and recv. */
    int old = set_nonblock(fd, 1);
    ssize_t n;
    while ((n = recv(fd, buf, size, 0)) < 0 && errno == EINTR) {
    }
    if (n < 0)
        set_error("recv: %s", strerror(errno));
    if (old >= 0)
        fcntl(fd, F_SETFL, old);
    return n;
}

int free_port(const char *host, uint16_t *port)
{
    /* Bound for a moment, never listening: then closed, the port is free. */
    struct sockaddr_storage ss;
    socklen_t len;
    int fd = socket_for(host, 0, SOCK_STREAM, &ss, &len);
    if (fd < 0)
        return -1;
    int rc = bind(fd, (struct sockaddr *)&ss, len);
    if (rc == 0)
        rc = getsockname(fd, (struct sockaddr *)&ss, &len);
    close(fd);
    if (rc < 0)
        return -1;
    *port = port_in(&ss);
    return 0;
}

int have_ipv6_loopback(void)
{
    uint16_t port;
    return free_port("::1", &port) == 0;
}

/* ---- data and text ---------------------------------------------------------- */

void fill_random(void *buf, size_t n, uint32_t seed)
{
    unsigned char *p = buf;
    uint32_t x = seed != 0 ? seed : 0x9e3779b9u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)(x >> 24);
    }
}

int count_lines(const char *text)
{
    int lines = 0;
    const char *p = text;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        lines++;
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return lines;
}

int lines_starting(const char *text, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);

    for (const char *p = text; *p != '\0';) {
        if (strncmp(p, prefix, len) == 0)
            n++;
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return n;
}

const char *line_with(const char *text, const char *needle, char *buf,
                      size_t size)
{
    const char *p = text;
    while (p != NULL && *p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        char *line = malloc(len + 1);
        if (line == NULL)
            return NULL;
        memcpy(line, p, len);
        line[len] = '\0';
        int hit = strstr(line, needle) != NULL;
        if (hit)
            snprintf(buf, size, "%s", line);
        free(line);
        if (hit)
            return buf;
        p = nl != NULL ? nl + 1 : NULL;
    }
    return NULL;
}

/* "==" digits "==" at the start of a line. */
static int sanitizer_line(const char *p)
{
    if (strncmp(p, "==", 2) != 0)
        return 0;
    p += 2;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    return strncmp(p, "==", 2) == 0;
}

char *drop_sanitizer_lines(char *text)
{
    char *out = text;
    const char *in = text;
    while (*in != '\0') {
        const char *nl = strchr(in, '\n');
        size_t len = nl != NULL ? (size_t)(nl - in) + 1 : strlen(in);
        if (!sanitizer_line(in)) {
            memmove(out, in, len);
            out += len;
        }
        in += len;
    }
    *out = '\0';
    return text;
}

int has_number(const char *text, unsigned long long n)
{
    char digits[32];
    size_t len = (size_t)snprintf(digits, sizeof digits, "%llu", n);
    for (const char *p = strstr(text, digits); p != NULL;
         p = strstr(p + 1, digits)) {
        int before = p > text && p[-1] >= '0' && p[-1] <= '9';
        int after = p[len] >= '0' && p[len] <= '9';
        if (!before && !after)
            return 1;
    }
    return 0;
}

int children_of(pid_t pid, pid_t *out, int max)
{
    char path[64];
    int n = 0;
    long child;
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)pid,
             (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (n < max && fscanf(f, "%ld", &child) == 1)
        out[n++] = (pid_t)child;
    fclose(f);
    return n;
}

/* ---- what /proc says about a process ------------------------------------ */

int count_open_fds(pid_t pid)
{
    char path[64];
    int n = 0;
    snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(path);
    if (d == NULL) {
        set_error("%s: %s", path, strerror(errno));
        return -1;
    }
    const struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')  /* every entry but . and .. is an fd */
            n++;
    closedir(d);
    return n;
}

long rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        set_error("%s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    if (kib < 0)
        set_error("%s: no VmRSS line (a zombie has none)", path);
    return kib;
}

long cpu_ticks(pid_t pid)
{
    char path[64], text[1024];
    unsigned long utime, stime;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        set_error("%s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    /* "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime ...": skip past the name, which may hold
     * spaces, then eleven fields to utime. */
    const char *paren = strrchr(text, ')');
    if (paren == NULL ||
        sscanf(paren + 1,
               " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &utime, &stime) != 2) {
        set_error("%s: no utime and stime", path);
        return -1;
    }
    return (long)(utime + stime);
}

int system_resolves(const char *name)
{
    struct addrinfo hints, *list = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(name, NULL, &hints, &list) != 0)
        return 0;
    freeaddrinfo(list);
    return 1;
}

static int capture_saved = -1, capture_file = -1, capture_target = -1;

int capture_begin(int fd)
{
    char name[] = "/tmp/socklab-test-capture-XXXXXX";
    fflush(NULL);
    capture_file = mkstemp(name);
    if (capture_file < 0) {
        set_error("mkstemp: %s", strerror(errno));
        return -1;
    }
    unlink(name);
    capture_target = fd;
    capture_saved = dup(fd);
    if (capture_saved < 0 || dup2(capture_file, fd) < 0) {
        set_error("dup2: %s", strerror(errno));
        return -1;
    }
    return 0;
}

const char *capture_end(void)
{
    static char text[16384];
    fflush(NULL);
    dup2(capture_saved, capture_target);
    close(capture_saved);
    ssize_t n = pread(capture_file, text, sizeof text - 1, 0);
    close(capture_file);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

/* ---- a small XML checker (see harness.h) ----------------------------------- */

static char xml_why[256];

static const char *xml_fail(const char *doc, const char *at, const char *what)
{
    int line = 1;
    for (const char *p = doc; p < at; p++)
        if (*p == '\n')
            line++;
    snprintf(xml_why, sizeof xml_why, "line %d: %s near '%.30s'", line, what,
             at);
    return xml_why;
}

static int name_start(char c)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':';
}

static int name_char(char c)
{
    return name_start(c) || isdigit((unsigned char)c) || c == '-' || c == '.';
}

/* The length of the name at p, 0 when there is none. */
static size_t name_len(const char *p)
{
    size_t n = 0;
    if (!name_start(p[0]))
        return 0;
    while (name_char(p[n]))
        n++;
    return n;
}

/* Is the "&..." at p one of XML's entities or a character reference?
 * Returns its length, or 0. */
static size_t entity_len(const char *p)
{
    static const char *const named[] = {"&amp;", "&lt;", "&gt;", "&quot;",
                                        "&apos;"};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strncmp(p, named[i], strlen(named[i])) == 0)
            return strlen(named[i]);
    if (strncmp(p, "&#x", 3) == 0) {
        size_t n = 3;
        while (isxdigit((unsigned char)p[n]))
            n++;
        return n > 3 && p[n] == ';' ? n + 1 : 0;
    }
    if (strncmp(p, "&#", 2) == 0) {
        size_t n = 2;
        while (isdigit((unsigned char)p[n]))
            n++;
        return n > 2 && p[n] == ';' ? n + 1 : 0;
    }
    return 0;
}

/* NULL when doc is well-formed XML as far as an SVG file needs: an
 * optional <?xml ...?> declaration and comments, one root element, every
 * tag closed in order, attributes quoted and unique, '<' and '&' in text
 * and attribute values only as markup or entities. Otherwise what is
 * wrong, and where. */
const char *xml_problem(const char *doc)
{
    char stack[64][64];
    int depth = 0;
    int roots = 0;
    const char *p = doc;

    if (strncmp(p, "<?xml", 5) == 0) {
        const char *end = strstr(p, "?>");
        if (end == NULL)
            return xml_fail(doc, p, "unclosed <?xml declaration");
        p = end + 2;
    }
    while (*p != '\0') {
        if (strncmp(p, "<!--", 4) == 0) {
            const char *end = strstr(p + 4, "-->");
            if (end == NULL)
                return xml_fail(doc, p, "unclosed comment");
            p = end + 3;
        } else if (p[0] == '<' && p[1] == '/') {
            size_t n = name_len(p + 2);
            if (n == 0)
                return xml_fail(doc, p, "no name in a closing tag");
            if (depth == 0)
                return xml_fail(doc, p, "a closing tag with nothing open");
            if (strlen(stack[depth - 1]) != n ||
                strncmp(stack[depth - 1], p + 2, n) != 0)
                return xml_fail(doc, p, "closing tag does not match the open one");
            if (--depth == 0)
                roots++;
            p += 2 + n;
            while (*p == ' ' || *p == '\n' || *p == '\t')
                p++;
            if (*p != '>')
                return xml_fail(doc, p, "closing tag not ended by '>'");
            p++;
        } else if (*p == '<') {
            size_t n = name_len(p + 1);
            char attrs[32][64];
            int nattrs = 0;
            if (n == 0)
                return xml_fail(doc, p, "'<' that starts no tag");
            if (depth == 0 && roots > 0)
                return xml_fail(doc, p, "a second root element");
            if (n >= sizeof stack[0] || depth >= 64)
                return xml_fail(doc, p, "name too long or nesting too deep");
            char name[64];
            memcpy(name, p + 1, n);
            name[n] = '\0';
            p += 1 + n;
            for (;;) {
                int space = 0;
                while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
                    p++;
                    space = 1;
                }
                if (*p == '>' || (p[0] == '/' && p[1] == '>'))
                    break;
                size_t an = name_len(p);
                if (an == 0 || !space)
                    return xml_fail(doc, p, "not an attribute");
                if (an >= sizeof attrs[0] || nattrs >= 32)
                    return xml_fail(doc, p, "attribute name too long, or too many");
                for (int i = 0; i < nattrs; i++)
                    if (strlen(attrs[i]) == an && strncmp(attrs[i], p, an) == 0)
                        return xml_fail(doc, p, "an attribute given twice");
                memcpy(attrs[nattrs], p, an);
                attrs[nattrs++][an] = '\0';
                p += an;
                if (*p != '=')
                    return xml_fail(doc, p, "attribute without '='");
                p++;
                char quote = *p;
                if (quote != '"' && quote != '\'')
                    return xml_fail(doc, p, "attribute value not quoted");
                p++;
                while (*p != quote) {
                    if (*p == '\0')
                        return xml_fail(doc, p, "unclosed attribute value");
                    if (*p == '<')
                        return xml_fail(doc, p, "'<' in an attribute value");
                    if (*p == '&') {
                        size_t en = entity_len(p);
                        if (en == 0)
                            return xml_fail(doc, p, "bare '&' in an attribute value");
                        p += en;
                        continue;
                    }
                    p++;
                }
                p++;
            }
            if (*p == '/') {
                p += 2;
                if (depth == 0)
                    roots++;
            } else {
                p++;
                memcpy(stack[depth++], name, n + 1);
            }
        } else if (*p == '&') {
            size_t en = entity_len(p);
            if (en == 0)
                return xml_fail(doc, p, "bare '&' in text");
            if (depth == 0)
                return xml_fail(doc, p, "text outside the root element");
            p += en;
        } else {
            if (depth == 0 && !isspace((unsigned char)*p))
                return xml_fail(doc, p, "text outside the root element");
            p++;
        }
    }
    if (depth > 0)
        return xml_fail(doc, p, "element left open at the end");
    if (roots != 1)
        return xml_fail(doc, p, "not exactly one root element");
    return NULL;
}

/* ---- scratch trees and tests/scripts/quotes.sh ------------------------------ */

/* The longest path remove_tree builds for an entry below its argument. */
#define TREE_PATH 4096

int remove_tree(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        set_error("lstat %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) == 0)
            return 0;
        set_error("unlink %s: %s", path, strerror(errno));
        return -1;
    }
    /* Every entry is tried even after one fails, so that one file that
     * stays does not leave the whole tree behind. */
    int rc = 0;
    DIR *d = opendir(path);
    if (d == NULL) {
        set_error("opendir %s: %s", path, strerror(errno));
        rc = -1;
    } else {
        const struct dirent *e;
        char child[TREE_PATH];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            int n = snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            if (n < 0 || (size_t)n >= sizeof child) {
                set_error("path too long: %s/%s", path, e->d_name);
                rc = -1;
            } else if (remove_tree(child) < 0) {
                rc = -1;
            }
        }
        closedir(d);
    }
    if (rmdir(path) < 0) {
        if (rc == 0)  /* else ENOTEMPTY only repeats what was said */
            set_error("rmdir %s: %s", path, strerror(errno));
        rc = -1;
    }
    return rc;
}

int run_quotes_script(struct script_run *r, const char *const flags[],
                      const char *root, int timeout_ms)
{
    static const char script[] = SOCKLAB_ROOT "/tests/scripts/quotes.sh";
    const char *args[MAX_ARGS];
    size_t n = 0;

    memset(r, 0, sizeof *r);
    args[n++] = script;
    for (size_t i = 0; flags[i] != NULL; i++) {
        if (n >= MAX_ARGS - 3) {  /* room for --root ROOT and the NULL */
            set_error("too many flags for quotes.sh");
            return -1;
        }
        args[n++] = flags[i];
    }
    if (root != NULL) {
        args[n++] = "--root";
        args[n++] = root;
    }
    args[n] = NULL;
    int rc = run_program("/bin/sh", args, NULL, 0, timeout_ms, &r->raw);
    r->out = (const char *)r->raw.out;
    r->err = r->raw.err;
    return rc;
}

void script_free(struct script_run *r)
{
    run_result_free(&r->raw);
    r->out = r->err = NULL;
}

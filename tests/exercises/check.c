/* check.c - the checks behind `make exercise N` (lessons/exercises/).
 *
 *   exercise-check N PROGRAM   run exercise N's checks against PROGRAM
 *   exercise-check N PROGRAM CHECK   only the check of that name
 *   exercise-check --list      one line per exercise: "N SLUG TITLE"
 *   exercise-check --sections  every lesson section a hint names, one per
 *                              line: "FILE<TAB>HEADING" (HEADING may be
 *                              empty: the hint names the whole lesson)
 *
 * Each check prints one line: "  pass  NAME", or "  FAIL  NAME: what
 * happened; hint: what to do (the lesson section that teaches it)", or
 * "  skip  NAME: why" when this machine cannot run it. Then a summary line.
 * Exit 0 when no check failed, 1 when one did, 64 for bad usage.
 *
 * The checks are the contract the real programs keep: bin/echo-server,
 * bin/echo-client, bin/echo-server-fork, bin/echo-server-poll and
 * bin/udp-echo-client pass the checks of exercises 1, 2, 4, 5 and 6 (the
 * suite runs them: tests/test_exercises.c), as do the reference solutions
 * in tests/exercises/solutions/, while each starting file fails.
 *
 * Needs only the C library and Linux's /proc (children, zombies, signal
 * masks, descriptors, CPU time), not Criterion: it is built from this file
 * and tests/harness.c. As in the suite, everything runs on loopback, every
 * server listens on port 0 and is found through its ready line, every wait
 * is bounded, and every process started is reaped.
 */
#include "../harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define KIB 1024L
#define MIB (1024L * 1024L)
#define ECHO_MS 3000   /* a small echo must come back within this */
#define GRACE_MS 2000  /* a client still running this long after its input
                          ended and its output stopped is hung */
#define STALL_MS 3000  /* a bulk echo with no byte moving this long is stuck */
/* The bulk clients' receive buffer, small, and their pace (bulk_echo):
 * together they make the echo back up in the server, so its writes come
 * up short. */
#define SLOW_READER 4096
#define READ_PACE_BYTES (16 * 1024)  /* a slow reader's read, at most */
#define READ_PACE_MS 2               /* and one such read per this long */
#define STOPPED_MS 500 /* a server that took no byte for this long has
                          stopped reading that client */

/* ---- lessons the hints point at ----------------------------------------- */

/* A lesson file (its final name in the renumbered track) and a heading in
 * it, as printed without backticks. A heading of NULL names the lesson. */
struct cite {
    const char *file;
    const char *heading;
};

#define L01 "lessons/01-blocking-server.md"
#define L02 "lessons/02-client.md"
#define L03 "lessons/03-addresses.md"
#define L04 "lessons/04-fork-per-client.md"
#define L05 "lessons/05-poll-event-loop.md"
#define L07 "lessons/07-udp.md"

static const struct cite AT_SOCKET = {
    L01, "socket: a descriptor, nothing more"};
static const struct cite AT_REUSE = {
    L01, "SO_REUSEADDR: restart without waiting a minute"};
static const struct cite AT_ACCEPT = {
    L01, "accept: one connection, one new descriptor"};
static const struct cite AT_CLOSE = {L01, "Step 7 · close"};
static const struct cite AT_SHUTDOWN = {L02, "shutdown(SHUT_WR), then close"};
static const struct cite AT_BYTES = {L03, NULL};
static const struct cite AT_FORK = {
    L04, "fork: the child gets a copy of everything"};
static const struct cite AT_ZOMBIES = {L04, "Zombies and SIGCHLD"};
static const struct cite AT_EINTR = {L04, "EINTR: why accept returns early"};
static const struct cite AT_NONBLOCK = {L05, "Sockets that never block"};
static const struct cite AT_PARTIAL = {
    L05, "Partial writes and the bytes that wait"};
static const struct cite AT_RETRY = {
    L07, "A client that cannot tell \"slow\" from \"gone\""};
static const struct cite AT_LATE = {L07, "A datagram lost, and its echo late"};

/* ---- checks and their outcome ------------------------------------------- */

/* What one check found. why says what happened, in a sentence; a check may
 * replace its usual hint (and lesson) when it knows more precisely what went
 * wrong, e.g. a server that died of EINTR in the reaping check. */
struct outcome {
    char why[700];
    const char *hint;
    const struct cite *cite;
    int skipped;
    int no_start;  /* the program under test did not start at all */
};

static void say(struct outcome *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(struct outcome *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->why, sizeof o->why, fmt, ap);
    va_end(ap);
}

/* Returns 1 for pass, 0 for fail (o says why). */
typedef int check_fn(const char *prog, struct outcome *o);

struct check {
    const char *name;
    check_fn *run;
    const char *hint;
    const struct cite *cite;
};

struct exercise {
    int number;
    const char *slug;
    const char *title;
    const struct check *checks;
    size_t count;
};

/* ---- small helpers ------------------------------------------------------ */

static const char *port_text(uint16_t port, char *buf, size_t size)
{
    snprintf(buf, size, "%u", (unsigned)port);
    return buf;
}

/* The first line of text (without its newline), at most size - 1 chars;
 * "(nothing)" for an empty or missing text. */
static const char *first_line(const char *text, char *buf, size_t size)
{
    if (text == NULL || *text == '\0') {
        snprintf(buf, size, "(nothing)");
        return buf;
    }
    size_t len = strcspn(text, "\n");
    if (len >= size)
        len = size - 1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    return buf;
}

/* text as one line for a message: newlines and other control bytes
 * written as \n, \t, \xNN, cut with "..." past about size - 8 chars. */
static const char *one_line(const char *text, char *buf, size_t size)
{
    size_t used = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        char piece[8];
        if (*p == '\n')
            snprintf(piece, sizeof piece, "\\n");
        else if (*p == '\t')
            snprintf(piece, sizeof piece, "\\t");
        else if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
            snprintf(piece, sizeof piece, "\\x%02x", *p);
        else
            snprintf(piece, sizeof piece, "%c", *p);
        if (used + strlen(piece) + 4 >= size) {
            snprintf(buf + used, size - used, "...");
            return buf;
        }
        used += (size_t)snprintf(buf + used, size - used, "%s", piece);
    }
    buf[used] = '\0';
    return buf;
}

/* How a server that would not start ended, as a sentence. */
static void why_no_start(struct outcome *o, const struct server *srv,
                         const char *what)
{
    char how[64], said[240];
    if (srv->exit.timed_out)
        say(o, "%s printed no ready line within %d s", what,
            HARNESS_READY_MS / 1000);
    else if (srv->exit.exited || srv->exit.signaled)
        say(o, "%s ended (%s) before its ready line; it said: %s", what,
            describe_exit(&srv->exit, how, sizeof how),
            first_line(srv->err_text, said, sizeof said));
    else
        say(o, "%s did not start: %s", what, harness_error());
}

/* Start prog on port (NULL: "0") with args; on failure fill o and return
 * -1 (srv released). */
static int start(struct server *srv, const char *prog,
                 const char *const args[], const char *port,
                 struct outcome *o)
{
    if (server_start(srv, prog, args, port) == 0)
        return 0;
    why_no_start(o, srv, "the server");
    server_release(srv);
    o->no_start = 1;
    return -1;
}

/* Send msg on a new connection and read it back within ECHO_MS. Returns
 * the connected fd (still open), or -1 with o filled; what names the
 * client in the message ("client 2"). */
static int connect_and_echo(const char *host, uint16_t port, const char *msg,
                            const char *what, struct outcome *o)
{
    char back[256];
    size_t n = strlen(msg);
    int fd = tcp_connect(host, port);
    if (fd < 0) {
        say(o, "%s could not connect: %s", what, harness_error());
        return -1;
    }
    if (sock_send_all(fd, msg, n, ECHO_MS) != n) {
        say(o, "%s could not send %zu bytes within %d s", what, n,
            ECHO_MS / 1000);
        close(fd);
        return -1;
    }
    size_t got = sock_read_exact(fd, back, n, ECHO_MS);
    if (got != n || memcmp(back, msg, n) != 0) {
        if (got == n)
            say(o, "%s sent \"%.*s\" and got different bytes back", what,
                (int)strcspn(msg, "\n"), msg);
        else
            say(o, "%s sent %zu bytes and got %zu back (%s)", what, n, got,
                harness_error());
        close(fd);
        return -1;
    }
    return fd;
}

/* The state letter of pid (R, S, T, Z ...) from /proc/PID/stat, or 0 when
 * the process is gone. */
static char state_of(pid_t pid)
{
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *paren = strrchr(text, ')');
    return paren != NULL && paren[1] == ' ' ? paren[2] : 0;
}

/* A signal mask line of /proc/PID/status ("SigCgt:", "SigPnd:",
 * "ShdPnd:") as a number; 0 when it cannot be read. */
static unsigned long long signal_mask(pid_t pid, const char *field)
{
    char path[64], line[256];
    unsigned long long mask = 0;
    size_t len = strlen(field);
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, len) == 0) {
            mask = strtoull(line + len, NULL, 16);
            break;
        }
    fclose(f);
    return mask;
}

static int has_signal(unsigned long long mask, int signo)
{
    return (mask >> (signo - 1)) & 1u;
}

/* How many children of pid are zombies (state Z); -1 if pid is gone. */
static int zombies_of(pid_t pid, int *children)
{
    pid_t kids[256];
    int n = children_of(pid, kids, 256), zombies = 0;
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (state_of(kids[i]) == 'Z')
            zombies++;
    if (children != NULL)
        *children = n;
    return zombies;
}

/* Wait (bounded) until pid has at most `most` children. Returns the last
 * count, or -1 when pid is gone. Polls a condition; never waits for a
 * fixed time. */
static int wait_children_at_most(pid_t pid, int most, int timeout_ms)
{
    pid_t kids[256];
    long long end = now_ms() + timeout_ms;
    int n;
    while ((n = children_of(pid, kids, 256)) > most && now_ms() < end)
        nap_ms(5);
    return n;
}

/* Has the server ended? A server that has just failed a client may be on
 * its way out, so wait (bounded) until it is either asleep - alive, and
 * waiting for something - or gone. */
static int server_gone(struct server *srv)
{
    long long end = now_ms() + 1000;
    while (server_alive(srv)) {
        if (state_of(srv->pid) == 'S' || now_ms() >= end)
            return 0;
        nap_ms(2);
    }
    return 1;
}

/* How a server that is gone ended, for a message (it is reaped, if it was
 * not yet), with the first line it wrote on stderr. */
static const char *ended_how(struct server *srv, char *buf, size_t size)
{
    char how[64], said[240];
    if (server_alive(srv)) {
        snprintf(buf, size, "still running");
        return buf;
    }
    char *err = server_stderr_now(srv);
    snprintf(buf, size, "%s; it said: %s",
             describe_exit(&srv->exit, how, sizeof how),
             first_line(err, said, sizeof said));
    free(err);
    return buf;
}

/* After a failed exchange: if the server has ended meanwhile, say so too. */
static void note_if_gone(struct server *srv, struct outcome *o)
{
    char how[320];
    if (!server_gone(srv))
        return;
    size_t len = strlen(o->why);
    snprintf(o->why + len, sizeof o->why - len, "; the server has ended (%s)",
             ended_how(srv, how, sizeof how));
}

/* ---- running a client to its end, and noticing when it hangs ------------ */

struct watched {
    unsigned char *out;
    size_t out_len;
    char *err;
    struct exit_info exit;
    int hung;  /* killed: input over, no output for GRACE_MS, still alive */
};

static void watched_free(struct watched *w)
{
    free(w->out);
    free(w->err);
    w->out = NULL;
    w->err = NULL;
}

static int append(unsigned char **buf, size_t *len, size_t *cap,
                  const unsigned char *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t want = *cap == 0 ? 64 * KIB : *cap;
        while (want < *len + n + 1)
            want *= 2;
        unsigned char *more = realloc(*buf, want);
        if (more == NULL)
            return -1;
        *buf = more;
        *cap = want;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* Run prog with args (NULL-terminated), in_len bytes of in on its stdin
 * (then closed), collecting stdout and stderr. The client is killed when
 * it outlives total_ms, or when GRACE_MS pass after its input ended with
 * no new output while it is still running (w->hung): a client waiting for
 * an end of file that nobody will send. Returns 0, or -1 if it could not
 * be started. */
static int run_watched(const char *prog, const char *const args[],
                       const void *in, size_t in_len, int total_ms,
                       struct watched *w)
{
    int pin[2], pout[2], perr[2];
    char *argv[16];
    int argc = 0;
    size_t out_cap = 0, err_len = 0, err_cap = 0, written = 0;
    unsigned char *errbuf = NULL;

    memset(w, 0, sizeof *w);
    argv[argc++] = (char *)prog;
    for (int i = 0; args[i] != NULL && argc < 15; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;

    if (pipe(pin) < 0)
        return -1;
    if (pipe(pout) < 0) {
        close(pin[0]);
        close(pin[1]);
        return -1;
    }
    if (pipe(perr) < 0) {
        close(pin[0]);
        close(pin[1]);
        close(pout[0]);
        close(pout[1]);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* Die with the checker; only the three pipes go across. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
            _exit(126);
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(prog, argv);
        dprintf(2, "exercise-check: cannot run %s: %s\n", prog,
                strerror(errno));
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    if (pid < 0) {
        close(pin[1]);
        close(pout[0]);
        close(perr[0]);
        return -1;
    }
    int to = pin[1], from_out = pout[0], from_err = perr[0];
    fcntl(to, F_SETFL, O_NONBLOCK);
    if (in_len == 0) {
        close(to);
        to = -1;
    }

    long long end = now_ms() + total_ms, quiet_since = 0;
    while (from_out >= 0 || from_err >= 0) {
        long long t = now_ms();
        if (t >= end) {
            w->exit.timed_out = 1;
            break;
        }
        if (to < 0 && quiet_since == 0)
            quiet_since = t;
        if (to < 0 && t - quiet_since >= GRACE_MS) {
            w->hung = 1;
            break;
        }
        long long wait = end - t;
        if (to < 0 && quiet_since + GRACE_MS - t < wait)
            wait = quiet_since + GRACE_MS - t;
        struct pollfd p[3] = {
            {.fd = to, .events = POLLOUT, .revents = 0},
            {.fd = from_out, .events = POLLIN, .revents = 0},
            {.fd = from_err, .events = POLLIN, .revents = 0},
        };
        if (poll(p, 3, (int)wait) < 0 && errno != EINTR)
            break;
        if (to >= 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = write(to, (const char *)in + written,
                              in_len - written);
            if (n > 0)
                written += (size_t)n;
            if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
                written == in_len) {
                close(to);
                to = -1;
            }
        }
        unsigned char chunk[64 * KIB];
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(from_out, chunk, sizeof chunk);
            if (n > 0) {
                if (append(&w->out, &w->out_len, &out_cap, chunk,
                           (size_t)n) < 0)
                    break;
                quiet_since = 0;  /* output moves: not hung */
            } else if (n == 0 || errno != EINTR) {
                close(from_out);
                from_out = -1;
            }
        }
        if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(from_err, chunk, sizeof chunk);
            if (n > 0) {
                if (append(&errbuf, &err_len, &err_cap, chunk, (size_t)n) < 0)
                    break;
            } else if (n == 0 || errno != EINTR) {
                close(from_err);
                from_err = -1;
            }
        }
    }
    if (w->hung || w->exit.timed_out)
        kill(pid, SIGKILL);
    if (to >= 0)
        close(to);
    if (from_out >= 0)
        close(from_out);
    if (from_err >= 0)
        close(from_err);

    /* Both pipes at end of file: it has exited, or is about to. */
    struct exit_info how;
    int timed_out = w->exit.timed_out;
    child_wait(pid, 2000, &how);
    w->exit = how;
    w->exit.timed_out = w->exit.timed_out || timed_out;
    if (w->out == NULL)
        append(&w->out, &w->out_len, &out_cap, (const unsigned char *)"", 0);
    if (errbuf == NULL)
        append(&errbuf, &err_len, &err_cap, (const unsigned char *)"", 0);
    w->err = (char *)errbuf;
    return 0;
}

/* ---- full-duplex bulk clients (exercise 5) ------------------------------ */

/* n connections to 127.0.0.1:port, each with a receive buffer of rcvbuf
 * bytes (set before connect, so that the window it offers is small: the
 * echo then backs up in the server), each sending its own `size`
 * pseudo-random bytes, half-closing after the last, and reading its echo
 * until the server closes - all at once, from one poll loop, so no side
 * waits for the other. got[i] says how much came back to connection i,
 * same[i] whether those bytes were right, eof[i] whether the server closed
 * after them. Returns 0 when every connection finished within timeout_ms,
 * -1 when the time ran out (o says where it stalled). */
static int bulk_echo(uint16_t port, int n, size_t size, int rcvbuf,
                     int timeout_ms, size_t *got, int *same, int *eof,
                     struct outcome *o)
{
    int fds[16];
    size_t sent[16];
    unsigned char *data[16];
    unsigned char chunk[64 * KIB];
    struct sockaddr_in to;
    int rc = 0;

    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n; i++) {
        fds[i] = -1;
        data[i] = malloc(size);
        if (data[i] == NULL) {
            say(o, "the checker ran out of memory");
            n = i;
            rc = -1;
            goto done;
        }
        fill_random(data[i], size, (uint32_t)(1000 + i));
        sent[i] = got[i] = 0;
        same[i] = 1;
        eof[i] = 0;
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 ||
            setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &rcvbuf,
                       sizeof rcvbuf) < 0 ||
            connect(fds[i], (struct sockaddr *)&to, sizeof to) < 0) {
            say(o, "client %d could not connect: %s", i + 1,
                strerror(errno));
            n = i + 1;
            rc = -1;
            goto done;
        }
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
    }

    /* Bounded twice: in all, and by a stall - no byte moving either way
     * for STALL_MS, which a server that keeps echo it never sends shows
     * at once. */
    long long end = now_ms() + timeout_ms, moved = now_ms();
    /* A slow reader really is slow: at most READ_PACE_BYTES per read and
     * one read per READ_PACE_MS, about 8 MB/s, while it sends as fast as
     * the server takes its bytes. A small receive buffer alone is not
     * enough: on a busy machine the server's reads can come out so small
     * that its writes never fill, and a server that drops what write did
     * not take would pass by luck. Paced, the echo must wait in the
     * server, every run. */
    int paced = rcvbuf == SLOW_READER;
    long long next_read[16];
    for (int i = 0; i < n; i++)
        next_read[i] = 0;
    for (;;) {
        struct pollfd p[16];
        int active = 0;
        long long t = now_ms(), wake = -1;
        for (int i = 0; i < n; i++) {
            int reading = !eof[i] && fds[i] >= 0;
            int may_read = !paced || t >= next_read[i];
            p[i].fd = reading ? fds[i] : -1;
            p[i].events = (short)((may_read ? POLLIN : 0) |
                                  (sent[i] < size ? POLLOUT : 0));
            p[i].revents = 0;
            active += reading;
            if (reading && !may_read && (wake < 0 || next_read[i] < wake))
                wake = next_read[i];
        }
        if (active == 0)
            break;
        long long left = end - t;
        if (moved + STALL_MS - t < left)
            left = moved + STALL_MS - t;
        if (wake >= 0 && left > 0 && wake - t < left)
            left = wake - t > 0 ? wake - t : 0;
        if (left <= 0 && (wake < 0 || moved + STALL_MS <= t || end <= t)) {
            size_t all_sent = 0, all_got = 0;
            for (int i = 0; i < n; i++) {
                all_sent += sent[i];
                all_got += got[i];
            }
            say(o, "the echo stalled: %zu of %zu bytes sent, %zu back, then "
                "nothing moved for %d s and the server did not close",
                all_sent, (size_t)n * size, all_got,
                (int)(t - moved) / 1000);
            rc = -1;
            break;
        }
        if (poll(p, (nfds_t)n, (int)left) < 0 && errno != EINTR) {
            say(o, "poll: %s", strerror(errno));
            rc = -1;
            break;
        }
        for (int i = 0; i < n; i++) {
            if (p[i].revents & POLLOUT) {
                ssize_t w = write(fds[i], data[i] + sent[i], size - sent[i]);
                if (w > 0) {
                    sent[i] += (size_t)w;
                    moved = now_ms();
                }
                if (sent[i] == size)
                    shutdown(fds[i], SHUT_WR);
            }
            if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t r = read(fds[i], chunk,
                                 paced ? READ_PACE_BYTES : sizeof chunk);
                if (paced)
                    next_read[i] = now_ms() + READ_PACE_MS;
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                    eof[i] = 1;  /* closed (or reset): nothing more comes */
                    continue;
                }
                if (r < 0)
                    continue;
                moved = now_ms();
                size_t fits = got[i] < size ? size - got[i] : 0;
                size_t cmp = (size_t)r < fits ? (size_t)r : fits;
                if ((size_t)r > fits ||
                    memcmp(chunk, data[i] + got[i], cmp) != 0)
                    same[i] = 0;
                got[i] += (size_t)r;
            }
        }
    }
done:
    for (int i = 0; i < n; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        free(data[i]);
    }
    return rc;
}

/* ======================================================================== */
/* Exercise 1: the listener                                                  */
/* ======================================================================== */

static const char HINT_OPEN[] =
    "open the listening socket first, checking each call: socket, "
    "setsockopt(SO_REUSEADDR), bind, listen (TODO 1)";
static const char HINT_ACCEPT[] =
    "after the ready line comes the accept loop (TODO 2): accept returns a "
    "new descriptor for one client; echo on that one (not on listen_fd), "
    "close it, and call accept again";

static int c1_starts(const char *prog, struct outcome *o)
{
    struct server srv;
    if (start(&srv, prog, NULL, NULL, o) < 0)
        return 0;
    server_release(&srv);
    return 1;
}

static int c1_echo(const char *prog, struct outcome *o)
{
    struct server srv;
    char how[320];
    if (start(&srv, prog, NULL, NULL, o) < 0)
        return 0;
    int fd = connect_and_echo(srv.host, srv.port, "hello, listener\n",
                              "a client", o);
    if (fd < 0 && server_gone(&srv))
        say(o, "the server ended right after its ready line (%s), so "
            "nobody accepted the client", ended_how(&srv, how, sizeof how));
    if (fd >= 0)
        close(fd);
    server_release(&srv);
    return fd >= 0;
}

static int c1_in_turn(const char *prog, struct outcome *o)
{
    struct server srv;
    char msg[64], who[32];
    if (start(&srv, prog, NULL, NULL, o) < 0)
        return 0;
    for (int i = 1; i <= 3; i++) {
        snprintf(msg, sizeof msg, "client %d, in turn\n", i);
        snprintf(who, sizeof who, "client %d of 3", i);
        int fd = connect_and_echo(srv.host, srv.port, msg, who, o);
        if (fd < 0) {
            if (i > 1) {
                size_t len = strlen(o->why);
                snprintf(o->why + len, sizeof o->why - len,
                         ", after client %d had been served and left", i - 1);
            }
            note_if_gone(&srv, o);
            server_release(&srv);
            return 0;
        }
        close(fd);  /* this one is done: the next may be served */
    }
    server_release(&srv);
    return 1;
}

static int c1_fds(const char *prog, struct outcome *o)
{
    struct server srv;
    char msg[64];
    if (start(&srv, prog, NULL, NULL, o) < 0)
        return 0;
    int before = count_open_fds(srv.pid);
    for (int i = 1; i <= 10; i++) {
        snprintf(msg, sizeof msg, "client %d\n", i);
        int fd = connect_and_echo(srv.host, srv.port, msg, "a client", o);
        if (fd < 0) {
            note_if_gone(&srv, o);
            server_release(&srv);
            return 0;
        }
        close(fd);
    }
    /* The server closes each descriptor after the client's end of file:
     * wait (bounded) for the count to come back down. */
    long long end = now_ms() + 2000;
    int after;
    while ((after = count_open_fds(srv.pid)) > before && now_ms() < end)
        nap_ms(5);
    server_release(&srv);
    if (after > before) {
        say(o, "10 clients came and went, and the server holds %d more "
            "descriptors than before them (%d, was %d)", after - before,
            after, before);
        return 0;
    }
    return 1;
}

static int c1_restart(const char *prog, struct outcome *o)
{
    struct server srv, again;
    char port[8], said[240];
    if (start(&srv, prog, NULL, NULL, o) < 0)
        return 0;
    port_text(srv.port, port, sizeof port);
    int fd = connect_and_echo(srv.host, srv.port, "before the restart\n",
                              "a client", o);
    if (fd < 0) {
        note_if_gone(&srv, o);
        server_release(&srv);
        return 0;
    }
    /* The server goes first (killed, so the kernel closes its sockets and
     * sends our client a FIN), then the client closes: the server's end of
     * that connection now waits in TIME_WAIT, on the server's port. */
    server_release(&srv);
    sock_expect_eof(fd, 2000);
    close(fd);

    if (server_start(&again, prog, NULL, port) < 0) {
        first_line(again.err_text, said, sizeof said);
        say(o, "restarted on its port %s right after a client left, the "
            "server could not start; it said: %s", port, said);
        server_release(&again);
        return 0;
    }
    server_release(&again);
    return 1;
}

static int c1_ipv6(const char *prog, struct outcome *o)
{
    static const char *const v6[] = {"-b", "::1", NULL};
    struct server srv;
    if (!have_ipv6_loopback()) {
        o->skipped = 1;
        say(o, "this machine has no IPv6 loopback (::1)");
        return 1;
    }
    if (start(&srv, prog, v6, NULL, o) < 0) {
        size_t len = strlen(o->why);
        snprintf(o->why + len, sizeof o->why - len, " (started with -b ::1)");
        return 0;
    }
    int fd = connect_and_echo("::1", srv.port, "hello over IPv6\n",
                              "a client of [::1]", o);
    if (fd >= 0)
        close(fd);
    else
        note_if_gone(&srv, o);
    server_release(&srv);
    return fd >= 0;
}

static const struct check LISTENER_CHECKS[] = {
    {"starts", c1_starts, HINT_OPEN, &AT_SOCKET},
    {"echo", c1_echo, HINT_ACCEPT, &AT_ACCEPT},
    {"clients in turn", c1_in_turn,
     "accept belongs in a loop: when one client is done, close its "
     "descriptor and go back to accept for the next",
     &AT_ACCEPT},
    {"descriptors closed", c1_fds,
     "close(fd) each client's descriptor once echo returns: a server that "
     "forgets runs out of descriptors (EMFILE) after about a thousand clients",
     &AT_CLOSE},
    {"restart on the same port", c1_restart,
     "set SO_REUSEADDR with setsockopt, before bind: without it a restarted "
     "server cannot bind its port while the last run's connections wait in "
     "TIME_WAIT (about a minute)",
     &AT_REUSE},
    {"IPv6 (-b ::1)", c1_ipv6,
     "make the socket with the address's own family, sa->sa_family "
     "(AF_INET6 for ::1), not a fixed AF_INET, and bind with addr_len(sa)",
     &AT_SOCKET},
};

/* ======================================================================== */
/* Exercise 2: the client's half-close                                       */
/* ======================================================================== */

static const char HINT_HALF_CLOSE[] =
    "at the end of the input, half-close with shutdown(fd, SHUT_WR): the "
    "server's read returns 0, it closes, and your read returns 0 once the "
    "whole echo is back; close(fd) there, or SHUT_RDWR, would cut off the "
    "echo still on its way";

/* Run the client against host:port with input, and judge what it did:
 * stdout must be want (want_len bytes), exit 0, no hang. */
static int client_run_ok(const char *prog, const char *host, uint16_t port,
                         const void *in, size_t in_len, const void *want,
                         size_t want_len, int total_ms, struct outcome *o)
{
    struct watched w;
    char p[8], how[64], said[240];
    const char *const args[] = {host, port_text(port, p, sizeof p), NULL};
    if (run_watched(prog, args, in, in_len, total_ms, &w) < 0) {
        say(o, "could not run %s: %s", prog, strerror(errno));
        return 0;
    }
    int ok = 0;
    first_line(w.err, said, sizeof said);
    if (w.hung)
        say(o, "%zu of %zu bytes came back, then the client sat %d s "
            "without exiting (killed): it waits for the server to close, "
            "and the server waits in read for the end of your input",
            w.out_len, want_len, GRACE_MS / 1000);
    else if (w.exit.timed_out)
        say(o, "the client had not finished after %d s (killed); %zu of "
            "%zu bytes had come back", total_ms / 1000, w.out_len, want_len);
    else if (!exited_with(&w.exit, 0))
        say(o, "the client ended with %s after %zu of %zu bytes came back; "
            "it said: %s", describe_exit(&w.exit, how, sizeof how),
            w.out_len, want_len, said);
    else if (w.out_len != want_len)
        say(o, "the client exited 0, but %zu bytes came out, not %zu",
            w.out_len, want_len);
    else if (memcmp(w.out, want, want_len) != 0)
        say(o, "the client exited 0, but its output differs from what it "
            "should be");
    else
        ok = 1;
    watched_free(&w);
    return ok;
}

/* Run the client against a fresh bin/echo-server with in. */
static int echo_via_server(const char *prog, const void *in, size_t len,
                           int total_ms, struct outcome *o)
{
    struct server srv;
    if (server_start(&srv, "echo-server", NULL, NULL) < 0) {
        why_no_start(o, &srv, "bin/echo-server (the checker's server)");
        server_release(&srv);
        return 0;
    }
    int ok = client_run_ok(prog, srv.host, srv.port, in, len, in, len,
                           total_ms, o);
    server_release(&srv);
    return ok;
}

static int c2_line(const char *prog, struct outcome *o)
{
    static const char line[] = "hello, server\n";
    return echo_via_server(prog, line, sizeof line - 1, 10000, o);
}

static int c2_empty(const char *prog, struct outcome *o)
{
    return echo_via_server(prog, "", 0, 10000, o);
}

static int c2_large(const char *prog, struct outcome *o)
{
    size_t size = 4 * MIB;
    unsigned char *data = malloc(size);
    if (data == NULL) {
        say(o, "the checker ran out of memory");
        return 0;
    }
    fill_random(data, size, 2);
    int ok = echo_via_server(prog, data, size, 30000, o);
    free(data);
    return ok;
}

/* A server that echoes until the client's end of file, and then - its
 * own read having returned 0 - still has something to say. */
static const char LAST_WORDS[] = "...and that was everything.\n";

static int last_words_server(void *arg)
{
    int listen_fd = *(int *)arg;
    char buf[4096];
    struct pollfd p = {.fd = listen_fd, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, 10000) != 1)
        return 2;
    int fd = accept(listen_fd, NULL, NULL);
    if (fd < 0)
        return 3;
    for (;;) {
        struct pollfd q = {.fd = fd, .events = POLLIN, .revents = 0};
        if (poll(&q, 1, 10000) != 1)
            return 4;  /* no end of file within 10 s */
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0)
            return 5;
        if (n == 0)
            break;
        if (sock_send_all(fd, buf, (size_t)n, 5000) != (size_t)n)
            return 6;
    }
    sock_send_all(fd, LAST_WORDS, sizeof LAST_WORDS - 1, 5000);
    close(fd);
    return 0;
}

static int c2_last_words(const char *prog, struct outcome *o)
{
    static const char line[] = "a line, then the end\n";
    char want[128];
    uint16_t port;
    struct exit_info how;
    int listen_fd = tcp_listen("127.0.0.1", &port);
    if (listen_fd < 0) {
        say(o, "the checker could not listen: %s", harness_error());
        return 0;
    }
    pid_t pid = child_run(last_words_server, &listen_fd);
    close(listen_fd);
    if (pid < 0) {
        say(o, "the checker could not start its server: %s",
            harness_error());
        return 0;
    }
    snprintf(want, sizeof want, "%s%s", line, LAST_WORDS);
    int ok = client_run_ok(prog, "127.0.0.1", port, line, sizeof line - 1,
                           want, strlen(want), 10000, o);
    child_wait(pid, 5000, &how);
    if (!ok && strstr(o->why, "not finished") == NULL &&
        strstr(o->why, "sat") == NULL) {
        size_t len = strlen(o->why);
        snprintf(o->why + len, sizeof o->why - len, " (this server sends "
                 "\"%.27s\" after it has read your end of file)", LAST_WORDS);
    }
    return ok;
}

static const struct check HALF_CLOSE_CHECKS[] = {
    {"a line comes back", c2_line, HINT_HALF_CLOSE, &AT_SHUTDOWN},
    {"empty input", c2_empty, HINT_HALF_CLOSE, &AT_SHUTDOWN},
    {"4 MiB come back whole", c2_large, HINT_HALF_CLOSE, &AT_SHUTDOWN},
    {"the server's last words", c2_last_words,
     "after shutdown(fd, SHUT_WR) keep reading until read returns 0: bytes "
     "the server sends after your end of file still arrive, and only then "
     "is it safe to close",
     &AT_SHUTDOWN},
};

/* ======================================================================== */
/* Exercise 3: byte order                                                    */
/* ======================================================================== */

/* What one run of the byte-order program printed and did. */
struct addr_run {
    struct run_result r;
    int family;                /* sin_family: value; -1 if no line */
    unsigned char port[2];     /* sin_port: bytes */
    unsigned char addr[4];     /* sin_addr: bytes */
    int port_n, addr_n;        /* how many bytes each line showed */
    char back[64];             /* read back: text ("" if no line) */
    ssize_t datagram;          /* bytes received on the target, -1 none */
};

static int bytes_of(const char *line, unsigned char *out, int max)
{
    int n = 0;
    unsigned value;
    int used;
    while (n < max && sscanf(line, " %2x%n", &value, &used) == 1) {
        out[n++] = (unsigned char)value;
        line += used;
    }
    return n;
}

/* Bind a UDP socket on host with a port whose two bytes differ (so that a
 * port stored without htons lands elsewhere), run prog HOST PORT, and see
 * what it printed and whether its datagram arrived. */
static int addr_run(const char *prog, const char *host, struct addr_run *a,
                    uint16_t *port, struct outcome *o)
{
    int fd = -1;
    char text[8], line[200], buf[128];

    memset(a, 0, sizeof *a);
    for (int tries = 0; tries < 8 && fd < 0; tries++) {
        fd = udp_bind(host, port);
        if (fd >= 0 && (*port >> 8) == (*port & 0xff)) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0) {
        say(o, "the checker could not bind a UDP port on %s: %s", host,
            harness_error());
        return -1;
    }
    const char *const args[] = {host, port_text(*port, text, sizeof text),
                                NULL};
    if (run_program(prog, args, NULL, 0, 10000, &a->r) < 0) {
        say(o, "could not run %s: %s", prog, harness_error());
        close(fd);
        return -1;
    }
    const char *out = (const char *)a->r.out;
    a->family = -1;
    if (line_with(out, "sin_family:", line, sizeof line) != NULL)
        sscanf(strstr(line, "sin_family:") + 11, "%d", &a->family);
    if (line_with(out, "sin_port:", line, sizeof line) != NULL)
        a->port_n = bytes_of(strstr(line, "sin_port:") + 9, a->port, 2);
    if (line_with(out, "sin_addr:", line, sizeof line) != NULL)
        a->addr_n = bytes_of(strstr(line, "sin_addr:") + 9, a->addr, 4);
    if (line_with(out, "read back:", line, sizeof line) != NULL)
        sscanf(strstr(line, "read back:") + 10, " %63s", a->back);
    /* The program has exited: anything it sent is queued already. */
    a->datagram = udp_recv_within(fd, buf, sizeof buf, 0);
    close(fd);
    return 0;
}

static const char *hex_bytes(const unsigned char *b, int n, char *buf,
                             size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used + 4 < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%02x",
                                 i ? " " : "", b[i]);
    if (n == 0)
        snprintf(buf, size, "(no line)");
    return buf;
}

static int c3_family(const char *prog, struct outcome *o)
{
    struct addr_run a;
    uint16_t port;
    if (addr_run(prog, "127.0.0.1", &a, &port, o) < 0)
        return 0;
    int ok = a.family == AF_INET;
    if (a.family < 0)
        say(o, "no \"sin_family:\" line in the output (the printing is "
            "given: keep it)");
    else if (!ok)
        say(o, "sin_family is %d, not AF_INET (%d)", a.family, AF_INET);
    run_result_free(&a.r);
    return ok;
}

static int c3_port(const char *prog, struct outcome *o)
{
    struct addr_run a;
    uint16_t port;
    char shown[32];
    if (addr_run(prog, "127.0.0.1", &a, &port, o) < 0)
        return 0;
    unsigned char want[2] = {(unsigned char)(port >> 8),
                             (unsigned char)(port & 0xff)};
    int ok = a.port_n == 2 && memcmp(a.port, want, 2) == 0;
    if (!ok)
        say(o, "for port %u (0x%04x) sin_port holds %s; in network byte "
            "order it is %02x %02x, the most significant byte first",
            (unsigned)port, (unsigned)port,
            hex_bytes(a.port, a.port_n, shown, sizeof shown), want[0],
            want[1]);
    run_result_free(&a.r);
    return ok;
}

static int c3_addr(const char *prog, struct outcome *o)
{
    static const unsigned char want[4] = {127, 10, 20, 30};
    struct addr_run a;
    uint16_t port;
    char shown[32];
    if (addr_run(prog, "127.10.20.30", &a, &port, o) < 0)
        return 0;
    int ok = a.addr_n == 4 && memcmp(a.addr, want, 4) == 0;
    if (!ok)
        say(o, "for 127.10.20.30 sin_addr holds %s, not 7f 0a 14 1e",
            hex_bytes(a.addr, a.addr_n, shown, sizeof shown));
    run_result_free(&a.r);
    return ok;
}

static int c3_back(const char *prog, struct outcome *o)
{
    struct addr_run a;
    uint16_t port;
    char want[64];
    if (addr_run(prog, "127.10.20.30", &a, &port, o) < 0)
        return 0;
    snprintf(want, sizeof want, "127.10.20.30:%u", (unsigned)port);
    int ok = strcmp(a.back, want) == 0;
    if (!ok)
        say(o, "\"read back:\" says %s, not %s",
            a.back[0] ? a.back : "nothing", want);
    run_result_free(&a.r);
    return ok;
}

static int c3_datagram(const char *prog, struct outcome *o)
{
    struct addr_run a;
    uint16_t port;
    char how[64], said[240];
    if (addr_run(prog, "127.0.0.1", &a, &port, o) < 0)
        return 0;
    int ok = a.datagram > 0 && exited_with(&a.r.exit, 0);
    if (a.datagram <= 0) {
        unsigned swapped = (unsigned)((port >> 8) | ((port & 0xff) << 8));
        say(o, "no datagram reached 127.0.0.1:%u (%s; it said: %s); a port "
            "stored without htons sends it to port %u instead",
            (unsigned)port, describe_exit(&a.r.exit, how, sizeof how),
            first_line(a.r.err, said, sizeof said), swapped);
    } else if (!ok) {
        say(o, "the datagram arrived, but the program ended with %s",
            describe_exit(&a.r.exit, how, sizeof how));
    }
    run_result_free(&a.r);
    return ok;
}

static int c3_refuse(const char *prog, struct outcome *o)
{
    static const char *const bad[] = {"256.1.2.3", "not-an-address"};
    char how[64], said[240], text[8], buf[64];
    uint16_t port;

    /* The port is the checker's own: a program that sends anyway sends
     * here (0.0.0.0 means this host), and it shows. */
    int fd = udp_bind("127.0.0.1", &port);
    if (fd < 0) {
        say(o, "the checker could not bind a UDP port: %s", harness_error());
        return 0;
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct run_result r;
        const char *const args[] = {bad[i], port_text(port, text, sizeof text),
                                    NULL};
        if (run_program(prog, args, NULL, 0, 10000, &r) < 0) {
            say(o, "could not run %s: %s", prog, harness_error());
            close(fd);
            return 0;
        }
        int ok = exited_with(&r.exit, 64) && count_lines(r.err) == 1 &&
                 strstr(r.err, bad[i]) != NULL &&
                 udp_recv_within(fd, buf, sizeof buf, 0) < 0;
        if (!ok)
            say(o, "given \"%s\" it ended with %s (not exit 64 with one "
                "line naming it, and nothing sent); it said: %s", bad[i],
                describe_exit(&r.exit, how, sizeof how),
                first_line(r.err, said, sizeof said));
        run_result_free(&r);
        if (!ok) {
            close(fd);
            return 0;
        }
    }
    close(fd);
    return 1;
}

static const struct check BYTE_ORDER_CHECKS[] = {
    {"sin_family", c3_family,
     "set sin.sin_family = AF_INET, as it is: the family is read by the "
     "kernel, never sent, so it needs no htons",
     &AT_BYTES},
    {"sin_port in network byte order", c3_port,
     "store the port with htons(port): the network wants the most "
     "significant byte first, and this machine keeps numbers the other way "
     "round",
     &AT_BYTES},
    {"sin_addr bytes", c3_addr,
     "fill sin.sin_addr with inet_pton(AF_INET, text, &sin.sin_addr): it "
     "writes the four bytes in network order already, so no htonl on top",
     &AT_BYTES},
    {"read back", c3_back,
     "turn sin back into text: ntohs(sin.sin_port) for the port and "
     "inet_ntop(AF_INET, &sin.sin_addr, back, sizeof back) for the address",
     &AT_BYTES},
    {"the datagram arrives", c3_datagram,
     "the kernel reads sin_port and sin_addr in network byte order: fill "
     "them with htons and inet_pton (TODO 1) and sendto finds the port",
     &AT_BYTES},
    {"a bad address is refused", c3_refuse,
     "check what inet_pton returns: 1 for an address, 0 for text that is "
     "not one (not an errno error: say so yourself, naming the text, and "
     "exit 64), -1 for a bad family",
     &AT_BYTES},
};

/* ======================================================================== */
/* Exercise 4: reap the children                                             */
/* ======================================================================== */

static const char HINT_REAP[] =
    "catch SIGCHLD (sigaction, TODO 2) with a handler that calls "
    "waitpid(-1, &status, WNOHANG) in a loop until it returns 0 or -1 "
    "(TODO 1)";
static const char HINT_EINTR[] =
    "accept returns -1 with errno EINTR when SIGCHLD interrupts it: that is "
    "no error, go round the loop and call accept again (TODO 3)";

/* The server died during a reaping check: was it EINTR? */
static void blame_death(struct server *srv, struct outcome *o,
                        const char *when)
{
    char how[320];
    say(o, "the server ended %s (%s)", when, ended_how(srv, how, sizeof how));
    o->hint = HINT_EINTR;
    o->cite = &AT_EINTR;
}

static int c4_echo(const char *prog, struct outcome *o)
{
    struct server srv;
    if (start(&srv, prog, NULL, NULL, o) < 0)
        return 0;
    int fd = connect_and_echo(srv.host, srv.port, "hello, children\n",
                              "a client", o);
    if (fd >= 0)
        close(fd);
    else
        note_if_gone(&srv, o);
    server_release(&srv);
    return fd >= 0;
}

static int c4_together(const char *prog, struct outcome *o)
{
    struct server srv;
    if (start(&srv, prog, NULL, NULL, o) < 0)
        return 0;
    int a = connect_and_echo(srv.host, srv.port, "first, staying\n",
                             "the first client", o);
    int b = a < 0 ? -1 : connect_and_echo(srv.host, srv.port,
                                          "second, meanwhile\n",
                                          "a second client, while the first "
                                          "stayed connected,", o);
    if (a >= 0)
        close(a);
    if (b >= 0)
        close(b);
    server_release(&srv);
    return b >= 0;
}

static int c4_caught(const char *prog, struct outcome *o)
{
    struct server srv;
    if (start(&srv, prog, NULL, NULL, o) < 0)
        return 0;
    unsigned long long caught = signal_mask(srv.pid, "SigCgt:");
    unsigned long long ignored = signal_mask(srv.pid, "SigIgn:");
    server_release(&srv);
    if (has_signal(caught, SIGCHLD))
        return 1;
    if (has_signal(ignored, SIGCHLD))
        say(o, "SIGCHLD is ignored (SIG_IGN): the kernel then reaps by "
            "itself, but the server never learns how a child ended");
    else
        say(o, "the server has no SIGCHLD handler");
    return 0;
}

static int c4_zombies(const char *prog, struct outcome *o)
{
    struct server srv;
    int children = 0;
    if (start(&srv, prog, NULL, NULL, o) < 0)
        return 0;
    for (int i = 0; i < 20; i++) {
        int fd = connect_and_echo(srv.host, srv.port, "short visit\n",
                                  "a client", o);
        if (fd < 0) {
            if (server_gone(&srv))
                blame_death(&srv, o, "while 20 clients came and went");
            server_release(&srv);
            return 0;
        }
        close(fd);
    }
    wait_children_at_most(srv.pid, 0, 3000);
    int zombies = zombies_of(srv.pid, &children);
    if (zombies < 0) {
        blame_death(&srv, o, "after 20 clients came and went");
        server_release(&srv);
        return 0;
    }
    server_release(&srv);
    if (children > 0) {
        say(o, "20 clients came and went, and 3 s later the server still "
            "has %d child%s, %d of them zombies", children,
            children == 1 ? "" : "ren", zombies);
        return 0;
    }
    return 1;
}

static int c4_eintr(const char *prog, struct outcome *o)
{
    struct server srv;
    pid_t kids[8];
    if (start(&srv, prog, NULL, NULL, o) < 0)
        return 0;
    int fd = connect_and_echo(srv.host, srv.port, "the first\n",
                              "the first client", o);
    if (fd < 0) {
        server_release(&srv);
        return 0;
    }
    int n = children_of(srv.pid, kids, 8);
    close(fd);
    /* Wait (bounded) until that child has exited (zombie or reaped), and
     * its SIGCHLD has been delivered (no longer pending): only then can
     * the server have seen an EINTR. A server with no handler never gets
     * the signal at all: SIGCHLD's default is to discard it. */
    long long end = now_ms() + 3000;
    for (int i = 0; i < n; i++)
        while (state_of(kids[i]) != 'Z' && state_of(kids[i]) != 0 &&
               now_ms() < end)
            nap_ms(2);
    while (server_alive(&srv) &&
           (has_signal(signal_mask(srv.pid, "SigPnd:"), SIGCHLD) ||
            has_signal(signal_mask(srv.pid, "ShdPnd:"), SIGCHLD)) &&
           now_ms() < end)
        nap_ms(2);

    fd = server_alive(&srv) ? connect_and_echo(srv.host, srv.port,
                                               "the second\n",
                                               "a second client", o)
                            : -1;
    if (fd < 0 && server_gone(&srv))
        blame_death(&srv, o, "when its first child exited");
    if (fd >= 0)
        close(fd);
    server_release(&srv);
    return fd >= 0;
}

static int c4_burst(const char *prog, struct outcome *o)
{
    enum { N = 11 };  /* 10 leave together, 1 stays */
    struct server srv;
    int fds[N], children = 0;
    int ok = 0;
    if (start(&srv, prog, NULL, NULL, o) < 0)
        return 0;
    for (int i = 0; i < N; i++)
        fds[i] = -1;
    for (int i = 0; i < N; i++) {
        fds[i] = connect_and_echo(srv.host, srv.port, "together\n",
                                  "a client", o);
        if (fds[i] < 0)
            goto out;
    }
    /* Stop the server, let ten children exit while it cannot run, and let
     * it go on: their ten SIGCHLDs have merged into one pending signal. */
    kill(srv.pid, SIGSTOP);
    long long end = now_ms() + 3000;
    while (state_of(srv.pid) != 'T' && now_ms() < end)
        nap_ms(2);
    for (int i = 0; i < N - 1; i++) {
        close(fds[i]);
        fds[i] = -1;
    }
    while (zombies_of(srv.pid, &children) < N - 1 && now_ms() < end)
        nap_ms(2);
    kill(srv.pid, SIGCONT);

    int left = wait_children_at_most(srv.pid, 1, 3000);
    if (left < 0) {
        blame_death(&srv, o, "after ten children exited at once");
        goto out;
    }
    if (left > 1) {
        int zombies = zombies_of(srv.pid, NULL);
        say(o, "ten children exited while the server was stopped, so their "
            "ten SIGCHLDs arrived as one; 3 s later %d of them are still "
            "zombies", zombies < 0 ? left - 1 : zombies);
        goto out;
    }
    /* Let the server settle: asleep again (in accept, or in a blocking
     * handler), or gone. */
    end = now_ms() + 3000;
    while (state_of(srv.pid) != 'S' && state_of(srv.pid) != 'Z' &&
           state_of(srv.pid) != 0 && now_ms() < end)
        nap_ms(2);
    if (!server_alive(&srv)) {
        blame_death(&srv, o, "after ten children exited at once");
        goto out;
    }
    /* One child still serves its client: the handler must not wait for
     * it, or the server is stuck in the handler and accepts nobody. */
    int fd = connect_and_echo(srv.host, srv.port, "anyone there?\n",
                              "a new client", o);
    if (fd < 0) {
        if (server_gone(&srv))
            blame_death(&srv, o, "after ten children exited at once");
        else {
            size_t len = strlen(o->why);
            snprintf(o->why + len, sizeof o->why - len,
                     " while one child was still serving its client: the "
                     "handler is stuck waiting for that child");
            o->hint = "use waitpid with WNOHANG: without it, the handler's "
                      "last call blocks until a child that is still serving "
                      "exits, and the whole server waits with it";
        }
        goto out;
    }
    close(fd);
    ok = 1;
out:
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    server_release(&srv);
    return ok;
}

static const struct check REAP_CHECKS[] = {
    {"echo", c4_echo,
     "fork after accept: the child echoes and _exits, the parent closes its "
     "copy of the client's descriptor and accepts again",
     &AT_FORK},
    {"two clients at once", c4_together,
     "each client gets its own child process, so a second one is served "
     "while the first is still connected",
     &AT_FORK},
    {"SIGCHLD is caught", c4_caught, HINT_REAP, &AT_ZOMBIES},
    {"no zombies", c4_zombies, HINT_REAP, &AT_ZOMBIES},
    {"accept survives SIGCHLD", c4_eintr, HINT_EINTR, &AT_EINTR},
    {"one SIGCHLD, ten exits", c4_burst,
     "signals do not queue: one SIGCHLD may stand for many exits, so the "
     "handler calls waitpid(-1, &status, WNOHANG) in a loop until it "
     "returns 0 (TODO 1)",
     &AT_ZOMBIES},
};

/* ======================================================================== */
/* Exercise 5: partial writes                                                */
/* ======================================================================== */

static const char HINT_PARTIAL[] =
    "a non-blocking write takes what fits and returns: keep the rest with "
    "queue_output (TODO 1), write it when poll says POLLOUT (TODO 2, TODO "
    "3), and at the client's end of input close only once c->out is empty "
    "(TODO 4)";

static int c5_line(const char *prog, struct outcome *o)
{
    struct server srv;
    if (start(&srv, prog, NULL, NULL, o) < 0)
        return 0;
    int fd = connect_and_echo(srv.host, srv.port, "hello, poll\n",
                              "a client", o);
    if (fd >= 0)
        close(fd);
    else
        note_if_gone(&srv, o);
    server_release(&srv);
    return fd >= 0;
}

/* Judge n bulk connections of size bytes each. */
static int bulk_verdict(int n, size_t size, const size_t *got,
                        const int *same, const int *eof, struct outcome *o)
{
    for (int i = 0; i < n; i++) {
        const char *who = n == 1 ? "the client" : "a client";
        if (got[i] < size)
            say(o, "%s sent %zu bytes and only %zu came back before the "
                "server closed: the rest were lost", who, size, got[i]);
        else if (got[i] > size)
            say(o, "%s sent %zu bytes and %zu came back", who, size, got[i]);
        else if (!same[i])
            say(o, "%s got %zu bytes back, but not the ones it sent (out of "
                "order, or another client's)", who, got[i]);
        else if (!eof[i])
            say(o, "%s got its echo, but the server never closed", who);
        else
            continue;
        return 0;
    }
    return 1;
}

/* Bytes received on the IPv4 TCP connection from 127.0.0.1:remote to
 * local port `local` that its owner has not read yet (rx_queue in
 * /proc/net/tcp); -1 when there is no such connection. */
static long unread_bytes(uint16_t local, uint16_t remote)
{
    char line[512];
    long unread = -1;
    FILE *f = fopen("/proc/net/tcp", "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned lport, rport, st;
        unsigned long tx, rx;
        if (sscanf(line, " %*d: %*8s:%x %*8s:%x %x %lx:%lx", &lport, &rport,
                   &st, &tx, &rx) == 5 &&
            lport == local && rport == remote) {
            unread = (long)rx;
            break;
        }
    }
    fclose(f);
    return unread;
}

/* The kernel's largest send buffer (net.ipv4.tcp_wmem, third field), or 4
 * MiB when it cannot be read. */
static size_t max_send_buffer(void)
{
    unsigned long lo, mid, hi;
    size_t size = 4 * MIB;
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");
    if (f == NULL)
        return size;
    if (fscanf(f, "%lu %lu %lu", &lo, &mid, &hi) == 3)
        size = hi;
    fclose(f);
    return size;
}

static int c5_bulk(const char *prog, struct outcome *o)
{
    struct server srv;
    size_t got[1];
    int same[1], eof[1];
    /* More than the kernel's largest send buffer can hold, so that some
     * of the echo must wait in the server. */
    size_t size = max_send_buffer() + 4 * MIB;
    if (size < 8 * MIB)
        size = 8 * MIB;
    if (start(&srv, prog, NULL, NULL, o) < 0)
        return 0;
    int rc = bulk_echo(srv.port, 1, size, SLOW_READER, 30000, got, same, eof,
                       o);
    server_release(&srv);
    return rc == 0 && bulk_verdict(1, size, got, same, eof, o);
}

static int c5_many(const char *prog, struct outcome *o)
{
    enum { N = 10 };
    struct server srv;
    size_t got[N];
    int same[N], eof[N];
    if (start(&srv, prog, NULL, NULL, o) < 0)
        return 0;
    int rc = bulk_echo(srv.port, N, 1 * MIB, SLOW_READER, 30000, got, same,
                       eof, o);
    server_release(&srv);
    return rc == 0 && bulk_verdict(N, 1 * MIB, got, same, eof, o);
}

static int c5_stalled(const char *prog, struct outcome *o)
{
    struct server srv;
    struct sockaddr_in to;
    int small = SLOW_READER;
    if (start(&srv, prog, NULL, NULL, o) < 0)
        return 0;

    /* A client that sends more than the server's send buffer can hold
     * and reads none of its echo: the server's writes to it stop going
     * through. */
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons(srv.port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int lazy = socket(AF_INET, SOCK_STREAM, 0);
    if (lazy < 0 ||
        setsockopt(lazy, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) < 0 ||
        connect(lazy, (struct sockaddr *)&to, sizeof to) < 0) {
        say(o, "the client that does not read could not connect: %s",
            strerror(errno));
        if (lazy >= 0)
            close(lazy);
        server_release(&srv);
        return 0;
    }
    size_t size = max_send_buffer() + 1 * MIB;
    unsigned char *data = malloc(size);
    if (data == NULL) {
        say(o, "the checker ran out of memory");
        close(lazy);
        server_release(&srv);
        return 0;
    }
    fill_random(data, size, 5);
    /* All of it, or as much as goes until nothing has moved for
     * STOPPED_MS (a server that applies backpressure stops reading). */
    size_t sent = 0;
    long long end = now_ms() + 10000, moved = now_ms();
    fcntl(lazy, F_SETFL, O_NONBLOCK);
    while (sent < size && now_ms() < end && now_ms() - moved < STOPPED_MS) {
        struct pollfd p = {.fd = lazy, .events = POLLOUT, .revents = 0};
        if (poll(&p, 1, 50) != 1)
            continue;
        ssize_t w = write(lazy, data + sent, size - sent);
        if (w > 0) {
            sent += (size_t)w;
            moved = now_ms();
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            break;
        }
    }
    /* Much of it may still wait, unread, in the server's receive buffer:
     * wait until the server has read it all, or has stopped reading - its
     * unread count still for STOPPED_MS while it sleeps (backpressure, or
     * a blocking write) or spins (a write retried in a loop). A server
     * only slow to get the CPU on a busy machine is neither. */
    struct sockaddr_in mine;
    socklen_t mine_len = sizeof mine;
    getsockname(lazy, (struct sockaddr *)&mine, &mine_len);
    long hz = sysconf(_SC_CLK_TCK), last = -1, cpu = 0;
    for (long long since = now_ms(); now_ms() < end; nap_ms(10)) {
        long unread = unread_bytes(srv.port, ntohs(mine.sin_port));
        if (unread <= 0)
            break;  /* all read (or the connection is gone) */
        if (unread != last) {
            last = unread;
            since = now_ms();
            cpu = cpu_ticks(srv.pid);
            continue;
        }
        long long still = now_ms() - since;
        long spun_ms = (cpu_ticks(srv.pid) - cpu) * 1000 / (hz > 0 ? hz : 100);
        if (still >= STOPPED_MS &&
            (state_of(srv.pid) == 'S' || spun_ms * 2 >= still))
            break;
    }
    free(data);

    int fd = connect_and_echo(srv.host, srv.port, "still there?\n",
                              "a second client, while the first read "
                              "nothing,", o);
    if (fd >= 0)
        close(fd);
    sock_reset(lazy);
    server_release(&srv);
    return fd >= 0;
}

static int c5_idle_cpu(const char *prog, struct outcome *o)
{
    struct server srv;
    if (start(&srv, prog, NULL, NULL, o) < 0)
        return 0;
    int fd = connect_and_echo(srv.host, srv.port, "then quiet\n",
                              "a client", o);
    if (fd < 0) {
        server_release(&srv);
        return 0;
    }
    /* A measurement over an interval, not a wait for an event: the CPU
     * time one idle, connected client costs the server in half a second. */
    long hz = sysconf(_SC_CLK_TCK);
    long before = cpu_ticks(srv.pid);
    nap_ms(500);
    long after = cpu_ticks(srv.pid);
    close(fd);
    server_release(&srv);
    if (before < 0 || after < 0) {
        say(o, "cannot read the server's CPU time: %s", harness_error());
        return 0;
    }
    long used_ms = (after - before) * 1000 / (hz > 0 ? hz : 100);
    if (used_ms > 100) {
        say(o, "with one idle client the server used %ld ms of CPU in "
            "500 ms: poll returns at once, again and again", used_ms);
        return 0;
    }
    return 1;
}

static const struct check PARTIAL_CHECKS[] = {
    {"a line comes back", c5_line, HINT_PARTIAL, &AT_PARTIAL},
    {"8 MiB or more to a slow reader", c5_bulk, HINT_PARTIAL, &AT_PARTIAL},
    {"ten clients, 1 MiB each", c5_many, HINT_PARTIAL, &AT_PARTIAL},
    {"a client that does not read stalls nobody", c5_stalled,
     "never wait for one socket: write what fits, keep the rest for "
     "POLLOUT and go back to poll (a loop that retries write until all is "
     "gone stalls every other client)",
     &AT_NONBLOCK},
    {"an idle client costs no CPU", c5_idle_cpu,
     "ask for POLLOUT only while bytes wait in c->out (TODO 3): an idle "
     "socket is always writable, so poll would return at once, forever",
     &AT_PARTIAL},
};

/* ======================================================================== */
/* Exercise 6: a UDP client that retries                                     */
/* ======================================================================== */

static const char HINT_RETRY[] =
    "when no echo comes within -w MS, send the same datagram again, up to "
    "-r more times (TODO 1)";
static const char HINT_STRAY[] =
    "take a datagram as the echo only if it has the same length and bytes "
    "as the one sent (memcmp); anything else is a late echo: ignore it and "
    "keep waiting (TODO 2)";

/* How a scripted server answers one datagram content. */
struct rule {
    const char *data;   /* the datagram this rule is for */
    int ignore;         /* copies to ignore before answering; -1: all */
    int echoes;         /* how many echoes to send when it answers */
    const char *first;  /* sent just before the echo (a late echo), or NULL */
    int last;           /* after answering this, exit */
};

struct script {
    int fd;
    const struct rule *rules;
    int count;
    int report;         /* exit code: copies seen of rules[report] */
};

/* A UDP server that answers by its script: the fake of test_udp.c's
 * stray_and_lost_datagrams, made general. Exits with the number of copies
 * it saw of the datagram it reports on, or 250+ on trouble. */
static int scripted_server(void *arg)
{
    const struct script *s = arg;
    int seen[8] = {0};
    char buf[2048];

    for (;;) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        struct pollfd p = {.fd = s->fd, .events = POLLIN, .revents = 0};
        if (poll(&p, 1, 10000) != 1)
            return 250;  /* the client stopped before the script ended */
        ssize_t n = recvfrom(s->fd, buf, sizeof buf, 0,
                             (struct sockaddr *)&peer, &len);
        if (n < 0)
            return 251;
        int k = 0;
        while (k < s->count && (strlen(s->rules[k].data) != (size_t)n ||
                                memcmp(s->rules[k].data, buf, (size_t)n)))
            k++;
        if (k == s->count) {  /* not in the script: a plain echo */
            sendto(s->fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, len);
            continue;
        }
        const struct rule *r = &s->rules[k];
        seen[k]++;
        if (r->ignore < 0 || seen[k] <= r->ignore)
            continue;
        if (r->first != NULL)
            sendto(s->fd, r->first, strlen(r->first), 0,
                   (struct sockaddr *)&peer, len);
        for (int e = 0; e < r->echoes; e++)
            sendto(s->fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, len);
        if (r->last)
            return seen[s->report];
    }
}

/* Run the client (-w 250 -r 2) with input against a scripted server, and
 * compare: stdout must be want, the exit code `code`, and the server must
 * have seen `copies` copies of the reported datagram, or at least that
 * many when at_least (a busy machine may delay an answer past -w, and a
 * client then rightly sends once more). */
static int scripted_run(const char *prog, const struct rule *rules, int count,
                        int report, const char *input, const char *want,
                        int code, int copies, int at_least,
                        struct outcome *o)
{
    struct script s = {.rules = rules, .count = count, .report = report};
    struct run_result r;
    struct exit_info fake;
    uint16_t port;
    char p[8], how[64], said[240], got[120], expected[120];

    s.fd = udp_bind("127.0.0.1", &port);
    if (s.fd < 0) {
        say(o, "the checker could not bind a UDP port: %s", harness_error());
        return 0;
    }
    pid_t pid = child_run(scripted_server, &s);
    close(s.fd);
    if (pid < 0) {
        say(o, "the checker could not start its server: %s",
            harness_error());
        return 0;
    }
    const char *const args[] = {"-w", "250", "-r", "2", "127.0.0.1",
                                port_text(port, p, sizeof p), NULL};
    if (run_program(prog, args, input, strlen(input), 15000, &r) < 0) {
        say(o, "could not run %s: %s", prog, harness_error());
        child_wait(pid, 100, &fake);
        return 0;
    }
    child_wait(pid, 3000, &fake);
    int seen = fake.exited ? fake.code : -1;
    int ok = 0;
    if (!exited_with(&r.exit, code))
        say(o, "the client ended with %s, not exit %d; it printed \"%s\" "
            "and said: %s", describe_exit(&r.exit, how, sizeof how), code,
            one_line((const char *)r.out, got, sizeof got),
            first_line(r.err, said, sizeof said));
    else if (strcmp((const char *)r.out, want) != 0)
        say(o, "the client printed \"%s\", not \"%s\"",
            one_line((const char *)r.out, got, sizeof got),
            one_line(want, expected, sizeof expected));
    else if (at_least ? seen < copies : seen != copies)
        say(o, "the server got \"%.*s\" %d time%s, not %s%d",
            (int)strcspn(rules[report].data, "\n"), rules[report].data, seen,
            seen == 1 ? "" : "s", at_least ? "at least " : "", copies);
    else if (code != 0 && strstr(r.err, "lost") == NULL)
        say(o, "the client exited %d but did not say which datagram was "
            "lost (no \"lost\" on stderr): %s", code,
            one_line(r.err, said, sizeof said));
    else
        ok = 1;
    run_result_free(&r);
    return ok;
}

static int c6_lines(const char *prog, struct outcome *o)
{
    static const char input[] = "one\ntwo words\n\nlast\n";
    struct server srv;
    struct run_result r;
    char p[8], how[64], said[240], got[120];
    if (server_start(&srv, "udp-echo-server", NULL, NULL) < 0) {
        why_no_start(o, &srv, "bin/udp-echo-server (the checker's server)");
        server_release(&srv);
        return 0;
    }
    const char *const args[] = {"-w", "1000", "127.0.0.1",
                                port_text(srv.port, p, sizeof p), NULL};
    int rc = run_program(prog, args, input, sizeof input - 1, 15000, &r);
    server_release(&srv);
    if (rc < 0) {
        say(o, "could not run %s: %s", prog, harness_error());
        return 0;
    }
    int ok = exited_with(&r.exit, 0) && strcmp((char *)r.out, input) == 0;
    if (!ok)
        say(o, "against bin/udp-echo-server the client ended with %s and "
            "printed \"%s\"; it said: %s",
            describe_exit(&r.exit, how, sizeof how),
            one_line((char *)r.out, got, sizeof got),
            first_line(r.err, said, sizeof said));
    run_result_free(&r);
    return ok;
}

static int c6_resend(const char *prog, struct outcome *o)
{
    /* The first copy of "one" is dropped; the second is answered. */
    static const struct rule rules[] = {
        {"one\n", 1, 1, NULL, 0},
        {"two\n", 0, 1, NULL, 1},
    };
    return scripted_run(prog, rules, 2, 0, "one\ntwo\n", "one\ntwo\n", 0, 2, 1,
                        o);
}

static int c6_late(const char *prog, struct outcome *o)
{
    /* The first copy of "one" gets no answer; the second gets two: the
     * late echo of the first try, and its own. The extra one arrives while
     * the client waits for "two". */
    static const struct rule rules[] = {
        {"one\n", 1, 2, NULL, 0},
        {"two\n", 0, 1, NULL, 1},
    };
    return scripted_run(prog, rules, 2, 0, "one\ntwo\n", "one\ntwo\n", 0, 2, 1,
                        o);
}

static int c6_lost(const char *prog, struct outcome *o)
{
    /* "two" is never answered, in time: its echo comes late, just before
     * the echo of "three". */
    static const struct rule rules[] = {
        {"one\n", 0, 1, NULL, 0},
        {"two\n", -1, 0, NULL, 0},
        {"three\n", 0, 1, "two\n", 1},
    };
    /* Never answered: exactly 1 + -r copies, however busy the machine. */
    return scripted_run(prog, rules, 3, 1, "one\ntwo\nthree\n",
                        "one\nthree\n", 69, 3, 0, o);
}

static const struct check UDP_CHECKS[] = {
    {"lines come back", c6_lines,
     "send each line as one datagram and print the echo that comes back",
     &AT_RETRY},
    {"a dropped datagram is sent again", c6_resend, HINT_RETRY, &AT_RETRY},
    {"a late echo is not the next one's", c6_late, HINT_STRAY, &AT_LATE},
    {"lost after 1 + -r tries, late echo ignored", c6_lost,
     "after 1 + -r tries with no echo the datagram is lost: say so (with "
     "the word \"lost\"), count it, go on with the next line and exit 69 at "
     "the end; its echo may still come, late, and is not the next one's",
     &AT_LATE},
};

/* ======================================================================== */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct exercise EXERCISES[] = {
    {1, "01-listener", "the listener", LISTENER_CHECKS,
     COUNT(LISTENER_CHECKS)},
    {2, "02-half-close", "the client's half-close", HALF_CLOSE_CHECKS,
     COUNT(HALF_CLOSE_CHECKS)},
    {3, "03-byte-order", "byte order", BYTE_ORDER_CHECKS,
     COUNT(BYTE_ORDER_CHECKS)},
    {4, "04-reap-children", "reap the children", REAP_CHECKS,
     COUNT(REAP_CHECKS)},
    {5, "05-partial-writes", "partial writes", PARTIAL_CHECKS,
     COUNT(PARTIAL_CHECKS)},
    {6, "06-udp-retries", "a UDP client that retries", UDP_CHECKS,
     COUNT(UDP_CHECKS)},
};

static void print_cite(const struct cite *c)
{
    if (c->heading != NULL)
        printf(" (see %s, section: %s)", c->file, c->heading);
    else
        printf(" (see %s)", c->file);
}

/* Run e's checks (only the one named `only`, when not NULL) on prog. */
static int run_exercise(const struct exercise *e, const char *prog,
                        const char *only)
{
    int passed = 0, failed = 0, skipped = 0, started = 1;
    size_t count = e->count;

    if (only != NULL)
        count = 1;
    printf("exercise %d, %s: %zu check%s of %s\n", e->number, e->title,
           count, count == 1 ? "" : "s", prog);
    fflush(stdout);
    for (size_t i = 0; i < e->count; i++) {
        const struct check *c = &e->checks[i];
        struct outcome o;
        if (only != NULL && strcmp(only, c->name) != 0)
            continue;
        memset(&o, 0, sizeof o);
        int ok = c->run(prog, &o);
        harness_cleanup();  /* nothing a check started outlives it */
        if (o.skipped) {
            skipped++;
            printf("  skip  %s: %s\n", c->name, o.why);
        } else if (ok) {
            passed++;
            printf("  pass  %s\n", c->name);
        } else if (o.no_start && !started) {
            /* Said once, at the first check: the rest only point at it. */
            failed++;
            printf("  FAIL  %s: not tried, the server does not start yet "
                   "(see above); then: %s", c->name,
                   o.hint != NULL ? o.hint : c->hint);
            print_cite(o.cite != NULL ? o.cite : c->cite);
            printf("\n");
        } else {
            failed++;
            started = started && !o.no_start;
            printf("  FAIL  %s: %s; hint: %s", c->name, o.why,
                   o.hint != NULL ? o.hint : c->hint);
            print_cite(o.cite != NULL ? o.cite : c->cite);
            printf("\n");
        }
        fflush(stdout);
    }
    if (failed == 0)
        printf("all %d checks pass%s\n", passed,
               skipped ? " (the skipped ones could not run here)" : "");
    else
        printf("%d of %zu checks pass\n", passed, count);
    return failed == 0 ? 0 : 1;
}

static int usage(FILE *to, int code)
{
    fprintf(to, "usage: exercise-check N PROGRAM [CHECK] | --list | "
                "--sections\n"
                "  N PROGRAM   run exercise N's checks against PROGRAM (only "
                "CHECK, named as it prints)\n"
                "  --list      the exercises: N SLUG TITLE\n"
                "  --sections  the lesson sections the hints name\n");
    return code;
}

int main(int argc, char **argv)
{
    /* A client or server that vanishes must give us EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    atexit(harness_cleanup);

    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < COUNT(EXERCISES); i++)
            printf("%d %s %s\n", EXERCISES[i].number, EXERCISES[i].slug,
                   EXERCISES[i].title);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--sections") == 0) {
        for (size_t i = 0; i < COUNT(EXERCISES); i++)
            for (size_t k = 0; k < EXERCISES[i].count; k++) {
                const struct cite *c = EXERCISES[i].checks[k].cite;
                printf("%s\t%s\n", c->file, c->heading ? c->heading : "");
            }
        /* And the ones a check puts in place of its own. */
        printf("%s\t%s\n", AT_EINTR.file, AT_EINTR.heading);
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "--help") == 0))
        return usage(stdout, 0);
    if (argc != 3 && argc != 4)
        return usage(stderr, 64);

    long n;
    char *end;
    errno = 0;
    n = strtol(argv[1], &end, 10);
    if (errno != 0 || *end != '\0' || end == argv[1] || n < 1 ||
        n > (long)COUNT(EXERCISES)) {
        fprintf(stderr, "exercise-check: no exercise '%s': expected a "
                "number from 1 to %zu\n", argv[1], COUNT(EXERCISES));
        return 64;
    }
    if (access(argv[2], X_OK) != 0) {
        fprintf(stderr, "exercise-check: %s: %s (build it first)\n", argv[2],
                strerror(errno));
        return 64;
    }
    const struct exercise *e = &EXERCISES[n - 1];
    if (argc == 4) {
        size_t k = 0;
        while (k < e->count && strcmp(e->checks[k].name, argv[3]) != 0)
            k++;
        if (k == e->count) {
            fprintf(stderr, "exercise-check: exercise %ld has no check "
                    "'%s'\n", n, argv[3]);
            return 64;
        }
    }
    return run_exercise(e, argv[2], argc == 4 ? argv[3] : NULL);
}

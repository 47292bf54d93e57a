/* echo_bench.c - a load generator for any echo server, and a lesson in
 * measuring.
 *
 * A load generator measures two things at once: the server, and itself.
 * If it is slower than the server, the figure it prints is its own speed.
 * An earlier version ran one thread per client, and at 50 clients it
 * reported 0.6x what an event-driven generator measured on the same
 * server. So this one is the design it measures best: one thread, every
 * socket non-blocking, one poll() loop, no work per byte but a memcmp.
 *
 *   -m pingpong  CLIENTS connections, one message of SIZE bytes outstanding
 *                on each: write it, wait for the whole echo, write the next
 *                -> round trips/s, and the latency of each
 *   -m pump      CLIENTS connections that write SIZE-byte blocks (8 KiB) as
 *                fast as the server takes them, and read the echo
 *                -> MB/s echoed back
 *   -m connect   CLIENTS slots, each: connect, one message, half-close, wait
 *                for the server to close -> connections/s (what a new
 *                client costs: a fork, a thread, or an accept)
 *   -m idle      CLIENTS connections (up to 65536) opened and held idle,
 *                then one new client's ROUNDS round trips timed while they
 *                are held -> how long opening them took, the new client's
 *                latency, and with -p the server's memory (RSS) and CPU
 *                while idle: what an idle client costs each design
 *
 * Reference modes measure the machine, not a server, in the same run:
 *   -m ref-socketpair  ping-pong with a child over a socketpair: the cost
 *                      of two wake-ups, the floor of any round trip
 *   -m ref-fork        fork + _exit + waitpid: the floor of fork-per-client
 *   -m ref-stream      one-way stream over loopback TCP to a child that
 *                      only reads: the copy limit of loopback
 *
 * Every byte that comes back is compared with what was sent (a mismatch
 * ends the run, with the offset). Every run is bounded twice: by ROUNDS
 * (per client) and by -d SECONDS, a hard deadline even against a server
 * that accepts and never answers. With -p PID the server's own CPU time
 * (from /proc/PID/stat, its reaped and live children included) is
 * divided by the work done: the cost of one request, which holds better
 * than a rate when the machine is busy.
 *
 * Usage: echo-bench [-h] [-v] [-m MODE] [-c CLIENTS] [-n ROUNDS] [-s SIZE]
 *                   [-d SECONDS] [-p PID] [-o FORMAT] [HOST [PORT]]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "addr.h"
#include "cli.h"
#include "fail.h"
#include "io.h"
#include "signals.h"
#include "sockets.h"
#include "trace.h"

static const char usage[] =
    "[-h] [-v] [-m MODE] [-c CLIENTS] [-n ROUNDS] [-s SIZE] [-d SECONDS]\n"
    "       [-p PID] [-o FORMAT] [HOST [PORT]]\n"
    "  Measure an echo server (or, with ref-*, this machine).\n"
    "  -m MODE     pingpong (default), pump, connect, idle, ref-socketpair,"
    "\n"
    "              ref-fork or ref-stream\n"
    "  -c CLIENTS  connections at once, 1-1000 (default 1); idle: "
    "connections\n"
    "              held open, 1-65536 (the descriptor limit is raised to "
    "fit)\n"
    "  -n ROUNDS   per client: round trips, blocks or connections, "
    "1-100000000\n"
    "              (default 10000; idle: the new client's, default 500)\n"
    "  -s SIZE     bytes per message or block, 1-65536 (default 64; 8192 for "
    "pump,\n"
    "              65536 for ref-stream)\n"
    "  -d SECONDS  hard deadline, 1-3600 (default 10)\n"
    "  -p PID      the server's pid: report its CPU time per request (and "
    "with\n"
    "              idle, its memory)\n"
    "  -o FORMAT   text (default), csv (a header and one row) or json (one "
    "line)\n"
    "  HOST        name or address (default 127.0.0.1), or HOST:PORT / "
    "[V6ADDR]:PORT;\n"
    "              a lone number is the PORT (default 7000)";

enum mode { PINGPONG, PUMP, CONNECT, IDLE, REF_SOCKETPAIR, REF_FORK,
            REF_STREAM };
static const char *const mode_names[] = {
    "pingpong", "pump", "connect", "idle", "ref-socketpair", "ref-fork",
    "ref-stream"};
enum format { TEXT, CSV, JSON };

#define READ_MAX 65536        /* one read takes at most this much */
#define PUMP_WINDOW (256 * 1024) /* pump: bytes in flight per connection */

struct plan {
    enum mode mode;
    long clients, rounds, size, seconds, pid;
    enum format format;
    int size_given, rounds_given;
};

#define CLIENTS_MAX 1000       /* pingpong, pump, connect */
#define IDLE_CLIENTS_MAX 65536 /* idle: about 28,000 fit the usual range of
                                  ephemeral ports, per server address */

static const char *on_option(int letter, const char *arg, void *ctx)
{
    struct plan *plan = ctx;
    switch (letter) {
    case 'm':
        for (size_t i = 0; i < sizeof mode_names / sizeof *mode_names; i++)
            if (strcmp(arg, mode_names[i]) == 0) {
                plan->mode = (enum mode)i;
                return NULL;
            }
        return "pingpong, pump, connect, idle, ref-socketpair, ref-fork or "
               "ref-stream";
    case 'o':
        if (strcmp(arg, "text") == 0)
            plan->format = TEXT;
        else if (strcmp(arg, "csv") == 0)
            plan->format = CSV;
        else if (strcmp(arg, "json") == 0)
            plan->format = JSON;
        else
            return "text, csv or json";
        return NULL;
    case 'c':
        /* The mode may come later on the line: main checks 1000. */
        return parse_long_in(arg, 1, IDLE_CLIENTS_MAX, &plan->clients) == 0
                   ? NULL : "a number of clients from 1 to 1000 (up to "
                            "65536 with -m idle)";
    case 'n':
        plan->rounds_given = 1;
        return parse_long_in(arg, 1, 100000000, &plan->rounds) == 0
                   ? NULL : "a number from 1 to 100000000";
    case 's':
        plan->size_given = 1;
        return parse_long_in(arg, 1, READ_MAX, &plan->size) == 0
                   ? NULL : "a size in bytes from 1 to 65536";
    case 'p':
        return parse_long_in(arg, 1, 4194304, &plan->pid) == 0
                   ? NULL : "the pid of a running server, 1-4194304";
    default:
        return parse_long_in(arg, 1, 3600, &plan->seconds) == 0
                   ? NULL : "a number of seconds from 1 to 3600";
    }
}

/* ---- time --------------------------------------------------------------- */

/* CLOCK_MONOTONIC: a wall clock can be stepped in the middle of a run. */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- what the echo must be ------------------------------------------------
 *
 * Each connection sends a stretch of one fixed pseudo-random pattern,
 * starting at an offset of its own, so an echo that comes back from the
 * wrong connection, or out of order, or a message too early, differs. The
 * period is prime so that it never lines up with a message size; the
 * table is READ_MAX longer than the period so that any READ_MAX bytes of
 * the stream are one contiguous piece of it, checked with one memcmp. */
#define PERIOD 65521
static unsigned char pattern[PERIOD + READ_MAX];

static void fill_pattern(void)
{
    uint32_t x = 2463534242u;  /* xorshift32: cheap, and no byte repeats
                                  in a way a server could fake */
    for (size_t i = 0; i < PERIOD; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        pattern[i] = (unsigned char)(x >> 24);
    }
    for (size_t i = PERIOD; i < sizeof pattern; i++)
        pattern[i] = pattern[i - PERIOD];
}

static const unsigned char *stream_at(uint64_t offset)
{
    return pattern + offset % PERIOD;
}

/* ---- latency: a histogram, not a list -------------------------------------
 *
 * Millions of samples would need megabytes and a sort. Instead each one
 * falls in a bucket 1/64 of a power of two wide (under 1.6 % error), so
 * the percentiles come from 3,776 counters. The maximum is kept exactly:
 * it is the one a user waited for. */
#define SUB 64
#define BUCKETS (SUB + 58 * SUB)
static uint64_t lat_hist[BUCKETS];
static uint64_t lat_count;
static double lat_max;

static void lat_add(double seconds)
{
    uint64_t ns = seconds > 0 ? (uint64_t)(seconds * 1e9) : 0;
    size_t b = (size_t)ns;
    if (ns >= SUB) {
        int msb = 0;
        for (uint64_t v = ns; v > 1; v >>= 1)
            msb++;
        uint64_t top = ns >> (msb - 6);  /* 64..127: the next 6 bits */
        b = SUB + (size_t)(msb - 6) * SUB + (size_t)(top - SUB);
    }
    if (b >= BUCKETS)
        b = BUCKETS - 1;
    lat_hist[b]++;
    lat_count++;
    if (seconds > lat_max)
        lat_max = seconds;
}

/* The middle of the bucket holding the sample of rank q (0..1), in us. */
static double lat_quantile(double q)
{
    if (lat_count == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)(lat_count - 1)), seen = 0;
    for (size_t b = 0; b < BUCKETS; b++) {
        seen += lat_hist[b];
        if (seen > rank) {
            if (b < SUB)
                return (double)b / 1e3;
            unsigned shift = (unsigned)((b - SUB) / SUB);
            uint64_t low = (uint64_t)(SUB + (b - SUB) % SUB) << shift;
            double width = (double)((uint64_t)1 << shift);
            double mid = ((double)low + width / 2) / 1e3;
            /* A bucket's middle may lie past the largest sample in it. */
            return mid < lat_max * 1e6 ? mid : lat_max * 1e6;
        }
    }
    return lat_max * 1e6;
}

/* ---- the server's CPU time -------------------------------------------------
 *
 * /proc/PID/stat has, after the name in parentheses, the process state
 * and then numbered fields; 14-17 are utime, stime (this process, all its
 * threads) and cutime, cstime (its children that it has waited for), in
 * clock ticks. A fork server's children still serving are not in cutime
 * yet, so they are added one by one from /proc/PID/task/PID/children. A
 * child that is reaped between the two reads may be counted twice; at
 * one child per connection that is one child's time at most, once. */
static int stat_ticks(long pid, int with_children, long long *ticks)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *p = strrchr(text, ')');  /* the name may hold spaces */
    if (p == NULL)
        return -1;
    long long field[18] = {0};
    int at = 3;
    for (p++; at <= 17 && *p != '\0'; at++) {
        while (*p == ' ')
            p++;
        if (at >= 14)
            field[at] = strtoll(p, NULL, 10);
        while (*p != ' ' && *p != '\0')
            p++;
    }
    if (at <= 17)
        return -1;
    *ticks = field[14] + field[15];
    if (with_children)
        *ticks += field[16] + field[17];
    return 0;
}

/* region: server-ticks */
/* The pids of pid's live children, "PID PID ...", in a static buffer ("" when
 * there are none or no /proc): room for a fork server's 4,096 children at
 * the longest pids (7 digits and a space each). */
static const char *live_children(long pid)
{
    static char list[65536];
    char path[80];
    size_t n = 0;
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", pid, pid);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        n = fread(list, 1, sizeof list - 1, f);
        fclose(f);
    }
    list[n] = '\0';
    return list;
}

static int server_ticks(long pid, long long *ticks)
{
    long long live = 0, t;
    char *end;
    for (const char *p = live_children(pid);; p = end) {
        long child = strtol(p, &end, 10);
        if (child <= 0)
            break;
        if (stat_ticks(child, 1, &t) == 0)
            live += t;
    }
    if (stat_ticks(pid, 1, ticks) < 0)
        return -1;
    *ticks += live;
    return 0;
}
/* endregion: server-ticks */

/* Our own CPU time: a generator that uses a whole core may be measuring
 * itself. */
static double own_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- the server's memory ---------------------------------------------------
 *
 * Two figures, summed over the server and its live children (a thread
 * server's threads share one address space, so its one process already
 * holds them all):
 *   RSS (VmRSS in /proc/PID/status): the pages each process has in memory.
 *       A forked child shares most of its pages with its parent (the
 *       program, libc, the heap until one of them writes to it), and RSS
 *       counts a shared page once in every process that maps it: a sum of
 *       RSS over 1,000 children counts libc 1,000 times.
 *   PSS (Pss in /proc/PID/smaps_rollup, Linux 4.14 and later): each page
 *       divided by the number of processes sharing it, so the sum is what
 *       the server and its children really take. -1 when it cannot be
 *       read. For one process alone, what it gains while holding clients
 *       is private memory, the same in both. */
struct memory {
    long procs, threads;    /* processes and threads counted */
    long long rss_kb, pss_kb;
};

/* The number after "key" in a /proc file of "Key:  value [kB]" lines; -1
 * when the file or the key is not there. */
static long long proc_value(long pid, const char *file, const char *key)
{
    char path[80], line[256];
    long long value = -1;
    size_t len = strlen(key);
    snprintf(path, sizeof path, "/proc/%ld/%s", pid, file);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (value < 0 && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, len) == 0)
            value = strtoll(line + len, NULL, 10);
    fclose(f);
    return value;
}

static void add_process(long pid, struct memory *m)
{
    long long rss = proc_value(pid, "status", "VmRSS:");
    long long threads = proc_value(pid, "status", "Threads:");
    long long pss = proc_value(pid, "smaps_rollup", "Pss:");
    if (rss < 0)
        return;  /* gone meanwhile, or a zombie: no memory left to count */
    m->procs++;
    m->threads += threads > 0 ? (long)threads : 1;
    m->rss_kb += rss;
    if (pss < 0 || m->pss_kb < 0)
        m->pss_kb = -1;  /* one missing makes the sum meaningless */
    else
        m->pss_kb += pss;
}

static void server_memory(long pid, struct memory *m)
{
    char *end;
    *m = (struct memory){0, 0, 0, 0};
    add_process(pid, m);
    for (const char *p = live_children(pid);; p = end) {
        long child = strtol(p, &end, 10);
        if (child <= 0)
            break;
        add_process(child, m);
    }
    if (m->procs == 0)
        m->rss_kb = m->pss_kb = -1;
}

/* ---- the result --------------------------------------------------------- */

struct result {
    long clients;
    long long count;       /* round trips, blocks, connections, forks */
    double bytes;          /* echoed (or streamed) bytes */
    double elapsed;        /* seconds measured */
    double server_cpu;     /* seconds, or -1 without -p */
    double own_cpu;        /* seconds */
    /* idle only */
    long held;             /* idle connections open, each echoed once */
    double open_s;         /* how long opening them took */
    double first_echo;     /* the new client: connect to its first echo */
    double idle_cpu_pct;   /* server CPU while they were held, % of a core */
    struct memory mem0;    /* the server before they were opened */
    struct memory mem1;    /* and while they were held */
};

/* ---- the client side of one connection ---------------------------------- */

struct conn {
    int fd;              /* -1: not open */
    int connecting;      /* non-blocking connect not finished */
    int half_closed;     /* connect mode: we sent SHUT_WR, wait for EOF */
    uint64_t base;       /* its own offset into the pattern */
    uint64_t sent, got;  /* stream bytes written; read back and checked */
    uint64_t goal;       /* write up to here (end of message or stream) */
    long done;           /* round trips, blocks or connections finished */
    double t_start;      /* when the current exchange began */
};

static struct sockaddr_storage peer;  /* the address connect_to reached */
static socklen_t peer_len;
static char peer_text[ADDR_TEXT_MAX];
static char failure[512];             /* the first thing that went wrong */
static int failure_code;
static long long mismatches;

static void fail_conn(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail_conn(int code, const char *fmt, ...)
{
    if (failure_code != 0)
        return;  /* the first failure is the one that explains the rest */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(failure, sizeof failure, fmt, ap);
    va_end(ap);
    failure_code = code;
}

static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* A non-blocking connect to the address the first connection reached:
 * it returns at once (EINPROGRESS) and poll reports the socket writable
 * when the handshake has ended, well or not (SO_ERROR says which). */
static int start_connect(struct conn *c)
{
    int fd = socket(peer.ss_family, SOCK_STREAM, 0);
    if (fd < 0) {
        fail_conn(EX_OSERR, "socket: %s%s", strerror(errno),
                  errno_hint(errno));
        return -1;
    }
    if (set_nonblocking(fd) < 0) {
        fail_conn(EX_OSERR, "fcntl(O_NONBLOCK): %s", strerror(errno));
        close(fd);
        return -1;
    }
    int rc = connect(fd, (struct sockaddr *)&peer, peer_len);
    if (trace_enabled())
        trace(rc, rc < 0 && errno == EINPROGRESS ? "(poll says when)" : NULL,
              "uv_tcp_connect", "connect(%d, %s)", fd, peer_text);
    if (rc < 0 && errno != EINPROGRESS) {
        fail_conn(connect_exit_code(errno), "connect %s: %s%s", peer_text,
                  strerror(errno), errno_hint(errno));
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->connecting = rc < 0;
    c->half_closed = 0;
    c->sent = c->got = 0;
    c->t_start = now();
    return 0;
}

static void close_conn(struct conn *c)
{
    if (c->fd < 0)
        return;
    int rc = close(c->fd);
    if (trace_enabled())
        trace(rc, NULL, "uv_close", "close(%d)", c->fd);
    c->fd = -1;
}

/* What the message in flight is, for an error: "after 10 of 64 bytes". */
static uint64_t message_start(const struct conn *c, const struct plan *plan)
{
    if (plan->mode == PUMP)
        return 0;
    uint64_t size = (uint64_t)plan->size;
    return c->goal >= size ? c->goal - size : 0;
}

/* Write what the plan allows now. 0, or -1 when the connection failed. */
static int conn_write(struct conn *c, size_t index, const struct plan *plan)
{
    while (c->sent < c->goal) {
        uint64_t room = c->goal - c->sent;
        if (plan->mode == PUMP && c->sent - c->got >= PUMP_WINDOW)
            return 0;  /* enough in flight; reading makes room */
        uint64_t most = (uint64_t)plan->size;
        size_t len = (size_t)(room < most ? room : most);
        ssize_t n = write(c->fd, stream_at(c->base + c->sent), len);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;  /* the socket is full: poll says when it drains */
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fail_conn(EX_IOERR, "connection %zu: write: %s after %" PRIu64
                      " of %ld bytes", index, strerror(errno),
                      c->sent - message_start(c, plan), plan->size);
            return -1;
        }
        c->sent += (uint64_t)n;
    }
    return 0;
}

/* The first byte where the echo differs from what was sent. */
static void report_mismatch(size_t index, const struct conn *c,
                            const unsigned char *got, size_t n)
{
    const unsigned char *want = stream_at(c->base + c->got);
    size_t first = n;
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) {
            mismatches++;
            if (first == n)
                first = i;
        }
    fail_conn(EX_IOERR, "connection %zu: echo differs at byte %" PRIu64
              " of the stream (sent 0x%02x, got 0x%02x)", index,
              c->got + first, want[first], got[first]);
}

/* Read what has come, check it, and move the exchange on. Returns 1 when
 * the connection is finished (connect mode: the server closed after the
 * echo), 0 to go on, -1 when it failed. */
static int conn_read(struct conn *c, size_t index, const struct plan *plan,
                     double deadline, unsigned char *buf)
{
    for (;;) {
        ssize_t n = read(c->fd, buf, READ_MAX);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        uint64_t start = message_start(c, plan);
        if (n < 0) {
            fail_conn(EX_IOERR, "connection %zu: read: %s after %" PRIu64
                      " of %" PRIu64 " bytes came back", index,
                      strerror(errno), c->got - start, c->sent - start);
            return -1;
        }
        if (n == 0) {
            if (c->half_closed && c->got == c->sent)
                return 1;  /* connect mode: the server closed; done */
            fail_conn(EX_IOERR, "connection %zu: server closed after %" PRIu64
                      " of %" PRIu64 " bytes", index, c->got - start,
                      c->goal - start);
            return -1;
        }
        /* region: check-echo */
        if (c->got + (uint64_t)n > c->sent) {
            fail_conn(EX_IOERR, "connection %zu: %" PRIu64 " bytes came back "
                      "that were never sent", index,
                      c->got + (uint64_t)n - c->sent);
            return -1;
        }
        if (memcmp(buf, stream_at(c->base + c->got), (size_t)n) != 0) {
            report_mismatch(index, c, buf, (size_t)n);
            return -1;
        }
        c->got += (uint64_t)n;
        /* endregion: check-echo */
        if (plan->mode == PUMP) {
            c->done = (long)(c->got / (uint64_t)plan->size);
            continue;
        }
        if (c->got < c->goal)
            continue;
        /* A whole message is back: one round trip. */
        double t = now();
        if (plan->mode == PINGPONG) {
            lat_add(t - c->t_start);
            c->done++;
            if (c->done < plan->rounds && t < deadline) {
                c->goal += (uint64_t)plan->size;
                c->t_start = t;
                if (conn_write(c, index, plan) < 0)
                    return -1;
            }
        } else if (!c->half_closed) {
            /* connect: half-close so that the server closes first and
             * keeps the TIME_WAIT; our ports are then free again. */
            int rc = shutdown(c->fd, SHUT_WR);
            if (trace_enabled())
                trace(rc, NULL, "uv_shutdown", "shutdown(%d, SHUT_WR)",
                      c->fd);
            c->half_closed = 1;
        }
    }
}

/* How a non-blocking connect ended, once poll says the socket is
 * writable: 0, or the errno it failed with (SO_ERROR). */
static int connect_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return errno;
    return err;
}

/* Open every connection the plan needs before the clock starts, so that
 * the figure is about echoing, not connecting. The first one goes through
 * connect_to (resolving HOST, trying each address in turn, and exiting
 * with the usual message and code when nothing answers); the others go to
 * the address it reached, all at once. */
static void connect_all(struct conn *conns, const struct plan *plan,
                        const struct endpoint_args *where, double deadline)
{
    int first = connect_to(where->host, where->port);
    peer_len = sizeof peer;
    if (getpeername(first, (struct sockaddr *)&peer, &peer_len) < 0)
        die_errno(EX_OSERR, "getpeername");
    format_addr((struct sockaddr *)&peer, peer_text, sizeof peer_text);
    if (plan->mode == CONNECT) {
        close(first);  /* a probe: each slot connects in the loop */
        return;
    }
    if (set_nonblocking(first) < 0)
        die_errno(EX_OSERR, "fcntl(O_NONBLOCK)");
    conns[0].fd = first;
    for (long i = 1; i < plan->clients; i++)
        if (start_connect(&conns[i]) < 0)
            return;
    /* Wait for the handshakes, within the deadline. */
    struct pollfd *fds = calloc((size_t)plan->clients, sizeof *fds);
    if (fds == NULL)
        die(EX_OSERR, "out of memory");
    for (;;) {
        nfds_t n = 0;
        for (long i = 0; i < plan->clients; i++)
            if (conns[i].connecting)
                fds[n++] = (struct pollfd){conns[i].fd, POLLOUT, 0};
        double left = deadline - now();
        if (n == 0 || left <= 0)
            break;
        if (poll(fds, n, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            die_errno(EX_OSERR, "poll");
        nfds_t k = 0;  /* fds[] holds the connecting ones in conns[] order */
        for (long i = 0; i < plan->clients; i++) {
            struct conn *c = &conns[i];
            if (!c->connecting || fds[k++].revents == 0)
                continue;
            int err = connect_result(c->fd);
            if (err != 0) {
                fail_conn(connect_exit_code(err), "connect %s: %s%s",
                          peer_text, strerror(err), errno_hint(err));
                free(fds);
                return;
            }
            c->connecting = 0;
        }
    }
    free(fds);
}

/* pingpong, pump and connect: one poll loop over every connection. */
static void run_clients(const struct plan *plan,
                        const struct endpoint_args *where, double deadline,
                        struct result *res)
{
    size_t count = (size_t)plan->clients;
    struct conn *conns = calloc(count, sizeof *conns);
    struct pollfd *fds = calloc(count, sizeof *fds);
    unsigned char *buf = malloc(READ_MAX);
    if (conns == NULL || fds == NULL || buf == NULL)
        die(EX_OSERR, "out of memory");
    for (size_t i = 0; i < count; i++) {
        conns[i].fd = -1;
        conns[i].base = (uint64_t)i * 4099;  /* each its own stretch */
    }
    connect_all(conns, plan, where, deadline);
    long still_connecting = 0;
    for (size_t i = 0; i < count; i++)
        still_connecting += conns[i].connecting;
    if (failure_code == 0 && still_connecting > 0)
        fail_conn(EX_UNAVAILABLE, "%ld of %ld connections to %s still not "
                  "made after %ld s (a full backlog?)", still_connecting,
                  plan->clients, peer_text, plan->seconds);

    /* The clock starts here, with every connection open. */
    long long ticks0 = 0;
    if (plan->pid > 0)
        server_ticks(plan->pid, &ticks0);
    double cpu0 = own_cpu(), t0 = now();
    for (size_t i = 0; i < count && failure_code == 0; i++) {
        struct conn *c = &conns[i];
        if (plan->mode == CONNECT) {
            c->goal = (uint64_t)plan->size;
            start_connect(c);
            continue;
        }
        c->goal = plan->mode == PUMP
                      ? (uint64_t)plan->rounds * (uint64_t)plan->size
                      : (uint64_t)plan->size;
        c->t_start = t0;
        conn_write(c, i, plan);
    }

    double t;
    while (failure_code == 0 && (t = now()) < deadline) {
        nfds_t n = 0;
        for (size_t i = 0; i < count; i++) {
            struct conn *c = &conns[i];
            if (c->fd < 0)
                continue;
            /* region: want-pollout */
            short want = POLLIN;  /* always: an early close or reset shows */
            /* POLLOUT only when there is something to write: a writable
             * socket with nothing to send would wake poll at once, and
             * the loop would spin. */
            if (c->connecting ||
                (c->sent < c->goal &&
                 (plan->mode != PUMP || c->sent - c->got < PUMP_WINDOW)))
                want |= POLLOUT;
            /* endregion: want-pollout */
            fds[n++] = (struct pollfd){c->fd, want, 0};
        }
        if (n == 0)
            break;  /* every connection has done its rounds */
        int ms = (int)((deadline - t) * 1000) + 1;
        int ready = poll(fds, n, ms);
        if (ready < 0 && errno != EINTR)
            die_errno(EX_OSERR, "poll");
        /* fds[] holds the open connections in conns[] order. */
        nfds_t k = 0;
        for (size_t i = 0; i < count && ready > 0 && failure_code == 0; i++) {
            struct conn *c = &conns[i];
            if (c->fd < 0)
                continue;
            short ev = fds[k++].revents;
            if (ev == 0)
                continue;
            if (c->connecting) {
                int err = connect_result(c->fd);
                if (err != 0) {
                    fail_conn(connect_exit_code(err), "connect %s: %s%s",
                              peer_text, strerror(err), errno_hint(err));
                    break;
                }
                c->connecting = 0;
            }
            if ((ev & POLLOUT) && conn_write(c, i, plan) < 0)
                break;
            if (!(ev & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int rc = conn_read(c, i, plan, deadline, buf);
            if (rc < 0)
                break;
            if (plan->mode == PUMP) {
                if (c->got == c->goal)
                    close_conn(c);  /* all its blocks are back */
                else if (c->sent < c->goal)
                    conn_write(c, i, plan);  /* reading made room */
            } else if (plan->mode == PINGPONG && c->got == c->goal &&
                       c->sent == c->goal) {
                close_conn(c);  /* its rounds are done (or time is up) */
            } else if (rc == 1) {
                lat_add(now() - c->t_start);
                c->done++;
                close_conn(c);
                if (c->done < plan->rounds && now() < deadline)
                    start_connect(c);
            }
        }
    }
    double end = now();
    res->elapsed = end - t0;
    res->own_cpu = own_cpu() - cpu0;
    /* A message still waiting at the deadline has waited at least this
     * long, and leaving it out would flatter the server: an iterative
     * server serving 1 client of 50 would show the latency of the lucky
     * one. So each counts, at the age it had reached. */
    for (size_t i = 0; i < count; i++)
        if (conns[i].fd >= 0 && plan->mode != PUMP &&
            (conns[i].sent > conns[i].got || conns[i].connecting))
            lat_add(end - conns[i].t_start);
    long long ticks1 = 0;
    res->server_cpu = -1;
    if (plan->pid > 0 && server_ticks(plan->pid, &ticks1) == 0)
        res->server_cpu = (double)(ticks1 - ticks0) /
                          (double)sysconf(_SC_CLK_TCK);

    /* What was left undone when the deadline came, for the message. */
    uint64_t out = 0;
    long open = 0, waiting = 0;
    for (size_t i = 0; i < count; i++) {
        struct conn *c = &conns[i];
        res->count += c->done;
        res->bytes += (double)(plan->mode == PUMP
                                   ? c->got
                                   : (uint64_t)c->done * (uint64_t)plan->size);
        if (c->fd >= 0) {
            open++;
            if (c->sent > c->got) {
                waiting++;
                out += c->sent - c->got;
            }
        }
        close_conn(c);
    }
    res->clients = plan->clients;
    if (failure_code == 0 && res->count == 0)
        fail_conn(EX_UNAVAILABLE, "deadline: nothing came back in %ld s: %ld "
                  "connection(s) open to %s, %ld waiting for %" PRIu64
                  " bytes of echo (does the server read? one that accepts "
                  "and never answers looks like this)", plan->seconds, open,
                  peer_text, waiting, out);
    free(buf);
    free(fds);
    free(conns);
}

/* ---- idle: many connections held, one new client timed -------------------
 *
 * The C10K question: what does a connection that does nothing cost a
 * server? Not the echo: every design echoes the same bytes. What differs
 * is what the server does for the connections that are *not* talking. A
 * poll loop hands the kernel its whole array of descriptors on every
 * wake-up, and the kernel looks at each; epoll keeps the list in the
 * kernel and hands back only the ready ones; a fork or thread server keeps
 * a process or a thread asleep for each. So: open CLIENTS connections,
 * leave them idle, and time a new client while they are held.
 *
 * A connection counts as held once one byte has gone to the server and
 * come back: then the server has accepted it and watches it. (A connection
 * still in the listen backlog costs the server nothing yet, and proves
 * nothing.) The generator itself must stay O(1) per event while it holds
 * 10,000: it polls only the connections still opening, and the new
 * client, never the idle ones but twice (once to see that nothing happens
 * while they are held, once before closing, to see that none was lost). */

/* Handshakes in flight at once: under the backlog of 128 the servers ask
 * for, so the listen queue never overflows (Linux then drops the SYN, and
 * the client sends it again only a second later). */
#define OPEN_WINDOW 64
/* Seconds held with nothing happening, to measure the server's CPU while
 * idle (in clock ticks, 10 ms each: 1 % of a core at this length). */
#define IDLE_HOLD 1.0

/* region: idle-fd-limit */
/* One descriptor per connection, plus the new client, stdio and a few for
 * reading /proc. The soft limit is often 1024; a process may raise it up
 * to the hard limit, and only root may raise that. */
static void fit_fd_limit(long clients)
{
    rlim_t need = (rlim_t)clients + 32;
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0)
        die_errno(EX_OSERR, "getrlimit(RLIMIT_NOFILE)");
    if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= need)
        return;
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < need) {
        unsigned long long most = lim.rlim_max > 32 ? lim.rlim_max - 32 : 0;
        die(EX_OSERR, "-c %ld needs %llu descriptors, over the hard limit "
            "RLIMIT_NOFILE of %llu (ulimit -Hn): use -c %llu or fewer, or "
            "raise the hard limit first (as root: ulimit -Hn %llu)", clients,
            (unsigned long long)need, (unsigned long long)lim.rlim_max, most,
            (unsigned long long)need);
    }
    rlim_t before = lim.rlim_cur;
    lim.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
        die_errno(EX_OSERR, "setrlimit(RLIMIT_NOFILE, %llu)",
                  (unsigned long long)need);
    warn_msg("note: raised the descriptor limit (RLIMIT_NOFILE, soft) from "
             "%llu to %llu for %ld connections", (unsigned long long)before,
             (unsigned long long)need, clients);
}
/* endregion: idle-fd-limit */

/* How many descriptors this process has open (-1 without /proc): the same
 * before the connections are opened and after they are closed, or one
 * leaked. */
static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    long n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* 127.0.0.0/8, ::1 or ::ffff:127.x.y.z: thousands of connections are for
 * this machine's own servers, never another's. */
static int is_loopback(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)a;
        return ntohl(v4->sin_addr.s_addr) >> 24 == 127;
    }
    if (a->ss_family == AF_INET6) {
        const struct in6_addr *v6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(v6) ||
               (IN6_IS_ADDR_V4MAPPED(v6) && v6->s6_addr[12] == 127);
    }
    return 0;
}

/* The one byte that makes a connection held: 0, or -1 on failure. */
static int send_hello(struct conn *c, long index)
{
    ssize_t n = write(c->fd, stream_at(c->base), 1);
    if (n == 1) {
        c->sent = 1;
        return 0;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;  /* poll says when to try again */
    fail_conn(EX_IOERR, "connection %ld: write: %s", index, strerror(errno));
    return -1;
}

/* region: idle-open */
/* Open count connections (conns[0] is open already), at most OPEN_WINDOW
 * of them in flight, until each has echoed its byte or the deadline
 * comes. Returns how many are held; the ones not held are left open in
 * conns[] for the caller to count and close. */
static long idle_open(struct conn *conns, long count, double deadline)
{
    struct pollfd fds[OPEN_WINDOW];
    long active[OPEN_WINDOW], next = 1, held = 0;
    nfds_t n = 0;
    active[n++] = 0;
    while (failure_code == 0 && held < count) {
        while (n < OPEN_WINDOW && next < count) {
            if (start_connect(&conns[next]) < 0)
                return held;  /* out of ports or descriptors: said why */
            active[n++] = next++;
        }
        for (nfds_t k = 0; k < n; k++) {
            const struct conn *c = &conns[active[k]];
            short want = c->connecting || c->sent == 0 ? POLLOUT : POLLIN;
            fds[k] = (struct pollfd){c->fd, want, 0};
        }
        double left = deadline - now();
        if (left <= 0)
            break;
        if (poll(fds, n, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            die_errno(EX_OSERR, "poll");
        for (nfds_t k = 0; k < n; k++) {
            long i = active[k];
            struct conn *c = &conns[i];
            short ev = fds[k].revents;
            if (ev == 0)
                continue;
            if (c->connecting) {
                int err = connect_result(c->fd);
                if (err != 0) {
                    fail_conn(connect_exit_code(err), "connect %s: %s%s "
                              "(with %ld connections held)", peer_text,
                              strerror(err), errno_hint(err), held);
                    return held;
                }
                c->connecting = 0;
            }
            if (c->sent == 0) {
                if (send_hello(c, i) < 0)
                    return held;
                continue;
            }
            if (!(ev & (POLLIN | POLLHUP | POLLERR)))
                continue;
            unsigned char b;
            ssize_t got = read(c->fd, &b, 1);
            if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
                            errno == EINTR))
                continue;
            if (got <= 0) {
                fail_conn(EX_IOERR, "connection %ld: %s before its first "
                          "byte came back, with %ld connections held (does "
                          "the server close clients past a limit?)", i,
                          got < 0 ? strerror(errno) : "the server closed it",
                          held);
                return held;
            }
            if (b != *stream_at(c->base)) {
                mismatches++;
                fail_conn(EX_IOERR, "connection %ld: echo differs at byte 0 "
                          "(sent 0x%02x, got 0x%02x)", i,
                          *stream_at(c->base), b);
                return held;
            }
            c->got = 1;
            held++;
        }
        nfds_t keep = 0;  /* the held ones leave the poll set for good */
        for (nfds_t k = 0; k < n; k++)
            if (conns[active[k]].got == 0)
                active[keep++] = active[k];
        n = keep;
    }
    return held;
}
/* endregion: idle-open */

/* One poll over the held connections, until `until` (once, at once, when
 * that has passed): how many of them the server closed or wrote on. An
 * idle connection must stay silent. */
static long idle_check(const struct conn *conns, long held, double until)
{
    struct pollfd *fds = calloc((size_t)held + 1, sizeof *fds);
    if (fds == NULL)
        die(EX_OSERR, "out of memory");
    for (long i = 0; i < held; i++)
        fds[i] = (struct pollfd){conns[i].fd, POLLIN, 0};
    int rc;
    do {
        double left = until - now();
        rc = poll(fds, (nfds_t)held, left > 0 ? (int)(left * 1000) + 1 : 0);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        die_errno(EX_OSERR, "poll");
    long moved = 0;
    for (long i = 0; i < held; i++)
        moved += fds[i].revents != 0;
    free(fds);
    return moved;
}

/* The new client's round trips until it has done `done` of them, within
 * the deadline: the pingpong exchange on one connection, polled alone. 0,
 * or -1 at the deadline or on failure. */
static int probe_until(struct conn *c, long index, const struct plan *probe,
                       long done, double deadline, unsigned char *buf)
{
    while (failure_code == 0 && c->done < done) {
        double left = deadline - now();
        if (left <= 0)
            return -1;
        short want = POLLIN;
        if (c->connecting || c->sent < c->goal)
            want |= POLLOUT;
        struct pollfd pfd = {c->fd, want, 0};
        int ready = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (ready < 0 && errno != EINTR)
            die_errno(EX_OSERR, "poll");
        if (ready <= 0)
            continue;
        if (c->connecting) {
            int err = connect_result(c->fd);
            if (err != 0) {
                fail_conn(connect_exit_code(err), "the new client: connect "
                          "%s: %s%s", peer_text, strerror(err),
                          errno_hint(err));
                return -1;
            }
            c->connecting = 0;
            c->t_start = now();  /* its first message starts now */
        }
        if ((pfd.revents & POLLOUT) &&
            conn_write(c, (size_t)index, probe) < 0)
            return -1;
        if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
            conn_read(c, (size_t)index, probe, deadline, buf) < 0)
            return -1;
    }
    return failure_code == 0 ? 0 : -1;
}

static void idle_probe(struct conn *c, long index, const struct plan *plan,
                       double deadline, struct result *res)
{
    unsigned char *buf = malloc(READ_MAX);
    if (buf == NULL)
        die(EX_OSERR, "out of memory");
    struct plan probe = *plan;
    probe.mode = PINGPONG;
    probe.rounds = 1;  /* first: connect and one echo, timed whole */
    uint64_t size = (uint64_t)plan->size;
    c->goal = size;
    double t_connect = now();
    if (start_connect(c) < 0 ||
        probe_until(c, index, &probe, 1, deadline, buf) < 0) {
        if (failure_code == 0)
            fail_conn(EX_UNAVAILABLE, "deadline: a new client got no echo in "
                      "%ld s while %ld idle connections were held (%" PRIu64
                      " of %" PRIu64 " bytes came back): is the server at "
                      "its -c cap (it needs room for one more than the idle "
                      "ones)? one that serves a client at a time, like "
                      "echo-server, is still serving the first of them",
                      plan->seconds, res->held, c->got, size);
        free(buf);
        return;
    }
    res->first_echo = now() - t_connect;
    memset(lat_hist, 0, sizeof lat_hist);  /* its round trips from here */
    lat_count = 0;
    lat_max = 0;

    long long ticks0 = 0, ticks1 = 0;
    if (plan->pid > 0)
        server_ticks(plan->pid, &ticks0);
    double cpu0 = own_cpu(), t0 = now();
    probe.rounds = 1 + plan->rounds;
    c->goal += size;
    c->t_start = t0;
    if (conn_write(c, (size_t)index, &probe) == 0)
        probe_until(c, index, &probe, probe.rounds, deadline, buf);
    double end = now();
    if (failure_code == 0 && c->sent > c->got)
        lat_add(end - c->t_start);  /* cut by the deadline: its age counts */
    res->count = c->done - 1;
    res->elapsed = end - t0;
    res->own_cpu = own_cpu() - cpu0;
    res->bytes = (double)res->count * (double)size;
    if (plan->pid > 0 && server_ticks(plan->pid, &ticks1) == 0)
        res->server_cpu = (double)(ticks1 - ticks0) /
                          (double)sysconf(_SC_CLK_TCK);
    free(buf);
}

/* Open, hold, time the new client: each step only when the one before it
 * went well (failure_code says why not). */
static void idle_steps(struct conn *conns, const struct plan *plan,
                       double deadline, struct result *res)
{
    long count = plan->clients;
    double t0 = now();
    res->held = idle_open(conns, count, deadline);
    res->open_s = now() - t0;
    if (failure_code != 0)
        return;
    if (res->held < count) {
        long answered = 0, connecting = 0;
        for (long i = 0; i < count; i++)
            if (conns[i].fd >= 0 && conns[i].got == 0) {
                connecting += conns[i].connecting;
                answered += !conns[i].connecting;
            }
        fail_conn(EX_UNAVAILABLE, "deadline: %ld of %ld idle connections "
                  "open after %ld s (each echoed one byte); %ld more "
                  "connected but never echoed, %ld still connecting: the "
                  "server stopped accepting at %ld (its -c cap? an "
                  "iterative server holds one)", res->held, count,
                  plan->seconds, answered, connecting, res->held);
        return;
    }

    /* Held: now nothing happens for IDLE_HOLD seconds, and the server's
     * CPU time over them is what idle clients cost it. */
    long long ticks0 = 0, ticks1 = 0;
    if (plan->pid > 0)
        server_ticks(plan->pid, &ticks0);
    double h0 = now(), until = h0 + IDLE_HOLD;
    long moved = idle_check(conns, count, until < deadline ? until : deadline);
    double h1 = now();
    if (plan->pid > 0 && server_ticks(plan->pid, &ticks1) == 0 && h1 > h0)
        res->idle_cpu_pct = 100.0 * (double)(ticks1 - ticks0) /
                            (double)sysconf(_SC_CLK_TCK) / (h1 - h0);
    if (moved > 0) {
        fail_conn(EX_IOERR, "the server closed (or wrote on) %ld of the %ld "
                  "idle connections while they were held (an idle timeout, "
                  "-t?)", moved, count);
        return;
    }
    if (plan->pid > 0)
        server_memory(plan->pid, &res->mem1);

    idle_probe(&conns[count], count, plan, deadline, res);
    if (failure_code == 0 && (moved = idle_check(conns, count, 0)) > 0)
        fail_conn(EX_IOERR, "the server closed (or wrote on) %ld of the %ld "
                  "idle connections while the new client was timed (an idle "
                  "timeout, -t?)", moved, count);
}

static void run_idle(const struct plan *plan,
                     const struct endpoint_args *where, double deadline,
                     struct result *res)
{
    long count = plan->clients;
    fit_fd_limit(count);
    long fds_before = open_fds();
    struct conn *conns = calloc((size_t)count + 1, sizeof *conns);
    if (conns == NULL)
        die(EX_OSERR, "out of memory for %ld connections", count);
    for (long i = 0; i <= count; i++) {
        conns[i].fd = -1;
        conns[i].base = (uint64_t)i * 4099;  /* each its own byte */
    }
    if (plan->pid > 0)
        server_memory(plan->pid, &res->mem0);

    /* The first connection resolves HOST and finds the address, as in the
     * other modes; the rest go to the address it reached. */
    int first = connect_to(where->host, where->port);
    peer_len = sizeof peer;
    if (getpeername(first, (struct sockaddr *)&peer, &peer_len) < 0)
        die_errno(EX_OSERR, "getpeername");
    format_addr((struct sockaddr *)&peer, peer_text, sizeof peer_text);
    if (!is_loopback(&peer)) {
        close(first);
        die(EX_USAGE, "bad host '%s' for -m idle: it is not a loopback "
            "address (-m idle opens up to 65,536 connections, only to this "
            "machine: 127.0.0.1 or ::1)", peer_text);
    }
    if (set_nonblocking(first) < 0)
        die_errno(EX_OSERR, "fcntl(O_NONBLOCK)");
    conns[0].fd = first;
    if (send_hello(&conns[0], 0) == 0)
        idle_steps(conns, plan, deadline, res);

    for (long i = 0; i <= count; i++)
        close_conn(&conns[i]);
    free(conns);
    long fds_after = open_fds();
    if (failure_code == 0 && fds_before >= 0 && fds_after > fds_before)
        fail_conn(EX_SOFTWARE, "%ld descriptors left open after closing "
                  "every connection (a leak in echo-bench)",
                  fds_after - fds_before);
}

/* ---- reference modes: the machine's own limits -------------------------- */

/* A child that echoes on fd until end of file, then exits. */
static void echo_child(int fd)
{
    static unsigned char buf[READ_MAX];
    ssize_t n;
    while ((n = read_some(fd, buf, sizeof buf)) > 0)
        if (write_all(fd, buf, (size_t)n) < 0)
            break;
    _exit(0);
}

static void reap(pid_t child)
{
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
        continue;
}

/* Two processes passing a message back and forth over a socketpair: no
 * TCP, no server logic, only the two wake-ups a round trip needs. No
 * echo server over loopback can beat this with one client. */
static void ref_socketpair(const struct plan *plan, double deadline,
                           struct result *res)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die_errno(EX_OSERR, "socketpair");
    pid_t child = fork();
    if (child < 0)
        die_errno(EX_OSERR, "fork");
    if (child == 0) {
        close(sv[0]);
        echo_child(sv[1]);
    }
    close(sv[1]);
    unsigned char back[READ_MAX];
    size_t size = (size_t)plan->size;
    double cpu0 = own_cpu(), t0 = now(), t = t0;
    while (res->count < plan->rounds && t < deadline) {
        const unsigned char *msg = stream_at((uint64_t)res->count * size);
        if (write_all(sv[0], msg, size) < 0 ||
            read_full(sv[0], back, size) != (ssize_t)size)
            die_errno(EX_OSERR, "socketpair round trip");
        if (memcmp(back, msg, size) != 0)
            mismatches += (long long)size;
        double t1 = now();
        lat_add(t1 - t);
        t = t1;
        res->count++;
    }
    res->elapsed = now() - t0;
    res->own_cpu = own_cpu() - cpu0;  /* our half only */
    res->bytes = (double)res->count * (double)size;
    close(sv[0]);
    reap(child);
}

/* fork, the child exits at once, the parent waits: what a fork-per-client
 * server pays for every connection before it echoes a byte. */
static void ref_fork(const struct plan *plan, double deadline,
                     struct result *res)
{
    double cpu0 = own_cpu(), t0 = now(), t = t0;
    while (res->count < plan->rounds && t < deadline) {
        pid_t child = fork();
        if (child < 0)
            die_errno(EX_OSERR, "fork");
        if (child == 0)
            _exit(0);
        reap(child);
        double t1 = now();
        lat_add(t1 - t);
        t = t1;
        res->count++;
    }
    res->elapsed = now() - t0;
    res->own_cpu = own_cpu() - cpu0;
}

/* One direction only: we write, a child reads and drops. Every byte
 * crosses loopback once; an echo makes it cross twice. */
static void ref_stream(const struct plan *plan, double deadline,
                       struct result *res)
{
    struct sockaddr_in addr = {0};
    socklen_t len = sizeof addr;
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        listen(lfd, 1) < 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &len) < 0)
        die_errno(EX_OSERR, "a loopback listener for ref-stream");
    pid_t child = fork();
    if (child < 0)
        die_errno(EX_OSERR, "fork");
    if (child == 0) {
        static unsigned char sink[READ_MAX];
        int fd = accept(lfd, NULL, NULL);
        while (fd >= 0 && read_some(fd, sink, sizeof sink) > 0)
            continue;
        _exit(0);
    }
    close(lfd);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die_errno(EX_OSERR, "connect to the ref-stream child");
    size_t size = (size_t)plan->size;
    double cpu0 = own_cpu(), t0 = now();
    while (res->count < plan->rounds && now() < deadline) {
        if (write_all(fd, stream_at((uint64_t)res->count * size), size) < 0)
            die_errno(EX_OSERR, "ref-stream write");
        res->count++;
    }
    /* The clock stops when the reader has everything, not when the last
     * write was queued: half-close and wait for it to exit. */
    shutdown(fd, SHUT_WR);
    reap(child);
    res->elapsed = now() - t0;
    res->own_cpu = own_cpu() - cpu0;
    res->bytes = (double)res->count * (double)size;
    close(fd);
}

/* ---- the backstop ----------------------------------------------------------
 *
 * Every wait in the loops above is cut to the deadline. One is not ours to
 * cut: the first connect goes through connect_to, which blocks, and a
 * server whose backlog is full leaves it waiting for the kernel's SYN
 * retries (minutes). SIGALRM, two seconds after the deadline, ends the run
 * with a message instead of a hang. write(2) and _exit are
 * async-signal-safe; printf and exit are not. */
static void on_alarm(int sig)
{
    static const char msg[] = "echo-bench: deadline: the server never "
                              "completed a connection (a full backlog?)\n";
    (void)sig;
    ssize_t rc = write(2, msg, sizeof msg - 1);
    (void)rc;
    _exit(EX_UNAVAILABLE);
}

/* ---- the report --------------------------------------------------------- */

/* -m idle: the columns of the other modes first, in the same order (the
 * new client's round trips in count, rate and the latencies; the server's
 * CPU per round trip), then its own. */
static void report_idle(const struct plan *plan, const struct result *res,
                        double cpu_per, double own_pct)
{
    const struct memory *m0 = &res->mem0, *m1 = &res->mem1;
    double el = res->elapsed > 0 ? res->elapsed : 1e-9;
    double rate = (double)res->count / el, mbps = res->bytes / el / 1e6;
    double p50 = lat_quantile(0.5), p99 = lat_quantile(0.99);
    double max = lat_max * 1e6, first = res->first_echo * 1e6;
    /* What one idle client costs: PSS when it could be read (a fork
     * server's children share pages), else RSS. */
    double per = -1;
    if (res->held > 0 && m0->pss_kb >= 0 && m1->pss_kb >= 0)
        per = (double)(m1->pss_kb - m0->pss_kb) / (double)res->held;
    else if (res->held > 0 && m0->rss_kb >= 0 && m1->rss_kb >= 0)
        per = (double)(m1->rss_kb - m0->rss_kb) / (double)res->held;

    if (plan->format == CSV) {
        printf("mode,clients,size,count,seconds,rate,unit,mb_per_s,p50_us,"
               "p99_us,max_us,mismatches,server_cpu_s,server_cpu_us_per,"
               "generator_cpu_pct,held,open_s,first_echo_us,idle_cpu_pct,"
               "server_procs,server_threads,rss_start_kb,rss_kb,"
               "pss_start_kb,pss_kb,kb_per_client\n");
        printf("idle,%ld,%ld,%lld,%.3f,%.1f,rt/s,%.1f,%.1f,%.1f,%.1f,%lld,"
               "%.3f,%.2f,%.0f,%ld,%.3f,%.1f,%.1f,%ld,%ld,%lld,%lld,%lld,"
               "%lld,%.1f\n", res->clients, plan->size, res->count,
               res->elapsed, rate, mbps, p50, p99, max, mismatches,
               res->server_cpu, cpu_per, own_pct, res->held, res->open_s,
               first, res->idle_cpu_pct, m1->procs, m1->threads, m0->rss_kb,
               m1->rss_kb, m0->pss_kb, m1->pss_kb, per);
    } else if (plan->format == JSON) {
        printf("{\"mode\":\"idle\",\"clients\":%ld,\"size\":%ld,"
               "\"count\":%lld,\"seconds\":%.3f,\"rate\":%.1f,"
               "\"unit\":\"rt/s\",\"mb_per_s\":%.1f,\"p50_us\":%.1f,"
               "\"p99_us\":%.1f,\"max_us\":%.1f,\"mismatches\":%lld,"
               "\"server_cpu_s\":%.3f,\"server_cpu_us_per\":%.2f,"
               "\"generator_cpu_pct\":%.0f,\"held\":%ld,\"open_s\":%.3f,"
               "\"first_echo_us\":%.1f,\"idle_cpu_pct\":%.1f,"
               "\"server_procs\":%ld,\"server_threads\":%ld,"
               "\"rss_start_kb\":%lld,\"rss_kb\":%lld,"
               "\"pss_start_kb\":%lld,\"pss_kb\":%lld,"
               "\"kb_per_client\":%.1f}\n", res->clients, plan->size,
               res->count, res->elapsed, rate, mbps, p50, p99, max,
               mismatches, res->server_cpu, cpu_per, own_pct, res->held,
               res->open_s, first, res->idle_cpu_pct, m1->procs, m1->threads,
               m0->rss_kb, m1->rss_kb, m0->pss_kb, m1->pss_kb, per);
    } else {
        printf("idle: %ld of %ld connections held, opened in %.3f s; a new "
               "client: first echo %.0f us, then %lld round trips x %ld B in "
               "%.3f s, latency p50 %.0f us, p99 %.0f us, max %.0f us; %lld "
               "mismatches", res->held, res->clients, res->open_s, first,
               res->count, plan->size, res->elapsed, p50, p99, max,
               mismatches);
        if (m1->rss_kb >= 0)
            printf("; server (%ld process%s, %ld thread%s): RSS %.1f -> "
                   "%.1f MB, PSS %.1f -> %.1f MB, %.1f KB per idle client, "
                   "CPU %.0f%% of a core while idle", m1->procs,
                   m1->procs == 1 ? "" : "es", m1->threads,
                   m1->threads == 1 ? "" : "s", (double)m0->rss_kb / 1024,
                   (double)m1->rss_kb / 1024, (double)m0->pss_kb / 1024,
                   (double)m1->pss_kb / 1024, per, res->idle_cpu_pct);
        if (cpu_per >= 0)
            printf("; server CPU %.1f us per round trip", cpu_per);
        printf("; generator CPU %.0f%%\n", own_pct);
    }
    fflush(stdout);
}

static void report(const struct plan *plan, const struct result *res)
{
    static const char *const units[] = {"round trips", "blocks",
                                        "connections", "round trips",
                                        "round trips", "forks", "blocks"};
    static const char *const rate_units[] = {"rt/s", "MB/s", "conn/s", "rt/s",
                                             "rt/s", "fork/s", "MB/s"};
    int bulk = plan->mode == PUMP || plan->mode == REF_STREAM;
    double el = res->elapsed > 0 ? res->elapsed : 1e-9;
    double per_s = (double)res->count / el, mbps = res->bytes / el / 1e6;
    double rate = bulk ? mbps : per_s;
    /* Server CPU per request: us per round trip (= ms per 1,000), per
     * connection, or per MB echoed. */
    double cpu_per = -1;
    if (res->server_cpu >= 0 && res->count > 0)
        cpu_per = bulk ? res->server_cpu * 1e6 / (res->bytes / 1e6)
                       : res->server_cpu * 1e6 / (double)res->count;
    double own_pct = 100 * res->own_cpu / el;
    double p50 = lat_quantile(0.5), p99 = lat_quantile(0.99);
    double max = lat_max * 1e6;
    const char *name = mode_names[plan->mode];
    if (plan->mode == IDLE) {
        report_idle(plan, res, cpu_per, own_pct);
        return;
    }

    if (plan->format == CSV) {
        printf("mode,clients,size,count,seconds,rate,unit,mb_per_s,p50_us,"
               "p99_us,max_us,mismatches,server_cpu_s,server_cpu_us_per,"
               "generator_cpu_pct\n");
        printf("%s,%ld,%ld,%lld,%.3f,%.1f,%s,%.1f,%.1f,%.1f,%.1f,%lld,%.3f,"
               "%.2f,%.0f\n", name, res->clients, plan->size, res->count,
               res->elapsed, rate, rate_units[plan->mode], mbps, p50, p99,
               max, mismatches, res->server_cpu, cpu_per, own_pct);
    } else if (plan->format == JSON) {
        printf("{\"mode\":\"%s\",\"clients\":%ld,\"size\":%ld,\"count\":%lld,"
               "\"seconds\":%.3f,\"rate\":%.1f,\"unit\":\"%s\","
               "\"mb_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
               "\"max_us\":%.1f,\"mismatches\":%lld,\"server_cpu_s\":%.3f,"
               "\"server_cpu_us_per\":%.2f,\"generator_cpu_pct\":%.0f}\n",
               name, res->clients, plan->size, res->count, res->elapsed, rate,
               rate_units[plan->mode], mbps, p50, p99, max, mismatches,
               res->server_cpu, cpu_per, own_pct);
    } else {
        /* One line a script can read: " = RATE/s" is the figure. */
        printf("%s: %ld clients x %ld B: %lld %s in %.3f s = %.0f/s, %.1f MB/s"
               "; latency p50 %.0f us, p99 %.0f us, max %.0f us; "
               "%lld mismatches", name, res->clients, plan->size, res->count,
               units[plan->mode], res->elapsed, per_s, mbps, p50, p99, max,
               mismatches);
        if (cpu_per >= 0)
            printf("; server CPU %.1f us per %s", cpu_per,
                   bulk ? "MB" : plan->mode == CONNECT ? "connection"
                                                       : "round trip");
        printf("; generator CPU %.0f%%\n", own_pct);
    }
    fflush(stdout);
    /* Over 90 % of a core: the figure may be ours, not the server's. */
    if (own_pct > 90 && plan->mode < IDLE)
        warn_msg("note: the generator used %.0f%% of a core; it may be the "
                 "bottleneck", own_pct);
}

int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct plan plan = {PINGPONG, 1, 10000, 64, 10, 0, TEXT, 0, 0};
    struct result res = {0};
    res.mem0 = res.mem1 = (struct memory){0, 0, -1, -1};  /* not measured */

    trace_init("echo-bench", 0);
    parse_client_args(argc, argv, &args, usage, "m:c:n:s:d:p:o:", on_option,
                      &plan);
    if (plan.mode != IDLE && plan.clients > CLIENTS_MAX)
        die(EX_USAGE, "bad value '%ld' for -c: expected a number of clients "
            "from 1 to %d (up to %d with -m idle)", plan.clients, CLIENTS_MAX,
            IDLE_CLIENTS_MAX);
    if (plan.mode == IDLE && !plan.rounds_given)
        plan.rounds = 500;  /* a few hundred: enough for a p99 */
    if (!plan.size_given)
        plan.size = plan.mode == PUMP ? 8192
                    : plan.mode == REF_STREAM ? READ_MAX : 64;
    if (ignore_sigpipe() < 0)
        die(EX_OSERR, "sigaction: %s", strerror(errno));
    long long ticks;
    if (plan.pid > 0 && server_ticks(plan.pid, &ticks) < 0)
        die(EX_USAGE, "bad value '%ld' for -p: no /proc/%ld/stat to read "
            "(expected the pid of a running server)", plan.pid, plan.pid);
    fill_pattern();

    /* The deadline is absolute: every wait below is cut to what is left. */
    double deadline = now() + (double)plan.seconds;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) < 0)
        die_errno(EX_OSERR, "sigaction(SIGALRM)");
    alarm((unsigned)plan.seconds + 2);
    switch (plan.mode) {
    case REF_SOCKETPAIR:
        ref_socketpair(&plan, deadline, &res);
        break;
    case REF_FORK:
        ref_fork(&plan, deadline, &res);
        break;
    case REF_STREAM:
        ref_stream(&plan, deadline, &res);
        break;
    case IDLE:
        res.server_cpu = -1;  /* until the new client is timed */
        run_idle(&plan, &args, deadline, &res);
        break;
    default:
        run_clients(&plan, &args, deadline, &res);
        break;
    }
    alarm(0);
    res.clients = plan.mode < REF_SOCKETPAIR ? plan.clients : 1;
    if (plan.mode >= REF_SOCKETPAIR)
        res.server_cpu = -1;
    report(&plan, &res);
    if (failure_code != 0)
        die(failure_code, "%s", failure);
    if (mismatches != 0)
        die(EX_IOERR, "%lld bytes came back different", mismatches);
    return 0;
}

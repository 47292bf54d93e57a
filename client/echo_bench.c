/* echo_bench.c - a load generator for any echo server.
 *
 * Two measurements, each from CLIENTS threads at once:
 *   -m pingpong  every thread connects once, then does ROUNDS round trips
 *                of SIZE bytes (write, read the echo back) -> round trips/s
 *   -m connect   every thread does ROUNDS times: connect, one round trip
 *                of SIZE bytes, close -> connections/s (the cost of a new
 *                client: fork for echo-server-fork, accept for the others)
 * With a large SIZE (-s 65536) pingpong measures bulk throughput (MB/s).
 * Every run is bounded twice: by ROUNDS and by -d SECONDS.
 *
 * Usage: echo-bench [-h] [-v] [-m MODE] [-c CLIENTS] [-n ROUNDS] [-s SIZE]
 *                   [-d SECONDS] [HOST [PORT]]
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fail.h"
#include "io.h"
#include "signals.h"
#include "sockets.h"
#include "trace.h"

static const char usage[] =
    "[-h] [-v] [-m MODE] [-c CLIENTS] [-n ROUNDS] [-s SIZE] [-d SECONDS] "
    "[HOST [PORT]]\n"
    "  Measure an echo server.\n"
    "  -m MODE     pingpong (default) or connect\n"
    "  -c CLIENTS  connections at once, 1-1000 (default 1)\n"
    "  -n ROUNDS   round trips (or connections) per client, "
    "1-10000000 (default 10000)\n"
    "  -s SIZE     bytes per message, 1-1048576 (default 64)\n"
    "  -d SECONDS  stop after this long whatever is left, 1-3600 (default 10)\n"
    "  HOST        name or address (default 127.0.0.1), or HOST:PORT / "
    "[V6ADDR]:PORT;\n"
    "              a lone number is the PORT (default 7000)";

enum mode { PINGPONG, CONNECT };

struct plan {
    enum mode mode;
    long clients, rounds, size, seconds;
    const char *host;
    uint16_t port;
    struct timespec deadline;
};

struct worker {
    pthread_t thread;
    const struct plan *plan;
    long done;   /* round trips, connections or blocks completed */
    int failed;  /* errno of the first failure, 0 if none */
};

static const char *on_option(int letter, const char *arg, void *ctx)
{
    struct plan *plan = ctx;
    switch (letter) {
    case 'm':
        if (strcmp(arg, "pingpong") == 0)
            plan->mode = PINGPONG;
        else if (strcmp(arg, "connect") == 0)
            plan->mode = CONNECT;
        else
            return "pingpong or connect";
        return NULL;
    case 'c':
        return parse_long_in(arg, 1, 1000, &plan->clients) == 0
                   ? NULL : "a number of clients from 1 to 1000";
    case 'n':
        return parse_long_in(arg, 1, 10000000, &plan->rounds) == 0
                   ? NULL : "a number from 1 to 10000000";
    case 's':
        return parse_long_in(arg, 1, 1048576, &plan->size) == 0
                   ? NULL : "a size in bytes from 1 to 1048576";
    default:
        return parse_long_in(arg, 1, 3600, &plan->seconds) == 0
                   ? NULL : "a number of seconds from 1 to 3600";
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int past(const struct timespec *deadline)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec > deadline->tv_sec ||
           (t.tv_sec == deadline->tv_sec && t.tv_nsec >= deadline->tv_nsec);
}

/* One message out and the whole echo back; 0, or an errno. */
static int round_trip(int fd, const char *out, char *back, size_t size)
{
    if (write_all(fd, out, size) < 0)
        return errno;
    ssize_t got = read_full(fd, back, size);
    if (got < 0)
        return errno;
    if ((size_t)got < size)
        return ECONNRESET;  /* the server closed early */
    return memcmp(out, back, size) == 0 ? 0 : EPROTO;
}

/* One client: a connection for the whole run (pingpong) or one per round
 * (connect), until ROUNDS are done or the deadline passes. */
static void *run_worker(void *arg)
{
    struct worker *w = arg;
    const struct plan *plan = w->plan;
    size_t size = (size_t)plan->size;
    char *out = malloc(size), *back = malloc(size);
    int fd = -1;

    if (out == NULL || back == NULL) {
        w->failed = ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < size; i++)
        out[i] = (char)('a' + i % 26);
    if (plan->mode != CONNECT)
        fd = connect_to(plan->host, plan->port);
    while (w->done < plan->rounds && !past(&plan->deadline)) {
        if (plan->mode == CONNECT)
            fd = connect_to(plan->host, plan->port);
        w->failed = round_trip(fd, out, back, size);
        if (plan->mode == CONNECT) {
            close(fd);
            fd = -1;
        }
        if (w->failed != 0)
            break;
        w->done++;
    }
done:
    if (fd >= 0)
        close(fd);
    free(out);
    free(back);
    return NULL;
}

int main(int argc, char **argv)
{
    struct endpoint_args args;
    struct plan plan = {PINGPONG, 1, 10000, 64, 10, NULL, 0, {0, 0}};
    static const char *names[] = {"pingpong", "connect"};

    trace_init("echo-bench", 0);
    parse_client_args(argc, argv, &args, usage, "m:c:n:s:d:", on_option,
                      &plan);
    if (ignore_sigpipe() < 0)
        die(EX_OSERR, "sigaction: %s", strerror(errno));
    plan.host = args.host;
    plan.port = args.port;
    clock_gettime(CLOCK_MONOTONIC, &plan.deadline);
    plan.deadline.tv_sec += plan.seconds;

    struct worker *workers = calloc((size_t)plan.clients, sizeof *workers);
    if (workers == NULL)
        die(EX_OSERR, "out of memory");
    double start = now();
    long started = 0;
    for (; started < plan.clients; started++) {
        workers[started].plan = &plan;
        int rc = pthread_create(&workers[started].thread, NULL, run_worker,
                                &workers[started]);
        if (rc != 0) {
            warn_msg("pthread_create: %s", strerror(rc));
            break;
        }
    }
    long total = 0;
    int failed = 0;
    for (long i = 0; i < started; i++) {
        pthread_join(workers[i].thread, NULL);
        total += workers[i].done;
        if (workers[i].failed != 0 && failed == 0)
            failed = workers[i].failed;
    }
    double elapsed = now() - start;
    free(workers);

    double rate = elapsed > 0 ? (double)total / elapsed : 0;
    /* One line a script can read: the rate is the figure to compare. */
    printf("%s: %ld clients x %ld B: %ld %s in %.3f s = %.0f/s, %.1f MB/s "
           "echoed\n", names[plan.mode], started, plan.size, total,
           plan.mode == CONNECT ? "connections" : "round trips", elapsed,
           rate, rate * (double)plan.size / 1e6);
    if (failed != 0)
        die(EX_IOERR, "a client failed: %s", strerror(failed));
    return 0;
}

/* test_io.c - common/io.c (read_some, read_full, write_all) and the stop
 * flag of common/signals.c, over pipes and socketpairs.
 *
 * Signals come from setitimer(ITIMER_REAL): SIGALRM with a handler
 * installed without SA_RESTART, so a blocked read or write really returns
 * EINTR (or a short count) the way SIGTERM does in a server.
 *
 * FIONREAD (sys/ioctl.h, not POSIX but on every Unix) lets a writer wait
 * until the reader has taken each piece, so "short reads" are certain
 * rather than likely.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "io.h"
#include "signals.h"

TestSuite(io, .timeout = 15, .fini = harness_cleanup);

/* ---- signal plumbing ---------------------------------------------------------- */

static volatile sig_atomic_t ticks = 0;
static volatile sig_atomic_t poke_on_tick = 0;  /* tick that writes a byte */
static volatile sig_atomic_t stop_on_tick = 0;  /* tick that sets the flag */
static int poke_fd = -1;

/* Counts ticks; on chosen ticks sets stop_requested or writes one byte to
 * poke_fd (write is async-signal-safe). */
static void on_alarm(int signo)
{
    (void)signo;
    int saved = errno;
    ticks++;
    if (stop_on_tick != 0 && ticks == stop_on_tick)
        stop_requested = 1;
    if (poke_on_tick != 0 && ticks == poke_on_tick && poke_fd >= 0)
        (void)write(poke_fd, "!", 1);
    errno = saved;
}

/* SIGALRM every interval_ms (first after first_ms), with SA_RESTART or
 * (as the programs install their stop handler) without. */
static void start_ticks_flags(long first_ms, long interval_ms, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = flags;
    cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
    struct itimerval it = {{interval_ms / 1000, (interval_ms % 1000) * 1000},
                           {first_ms / 1000, (first_ms % 1000) * 1000}};
    cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

static void start_ticks(long first_ms, long interval_ms)
{
    start_ticks_flags(first_ms, interval_ms, 0);
}

static void stop_ticks(void)
{
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
}

static void make_pipe(int fds[2])
{
    cr_assert_eq(pipe(fds), 0, "pipe: %s", strerror(errno));
}

static void make_socketpair(int fds[2])
{
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0,
                 "socketpair: %s", strerror(errno));
}

/* ---- read_some ----------------------------------------------------------------- */

Test(io, read_some_returns_what_is_there)
{
    int p[2];
    char buf[100];
    make_pipe(p);
    cr_assert_eq(write(p[1], "abc", 3), 3);
    cr_expect_eq(read_some(p[0], buf, sizeof buf), 3);
    cr_expect(memcmp(buf, "abc", 3) == 0);
    close(p[0]);
    close(p[1]);
}

Test(io, read_some_returns_0_at_end_of_file)
{
    int p[2];
    char buf[10];
    make_pipe(p);
    close(p[1]);
    cr_expect_eq(read_some(p[0], buf, sizeof buf), 0);
    close(p[0]);
}

Test(io, read_some_reports_errors)
{
    char buf[10];
    errno = 0;
    cr_expect_eq(read_some(-1, buf, sizeof buf), -1);
    cr_expect_eq(errno, EBADF);
}

Test(io, read_some_retries_after_eintr)
{
    int p[2];
    char buf[10];
    make_pipe(p);
    /* Ticks every 10 ms interrupt the blocked read; the third tick writes
     * the byte it is waiting for. A read_some that gave up on EINTR would
     * return -1 at the first tick. */
    poke_fd = p[1];
    poke_on_tick = 3;
    start_ticks(10, 10);
    ssize_t n = read_some(p[0], buf, sizeof buf);
    int err = errno;
    stop_ticks();
    cr_expect_eq(n, 1, "read_some returned %zd (%s) instead of retrying",
                 n, strerror(err));
    cr_expect_geq(ticks, 3);
    close(p[0]);
    close(p[1]);
}

Test(io, read_some_gives_up_with_eintr_once_a_stop_is_requested)
{
    int p[2];
    char buf[10];
    make_pipe(p);
    /* The first tick asks to stop. Should read_some retry anyway, the
     * 50th tick writes a byte so the test ends with a clear failure
     * instead of a hang. */
    stop_on_tick = 1;
    poke_fd = p[1];
    poke_on_tick = 50;
    start_ticks(20, 20);
    errno = 0;
    ssize_t n = read_some(p[0], buf, sizeof buf);
    int err = errno;
    stop_ticks();
    cr_expect_eq(n, -1, "read_some returned %zd after the stop request", n);
    cr_expect_eq(err, EINTR, "errno %d (%s), not EINTR", err, strerror(err));
    cr_expect_eq(ticks, 1, "it blocked again after the stop (%d ticks)",
                 (int)ticks);
    close(p[0]);
    close(p[1]);
}

/* KNOWN BUG (common/io.c read_some; the same holds for write_all): the
 * stop flag is looked at only after a call returned EINTR. A SIGTERM that
 * lands while the program runs between two calls (after an echo's write,
 * before the next read) sets the flag, and read_some then blocks anyway:
 * the stop is lost until the client sends again. Seen as an
 * echo-server that ignores SIGTERM with an idle client about one time in
 * five when the signal follows an echo closely. Fix: check stop_requested
 * before each read/write in read_some and write_all, not only after EINTR. */
Test(io, a_stop_requested_before_read_some_is_not_lost)
{
    int p[2];
    char buf[10];
    make_pipe(p);
    stop_requested = 1;  /* the handler ran just before this call */
    /* Should read_some block anyway, a byte arrives at 500 ms so that the
     * test fails with a message instead of hanging. That tick uses
     * SA_RESTART: it must not be the EINTR that ends the read. */
    poke_fd = p[1];
    poke_on_tick = 1;
    start_ticks_flags(500, 0, SA_RESTART);
    errno = 0;
    ssize_t n = read_some(p[0], buf, sizeof buf);
    int err = errno;
    stop_ticks();
    cr_expect_eq(n, -1,
                 "read_some blocked although a stop had been requested (it "
                 "returned %zd when a byte came 500 ms later): a SIGTERM "
                 "between two calls is lost", n);
    cr_expect_eq(err, EINTR);
    close(p[0]);
    close(p[1]);
}

/* ---- read_full ----------------------------------------------------------------- */

struct pieces {
    int fd;        /* write end */
    int watch_fd;  /* read end, to see when the reader has taken a piece */
};

/* Write "hello world\n" in four pieces, each only once the reader has
 * emptied the pipe, so read_full has to go round four times. */
static int write_in_pieces(void *arg)
{
    const struct pieces *pc = arg;
    static const char *const piece[] = {"hel", "lo ", "wor", "ld\n"};
    for (int i = 0; i < 4; i++) {
        if (write(pc->fd, piece[i], 3) != 3)
            return 1;
        for (int spins = 0;; spins++) {
            int pending = 0;
            if (ioctl(pc->watch_fd, FIONREAD, &pending) < 0)
                return 2;
            if (pending == 0)
                break;
            if (spins > 20000)  /* 2 s: the reader never came */
                return 3;
            struct timespec t = {0, 100000};
            nanosleep(&t, NULL);
        }
    }
    return 0;
}

Test(io, read_full_collects_short_reads)
{
    int p[2];
    char buf[13] = "";
    make_pipe(p);
    struct pieces pc = {p[1], p[0]};
    pid_t pid = child_run(write_in_pieces, &pc);
    cr_assert_gt(pid, 0, "%s", harness_error());
    cr_expect_eq(read_full(p[0], buf, 12), 12);
    cr_expect_str_eq(buf, "hello world\n");
    struct exit_info how;
    cr_expect_eq(child_wait(pid, 5000, &how), 0, "%s", harness_error());
    cr_expect(how.exited && how.code == 0, "writer ended with code %d",
              how.code);
    close(p[0]);
    close(p[1]);
}

Test(io, read_full_stops_at_end_of_file)
{
    int p[2];
    char buf[10];
    make_pipe(p);
    cr_assert_eq(write(p[1], "12345", 5), 5);
    close(p[1]);
    cr_expect_eq(read_full(p[0], buf, sizeof buf), 5);
    cr_expect(memcmp(buf, "12345", 5) == 0);
    close(p[0]);
}

Test(io, read_full_of_nothing_and_errors)
{
    int p[2];
    char buf[4];
    make_pipe(p);
    cr_expect_eq(read_full(p[0], buf, 0), 0, "size 0 must not block");
    errno = 0;
    cr_expect_eq(read_full(-1, buf, sizeof buf), -1);
    cr_expect_eq(errno, EBADF);
    close(p[0]);
    close(p[1]);
}

Test(io, read_full_gives_up_with_eintr_once_a_stop_is_requested)
{
    int p[2];
    char buf[10];
    make_pipe(p);
    cr_assert_eq(write(p[1], "abc", 3), 3);  /* some, not all */
    stop_on_tick = 1;
    poke_fd = p[1];
    poke_on_tick = 50;
    start_ticks(20, 20);
    errno = 0;
    ssize_t n = read_full(p[0], buf, sizeof buf);
    int err = errno;
    stop_ticks();
    cr_expect_eq(n, -1, "read_full returned %zd after the stop", n);
    cr_expect_eq(err, EINTR);
    close(p[0]);
    close(p[1]);
}

/* ---- write_all -------------------------------------------------------------- */

#define BIG (8u * 1024 * 1024)
#define BIG_SEED 862u

/* Read everything until EOF and compare with the same pseudo-random bytes.
 * Exit 0: all BIG bytes, equal; 1: different; 2: a different length. */
struct pair_ends {
    int reader;  /* the child's end */
    int writer;  /* the parent's end: closed in the child, or no EOF */
};

static int read_and_check(void *arg)
{
    const struct pair_ends *ends = arg;
    int fd = ends->reader;
    close(ends->writer);
    static unsigned char want[BIG], got[64 * 1024];
    size_t total = 0;
    fill_random(want, BIG, BIG_SEED);
    for (;;) {
        ssize_t n = read(fd, got, sizeof got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (total + (size_t)n > BIG ||
            memcmp(want + total, got, (size_t)n) != 0)
            return 1;
        total += (size_t)n;
    }
    return total == BIG ? 0 : 2;
}

Test(io, write_all_sends_8_mib_through_a_small_buffer, .timeout = 60)
{
    int sv[2];
    static unsigned char data[BIG];
    int small = 4096;

    make_socketpair(sv);
    /* A small send buffer makes every write block many times. */
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    fill_random(data, BIG, BIG_SEED);
    struct pair_ends ends = {sv[1], sv[0]};
    pid_t pid = child_run(read_and_check, &ends);
    cr_assert_gt(pid, 0, "%s", harness_error());
    close(sv[1]);

    /* Meanwhile a tick every millisecond interrupts the blocked writes:
     * each returns a short count (or EINTR), and write_all must carry on
     * from where it stopped. */
    start_ticks(1, 1);
    int rc = write_all(sv[0], data, BIG);
    int err = errno;
    stop_ticks();
    cr_expect_eq(rc, 0, "write_all failed: %s", strerror(err));
    close(sv[0]);

    struct exit_info how;
    cr_expect_eq(child_wait(pid, 20000, &how), 0, "%s", harness_error());
    cr_expect(how.exited && how.code == 0,
              "reader: %s (1: bytes differ, 2: wrong length)",
              how.exited ? (how.code == 1 ? "bytes differ" : "wrong length")
                         : "did not exit");
    cr_expect_gt(ticks, 0, "no tick landed: the EINTR path went untested");
}

Test(io, write_all_reports_errors)
{
    int sv[2];
    make_socketpair(sv);
    close(sv[1]);
    signal(SIGPIPE, SIG_IGN);
    errno = 0;
    cr_expect_eq(write_all(sv[0], "x", 1), -1);
    cr_expect_eq(errno, EPIPE);
    close(sv[0]);
    cr_expect_eq(write_all(-1, "x", 1), -1);
    cr_expect_eq(write_all(-1, "x", 0), 0, "nothing to write is success");
}

/* Fill fd's send path until a write would block, then make it blocking
 * again. */
static void fill_until_full(int fd)
{
    static char junk[64 * 1024];
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    for (int i = 0; i < 100000; i++)
        if (write(fd, junk, sizeof junk) < 0)
            break;
    for (int i = 0; i < 100000; i++)
        if (write(fd, junk, 1) < 0)
            break;
    fcntl(fd, F_SETFL, flags);
}

Test(io, write_all_gives_up_with_eintr_once_a_stop_is_requested)
{
    int sv[2];
    static char data[64 * 1024];
    make_socketpair(sv);
    fill_until_full(sv[0]);
    /* Nothing fits, so the write blocks before moving a byte; the tick
     * that asks to stop makes it return -1/EINTR. (A write_all that
     * ignored the flag would block on until the test's timeout.) */
    stop_on_tick = 1;
    start_ticks(20, 20);
    errno = 0;
    int rc = write_all(sv[0], data, sizeof data);
    int err = errno;
    stop_ticks();
    cr_expect_eq(rc, -1);
    cr_expect_eq(err, EINTR, "errno %d (%s)", err, strerror(err));
    close(sv[0]);
    close(sv[1]);
}

/* KNOWN BUG (common/io.c write_all): a stop signal that lands while write
 * has already moved some bytes makes write return that short count, not
 * -1/EINTR; write_all then calls write again and blocks until the peer
 * reads, so the program cannot wind down (io.h promises it can). A server
 * blocked writing to a client that does not read ignores SIGTERM. Fix:
 * check stop_requested at the top of write_all's loop. */
Test(io, write_all_stops_after_a_short_write_too, .timeout = 10)
{
    int sv[2];
    static char data[1024 * 1024];
    make_socketpair(sv);
    /* Room for some bytes but not for 1 MiB: the first write moves part of
     * it and blocks. Tick 1 asks to stop; a second tick 200 ms later is
     * the only thing that can end a write_all that blocked again. */
    stop_on_tick = 1;
    start_ticks(50, 200);
    errno = 0;
    int rc = write_all(sv[0], data, sizeof data);
    int err = errno;
    int seen = ticks;
    stop_ticks();
    cr_expect_eq(rc, -1);
    cr_expect_eq(err, EINTR);
    cr_expect_eq(seen, 1,
                 "write_all blocked again after the stop request (a short "
                 "write, then another blocking write); it took %d signals to "
                 "return", seen);
    close(sv[0]);
    close(sv[1]);
}

/* ---- signals.c ----------------------------------------------------------------- */

Test(io, catch_stop_signals_sets_the_flag_without_sa_restart)
{
    struct sigaction sa;
    cr_assert_eq(catch_stop_signals(), 0);
    cr_assert_eq(sigaction(SIGTERM, NULL, &sa), 0);
    cr_expect_eq(sa.sa_flags & SA_RESTART, 0, "SA_RESTART set on SIGTERM");
    cr_assert_eq(sigaction(SIGPIPE, NULL, &sa), 0);
    cr_expect_eq(sa.sa_handler, SIG_IGN, "SIGPIPE not ignored");
    cr_expect_eq(stop_requested, 0);
    raise(SIGTERM);
    cr_expect_eq(stop_requested, 1, "SIGTERM did not set stop_requested");
    stop_requested = 0;
    raise(SIGINT);
    cr_expect_eq(stop_requested, 1, "SIGINT did not set stop_requested");
}

Test(io, ignore_sigpipe_only_touches_sigpipe)
{
    struct sigaction sa;
    cr_assert_eq(ignore_sigpipe(), 0);
    cr_assert_eq(sigaction(SIGPIPE, NULL, &sa), 0);
    cr_expect_eq(sa.sa_handler, SIG_IGN);
    cr_assert_eq(sigaction(SIGINT, NULL, &sa), 0);
    cr_expect_eq(sa.sa_handler, SIG_DFL, "SIGINT changed");
}

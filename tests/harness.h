/* harness.h - driving socklab's real programs from Criterion tests.
 *
 * Four kinds of help, all bounded in time and all on loopback:
 *
 *   - servers:  server_start runs a server binary on port 0, waits for its
 *               ready line and reports the port it got; server_stop sends
 *               SIGTERM, reaps it and hands back its exit status and stderr.
 *   - programs: run_program runs a client (or a server with bad arguments)
 *               to completion, feeding stdin and collecting stdout/stderr
 *               without ever deadlocking on a full pipe.
 *   - sockets:  small raw-socket steps (connect, write, read exactly N, "no
 *               byte arrives", reset, one datagram within a time) for cases
 *               no client would produce.
 *   - /proc:    what a running process holds (children, descriptors,
 *               memory, CPU time), to check a server does not leak or spin.
 *
 * Every process the harness starts dies with the test (PR_SET_PDEATHSIG,
 * SIGKILL), is remembered, and is reaped by its pid: in server_stop,
 * run_program, child_wait, or at the latest in harness_cleanup, which every
 * suite that starts processes names as its .fini.
 *
 * Time limits are in milliseconds. Functions return 0 for success and -1
 * for failure unless they say otherwise; on failure a reason is left in
 * harness_error() so an assertion can print it.
 */
#ifndef SOCKLAB_TESTS_HARNESS_H
#define SOCKLAB_TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* How long a server may take to print its ready line, and to exit after
 * SIGTERM, before the harness gives up (and, for the exit, sends SIGKILL). */
#define HARNESS_READY_MS 5000
#define HARNESS_STOP_MS 5000

/* The last failure of a harness function, as one line of text. */
const char *harness_error(void);

/* ---- time --------------------------------------------------------------- */

/* Milliseconds on the monotonic clock, for deadlines and durations. */
long long now_ms(void);

/* Sleep ms milliseconds, resuming after a signal. Only to pace a loop that
 * polls a condition under a deadline, or to measure something over an
 * interval: never as the way to wait for an event. */
void nap_ms(long ms);

/* ---- binaries ------------------------------------------------------------ */

/* Where program NAME lives: $SOCKLAB_BIN/NAME when SOCKLAB_BIN is set, else
 * SOCKLAB_BIN_DIR/NAME (the Makefile's bin directory for this build: bin/,
 * or build/san/bin/ under SANITIZE=1). A NAME containing '/' is taken as a
 * path as it is.
 * Writes into buf (size bytes) and returns buf. */
const char *bin_path(const char *name, char *buf, size_t size);

/* 1 when bin_path(name) exists and is executable, else 0. */
int bin_exists(const char *name);

/* The first executable called name on $PATH, written into buf; NULL when
 * there is none (e.g. socat is not installed). */
const char *find_on_path(const char *name, char *buf, size_t size);

/* ---- how a process ended --------------------------------------------------- */

struct exit_info {
    int exited;     /* 1: exit() or return from main; code is valid */
    int code;       /* the exit status, 0..255 */
    int signaled;   /* 1: killed by a signal; signo is valid */
    int signo;
    int timed_out;  /* 1: the harness had to kill it at its deadline */
};

/* "exit 0", "exit 71", "killed by signal 9", "timed out (killed)": for
 * assertion messages. Returns buf. */
const char *describe_exit(const struct exit_info *how, char *buf, size_t size);

/* 1 when the process exited by itself (not killed, not timed out) with
 * status code, else 0. */
int exited_with(const struct exit_info *how, int code);

/* ---- servers ------------------------------------------------------------- */

struct server {
    pid_t pid;               /* 0 once reaped */
    char name[64];           /* the program, as given to server_start */
    char ready_line[160];    /* the ready line, without its newline */
    int lines_before_ready;  /* lines without the marker read before it */
    char host[64];           /* address part of the ready line, no brackets */
    int family;              /* AF_INET or AF_INET6, from the host's shape */
    uint16_t port;           /* the port the server really got */
    int out_fd;              /* rest of its stdout (a pipe), -1 once closed */
    int err_fd;              /* its stderr: temp file or pipe, -1 once closed */
    int err_is_pipe;
    /* Filled by server_stop; freed by server_stop's next call or
     * server_release. NUL-terminated. */
    struct exit_info exit;
    char *err_text;          /* everything the server wrote to stderr */
    char *out_rest;          /* what it wrote to stdout after the ready line */
};

/* Start server binary NAME with args (a NULL-terminated list, may be NULL)
 * followed by port (NULL means "0", so the kernel picks a free port), and
 * wait at most HARNESS_READY_MS for "listening on ADDR:PORT" on its stdout,
 * which must be its first line there (the contract: nothing else).
 * stdin is /dev/null; stderr goes to an unlinked temp file, so a -v trace of
 * any length never blocks the server. On success fills srv and returns 0;
 * on failure (no binary, early exit, no ready line in time) the server is
 * killed and reaped, srv->exit and srv->err_text say how it ended, and -1
 * is returned. */
int server_start(struct server *srv, const char *name,
                 const char *const args[], const char *port);

/* server_start, with the server's RLIMIT_NOFILE (soft and hard) set to
 * max_fds before exec: to run it out of descriptors on purpose. */
int server_start_fd_limit(struct server *srv, const char *name,
                          const char *const args[], const char *port,
                          int max_fds);

/* The general form, for servers that are not socklab's: run argv (argv[0]
 * is the program, resolved with bin_path) and wait for a line containing
 * marker ("listening on ") on stdout, or on stderr when ready_on_stderr
 * (stderr is then a pipe, read only for that line; later output must stay
 * small). After the marker, an optional "AF=N " prefix (socat's) is skipped
 * and "HOST:PORT" or "[HOST]:PORT" is parsed. */
int server_start_argv(struct server *srv, char *const argv[],
                      const char *marker, int ready_on_stderr);

/* Stop a started server: wait (at most 2 s) until it is blocked in a
 * system call (wait_until_asleep), SIGTERM, then wait up to
 * HARNESS_STOP_MS for it to exit (SIGKILL and exit.timed_out = 1 past
 * that). Fills srv->exit, srv->err_text and srv->out_rest, closes its fds.
 * Returns 0 when it exited by itself within the time, -1 otherwise (or if
 * it was not running). */
int server_stop(struct server *srv);

/* server_stop, insisting on a clean end: returns 0 only when the server
 * exited by itself, in time, with status 0; otherwise -1, and
 * harness_error() says how it ended and gives the start of its stderr. */
int server_stop_clean(struct server *srv);

/* Wait at most timeout_ms until process pid is asleep (state S in
 * /proc/PID/stat): blocked in accept, read, poll... A signal sent then
 * interrupts that call, which is the case a test of SIGTERM means. A
 * signal that lands while a blocking server runs between two calls is
 * lost (see io::a_stop_requested_before_read_some_is_not_lost); tests that
 * are not about that race wait here first. This waits for a condition, not
 * a time. Returns 1 when asleep, 0 on timeout or without /proc. */
int wait_until_asleep(pid_t pid, int timeout_ms);

/* Is the server still running (not exited, not reaped)? 1 or 0. */
int server_alive(struct server *srv);

/* Everything the server has written to stderr so far (temp-file stderr
 * only), as a malloc'd NUL-terminated string; NULL on failure. */
char *server_stderr_now(const struct server *srv);

/* Kill (if needed) and reap the server, free its texts, close its fds. Safe
 * to call twice and on a zeroed struct. */
void server_release(struct server *srv);

/* ---- programs run to completion ------------------------------------------ */

struct run_result {
    pid_t pid;                /* the pid it had (for checking its trace) */
    unsigned char *out;       /* stdout bytes (malloc'd, NUL-terminated too) */
    size_t out_len;
    char *err;                /* stderr text (malloc'd, NUL-terminated) */
    size_t err_len;
    struct exit_info exit;
};

/* Run program NAME (bin_path) with args (NULL-terminated, may be NULL),
 * write in_len bytes of in to its stdin then close it, and collect stdout
 * and stderr, all in one poll loop so that no pipe can fill up and stall
 * either side. Past timeout_ms the program is killed (exit.timed_out).
 * Returns 0 when the program ran and was reaped (whatever its exit code),
 * -1 when it could not be started. Free with run_result_free. */
int run_program(const char *name, const char *const args[], const void *in,
                size_t in_len, int timeout_ms, struct run_result *r);

void run_result_free(struct run_result *r);

/* ---- helper children ------------------------------------------------------ */

/* Fork a child that runs fn(arg) and then _exit(fn's return value). The
 * child dies with the test and is reaped by child_wait or harness_cleanup.
 * Returns its pid, or -1. */
pid_t child_run(int (*fn)(void *arg), void *arg);

/* Wait at most timeout_ms for that child to exit (SIGKILL past that) and
 * say how it ended. Returns 0 when it exited by itself in time, else -1. */
int child_wait(pid_t pid, int timeout_ms, struct exit_info *how);

/* The children of pid (in any state, zombies included), from
 * /proc/PID/task/PID/children: up to max pids into out. Returns how many,
 * or -1 when pid does not exist. */
int children_of(pid_t pid, pid_t *out, int max);

/* Kill and reap every process the harness started that is still around.
 * Use as a suite's .fini, so that a failed assertion, which leaves the test
 * early, still leaves no process behind. */
void harness_cleanup(void);

/* Point this process's stderr at /dev/null. For a test that expects the
 * code under test to print its error and exit (.exit_code = ...): the
 * message has been checked elsewhere and would only clutter the run. */
void quiet_stderr(void);

/* ---- what /proc says about a process ------------------------------------ */

/* How many descriptors pid has open (the entries of /proc/PID/fd); -1 when
 * that cannot be read (no such process, no /proc). */
int count_open_fds(pid_t pid);

/* pid's resident set size (VmRSS in /proc/PID/status) in KiB; -1 when it
 * cannot be read. */
long rss_kib(pid_t pid);

/* The CPU time pid has used so far, user + system, in clock ticks
 * (sysconf(_SC_CLK_TCK) of them a second), from /proc/PID/stat; -1 when it
 * cannot be read. */
long cpu_ticks(pid_t pid);

/* ---- raw sockets ------------------------------------------------------------ */

/* A TCP connection to host (a numeric address: "127.0.0.1" or "::1") and
 * port, with a 5 s bound on connect. Returns the fd or -1. */
int tcp_connect(const char *host, uint16_t port);

/* A listening TCP socket on host (numeric) and a port the kernel picks,
 * written to *port. Returns the fd or -1. */
int tcp_listen(const char *host, uint16_t *port);

/* Send all n bytes within timeout_ms (poll + send, no SIGPIPE). Returns the
 * number of bytes sent: n, or fewer on timeout or error. */
size_t sock_send_all(int fd, const void *buf, size_t n, int timeout_ms);

/* Read exactly n bytes within timeout_ms. Returns the number read: n, or
 * fewer when the peer closed, an error came or the time ran out. */
size_t sock_read_exact(int fd, void *buf, size_t n, int timeout_ms);

/* Wait at most timeout_ms for end of file. Returns 1 for EOF, 0 when data
 * arrived instead, -1 for a timeout or an error. */
int sock_expect_eof(int fd, int timeout_ms);

/* The negative check: returns 1 when nothing at all (no byte, no EOF)
 * arrives on fd within ms, 0 when something does. */
int sock_quiet_for(int fd, int ms);

/* Close with SO_LINGER {1, 0}: the kernel sends RST instead of FIN and
 * drops anything unsent. Returns close's result. */
int sock_reset(int fd);

/* A UDP socket connected to host (numeric) and port: send() goes there,
 * and only datagrams from there are received. Returns the fd or -1. */
int udp_connect(const char *host, uint16_t port);

/* A UDP socket bound to host (numeric) on a port the kernel picks, written
 * to *port. Returns the fd or -1. */
int udp_bind(const char *host, uint16_t *port);

/* Receive one datagram into buf (size bytes; a longer one is cut to size),
 * waiting at most timeout_ms for it (0: only one already queued). Returns
 * its length, 0 for an empty datagram, or -1 when none came in time or
 * recv failed (on a connected socket an ICMP port unreachable shows as
 * ECONNREFUSED). */
ssize_t udp_recv_within(int fd, void *buf, size_t size, int timeout_ms);

/* A TCP port that was free a moment ago (bind to 0, read, close), for cases
 * that need a port nobody listens on. Returns 0 or -1. */
int free_port(const char *host, uint16_t *port);

/* 1 when the system's own resolver (getaddrinfo, no socklab code) knows
 * name, else 0: a machine without an /etc/hosts entry for "localhost" cannot
 * test our name handling, and the test says so instead of failing. */
int system_resolves(const char *name);

/* 1 when this machine can bind an IPv6 socket to ::1, else 0. */
int have_ipv6_loopback(void);

/* ---- capturing this process's own output ------------------------------------- */

/* Point fd (1 or 2) of the test process at an unlinked temp file until
 * capture_end, for checking what a common/ function prints. Returns 0 or
 * -1. */
int capture_begin(int fd);

/* Put fd back and return what was written to it meanwhile (a static
 * buffer of 16 KiB, NUL-terminated; the next call reuses it). */
const char *capture_end(void);

/* ---- data and text ----------------------------------------------------------- */

/* Fill buf with n pseudo-random bytes from seed (xorshift: the same seed
 * gives the same bytes on every run and machine). */
void fill_random(void *buf, size_t n, uint32_t seed);

/* How many '\n'-terminated lines text holds (a last line without '\n'
 * counts too). */
int count_lines(const char *text);

/* How many lines of text start with prefix (a last line without '\n'
 * counts too). */
int lines_starting(const char *text, const char *prefix);

/* The first line of text containing needle, copied without its newline
 * into buf; NULL when no line has it. */
const char *line_with(const char *text, const char *needle, char *buf,
                      size_t size);

/* Remove, in place, the lines a sanitizer adds ("==1234==Running thread
 * ... was not suspended"): under -fsanitize=address a forked copy of the
 * multi-threaded test process prints one when it calls exit. Real
 * sanitizer errors still fail the test through the exit code. Returns
 * text. */
char *drop_sanitizer_lines(char *text);

/* 1 when number n appears in text as a whole number (not inside a longer
 * run of digits), else 0. */
int has_number(const char *text, unsigned long long n);

/* Is doc a well-formed XML document (one root element, tags balanced,
 * attributes quoted and not repeated, entities and comments closed)? NULL
 * when it is, else a reason with its line ("line 3: ..."), in a static
 * buffer. Small on purpose: enough to hold the SVG the scripts draw
 * (make diagram, make bench) to what a browser needs; tested on broken
 * documents in tests/test_diagram.c. */
const char *xml_problem(const char *doc);

/* ---- scratch trees and tests/scripts/quotes.sh ------------------------------ */

/* Remove path and, when it is a directory, everything below it; a
 * symbolic link is removed, never followed. For a suite's .fini, after a
 * test that built a scratch tree (mkdtemp). Returns 0 when path is gone
 * (or was never there); -1 when a path below it does not fit in 4096
 * bytes or something could not be removed: the rest is still removed, and
 * harness_error() names the last entry that stayed. */
int remove_tree(const char *path);

/* One run of tests/scripts/quotes.sh: its exit status (raw.exit) and what
 * it printed. out and err point into raw: stdout holds the summaries of
 * the clean parts, stderr one line per problem and the failed summaries. */
struct script_run {
    struct run_result raw;
    const char *out;
    const char *err;
};

/* Run "sh SOCKLAB_ROOT/tests/scripts/quotes.sh FLAGS... --root ROOT" (no
 * --root when root is NULL; flags is NULL-terminated) to completion,
 * killing it past timeout_ms (raw.exit.timed_out), and fill r. Returns
 * run_program's result: 0 when the script ran and was reaped, whatever its
 * exit status; -1 when it could not be started (too many flags, no sh),
 * with the reason in harness_error(). Free r with script_free either way. */
int run_quotes_script(struct script_run *r, const char *const flags[],
                      const char *root, int timeout_ms);

/* Free what run_quotes_script filled; safe to call twice. */
void script_free(struct script_run *r);

#endif

/* signals.h - the stop signals (SIGINT, SIGTERM), the grace period's alarm
 * (SIGALRM) and SIGPIPE.
 *
 * A server stops in two steps. The first SIGINT or SIGTERM asks it to stop
 * accepting and let the clients it has finish (STOP_FINISH); a second one,
 * or the end of the grace period (-g, timed with alarm or a timer), means
 * stop now: every client still there is reset (STOP_NOW). The handlers only
 * set the level; the blocking call they interrupt returns -1/EINTR (they are
 * installed without SA_RESTART on purpose), and the program's loops look at
 * the level.
 */
#ifndef SOCKLAB_SIGNALS_H
#define SOCKLAB_SIGNALS_H

#include <signal.h>

/* The values stop_requested takes, in this order only. */
enum stop_level {
    STOP_NONE = 0,    /* serving */
    STOP_FINISH = 1,  /* first signal: no new clients; these may finish */
    STOP_NOW = 2      /* second signal, or the grace period is over */
};

/* The default grace period (-g), in seconds: long enough for an echo in
 * flight over loopback to end, short enough that a stop stays prompt. */
#define DEFAULT_GRACE_SECONDS 2

/* Set by the handlers below; read it as an enum stop_level. */
extern volatile sig_atomic_t stop_requested;

/* One step further: STOP_NONE -> STOP_FINISH -> STOP_NOW. For a program's
 * own stop handler (the poll server's also pokes a pipe). Async-signal-safe;
 * call it with the other stop signals blocked (sa_mask), as the handlers
 * here are, so that two signals cannot both take the first step. */
void stop_step(void);

/* Install the SIGINT/SIGTERM handler (stop_step) and the SIGALRM one (the
 * grace period is over: STOP_NOW), without SA_RESTART, and ignore SIGPIPE,
 * so writing to a peer that has gone gives EPIPE instead of killing us.
 * Returns 0, or -1 with errno set. */
int catch_stop_signals(void);

/* Ignore SIGPIPE only (for clients, which keep the default Ctrl-C). */
int ignore_sigpipe(void);

#endif

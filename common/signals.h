/* signals.h - the stop signals (SIGINT, SIGTERM) and SIGPIPE.
 *
 * A server should stop cleanly on Ctrl-C or `kill`: close its sockets, say
 * what it did, exit 0. The handler only sets a flag; the blocking call it
 * interrupts returns -1/EINTR (we install it without SA_RESTART on purpose),
 * and the main loop sees the flag.
 */
#ifndef SOCKLAB_SIGNALS_H
#define SOCKLAB_SIGNALS_H

#include <signal.h>

/* Set to 1 by the SIGINT/SIGTERM handler. */
extern volatile sig_atomic_t stop_requested;

/* Install the SIGINT/SIGTERM handler (no SA_RESTART) and ignore SIGPIPE, so
 * writing to a peer that has gone gives EPIPE instead of killing us. Returns
 * 0, or -1 with errno set. */
int catch_stop_signals(void);

/* Ignore SIGPIPE only (for clients, which keep the default Ctrl-C). */
int ignore_sigpipe(void);

#endif

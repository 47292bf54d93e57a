/* signals.c - see signals.h. */
#include "signals.h"

#include <stddef.h>

volatile sig_atomic_t stop_requested = 0;

/* region: stop-signals */
static void on_stop(int signo)
{
    (void)signo;
    stop_requested = 1;  /* the only thing a handler may safely do here */
}

int ignore_sigpipe(void)
{
    struct sigaction sa = {0};

    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGPIPE, &sa, NULL);
}

int catch_stop_signals(void)
{
    struct sigaction sa = {0};

    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocked accept or read must return EINTR so the
     * program notices the flag. With SA_RESTART it would block on. */
    sa.sa_flags = 0;
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
        return -1;
    return ignore_sigpipe();
}
/* endregion: stop-signals */

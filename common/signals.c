/* signals.c - see signals.h. */
#include "signals.h"

#include <stddef.h>

volatile sig_atomic_t stop_requested = STOP_NONE;

/* region: stop-signals */
void stop_step(void)
{
    /* A first stop lets clients finish; any later one means now. */
    stop_requested = stop_requested == STOP_NONE ? STOP_FINISH : STOP_NOW;
}

static void on_stop(int signo)
{
    (void)signo;
    stop_step();  /* setting a flag: about all a handler may safely do */
}

/* alarm(g) was set when the stop began: the grace period is over. */
static void on_grace_over(int signo)
{
    (void)signo;
    stop_requested = STOP_NOW;
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
    /* While one stop handler runs, the other stop signals wait: two
     * signals at once must not both see STOP_NONE. */
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGALRM);
    /* No SA_RESTART: a blocked accept or read must return EINTR so the
     * program notices the flag. With SA_RESTART it would block on. */
    sa.sa_flags = 0;
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
        return -1;
    sa.sa_handler = on_grace_over;
    if (sigaction(SIGALRM, &sa, NULL) < 0)
        return -1;
    return ignore_sigpipe();
}
/* endregion: stop-signals */

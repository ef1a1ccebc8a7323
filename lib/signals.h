/*
 * signals.h — what a signal does, the same in every program (atfh(7),
 * SIGNALS):
 *  - SIGPIPE is ignored: a write then fails with EPIPE and the run ends
 *    quietly;
 *  - SIGHUP, SIGUSR1, SIGUSR2 and SIGALRM are ignored unless the program
 *    gives them a meaning (atfh-grep -D reloads on SIGHUP, atfh-count
 *    snapshots on SIGUSR1, lib/stats' timer runs on SIGALRM): their default
 *    action would kill the program in the middle of a line;
 *  - SIGINT and SIGTERM set atfh_interrupted (input.h) and remember which
 *    signal it was: reads end as if the input were over and the run stops
 *    at a record boundary; lib/loop decides what that means for the exit
 *    status and -o FILE;
 *  - code that cannot look at the flag for a long time (a jq program) runs
 *    between atfh_busy_begin and atfh_busy_end: if it is still inside one
 *    such call about a second after the interrupt, or a second INT/TERM
 *    comes, the program exits at once with 128 + the signal, after writing
 *    the complete events buffered for stdout (or a FIFO / device) and
 *    removing the temporary files registered here.
 * Everything done from a handler is async-signal-safe: the temporary
 * paths are copied into fixed slots in advance.
 */
#ifndef ATFH_SIGNALS_H
#define ATFH_SIGNALS_H

#include "atfh.h"
#include "out.h"
#include <signal.h>

/* Install the dispositions above (atfh_cli_signals is this). */
void atfh_signals_init(void);
/* 128 + SIGINT/SIGTERM once one has stopped the run, else 0. */
int atfh_signal_status(void);

/* A temporary file to remove if the program dies of a signal.  Returns
 * its slot for atfh_signals_drop_temp, or -1 if none is free (or the path
 * is too long to keep), in which case only a normal exit removes it. */
int atfh_signals_add_temp(const char *path);
void atfh_signals_drop_temp(int slot);
/* The output whose buffered (complete) events an emergency exit writes;
 * NULL for none.  Never a temporary file's. */
void atfh_signals_set_output(struct atfh_out *o);

/* Around a call that does not look at atfh_interrupted (jq_next): the
 * watchdog may end the program while it is inside. */
extern volatile sig_atomic_t atfh_busy, atfh_busy_gen;
static inline void atfh_busy_begin(void)
{
	atfh_busy_gen++;
	atfh_busy = 1;
}
static inline void atfh_busy_end(void)
{
	atfh_busy = 0;
}
/* Start the watchdog (once; programs that run jq). */
void atfh_watchdog_init(void);

#endif

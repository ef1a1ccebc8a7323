/*
 * signals.c — see signals.h.
 */
#include "signals.h"
#include "cli.h"
#include "input.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define TEMP_SLOTS 4

volatile sig_atomic_t atfh_busy, atfh_busy_gen;

static volatile sig_atomic_t stop_signal;   /* SIGINT or SIGTERM, 0 before */
static volatile sig_atomic_t watch_gen;     /* atfh_busy_gen at the last look */
static char temp_path[TEMP_SLOTS][PATH_MAX];
static volatile sig_atomic_t temp_used[TEMP_SLOTS];
static struct atfh_out *volatile emergency_out;
static timer_t watchdog;
static volatile sig_atomic_t have_watchdog;

int atfh_signal_status(void)
{
	return stop_signal ? 128 + stop_signal : 0;
}

int atfh_signals_add_temp(const char *path)
{
	size_t n = strlen(path);
	if (n >= PATH_MAX)
		return -1;
	for (int i = 0; i < TEMP_SLOTS; i++) {
		if (temp_used[i])
			continue;
		memcpy(temp_path[i], path, n + 1);
		atomic_signal_fence(memory_order_seq_cst);
		temp_used[i] = 1;
		return i;
	}
	return -1;
}

void atfh_signals_drop_temp(int slot)
{
	if (slot >= 0 && slot < TEMP_SLOTS)
		temp_used[slot] = 0;
}

void atfh_signals_set_output(struct atfh_out *o)
{
	emergency_out = o;
}

/* Exit now, from a handler: the complete events buffered for a stream
 * output go out, temporary files go away. */
static _Noreturn void die_now(int sig)
{
	struct atfh_out *o = emergency_out;
	if (o && o->fd >= 0 && o->buf && !o->broken_pipe && !o->error) {
		size_t done = 0;
		while (done < o->len) {
			ssize_t w = write(o->fd, o->buf + done, o->len - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			done += (size_t)w;
		}
	}
	for (int i = 0; i < TEMP_SLOTS; i++)
		if (temp_used[i])
			unlink(temp_path[i]);
	_exit(128 + sig);
}

static void on_stop(int sig)
{
	int e = errno;
	if (stop_signal && atfh_busy)
		die_now(stop_signal); /* the second one, and stuck: now */
	if (!stop_signal) {
		stop_signal = sig;
		watch_gen = atfh_busy_gen;
		if (have_watchdog) {
			struct itimerspec it = { { 1, 0 }, { 1, 0 } };
			timer_settime(watchdog, 0, &it, NULL);
		}
	}
	atfh_interrupted = sig;
	errno = e;
}

/* Once a second after SIGINT/SIGTERM: still inside the same busy call? */
static void on_watchdog(int sig)
{
	(void)sig;
	if (!stop_signal)
		return;
	if (atfh_busy && atfh_busy_gen == watch_gen)
		die_now(stop_signal);
	watch_gen = atfh_busy_gen;
}

void atfh_watchdog_init(void)
{
	if (have_watchdog)
		return;
	struct sigaction sa = { .sa_handler = on_watchdog, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGVTALRM, &sa, NULL);
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGVTALRM };
	if (timer_create(CLOCK_MONOTONIC, &ev, &watchdog) == 0)
		have_watchdog = 1;
}

void atfh_signals_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	/* meaningless here: a program that uses one installs its handler
	 * after this (and lib/stats its SIGALRM handler with its timer) */
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGALRM, SIG_IGN);
	/* a write past RLIMIT_FSIZE fails with EFBIG and is reported */
	signal(SIGXFSZ, SIG_IGN);
	/* no SA_RESTART: a read blocked on a pipe returns and the run ends */
	struct sigaction sa = { .sa_handler = on_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void atfh_cli_signals(void)
{
	atfh_signals_init();
}

/*
 * cancel.h — PQcancel off the worker's loop (see cancel.c).
 */
#ifndef TUSK_CANCEL_H
#define TUSK_CANCEL_H

#include <stdbool.h>

#include <libpq-fe.h>

struct event_base;

/* The cancel request was delivered (sent) or not (error says why). */
typedef void (*cancel_done_fn)(bool sent, const char *error, void *arg);

/*
 * Send a cancel request for pc on a short-lived thread; done runs on the
 * loop once PQcancel returns. -1 when a cancel is already running or the
 * thread cannot start (the caller decides what then).
 */
int cancel_start(struct event_base *base, PGcancel *pc, cancel_done_fn done, void *arg);
bool cancel_running(void);
/* Do not call done any more (the worker is ending); the thread may still
 * be in PQcancel, so pc must stay allocated. */
void cancel_forget(void);

#endif

/*
 * cancel.c — PQcancel on a short-lived thread, so the loop goes on.
 *
 * libpq 15 has only the blocking PQcancel: it opens a new connection to
 * the address the session uses, sends the cancel key, and waits for the
 * server to close. Through an SSH tunnel that address is the tunnel's
 * local end, served by this very loop: called from the loop, PQcancel
 * would wait forever for a channel the loop cannot open. Directly, it
 * blocks the loop (and the heartbeat) for a round trip, or for as long as
 * the kernel tries an unreachable server.
 *
 * So one thread per cancel, which does nothing but PQcancel (documented as
 * safe to call from another thread) on a PGcancel the main thread does not
 * touch meanwhile, then writes to an eventfd the loop watches. The thread
 * is created after the sandbox is applied, so it inherits it; it blocks
 * every signal, so SIGTERM still reaches the loop's thread. At most one
 * runs at a time. docs/transport.md says why a thread here.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "cancel.h"
#include "log.h"
#include "util.h"

#define CANCEL_STACK (512u * 1024)

static struct {
	bool running;
	bool forgotten;
	pthread_t thread;
	int efd;
	struct event *ev;
	PGcancel *pc;
	cancel_done_fn done;
	void *arg;
	int sent;
	char error[256];
} canceller = { .efd = -1 };

/* The thread: PQcancel, then wake the loop. */
static void *
cancel_thread(void *unused)
{
	UNUSED(unused);
	uint64_t one = 1;
	canceller.sent = PQcancel(canceller.pc, canceller.error, sizeof canceller.error);
	while (write(canceller.efd, &one, sizeof one) < 0 && errno == EINTR)
		;
	return NULL;
}

/* The loop's side: the thread finished. */
static void
cancel_finished(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(what);
	UNUSED(arg);
	uint64_t v;
	while (read(fd, &v, sizeof v) < 0 && errno == EINTR)
		;
	if (!canceller.running)
		return;
	pthread_join(canceller.thread, NULL);
	canceller.running = false;
	if (canceller.forgotten)
		return;
	canceller.done(canceller.sent == 1, canceller.sent == 1 ? NULL : canceller.error, canceller.arg);
}

int
cancel_start(struct event_base *base, PGcancel *pc, cancel_done_fn done, void *arg)
{
	if (canceller.running || pc == NULL)
		return -1;
	if (canceller.efd < 0) {
		canceller.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (canceller.efd < 0) {
			log_warn("cancel: eventfd: %s", strerror(errno));
			return -1;
		}
		canceller.ev = event_new(base, canceller.efd, EV_READ | EV_PERSIST, cancel_finished, NULL);
		event_add(canceller.ev, NULL);
	}
	canceller.pc = pc;
	canceller.done = done;
	canceller.arg = arg;
	canceller.sent = 0;
	canceller.error[0] = '\0';
	canceller.forgotten = false;

	pthread_attr_t at;
	sigset_t all, old;
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, CANCEL_STACK);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&canceller.thread, &at, cancel_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&at);
	if (r != 0) {
		log_warn("cancel: cannot start a thread: %s", strerror(r));
		return -1;
	}
	canceller.running = true;
	return 0;
}

/* Has the cancel thread started? */
bool
cancel_running(void)
{
	return canceller.running;
}

void
cancel_forget(void)
{
	canceller.forgotten = true;
	if (canceller.ev && !canceller.running) {
		event_free(canceller.ev);
		canceller.ev = NULL;
		close(canceller.efd);
		canceller.efd = -1;
	}
}

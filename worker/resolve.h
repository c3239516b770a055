/*
 * resolve.h — host names to addresses without blocking the worker's loop.
 *
 * libevent's evdns reads /etc/resolv.conf and /etc/hosts and asks the
 * name servers over UDP, all from the loop, so heartbeats are answered
 * while a slow name server thinks. The answer is delivered on a later loop
 * turn, never from inside resolve_start().
 */
#ifndef TUSK_RESOLVE_H
#define TUSK_RESOLVE_H

#include <stddef.h>

struct event_base;
struct tusk_error;
struct resolve;

#define RESOLVE_MAX_ADDRS 8

/*
 * The answer: err 0 and n numeric addresses ("127.0.0.1", "::1"), or err
 * non-zero and a message (libevent's words for the failure).
 */
typedef void (*resolve_cb)(int err, const char *message, char *const *addrs, size_t n,
    void *arg);

/* Start resolving host; NULL (and e set) when the resolver cannot start. */
struct resolve *resolve_start(struct event_base *base, const char *host, resolve_cb cb,
    void *arg, struct tusk_error *e);
/* Stop: the callback is not called; the request is freed on a later turn. */
void resolve_cancel(struct resolve *r);

#endif

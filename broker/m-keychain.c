/*
 * m-keychain.c — check_keychain_available and get_keychain_status.
 *
 * Both answer from one probe of the Secret Service (keychain.c), shared by
 * every request that arrives while it runs and reused for a few seconds,
 * so a frontend polling it costs the keychain nothing. The probe never
 * prompts and is bounded (a hung service answers "unavailable" within
 * 1.5 s, then at once while the broker backs off from it).
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "keychain.h"
#include "log.h"
#include "util.h"

#define PROBE_FRESH_MS 5000

struct waiter {
	struct request *req;
	bool detailed;
};

static struct {
	bool inflight;
	bool known;
	int64_t at;
	int status;
	struct tusk_error err;
	struct waiter *waiters;
	size_t nwaiters;
} P;

/* Answer one request from the probe's result. */
static void
answer(struct request *req, bool detailed)
{
	bool ok = P.status == KC_OK;
	msgpack_packer *pk = req_result(req);
	if (!detailed) {
		if (ok)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		return;
	}
	char ts[40];
	iso8601_utc(P.at, ts, sizeof ts);
	msgpack_pack_map(pk, 4);
	mp_pack_key(pk, "available");
	if (ok)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	mp_pack_key(pk, "message");
	mp_pack_cstr(pk, ok ? "the Secret Service is running and its default keyring is unlocked" :
	    P.err.message);
	mp_pack_key(pk, "hint");
	mp_pack_cstr(pk, ok ? NULL : P.err.hint);
	mp_pack_key(pk, "checked_at");
	mp_pack_cstr(pk, ts);
}

/* The probe finished: remember, answer everyone waiting. */
static void
probe_done(int status, char *secret, const struct tusk_error *e, void *arg)
{
	UNUSED(arg);
	secret_free(secret);
	P.inflight = false;
	P.known = true;
	P.at = wall_ms();
	P.status = status;
	terr_clear(&P.err);
	if (e)
		terr_copy(&P.err, e);
	log_debug("keychain probe: %s", status == KC_OK ? "available" : e && e->message ? e->message : "unavailable");
	struct waiter *w = P.waiters;
	size_t n = P.nwaiters;
	P.waiters = NULL;
	P.nwaiters = 0;
	for (size_t i = 0; i < n; i++) {
		answer(w[i].req, w[i].detailed);
		req_free(w[i].req);
	}
	free(w);
}

/* Answer now from a fresh result, or wait for a probe. */
static int
keychain_question(struct request *req, bool detailed)
{
	if (P.known && !P.inflight && wall_ms() - P.at < PROBE_FRESH_MS) {
		answer(req, detailed);
		return H_DONE;
	}
	P.waiters = xrealloc(P.waiters, (P.nwaiters + 1) * sizeof *P.waiters);
	P.waiters[P.nwaiters].req = req;
	P.waiters[P.nwaiters].detailed = detailed;
	P.nwaiters++;
	if (!P.inflight) {
		P.inflight = true;
		keychain_probe(probe_done, NULL);
	}
	return H_ASYNC;
}

/* Forget the cached answer (after a store or lookup failed or worked). */
void
keychain_status_stale(void)
{
	if (!P.inflight)
		P.known = false;
}

/* check_keychain_available */
int
h_check_keychain_available(struct request *req, const struct params *p, struct tusk_error *e)
{
	UNUSED(p);
	UNUSED(e);
	return keychain_question(req, false);
}

/* get_keychain_status */
int
h_get_keychain_status(struct request *req, const struct params *p, struct tusk_error *e)
{
	UNUSED(p);
	UNUSED(e);
	return keychain_question(req, true);
}

/* At shutdown: the keychain answered everyone already; drop the cache. */
void
keychain_status_free(void)
{
	terr_clear(&P.err);
	free(P.waiters);
	P.waiters = NULL;
	P.nwaiters = 0;
}

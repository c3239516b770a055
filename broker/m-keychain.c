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
} kstatus;

/* Answer one request from the probe's result. */
static void
answer(struct request *req, bool detailed)
{
	bool ok = kstatus.status == KC_OK;
	msgpack_packer *pk = req_result(req);
	if (!detailed) {
		if (ok)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		return;
	}
	char ts[40];
	iso8601_utc(kstatus.at, ts, sizeof ts);
	msgpack_pack_map(pk, 4);
	mp_pack_key(pk, "available");
	if (ok)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	mp_pack_key(pk, "message");
	mp_pack_cstr(pk, ok ? "the Secret Service is running and its default keyring is unlocked" :
	    kstatus.err.message);
	mp_pack_key(pk, "hint");
	mp_pack_cstr(pk, ok ? NULL : kstatus.err.hint);
	mp_pack_key(pk, "checked_at");
	mp_pack_cstr(pk, ts);
}

/* The probe finished: remember, answer everyone waiting. */
static void
probe_done(int status, char *secret, const struct tusk_error *e, void *arg)
{
	UNUSED(arg);
	secret_free(secret);
	kstatus.inflight = false;
	kstatus.known = true;
	kstatus.at = wall_ms();
	kstatus.status = status;
	terr_clear(&kstatus.err);
	if (e)
		terr_copy(&kstatus.err, e);
	log_debug("keychain probe: %s", status == KC_OK ? "available" : e && e->message ? e->message : "unavailable");
	struct waiter *w = kstatus.waiters;
	size_t n = kstatus.nwaiters;
	kstatus.waiters = NULL;
	kstatus.nwaiters = 0;
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
	if (kstatus.known && !kstatus.inflight && wall_ms() - kstatus.at < PROBE_FRESH_MS) {
		answer(req, detailed);
		return H_DONE;
	}
	kstatus.waiters = xrealloc(kstatus.waiters, (kstatus.nwaiters + 1) * sizeof *kstatus.waiters);
	kstatus.waiters[kstatus.nwaiters].req = req;
	kstatus.waiters[kstatus.nwaiters].detailed = detailed;
	kstatus.nwaiters++;
	if (!kstatus.inflight) {
		kstatus.inflight = true;
		keychain_probe(probe_done, NULL);
	}
	return H_ASYNC;
}

/* Forget the cached answer (after a store or lookup failed or worked). */
void
keychain_status_stale(void)
{
	if (!kstatus.inflight)
		kstatus.known = false;
}

/* check_keychain_available */
static int
h_check_keychain_available(struct request *req, const struct params *p, struct tusk_error *e)
{
	UNUSED(p);
	UNUSED(e);
	return keychain_question(req, false);
}

const struct tusk_method m_check_keychain_available = {
	.name = M_CHECK_KEYCHAIN_AVAILABLE,
	.params = params_none,
	.result = "bool",
	.flags = MF_READ_ONLY,
	.doc = "Is the OS keychain (Secret Service) running and unlocked? Never prompts.",
	.handler = h_check_keychain_available,
};

/* get_keychain_status */
static int
h_get_keychain_status(struct request *req, const struct params *p, struct tusk_error *e)
{
	UNUSED(p);
	UNUSED(e);
	return keychain_question(req, true);
}

const struct tusk_method m_get_keychain_status = {
	.name = M_GET_KEYCHAIN_STATUS,
	.params = params_none,
	.result = "{available: bool, message: str | nil, hint: str | nil, checked_at: str | nil}",
	.flags = MF_READ_ONLY,
	.doc = "The same, with why it is not available and what to do.",
	.handler = h_get_keychain_status,
};

/* At shutdown: the keychain answered everyone already; drop the cache. */
void
keychain_status_free(void)
{
	terr_clear(&kstatus.err);
	free(kstatus.waiters);
	kstatus.waiters = NULL;
	kstatus.nwaiters = 0;
}

/* The keychain's answer about one stored password. */
static void
has_stored_done(int status, char *secret, const struct tusk_error *e, void *arg)
{
	struct request *req = arg;
	UNUSED(e);
	secret_free(secret);
	msgpack_packer *pk = req_result(req);
	if (status == KC_OK)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk); /* not stored, or the keychain failed */
	req_free(req);
}

static const struct tusk_param p_has_stored_password[] = {
	{ "connection_id", TT_STR, 0, "a saved connection's id" , NULL },
	PARAMS_END,
};

/* has_stored_password {connection_id} */
static int
h_has_stored_password(struct request *req, const struct params *p, struct tusk_error *e)
{
	char *id = params_strdup(p, "connection_id");
	if (!uuid_valid(id, strlen(id))) {
		terr_set(e, TE_VALIDATION, "connection_id: '%.64s' is not a saved connection's id", id);
		terr_hint(e, "list_connections lists the saved connections and their ids");
		free(id);
		return -1;
	}
	keychain_lookup(id, SECRET_DB, has_stored_done, req);
	free(id);
	return H_ASYNC;
}

const struct tusk_method m_has_stored_password = {
	.name = M_HAS_STORED_PASSWORD,
	.params = p_has_stored_password,
	.result = "bool",
	.flags = MF_READ_ONLY,
	.doc = "Is the database password of this saved connection in the keychain? False on any keychain error.",
	.handler = h_has_stored_password,
};

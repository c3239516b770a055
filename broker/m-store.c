/*
 * m-store.c — methods on the local store: saved connections
 * (list_connections, get_connection, save_connection, delete_connection),
 * preferences (get_preference, set_preference, list_preferences), and the
 * storage's health (check_database_health, dismiss_storage_notice).
 *
 * Passwords given to save_connection never reach the store: they go to the
 * secrets layer (secrets.c), which answers later; the reply waits for it and
 * carries its warnings.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "store.h"
#include "util.h"

/* --- saved connections --------------------------------------------------------- */

/* list_connections */
static int
h_list_connections(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct tusk_config *v;
	size_t n;
	UNUSED(p);
	if (store_connections_list(tuskd.store, &v, &n, e) < 0)
		return -1;
	msgpack_packer *pk = req_result(req);
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++)
		config_pack(pk, &v[i]);
	store_configs_free(v, n);
	return H_DONE;
}

const struct tusk_method m_list_connections = {
	.name = M_LIST_CONNECTIONS,
	.params = params_none,
	.result = "[@config]",
	.flags = MF_READ_ONLY,
	.doc = "The saved connections, ordered by name.",
	.handler = h_list_connections,
};

static const struct tusk_param p_get_connection[] = {
	{ "id", TT_STR, 0, "a saved connection's id" , NULL },
	PARAMS_END,
};

/* get_connection {id} */
static int
h_get_connection(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct tusk_config c;
	char *id = params_strdup(p, "id");
	int r = store_connection_get(tuskd.store, id, &c, e);
	free(id);
	if (r < 0)
		return -1;
	if (r == 0) {
		req_nil(req);
		return H_DONE;
	}
	config_pack(req_result(req), &c);
	config_free(&c);
	return H_DONE;
}

const struct tusk_method m_get_connection = {
	.name = M_GET_CONNECTION,
	.params = p_get_connection,
	.result = "@config | nil",
	.flags = MF_READ_ONLY,
	.doc = "One saved connection; nil for an unknown id.",
	.handler = h_get_connection,
};

/* The config a request names by its saved id (connect, test_connection). */
int
conn_saved_load(const char *id, struct tusk_config *cfg, struct tusk_error *e)
{
	int r = store_connection_get(tuskd.store, id, cfg, e);
	if (r < 0)
		return -1;
	if (r == 0) {
		terr_set(e, TE_VALIDATION, "id: no saved connection '%.64s'", id);
		terr_hint(e, "list_connections lists the saved ones (`tuskctl connections list`)");
		return -1;
	}
	return 0;
}

#define SAVE_MAX_WARNINGS 4

/* A save_connection waiting for the secrets layer. */
struct save_ctx {
	struct request *req;
	struct tusk_config cfg;
	struct tusk_secrets sec;
	int step; /* the next enum secret_kind to hand over */
	char *warn_msg[SAVE_MAX_WARNINGS];
	char *warn_hint[SAVE_MAX_WARNINGS];
	size_t nwarn;
};

static void save_next(struct save_ctx *x);

/* Note a warning for the reply. */
static void
save_warn(struct save_ctx *x, char *msg, const char *hint)
{
	if (x->nwarn == SAVE_MAX_WARNINGS) {
		free(msg);
		return;
	}
	x->warn_msg[x->nwarn] = msg;
	x->warn_hint[x->nwarn] = hint ? xstrdup(hint) : NULL;
	x->nwarn++;
}

/* The secrets layer answered one step. */
static void
save_secret_done(const struct tusk_error *e, const char *warning, void *arg)
{
	struct save_ctx *x = arg;
	if (e) {
		save_warn(x, xasprintf("the connection was saved, but %s was not: %s",
				 secret_kind_what((enum secret_kind)x->step), e->message),
		    e->hint);
	} else if (warning) {
		save_warn(x, xstrdup(warning), secrets_session_hint());
	}
	x->step++;
	save_next(x);
}

/* Answer {config, warnings?} and free the context. */
static void
save_answer(struct save_ctx *x)
{
	msgpack_packer *pk = req_result(x->req);
	msgpack_pack_map(pk, x->nwarn ? 2 : 1);
	mp_pack_key(pk, "config");
	config_pack(pk, &x->cfg);
	if (x->nwarn) {
		mp_pack_key(pk, "warnings");
		msgpack_pack_array(pk, x->nwarn);
		for (size_t i = 0; i < x->nwarn; i++) {
			msgpack_pack_map(pk, 2);
			mp_pack_key(pk, "message");
			mp_pack_cstr(pk, x->warn_msg[i]);
			mp_pack_key(pk, "hint");
			mp_pack_cstr(pk, x->warn_hint[i]);
			free(x->warn_msg[i]);
			free(x->warn_hint[i]);
		}
	}
	req_free(x->req);
	config_free(&x->cfg);
	secrets_free(&x->sec);
	free(x);
}

/* Hand the next given secret to the secrets layer, or answer. */
static void
save_next(struct save_ctx *x)
{
	for (; x->step < SECRET__COUNT; x->step++) {
		const char *v = *secret_slot(&x->sec, (enum secret_kind)x->step);
		if (v == NULL)
			continue;
		if (*v == '\0')
			secret_delete(x->cfg.id, (enum secret_kind)x->step, save_secret_done, x);
		else
			secret_store(x->cfg.id, (enum secret_kind)x->step, v, save_secret_done, x);
		return;
	}
	save_answer(x);
}

/* Trim blanks around a string in place. */
static void
trim(char *s)
{
	size_t n = strlen(s), a = 0;
	while (a < n && isspace((unsigned char)s[a]))
		a++;
	while (n > a && isspace((unsigned char)s[n - 1]))
		n--;
	memmove(s, s + a, n - a);
	s[n - a] = '\0';
}

/* An SSH secret needs a tunnel that uses it. */
static int
ssh_secret_check(const struct tusk_config *c, const struct params *p, struct tusk_error *e)
{
	const char *auth = c->ssh ? c->ssh->auth_type : NULL;
	if (params_has(p, "ssh_password") && (auth == NULL || strcmp(auth, "password") != 0)) {
		terr_set(e, TE_VALIDATION, "ssh_password: the connection has no SSH tunnel with password authentication");
		terr_hint(e, "set ssh_tunnel.auth_method.type to password, or leave ssh_password out");
		return -1;
	}
	if (params_has(p, "ssh_key_passphrase") && (auth == NULL || strcmp(auth, "key_file") != 0)) {
		terr_set(e, TE_VALIDATION, "ssh_key_passphrase: the connection has no SSH tunnel with a key file");
		terr_hint(e, "set ssh_tunnel.auth_method.type to key_file, or leave ssh_key_passphrase out");
		return -1;
	}
	return 0;
}

static const struct tusk_param p_save_connection[] = {
	{ "config", TT_MAP, 0, "the connection config; with a known id it updates that connection", "@config_input" },
	{ "password", TT_STR, P_OPT, "database password to keep in the keychain (\"\" forgets it)" , NULL },
	{ "ssh_password", TT_STR, P_OPT, "SSH password to keep (\"\" forgets it)" , NULL },
	{ "ssh_key_passphrase", TT_STR, P_OPT, "SSH key passphrase to keep (\"\" forgets it)" , NULL },
	{ "ssl_key_passphrase", TT_STR, P_OPT, "TLS client key passphrase to keep (\"\" forgets it)" , NULL },
	PARAMS_END,
};

/* save_connection {config, password?, ssh_password?, ssh_key_passphrase?, ssl_key_passphrase?} */
static int
h_save_connection(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct tusk_config cfg;
	bool created;
	if (config_parse(params_get(p, "config"), &cfg, e) < 0)
		return -1;
	if (cfg.name)
		trim(cfg.name);
	if (config_validate(&cfg, CONFIG_NEED_NAME | CONFIG_KEY_LATER, e) < 0 ||
	    ssh_secret_check(&cfg, p, e) < 0 ||
	    store_connection_save(tuskd.store, &cfg, &created, e) < 0) {
		config_free(&cfg);
		return -1;
	}
	log_info("%s saved connection %s (%s)", created ? "created" : "updated", cfg.name, cfg.id);
	struct conn *open = created ? NULL : conn_find(cfg.id);
	if (open)
		conn_rename(open, cfg.name);
	struct save_ctx *x = xcalloc(1, sizeof *x);
	x->req = req;
	x->cfg = cfg;
	/* a key file that cannot be read now may be on a drive not mounted yet:
	 * saved, with a warning; connect and test_connection refuse it */
	struct tusk_error ke = TUSK_ERROR_INIT;
	if (config_key_check(&x->cfg, &ke) < 0)
		save_warn(x, xasprintf("%s (saved anyway; connecting needs the file)", ke.message),
		    "check the path, or connect once the drive that holds the key is mounted");
	terr_clear(&ke);
	x->sec.password = params_strdup(p, "password");
	x->sec.ssh_password = params_strdup(p, "ssh_password");
	x->sec.ssh_key_passphrase = params_strdup(p, "ssh_key_passphrase");
	x->sec.ssl_key_passphrase = params_strdup(p, "ssl_key_passphrase");
	if (x->sec.password == NULL && x->sec.ssh_password == NULL &&
	    x->sec.ssh_key_passphrase == NULL && x->sec.ssl_key_passphrase == NULL) {
		save_answer(x); /* answers and frees the request */
		return H_ASYNC;
	}
	save_next(x);
	return H_ASYNC;
}

const struct tusk_method m_save_connection = {
	.name = M_SAVE_CONNECTION,
	.params = p_save_connection,
	.result = "{config: @config, warnings?: [@warning]}",
	.flags = 0,
	.doc = "Create or update a saved connection; its passwords go to the keychain, "
	    "never to the database.",
	.handler = h_save_connection,
};

/* A delete_connection waiting for the secrets layer. */
struct delete_ctx {
	struct request *req;
	char *open_name; /* the connection is open: its name, for the warning */
};

/* The secrets of a deleted connection are gone (or could not be): answer
 * {warnings}. */
static void
delete_secrets_done(const struct tusk_error *e, const char *warning, void *arg)
{
	struct delete_ctx *x = arg;
	UNUSED(warning);
	if (e) {
		struct tusk_error err = TUSK_ERROR_INIT;
		terr_set(&err, e->kind, "the connection was deleted, but its passwords could not be removed: %s",
		    e->message);
		if (e->hint)
			terr_hint(&err, "%s", e->hint);
		req_error(x->req, &err);
		terr_clear(&err);
	} else {
		msgpack_packer *pk = req_result(x->req);
		msgpack_pack_map(pk, 1);
		mp_pack_key(pk, "warnings");
		msgpack_pack_array(pk, x->open_name ? 1 : 0);
		if (x->open_name) {
			char *msg = xasprintf("'%s' is still open: its session goes on, unsaved, "
			    "until it is disconnected", x->open_name);
			MP_PACK_FIELDS(pk, MPF_STR("message", msg),
			    MPF_STR("hint", "disconnect it to end the session; save it again to keep it"));
			free(msg);
		}
	}
	req_free(x->req);
	free(x->open_name);
	free(x);
}

static const struct tusk_param p_delete_connection[] = {
	{ "id", TT_STR, 0, "a saved connection's id" , NULL },
	PARAMS_END,
};

/* delete_connection {id} */
static int
h_delete_connection(struct request *req, const struct params *p, struct tusk_error *e)
{
	char *id = params_strdup(p, "id");
	int r = store_connection_delete(tuskd.store, id, e);
	if (r == 0) {
		terr_set(e, TE_VALIDATION, "id: no saved connection '%.64s'", id);
		terr_hint(e, "list_connections lists the saved ones");
	}
	if (r <= 0) {
		free(id);
		return -1;
	}
	struct delete_ctx *x = xcalloc(1, sizeof *x);
	x->req = req;
	const struct conn *open = conn_find(id);
	if (open && open->state != CS_CLOSING) {
		x->open_name = xstrdup(open->cfg.name);
		log_info("deleted saved connection %s; its open session goes on", id);
	} else {
		log_info("deleted saved connection %s", id);
	}
	secret_delete_all(id, delete_secrets_done, x);
	free(id);
	return H_ASYNC;
}

const struct tusk_method m_delete_connection = {
	.name = M_DELETE_CONNECTION,
	.params = p_delete_connection,
	.result = "{warnings: [@warning]}",
	.flags = 0,
	.doc = "Delete a saved connection and its stored passwords; an open session of it stays "
	    "open, unsaved, and the answer warns about it.",
	.handler = h_delete_connection,
};

/* --- preferences ----------------------------------------------------------- */

/* Pack a stored value (checked when it was read) as it is. */
static void
pack_stored(msgpack_packer *pk, const struct store_pref *pr)
{
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, pr->value, pr->len, NULL) == MSGPACK_UNPACK_SUCCESS)
		msgpack_pack_object(pk, u.data);
	else
		msgpack_pack_nil(pk);
	msgpack_unpacked_destroy(&u);
}

static const struct tusk_param p_get_preference[] = {
	{ "key", TT_STR, 0, "preference name (1-256 bytes)" , NULL },
	PARAMS_END,
};

/* get_preference {key} */
static int
h_get_preference(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct store_pref pr;
	char *key = params_strdup(p, "key");
	int r = store_preference_key_check(key, e) < 0 ? -1 : store_preference_get(tuskd.store, key, &pr, e);
	free(key);
	if (r < 0)
		return -1;
	if (r == 0) {
		req_nil(req);
		return H_DONE;
	}
	pack_stored(req_result(req), &pr);
	free(pr.key);
	free(pr.value);
	return H_DONE;
}

const struct tusk_method m_get_preference = {
	.name = M_GET_PREFERENCE,
	.params = p_get_preference,
	.result = "any",
	.flags = MF_READ_ONLY,
	.doc = "A preference's value, exactly as it was set.",
	.handler = h_get_preference,
};

static const struct tusk_param p_set_preference[] = {
	{ "key", TT_STR, 0, "preference name (1-256 bytes)" , NULL },
	{ "value", TT_ANY, 0, "any msgpack value, at most 1 MiB encoded (nil included)" , NULL },
	PARAMS_END,
};

/* set_preference {key, value} */
static int
h_set_preference(struct request *req, const struct params *p, struct tusk_error *e)
{
	char *key = params_strdup(p, "key");
	const msgpack_object *v = params_get(p, "value");
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int r = -1;
	msgpack_sbuffer_init(&sb);
	if (store_preference_key_check(key, e) < 0)
		goto out;
	if (settings_is_key(key) && settings_check_preference(key, v, e) < 0)
		goto out;
	if (history_is_key(key) && history_check_preference(key, v, e) < 0)
		goto out;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, *v);
	if (store_preference_set(tuskd.store, key, sb.data, sb.size, e) < 0)
		goto out;
	if (history_is_key(key))
		history_preference_set(key, v);
	log_debug("preference %s set (%zu bytes)", key, sb.size);
	req_nil(req);
	r = H_DONE;
out:
	msgpack_sbuffer_destroy(&sb);
	free(key);
	return r;
}

const struct tusk_method m_set_preference = {
	.name = M_SET_PREFERENCE,
	.params = p_set_preference,
	.result = "nil",
	.flags = 0,
	.doc = "Keep a preference (broker.* keys are the broker's settings, read at start).",
	.handler = h_set_preference,
};

/* list_preferences */
static int
h_list_preferences(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct store_pref *v;
	size_t n;
	UNUSED(p);
	if (store_preferences_list(tuskd.store, &v, &n, e) < 0)
		return -1;
	msgpack_packer *pk = req_result(req);
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++) {
		char ts[40];
		msgpack_pack_map(pk, 3);
		mp_pack_key(pk, "key");
		mp_pack_cstr(pk, v[i].key);
		mp_pack_key(pk, "value");
		pack_stored(pk, &v[i]);
		mp_pack_key(pk, "updated_at");
		iso8601_utc(v[i].updated_ms, ts, sizeof ts);
		mp_pack_cstr(pk, ts);
	}
	store_prefs_free(v, n);
	return H_DONE;
}

const struct tusk_method m_list_preferences = {
	.name = M_LIST_PREFERENCES,
	.params = params_none,
	.result = "[{key: str, value: any, updated_at: str}]",
	.flags = MF_READ_ONLY,
	.doc = "Every preference, ordered by key.",
	.handler = h_list_preferences,
};

/* --- health ---------------------------------------------------------------- */

/* Pack a list of strings. */
static void
pack_strings(msgpack_packer *pk, char *const *v, size_t n)
{
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++)
		mp_pack_cstr(pk, v[i]);
}

/* The storage notice as its wire map, or nil. */
void
store_notice_pack(msgpack_packer *pk, const struct store_notice *n)
{
	char ts[40];
	if (n == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	iso8601_utc(n->at_ms, ts, sizeof ts);
	msgpack_pack_map(pk, 8);
	mp_pack_key(pk, "at");
	mp_pack_cstr(pk, ts);
	mp_pack_key(pk, "action");
	mp_pack_cstr(pk, n->action);
	mp_pack_key(pk, "message");
	mp_pack_cstr(pk, n->message);
	mp_pack_key(pk, "hint");
	mp_pack_cstr(pk, "the damaged file is kept as it was and Tusk never removes it; "
			 "dismiss this notice with dismiss_storage_notice (`tuskctl health --dismiss`)");
	mp_pack_key(pk, "errors");
	pack_strings(pk, n->errors, n->nerrors);
	mp_pack_key(pk, "backup_path");
	mp_pack_cstr(pk, n->backup_path);
	mp_pack_key(pk, "salvaged_rows");
	msgpack_pack_int64(pk, n->salvaged_rows);
	mp_pack_key(pk, "lost_rows");
	msgpack_pack_int64(pk, n->lost_rows);
}

/* check_database_health */
static int
h_check_database_health(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct store_health h;
	UNUSED(p);
	/* a repair may replace the file under the history's connection */
	history_detach();
	int r = store_check(tuskd.store, &h, e);
	history_attach(tuskd.store);
	if (r < 0)
		return -1;
	const struct store_notice *n = store_notice_get(tuskd.store);
	msgpack_packer *pk = req_result(req);
	msgpack_pack_map(pk, 7);
	mp_pack_key(pk, "is_healthy");
	if (h.healthy)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	mp_pack_key(pk, "errors");
	pack_strings(pk, h.errors, h.nerrors);
	mp_pack_key(pk, "path");
	mp_pack_cstr(pk, store_path(tuskd.store));
	mp_pack_key(pk, "backup_path");
	mp_pack_cstr(pk, n ? n->backup_path : NULL);
	mp_pack_key(pk, "salvaged_rows");
	if (n)
		msgpack_pack_int64(pk, n->salvaged_rows);
	else
		msgpack_pack_nil(pk);
	mp_pack_key(pk, "lost_rows");
	if (n)
		msgpack_pack_int64(pk, n->lost_rows);
	else
		msgpack_pack_nil(pk);
	mp_pack_key(pk, "notice");
	store_notice_pack(pk, n);
	store_health_free(&h);
	return H_DONE;
}

const struct tusk_method m_check_database_health = {
	.name = M_CHECK_DATABASE_HEALTH,
	.params = params_none,
	.result = "{is_healthy: bool, errors: [str], path: str, backup_path: str | nil, "
	    "salvaged_rows: int | nil, lost_rows: int | nil, notice: @storage_notice | nil}",
	.flags = 0,
	.doc = "Run the full integrity check of the local database; damage found is repaired at once (a copy of the damaged file is kept).",
	.handler = h_check_database_health,
};

/* dismiss_storage_notice */
static int
h_dismiss_storage_notice(struct request *req, const struct params *p, struct tusk_error *e)
{
	UNUSED(p);
	int r = store_notice_dismiss(tuskd.store, e);
	if (r < 0)
		return -1;
	if (r)
		log_info("storage notice dismissed");
	msgpack_packer *pk = req_result(req);
	msgpack_pack_map(pk, 1);
	mp_pack_key(pk, "dismissed");
	if (r)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	return H_DONE;
}

const struct tusk_method m_dismiss_storage_notice = {
	.name = M_DISMISS_STORAGE_NOTICE,
	.params = params_none,
	.result = "{dismissed: bool}",
	.flags = 0,
	.doc = "The user has read the storage notice: stop showing it.",
	.handler = h_dismiss_storage_notice,
};

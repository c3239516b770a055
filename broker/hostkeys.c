/*
 * hostkeys.c — SSH host keys: where they are kept, and trust_host_key.
 *
 * Workers verify an SSH server's key against two files they may read:
 * Tusk's own known_hosts in the data directory (which only the broker
 * writes) and the user's ~/.ssh/known_hosts (never written). When a key is
 * unknown, the worker tells us the key (W_HOST_KEY) just before its connect
 * fails; we keep that offer for a while under the connection id the error
 * names, and trust_host_key {connection_id, fingerprint} appends exactly
 * that key to Tusk's file when the fingerprint is the one shown. A changed
 * key is never offered: the worker refuses it, and only editing the file
 * gets past that.
 *
 * A worker is sandboxed but not trusted: the line we write is rebuilt here
 * from the connection's own configuration (the name) and the key blob, whose
 * SHA256 must be the fingerprint the user confirmed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "broker.h"
#include "log.h"
#include "util.h"

#define PENDING_MAX 32
#define PENDING_TTL_MS (15 * 60 * 1000)
#define KEY_MAX 16384 /* base64 of a public key; RSA 16384 bits fits */

/* What a worker reported. */
struct host_key_offer {
	char *host;
	int port;
	char *key_type;
	char *fingerprint;
	char *blob; /* base64, as in known_hosts */
};

/* An offer waiting for trust_host_key. */
struct pending {
	char conn_id[UUID_STR_LEN];
	char *name; /* "[host]:port", or "host" for port 22 */
	struct host_key_offer *k;
	int64_t expires_ms;
};

static struct pending P[PENDING_MAX];
static char *kh_path; /* Tusk's known_hosts */

/* Free an offer. */
void
host_key_offer_free(struct host_key_offer *k)
{
	if (k == NULL)
		return;
	free(k->host);
	free(k->key_type);
	free(k->fingerprint);
	free(k->blob);
	free(k);
}

/* How known_hosts names a server (host names in lower case, as ssh writes them). */
static char *
kh_name(const char *host, int port)
{
	char *lower = g_ascii_strdown(host, -1);
	char *r = port == 22 ? xstrdup(lower) : xasprintf("[%s]:%d", lower, port);
	g_free(lower);
	return r;
}

const char *
hostkeys_file(void)
{
	if (kh_path == NULL && tuskd.paths.data_dir)
		kh_path = xasprintf("%s/known_hosts", tuskd.paths.data_dir);
	return kh_path;
}

char *
hostkeys_user_file(void)
{
	const char *home = getenv("HOME");
	if (home == NULL || *home != '/') {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	return home ? xasprintf("%s/.ssh/known_hosts", home) : NULL;
}

/* A short printable token (key type, fingerprint): no spaces, no controls. */
static bool
token_ok(const msgpack_object *o, size_t max)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 || o->via.str.size > max)
		return false;
	for (uint32_t i = 0; i < o->via.str.size; i++) {
		unsigned char c = (unsigned char)o->via.str.ptr[i];
		if (c <= ' ' || c >= 0x7f)
			return false;
	}
	return true;
}

/* SHA256:base64 (unpadded) of a base64 key blob, as OpenSSH prints it; NULL if not base64. */
static char *
blob_fingerprint(const char *b64)
{
	gsize n = 0;
	for (const char *p = b64; *p; p++)
		if (!g_ascii_isalnum(*p) && *p != '+' && *p != '/' && *p != '=')
			return NULL;
	guchar *raw = g_base64_decode(b64, &n);
	if (raw == NULL || n == 0) {
		g_free(raw);
		return NULL;
	}
	guint8 digest[32];
	gsize dl = sizeof digest;
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(ck, raw, n);
	g_checksum_get_digest(ck, digest, &dl);
	g_checksum_free(ck);
	g_free(raw);
	gchar *enc = g_base64_encode(digest, dl);
	size_t len = strlen(enc);
	while (len > 0 && enc[len - 1] == '=')
		enc[--len] = '\0';
	char *r = xasprintf("SHA256:%s", enc);
	g_free(enc);
	return r;
}

void
hostkeys_offer(struct worker *w, const struct params *prm)
{
	const msgpack_object *host = params_get(prm, "host"), *type = params_get(prm, "key_type");
	const msgpack_object *fpr = params_get(prm, "fingerprint"), *line = params_get(prm, "line");
	int64_t pn = params_int(prm, "port", 0);
	if (!token_ok(host, 255) || !token_ok(type, 64) || !token_ok(fpr, 128) ||
	    line->via.str.size > KEY_MAX + 512 || pn < 1 || pn > 65535) {
		log_warn("worker %llu sent a malformed host key report", (unsigned long long)w->id);
		return;
	}
	/* the line is "<name> <type> <base64>": keep the blob, check the rest */
	char *l = mo_strdup(line);
	char *save = NULL;
	char *f1 = strtok_r(l, " ", &save), *f2 = strtok_r(NULL, " ", &save);
	char *f3 = strtok_r(NULL, " ", &save);
	char *want = mo_strdup(type);
	char *got_fpr = f3 ? blob_fingerprint(f3) : NULL;
	char *claimed = mo_strdup(fpr);
	if (f1 == NULL || f2 == NULL || f3 == NULL || strcmp(f2, want) != 0 || got_fpr == NULL ||
	    strcmp(got_fpr, claimed) != 0) {
		log_warn("worker %llu sent a host key whose line does not match its fingerprint",
		    (unsigned long long)w->id);
	} else {
		host_key_offer_free(w->host_key);
		w->host_key = xcalloc(1, sizeof *w->host_key);
		w->host_key->host = mo_strdup(host);
		w->host_key->port = (int)pn;
		w->host_key->key_type = want;
		w->host_key->fingerprint = claimed;
		w->host_key->blob = xstrdup(f3);
		want = claimed = NULL;
	}
	free(want);
	free(claimed);
	free(got_fpr);
	free(l);
}

/* Drop an expired or used pending entry. */
static void
pending_clear(struct pending *p)
{
	free(p->name);
	host_key_offer_free(p->k);
	memset(p, 0, sizeof *p);
}

void
hostkeys_pending(struct worker *w, const struct tusk_config *cfg, const char *conn_id,
    struct tusk_error *e)
{
	struct tusk_host_key *hk = e->host_key;
	if (hk == NULL)
		return;
	free(hk->connection_id);
	hk->connection_id = xstrdup(conn_id);
	if (hk->status == NULL || strcmp(hk->status, "unknown") != 0 || w == NULL ||
	    w->host_key == NULL || cfg->ssh == NULL)
		return;
	struct host_key_offer *k = w->host_key;
	/* the offer must be about this connection's SSH server and this key */
	if (strcmp(k->host, cfg->ssh->host) != 0 || k->port != cfg->ssh->port ||
	    hk->fingerprint == NULL || strcmp(k->fingerprint, hk->fingerprint) != 0) {
		log_warn("worker %llu reported a host key for another server; ignoring it",
		    (unsigned long long)w->id);
		return;
	}
	int64_t now = mono_ms();
	struct pending *slot = NULL, *oldest = &P[0];
	for (int i = 0; i < PENDING_MAX; i++) {
		if (P[i].k && P[i].expires_ms < now)
			pending_clear(&P[i]);
		if (P[i].k && strcmp(P[i].conn_id, conn_id) == 0)
			slot = &P[i];
		if (slot == NULL && P[i].k == NULL)
			slot = &P[i];
		if (P[i].expires_ms < oldest->expires_ms)
			oldest = &P[i];
	}
	if (slot == NULL)
		slot = oldest;
	pending_clear(slot);
	snprintf(slot->conn_id, sizeof slot->conn_id, "%s", conn_id);
	slot->name = kh_name(cfg->ssh->host, cfg->ssh->port);
	slot->k = k;
	w->host_key = NULL;
	slot->expires_ms = now + PENDING_TTL_MS;
	log_info("host key of %s offered for trust: %s %s (connection %s)", slot->name, k->key_type,
	    k->fingerprint, conn_id);
}

/* Append one line to Tusk's known_hosts (created 0600). */
static int
kh_append(const char *line, struct tusk_error *e)
{
	const char *path = hostkeys_file();
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		terr_set(e, TE_STORAGE, "cannot open %s: %s", path, strerror(errno));
		terr_hint(e, "check that Tusk's data directory is writable");
		return -1;
	}
	/* a file that does not end with a newline gets one first */
	struct stat st;
	char last = '\n';
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		int rfd = open(path, O_RDONLY | O_CLOEXEC);
		if (rfd >= 0) {
			if (pread(rfd, &last, 1, st.st_size - 1) != 1)
				last = '\n';
			close(rfd);
		}
	}
	char *text = xasprintf("%s%s\n", last == '\n' ? "" : "\n", line);
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	int saved = errno;
	free(text);
	if (n != (ssize_t)len || fsync(fd) < 0) {
		if (n == (ssize_t)len)
			saved = errno;
		close(fd);
		terr_set(e, TE_STORAGE, "cannot write %s: %s", path, strerror(saved));
		terr_hint(e, "check the free space and the permissions of Tusk's data directory");
		return -1;
	}
	close(fd);
	return 0;
}

static const struct tusk_param p_trust_host_key[] = {
	{ "connection_id", TT_STR, 0, "the connection_id an unknown-host-key error named" , NULL },
	{ "fingerprint", TT_STR, 0, "the SHA256 fingerprint that error showed (exactly)" , NULL },
	PARAMS_END,
};

/* trust_host_key {connection_id, fingerprint} */
static int
h_trust_host_key(struct request *req, const struct params *p, struct tusk_error *e)
{
	char *id = params_strdup(p, "connection_id");
	char *fpr = params_strdup(p, "fingerprint");
	int64_t now = mono_ms();
	struct pending *hit = NULL;
	for (int i = 0; i < PENDING_MAX; i++) {
		if (P[i].k && P[i].expires_ms < now)
			pending_clear(&P[i]);
		if (P[i].k && strcmp(P[i].conn_id, id) == 0)
			hit = &P[i];
	}
	int r = -1;
	if (hit == NULL) {
		terr_set(e, TE_VALIDATION, "connection_id: no unknown SSH host key is waiting for connection '%.64s'",
		    id);
		terr_hint(e, "connect first; an unknown host key fails the connect with the connection_id and fingerprint to trust (offers last %d minutes)",
		    PENDING_TTL_MS / 60000);
	} else if (strcmp(hit->k->fingerprint, fpr) != 0) {
		terr_set(e, TE_VALIDATION, "fingerprint: '%.128s' is not the key %s offered (%s %s)", fpr,
		    hit->name, hit->k->key_type, hit->k->fingerprint);
		terr_hint(e, "give the fingerprint exactly as the failed connect showed it");
	} else {
		char *line = xasprintf("%s %s %s", hit->name, hit->k->key_type, hit->k->blob);
		r = kh_append(line, e);
		free(line);
		if (r == 0) {
			log_info("trusted the host key of %s: %s %s (written to %s)", hit->name,
			    hit->k->key_type, hit->k->fingerprint, hostkeys_file());
			pending_clear(hit);
			req_nil(req);
			r = H_DONE;
		}
	}
	free(id);
	free(fpr);
	return r;
}

const struct tusk_method m_trust_host_key = {
	.name = M_TRUST_HOST_KEY,
	.params = p_trust_host_key,
	.result = "nil",
	.flags = 0,
	.doc = "Trust an SSH server's host key a connect just reported as unknown: its line goes to Tusk's known_hosts.",
	.handler = h_trust_host_key,
};

/* Forget the host keys waiting for a decision and the known_hosts path. */
void
hostkeys_free(void)
{
	for (int i = 0; i < PENDING_MAX; i++)
		pending_clear(&P[i]);
	free(kh_path);
	kh_path = NULL;
}

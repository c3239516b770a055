/*
 * cmd-store.c — tuskctl's commands on what the broker keeps: saved
 * connections (connections list|show|add|edit|rm|test), preferences
 * (prefs get|set|list), and the settings of a connection given as a libpq
 * URI and flags (shared with connect).
 *
 * Passwords never come from argv: a prompt on the terminal, or a line of
 * stdin (--password-stdin, then --ssh-secret-stdin). A URI holding a
 * password is refused. JSON values for `prefs set` are read with SQLite's
 * JSON functions.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "config.h"
#include "ctl.h"
#include "json-pack.h"
#include "msg.h"
#include "util.h"

/* --- connection settings from a URI and flags -------------------------------------- */

/* Set a string field (NULL or "" clears it). */
static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v && *v ? xstrdup(v) : NULL;
}

/* A file's path, made absolute (the broker and its workers have another cwd). */
static void
set_path(char **dst, const char *v)
{
	char *cwd = v && *v && v[0] != '/' ? getcwd(NULL, 0) : NULL;
	if (cwd) {
		char *abs = xasprintf("%s/%s", cwd, v);
		set_str(dst, abs);
		free(abs);
		free(cwd);
		return;
	}
	set_str(dst, v);
}

/* The SSH block, created with its defaults when absent. */
static struct tusk_ssh *
ssh_of(struct tusk_config *c)
{
	if (c->ssh == NULL) {
		c->ssh = xcalloc(1, sizeof *c->ssh);
		c->ssh->port = 22;
		c->ssh->auth_type = xstrdup("agent");
	}
	return c->ssh;
}

/* A port number from 1 to 65535, or an error naming what (e.g. "SSH port"). */
static int
port_parse(const char *arg, const char *what, int *port)
{
	long long v;
	if (parse_ll(arg, 1, 65535, &v) < 0) {
		fprintf(stderr, "error: %s '%s' is not between 1 and 65535\n", what, arg);
		return -1;
	}
	*port = (int)v;
	return 0;
}

/* The server, the database, the name and the session's limits: 1 done, 0 not one of
 * them, -1 bad value. */
static int
cfg_option_basic(struct tusk_config *c, int ch, const char *arg)
{
	long long v;
	switch (ch) {
	case 'h': set_str(&c->host, arg); return 1;
	case 'p': return port_parse(arg, "port", &c->port) < 0 ? -1 : 1;
	case 'U': set_str(&c->username, arg); return 1;
	case 'd': set_str(&c->database, arg); return 1;
	case 'n': set_str(&c->name, arg); return 1;
	case 'r': c->read_only = true; return 1;
	case 't':
		if (parse_ll(arg, 0, INT64_MAX, &v) < 0) {
			fprintf(stderr, "error: statement timeout '%s' is not a number of milliseconds\n", arg);
			return -1;
		}
		c->statement_timeout_ms = v;
		return 1;
	case OPT_READ_WRITE: c->read_only = false; return 1;
	case OPT_NO_TIMEOUT: c->statement_timeout_ms = -1; return 1;
	}
	return 0;
}

/* TLS: the mode, the CA and the client's certificate and key: 1 done, 0 not one of them. */
static int
cfg_option_ssl(struct tusk_config *c, int ch, const char *arg)
{
	switch (ch) {
	case 's': set_str(&c->ssl_mode, arg); return 1;
	case 'C': set_path(&c->ssl_ca_cert, arg); return 1;
	case 'E': set_path(&c->ssl_client_cert, arg); return 1;
	case 'K': set_path(&c->ssl_client_key, arg); return 1;
	case OPT_NO_SSL_CA: set_str(&c->ssl_ca_cert, NULL); return 1;
	case OPT_NO_CLIENT_CERT:
		set_str(&c->ssl_client_cert, NULL);
		set_str(&c->ssl_client_key, NULL);
		return 1;
	}
	return 0;
}

/* --ssh USER@HOST[:PORT], as ssh(1) takes it, into the SSH block. */
static int
ssh_target_parse(struct tusk_config *c, const char *arg)
{
	const char *at = strchr(arg, '@');
	if (at == NULL || at == arg || at[1] == '\0') {
		fprintf(stderr, "error: --ssh takes USER@HOST[:PORT], not '%s'\n", arg);
		return -1;
	}
	struct tusk_ssh *s = ssh_of(c);
	free(s->username);
	s->username = xstrndup(arg, (size_t)(at - arg));
	const char *host = at + 1, *colon = strrchr(host, ':');
	if (host[0] == '[') { /* [IPv6]:port */
		const char *close = strchr(host, ']');
		if (close == NULL)
			return fprintf(stderr, "error: --ssh: no ']' in '%s'\n", arg), -1;
		free(s->host);
		s->host = xstrndup(host + 1, (size_t)(close - host - 1));
		colon = close[1] == ':' ? close + 1 : NULL;
	} else {
		if (colon && strchr(host, ':') != colon)
			colon = NULL; /* a bare IPv6 address */
		free(s->host);
		s->host = colon ? xstrndup(host, (size_t)(colon - host)) : xstrdup(host);
	}
	if (colon && port_parse(colon + 1, "--ssh: port", &s->port) < 0)
		return -1;
	return 0;
}

/* The SSH tunnel: its host, port, user and how it authenticates, or none: 1 done, 0 not
 * one of them, -1 bad value. */
static int
cfg_option_ssh(struct tusk_config *c, int ch, const char *arg)
{
	switch (ch) {
	case CFG_SSH_HOST: set_str(&ssh_of(c)->host, arg); return 1;
	case CFG_SSH_PORT: return port_parse(arg, "SSH port", &ssh_of(c)->port) < 0 ? -1 : 1;
	case CFG_SSH_USER: set_str(&ssh_of(c)->username, arg); return 1;
	case CFG_SSH_AUTH: set_str(&ssh_of(c)->auth_type, arg); return 1;
	case CFG_SSH_KEY:
		set_path(&ssh_of(c)->key_path, arg);
		set_str(&c->ssh->auth_type, "key_file");
		return 1;
	case CFG_SSH: return ssh_target_parse(c, arg) < 0 ? -1 : 1;
	case CFG_SSH_AGENT:
		set_str(&ssh_of(c)->auth_type, "agent");
		free(c->ssh->key_path);
		c->ssh->key_path = NULL;
		return 1;
	case OPT_NO_SSH:
		if (c->ssh) {
			free(c->ssh->host);
			free(c->ssh->username);
			free(c->ssh->auth_type);
			free(c->ssh->key_path);
			free(c->ssh);
			c->ssh = NULL;
		}
		return 1;
	}
	return 0;
}

/* Apply one settings flag to a config: the basic, TLS and SSH groups in turn. */
int
cfg_option(struct tusk_config *c, int ch, const char *arg)
{
	int r = cfg_option_basic(c, ch, arg);
	if (r == 0)
		r = cfg_option_ssl(c, ch, arg);
	if (r == 0)
		r = cfg_option_ssh(c, ch, arg);
	return r;
}

/* Apply a libpq URI or conninfo string to a config. */
int
cfg_uri(struct tusk_config *c, const char *uri)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(uri, &err);
	if (opts == NULL) {
		fprintf(stderr, "error: cannot parse '%s': %s", uri, err ? err : "invalid connection string\n");
		PQfreemem(err);
		return -1;
	}
	int r = 0;
	static const struct { const char *kw; int ch; } map[] = {
		{ "host", 'h' }, { "port", 'p' }, { "user", 'U' }, { "dbname", 'd' },
		{ "sslmode", 's' }, { "sslrootcert", 'C' }, { "sslcert", 'E' }, { "sslkey", 'K' },
		{ "application_name", 'n' },
	};
	for (PQconninfoOption *o = opts; o->keyword && r == 0; o++) {
		if (o->val == NULL || *o->val == '\0')
			continue;
		if (strcmp(o->keyword, "password") == 0) {
			fprintf(stderr, "error: the connection string holds a password\n"
					"hint: anyone on this machine can read command lines; use --password-stdin, PGPASSWORD, or the prompt\n");
			r = -1;
			break;
		}
		for (size_t i = 0; i < nitems(map); i++)
			if (strcmp(o->keyword, map[i].kw) == 0 && cfg_option(c, map[i].ch, o->val) < 0)
				r = -1;
	}
	PQconninfoFree(opts);
	return r;
}

/* A URI or conninfo string, rather than a saved connection's name? */
bool
cfg_is_uri(const char *arg)
{
	return strstr(arg, "://") != NULL || strchr(arg, '=') != NULL;
}

/* Fill what a quick or new connection leaves out, as psql would. */
void
cfg_defaults(struct tusk_config *c)
{
	if (c->host == NULL)
		c->host = xstrdup("localhost");
	if (c->username == NULL) {
		const char *u = getenv("USER");
		c->username = xstrdup(u && *u ? u : "postgres");
	}
	if (c->database == NULL)
		c->database = xstrdup(c->username);
	if (c->ssl_mode == NULL)
		c->ssl_mode = xstrdup("prefer");
}

/* --- saved connections ---------------------------------------------------------- */

struct saved_find {
	const char *arg;
	struct tusk_config cfg;
	int matches;
	char *names;
};

/* Match a NAME|ID|ID-prefix against list_connections. */
static void
saved_find_result(const msgpack_object *r, void *arg)
{
	struct saved_find *f = arg;
	struct strbuf names;
	struct tusk_error e = TUSK_ERROR_INIT;
	sb_init(&names);
	if (r->type != MSGPACK_OBJECT_ARRAY)
		return;
	char *want = config_name_fold(f->arg);
	size_t alen = strlen(f->arg);
	for (uint32_t i = 0; i < r->via.array.size; i++) {
		const msgpack_object *o = &r->via.array.ptr[i];
		const msgpack_object *id = mo_map_get(o, "id"), *name = mo_map_get(o, "name");
		if (id == NULL || id->type != MSGPACK_OBJECT_STR || name == NULL ||
		    name->type != MSGPACK_OBJECT_STR)
			continue;
		char *n = mo_strdup(name), *fold = config_name_fold(n);
		sb_addf(&names, "%s%s", names.len ? ", " : "", n);
		bool exact = mo_str_eq(id, f->arg) || strcmp(fold, want) == 0;
		bool prefix = alen >= 4 && id->via.str.size >= alen &&
		    memcmp(id->via.str.ptr, f->arg, alen) == 0;
		free(n);
		free(fold);
		if (!exact && !prefix)
			continue;
		if (exact)
			f->matches = 0; /* an exact match beats prefixes */
		config_free(&f->cfg);
		if (config_parse(o, &f->cfg, &e) < 0) {
			terr_clear(&e);
			continue;
		}
		f->matches++;
		if (exact)
			break;
	}
	free(want);
	f->names = sb_detach(&names);
}

/* Find one saved connection by name, id or id prefix. */
int
saved_resolve(const char *arg, struct tusk_config *ret)
{
	struct saved_find f = { .arg = arg };
	config_init(&f.cfg);
	if (ctl_call(M_LIST_CONNECTIONS, pack_no_params, NULL, saved_find_result, &f, NULL, NULL) != EXIT_OK)
		return -1;
	int r = 0;
	if (f.matches == 1) {
		*ret = f.cfg;
	} else {
		if (f.matches == 0)
			fprintf(stderr, "error: no saved connection matches '%s'\nhint: saved: %s\n", arg,
			    f.names && *f.names ? f.names : "none (tuskctl connections add)");
		else
			fprintf(stderr, "error: '%s' matches several saved connections\nhint: give the name or the whole id\n",
			    arg);
		config_free(&f.cfg);
		r = -1;
	}
	free(f.names);
	return r;
}

/* One server line: user@host:port/db. */
static char *
server_text(const msgpack_object *c)
{
	char *u = NULL, *h = NULL, *d = NULL;
	const msgpack_object *v;
	int64_t port = 0;
	if ((v = mo_map_get(c, "username")) && v->type == MSGPACK_OBJECT_STR)
		u = mo_strdup(v);
	if ((v = mo_map_get(c, "host")) && v->type == MSGPACK_OBJECT_STR)
		h = mo_strdup(v);
	if ((v = mo_map_get(c, "database")) && v->type == MSGPACK_OBJECT_STR)
		d = mo_strdup(v);
	if ((v = mo_map_get(c, "port")))
		mo_int(v, &port);
	char *s = xasprintf("%s@%s:%lld/%s", u ? u : "", h ? h : "", (long long)port, d ? d : "");
	free(u);
	free(h);
	free(d);
	return s;
}

/* connections list: a table, or JSON. */
static void
list_result(const msgpack_object *r, void *arg)
{
	UNUSED(arg);
	if (ctl.json || r->type != MSGPACK_OBJECT_ARRAY) {
		print_object(r);
		return;
	}
	if (r->via.array.size == 0) {
		printf("no saved connections (add one: tuskctl connections add --name NAME postgresql://user@host/db)\n");
		return;
	}
	const char *hdr[] = { "name", "id", "server", "ssl", "ssh", "options" };
	struct table *t = table_new(hdr, 6);
	for (uint32_t i = 0; i < r->via.array.size; i++) {
		const msgpack_object *c = &r->via.array.ptr[i];
		char **cells = xcalloc(6, sizeof *cells);
		cells[0] = mo_map_strdup(c, "name", "");
		cells[1] = mo_map_strdup(c, "id", "");
		cells[2] = server_text(c);
		cells[3] = mo_map_strdup(c, "ssl_mode", "");
		const msgpack_object *ssh = mo_map_get(c, "ssh_tunnel");
		if (ssh && ssh->type == MSGPACK_OBJECT_MAP) {
			char *u = mo_map_strdup(ssh, "username", ""), *h = mo_map_strdup(ssh, "host", "");
			char *a = mo_map_strdup(mo_map_get(ssh, "auth_method"), "type", "");
			int64_t port = 22;
			const msgpack_object *pv = mo_map_get(ssh, "port");
			if (pv)
				mo_int(pv, &port);
			cells[4] = xasprintf("%s@%s:%lld (%s)", u, h, (long long)port, a);
			free(u);
			free(h);
			free(a);
		} else {
			cells[4] = xstrdup("");
		}
		struct strbuf opt;
		sb_init(&opt);
		const msgpack_object *ro = mo_map_get(c, "read_only");
		if (ro && ro->type == MSGPACK_OBJECT_BOOLEAN && ro->via.boolean)
			sb_adds(&opt, "read-only");
		const msgpack_object *to = mo_map_get(c, "statement_timeout_ms");
		int64_t ms;
		if (to && mo_int(to, &ms) == 0)
			sb_addf(&opt, "%stimeout %lld ms", opt.len ? ", " : "", (long long)ms);
		cells[5] = sb_detach(&opt);
		table_add(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
}

/* Pack {config} or {id} with the secrets beside it. */
struct save_args {
	struct tusk_config cfg;
	struct tusk_secrets sec;
	bool by_id; /* connect/test: send {id} instead of the config */
};

/* Params of save_connection, connect or test_connection. */
static void
pack_save(msgpack_packer *pk, void *arg)
{
	struct save_args *a = arg;
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1 + (size_t)ctl_secrets_count(&a->sec));
	if (a->by_id) {
		mp_pack_key(pk, "id");
		mp_pack_cstr(pk, a->cfg.id);
	} else {
		mp_pack_key(pk, "config");
		config_pack(pk, &a->cfg);
	}
	ctl_secrets_pack(pk, &a->sec);
}

/* An answer's warnings ({message, hint}), on stderr. */
static void
warnings_print(const msgpack_object *r)
{
	const msgpack_object *w = mo_map_get(r, "warnings");
	for (uint32_t i = 0; w && w->type == MSGPACK_OBJECT_ARRAY && i < w->via.array.size; i++) {
		char *m = mo_map_strdup(&w->via.array.ptr[i], "message", ""), *h = mo_map_strdup(&w->via.array.ptr[i], "hint", "");
		fprintf(stderr, "warning: %s\n", m);
		if (*h)
			fprintf(stderr, "hint: %s\n", h);
		free(m);
		free(h);
	}
}

/* What was saved, and the warnings on stderr. */
static void
save_result(const msgpack_object *r, void *arg)
{
	struct save_args *a = arg;
	if (ctl.json) {
		print_object(r);
		return;
	}
	const msgpack_object *c = mo_map_get(r, "config");
	char *name = mo_map_strdup(c, "name", ""), *id = mo_map_strdup(c, "id", ""), *server = server_text(c);
	printf("%s: %s (%s) %s\n", a->cfg.id ? "saved" : "added", name, id, server);
	free(name);
	free(id);
	free(server);
	warnings_print(r);
}

/* Where a secret comes from, per the flags. */
enum secret_src { SRC_NONE, SRC_STDIN, SRC_PROMPT, SRC_FORGET };

/* Read a secret as asked (the database's, or the SSH server's); -1 when it
 * was asked for and not given. */
static int
secret_read(enum secret_src src, const char *what, bool ssh, const struct tusk_config *c, char **out)
{
	char prompt[300];
	const char *user = ssh && c->ssh ? c->ssh->username : c->username;
	const char *host = ssh && c->ssh ? c->ssh->host : c->host;
	snprintf(prompt, sizeof prompt, "%s for %s@%s: ", what, user ? user : "", host ? host : "");
	*out = NULL;
	switch (src) {
	case SRC_NONE:
		return 0;
	case SRC_FORGET:
		*out = xstrdup("");
		return 0;
	case SRC_STDIN:
		*out = read_stdin_line();
		break;
	case SRC_PROMPT:
		*out = read_secret(prompt);
		break;
	}
	if (*out == NULL || **out == '\0') {
		fprintf(stderr, "error: no %s given\n", ssh ? "SSH secret" : "password");
		secret_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

#define CFG_SHORTOPTS "h:p:U:d:n:s:C:E:K:rt:"
#define CFG_LONGOPTS \
	CFG_COMMON_LONGOPTS, \
	{ "ssh-host", required_argument, NULL, CFG_SSH_HOST }, \
	{ "ssh-port", required_argument, NULL, CFG_SSH_PORT }, \
	{ "ssh-user", required_argument, NULL, CFG_SSH_USER }, \
	{ "ssh-auth", required_argument, NULL, CFG_SSH_AUTH }

enum { OPT_PW_STDIN = 400, OPT_SSH_STDIN, OPT_SSH_PROMPT, OPT_FORGET_PW, OPT_FORGET_SSH };

/* A flag seen, kept to apply after the URI. */
struct flag {
	int ch;
	char *arg;
};

/*
 * connections add [URI] and connections edit NAME|ID [URI]: the URI, then
 * the flags, over the saved settings (edit) or the defaults (add).
 */
static int
add_or_edit(int argc, char **argv, bool edit)
{
	static const struct option opts[] = {
		CFG_LONGOPTS,
		{ "no-ssh", no_argument, NULL, OPT_NO_SSH },
		{ "no-ssl-ca", no_argument, NULL, OPT_NO_SSL_CA },
		{ "no-client-cert", no_argument, NULL, OPT_NO_CLIENT_CERT },
		{ "read-write", no_argument, NULL, OPT_READ_WRITE },
		{ "no-statement-timeout", no_argument, NULL, OPT_NO_TIMEOUT },
		{ "password-stdin", no_argument, NULL, OPT_PW_STDIN },
		{ "password", no_argument, NULL, 'W' },
		{ "forget-password", no_argument, NULL, OPT_FORGET_PW },
		{ "ssh-secret-stdin", no_argument, NULL, OPT_SSH_STDIN },
		/* the names `connect` uses, for the same thing */
		{ "ssh-password-stdin", no_argument, NULL, OPT_SSH_STDIN },
		{ "ssh-passphrase-stdin", no_argument, NULL, OPT_SSH_STDIN },
		{ "ssh-secret", no_argument, NULL, OPT_SSH_PROMPT },
		{ "forget-ssh-secret", no_argument, NULL, OPT_FORGET_SSH },
		{ NULL, 0, NULL, 0 },
	};
	struct flag *flags = xcalloc((size_t)argc + 1, sizeof *flags);
	size_t nflags = 0;
	enum secret_src pw = SRC_NONE, sshs = SRC_NONE;
	struct save_args a = { 0 };
	int ch, rc = EXIT_USAGE;
	config_init(&a.cfg);
	optind = 0; /* reinitialise: permute, so flags may follow NAME or URI */
	while ((ch = getopt_long(argc, argv, CFG_SHORTOPTS "W", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_PW_STDIN: pw = SRC_STDIN; break;
		case 'W': pw = SRC_PROMPT; break;
		case OPT_FORGET_PW: pw = SRC_FORGET; break;
		case OPT_SSH_STDIN: sshs = SRC_STDIN; break;
		case OPT_SSH_PROMPT: sshs = SRC_PROMPT; break;
		case OPT_FORGET_SSH: sshs = SRC_FORGET; break;
		case '?': goto out;
		default:
			flags[nflags].ch = ch;
			flags[nflags].arg = optarg ? xstrdup(optarg) : NULL;
			nflags++;
		}
	}
	int npos = argc - optind;
	if (edit ? (npos < 1 || npos > 2) : npos > 1)
		goto out;
	const char *uri = npos == (edit ? 2 : 1) ? argv[argc - 1] : NULL;
	if (edit && saved_resolve(argv[optind], &a.cfg) < 0) {
		rc = EXIT_ERR;
		goto out;
	}
	if (uri && cfg_uri(&a.cfg, uri) < 0)
		goto out;
	for (size_t i = 0; i < nflags; i++)
		if (cfg_option(&a.cfg, flags[i].ch, flags[i].arg) < 0)
			goto out;
	if (!edit) {
		if (a.cfg.name == NULL) {
			fprintf(stderr, "error: a saved connection needs a name (--name NAME)\n");
			goto out;
		}
		cfg_defaults(&a.cfg);
	}
	const char *auth = a.cfg.ssh && a.cfg.ssh->auth_type ? a.cfg.ssh->auth_type : "";
	if (sshs != SRC_NONE && strcmp(auth, "password") != 0 && strcmp(auth, "key_file") != 0) {
		fprintf(stderr, "error: --ssh-secret* needs an SSH tunnel with --ssh-auth password or a --ssh-key\n");
		goto out;
	}
	if (secret_read(pw, "Password", false, &a.cfg, &a.sec.password) < 0) {
		rc = EXIT_ERR;
		goto out;
	}
	bool ssh_pw = strcmp(auth, "password") == 0;
	if (secret_read(sshs, ssh_pw ? "SSH password" : "SSH key passphrase", true, &a.cfg,
		ssh_pw ? &a.sec.ssh_password : &a.sec.ssh_key_passphrase) < 0) {
		rc = EXIT_ERR;
		goto out;
	}
	rc = ctl_call(M_SAVE_CONNECTION, pack_save, &a, save_result, &a, NULL, NULL);
out:
	for (size_t i = 0; i < nflags; i++)
		free(flags[i].arg);
	free(flags);
	config_free(&a.cfg);
	secrets_free(&a.sec);
	return rc;
}

/* The saved connection's id is gone now (its open session, if any, is not:
 * the answer warns). */
static void
rm_result(const msgpack_object *r, void *arg)
{
	if (ctl.json) {
		print_object(r);
		return;
	}
	printf("deleted: %s\n", (const char *)arg);
	warnings_print(r);
}

/* Params {id}. */
static void
pack_id(msgpack_packer *pk, void *arg)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	mp_pack_key(pk, "id");
	mp_pack_cstr(pk, arg);
}

/* connections show: the config. */
static void
show_result(const msgpack_object *r, void *arg)
{
	UNUSED(arg);
	print_object(r);
}

/* A test's outcome: a failure is kept (in ctl_last_error, and as the
 * whole answer for --json) until no prompt follows. */
struct test_out {
	struct save_args a;
	bool no_pw;
	bool success;
	msgpack_sbuffer failed; /* the last failed answer, packed */
};

/* Print a success; keep a failure. */
static void
test_result(const msgpack_object *r, void *arg)
{
	struct test_out *t = arg;
	const msgpack_object *ok = mo_map_get(r, "success"), *err = mo_map_get(r, "error");
	t->success = ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean;
	if (!t->success) {
		terr_clear(&ctl_last_error);
		if (err == NULL || terr_unpack(err, &ctl_last_error) < 0)
			terr_set(&ctl_last_error, TE_INTERNAL, "the test failed without saying why");
		t->failed.size = 0;
		msgpack_packer pk;
		msgpack_packer_init(&pk, &t->failed, msgpack_sbuffer_write);
		msgpack_pack_object(&pk, *r);
	} else if (ctl.json) {
		print_object(r);
	} else {
		char *v = mo_map_strdup(r, "server_version", "");
		const msgpack_object *lat = mo_map_get(r, "latency_ms");
		bool f = lat && (lat->type == MSGPACK_OBJECT_FLOAT64 || lat->type == MSGPACK_OBJECT_FLOAT32);
		printf("ok: %s, %.1f ms\n", v, f ? lat->via.f64 : 0.0);
		free(v);
	}
}

/* One test_connection (prompt.c tries again): EXIT_ERR when it failed. */
static int
test_attempt(void *arg)
{
	struct test_out *t = arg;
	t->success = false;
	int rc = ctl_call_quiet(M_TEST_CONNECTION, pack_save, &t->a, test_result, t);
	return rc == EXIT_OK && !t->success ? EXIT_ERR : rc;
}

/* The last failure, as the answer (--json) or as an error. */
static void
test_report_failure(struct test_out *t)
{
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	if (ctl.json && t->failed.size &&
	    msgpack_unpack_next(&u, t->failed.data, t->failed.size, NULL) == MSGPACK_UNPACK_SUCCESS)
		print_object(&u.data);
	else
		ctl_print_error(&ctl_last_error);
	msgpack_unpacked_destroy(&u);
}

/* connections test NAME|ID [--password-stdin | --no-password] */
static int
conn_test(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "password-stdin", no_argument, NULL, OPT_PW_STDIN },
		{ "no-password", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct test_out t = { .a = { .by_id = true } };
	bool pw_stdin = false;
	int ch;
	optind = 0; /* reinitialise: permute, so flags may follow NAME or URI */
	while ((ch = getopt_long(argc, argv, "w", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_PW_STDIN: pw_stdin = true; break;
		case 'w': t.no_pw = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return EXIT_USAGE;
	if (saved_resolve(argv[optind], &t.a.cfg) < 0)
		return EXIT_ERR;
	if (pw_stdin && (t.a.sec.password = read_stdin_line()) == NULL) {
		config_free(&t.a.cfg);
		return EXIT_USAGE;
	}
	/* the stored secrets first; on a terminal, ask for what the server wants */
	msgpack_sbuffer_init(&t.failed);
	int rc = ctl_retry_asking(test_attempt, &t, &t.a.cfg, &t.a.sec, t.no_pw);
	if (rc != EXIT_OK)
		test_report_failure(&t);
	msgpack_sbuffer_destroy(&t.failed);
	config_free(&t.a.cfg);
	secrets_free(&t.a.sec);
	return rc;
}

/* Help for the connections commands. */
static void
connections_usage(FILE *f)
{
	fprintf(f,
	    "usage: tuskctl connections list\n"
	    "       tuskctl connections show NAME|ID\n"
	    "       tuskctl connections add --name NAME [URI] [SETTINGS] [SECRETS]\n"
	    "       tuskctl connections edit NAME|ID [URI] [SETTINGS] [SECRETS] [--no-ssh] [--no-ssl-ca]\n"
	    "                [--no-client-cert] [--read-write] [--no-statement-timeout]\n"
	    "       tuskctl connections rm NAME|ID\n"
	    "       tuskctl connections test NAME|ID [--password-stdin | --no-password]\n"
	    "SETTINGS: -h HOST -p PORT -U USER -d DB -n NAME --ssl-mode M --ssl-ca FILE\n"
	    "          --ssl-cert FILE --ssl-key FILE --read-only --statement-timeout MS\n"
	    "          --ssh-host H --ssh-port P --ssh-user U --ssh-auth password|key_file|agent\n"
	    "          --ssh-key FILE (or --ssh USER@HOST[:PORT], --ssh-agent)\n"
	    "SECRETS:  --password-stdin | -W/--password (prompt) | --forget-password\n"
	    "          --ssh-secret-stdin (also --ssh-password-stdin, --ssh-passphrase-stdin)\n"
	    "          | --ssh-secret (prompt) | --forget-ssh-secret\n"
	    "          (stdin: the password on the first line, the SSH secret on the next)\n");
}

/* tuskctl connections SUBCOMMAND ... */
int
cmd_connections(int argc, char **argv)
{
	if (argc < 2) {
		connections_usage(stderr);
		return EXIT_USAGE;
	}
	const char *sub = argv[1];
	argc--;
	argv++;
	if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0) {
		if (argc != 1)
			return EXIT_USAGE;
		return ctl_call(M_LIST_CONNECTIONS, pack_no_params, NULL, list_result, NULL, NULL, NULL);
	}
	if (strcmp(sub, "add") == 0)
		return add_or_edit(argc, argv, false);
	if (strcmp(sub, "edit") == 0)
		return add_or_edit(argc, argv, true);
	if (strcmp(sub, "test") == 0)
		return conn_test(argc, argv);
	if (strcmp(sub, "show") == 0 || strcmp(sub, "rm") == 0 || strcmp(sub, "remove") == 0) {
		struct tusk_config c;
		if (argc != 2)
			return EXIT_USAGE;
		if (saved_resolve(argv[1], &c) < 0)
			return EXIT_ERR;
		int r = strcmp(sub, "show") == 0 ?
		    ctl_call(M_GET_CONNECTION, pack_id, c.id, show_result, NULL, NULL, NULL) :
		    ctl_call(M_DELETE_CONNECTION, pack_id, c.id, rm_result, c.name, NULL, NULL);
		config_free(&c);
		return r;
	}
	if (strcmp(sub, "help") == 0) {
		connections_usage(stdout);
		return EXIT_OK;
	}
	fprintf(stderr, "tuskctl: unknown connections command '%s'\n", sub);
	connections_usage(stderr);
	return EXIT_USAGE;
}

/* --- connect a saved connection ------------------------------------------- */

/* connect NAME|ID: the connection id. */
static void
saved_connect_result(const msgpack_object *r, void *arg)
{
	struct save_args *a = arg;
	const msgpack_object *id = mo_map_get(r, "connection_id");
	if (ctl.json) {
		print_object(r);
		return;
	}
	if (id && id->type == MSGPACK_OBJECT_STR)
		printf("connected: %.*s (%s)\n", (int)id->via.str.size, id->via.str.ptr, a->cfg.name);
}

/* One connect of a saved connection (prompt.c tries again). */
static int
saved_connect_attempt(void *arg)
{
	return ctl_call_quiet(M_CONNECT, pack_save, arg, saved_connect_result, arg);
}

/* Connect a saved connection, asking on a terminal for the secret the
 * server (or the SSH server) wants, or whether to trust its host key. */
int
connect_saved(const char *arg, bool pw_stdin, bool no_pw)
{
	struct save_args a = { .by_id = true };
	if (saved_resolve(arg, &a.cfg) < 0)
		return EXIT_ERR;
	if (pw_stdin && (a.sec.password = read_stdin_line()) == NULL) {
		config_free(&a.cfg);
		return EXIT_USAGE;
	}
	int rc = ctl_retry_asking(saved_connect_attempt, &a, &a.cfg, &a.sec, no_pw);
	if (rc != EXIT_OK)
		ctl_print_error(&ctl_last_error);
	config_free(&a.cfg);
	secrets_free(&a.sec);
	return rc;
}

/* --- preferences --------------------------------------------------------------- */

struct pref_set {
	const char *key;
	msgpack_sbuffer value; /* packed whole before the call */
};

/* Pack {key, value} (the value packed already). */
static void
pack_pref_set(msgpack_packer *pk, void *arg)
{
	struct pref_set *ps = arg;
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 2);
	mp_pack_key(pk, "key");
	mp_pack_cstr(pk, ps->key);
	mp_pack_key(pk, "value");
	pk->callback(pk->data, ps->value.data, ps->value.size);
}

/* Params {key}. */
static void
pack_pref_key(msgpack_packer *pk, void *arg)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	mp_pack_key(pk, "key");
	mp_pack_cstr(pk, arg);
}

/* A value for people: text for scalars, JSON for arrays and maps. */
static void
pref_print(const msgpack_object *v)
{
	if (ctl.json || v->type == MSGPACK_OBJECT_ARRAY || v->type == MSGPACK_OBJECT_MAP ||
	    v->type == MSGPACK_OBJECT_NIL) {
		json_value(stdout, v);
		fputc('\n', stdout);
		return;
	}
	struct strbuf sb;
	sb_init(&sb);
	text_value(&sb, v, "null");
	printf("%s\n", sb.buf ? sb.buf : "");
	sb_free(&sb);
}

/* prefs get: the value. */
static void
pref_get_result(const msgpack_object *r, void *arg)
{
	UNUSED(arg);
	pref_print(r);
}

/* prefs set: done. */
static void
pref_set_result(const msgpack_object *r, void *arg)
{
	UNUSED(r);
	if (ctl.json)
		printf("null\n");
	else
		printf("set: %s\n", (const char *)arg);
}

/* prefs set [--string] KEY VALUE: VALUE as JSON when it is JSON, else as a
 * string; a value that cannot be sent whole is a usage error. */
static int
pref_set(const char *key, const char *value, bool as_string)
{
	struct pref_set ps = { .key = key };
	msgpack_sbuffer_init(&ps.value);
	int r = as_string ? JSON_PACK_NOT_JSON : json_pack(&ps.value, value);
	if (r == JSON_PACK_NOT_JSON) {
		msgpack_packer pk;
		msgpack_packer_init(&pk, &ps.value, msgpack_sbuffer_write);
		mp_pack_cstr(&pk, value);
	} else if (r != JSON_PACK_OK) {
		msgpack_sbuffer_destroy(&ps.value);
		if (r == JSON_PACK_TOO_DEEP)
			fprintf(stderr, "error: the value nests arrays and objects more than %d deep\n"
					"hint: the broker takes at most %d levels; flatten it, or pass --string\n",
			    JSON_PACK_MAX_DEPTH, JSON_PACK_MAX_DEPTH);
		else
			fprintf(stderr, "error: the value could not be read as JSON\nhint: pass --string to send it as text\n");
		return EXIT_USAGE;
	}
	int rc = ctl_call(M_SET_PREFERENCE, pack_pref_set, &ps, pref_set_result, (void *)(uintptr_t)key,
	    NULL, NULL);
	msgpack_sbuffer_destroy(&ps.value);
	return rc;
}

/* prefs list: a table, or JSON. */
static void
pref_list_result(const msgpack_object *r, void *arg)
{
	UNUSED(arg);
	if (ctl.json || r->type != MSGPACK_OBJECT_ARRAY) {
		print_object(r);
		return;
	}
	if (r->via.array.size == 0) {
		printf("no preferences set\n");
		return;
	}
	const char *hdr[] = { "key", "value", "updated_at" };
	struct table *t = table_new(hdr, 3);
	for (uint32_t i = 0; i < r->via.array.size; i++) {
		const msgpack_object *p = &r->via.array.ptr[i];
		char **cells = xcalloc(3, sizeof *cells);
		cells[0] = mo_map_strdup(p, "key", "");
		const msgpack_object *v = NULL;
		for (uint32_t j = 0; p->type == MSGPACK_OBJECT_MAP && j < p->via.map.size; j++)
			if (mo_str_eq(&p->via.map.ptr[j].key, "value"))
				v = &p->via.map.ptr[j].val;
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		if (v)
			json_value(m, v);
		fclose(m);
		cells[1] = buf;
		cells[2] = mo_map_strdup(p, "updated_at", "");
		table_add(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
}

/* tuskctl prefs get|set|list. */
int
cmd_prefs(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "list") == 0 && argc == 2)
		return ctl_call(M_LIST_PREFERENCES, pack_no_params, NULL, pref_list_result, NULL, NULL, NULL);
	if (argc == 3 && strcmp(argv[1], "get") == 0)
		return ctl_call(M_GET_PREFERENCE, pack_pref_key, argv[2], pref_get_result, NULL, NULL, NULL);
	if (argc >= 4 && strcmp(argv[1], "set") == 0) {
		bool as_string = false;
		int i = 2;
		if (strcmp(argv[i], "--string") == 0) {
			as_string = true;
			i++;
		}
		if (argc - i != 2)
			return EXIT_USAGE;
		return pref_set(argv[i], argv[i + 1], as_string);
	}
	return EXIT_USAGE;
}

/*
 * conn-spec.c — a connection's settings and secrets from the command line
 * (see conn-spec.h): options, a libpq URI, the SSH tunnel spec
 * user@host[:port], secrets from stdin or the terminal, and the wire form.
 *
 * A URI holding a password is refused: argv is visible to every user of
 * the machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "conn-spec.h"
#include "ctl.h"
#include "msg.h"
#include "util.h"

void
conn_spec_init(struct conn_spec *s)
{
	memset(s, 0, sizeof *s);
	s->stmt_timeout = -1;
	s->ssh_port = 22;
}

void
conn_spec_free(struct conn_spec *s)
{
	free(s->host);
	free(s->port);
	free(s->user);
	free(s->db);
	free(s->name);
	free(s->sslmode);
	free(s->ca);
	free(s->cert);
	free(s->key);
	free(s->ssh_user);
	free(s->ssh_host);
	free(s->ssh_key);
	secret_free(s->password);
	secret_free(s->ssh_secret);
	secret_free(s->ssl_passphrase);
	conn_spec_init(s);
}

/* Replace a string field. */
static void
set(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

/* --ssh user@host[:port] (an IPv6 address in brackets: user@[::1]:22). */
static int
parse_ssh(struct conn_spec *s, const char *arg)
{
	const char *at = strrchr(arg, '@');
	if (at == NULL || at == arg || at[1] == '\0') {
		fprintf(stderr, "error: --ssh wants USER@HOST[:PORT], not '%s'\n", arg);
		return -1;
	}
	const char *h = at + 1, *port = NULL;
	size_t hl;
	if (*h == '[') {
		const char *close = strchr(h, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
			fprintf(stderr, "error: --ssh: unbalanced brackets in '%s'\n", arg);
			return -1;
		}
		hl = (size_t)(close - h - 1);
		h++;
		port = close[1] == ':' ? close + 2 : NULL;
	} else {
		const char *colon = strchr(h, ':');
		hl = colon ? (size_t)(colon - h) : strlen(h);
		port = colon ? colon + 1 : NULL;
	}
	long long p = 22;
	if (hl == 0 || (port && parse_ll(port, 1, 65535, &p) < 0)) {
		fprintf(stderr, "error: --ssh: '%s' needs a host and a port between 1 and 65535\n", arg);
		return -1;
	}
	free(s->ssh_user);
	free(s->ssh_host);
	s->ssh_user = xstrndup(arg, (size_t)(at - arg));
	s->ssh_host = xstrndup(h, hl);
	s->ssh_port = (int)p;
	return 0;
}

int
conn_spec_option(struct conn_spec *s, int ch, const char *arg)
{
	switch (ch) {
	case 'h': set(&s->host, arg); return 1;
	case 'p': set(&s->port, arg); return 1;
	case 'U': set(&s->user, arg); return 1;
	case 'd': set(&s->db, arg); return 1;
	case 'n': set(&s->name, arg); return 1;
	case 's': set(&s->sslmode, arg); return 1;
	case 'C': set(&s->ca, arg); return 1;
	case 'E': set(&s->cert, arg); return 1;
	case 'K': set(&s->key, arg); return 1;
	case 'r': s->read_only = true; return 1;
	case 't':
		if (parse_ll(arg, 0, INT64_MAX, &s->stmt_timeout) < 0) {
			fprintf(stderr, "error: --statement-timeout wants milliseconds, not '%s'\n", arg);
			return -1;
		}
		return 1;
	case 'P': s->pw_stdin = true; return 1;
	case 'w': s->no_pw = true; return 1;
	case OPT_SSH: return parse_ssh(s, arg) < 0 ? -1 : 1;
	case OPT_SSH_KEY: set(&s->ssh_key, arg); return 1;
	case OPT_SSH_AGENT: s->ssh_agent = true; return 1;
	case OPT_SSH_PASSWORD_STDIN: s->ssh_pw_stdin = true; return 1;
	case OPT_SSH_PASSPHRASE_STDIN: s->ssh_pp_stdin = true; return 1;
	case OPT_SSL_KEY_PASSPHRASE_STDIN: s->ssl_pp_stdin = true; return 1;
	default: return 0;
	}
}

/* Take fields from a libpq URI or conninfo string. */
static int
parse_uri(const char *uri, struct conn_spec *s)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(uri, &err);
	if (opts == NULL) {
		fprintf(stderr, "error: cannot parse '%s': %s", uri, err ? err : "invalid connection string\n");
		PQfreemem(err);
		return -1;
	}
	int r = 0;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (o->val == NULL || *o->val == '\0')
			continue;
		char **dst = NULL;
		if (strcmp(o->keyword, "host") == 0) dst = &s->host;
		else if (strcmp(o->keyword, "port") == 0) dst = &s->port;
		else if (strcmp(o->keyword, "user") == 0) dst = &s->user;
		else if (strcmp(o->keyword, "dbname") == 0) dst = &s->db;
		else if (strcmp(o->keyword, "sslmode") == 0) dst = &s->sslmode;
		else if (strcmp(o->keyword, "sslrootcert") == 0) dst = &s->ca;
		else if (strcmp(o->keyword, "sslcert") == 0) dst = &s->cert;
		else if (strcmp(o->keyword, "sslkey") == 0) dst = &s->key;
		else if (strcmp(o->keyword, "application_name") == 0) dst = &s->name;
		else if (strcmp(o->keyword, "password") == 0 || strcmp(o->keyword, "sslpassword") == 0) {
			fprintf(stderr, "error: the connection string holds a password\n"
			    "hint: anyone on this machine can read command lines; use --password-stdin, PGPASSWORD, or the prompt\n");
			r = -1;
		}
		if (dst && *dst == NULL)
			*dst = xstrdup(o->val);
	}
	PQconninfoFree(opts);
	return r;
}

int
conn_spec_finish(struct conn_spec *s, const char *uri)
{
	if (uri && parse_uri(uri, s) < 0)
		return -1;
	if (s->port) {
		long long p;
		if (parse_ll(s->port, 1, 65535, &p) < 0) {
			fprintf(stderr, "error: port '%s' is not between 1 and 65535\n", s->port);
			return -1;
		}
	}
	if (s->host == NULL)
		s->host = xstrdup("localhost");
	if (s->user == NULL) {
		const char *u = getenv("USER");
		s->user = xstrdup(u && *u ? u : "postgres");
	}
	if (s->db == NULL)
		s->db = xstrdup(s->user);
	if ((s->cert == NULL) != (s->key == NULL)) {
		fprintf(stderr, "error: --ssl-cert and --ssl-key go together\n");
		return -1;
	}
	if (s->ssl_pp_stdin && s->key == NULL) {
		fprintf(stderr, "error: --ssl-key-passphrase-stdin is for the key of --ssl-key\n");
		return -1;
	}
	if (s->ssh_host == NULL && (s->ssh_key || s->ssh_agent || s->ssh_pw_stdin || s->ssh_pp_stdin)) {
		fprintf(stderr, "error: the --ssh-* options need --ssh USER@HOST[:PORT]\n");
		return -1;
	}
	if ((s->ssh_key != NULL) + s->ssh_agent > 1 || (s->ssh_agent && (s->ssh_pw_stdin || s->ssh_pp_stdin)) ||
	    (s->ssh_key && s->ssh_pw_stdin) || (!s->ssh_key && s->ssh_pp_stdin)) {
		fprintf(stderr, "error: choose one SSH authentication: --ssh-key FILE [--ssh-passphrase-stdin], --ssh-agent, or a password (--ssh-password-stdin or the prompt)\n");
		return -1;
	}
	if (s->ssh_key && s->ssh_key[0] != '/') {
		char *cwd = getcwd(NULL, 0);
		if (cwd) {
			char *abs = xasprintf("%s/%s", cwd, s->ssh_key);
			free(s->ssh_key);
			s->ssh_key = abs;
			free(cwd);
		}
	}
	/* one line each, in this order */
	if (s->pw_stdin && (s->password = read_stdin_line()) == NULL) {
		fprintf(stderr, "error: --password-stdin: no line on stdin\n");
		return -1;
	}
	if ((s->ssh_pw_stdin || s->ssh_pp_stdin) && (s->ssh_secret = read_stdin_line()) == NULL) {
		fprintf(stderr, "error: --ssh-%s-stdin: no line on stdin\n", s->ssh_pw_stdin ? "password" : "passphrase");
		return -1;
	}
	if (s->ssl_pp_stdin && (s->ssl_passphrase = read_stdin_line()) == NULL) {
		fprintf(stderr, "error: --ssl-key-passphrase-stdin: no line on stdin\n");
		return -1;
	}
	if (s->password == NULL && !s->no_pw && !s->pw_stdin && getenv("PGPASSWORD"))
		s->password = xstrdup(getenv("PGPASSWORD"));
	return 0;
}

static void
kv(msgpack_packer *pk, const char *k, const char *v)
{
	mp_pack_key(pk, k);
	mp_pack_cstr(pk, v);
}

void
conn_spec_pack_config(msgpack_packer *pk, const struct conn_spec *s)
{
	long long port = 5432;
	if (s->port)
		parse_ll(s->port, 1, 65535, &port);
	int n = 5 + (s->name != NULL) + (s->ca != NULL) + 2 * (s->cert != NULL) +
	    (s->stmt_timeout >= 0) + (s->read_only) + (s->ssh_host != NULL);
	msgpack_pack_map(pk, (size_t)n);
	kv(pk, "host", s->host);
	mp_pack_key(pk, "port");
	msgpack_pack_int(pk, (int)port);
	kv(pk, "username", s->user);
	kv(pk, "database", s->db);
	kv(pk, "ssl_mode", s->sslmode ? s->sslmode : "prefer");
	if (s->name)
		kv(pk, "name", s->name);
	if (s->ca)
		kv(pk, "ssl_ca_cert", s->ca);
	if (s->cert) {
		kv(pk, "ssl_client_cert", s->cert);
		kv(pk, "ssl_client_key", s->key);
	}
	if (s->stmt_timeout >= 0) {
		mp_pack_key(pk, "statement_timeout_ms");
		msgpack_pack_int64(pk, s->stmt_timeout);
	}
	if (s->read_only) {
		mp_pack_key(pk, "read_only");
		msgpack_pack_true(pk);
	}
	if (s->ssh_host) {
		mp_pack_key(pk, "ssh_tunnel");
		msgpack_pack_map(pk, 4);
		kv(pk, "host", s->ssh_host);
		mp_pack_key(pk, "port");
		msgpack_pack_int(pk, s->ssh_port);
		kv(pk, "username", s->ssh_user);
		mp_pack_key(pk, "auth_method");
		msgpack_pack_map(pk, s->ssh_key ? 2 : 1);
		kv(pk, "type", s->ssh_key ? "key_file" : s->ssh_agent ? "agent" : "password");
		if (s->ssh_key)
			kv(pk, "path", s->ssh_key);
	}
}

int
conn_spec_secret_count(const struct conn_spec *s)
{
	return (s->password != NULL) + (s->ssh_secret != NULL) + (s->ssl_passphrase != NULL);
}

void
conn_spec_pack_secrets(msgpack_packer *pk, const struct conn_spec *s)
{
	if (s->password)
		kv(pk, "password", s->password);
	if (s->ssh_secret)
		kv(pk, s->ssh_key ? "ssh_key_passphrase" : "ssh_password", s->ssh_secret);
	if (s->ssl_passphrase)
		kv(pk, "ssl_key_passphrase", s->ssl_passphrase);
}

char *
conn_spec_display(const struct conn_spec *s)
{
	return xasprintf("%s@%s:%s/%s", s->user, s->host, s->port ? s->port : "5432", s->db);
}

bool
conn_spec_prompt(struct conn_spec *s, const struct tusk_error *e)
{
	if (e->kind != TE_CREDENTIAL || !isatty(STDIN_FILENO))
		return false;
	const char *code = e->code ? e->code : "";
	char **dst;
	char *prompt;
	if (strcmp(code, "ssh_password") == 0 && s->ssh_host && !s->ssh_key && !s->ssh_agent) {
		dst = &s->ssh_secret;
		prompt = xasprintf("SSH password for %s@%s: ", s->ssh_user, s->ssh_host);
	} else if (strcmp(code, "ssh_key_passphrase") == 0 && s->ssh_key) {
		dst = &s->ssh_secret;
		prompt = xasprintf("Passphrase for SSH key %s: ", s->ssh_key);
	} else if (strcmp(code, "ssl_key_passphrase") == 0 && s->key) {
		dst = &s->ssl_passphrase;
		prompt = xasprintf("Passphrase for TLS key %s: ", s->key);
	} else if ((strcmp(code, "28P01") == 0 || *code == '\0') && !s->no_pw) {
		dst = &s->password;
		char *d = conn_spec_display(s);
		prompt = xasprintf("Password for %s: ", d);
		free(d);
	} else {
		return false;
	}
	if (*dst) {
		/* the one given was refused: ask once more, on the terminal */
		secret_free(*dst);
		*dst = NULL;
	}
	*dst = read_secret(prompt);
	free(prompt);
	return *dst != NULL;
}

/*
 * cmd-conn.c — tuskctl connect and disconnect, and how a command names a
 * connection (id, unique id prefix, or name).
 *
 * Passwords never come from argv: --password-stdin, PGPASSWORD, or a prompt
 * on the terminal when the server asks for one. A URI with a password in it
 * is refused, because argv is visible to every user of the machine.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "ctl.h"
#include "msg.h"
#include "util.h"

/* --- naming a connection ------------------------------------------------ */

struct resolve {
	const char *arg;
	char *id;
	int matches;
	char *names;
};

static void
resolve_result(const msgpack_object *r, void *arg)
{
	struct resolve *rs = arg;
	if (r->type != MSGPACK_OBJECT_ARRAY)
		return;
	size_t alen = rs->arg ? strlen(rs->arg) : 0;
	struct strbuf names;
	sb_init(&names);
	for (uint32_t i = 0; i < r->via.array.size; i++) {
		const msgpack_object *c = &r->via.array.ptr[i];
		const msgpack_object *id = mo_map_get(c, "connection_id"), *name = mo_map_get(c, "name");
		if (id == NULL || id->type != MSGPACK_OBJECT_STR)
			continue;
		if (name && name->type == MSGPACK_OBJECT_STR)
			sb_addf(&names, "%s%.*s", names.len ? ", " : "", (int)name->via.str.size,
			    name->via.str.ptr);
		bool exact = rs->arg && (mo_str_eq(id, rs->arg) || (name && mo_str_eq(name, rs->arg)));
		bool prefix = rs->arg && alen >= 4 && id->via.str.size >= alen &&
		    memcmp(id->via.str.ptr, rs->arg, alen) == 0;
		if (exact) {
			free(rs->id);
			rs->id = mo_strdup(id);
			rs->matches = 1;
			break;
		}
		if (rs->arg == NULL || prefix) {
			rs->matches++;
			free(rs->id);
			rs->id = mo_strdup(id);
		}
	}
	rs->names = sb_detach(&names);
}

char *
resolve_connection(const char *arg)
{
	struct resolve rs = { .arg = arg };
	if (ctl_call("get_active_connections", params_none, NULL, resolve_result, &rs, NULL, NULL) != EXIT_OK)
		return NULL;
	if (rs.matches == 1) {
		free(rs.names);
		return rs.id;
	}
	if (rs.matches == 0 && arg)
		fprintf(stderr, "error: no open connection matches '%s'\nhint: open ones: %s\n", arg,
		    *rs.names ? rs.names : "none (connect first)");
	else if (rs.matches == 0)
		fprintf(stderr, "error: no open connection\nhint: connect first: tuskctl connect postgresql://user@host/db\n");
	else
		fprintf(stderr, "error: %s matches several connections\nhint: name one with -c NAME|ID (open: %s)\n",
		    arg ? arg : "no -c", rs.names);
	free(rs.id);
	free(rs.names);
	return NULL;
}

/* --- secrets from the terminal or stdin --------------------------------- */

char *
read_secret(const char *prompt)
{
	FILE *tty = fopen("/dev/tty", "r+");
	if (tty == NULL)
		return NULL;
	struct termios old, noecho;
	int fd = fileno(tty);
	if (tcgetattr(fd, &old) < 0) {
		fclose(tty);
		return NULL;
	}
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	noecho.c_lflag |= ECHONL;
	fputs(prompt, tty);
	fflush(tty);
	tcsetattr(fd, TCSAFLUSH, &noecho);
	char buf[1024];
	char *r = fgets(buf, sizeof buf, tty);
	tcsetattr(fd, TCSAFLUSH, &old);
	fclose(tty);
	if (r == NULL) {
		explicit_bzero(buf, sizeof buf);
		return NULL;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	char *s = xstrdup(buf);
	explicit_bzero(buf, sizeof buf);
	return s;
}

char *
read_stdin_line(void)
{
	char buf[4096];
	if (fgets(buf, sizeof buf, stdin) == NULL)
		return NULL;
	buf[strcspn(buf, "\r\n")] = '\0';
	char *s = xstrdup(buf);
	explicit_bzero(buf, sizeof buf);
	return s;
}

/* --- connect ------------------------------------------------------------ */

struct connect_args {
	char *host, *port, *user, *db, *name, *sslmode, *ca, *cert, *key;
	bool read_only;
	long long stmt_timeout;
	char *password;
};

static void
kv(msgpack_packer *pk, const char *k, const char *v)
{
	mp_pack_key(pk, k);
	mp_pack_cstr(pk, v);
}

static void
pack_connect(msgpack_packer *pk, void *arg)
{
	struct connect_args *a = arg;
	long long port = 5432;
	if (a->port)
		parse_ll(a->port, 1, 65535, &port);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, a->password ? 2 : 1);
	mp_pack_key(pk, "config");
	int n = 5 + (a->name != NULL) + (a->ca != NULL) + 2 * (a->cert != NULL) +
	    (a->stmt_timeout >= 0) + (a->read_only);
	msgpack_pack_map(pk, (size_t)n);
	kv(pk, "host", a->host);
	mp_pack_key(pk, "port");
	msgpack_pack_int(pk, (int)port);
	kv(pk, "username", a->user);
	kv(pk, "database", a->db);
	kv(pk, "ssl_mode", a->sslmode ? a->sslmode : "prefer");
	if (a->name)
		kv(pk, "name", a->name);
	if (a->ca)
		kv(pk, "ssl_ca_cert", a->ca);
	if (a->cert) {
		kv(pk, "ssl_client_cert", a->cert);
		kv(pk, "ssl_client_key", a->key);
	}
	if (a->stmt_timeout >= 0) {
		mp_pack_key(pk, "statement_timeout_ms");
		msgpack_pack_int64(pk, a->stmt_timeout);
	}
	if (a->read_only) {
		mp_pack_key(pk, "read_only");
		msgpack_pack_true(pk);
	}
	if (a->password)
		kv(pk, "password", a->password);
}

static void
connect_result(const msgpack_object *r, void *arg)
{
	struct connect_args *a = arg;
	const msgpack_object *id = mo_map_get(r, "connection_id");
	if (O.json) {
		print_object(r);
		return;
	}
	if (id && id->type == MSGPACK_OBJECT_STR)
		printf("connected: %.*s (%s@%s:%s/%s)\n", (int)id->via.str.size, id->via.str.ptr,
		    a->user, a->host, a->port ? a->port : "5432", a->db);
}

/* Take fields from a libpq URI or conninfo string. */
static int
parse_uri(const char *uri, struct connect_args *a)
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
		if (strcmp(o->keyword, "host") == 0) dst = &a->host;
		else if (strcmp(o->keyword, "port") == 0) dst = &a->port;
		else if (strcmp(o->keyword, "user") == 0) dst = &a->user;
		else if (strcmp(o->keyword, "dbname") == 0) dst = &a->db;
		else if (strcmp(o->keyword, "sslmode") == 0) dst = &a->sslmode;
		else if (strcmp(o->keyword, "sslrootcert") == 0) dst = &a->ca;
		else if (strcmp(o->keyword, "sslcert") == 0) dst = &a->cert;
		else if (strcmp(o->keyword, "sslkey") == 0) dst = &a->key;
		else if (strcmp(o->keyword, "application_name") == 0) dst = &a->name;
		else if (strcmp(o->keyword, "password") == 0) {
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

static void
connect_args_free(struct connect_args *a)
{
	free(a->host);
	free(a->port);
	free(a->user);
	free(a->db);
	free(a->name);
	free(a->sslmode);
	free(a->ca);
	free(a->cert);
	free(a->key);
	secret_free(a->password);
}

int
cmd_connect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "username", required_argument, NULL, 'U' },
		{ "dbname", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "ssl-mode", required_argument, NULL, 's' },
		{ "ssl-ca", required_argument, NULL, 'C' },
		{ "ssl-cert", required_argument, NULL, 'E' },
		{ "ssl-key", required_argument, NULL, 'K' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "statement-timeout", required_argument, NULL, 't' },
		{ "password-stdin", no_argument, NULL, 'P' },
		{ "no-password", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct connect_args a = { .stmt_timeout = -1 };
	bool pw_stdin = false, no_pw = false;
	int ch, rc = EXIT_USAGE;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h:p:U:d:n:s:rt:Pw", opts, NULL)) != -1) {
		switch (ch) {
		case 'h': free(a.host); a.host = xstrdup(optarg); break;
		case 'p': free(a.port); a.port = xstrdup(optarg); break;
		case 'U': free(a.user); a.user = xstrdup(optarg); break;
		case 'd': free(a.db); a.db = xstrdup(optarg); break;
		case 'n': free(a.name); a.name = xstrdup(optarg); break;
		case 's': free(a.sslmode); a.sslmode = xstrdup(optarg); break;
		case 'C': free(a.ca); a.ca = xstrdup(optarg); break;
		case 'E': free(a.cert); a.cert = xstrdup(optarg); break;
		case 'K': free(a.key); a.key = xstrdup(optarg); break;
		case 'r': a.read_only = true; break;
		case 't':
			if (parse_ll(optarg, 0, INT64_MAX, &a.stmt_timeout) < 0)
				goto out;
			break;
		case 'P': pw_stdin = true; break;
		case 'w': no_pw = true; break;
		default: goto out;
		}
	}
	if (argc - optind > 1)
		goto out;
	if (argc - optind == 1 && parse_uri(argv[optind], &a) < 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (a.port) {
		long long p;
		if (parse_ll(a.port, 1, 65535, &p) < 0) {
			fprintf(stderr, "error: port '%s' is not between 1 and 65535\n", a.port);
			goto out;
		}
	}
	if (a.host == NULL)
		a.host = xstrdup("localhost");
	if (a.user == NULL) {
		const char *u = getenv("USER");
		a.user = xstrdup(u && *u ? u : "postgres");
	}
	if (a.db == NULL)
		a.db = xstrdup(a.user);
	if ((a.cert == NULL) != (a.key == NULL)) {
		fprintf(stderr, "error: --ssl-cert and --ssl-key go together\n");
		goto out;
	}
	if (pw_stdin)
		a.password = read_stdin_line();
	else if (!no_pw && getenv("PGPASSWORD"))
		a.password = xstrdup(getenv("PGPASSWORD"));

	rc = ctl_call_quiet("connect", pack_connect, &a, connect_result, &a);
	if (rc != EXIT_OK && ctl_last_error.kind == TE_CREDENTIAL && a.password == NULL && !no_pw &&
	    isatty(STDIN_FILENO)) {
		char *prompt = xasprintf("Password for %s@%s:%s/%s: ", a.user, a.host,
		    a.port ? a.port : "5432", a.db);
		a.password = read_secret(prompt);
		free(prompt);
		if (a.password)
			rc = ctl_call_quiet("connect", pack_connect, &a, connect_result, &a);
	}
	if (rc != EXIT_OK)
		ctl_print_error(&ctl_last_error);
out:
	connect_args_free(&a);
	return rc;
}

static void
pack_conn_id(msgpack_packer *pk, void *arg)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	kv(pk, "connection_id", arg);
}

static void
disconnect_result(const msgpack_object *r, void *arg)
{
	UNUSED(r);
	if (O.json)
		printf("null\n");
	else
		printf("disconnected: %s\n", (const char *)arg);
}

int
cmd_disconnect(int argc, char **argv)
{
	if (argc > 2)
		return EXIT_USAGE;
	char *id = resolve_connection(argc == 2 ? argv[1] : NULL);
	if (id == NULL)
		return EXIT_ERR;
	int r = ctl_call("disconnect", pack_conn_id, id, disconnect_result, id, NULL, NULL);
	free(id);
	return r;
}

/*
 * cmd-conn.c — tuskctl connect, disconnect and trust-host-key, and how a
 * command names a connection (id, unique id prefix, or name).
 *
 * `connect` opens a quick connection (a libpq URI or conninfo string and
 * flags, see conn-spec.c) or a saved one (NAME|ID, see cmd-store.c).
 * Secrets never come from argv: stdin, PGPASSWORD, or a prompt on the
 * terminal when the server (or the SSH server) asks for one. On a
 * terminal, an unknown SSH host key is shown with its fingerprint and
 * trusted only when the user says so.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "conn-spec.h"
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

/* Find the open connection named by id, name or id prefix; keep all names for the error. */
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
	if (ctl_call(M_GET_ACTIVE_CONNECTIONS, pack_no_params, NULL, resolve_result, &rs, NULL, NULL) != EXIT_OK)
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
	/* echo off (and earlier typing dropped) before the prompt shows, so
	 * nothing typed after it is lost */
	tcsetattr(fd, TCSAFLUSH, &noecho);
	fputs(prompt, tty);
	fflush(tty);
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

/* The connect request: {config, secrets...}. */
static void
pack_connect(msgpack_packer *pk, void *arg)
{
	const struct conn_spec *s = arg;
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1 + (size_t)ctl_secrets_count(&s->sec));
	mp_pack_key(pk, "config");
	conn_spec_pack_config(pk, s);
	ctl_secrets_pack(pk, &s->sec);
}

/* connect: the new connection's id and where it goes. */
static void
connect_result(const msgpack_object *r, void *arg)
{
	const struct conn_spec *s = arg;
	const msgpack_object *id = mo_map_get(r, "connection_id");
	if (ctl.json) {
		print_object(r);
		return;
	}
	if (id && id->type == MSGPACK_OBJECT_STR) {
		char *d = conn_spec_display(s);
		printf("connected: %.*s (%s%s%s)\n", (int)id->via.str.size, id->via.str.ptr, d,
		    s->cfg.ssh ? " through SSH " : "", s->cfg.ssh ? s->cfg.ssh->host : "");
		free(d);
	}
}

struct trust_args {
	const char *id;
	const char *fingerprint;
};

/* trust_host_key's parameters. */
static void
pack_trust(msgpack_packer *pk, void *arg)
{
	const struct trust_args *t = arg;
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 2);
	mp_pack_key(pk, "connection_id");
	mp_pack_cstr(pk, t->id);
	mp_pack_key(pk, "fingerprint");
	mp_pack_cstr(pk, t->fingerprint);
}

/* An unknown SSH host key, on a terminal: show it and ask. true when trusted. */
bool
ask_trust(const struct tusk_error *e)
{
	const struct tusk_host_key *hk = e->host_key;
	if (hk == NULL || hk->status == NULL || strcmp(hk->status, "unknown") != 0 ||
	    hk->fingerprint == NULL || hk->connection_id == NULL || !isatty(STDIN_FILENO))
		return false;
	FILE *tty = fopen("/dev/tty", "r+");
	if (tty == NULL)
		return false;
	fprintf(tty, "The SSH server %s:%d is not known.\n  %s key fingerprint is %s\n"
	    "Is that its key (ask its administrator)? Trust it and connect [y/N]? ",
	    hk->host ? hk->host : "?", hk->port, hk->key_type ? hk->key_type : "?", hk->fingerprint);
	fflush(tty);
	char line[16];
	bool yes = fgets(line, sizeof line, tty) && (line[0] == 'y' || line[0] == 'Y');
	fclose(tty);
	if (!yes)
		return false;
	/* the call clears ctl_last_error, which e may be: copy first */
	char *id = xstrdup(hk->connection_id), *fpr = xstrdup(hk->fingerprint);
	struct trust_args t = { id, fpr };
	bool ok = ctl_call(M_TRUST_HOST_KEY, pack_trust, &t, NULL, NULL, NULL, NULL) == EXIT_OK;
	free(id);
	free(fpr);
	return ok;
}

/* One connect of a quick connection (prompt.c tries again). */
static int
connect_attempt(void *arg)
{
	return ctl_call_quiet(M_CONNECT, pack_connect, arg, connect_result, arg);
}

/* connect URI|NAME|ID [flags]: open a connection, asking on a terminal for what is missing. */
int
cmd_connect(int argc, char **argv)
{
	static const struct option opts[] = {
		CONN_SPEC_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct conn_spec s;
	int ch, rc = EXIT_USAGE;
	conn_spec_init(&s);
	optind = 0; /* reinitialise: permute, so flags may follow the URI or name */
	while ((ch = getopt_long(argc, argv, CONN_SPEC_SHORTOPTS, opts, NULL)) != -1) {
		if (conn_spec_option(&s, ch, optarg) <= 0)
			goto out;
	}
	if (argc - optind == 1 && !cfg_is_uri(argv[optind])) {
		/* NAME|ID of a saved connection: its settings are the saved ones */
		if (conn_spec_has_settings(&s)) {
			fprintf(stderr, "error: settings flags describe a quick connection, not a saved one\n"
					"hint: change a saved connection with `tuskctl connections edit`\n");
			goto out;
		}
		rc = connect_saved(argv[optind], s.pw_stdin, s.no_pw);
		goto out;
	}
	if (argc - optind > 1 || conn_spec_finish(&s, argc - optind == 1 ? argv[optind] : NULL) < 0)
		goto out;

	/* on a terminal: ask for what is missing, or whether to trust a new host key */
	rc = ctl_retry_asking(connect_attempt, &s, &s.cfg, &s.sec, s.no_pw);
	if (rc != EXIT_OK)
		ctl_print_error(&ctl_last_error);
out:
	conn_spec_free(&s);
	return rc;
}

/* trust-host-key CONNECTION_ID FINGERPRINT */
int
cmd_trust_host_key(int argc, char **argv)
{
	if (argc != 3)
		return EXIT_USAGE;
	struct trust_args t = { argv[1], argv[2] };
	int rc = ctl_call(M_TRUST_HOST_KEY, pack_trust, &t, NULL, NULL, NULL, NULL);
	if (rc == EXIT_OK && !ctl.json)
		printf("trusted: %s (connect again)\n", argv[2]);
	else if (rc == EXIT_OK)
		printf("null\n");
	return rc;
}

/* Parameters with only a connection_id. */
static void
pack_conn_id(msgpack_packer *pk, void *arg)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	mp_pack_key(pk, "connection_id");
	mp_pack_cstr(pk, arg);
}

/* disconnect: say which connection was closed. */
static void
disconnect_result(const msgpack_object *r, void *arg)
{
	UNUSED(r);
	if (ctl.json)
		printf("null\n");
	else
		printf("disconnected: %s\n", (const char *)arg);
}

/* disconnect [CONN]: close a connection (the only one when none is named). */
int
cmd_disconnect(int argc, char **argv)
{
	if (argc > 2)
		return EXIT_USAGE;
	char *id = resolve_connection(argc == 2 ? argv[1] : NULL);
	if (id == NULL)
		return EXIT_ERR;
	int r = ctl_call(M_DISCONNECT, pack_conn_id, id, disconnect_result, id, NULL, NULL);
	free(id);
	return r;
}

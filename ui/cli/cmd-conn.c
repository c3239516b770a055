/*
 * cmd-conn.c — tuskctl connect and disconnect, and how a command names a
 * connection (id, unique id prefix, or name).
 *
 * `connect` opens a quick connection (a libpq URI or conninfo string and
 * flags) or a saved one (NAME|ID, see cmd-store.c). Passwords never come
 * from argv: --password-stdin, PGPASSWORD, or a prompt on the terminal when
 * the server asks for one. A URI with a password in it is refused, because
 * argv is visible to every user of the machine.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "config.h"
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

struct connect_args {
	struct tusk_config cfg;
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
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, a->password ? 2 : 1);
	mp_pack_key(pk, "config");
	config_pack(pk, &a->cfg);
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
		printf("connected: %.*s (%s@%s:%d/%s)\n", (int)id->via.str.size, id->via.str.ptr,
		    a->cfg.username, a->cfg.host, a->cfg.port, a->cfg.database);
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
		{ "ssh-host", required_argument, NULL, OPT_SSH_HOST },
		{ "ssh-port", required_argument, NULL, OPT_SSH_PORT },
		{ "ssh-user", required_argument, NULL, OPT_SSH_USER },
		{ "ssh-auth", required_argument, NULL, OPT_SSH_AUTH },
		{ "ssh-key", required_argument, NULL, OPT_SSH_KEY },
		{ "password-stdin", no_argument, NULL, 'P' },
		{ "no-password", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct connect_args a = { 0 };
	bool pw_stdin = false, no_pw = false;
	int ch, rc = EXIT_USAGE, nflags = 0;
	struct { int ch; char *arg; } *flags = xcalloc((size_t)argc + 1, sizeof *flags);
	config_init(&a.cfg);
	optind = 0; /* reinitialise: permute, so flags may follow the URI */
	while ((ch = getopt_long(argc, argv, "h:p:U:d:n:s:C:E:K:rt:Pw", opts, NULL)) != -1) {
		switch (ch) {
		case 'P': pw_stdin = true; break;
		case 'w': no_pw = true; break;
		case '?': goto out;
		default:
			flags[nflags].ch = ch;
			flags[nflags].arg = optarg ? xstrdup(optarg) : NULL;
			nflags++;
		}
	}
	if (argc - optind > 1)
		goto out;
	if (argc - optind == 1 && !cfg_is_uri(argv[optind])) {
		/* NAME|ID of a saved connection */
		if (nflags > 0) {
			fprintf(stderr, "error: settings flags describe a quick connection, not a saved one\n"
					"hint: change a saved connection with `tuskctl connections edit`\n");
			goto out;
		}
		rc = connect_saved(argv[optind], pw_stdin, no_pw);
		goto out;
	}
	if (argc - optind == 1 && cfg_uri(&a.cfg, argv[optind]) < 0)
		goto out;
	for (int i = 0; i < nflags; i++)
		if (cfg_option(&a.cfg, flags[i].ch, flags[i].arg) < 0)
			goto out;
	cfg_defaults(&a.cfg);
	if ((a.cfg.ssl_client_cert == NULL) != (a.cfg.ssl_client_key == NULL)) {
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
		char *prompt = xasprintf("Password for %s@%s:%d/%s: ", a.cfg.username, a.cfg.host,
		    a.cfg.port, a.cfg.database);
		a.password = read_secret(prompt);
		free(prompt);
		if (a.password)
			rc = ctl_call_quiet("connect", pack_connect, &a, connect_result, &a);
	}
	if (rc != EXIT_OK)
		ctl_print_error(&ctl_last_error);
out:
	for (int i = 0; i < nflags; i++)
		free(flags[i].arg);
	free(flags);
	config_free(&a.cfg);
	secret_free(a.password);
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

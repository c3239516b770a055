/*
 * conn-spec.h — a connection's settings and secrets from tuskctl's command
 * line, for every command that takes one (connect; saving a connection
 * reuses the same options).
 *
 * Secrets never come from argv: --password-stdin, --ssh-password-stdin,
 * --ssh-passphrase-stdin and --ssl-key-passphrase-stdin read one line each
 * from stdin, in that order; PGPASSWORD gives the database password; on a
 * terminal, prompt.c asks for the one a Credential error names.
 */
#ifndef TUSK_CONN_SPEC_H
#define TUSK_CONN_SPEC_H

#include <getopt.h>
#include <stdbool.h>

#include <msgpack.h>

struct tusk_error;

#include "config.h"
#include "ctl.h" /* CFG_SSH* */

enum {
	OPT_SSH_PASSWORD_STDIN = 0x100,
	OPT_SSH_PASSPHRASE_STDIN,
	OPT_SSL_KEY_PASSPHRASE_STDIN,
};

/* The long options, to put into a command's own getopt table. */
#define CONN_SPEC_LONGOPTS \
	CFG_COMMON_LONGOPTS, \
	{ "password-stdin", no_argument, NULL, 'P' }, \
	{ "no-password", no_argument, NULL, 'w' }, \
	{ "ssh-password-stdin", no_argument, NULL, OPT_SSH_PASSWORD_STDIN }, \
	{ "ssh-passphrase-stdin", no_argument, NULL, OPT_SSH_PASSPHRASE_STDIN }, \
	{ "ssl-key-passphrase-stdin", no_argument, NULL, OPT_SSL_KEY_PASSPHRASE_STDIN }
#define CONN_SPEC_SHORTOPTS "h:p:U:d:n:s:rt:Pw"
#define CONN_SPEC_USAGE \
	"[URI] [-h HOST] [-p PORT] [-U USER] [-d DB] [-n NAME] [--ssl-mode M] [--ssl-ca FILE]\n" \
	"          [--ssl-cert FILE --ssl-key FILE [--ssl-key-passphrase-stdin]] [--read-only]\n" \
	"          [--statement-timeout MS] [--password-stdin | --no-password]\n" \
	"          [--ssh USER@HOST[:PORT] [--ssh-key FILE [--ssh-passphrase-stdin] | --ssh-agent |\n" \
	"           --ssh-password-stdin]]"

struct conn_spec {
	/* the settings, through cmd-store.c's cfg_option / cfg_uri (one parser
	 * for every command that takes connection settings) */
	struct tusk_config cfg;
	struct { int ch; char *arg; } *flags; /* applied after the URI */
	size_t nflags;
	int ssh_auth_given; /* CFG_SSH_KEY or CFG_SSH_AGENT when given */
	/* secrets, and where they come from */
	struct tusk_secrets sec;
	bool pw_stdin, no_pw, ssh_pw_stdin, ssh_pp_stdin, ssl_pp_stdin;
};
/* Were any settings given (rather than only secrets)? */
bool conn_spec_has_settings(const struct conn_spec *s);

void conn_spec_init(struct conn_spec *s);
void conn_spec_free(struct conn_spec *s);
/* One getopt result: 1 taken, 0 not a connection option, -1 bad value (said on stderr). */
int conn_spec_option(struct conn_spec *s, int ch, const char *arg);
/* After the options: an optional URI, defaults, checks, stdin secrets.
 * 0, or -1 after saying why on stderr (a usage error). */
int conn_spec_finish(struct conn_spec *s, const char *uri);
/* The config map (the secrets: ctl_secrets_pack on sec). */
void conn_spec_pack_config(msgpack_packer *pk, const struct conn_spec *s);
/* "user@host:port/db" for messages (caller frees). */
char *conn_spec_display(const struct conn_spec *s);

#endif

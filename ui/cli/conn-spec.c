/*
 * conn-spec.c — a connection's settings and secrets from the command line
 * (see conn-spec.h). The settings themselves (options, a libpq URI, the SSH
 * spec user@host[:port]) go through cmd-store.c's cfg_option and cfg_uri,
 * the one parser every command that takes connection settings shares; this
 * file adds what a connect needs on top: secrets from stdin or the
 * terminal, their checks, and the wire form.
 *
 * A URI holding a password is refused (cfg_uri): argv is visible to every
 * user of the machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn-spec.h"
#include "ctl.h"
#include "msg.h"
#include "util.h"

/* An empty connection spec with the config's defaults. */
void
conn_spec_init(struct conn_spec *s)
{
	memset(s, 0, sizeof *s);
	config_init(&s->cfg);
}

/* Free a connection spec (its secrets wiped) and reset it. */
void
conn_spec_free(struct conn_spec *s)
{
	config_free(&s->cfg);
	for (size_t i = 0; i < s->nflags; i++)
		free(s->flags[i].arg);
	free(s->flags);
	secrets_free(&s->sec);
	conn_spec_init(s);
}

bool
conn_spec_has_settings(const struct conn_spec *s)
{
	return s->nflags > 0;
}

int
conn_spec_option(struct conn_spec *s, int ch, const char *arg)
{
	switch (ch) {
	case 'P': s->pw_stdin = true; return 1;
	case 'w': s->no_pw = true; return 1;
	case OPT_SSH_PASSWORD_STDIN: s->ssh_pw_stdin = true; return 1;
	case OPT_SSH_PASSPHRASE_STDIN: s->ssh_pp_stdin = true; return 1;
	case OPT_SSL_KEY_PASSPHRASE_STDIN: s->ssl_pp_stdin = true; return 1;
	case 'h': case 'p': case 'U': case 'd': case 'n': case 's': case 'C': case 'E': case 'K':
	case 'r': case 't': case CFG_SSH: case CFG_SSH_KEY: case CFG_SSH_AGENT:
		/* settings apply after the URI, so a flag wins over it */
		if (ch == CFG_SSH_KEY || ch == CFG_SSH_AGENT) {
			if (s->ssh_auth_given && s->ssh_auth_given != ch) {
				fprintf(stderr, "error: choose one of --ssh-key FILE and --ssh-agent\n");
				return -1;
			}
			s->ssh_auth_given = ch;
		}
		s->flags = xrealloc(s->flags, (s->nflags + 1) * sizeof *s->flags);
		s->flags[s->nflags].ch = ch;
		s->flags[s->nflags].arg = arg ? xstrdup(arg) : NULL;
		s->nflags++;
		return 1;
	default:
		return 0;
	}
}

int
conn_spec_finish(struct conn_spec *s, const char *uri)
{
	if (uri && cfg_uri(&s->cfg, uri) < 0)
		return -1;
	for (size_t i = 0; i < s->nflags; i++)
		if (cfg_option(&s->cfg, s->flags[i].ch, s->flags[i].arg) < 0)
			return -1;
	cfg_defaults(&s->cfg);
	const struct tusk_config *c = &s->cfg;
	if ((c->ssl_client_cert == NULL) != (c->ssl_client_key == NULL)) {
		fprintf(stderr, "error: --ssl-cert and --ssl-key go together\n");
		return -1;
	}
	if (s->ssl_pp_stdin && c->ssl_client_key == NULL) {
		fprintf(stderr, "error: --ssl-key-passphrase-stdin is for the key of --ssl-key\n");
		return -1;
	}
	if ((c->ssh == NULL || c->ssh->host == NULL) &&
	    (s->ssh_auth_given || s->ssh_pw_stdin || s->ssh_pp_stdin)) {
		fprintf(stderr, "error: the --ssh-* options need --ssh USER@HOST[:PORT]\n");
		return -1;
	}
	if (c->ssh && !s->ssh_auth_given) {
		/* no key, no agent: a password (from stdin or the prompt) */
		free(c->ssh->auth_type);
		c->ssh->auth_type = xstrdup("password");
	}
	const char *auth = c->ssh ? c->ssh->auth_type : "";
	bool key = strcmp(auth, "key_file") == 0, agent = strcmp(auth, "agent") == 0;
	if ((agent && (s->ssh_pw_stdin || s->ssh_pp_stdin)) || (key && s->ssh_pw_stdin) ||
	    (!key && s->ssh_pp_stdin)) {
		fprintf(stderr, "error: choose one SSH authentication: --ssh-key FILE [--ssh-passphrase-stdin], --ssh-agent, or a password (--ssh-password-stdin or the prompt)\n");
		return -1;
	}
	/* one line each, in this order */
	if (s->pw_stdin && (s->sec.password = read_stdin_line()) == NULL) {
		fprintf(stderr, "error: --password-stdin: no line on stdin\n");
		return -1;
	}
	char **ssh_dst = key ? &s->sec.ssh_key_passphrase : &s->sec.ssh_password;
	if ((s->ssh_pw_stdin || s->ssh_pp_stdin) && (*ssh_dst = read_stdin_line()) == NULL) {
		fprintf(stderr, "error: --ssh-%s-stdin: no line on stdin\n", s->ssh_pw_stdin ? "password" : "passphrase");
		return -1;
	}
	if (s->ssl_pp_stdin && (s->sec.ssl_key_passphrase = read_stdin_line()) == NULL) {
		fprintf(stderr, "error: --ssl-key-passphrase-stdin: no line on stdin\n");
		return -1;
	}
	if (s->sec.password == NULL && !s->no_pw && !s->pw_stdin && getenv("PGPASSWORD"))
		s->sec.password = xstrdup(getenv("PGPASSWORD"));
	return 0;
}

void
conn_spec_pack_config(msgpack_packer *pk, const struct conn_spec *s)
{
	config_pack(pk, &s->cfg);
}

char *
conn_spec_display(const struct conn_spec *s)
{
	return config_display(&s->cfg);
}

/*
 * prompt.c — asking for what a connection needs, and trying again: one
 * loop for every command that connects (connect of a quick or a saved
 * connection, connections test).
 *
 * After a failed attempt, on a terminal: a Credential error names the
 * secret it needs in its code (28P01 or none: the database password;
 * ssh_password, ssh_key_passphrase, ssl_key_passphrase), which is asked
 * for without echo; an unknown SSH host key is shown and trusted if the
 * user says so (ask_trust). Then the attempt is made again, a few times at
 * most. Secrets given on stdin or in PGPASSWORD go first; one the server
 * refused is asked for again on the terminal.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "util.h"

#define PROMPT_TRIES 4

/* How many secrets are given. */
int
ctl_secrets_count(const struct tusk_secrets *s)
{
	return (s->password != NULL) + (s->ssh_password != NULL) + (s->ssh_key_passphrase != NULL) +
	    (s->ssl_key_passphrase != NULL);
}

/* Pack key: value when value is given. */
static void
pack_secret(msgpack_packer *pk, const char *key, const char *value)
{
	if (value == NULL)
		return;
	mp_pack_key(pk, key);
	mp_pack_cstr(pk, value);
}

/* The given secrets as keys of the params map. */
void
ctl_secrets_pack(msgpack_packer *pk, const struct tusk_secrets *s)
{
	pack_secret(pk, "password", s->password);
	pack_secret(pk, "ssh_password", s->ssh_password);
	pack_secret(pk, "ssh_key_passphrase", s->ssh_key_passphrase);
	pack_secret(pk, "ssl_key_passphrase", s->ssl_key_passphrase);
}

/* Ask for the secret a Credential error names (see ctl.h). */
bool
ctl_secret_prompt(const struct tusk_config *cfg, struct tusk_secrets *s, const struct tusk_error *e,
    bool no_pw)
{
	if (e->kind != TE_CREDENTIAL || e->host_key != NULL || !isatty(STDIN_FILENO))
		return false;
	const char *code = e->code ? e->code : "";
	const struct tusk_ssh *ssh = cfg->ssh;
	const char *auth = ssh && ssh->auth_type ? ssh->auth_type : "";
	char **dst;
	char *prompt;
	if (strcmp(code, "ssh_password") == 0 && strcmp(auth, "password") == 0) {
		dst = &s->ssh_password;
		prompt = xasprintf("SSH password for %s@%s: ", ssh->username ? ssh->username : "",
		    ssh->host ? ssh->host : "");
	} else if (strcmp(code, "ssh_key_passphrase") == 0 && strcmp(auth, "key_file") == 0) {
		dst = &s->ssh_key_passphrase;
		prompt = xasprintf("Passphrase for SSH key %s: ", ssh->key_path ? ssh->key_path : "");
	} else if (strcmp(code, "ssl_key_passphrase") == 0 && cfg->ssl_client_key) {
		dst = &s->ssl_key_passphrase;
		prompt = xasprintf("Passphrase for TLS key %s: ", cfg->ssl_client_key);
	} else if ((strcmp(code, "28P01") == 0 || *code == '\0') && !no_pw) {
		dst = &s->password;
		char *d = config_display(cfg);
		prompt = xasprintf("Password for %s: ", d);
		free(d);
	} else {
		return false;
	}
	/* one given was refused (or none was): ask on the terminal */
	secret_free(*dst);
	*dst = read_secret(prompt);
	free(prompt);
	return *dst != NULL;
}

/* The prompt-and-retry loop (see ctl.h). */
int
ctl_retry_asking(int (*attempt)(void *arg), void *arg, const struct tusk_config *cfg,
    struct tusk_secrets *s, bool no_pw)
{
	int rc = attempt(arg);
	for (int tries = 1; rc != EXIT_OK && tries < PROMPT_TRIES; tries++) {
		if (!ctl_secret_prompt(cfg, s, &ctl_last_error, no_pw) && !ask_trust(&ctl_last_error))
			break;
		rc = attempt(arg);
	}
	return rc;
}

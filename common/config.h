/*
 * config.h — a saved or quick connection's settings (SPEC.md's
 * ConnectionConfig) and the secrets that travel beside it, never inside it.
 *
 * The wire form is a map of snake_case fields; config_parse() checks types
 * (Validation error naming the field, prefixed "config."), config_validate()
 * checks meaning (port range, ssl_mode, host syntax, files, SSH fields).
 */
#ifndef TUSK_CONFIG_H
#define TUSK_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

struct tusk_error;

struct tusk_ssh {
	char *host;
	int port;	     /* default 22 */
	char *username;
	char *auth_type;     /* password | key_file | agent */
	char *key_path;	     /* key_file */
};

struct tusk_config {
	char *id;
	char *name;
	char *host;
	int port;
	char *database;
	char *username;
	char *ssl_mode;	       /* disable | prefer | require | verify-ca | verify-full */
	char *ssl_ca_cert;
	char *ssl_client_cert;
	char *ssl_client_key;
	struct tusk_ssh *ssh;  /* NULL: direct */
	bool read_only;
	int64_t statement_timeout_ms; /* -1: none */
	char *created_at;
	char *updated_at;
};

struct tusk_secrets {
	char *password;
	char *ssh_password;
	char *ssh_key_passphrase;
	/* where they came from (the broker's saved connections) */
	bool password_stored;	/* looked up in the keychain / session store */
	bool saved;		/* a saved connection's secrets were looked up */
	char *store_note;	/* why the keychain could not be read, if it could not */
	char *ssl_key_passphrase; /* of ssl_client_key (libpq's sslpassword) */
};

void config_init(struct tusk_config *c);
void config_free(struct tusk_config *c);
void config_copy(struct tusk_config *dst, const struct tusk_config *src);
/* Types of every field; defaults filled in. */
int config_parse(const msgpack_object *map, struct tusk_config *c, struct tusk_error *e);
/* What config_validate asks beyond the fields' meaning. */
#define CONFIG_NEED_NAME 0x1 /* a saved connection needs a name */
#define CONFIG_KEY_LATER 0x2 /* the SSH key file may be unreadable now (saving: it may be on
			      * a drive not mounted yet); config_key_check says why */
/* Meaning of every field (flags: CONFIG_*). */
int config_validate(const struct tusk_config *c, unsigned flags, struct tusk_error *e);
/* Can the SSH key file be read now? 0 (or no key file), or -1 with why. */
int config_key_check(const struct tusk_config *c, struct tusk_error *e);
void config_pack(msgpack_packer *pk, const struct tusk_config *c);
/* "user@host:port/db" (caller frees). */
char *config_display(const struct tusk_config *c);
/* A host name (RFC 1123), an IP literal, or a socket directory. */
bool config_host_valid(const char *host);
bool config_ssl_mode_valid(const char *mode);
/* The form of a name that uniqueness is decided on: case-folded, so "Prod"
 * and "prod" are the same name (caller frees). */
char *config_name_fold(const char *name);

void secrets_free(struct tusk_secrets *s);
/* Move secrets from one struct to another (src is left empty). */
void secrets_move(struct tusk_secrets *dst, struct tusk_secrets *src);

#endif

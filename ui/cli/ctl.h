/*
 * ctl.h — tuskctl, the command-line client of the broker.
 *
 * Exit codes scripts can trust: 0 success, 1 an error from the broker (or
 * reaching it), 2 a usage error. `--json` makes every command print JSON.
 */
#ifndef TUSK_CTL_H
#define TUSK_CTL_H

#include <stdbool.h>
#include <stdio.h>

#include <msgpack.h>

#include "error.h"
#include "rpc.h"
#include "util.h"

#define EXIT_OK 0
#define EXIT_ERR 1
#define EXIT_USAGE 2

struct ctl_opts {
	bool json;
	bool no_start;
};
extern struct ctl_opts ctl;

/* A command: argv[0] is its name. Returns an exit code. */
struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
};

/* link.c: the broker connection */
typedef void (*ctl_result_fn)(const msgpack_object *result, void *arg);
typedef void (*ctl_notify_fn)(const struct rpc_msg *m, void *arg);
/* Pack the params array of a call. */
typedef void (*ctl_params_fn)(msgpack_packer *pk, void *arg);

/* Look at a complete message's bytes first; return true to take it. */
typedef bool (*ctl_raw_fn)(const uint8_t *p, size_t len, void *arg);
void ctl_set_raw(ctl_raw_fn fn, void *arg);

int ctl_connect(void);
void ctl_disconnect(void);
/*
 * Call a method and run the loop until it answers. On success on_result
 * sees the result; on error the error is printed (or kept, see
 * ctl_last_error) and 1 is returned. Notifications go to on_notify.
 */
int ctl_call(const char *method, ctl_params_fn params, void *params_arg, ctl_result_fn on_result,
    void *result_arg, ctl_notify_fn on_notify, void *notify_arg);
/* Like ctl_call, but do not print the error: it is left in ctl_last_error. */
int ctl_call_quiet(const char *method, ctl_params_fn params, void *params_arg,
    ctl_result_fn on_result, void *result_arg);
extern struct tusk_error ctl_last_error;
/* After a call: deliver notifications until ^C (0) or the broker leaves (1). */
int ctl_wait_notifications(ctl_notify_fn fn, void *arg);
/* Send a second request while a call is running (e.g. cancel on ^C). */
void ctl_send(const char *method, ctl_params_fn params, void *params_arg);
/* Run a callback on SIGINT while a call runs (NULL: default). */
void ctl_on_interrupt(void (*fn)(void *), void *arg);
void ctl_print_error(const struct tusk_error *e);
/* Params helpers */
void pack_no_params(msgpack_packer *pk, void *arg);

/* render.c: values and output formats */
void json_value(FILE *f, const msgpack_object *o);
void json_string(FILE *f, const char *s, size_t n);
/* Text of a value for tables and CSV (nil gives null_text). */
void text_value(struct strbuf *sb, const msgpack_object *o, const char *null_text);
void csv_field(FILE *f, const char *s, size_t n);
/* Print a result that is a map or an array of maps, as JSON or aligned. */
void print_object(const msgpack_object *o);

struct table;
struct table *table_new(const char *const *headers, int ncols);
void table_add(struct table *t, char **cells); /* takes the strings */
void table_print(struct table *t, FILE *f);
void table_free(struct table *t);

/* Resolve a connection argument (id, id prefix or name; NULL: the only one). */
char *resolve_connection(const char *arg);

/* Read a secret from the terminal without echo (NULL if no terminal). */
char *read_secret(const char *prompt);
/* Read one line from stdin (for --password-stdin). */
char *read_stdin_line(void);
/* Read all of stdin (SQL given as -). */
char *read_all_stdin(void);

/* cmd-store.c: connection settings from a URI and flags */
struct tusk_config;
enum {
	CFG_SSH_HOST = 300,
	CFG_SSH_PORT,
	CFG_SSH_USER,
	CFG_SSH_AUTH,
	CFG_SSH_KEY,
	CFG_SSH,	/* --ssh USER@HOST[:PORT] */
	CFG_SSH_AGENT,	/* --ssh-agent */
	OPT_NO_SSH,
	OPT_NO_SSL_CA,
	OPT_NO_CLIENT_CERT,
	OPT_READ_WRITE,
	OPT_NO_TIMEOUT,
};
/* The settings every command that takes a connection accepts. */
#define CFG_COMMON_LONGOPTS \
	{ "host", required_argument, NULL, 'h' }, \
	{ "port", required_argument, NULL, 'p' }, \
	{ "username", required_argument, NULL, 'U' }, \
	{ "dbname", required_argument, NULL, 'd' }, \
	{ "name", required_argument, NULL, 'n' }, \
	{ "ssl-mode", required_argument, NULL, 's' }, \
	{ "ssl-ca", required_argument, NULL, 'C' }, \
	{ "ssl-cert", required_argument, NULL, 'E' }, \
	{ "ssl-key", required_argument, NULL, 'K' }, \
	{ "read-only", no_argument, NULL, 'r' }, \
	{ "statement-timeout", required_argument, NULL, 't' }, \
	{ "ssh", required_argument, NULL, CFG_SSH }, \
	{ "ssh-key", required_argument, NULL, CFG_SSH_KEY }, \
	{ "ssh-agent", no_argument, NULL, CFG_SSH_AGENT }
/* Apply one option to c: 1 done, 0 not a settings option, -1 bad value. */
int cfg_option(struct tusk_config *c, int ch, const char *arg);
/* Apply a libpq URI or conninfo string (a password in it is refused). */
int cfg_uri(struct tusk_config *c, const char *uri);
/* Does an argument look like a URI or conninfo rather than a name? */
bool cfg_is_uri(const char *arg);
/* localhost, $USER, a database named like the user, ssl_mode prefer. */
void cfg_defaults(struct tusk_config *c);
/* A saved connection by name (any case), id, or unique id prefix. */
int saved_resolve(const char *arg, struct tusk_config *ret);
/* tuskctl connect NAME|ID */
int connect_saved(const char *arg, bool pw_stdin, bool no_pw);
/* An unknown SSH host key in e, on a terminal: show it, ask, trust it. */
bool ask_trust(const struct tusk_error *e);

/* prompt.c: asking for what a connection needs, and trying again */
struct tusk_secrets;
/* The secrets given, as extra keys of a params map (and how many). */
int ctl_secrets_count(const struct tusk_secrets *s);
void ctl_secrets_pack(msgpack_packer *pk, const struct tusk_secrets *s);
/* On a terminal, after a Credential error e: ask for the secret e names
 * (into s); true when one was read, so the call is worth repeating. */
bool ctl_secret_prompt(const struct tusk_config *cfg, struct tusk_secrets *s, const struct tusk_error *e,
    bool no_pw);
/*
 * The one prompt-and-retry loop: attempt (EXIT_OK, or EXIT_ERR with the
 * failure in ctl_last_error, not printed); after a failure, on a terminal,
 * ask for the secret it names or whether to trust an unknown SSH host key,
 * and attempt again, a few times at most. The last status is returned; the
 * caller reports ctl_last_error.
 */
int ctl_retry_asking(int (*attempt)(void *arg), void *arg, const struct tusk_config *cfg,
    struct tusk_secrets *s, bool no_pw);

/* commands */
int cmd_health(int, char **);
int cmd_status(int, char **);
int cmd_log_level(int, char **);
int cmd_describe(int, char **);
int cmd_methods(int, char **);
int cmd_schema(int, char **);
int cmd_shutdown(int, char **);
int cmd_logs(int, char **);
int cmd_connect(int, char **);
int cmd_disconnect(int, char **);
int cmd_query(int, char **);
int cmd_cancel(int, char **);
int cmd_export(int, char **);
int cmd_import(int, char **);
int cmd_running(int, char **);
int cmd_workers(int, char **);
int cmd_top(int, char **);
int cmd_kill(int, char **);
int cmd_events(int, char **);
int cmd_keychain(int, char **);
int cmd_connections(int, char **);
int cmd_prefs(int, char **);
int cmd_trust_host_key(int, char **);
int cmd_history(int, char **);
int cmd_saved(int, char **);
int cmd_table(int, char **);
int cmd_activity(int, char **);
int cmd_backend(int, char **);

#endif

/*
 * test_config.c — connection settings (config.c): every type rule of
 * config_parse and every meaning rule of config_validate, host syntax,
 * files that must be readable, the SSH block, and pack/parse/copy round
 * trips. Files the rules look at live in a private temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "mpbuild.h"
#include "util.h"

static char dir[64];
static char ca[128], cert[128], key[128], sshkey[128], missing[128];

/* A file with some content. */
static void
touch(const char *path)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("-----BEGIN TEST-----\n", f);
	fclose(f);
}

static int
files_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/tusk-cfg-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(ca, sizeof ca, "%s/ca.crt", dir);
	snprintf(cert, sizeof cert, "%s/client.crt", dir);
	snprintf(key, sizeof key, "%s/client.key", dir);
	snprintf(sshkey, sizeof sshkey, "%s/id_ed25519", dir);
	snprintf(missing, sizeof missing, "%s/missing.crt", dir);
	touch(ca);
	touch(cert);
	touch(key);
	touch(sshkey);
	return 0;
}

static int
files_teardown(void **state)
{
	(void)state;
	unlink(ca);
	unlink(cert);
	unlink(key);
	unlink(sshkey);
	return rmdir(dir);
}

/*
 * Parse the notation, then validate it. want NULL: both must succeed;
 * otherwise the first failure must be a Validation error whose message
 * starts with want.
 */
static void expect_cfg(unsigned flags, const char *want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
expect_cfg(unsigned flags, const char *want, const char *fmt, ...)
{
	va_list ap;
	char *text;
	struct mpb b;
	struct tusk_config c;
	struct tusk_error e = TUSK_ERROR_INIT;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	int rc = config_parse(mpb_parse(&b, "%s", text), &c, &e);
	if (rc == 0) {
		rc = config_validate(&c, flags, &e);
		config_free(&c);
	} else {
		/* a failed parse leaves nothing allocated behind */
		assert_null(c.host);
		assert_null(c.ssh);
	}
	if (want == NULL && rc != 0)
		fail_msg("refused %s: %s", text, e.message);
	if (want != NULL) {
		if (rc == 0)
			fail_msg("accepted %s (want \"%s\")", text, want);
		assert_int_equal(e.kind, TE_VALIDATION);
		if (strncmp(e.message, want, strlen(want)) != 0)
			fail_msg("%s: \"%s\", want \"%s...\"", text, e.message, want);
	}
	terr_clear(&e);
	mpb_free(&b);
	free(text);
}

#define BASE "host: localhost, database: app, username: me"

/* Defaults of a minimal config. */
static void
parse_defaults(void **state)
{
	struct mpb b;
	struct tusk_config c;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	assert_int_equal(config_parse(mpb_parse(&b, "{" BASE "}"), &c, &e), 0);
	assert_string_equal(c.host, "localhost");
	assert_string_equal(c.database, "app");
	assert_string_equal(c.username, "me");
	assert_int_equal(c.port, 5432);
	assert_string_equal(c.ssl_mode, "prefer");
	assert_false(c.read_only);
	assert_int_equal(c.statement_timeout_ms, -1);
	assert_null(c.ssh);
	assert_null(c.id);
	assert_null(c.name);
	assert_null(c.ssl_ca_cert);
	assert_int_equal(config_validate(&c, false, &e), 0);
	/* a saved connection needs a name */
	assert_int_equal(config_validate(&c, true, &e), -1);
	assert_string_equal(e.message, "name: must not be empty");
	config_free(&c);
	config_free(&c); /* freeing twice is harmless */
	mpb_free(&b);
	/* nil for every optional field is the same as absent */
	assert_int_equal(config_parse(mpb_parse(&b, "{" BASE ", id: nil, name: nil, port: nil,"
	    " ssl_mode: nil, ssl_ca_cert: nil, ssl_client_cert: nil, ssl_client_key: nil,"
	    " ssh_tunnel: nil, read_only: nil, statement_timeout_ms: nil, created_at: nil,"
	    " updated_at: nil}"), &c, &e), 0);
	assert_int_equal(c.port, 5432);
	assert_string_equal(c.ssl_mode, "prefer");
	assert_int_equal(c.statement_timeout_ms, -1);
	config_free(&c);
	mpb_free(&b);
	terr_clear(&e);
}

/* Types: the message names the field with its "config." path. */
static void
parse_types(void **state)
{
	(void)state;
	expect_cfg(false, "config.expected a map of named arguments", "[]");
	expect_cfg(false, "config.host: required", "{database: d, username: u}");
	expect_cfg(false, "config.database: required", "{host: h, username: u}");
	expect_cfg(false, "config.username: required", "{host: h, database: d}");
	expect_cfg(false, "config.host: expected string", "{host: 1, database: d, username: u}");
	expect_cfg(false, "config.port: expected int", "{" BASE ", port: \"5432\"}");
	expect_cfg(false, "config.port: 2147483648 is not between 1 and 65535", "{" BASE ", port: 2147483648}");
	expect_cfg(false, "config.port: -2147483649 is not between 1 and 65535", "{" BASE ", port: -2147483649}");
	expect_cfg(false, "config.read_only: expected bool", "{" BASE ", read_only: 1}");
	expect_cfg(false, "config.ssh_tunnel: expected map", "{" BASE ", ssh_tunnel: true}");
	expect_cfg(false, "config.statement_timeout_ms: expected int",
	    "{" BASE ", statement_timeout_ms: 1.5}");
	expect_cfg(false, "config.statement_timeout_ms: must be 0 (none) or a positive",
	    "{" BASE ", statement_timeout_ms: -1}");
	expect_cfg(false, "config.unknown argument 'password'", "{" BASE ", password: x}");
	expect_cfg(false, "config.name: expected string", "{" BASE ", name: \"a\\0b\"}");
	expect_cfg(false, "config.host: given twice", "{" BASE ", host: h}");
	/* the SSH block has its own path */
	expect_cfg(false, "config.ssh_tunnel.host: required",
	    "{" BASE ", ssh_tunnel: {username: u, auth_method: {type: agent}}}");
	expect_cfg(false, "config.ssh_tunnel.auth_method: required",
	    "{" BASE ", ssh_tunnel: {host: s, username: u}}");
	expect_cfg(false, "config.ssh_tunnel.auth_method: expected map",
	    "{" BASE ", ssh_tunnel: {host: s, username: u, auth_method: agent}}");
	expect_cfg(false, "config.ssh_tunnel.auth_method.type: required",
	    "{" BASE ", ssh_tunnel: {host: s, username: u, auth_method: {}}}");
	expect_cfg(false, "config.ssh_tunnel.auth_method.unknown argument 'key'",
	    "{" BASE ", ssh_tunnel: {host: s, username: u, auth_method: {type: agent, key: k}}}");
	expect_cfg(false, "config.ssh_tunnel.port: 4294967296 is not between 1 and 65535",
	    "{" BASE ", ssh_tunnel: {host: s, username: u, port: 4294967296, auth_method: {type: agent}}}");
	/* local_port was never used and is gone: refused, saying so */
	expect_cfg(false, "config.ssh_tunnel.local_port: not a setting",
	    "{" BASE ", ssh_tunnel: {host: s, username: u, local_port: 15432, auth_method: {type: agent}}}");
	expect_cfg(false, NULL, /* as old versions packed "automatic" */
	    "{" BASE ", ssh_tunnel: {host: s, username: u, local_port: nil, auth_method: {type: agent}}}");
	expect_cfg(false, "config.ssh_tunnel.unknown argument 'password'",
	    "{" BASE ", ssh_tunnel: {host: s, username: u, password: p, auth_method: {type: password}}}");
}

/* name: required for saved connections, not blank, at most 200 characters. */
static void
validate_name(void **state)
{
	char n200[201], n201[202];
	(void)state;
	memset(n200, 'n', 200);
	n200[200] = '\0';
	memset(n201, 'n', 201);
	n201[201] = '\0';
	expect_cfg(true, NULL, "{" BASE ", name: prod}");
	expect_cfg(true, "name: must not be empty", "{" BASE ", name: \"\"}");
	expect_cfg(true, "name: must not be empty", "{" BASE ", name: \" \\t \"}");
	expect_cfg(true, NULL, "{" BASE ", name: \" x \"}");
	expect_cfg(true, NULL, "{" BASE ", name: \"%s\"}", n200);
	expect_cfg(true, "name: at most 200 characters", "{" BASE ", name: \"%s\"}", n201);
	/* the length rule holds for quick connections too */
	expect_cfg(false, "name: at most 200 characters", "{" BASE ", name: \"%s\"}", n201);
}

/* A name of n characters made of labels of at most 63. */
static char *
long_name(size_t n, size_t label)
{
	char *s = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = (i % (label + 1) == label) ? '.' : 'a';
	s[n] = '\0';
	if (s[n - 1] == '.')
		s[n - 1] = 'b';
	return s;
}

static void
validate_host(void **state)
{
	(void)state;
	char *n253 = long_name(253, 63), *n254 = long_name(254, 63), *n300 = long_name(300, 63);
	char *label63 = long_name(63, 63), *label64 = long_name(64, 64);
	char sock99[101], sock100[102];
	sock99[0] = sock100[0] = '/';
	memset(sock99 + 1, 's', 98);
	sock99[99] = '\0';
	memset(sock100 + 1, 's', 99);
	sock100[100] = '\0';

	const char *good[] = {
		"localhost", "db.example.com", "db.example.com.", "a", "A-1.b-2.C",
		"xn--bcher-kva.example", "123abc.com", "1a", "db1", "192.0.2.10", "0.0.0.0",
		"255.255.255.255", "::1", "::", "2001:db8::1", "::ffff:192.0.2.1",
		"fe80::1:2:3:4", "/var/run/postgresql", "/tmp", "/", n253, label63, sock99,
	};
	const char *bad[] = {
		"", "a..b", "-x", "x-", "a.-b", "a-.b", "999.1.1.1", "256.0.0.1", "1.2.3",
		"1.2.3.4.5", "1.2.3.4.", "123", "a_b", "a b", "db:5432", "[::1]", "::g",
		"2001:db8::1::2", ".", "..", ".a", "a..", "caf\\xc3\\xa9.fr", "a\\tb",
		"fe80::1%eth0", "http://db", n254, n300, label64, sock100,
	};
	for (size_t i = 0; i < nitems(good); i++) {
		assert_true(config_host_valid(good[i]));
		expect_cfg(false, NULL, "{host: \"%s\", database: d, username: u}", good[i]);
	}
	for (size_t i = 0; i < nitems(bad); i++)
		expect_cfg(false, "host: '", "{host: \"%s\", database: d, username: u}", bad[i]);
	assert_false(config_host_valid(NULL));
	assert_false(config_host_valid("a..b"));
	/* the message quotes the host and the hint gives examples */
	struct mpb b;
	struct tusk_config c;
	struct tusk_error e = TUSK_ERROR_INIT;
	assert_int_equal(config_parse(mpb_parse(&b, "{host: \"a..b\", database: d, username: u}"),
	    &c, &e), 0);
	assert_int_equal(config_validate(&c, false, &e), -1);
	assert_string_equal(e.message, "host: 'a..b' is not a valid host name or IP address");
	assert_non_null(strstr(e.hint, "db.example.com"));
	config_free(&c);
	mpb_free(&b);
	terr_clear(&e);
	free(n253);
	free(n254);
	free(n300);
	free(label63);
	free(label64);
}

static void
validate_port_user_db(void **state)
{
	(void)state;
	expect_cfg(false, NULL, "{" BASE ", port: 1}");
	expect_cfg(false, NULL, "{" BASE ", port: 65535}");
	expect_cfg(false, "port: 0 is not between 1 and 65535", "{" BASE ", port: 0}");
	expect_cfg(false, "port: 65536 is not between 1 and 65535", "{" BASE ", port: 65536}");
	expect_cfg(false, "port: -1 is not between 1 and 65535", "{" BASE ", port: -1}");
	expect_cfg(false, "username: must not be empty", "{host: h, database: d, username: \"\"}");
	expect_cfg(false, "database: must not be empty", "{host: h, database: \"\", username: u}");
}

static void
validate_ssl(void **state)
{
	(void)state;
	const char *modes[] = { "disable", "prefer", "require" };
	for (size_t i = 0; i < nitems(modes); i++)
		expect_cfg(false, NULL, "{" BASE ", ssl_mode: %s}", modes[i]);
	const char *bad[] = { "allow", "Require", "verify_ca", "", "verify-ful" };
	for (size_t i = 0; i < nitems(bad); i++)
		expect_cfg(false, "ssl_mode: '", "{" BASE ", ssl_mode: \"%s\"}", bad[i]);
	assert_false(config_ssl_mode_valid(NULL));

	/* verify modes need a readable CA file, given as an absolute path */
	expect_cfg(false, "ssl_ca_cert: required for ssl_mode verify-ca",
	    "{" BASE ", ssl_mode: verify-ca}");
	expect_cfg(false, "ssl_ca_cert: required for ssl_mode verify-full",
	    "{" BASE ", ssl_mode: verify-full, ssl_ca_cert: \"\"}");
	expect_cfg(false, NULL, "{" BASE ", ssl_mode: verify-ca, ssl_ca_cert: \"%s\"}", ca);
	expect_cfg(false, NULL, "{" BASE ", ssl_mode: verify-full, ssl_ca_cert: \"%s\"}", ca);
	expect_cfg(false, "ssl_ca_cert: cannot read ",
	    "{" BASE ", ssl_mode: verify-full, ssl_ca_cert: \"%s\"}", missing);
	expect_cfg(false, "ssl_ca_cert: 'ca.crt' must be an absolute path",
	    "{" BASE ", ssl_mode: verify-ca, ssl_ca_cert: ca.crt}");
	/* a CA given with a weaker mode is still checked */
	expect_cfg(false, "ssl_ca_cert: cannot read ",
	    "{" BASE ", ssl_mode: require, ssl_ca_cert: \"%s\"}", missing);
	/* an empty CA path with a mode that needs none is no CA */
	expect_cfg(false, NULL, "{" BASE ", ssl_mode: require, ssl_ca_cert: \"\"}");
	/* a directory is readable, but not a certificate the worker can load */
	expect_cfg(false, "ssl_ca_cert: ", "{" BASE ", ssl_mode: verify-ca, ssl_ca_cert: \"%s\"}", dir);
	expect_cfg(false, "ssl_client_key: ", "{" BASE ", ssl_client_cert: \"%s\", ssl_client_key: \"%s\"}",
	    cert, dir);
	expect_cfg(false, "ssh_tunnel.auth_method.path: ",
	    "{" BASE ", ssh_tunnel: {host: s, username: u, auth_method: {type: key_file, path: \"%s\"}}}", dir);

	/* a client certificate needs its key and the other way round */
	expect_cfg(false, NULL, "{" BASE ", ssl_client_cert: \"%s\", ssl_client_key: \"%s\"}",
	    cert, key);
	expect_cfg(false, "ssl_client_key: required with ssl_client_cert",
	    "{" BASE ", ssl_client_cert: \"%s\"}", cert);
	expect_cfg(false, "ssl_client_cert: required with ssl_client_key",
	    "{" BASE ", ssl_client_key: \"%s\"}", key);
	expect_cfg(false, "ssl_client_cert: cannot read ",
	    "{" BASE ", ssl_client_cert: \"%s\", ssl_client_key: \"%s\"}", missing, key);
	expect_cfg(false, "ssl_client_key: cannot read ",
	    "{" BASE ", ssl_client_cert: \"%s\", ssl_client_key: \"%s\"}", cert, missing);
	expect_cfg(false, "ssl_client_key: 'k' must be an absolute path",
	    "{" BASE ", ssl_client_cert: \"%s\", ssl_client_key: k}", cert);
}

static void
validate_statement_timeout(void **state)
{
	(void)state;
	expect_cfg(false, NULL, "{" BASE ", statement_timeout_ms: 0}");
	expect_cfg(false, NULL, "{" BASE ", statement_timeout_ms: 30000}");
	/* PostgreSQL's statement_timeout is an int of milliseconds */
	expect_cfg(false, NULL, "{" BASE ", statement_timeout_ms: 2147483647}");
	expect_cfg(false, "statement_timeout_ms: at most 2147483647",
	    "{" BASE ", statement_timeout_ms: 2147483648}");
	expect_cfg(false, "statement_timeout_ms: at most 2147483647",
	    "{" BASE ", statement_timeout_ms: 9223372036854775807}");
	expect_cfg(false, "config.statement_timeout_ms: expected int",
	    "{" BASE ", statement_timeout_ms: 9223372036854775808}");
	/* a hand-built config is checked too */
	struct tusk_config c;
	struct tusk_error e = TUSK_ERROR_INIT;
	config_init(&c);
	c.host = xstrdup("h");
	c.database = xstrdup("d");
	c.username = xstrdup("u");
	c.ssl_mode = xstrdup("prefer");
	c.statement_timeout_ms = -2;
	assert_int_equal(config_validate(&c, false, &e), -1);
	assert_string_equal(e.message, "statement_timeout_ms: must be >= 0");
	c.statement_timeout_ms = -1;
	assert_int_equal(config_validate(&c, false, &e), 0);
	config_free(&c);
	terr_clear(&e);
}

#define SSH(fields) "{" BASE ", ssh_tunnel: {" fields "}}"

static void
validate_ssh(void **state)
{
	(void)state;
	expect_cfg(false, NULL, SSH("host: bastion, username: u, auth_method: {type: agent}"));
	expect_cfg(false, NULL, SSH("host: \"192.0.2.1\", username: u, auth_method: {type: password}"));
	expect_cfg(false, NULL, SSH("host: \"::1\", port: 2222, username: u,"
	    " auth_method: {type: password}"));
	/* host: a name or an address, never a socket directory */
	expect_cfg(false, "ssh_tunnel.host: 'a..b' is not",
	    SSH("host: \"a..b\", username: u, auth_method: {type: agent}"));
	expect_cfg(false, "ssh_tunnel.host: '/tmp' is not",
	    SSH("host: \"/tmp\", username: u, auth_method: {type: agent}"));
	expect_cfg(false, "ssh_tunnel.host: '' is not",
	    SSH("host: \"\", username: u, auth_method: {type: agent}"));
	expect_cfg(false, "ssh_tunnel.port: 0 is not between 1 and 65535",
	    SSH("host: s, port: 0, username: u, auth_method: {type: agent}"));
	expect_cfg(false, "ssh_tunnel.port: 65536 is not between 1 and 65535",
	    SSH("host: s, port: 65536, username: u, auth_method: {type: agent}"));
	expect_cfg(false, "ssh_tunnel.username: must not be empty",
	    SSH("host: s, username: \"\", auth_method: {type: agent}"));
	/* auth types: key_file needs a readable key */
	expect_cfg(false, NULL, SSH("host: s, username: u, auth_method: {type: key_file, path: \"%s\"}"),
	    sshkey);
	expect_cfg(false, "ssh_tunnel.auth_method.path: required for key_file",
	    SSH("host: s, username: u, auth_method: {type: key_file}"));
	expect_cfg(false, "ssh_tunnel.auth_method.path: required for key_file",
	    SSH("host: s, username: u, auth_method: {type: key_file, path: \"\"}"));
	expect_cfg(false, "ssh_tunnel.auth_method.path: cannot read ",
	    SSH("host: s, username: u, auth_method: {type: key_file, path: \"%s\"}"), missing);
	expect_cfg(false, "ssh_tunnel.auth_method.path: '~/.ssh/id' must be an absolute path",
	    SSH("host: s, username: u, auth_method: {type: key_file, path: \"~/.ssh/id\"}"));
	/* saving: a key file that cannot be read now is kept (it may be on a drive
	 * not mounted yet); config_key_check says why, for the warning */
	expect_cfg(CONFIG_NEED_NAME | CONFIG_KEY_LATER, NULL,
	    "{" BASE ", name: n, ssh_tunnel: {host: s, username: u, auth_method: {type: key_file, path: \"%s\"}}}",
	    missing);
	expect_cfg(CONFIG_KEY_LATER, "ssh_tunnel.auth_method.path: '~/.ssh/id' must be an absolute path",
	    SSH("host: s, username: u, auth_method: {type: key_file, path: \"~/.ssh/id\"}"));
	expect_cfg(CONFIG_KEY_LATER, "ssh_tunnel.auth_method.path: required for key_file",
	    SSH("host: s, username: u, auth_method: {type: key_file}"));
	struct mpb b;
	struct tusk_config c;
	struct tusk_error e = TUSK_ERROR_INIT;
	assert_int_equal(config_parse(mpb_parse(&b, SSH("host: s, username: u, auth_method: {type: key_file,"
	    " path: \"%s\"}"), missing), &c, &e), 0);
	assert_int_equal(config_key_check(&c, &e), -1);
	assert_int_equal(e.kind, TE_VALIDATION);
	assert_true(strncmp(e.message, "ssh_tunnel.auth_method.path: cannot read ", 41) == 0);
	terr_clear(&e);
	config_free(&c);
	mpb_free(&b);
	assert_int_equal(config_parse(mpb_parse(&b, SSH("host: s, username: u, auth_method: {type: key_file,"
	    " path: \"%s\"}"), sshkey), &c, &e), 0);
	assert_int_equal(config_key_check(&c, &e), 0);
	config_free(&c);
	mpb_free(&b);
	assert_int_equal(config_parse(mpb_parse(&b, SSH("host: s, username: u, auth_method: {type: agent}")),
	    &c, &e), 0);
	assert_int_equal(config_key_check(&c, &e), 0);
	config_free(&c);
	mpb_free(&b);
	expect_cfg(false, "ssh_tunnel.auth_method.type: 'pubkey' is not one of password, key_file, agent",
	    SSH("host: s, username: u, auth_method: {type: pubkey}"));
	expect_cfg(false, "ssh_tunnel.auth_method.type: '' is not one of",
	    SSH("host: s, username: u, auth_method: {type: \"\"}"));
	/* a socket directory cannot be reached through a tunnel */
	expect_cfg(false, "host: a socket directory cannot be reached through an SSH tunnel",
	    "{host: \"/var/run/postgresql\", database: d, username: u,"
	    " ssh_tunnel: {host: s, username: u, auth_method: {type: agent}}}");
}

/* Fill a config with every field set. */
static void
full_config(struct tusk_config *c, struct mpb *b)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	assert_int_equal(config_parse(mpb_parse(b, "{id: \"123e4567-e89b-42d3-a456-426614174000\","
	    " name: \"prod db\", host: \"db.example.com\", port: 6432, database: app,"
	    " username: me, ssl_mode: verify-full, ssl_ca_cert: \"%s\", ssl_client_cert: \"%s\","
	    " ssl_client_key: \"%s\", ssh_tunnel: {host: bastion, port: 2222, username: jump,"
	    " auth_method: {type: key_file, path: \"%s\"}}, read_only: true,"
	    " statement_timeout_ms: 30000, created_at: \"2026-01-01T00:00:00.000Z\","
	    " updated_at: \"2026-01-02T00:00:00.000Z\"}", ca, cert, key, sshkey), c, &e), 0);
	assert_int_equal(config_validate(c, true, &e), 0);
}

/* Equal strings, or both absent (cmocka's string check cannot take NULL). */
#define assert_opt_str_equal(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	if (a_ == NULL || b_ == NULL) \
		assert_ptr_equal(a_, b_); \
	else \
		assert_string_equal(a_, b_); \
} while (0)

/* Every field of a and b is equal. */
static void
assert_config_equal(const struct tusk_config *a, const struct tusk_config *b)
{
	assert_opt_str_equal(a->id, b->id);
	assert_opt_str_equal(a->name, b->name);
	assert_opt_str_equal(a->host, b->host);
	assert_int_equal(a->port, b->port);
	assert_opt_str_equal(a->database, b->database);
	assert_opt_str_equal(a->username, b->username);
	assert_opt_str_equal(a->ssl_mode, b->ssl_mode);
	assert_opt_str_equal(a->ssl_ca_cert, b->ssl_ca_cert);
	assert_opt_str_equal(a->ssl_client_cert, b->ssl_client_cert);
	assert_opt_str_equal(a->ssl_client_key, b->ssl_client_key);
	assert_int_equal(a->read_only, b->read_only);
	assert_int_equal(a->statement_timeout_ms, b->statement_timeout_ms);
	assert_opt_str_equal(a->created_at, b->created_at);
	assert_opt_str_equal(a->updated_at, b->updated_at);
	assert_int_equal(a->ssh == NULL, b->ssh == NULL);
	if (a->ssh) {
		assert_opt_str_equal(a->ssh->host, b->ssh->host);
		assert_int_equal(a->ssh->port, b->ssh->port);
		assert_opt_str_equal(a->ssh->username, b->ssh->username);
		assert_opt_str_equal(a->ssh->auth_type, b->ssh->auth_type);
		assert_opt_str_equal(a->ssh->key_path, b->ssh->key_path);
	}
}

/* Pack c, parse the bytes into out; returns the packed bytes in sb. */
static void
repack(const struct tusk_config *c, struct tusk_config *out, msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	msgpack_unpacked u;
	size_t off = 0;
	struct tusk_error e = TUSK_ERROR_INIT;
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	config_pack(&pk, c);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, sb->data, sb->size, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, sb->size);
	if (config_parse(&u.data, out, &e) != 0)
		fail_msg("config_pack's output does not parse: %s", e.message);
	msgpack_unpacked_destroy(&u);
}

static void
pack_parse_round_trip(void **state)
{
	struct mpb b;
	struct tusk_config c, r, r2;
	msgpack_sbuffer sb, sb2;
	(void)state;
	full_config(&c, &b);
	repack(&c, &r, &sb);
	assert_config_equal(&c, &r);
	/* and packing again gives the same bytes */
	repack(&r, &r2, &sb2);
	assert_int_equal(sb.size, sb2.size);
	assert_memory_equal(sb.data, sb2.data, sb.size);
	config_free(&r);
	config_free(&r2);
	msgpack_sbuffer_destroy(&sb);
	msgpack_sbuffer_destroy(&sb2);
	config_free(&c);
	mpb_free(&b);

	/* the minimal config: absent fields travel as nil and stay absent */
	struct tusk_error e = TUSK_ERROR_INIT;
	assert_int_equal(config_parse(mpb_parse(&b, "{" BASE ", ssh_tunnel: {host: s,"
	    " username: u, auth_method: {type: agent}}}"), &c, &e), 0);
	repack(&c, &r, &sb);
	assert_config_equal(&c, &r);
	assert_null(r.ssh->key_path);
	assert_int_equal(r.ssh->port, 22);
	assert_int_equal(r.statement_timeout_ms, -1);
	config_free(&r);
	msgpack_sbuffer_destroy(&sb);
	config_free(&c);
	mpb_free(&b);
}

static void
copy_and_display(void **state)
{
	struct mpb b;
	struct tusk_config c, d;
	(void)state;
	full_config(&c, &b);
	config_init(&d);
	d.host = xstrdup("old"); /* the target is freed first */
	config_copy(&d, &c);
	assert_config_equal(&c, &d);
	/* a deep copy: nothing shared */
	assert_ptr_not_equal(c.host, d.host);
	assert_ptr_not_equal(c.ssh, d.ssh);
	assert_ptr_not_equal(c.ssh->host, d.ssh->host);
	char *s = config_display(&d);
	assert_string_equal(s, "me@db.example.com:6432/app");
	free(s);
	config_free(&c);
	mpb_free(&b);
	/* copying a config without SSH drops the target's SSH block */
	struct tusk_error e = TUSK_ERROR_INIT;
	assert_int_equal(config_parse(mpb_parse(&b, "{" BASE "}"), &c, &e), 0);
	config_copy(&d, &c);
	assert_null(d.ssh);
	assert_config_equal(&c, &d);
	config_free(&c);
	config_free(&d);
	mpb_free(&b);
	/* display of an empty config does not crash */
	config_init(&c);
	s = config_display(&c);
	assert_string_equal(s, "@:5432/");
	free(s);
}

static void
secrets(void **state)
{
	struct tusk_secrets a = { 0 }, b = { 0 };
	(void)state;
	a.password = xstrdup("pw");
	a.ssh_password = xstrdup("sshpw");
	b.password = xstrdup("old"); /* dropped by the move */
	secrets_move(&b, &a);
	assert_null(a.password);
	assert_null(a.ssh_password);
	assert_string_equal(b.password, "pw");
	assert_string_equal(b.ssh_password, "sshpw");
	assert_null(b.ssh_key_passphrase);
	secrets_free(&b);
	assert_null(b.password);
	secrets_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_defaults),
		cmocka_unit_test(parse_types),
		cmocka_unit_test(validate_name),
		cmocka_unit_test(validate_host),
		cmocka_unit_test(validate_port_user_db),
		cmocka_unit_test(validate_ssl),
		cmocka_unit_test(validate_statement_timeout),
		cmocka_unit_test(validate_ssh),
		cmocka_unit_test(pack_parse_round_trip),
		cmocka_unit_test(copy_and_display),
		cmocka_unit_test(secrets),
	};
	return cmocka_run_group_tests_name("config", tests, files_setup, files_teardown);
}

/*
 * config.c — connection settings: parse, validate, pack, copy (see config.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>
#include <wctype.h>

#include "error.h"
#include "msg.h"
#include "rpc.h"
#include "util.h"

static const struct tusk_param config_spec[] = {
	{ "id", TT_STR, P_OPT, "UUID of a saved connection" , NULL },
	{ "name", TT_STR, P_OPT, "unique display name" , NULL },
	{ "host", TT_STR, 0, "host name, IP address or socket directory" , NULL },
	{ "port", TT_INT, P_OPT, "1-65535, default 5432" , NULL },
	{ "database", TT_STR, 0, "database name" , NULL },
	{ "username", TT_STR, 0, "role name" , NULL },
	{ "ssl_mode", TT_STR, P_OPT, "disable, prefer (default), require, verify-ca, verify-full" , NULL },
	{ "ssl_ca_cert", TT_STR, P_OPT, "CA certificate file (verify-ca, verify-full)" , NULL },
	{ "ssl_client_cert", TT_STR, P_OPT, "client certificate file" , NULL },
	{ "ssl_client_key", TT_STR, P_OPT, "client private key file" , NULL },
	{ "ssh_tunnel", TT_MAP, P_OPT, "SSH tunnel settings" , NULL },
	{ "read_only", TT_BOOL, P_OPT, "sessions default to read-only transactions" , NULL },
	{ "statement_timeout_ms", TT_INT, P_OPT, "server-side statement timeout" , NULL },
	{ "created_at", TT_STR, P_OPT, "ISO 8601, set by the broker" , NULL },
	{ "updated_at", TT_STR, P_OPT, "ISO 8601, set by the broker" , NULL },
	PARAMS_END,
};

static const struct tusk_param ssh_spec[] = {
	{ "host", TT_STR, 0, "SSH server" , NULL },
	{ "port", TT_INT, P_OPT, "default 22" , NULL },
	{ "username", TT_STR, 0, "SSH user" , NULL },
	{ "auth_method", TT_MAP, 0, "{type: password | key_file | agent, path?}" , NULL },
	/* a setting of old versions that never did anything: nil (as they
	 * packed it) passes, a value is refused with why */
	{ "local_port", TT_ANY, P_OPT, "removed", NULL },
	PARAMS_END,
};

static const struct tusk_param auth_spec[] = {
	{ "type", TT_STR, 0, "password | key_file | agent" , NULL },
	{ "path", TT_STR, P_OPT, "private key file (key_file)" , NULL },
	PARAMS_END,
};

/* An empty config with the defaults: port 5432, no statement timeout. */
void
config_init(struct tusk_config *c)
{
	memset(c, 0, sizeof *c);
	c->port = 5432;
	c->statement_timeout_ms = -1;
}

/* Free an SSH block. */
static void
ssh_free(struct tusk_ssh *s)
{
	if (s == NULL)
		return;
	free(s->host);
	free(s->username);
	free(s->auth_type);
	free(s->key_path);
	free(s);
}

/* Free a config's strings and SSH settings and reset it to the defaults. */
void
config_free(struct tusk_config *c)
{
	free(c->id);
	free(c->name);
	free(c->host);
	free(c->database);
	free(c->username);
	free(c->ssl_mode);
	free(c->ssl_ca_cert);
	free(c->ssl_client_cert);
	free(c->ssl_client_key);
	ssh_free(c->ssh);
	free(c->created_at);
	free(c->updated_at);
	config_init(c);
}

/* Make dst a deep copy of src (what dst held is freed). */
void
config_copy(struct tusk_config *dst, const struct tusk_config *src)
{
	config_free(dst);
	dst->id = xstrdup(src->id);
	dst->name = xstrdup(src->name);
	dst->host = xstrdup(src->host);
	dst->port = src->port;
	dst->database = xstrdup(src->database);
	dst->username = xstrdup(src->username);
	dst->ssl_mode = xstrdup(src->ssl_mode);
	dst->ssl_ca_cert = xstrdup(src->ssl_ca_cert);
	dst->ssl_client_cert = xstrdup(src->ssl_client_cert);
	dst->ssl_client_key = xstrdup(src->ssl_client_key);
	if (src->ssh) {
		dst->ssh = xcalloc(1, sizeof *dst->ssh);
		dst->ssh->host = xstrdup(src->ssh->host);
		dst->ssh->port = src->ssh->port;
		dst->ssh->username = xstrdup(src->ssh->username);
		dst->ssh->auth_type = xstrdup(src->ssh->auth_type);
		dst->ssh->key_path = xstrdup(src->ssh->key_path);
	}
	dst->read_only = src->read_only;
	dst->statement_timeout_ms = src->statement_timeout_ms;
	dst->created_at = xstrdup(src->created_at);
	dst->updated_at = xstrdup(src->updated_at);
}

/* An integer field that must fit an int; lo..hi is its documented range
 * (the meaning is checked again by config_validate). */
static int
int_field(const struct params *p, const char *name, const char *prefix, int def, int lo, int hi,
    int *out, struct tusk_error *e)
{
	int64_t v = params_int(p, name, def);
	if (v < INT32_MIN || v > INT32_MAX)
		return terr_set(e, TE_VALIDATION, "%s%s: %lld is not between %d and %d", prefix, name,
		    (long long)v, lo, hi);
	*out = (int)v;
	return 0;
}

int
config_parse(const msgpack_object *map, struct tusk_config *c, struct tusk_error *e)
{
	struct params p, sp, ap;

	config_init(c);
	if (params_parse_map(&p, config_spec, map, "config.", e) < 0)
		return -1;
	c->id = params_strdup(&p, "id");
	c->name = params_strdup(&p, "name");
	c->host = params_strdup(&p, "host");
	c->database = params_strdup(&p, "database");
	c->username = params_strdup(&p, "username");
	c->ssl_mode = params_strdup(&p, "ssl_mode");
	if (c->ssl_mode == NULL)
		c->ssl_mode = xstrdup("prefer");
	c->ssl_ca_cert = params_strdup(&p, "ssl_ca_cert");
	c->ssl_client_cert = params_strdup(&p, "ssl_client_cert");
	c->ssl_client_key = params_strdup(&p, "ssl_client_key");
	c->read_only = params_bool(&p, "read_only", false);
	c->statement_timeout_ms = params_int(&p, "statement_timeout_ms", -1);
	if (params_has(&p, "statement_timeout_ms") && c->statement_timeout_ms < 0) {
		config_free(c);
		return terr_set(e, TE_VALIDATION,
		    "config.statement_timeout_ms: must be 0 (none) or a positive number of milliseconds");
	}
	c->created_at = params_strdup(&p, "created_at");
	c->updated_at = params_strdup(&p, "updated_at");
	if (int_field(&p, "port", "config.", 5432, 1, 65535, &c->port, e) < 0)
		goto fail;
	const msgpack_object *ssh = params_get(&p, "ssh_tunnel");
	if (ssh) {
		if (params_parse_map(&sp, ssh_spec, ssh, "config.ssh_tunnel.", e) < 0)
			goto fail;
		if (params_has(&sp, "local_port")) {
			terr_set(e, TE_VALIDATION, "config.ssh_tunnel.local_port: not a setting: the "
			    "tunnel's local end is always a free loopback port only the connection's worker may use");
			terr_hint(e, "leave local_port out");
			goto fail;
		}
		c->ssh = xcalloc(1, sizeof *c->ssh);
		c->ssh->host = params_strdup(&sp, "host");
		c->ssh->username = params_strdup(&sp, "username");
		if (int_field(&sp, "port", "config.ssh_tunnel.", 22, 1, 65535, &c->ssh->port, e) < 0)
			goto fail;
		if (params_parse_map(&ap, auth_spec, params_get(&sp, "auth_method"),
			"config.ssh_tunnel.auth_method.", e) < 0)
			goto fail;
		c->ssh->auth_type = params_strdup(&ap, "type");
		c->ssh->key_path = params_strdup(&ap, "path");
	}
	return 0;
fail:
	config_free(c);
	return -1;
}

/* RFC 1123 host name: labels of letters, digits and inner hyphens; a last
 * label of digits only would be a mistyped IPv4 address. */
static bool
hostname_valid(const char *h)
{
	size_t len = strlen(h);
	if (len > 0 && h[len - 1] == '.')
		len--; /* a fully qualified name may end with a dot */
	if (len == 0 || len > 253)
		return false;
	size_t lab = 0;
	bool digits = true;
	for (size_t i = 0; i < len; i++) {
		char c = h[i];
		if (c == '.') {
			if (lab == 0 || h[i - 1] == '-')
				return false;
			lab = 0;
			digits = true;
			continue;
		}
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		bool digit = c >= '0' && c <= '9';
		if (!alpha && !digit && c != '-')
			return false;
		if (c == '-' && lab == 0)
			return false;
		if (!digit)
			digits = false;
		if (++lab > 63)
			return false;
	}
	return lab > 0 && h[len - 1] != '-' && !digits;
}

bool
config_host_valid(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];
	if (host == NULL || *host == '\0')
		return false;
	if (host[0] == '/')
		return strlen(host) < 100; /* a Unix socket directory */
	if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1)
		return true;
	return hostname_valid(host);
}

/* Is mode one of the ssl_mode values libpq takes? */
bool
config_ssl_mode_valid(const char *mode)
{
	static const char *const modes[] = { "disable", "prefer", "require", "verify-ca", "verify-full" };
	for (size_t i = 0; i < nitems(modes); i++)
		if (mode && strcmp(mode, modes[i]) == 0)
			return true;
	return false;
}

/* A file the worker will have to read: absolute, present, readable, a file. */
static int
file_check(const char *field, const char *path, struct tusk_error *e)
{
	struct stat st;

	if (path[0] != '/') {
		terr_set(e, TE_VALIDATION, "%s: '%s' must be an absolute path", field, path);
		terr_hint(e, "give the full path of the file");
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || access(path, R_OK) < 0) {
		terr_set(e, TE_VALIDATION, "%s: cannot read %s: %s", field, path, strerror(errno));
		terr_hint(e, "check that the file exists and that you can read it");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int r = fstat(fd, &st);
	close(fd);
	if (r < 0 || !S_ISREG(st.st_mode)) {
		terr_set(e, TE_VALIDATION, "%s: %s is not a regular file", field, path);
		terr_hint(e, "give the path of the file itself, not of a directory or device");
		return -1;
	}
	return 0;
}

int
config_key_check(const struct tusk_config *c, struct tusk_error *e)
{
	if (c->ssh == NULL || c->ssh->key_path == NULL || strcmp(c->ssh->auth_type, "key_file") != 0)
		return 0;
	return file_check("ssh_tunnel.auth_method.path", c->ssh->key_path, e);
}

int
config_validate(const struct tusk_config *c, unsigned flags, struct tusk_error *e)
{
	if ((flags & CONFIG_NEED_NAME) && (c->name == NULL || c->name[strspn(c->name, " \t")] == '\0'))
		return terr_set(e, TE_VALIDATION, "name: must not be empty");
	if (c->name && strlen(c->name) > 200)
		return terr_set(e, TE_VALIDATION, "name: at most 200 characters");
	if (!config_host_valid(c->host)) {
		terr_set(e, TE_VALIDATION, "host: '%s' is not a valid host name or IP address",
		    c->host ? c->host : "");
		terr_hint(e, "use a name like db.example.com, an address like 192.0.2.10 or ::1, or a socket directory like /var/run/postgresql");
		return -1;
	}
	if (c->port < 1 || c->port > 65535)
		return terr_set(e, TE_VALIDATION, "port: %d is not between 1 and 65535", c->port);
	if (c->username == NULL || *c->username == '\0')
		return terr_set(e, TE_VALIDATION, "username: must not be empty");
	if (c->database == NULL || *c->database == '\0')
		return terr_set(e, TE_VALIDATION, "database: must not be empty");
	if (!config_ssl_mode_valid(c->ssl_mode)) {
		terr_set(e, TE_VALIDATION, "ssl_mode: '%s' is not one of disable, prefer, require, verify-ca, verify-full",
		    c->ssl_mode ? c->ssl_mode : "");
		return -1;
	}
	bool verify = strcmp(c->ssl_mode, "verify-ca") == 0 || strcmp(c->ssl_mode, "verify-full") == 0;
	if (verify && (c->ssl_ca_cert == NULL || *c->ssl_ca_cert == '\0')) {
		terr_set(e, TE_VALIDATION, "ssl_ca_cert: required for ssl_mode %s", c->ssl_mode);
		terr_hint(e, "give the CA certificate that signed the server's certificate, or use ssl_mode require");
		return -1;
	}
	if (c->ssl_ca_cert && *c->ssl_ca_cert && file_check("ssl_ca_cert", c->ssl_ca_cert, e) < 0)
		return -1;
	if ((c->ssl_client_cert == NULL) != (c->ssl_client_key == NULL)) {
		terr_set(e, TE_VALIDATION, "%s: required with %s",
		    c->ssl_client_cert ? "ssl_client_key" : "ssl_client_cert",
		    c->ssl_client_cert ? "ssl_client_cert" : "ssl_client_key");
		terr_hint(e, "a client certificate needs its private key, and the other way round");
		return -1;
	}
	if (c->ssl_client_cert && file_check("ssl_client_cert", c->ssl_client_cert, e) < 0)
		return -1;
	if (c->ssl_client_key && file_check("ssl_client_key", c->ssl_client_key, e) < 0)
		return -1;
	if (c->statement_timeout_ms < -1)
		return terr_set(e, TE_VALIDATION, "statement_timeout_ms: must be >= 0");
	/* PostgreSQL's statement_timeout is an int of milliseconds (about 24.8 days) */
	if (c->statement_timeout_ms > INT32_MAX) {
		terr_set(e, TE_VALIDATION, "statement_timeout_ms: at most %d (PostgreSQL's limit)",
		    INT32_MAX);
		terr_hint(e, "use 0 for no timeout");
		return -1;
	}
	if (c->ssh) {
		const struct tusk_ssh *s = c->ssh;
		if (!config_host_valid(s->host) || s->host[0] == '/')
			return terr_set(e, TE_VALIDATION, "ssh_tunnel.host: '%s' is not a valid host name or IP address",
			    s->host ? s->host : "");
		if (s->port < 1 || s->port > 65535)
			return terr_set(e, TE_VALIDATION, "ssh_tunnel.port: %d is not between 1 and 65535", s->port);
		if (s->username == NULL || *s->username == '\0')
			return terr_set(e, TE_VALIDATION, "ssh_tunnel.username: must not be empty");
		if (strcmp(s->auth_type, "key_file") == 0) {
			if (s->key_path == NULL || *s->key_path == '\0') {
				terr_set(e, TE_VALIDATION, "ssh_tunnel.auth_method.path: required for key_file");
				terr_hint(e, "give the private key file, e.g. ~/.ssh/id_ed25519 as a full path");
				return -1;
			}
			if (s->key_path[0] != '/') {
				terr_set(e, TE_VALIDATION,
				    "ssh_tunnel.auth_method.path: '%s' must be an absolute path", s->key_path);
				terr_hint(e, "give the full path of the file");
				return -1;
			}
			if (!(flags & CONFIG_KEY_LATER) && config_key_check(c, e) < 0)
				return -1;
		} else if (s->key_path != NULL && (strcmp(s->auth_type, "password") == 0 ||
			       strcmp(s->auth_type, "agent") == 0)) {
			terr_set(e, TE_VALIDATION,
			    "ssh_tunnel.auth_method.path: only used with type key_file, not %s", s->auth_type);
			terr_hint(e, "drop the path, or choose type key_file");
			return -1;
		} else if (strcmp(s->auth_type, "password") != 0 && strcmp(s->auth_type, "agent") != 0) {
			return terr_set(e, TE_VALIDATION,
			    "ssh_tunnel.auth_method.type: '%s' is not one of password, key_file, agent",
			    s->auth_type);
		}
		if (c->host[0] == '/')
			return terr_set(e, TE_VALIDATION,
			    "host: a socket directory cannot be reached through an SSH tunnel");
	}
	return 0;
}

/* The SSH tunnel block (an mpf_fn). */
static void
pack_auth(msgpack_packer *pk, const void *arg)
{
	const struct tusk_ssh *t = arg;
	if (t->key_path)
		MP_PACK_FIELDS(pk, MPF_STR("type", t->auth_type), MPF_STR("path", t->key_path));
	else
		MP_PACK_FIELDS(pk, MPF_STR("type", t->auth_type));
}

/* ssh_tunnel: its map, or nil (an mpf_fn). */
static void
pack_ssh(msgpack_packer *pk, const void *arg)
{
	const struct tusk_ssh *t = arg;
	if (t == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	MP_PACK_FIELDS(pk,
	    MPF_STR("host", t->host),
	    MPF_INT("port", t->port),
	    MPF_STR("username", t->username),
	    MPF_FN("auth_method", pack_auth, t));
}

/* A config as the protocol's connection config map (no secrets). */
void
config_pack(msgpack_packer *pk, const struct tusk_config *c)
{
	MP_PACK_FIELDS(pk,
	    MPF_STR("id", c->id),
	    MPF_STR("name", c->name),
	    MPF_STR("host", c->host),
	    MPF_INT("port", c->port),
	    MPF_STR("database", c->database),
	    MPF_STR("username", c->username),
	    MPF_STR("ssl_mode", c->ssl_mode),
	    MPF_STR("ssl_ca_cert", c->ssl_ca_cert),
	    MPF_STR("ssl_client_cert", c->ssl_client_cert),
	    MPF_STR("ssl_client_key", c->ssl_client_key),
	    MPF_FN("ssh_tunnel", pack_ssh, c->ssh),
	    MPF_BOOL("read_only", c->read_only),
	    MPF_INT_OPT("statement_timeout_ms", c->statement_timeout_ms),
	    MPF_STR("created_at", c->created_at),
	    MPF_STR("updated_at", c->updated_at));
}

/* The C.UTF-8 locale for case folding (created once; NULL: ASCII only). */
static locale_t
fold_locale(void)
{
	static locale_t loc;
	static bool tried;
	if (!tried) {
		tried = true;
		loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	}
	return loc;
}

/* Lower-case name character by character (Unicode simple case mapping where
 * the C.UTF-8 locale exists, ASCII otherwise); invalid UTF-8 bytes are kept
 * as they are. */
char *
config_name_fold(const char *name)
{
	struct strbuf sb;
	locale_t loc = fold_locale();
	mbstate_t st;
	size_t len = strlen(name);
	sb_init(&sb);
	memset(&st, 0, sizeof st);
	for (size_t i = 0; i < len;) {
		unsigned char b = (unsigned char)name[i];
		if (b < 0x80 || loc == (locale_t)0) {
			sb_addc(&sb, (char)(b >= 'A' && b <= 'Z' ? b + 32 : b));
			i++;
			continue;
		}
		wchar_t wc;
		locale_t old = uselocale(loc);
		size_t n = mbrtowc(&wc, name + i, len - i, &st);
		if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
			uselocale(old);
			memset(&st, 0, sizeof st);
			sb_addc(&sb, (char)b);
			i++;
			continue;
		}
		char out[MB_LEN_MAX];
		mbstate_t ost;
		memset(&ost, 0, sizeof ost);
		size_t m = wcrtomb(out, (wchar_t)towlower_l((wint_t)wc, loc), &ost);
		uselocale(old);
		if (m == (size_t)-1)
			sb_add(&sb, name + i, n);
		else
			sb_add(&sb, out, m);
		i += n;
	}
	return sb_detach(&sb);
}

char *
config_display(const struct tusk_config *c)
{
	return xasprintf("%s@%s:%d/%s", c->username ? c->username : "", c->host ? c->host : "",
	    c->port, c->database ? c->database : "");
}

/* Wipe and free every secret and clear the set. */
void
secrets_free(struct tusk_secrets *s)
{
	secret_free(s->password);
	secret_free(s->ssh_password);
	secret_free(s->ssh_key_passphrase);
	free(s->store_note);
	secret_free(s->ssl_key_passphrase);
	memset(s, 0, sizeof *s);
}

void
secrets_move(struct tusk_secrets *dst, struct tusk_secrets *src)
{
	secrets_free(dst);
	*dst = *src;
	memset(src, 0, sizeof *src);
}

/* Copy each secret src has and dst lacks (dst owns its copies). */
void
secrets_fill(struct tusk_secrets *dst, const struct tusk_secrets *src)
{
	if (dst->password == NULL)
		dst->password = xstrdup(src->password);
	if (dst->ssh_password == NULL)
		dst->ssh_password = xstrdup(src->ssh_password);
	if (dst->ssh_key_passphrase == NULL)
		dst->ssh_key_passphrase = xstrdup(src->ssh_key_passphrase);
	if (dst->ssl_key_passphrase == NULL)
		dst->ssl_key_passphrase = xstrdup(src->ssl_key_passphrase);
}

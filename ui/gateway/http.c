/*
 * http.c — who may talk to the gateway, and the static files of the UI.
 *
 * Every request passes one early check before anything else runs:
 *   - only GET and HEAD (the UI needs nothing else; a form POST from
 *     another site has nothing to hit);
 *   - Host must be exactly 127.0.0.1:PORT or localhost:PORT: a page on
 *     evil.example whose name was rebound to 127.0.0.1 sends its own name
 *     and is refused (DNS rebinding);
 *   - Origin, when present, must be our own origin; for the WebSocket it
 *     must be present (browsers always send it), so no other site's page
 *     can open the channel to the broker (cross-site WebSocket hijacking);
 *   - the per-launch token, from the URL once (`/?token=T`, answered with a
 *     cookie and a redirect that drops it from the address bar) and then
 *     from the cookie. The cookie is HttpOnly (the page's scripts never see
 *     it), SameSite=Strict, and named for the port, because cookies are not
 *     port-scoped and two gateways would otherwise overwrite each other's.
 * Failures are 403 (405 for a method) with a short plain-text reason.
 *
 * Static files: the list of servable files is read once at start from the
 * web directory (regular files only, bounded depth and count); a request
 * path is looked up in that table, never joined to a directory, so no path
 * can escape it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "gateway.h"
#include "log.h"
#include "util.h"

#define FILES_MAX 4000
#define DEPTH_MAX 8

/* Constant-time comparison with our token. */
bool
http_token_ok(const char *s, size_t len)
{
	size_t tl = strlen(gw.token);
	if (s == NULL || len != tl)
		return false;
	unsigned char d = 0;
	for (size_t i = 0; i < tl; i++)
		d |= (unsigned char)s[i] ^ (unsigned char)gw.token[i];
	return d == 0;
}

/* Add the files under dir (relative URL prefix rel) to gw.files. */
static int
scan_dir(const char *dir, const char *rel, int depth)
{
	GError *err = NULL;
	GDir *d = g_dir_open(dir, 0, &err);
	if (d == NULL) {
		log_error("cannot read %s: %s", dir, err->message);
		g_error_free(err);
		return -1;
	}
	const char *name;
	int r = 0;
	while ((name = g_dir_read_name(d)) != NULL && r == 0) {
		char *path = g_build_filename(dir, name, NULL);
		char *url = g_strconcat(rel, "/", name, NULL);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && depth < DEPTH_MAX) {
			r = scan_dir(path, url, depth + 1);
		} else if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (g_hash_table_size(gw.files) >= FILES_MAX) {
				log_error("more than %d files under %s", FILES_MAX, gw.web_dir);
				r = -1;
			} else {
				g_hash_table_insert(gw.files, url, path);
				continue;
			}
		}
		g_free(path);
		g_free(url);
	}
	g_dir_close(d);
	return r;
}

/* Read the table of servable files. */
int
http_load_files(const char *dir)
{
	gw.files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (scan_dir(dir, "", 0) < 0)
		return -1;
	if (!g_hash_table_contains(gw.files, "/index.html")) {
		log_error("%s has no index.html", dir);
		return -1;
	}
	return 0;
}

/* A Content-Type for a file name. */
static const char *
content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".woff2", "font/woff2" },
		{ ".json", "application/json" },
		{ ".map", "application/json" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	for (size_t i = 0; i < nitems(types); i++)
		if (g_str_has_suffix(path, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

/* Answer with a status and a plain-text reason. */
static void
refuse(SoupServerMessage *msg, guint status, const char *why)
{
	char *body = g_strdup_printf("%s\n", why);
	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_TAKE, body,
	    strlen(body));
	log_info("%s %s refused (%u): %s", soup_server_message_get_method(msg),
	    g_uri_get_path(soup_server_message_get_uri(msg)), status, why);
}

/* Is s one of our two origins' host:port? */
static bool
host_ok(const char *host)
{
	char a[64], b[64];
	snprintf(a, sizeof a, "127.0.0.1:%u", gw.port);
	snprintf(b, sizeof b, "localhost:%u", gw.port);
	return host && (strcmp(host, a) == 0 || g_ascii_strcasecmp(host, b) == 0);
}

/* Is s exactly our origin (http://127.0.0.1:PORT or http://localhost:PORT)? */
static bool
origin_ok(const char *origin)
{
	if (origin == NULL || g_ascii_strncasecmp(origin, "http://", 7) != 0)
		return false;
	return host_ok(origin + 7);
}

/* The response headers every answer carries. */
static void
secure_headers(SoupServerMessage *msg)
{
	SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
	char *csp = g_strdup_printf("default-src 'self'; script-src 'self'; "
	    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
	    "connect-src 'self' ws://127.0.0.1:%u ws://localhost:%u; frame-ancestors 'none'; "
	    "base-uri 'none'; form-action 'none'; object-src 'none'", gw.port, gw.port);
	soup_message_headers_replace(h, "Content-Security-Policy", csp);
	g_free(csp);
	soup_message_headers_replace(h, "X-Content-Type-Options", "nosniff");
	soup_message_headers_replace(h, "X-Frame-Options", "DENY");
	soup_message_headers_replace(h, "Referrer-Policy", "no-referrer");
	/* the tusk window (--window) opens no other origin and no other window,
	 * so COOP guards nothing there, and WebKit met it with a second web
	 * process as the page arrived (~300 ms of the start; docs/frontend.md) */
	if (!gw.window)
		soup_message_headers_replace(h, "Cross-Origin-Opener-Policy", "same-origin");
	soup_message_headers_replace(h, "Cross-Origin-Resource-Policy", "same-origin");
}

/* Does the request carry our cookie? */
static bool
cookie_ok(SoupServerMessage *msg)
{
	const char *h = soup_message_headers_get_list(soup_server_message_get_request_headers(msg),
	    "Cookie");
	if (h == NULL)
		return false;
	GHashTable *t = soup_header_parse_semi_param_list(h);
	const char *v = g_hash_table_lookup(t, gw.cookie_name);
	bool ok = v && http_token_ok(v, strlen(v));
	soup_header_free_param_list(t);
	return ok;
}

/* The early check of every request (see the top of this file). */
static void
early_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
    gpointer data)
{
	UNUSED(server);
	UNUSED(data);
	SoupMessageHeaders *req = soup_server_message_get_request_headers(msg);
	const char *method = soup_server_message_get_method(msg);
	secure_headers(msg);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
		    "GET, HEAD");
		refuse(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "only GET and HEAD are served");
		return;
	}
	if (!host_ok(soup_message_headers_get_one(req, "Host"))) {
		refuse(msg, SOUP_STATUS_FORBIDDEN, "forbidden: wrong Host");
		return;
	}
	const char *origin = soup_message_headers_get_one(req, "Origin");
	bool is_ws = strcmp(path, "/rpc") == 0;
	if ((origin || is_ws) && !origin_ok(origin)) {
		refuse(msg, SOUP_STATUS_FORBIDDEN, "forbidden: foreign or missing Origin");
		return;
	}
	const char *qtoken = query ? g_hash_table_lookup(query, "token") : NULL;
	if (qtoken) {
		if (!http_token_ok(qtoken, strlen(qtoken))) {
			refuse(msg, SOUP_STATUS_FORBIDDEN, "forbidden: wrong token");
			return;
		}
	} else if (!cookie_ok(msg)) {
		refuse(msg, SOUP_STATUS_FORBIDDEN,
		    "forbidden: open the address tusk-ui printed (it carries this launch's token)");
		return;
	}
	if (is_ws) {
		if (gw.nsessions >= GW_MAX_SESSIONS)
			refuse(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "too many open pages");
		return; /* the WebSocket handler takes it from here */
	}
	if (qtoken) {
		/* trade the token for a host-only cookie, and drop it from the
		 * address bar */
		SoupMessageHeaders *rh = soup_server_message_get_response_headers(msg);
		char *v = g_strdup_printf("%s=%s; Path=/; HttpOnly; SameSite=Strict", gw.cookie_name,
		    gw.token);
		soup_message_headers_replace(rh, "Set-Cookie", v);
		g_free(v);
		soup_message_headers_replace(rh, "Cache-Control", "no-store");
		soup_server_message_set_redirect(msg, SOUP_STATUS_SEE_OTHER, path);
	}
}

/* Serve one file from the table. */
static void
file_cb(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
    gpointer data)
{
	UNUSED(server);
	UNUSED(query);
	UNUSED(data);
	const char *file = g_hash_table_lookup(gw.files, strcmp(path, "/") == 0 ? "/index.html" : path);
	if (file == NULL) {
		refuse(msg, SOUP_STATUS_NOT_FOUND, "not found");
		return;
	}
	char *body = NULL;
	gsize len = 0;
	GError *err = NULL;
	if (!g_file_get_contents(file, &body, &len, &err)) {
		log_error("cannot read %s: %s", file, err->message);
		g_error_free(err);
		refuse(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "cannot read the file");
		return;
	}
	SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
	/* hashed asset names never change content; the page itself may */
	soup_message_headers_replace(h, "Cache-Control",
	    g_str_has_prefix(path, "/assets/") ? "max-age=31536000, immutable" : "no-store");
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_server_message_set_response(msg, content_type(file), SOUP_MEMORY_TAKE, body, len);
}

/* The page's WebSocket, after the early check and the handshake. */
static void
ws_cb(SoupServer *server, SoupServerMessage *msg, const char *path,
    SoupWebsocketConnection *conn, gpointer data)
{
	UNUSED(server);
	UNUSED(msg);
	UNUSED(path);
	UNUSED(data);
	bridge_open(conn);
}

/* Install the handlers. */
void
http_install(void)
{
	/* compression would cost CPU for every row batch on loopback, and
	 * inflating is one more parser facing the page */
	soup_server_remove_websocket_extension(gw.server, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
	/* libsoup runs the handlers of the most specific path only: the early
	 * check is registered on both paths (a test proves /rpc is covered) */
	soup_server_add_early_handler(gw.server, NULL, early_cb, NULL, NULL);
	soup_server_add_early_handler(gw.server, "/rpc", early_cb, NULL, NULL);
	soup_server_add_handler(gw.server, "/", file_cb, NULL, NULL);
	soup_server_add_websocket_handler(gw.server, "/rpc", NULL, NULL, ws_cb, NULL, NULL);
}

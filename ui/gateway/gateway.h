/*
 * gateway.h — tusk-ui, the bridge between the web frontend and the broker.
 *
 * One process, one GLib main loop, libsoup 3 for HTTP and WebSocket. It
 * serves the built web UI from a directory and, for each page WebSocket at
 * /rpc, opens one connection to the broker's Unix socket and moves whole
 * msgpack-RPC messages between the two (page -> broker: one WebSocket
 * binary message = one request; broker -> page: one WebSocket binary
 * message = the whole messages read so far, up to about GW_FRAME bytes,
 * each preceded by its length as a msgpack uint32, 0xce + 4 bytes big
 * endian). It holds no state and no secrets of its own: a
 * password typed in the page passes through as an opaque message.
 *
 * Security (http.c): loopback only, random port, a random per-launch token
 * required on every request (query parameter once, then an HttpOnly
 * SameSite=Strict cookie named for the port), Host and Origin checked
 * against the exact loopback origin (no DNS rebinding, no cross-site
 * requests), GET/HEAD only, strict response headers.
 *
 * Backpressure (bridge.c): the page acknowledges the bytes it has
 * processed; with more than a window unacknowledged the gateway stops
 * reading the broker's socket, so the broker pauses the worker and the
 * worker stops reading the server, as with any slow client.
 */
#ifndef TUSK_GATEWAY_H
#define TUSK_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libsoup/soup.h>

/* Sizes the page may send: as much as a broker client may (SQL scripts). */
#define GW_PAGE_MAX_MSG (32u * 1024 * 1024)
/* Bytes sent to the page and not yet acknowledged before we stop reading. */
#define GW_WINDOW (8u * 1024 * 1024)
/* Whole broker messages sent to the page in one WebSocket message, up to
 * about this (what one read brought, never waiting to fill): a 1M-row
 * result is ~1,400 WebSocket messages, not 2,211, which Chromium receives
 * and frees with less CPU (issue 16). */
#define GW_FRAME (1u * 1024 * 1024)
/* Read from the broker while less than this waits unscanned. */
#define GW_READ_HIGH (1u * 1024 * 1024)
/* Bytes queued toward the broker beyond which a page is dropped. */
#define GW_TO_BROKER_MAX (64u * 1024 * 1024)
/* Page WebSockets open at once. */
#define GW_MAX_SESSIONS 16

struct gateway {
	SoupServer *server;
	GMainLoop *loop;
	unsigned port;
	char token[65];	      /* 32 random bytes in hex */
	char cookie_name[32]; /* tusk_PORT: cookies are not port-scoped */
	char *web_dir;
	GHashTable *files;    /* "/path" -> absolute file path */
	unsigned nsessions;
	uint64_t next_session_id;
	bool no_start;	      /* do not start tuskd */
	bool window;	      /* serving the tusk window only (no COOP, see http.c) */
};

extern struct gateway gw;

/* http.c */
/* Load the list of files under dir that may be served (0 or -1). */
int http_load_files(const char *dir);
/* Install the request handlers on gw.server. */
void http_install(void);
/* Compare a presented token with ours in constant time. */
bool http_token_ok(const char *s, size_t len);

/* bridge.c */
/* A page WebSocket was accepted: bridge it to a new broker connection. */
void bridge_open(SoupWebsocketConnection *ws);
/* Close every session (shutdown). */
void bridge_close_all(void);

#endif

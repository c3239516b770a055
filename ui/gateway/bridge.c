/*
 * bridge.c — one page WebSocket bridged to one broker connection.
 *
 * Page -> broker: each binary WebSocket message must be exactly one
 * well-formed msgpack message within the limits (mpscan.h's scanner, the
 * same one the broker applies to every client) and a msgpack-RPC request;
 * anything else closes that page's session (close code 1008) and only it.
 * The bytes are then queued toward the broker's socket unchanged.
 *
 * Broker -> page: the broker's byte stream is split into whole messages
 * with the resumable scanner over an evbuffer (libevent's buffer, used
 * here without its loop). The whole messages at hand go out together in
 * one binary WebSocket message of up to about GW_FRAME bytes, each after
 * its length as a msgpack uint32 (0xce and 4 bytes, big endian): the
 * page (rpc.ts) splits them without scanning. Nothing waits for a frame
 * to fill: what is read is sent.
 *
 * Flow control. libsoup queues outgoing frames without bound and a page's
 * onmessage handler cannot push back through TCP (the browser reads its
 * socket regardless of how busy the page's script is), so the page tells
 * us what it has processed: a text message "ack N" credits N bytes. With
 * GW_WINDOW bytes or more unacknowledged we stop reading the broker's
 * socket; the broker then sees a slow client and pauses the worker, which
 * stops reading the server. Text messages carry nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <glib-unix.h>

#include "ack.h"
#include "brokersock.h"
#include "error.h"
#include "gateway.h"
#include "log.h"
#include "mpscan.h"
#include "proto.h"
#include "rpc.h"
#include "util.h"

struct session {
	uint64_t id;
	SoupWebsocketConnection *ws;
	int fd;			/* the broker connection, -1 once closed */
	guint in_watch;		/* reading the broker (0: paused) */
	guint out_watch;	/* writing to the broker (0: nothing queued) */
	struct evbuffer *in;	/* from the broker, not yet sent on */
	struct evbuffer *out;	/* toward the broker */
	struct mp_scan scan;
	uint64_t sent;		/* bytes sent to the page */
	uint64_t acked;		/* bytes the page has processed */
	bool broker_eof;
};

static GList *sessions;

static void pump(struct session *s);

/* Stop talking to the broker (the page may still be closing). */
static void
broker_close(struct session *s)
{
	if (s->in_watch)
		g_source_remove(s->in_watch);
	if (s->out_watch)
		g_source_remove(s->out_watch);
	s->in_watch = s->out_watch = 0;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Close the page's side with a code and a short reason. */
static void
page_close(struct session *s, gushort code, const char *why)
{
	broker_close(s);
	if (soup_websocket_connection_get_state(s->ws) == SOUP_WEBSOCKET_STATE_OPEN) {
		char reason[120];
		/* a close reason is at most 123 bytes */
		snprintf(reason, sizeof reason, "%s", why);
		soup_websocket_connection_close(s->ws, code, reason);
	}
}

/* The broker's socket is writable: flush what the page sent. */
static gboolean
out_cb(gint fd, GIOCondition cond, gpointer arg)
{
	struct session *s = arg;
	UNUSED(cond);
	while (evbuffer_get_length(s->out) > 0) {
		int n = evbuffer_write(s->out, fd);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return G_SOURCE_CONTINUE;
		if (n <= 0) {
			log_info("session %llu: writing to the broker: %s", (unsigned long long)s->id,
			    strerror(errno));
			s->out_watch = 0;
			page_close(s, SOUP_WEBSOCKET_CLOSE_SERVER_ERROR, "lost the connection to the broker");
			return G_SOURCE_REMOVE;
		}
	}
	s->out_watch = 0;
	return G_SOURCE_REMOVE;
}

/* Queue bytes toward the broker and make sure they get written. */
static void
to_broker(struct session *s, const void *data, size_t len)
{
	if (s->fd < 0)
		return;
	evbuffer_add(s->out, data, len);
	if (evbuffer_get_length(s->out) > GW_TO_BROKER_MAX) {
		log_warn("session %llu: the page sent more than %u MiB the broker has not read",
		    (unsigned long long)s->id, GW_TO_BROKER_MAX >> 20);
		page_close(s, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, "too much unread input");
		return;
	}
	if (s->out_watch == 0 && out_cb(s->fd, G_IO_OUT, s) == G_SOURCE_CONTINUE)
		s->out_watch = g_unix_fd_add(s->fd, G_IO_OUT, out_cb, s);
}

/* The broker's socket has bytes (or closed). */
static gboolean
in_cb(gint fd, GIOCondition cond, gpointer arg)
{
	struct session *s = arg;
	UNUSED(cond);
	int n = rpc_read_socket(s->in, fd, RPC_READ_MAX);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		s->in_watch = 0;
		s->broker_eof = true;
		pump(s);
		return G_SOURCE_REMOVE;
	}
	pump(s);
	return s->in_watch ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Send the page the frame being built, if any. */
static void
frame_send(struct session *s, GByteArray **frame)
{
	if (*frame == NULL)
		return;
	GBytes *b = g_byte_array_free_to_bytes(*frame);
	*frame = NULL;
	soup_websocket_connection_send_message(s->ws, SOUP_WEBSOCKET_DATA_BINARY, b);
	g_bytes_unref(b);
}

/* Send whole messages on to the page while the window allows; read more
 * from the broker only then. */
static void
pump(struct session *s)
{
	if (s->fd < 0)
		return;
	bool partial = false; /* a message has begun and not ended */
	GByteArray *frame = NULL;
	while (s->sent - s->acked < GW_WINDOW) {
		size_t len;
		int r = mp_scan_evbuffer(&s->scan, s->in, &len);
		if (r == MP_MORE) {
			partial = evbuffer_get_length(s->in) > 0;
			break;
		}
		if (r < 0) {
			log_error("session %llu: the broker sent a bad message: %s",
			    (unsigned long long)s->id, mp_scan_strerror(r));
			frame_send(s, &frame);
			page_close(s, SOUP_WEBSOCKET_CLOSE_SERVER_ERROR, "bad message from the broker");
			return;
		}
		/* the scanner's limit (BROKER_MAX_MSG) keeps len within a uint32 */
		const uint8_t head[5] = { 0xce, (uint8_t)(len >> 24), (uint8_t)(len >> 16),
			(uint8_t)(len >> 8), (uint8_t)len };
		/* sized for what is buffered: a small answer gets a small frame */
		if (frame == NULL)
			frame = g_byte_array_sized_new((guint)MIN(evbuffer_get_length(s->in) + 64, GW_FRAME + 64 * 1024));
		g_byte_array_append(frame, head, sizeof head);
		guint at = frame->len;
		g_byte_array_set_size(frame, at + (guint)len);
		evbuffer_remove(s->in, frame->data + at, len);
		mp_scan_reset(&s->scan);
		s->sent += sizeof head + len;
		if (frame->len >= GW_FRAME)
			frame_send(s, &frame);
	}
	frame_send(s, &frame);
	if (s->broker_eof) {
		if (s->sent - s->acked < GW_WINDOW || evbuffer_get_length(s->in) == 0) {
			/* everything whole is sent; the rest can never complete */
			page_close(s, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "the broker closed the connection");
		}
		return;
	}
	/* a message larger than GW_READ_HIGH (a big schema) is read to its end:
	 * the scanner bounds it (BROKER_MAX_MSG) */
	bool want = s->sent - s->acked < GW_WINDOW &&
	    (evbuffer_get_length(s->in) < GW_READ_HIGH || partial);
	if (want && s->in_watch == 0)
		s->in_watch = g_unix_fd_add(s->fd, G_IO_IN, in_cb, s);
	else if (!want && s->in_watch) {
		g_source_remove(s->in_watch);
		s->in_watch = 0;
	}
}

/* A control message from the page: "ack N" (ack.c reads it). */
static void
page_text(struct session *s, const char *p, size_t len)
{
	uint64_t n = 0;
	if (ack_parse(p, len, &n) < 0 || n > s->sent - s->acked)
		goto bad;
	s->acked += n;
	pump(s);
	return;
bad:
	log_warn("session %llu: bad control message from the page", (unsigned long long)s->id);
	page_close(s, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, "bad control message");
}

/* A message from the page. */
static void
message_cb(SoupWebsocketConnection *ws, gint type, GBytes *msg, gpointer arg)
{
	struct session *s = arg;
	UNUSED(ws);
	gsize len;
	const uint8_t *p = g_bytes_get_data(msg, &len);
	if (s->fd < 0)
		return;
	if (type == SOUP_WEBSOCKET_DATA_TEXT) {
		page_text(s, (const char *)p, len);
		return;
	}
	static const struct mp_limits lim = { GW_PAGE_MAX_MSG, CLIENT_MAX_DEPTH, CLIENT_MAX_STR };
	size_t mlen = 0;
	int r = len == 0 ? MP_MORE : mp_scan_buf(&lim, p, len, &mlen);
	uint32_t n = 0;
	uint64_t kind = 9;
	struct mp_cur c = { p, p + len };
	if (r != MP_DONE || mlen != len || mp_cur_array(&c, &n) < 0 || n != 4 ||
	    mp_cur_uint(&c, &kind) < 0 || kind != 0) {
		log_warn("session %llu: the page sent %s", (unsigned long long)s->id,
		    r < 0 ? mp_scan_strerror(r) : r == MP_MORE ? "an incomplete message" :
		    mlen != len ? "more than one message in a frame" : "something other than a request");
		page_close(s, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, "not one msgpack-RPC request");
		return;
	}
	to_broker(s, p, len);
}

/* Free a closed session (on a later loop turn: never inside a callback
 * that may still use it). */
static gboolean
session_free(gpointer arg)
{
	struct session *s = arg;
	g_object_unref(s->ws);
	if (s->in)
		evbuffer_free(s->in);
	if (s->out)
		evbuffer_free(s->out);
	free(s);
	return G_SOURCE_REMOVE;
}

/* The page's side is closed: forget the session. */
static void
closed_cb(SoupWebsocketConnection *ws, gpointer arg)
{
	struct session *s = arg;
	log_info("session %llu closed (code %u)", (unsigned long long)s->id,
	    soup_websocket_connection_get_close_code(ws));
	broker_close(s);
	sessions = g_list_remove(sessions, s);
	g_signal_handlers_disconnect_by_data(ws, s);
	gw.nsessions--;
	g_idle_add(session_free, s);
}

/* A WebSocket error (the close follows). */
static void
error_cb(SoupWebsocketConnection *ws, GError *err, gpointer arg)
{
	struct session *s = arg;
	UNUSED(ws);
	log_info("session %llu: %s", (unsigned long long)s->id, err->message);
}

/* Bridge a new page WebSocket to a new broker connection. */
void
bridge_open(SoupWebsocketConnection *ws)
{
	struct session *s = xcalloc(1, sizeof *s);
	static const struct mp_limits lim = { BROKER_MAX_MSG, BROKER_MAX_DEPTH, BROKER_MAX_STR };
	s->id = ++gw.next_session_id;
	s->ws = g_object_ref(ws);
	s->in = evbuffer_new();
	s->out = evbuffer_new();
	s->fd = -1;
	mp_scan_init(&s->scan, &lim);
	gw.nsessions++;
	sessions = g_list_prepend(sessions, s);
	soup_websocket_connection_set_max_incoming_payload_size(ws, GW_PAGE_MAX_MSG);
	soup_websocket_connection_set_keepalive_interval(ws, 0);
	g_signal_connect(ws, "message", G_CALLBACK(message_cb), s);
	g_signal_connect(ws, "closed", G_CALLBACK(closed_cb), s);
	g_signal_connect(ws, "error", G_CALLBACK(error_cb), s);

	struct tusk_error e = TUSK_ERROR_INIT;
	if (s->in == NULL || s->out == NULL) {
		log_error("session %llu: cannot create its buffers: out of memory", (unsigned long long)s->id);
		page_close(s, SOUP_WEBSOCKET_CLOSE_SERVER_ERROR, "out of memory");
		return;
	}
	s->fd = brokersock_open(!gw.no_start, &e);
	if (s->fd < 0) {
		log_error("session %llu: %s", (unsigned long long)s->id, e.message);
		page_close(s, SOUP_WEBSOCKET_CLOSE_SERVER_ERROR, e.message);
		terr_clear(&e);
		return;
	}
	fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
	log_info("session %llu opened", (unsigned long long)s->id);
	pump(s);
}

/* Close every page (the gateway is stopping). */
void
bridge_close_all(void)
{
	for (GList *l = sessions; l; l = l->next)
		page_close(l->data, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "tusk-ui is stopping");
}

/*
 * schema_client.c — get_schema timed at the broker's socket, as bytes:
 * from sending the request to the last byte of the answer, found with
 * Tusk's own resumable scanner (no decoding, so the figure is the broker's
 * and the socket's, not a client library's).
 *
 *   schema_client SOCKET CONNECTION_ID ROUNDS REFRESH
 *
 * REFRESH 1 reads the catalog every round (cold), 0 answers from the
 * cache (the first round is not counted by bench.py: it may read). Prints
 * one line per round: milliseconds and bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <msgpack.h>

#include "mpscan.h"

/* Milliseconds on the monotonic clock. */
static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* msgpack-c's writer into a stdio-free buffer. */
static int
sbuf_write(void *data, const char *buf, size_t len)
{
	return msgpack_sbuffer_write(data, buf, len);
}

int
main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: schema_client SOCKET CONNECTION_ID ROUNDS REFRESH\n");
		return 2;
	}
	int rounds = atoi(argv[3]);
	bool refresh = atoi(argv[4]) != 0;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		perror("connect");
		return 1;
	}
	struct mp_limits lim = { 256u << 20, MP_MAX_DEPTH, 256u << 20 };
	struct evbuffer *in = evbuffer_new();
	size_t expect = 0;
	for (int r = 0; r < rounds; r++) {
		msgpack_sbuffer sb;
		msgpack_packer pk;
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, sbuf_write);
		msgpack_pack_array(&pk, 4);
		msgpack_pack_int(&pk, 0);
		msgpack_pack_int(&pk, r + 1);
		msgpack_pack_str_with_body(&pk, "get_schema", 10);
		msgpack_pack_array(&pk, 1);
		msgpack_pack_map(&pk, 2);
		msgpack_pack_str_with_body(&pk, "connection_id", 13);
		msgpack_pack_str_with_body(&pk, argv[2], strlen(argv[2]));
		msgpack_pack_str_with_body(&pk, "refresh", 7);
		if (refresh)
			msgpack_pack_true(&pk);
		else
			msgpack_pack_false(&pk);
		double t0 = now_ms();
		if (write(fd, sb.data, sb.size) != (ssize_t)sb.size) {
			perror("write");
			return 1;
		}
		msgpack_sbuffer_destroy(&sb);
		/* the first answer is found with the scanner; a cached answer
		 * has the same size every time, so later rounds read that many
		 * bytes (and check them with the scanner after the clock stops) */
		struct mp_scan scan;
		mp_scan_init(&scan, &lim);
		size_t len = 0;
		int s = MP_MORE;
		double t1 = 0;
		if (expect) {
			while (evbuffer_get_length(in) < expect) {
				int n = evbuffer_read(in, fd, 1 << 20);
				if (n <= 0) {
					fprintf(stderr, "read: %s\n", n < 0 ? strerror(errno) : "the broker closed");
					return 1;
				}
			}
			t1 = now_ms();
		}
		while ((s = mp_scan_evbuffer(&scan, in, &len)) == MP_MORE) {
			int n = evbuffer_read(in, fd, 1 << 20);
			if (n <= 0) {
				fprintf(stderr, "read: %s\n", n < 0 ? strerror(errno) : "the broker closed");
				return 1;
			}
		}
		if (!expect)
			t1 = now_ms();
		if (s != MP_DONE || (expect && len != expect)) {
			fprintf(stderr, "malformed answer, or not the size of the first\n");
			return 1;
		}
		if (!refresh)
			expect = len;
		printf("%.3f %zu\n", t1 - t0, len);
		evbuffer_drain(in, len);
	}
	evbuffer_free(in);
	close(fd);
	return 0;
}

/*
 * cmd-workers.c — tuskctl workers, top, kill, events: see what every
 * connection's process is doing, and stop one, from any terminal (also
 * when the frontend is frozen or closed).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"
#include "msg.h"
#include "util.h"

/* 12345678 → "11.8M" */
static char *
human_bytes(int64_t b)
{
	if (b < 0)
		return xstrdup("");
	if (b < 1024)
		return xasprintf("%lldB", (long long)b);
	if (b < 1024 * 1024)
		return xasprintf("%.1fK", (double)b / 1024);
	if (b < 1024LL * 1024 * 1024)
		return xasprintf("%.1fM", (double)b / (1024 * 1024));
	return xasprintf("%.2fG", (double)b / (1024.0 * 1024 * 1024));
}

/* 1520 → "1.5s", 75000 → "1m15s" */
static char *
human_ms(int64_t ms)
{
	if (ms < 0)
		return xstrdup("");
	if (ms < 1000)
		return xasprintf("%lldms", (long long)ms);
	if (ms < 60000)
		return xasprintf("%.1fs", (double)ms / 1000);
	return xasprintf("%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
}

/* One-line SQL, cut to n characters. */
static char *
short_sql(const msgpack_object *w, size_t n)
{
	char *s = mo_map_strdup(w, "query_sql", "");
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
	if (strlen(s) > n) {
		s[n - 1] = '~';
		s[n] = '\0';
	}
	return s;
}

/* "name" of a worker's connection, "name · label" for a labelled session
 * (a window's tab). */
static char *
session_name(const msgpack_object *w)
{
	char *name = mo_map_strdup(w, "connection_name", ""), *label = mo_map_strdup(w, "label", NULL);
	if (label == NULL)
		return name;
	char *s = xasprintf("%s \u00b7 %s", name, label);
	free(name);
	free(label);
	return s;
}

/* The live workers (and, with dead, the ended ones) as a table. */
static void
workers_table(const msgpack_object *r, bool dead, const int64_t *cpu_pct, FILE *f)
{
	const char *hdr[] = { "id", "pid", "role", "state", "connection", "backend", "query",
		"elapsed", "rows", "rss", "cpu", "heartbeat" };
	const char *dead_hdr[] = { "id", "pid", "role", "connection", "died", "reason" };
	struct table *t = dead ? table_new(dead_hdr, 6) : table_new(hdr, 12);
	for (uint32_t i = 0; i < r->via.array.size; i++) {
		const msgpack_object *w = &r->via.array.ptr[i];
		char *state = mo_map_strdup(w, "state", "");
		bool is_dead = strcmp(state, "dead") == 0;
		if (is_dead != dead) {
			free(state);
			continue;
		}
		if (dead) {
			char **c = xcalloc(6, sizeof *c);
			c[0] = xasprintf("%lld", (long long)mo_map_int(w, "worker_id", 0));
			c[1] = xasprintf("%lld", (long long)mo_map_int(w, "pid", 0));
			c[2] = mo_map_strdup(w, "role", "");
			c[3] = mo_map_strdup(w, "connection_name", "");
			c[4] = mo_map_strdup(w, "died_at", "");
			c[5] = mo_map_strdup(w, "death_reason", "");
			table_add(t, c);
			free(state);
			continue;
		}
		char **c = xcalloc(12, sizeof *c);
		int64_t bp = mo_map_int(w, "backend_pid", -1);
		c[0] = xasprintf("%lld", (long long)mo_map_int(w, "worker_id", 0));
		c[1] = xasprintf("%lld", (long long)mo_map_int(w, "pid", 0));
		c[2] = mo_map_strdup(w, "role", "");
		c[3] = state;
		c[4] = session_name(w);
		c[5] = bp > 0 ? xasprintf("%lld", (long long)bp) : xstrdup("");
		c[6] = short_sql(w, 40);
		c[7] = human_ms(mo_map_int(w, "query_elapsed_ms", -1));
		c[8] = xasprintf("%lld", (long long)mo_map_int(w, "rows_streamed", 0));
		c[9] = human_bytes(mo_map_int(w, "rss_bytes", -1));
		if (cpu_pct)
			c[10] = xasprintf("%lld%%", (long long)cpu_pct[i]);
		else
			c[10] = human_ms(mo_map_int(w, "cpu_ms", -1));
		c[11] = human_ms(mo_map_int(w, "heartbeat_age_ms", -1));
		table_add(t, c);
		state = NULL;
	}
	table_print(t, f);
	table_free(t);
}

/* Count entries by liveness. */
static unsigned
count_state(const msgpack_object *r, bool dead)
{
	unsigned n = 0;
	for (uint32_t i = 0; i < r->via.array.size; i++) {
		const msgpack_object *st = mo_map_get(&r->via.array.ptr[i], "state");
		if (mo_str_eq(st, "dead") == dead)
			n++;
	}
	return n;
}

/* workers: the running workers (and with --all those that ended lately). */
static void
workers_result(const msgpack_object *r, void *arg)
{
	bool all = *(bool *)arg;
	if (ctl.json) {
		print_object(r);
		return;
	}
	if (r->type != MSGPACK_OBJECT_ARRAY)
		return;
	if (count_state(r, false) == 0)
		printf("no workers running\n");
	else
		workers_table(r, false, NULL, stdout);
	if (all && count_state(r, true) > 0) {
		printf("\nrecently ended:\n");
		workers_table(r, true, NULL, stdout);
	}
}

/* workers [--all]: the broker's worker processes. */
int
cmd_workers(int argc, char **argv)
{
	bool all = false;
	if (argc == 2 && (strcmp(argv[1], "--all") == 0 || strcmp(argv[1], "-a") == 0))
		all = true;
	else if (argc != 1)
		return EXIT_USAGE;
	return ctl_call(M_LIST_WORKERS, pack_no_params, NULL, workers_result, &all, NULL, NULL);
}

/* --- kill ----------------------------------------------------------------- */

struct kill_target {
	int64_t worker_id;
	char *connection_id;
};

/* kill_worker's parameters: a connection or a worker id. */
static void
pack_kill(msgpack_packer *pk, void *arg)
{
	struct kill_target *k = arg;
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	if (k->connection_id) {
		mp_pack_key(pk, "connection_id");
		mp_pack_cstr(pk, k->connection_id);
	} else {
		mp_pack_key(pk, "worker_id");
		msgpack_pack_int64(pk, k->worker_id);
	}
}

/* kill: the worker stopped, and whether its server backend ended. */
static void
kill_result(const msgpack_object *r, void *arg)
{
	UNUSED(arg);
	if (ctl.json) {
		print_object(r);
		return;
	}
	char *reason = mo_map_strdup(r, "reason", "");
	printf("worker %lld (pid %lld) stopped: %s\n", (long long)mo_map_int(r, "worker_id", 0),
	    (long long)mo_map_int(r, "pid", 0), reason);
	free(reason);
	int64_t bp = mo_map_int(r, "backend_pid", -1);
	const msgpack_object *bt = mo_map_get(r, "backend_terminated");
	if (bp <= 0) {
		printf("no server backend to end\n");
	} else if (bt && bt->type == MSGPACK_OBJECT_BOOLEAN && bt->via.boolean) {
		printf("server backend %lld ended\n", (long long)bp);
	} else {
		char *err = mo_map_strdup(r, "backend_error", ""), *hint = mo_map_strdup(r, "hint", "");
		printf("server backend %lld NOT ended: %s\n", (long long)bp, err);
		if (*hint)
			printf("hint: %s\n", hint);
		free(err);
		free(hint);
	}
}

/* Does the list hold a live worker with this id? */
static void
has_worker(const msgpack_object *r, void *arg)
{
	struct kill_target *k = arg;
	for (uint32_t i = 0; r->type == MSGPACK_OBJECT_ARRAY && i < r->via.array.size; i++)
		if (mo_map_int(&r->via.array.ptr[i], "worker_id", -1) == k->worker_id)
			return;
	k->worker_id = -1;
}

/* kill WORKER_ID|CONN: stop a worker. */
int
cmd_kill(int argc, char **argv)
{
	if (argc != 2)
		return EXIT_USAGE;
	struct kill_target k = { .worker_id = -1 };
	long long id;
	if (parse_ll(argv[1], 1, INT64_MAX, &id) == 0) {
		k.worker_id = id;
		int r = ctl_call(M_LIST_WORKERS, pack_no_params, NULL, has_worker, &k, NULL, NULL);
		if (r != EXIT_OK)
			return r;
	}
	if (k.worker_id < 0) {
		k.connection_id = resolve_connection(argv[1]);
		if (k.connection_id == NULL)
			return EXIT_ERR;
	}
	int r = ctl_call(M_KILL_WORKER, pack_kill, &k, kill_result, NULL, NULL, NULL);
	free(k.connection_id);
	return r;
}

/* --- events ------------------------------------------------------------------- */

/* subscribe's parameters: the topics, or none for all. */
static void
pack_topics(msgpack_packer *pk, void *arg)
{
	char *topics = arg;
	msgpack_pack_array(pk, 1);
	if (topics == NULL) {
		msgpack_pack_map(pk, 0);
		return;
	}
	unsigned n = 1;
	for (char *p = topics; *p; p++)
		n += *p == ',';
	msgpack_pack_map(pk, 1);
	mp_pack_key(pk, "topics");
	msgpack_pack_array(pk, n);
	char *save = NULL, *copy = xstrdup(topics);
	unsigned packed = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save), packed++)
		mp_pack_cstr(pk, t);
	for (; packed < n; packed++)
		mp_pack_cstr(pk, ""); /* empty items (",,") are refused by the broker */
	free(copy);
}

/* One event as a line. */
static void
print_event(const struct rpc_msg *m, void *arg)
{
	UNUSED(arg);
	if (strcmp(m->method, "event") != 0 || m->params == NULL || m->params->type != MSGPACK_OBJECT_ARRAY ||
	    m->params->via.array.size != 1)
		return;
	const msgpack_object *e = &m->params->via.array.ptr[0];
	if (ctl.json) {
		json_value(stdout, e);
		fputc('\n', stdout);
		fflush(stdout);
		return;
	}
	char *at = mo_map_strdup(e, "at", ""), *topic = mo_map_strdup(e, "topic", ""), *type = mo_map_strdup(e, "type", "");
	printf("%s %-11s %-18s", at, topic, type);
	if (strcmp(topic, "workers") == 0) {
		const msgpack_object *w = mo_map_get(e, "worker");
		char *st = mo_map_strdup(w, "state", ""), *conn = mo_map_strdup(w, "connection_name", ""), *why = mo_map_strdup(w, "death_reason", "");
		printf(" worker=%lld pid=%lld state=%s", (long long)mo_map_int(w, "worker_id", 0),
		    (long long)mo_map_int(w, "pid", 0), st);
		if (*conn)
			printf(" connection=\"%s\"", conn);
		if (*why)
			printf(" reason=\"%s\"", why);
		free(st);
		free(conn);
		free(why);
	} else if (strcmp(topic, "connections") == 0) {
		char *id = mo_map_strdup(e, "connection_id", ""), *name = mo_map_strdup(e, "name", ""), *why = mo_map_strdup(e, "reason", "");
		printf(" connection=%s name=\"%s\"", id, name);
		if (*why)
			printf(" reason=\"%s\"", why);
		free(id);
		free(name);
		free(why);
	} else {
		char *q = mo_map_strdup(e, "query_id", ""), *cid = mo_map_strdup(e, "connection_id", "");
		printf(" query=%s connection=%s rows=%lld elapsed=%lldms", q, cid,
		    (long long)mo_map_int(e, "row_count", 0), (long long)mo_map_int(e, "elapsed_ms", 0));
		const msgpack_object *err = mo_map_get(e, "error");
		const msgpack_object *msg = mo_map_get(err, "message");
		if (msg && msg->type == MSGPACK_OBJECT_STR)
			printf(" error=\"%.*s\"", (int)msg->via.str.size, msg->via.str.ptr);
		free(q);
		free(cid);
	}
	if (mo_map_int(e, "dropped", 0) > 0)
		printf(" (%lld earlier events dropped)", (long long)mo_map_int(e, "dropped", 0));
	printf("\n");
	fflush(stdout);
	free(at);
	free(topic);
	free(type);
}

/* events: say it is listening. */
static void
subscribed(const msgpack_object *r, void *arg)
{
	UNUSED(r);
	UNUSED(arg);
	if (!ctl.json) {
		fprintf(stderr, "listening for events (^C to stop)\n");
	}
}

/* events [--topics T,...]: print the broker's events until it goes or ^C. */
int
cmd_events(int argc, char **argv)
{
	char *topics = NULL;
	if (argc == 3 && (strcmp(argv[1], "--topics") == 0 || strcmp(argv[1], "-t") == 0))
		topics = argv[2];
	else if (argc != 1)
		return EXIT_USAGE;
	int r = ctl_call(M_SUBSCRIBE, pack_topics, topics, subscribed, NULL, print_event, NULL);
	if (r != EXIT_OK)
		return r;
	/* events until the broker goes away (or ^C) */
	return ctl_wait_notifications(print_event, NULL);
}

/* --- top ------------------------------------------------------------------------ */

enum sort_by { SORT_CPU, SORT_ELAPSED, SORT_MEMORY };

struct top {
	enum sort_by sort;
	int interval_ms;
	/* previous cpu_ms per worker id, for the percentage */
	int64_t *prev_ids, *prev_cpu;
	size_t nprev;
	int64_t prev_t;
	unsigned rendered;
};

/* The key a worker is sorted by. */
static int64_t
sort_key(const struct top *t, const msgpack_object *w, int64_t pct)
{
	switch (t->sort) {
	case SORT_ELAPSED: return mo_map_int(w, "query_elapsed_ms", -1);
	case SORT_MEMORY: return mo_map_int(w, "rss_bytes", -1);
	default: return pct * 1000000 + mo_map_int(w, "cpu_ms", 0);
	}
}

static int64_t *sort_keys;

/* Order row indexes by sort_keys, largest first. */
static int
cmp_idx(const void *a, const void *b)
{
	int64_t ka = sort_keys[*(const uint32_t *)a], kb = sort_keys[*(const uint32_t *)b];
	return ka < kb ? 1 : ka > kb ? -1 : 0;
}

/* Draw one screen. */
static void
top_render(const msgpack_object *r, void *arg)
{
	struct top *t = arg;
	if (r->type != MSGPACK_OBJECT_ARRAY)
		return;
	uint32_t n = r->via.array.size;
	int64_t now = mono_ms();
	int64_t *pct = xcalloc(MAX(n, 1), sizeof *pct);
	int64_t *ids = xcalloc(MAX(n, 1), sizeof *ids), *cpu = xcalloc(MAX(n, 1), sizeof *cpu);
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *w = &r->via.array.ptr[i];
		ids[i] = mo_map_int(w, "worker_id", 0);
		cpu[i] = mo_map_int(w, "cpu_ms", 0);
		for (size_t j = 0; j < t->nprev; j++)
			if (t->prev_ids[j] == ids[i] && now > t->prev_t)
				pct[i] = (cpu[i] - t->prev_cpu[j]) * 100 / (now - t->prev_t);
	}
	free(t->prev_ids);
	free(t->prev_cpu);
	t->prev_ids = ids;
	t->prev_cpu = cpu;
	t->nprev = n;
	t->prev_t = now;

	/* sort a copy of the array by the chosen key */
	uint32_t *idx = xcalloc(MAX(n, 1), sizeof *idx);
	sort_keys = xcalloc(MAX(n, 1), sizeof *sort_keys);
	for (uint32_t i = 0; i < n; i++) {
		idx[i] = i;
		sort_keys[i] = sort_key(t, &r->via.array.ptr[i], pct[i]);
	}
	qsort(idx, n, sizeof *idx, cmp_idx);
	msgpack_object *sorted = xcalloc(MAX(n, 1), sizeof *sorted);
	int64_t *spct = xcalloc(MAX(n, 1), sizeof *spct);
	for (uint32_t i = 0; i < n; i++) {
		sorted[i] = r->via.array.ptr[idx[i]];
		spct[i] = pct[idx[i]];
	}
	msgpack_object arr = { .type = MSGPACK_OBJECT_ARRAY, .via.array = { n, sorted } };
	static const char *const names[] = { "cpu", "elapsed", "memory" };
	printf("\033[H\033[2J");
	printf("tusk top — %u workers, sorted by %s   (c cpu · e elapsed · m memory · q quit)\n\n",
	    count_state(&arr, false), names[t->sort]);
	workers_table(&arr, false, spct, stdout);
	if (count_state(&arr, true) > 0) {
		printf("\nrecently ended:\n");
		workers_table(&arr, true, NULL, stdout);
	}
	fflush(stdout);
	t->rendered++;
	free(sort_keys);
	sort_keys = NULL;
	free(sorted);
	free(spct);
	free(idx);
	free(pct);
}

/* top: the workers redrawn every interval, sorted by cpu, elapsed or memory; q quits. */
int
cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sort", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	struct top t = { .sort = SORT_CPU, .interval_ms = 1000 };
	long long v;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "s:i:", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (strcmp(optarg, "cpu") == 0) t.sort = SORT_CPU;
			else if (strcmp(optarg, "elapsed") == 0) t.sort = SORT_ELAPSED;
			else if (strcmp(optarg, "memory") == 0) t.sort = SORT_MEMORY;
			else return EXIT_USAGE;
			break;
		case 'i':
			if (parse_ll(optarg, 100, 60000, &v) < 0)
				return EXIT_USAGE;
			t.interval_ms = (int)v;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return EXIT_USAGE;
	struct termios old, raw;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		raw = old;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		printf("\033[?25l"); /* hide the cursor */
	}
	int rc = EXIT_OK;
	for (;;) {
		rc = ctl_call(M_LIST_WORKERS, pack_no_params, NULL, top_render, &t, NULL, NULL);
		if (rc != EXIT_OK)
			break;
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		int64_t until = mono_ms() + t.interval_ms;
		bool quit = false, redraw = false;
		while (!quit && !redraw) {
			int64_t left = until - mono_ms();
			if (left <= 0)
				break;
			int n = poll(&pfd, 1, (int)left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			char c;
			ssize_t got = read(STDIN_FILENO, &c, 1);
			if (got <= 0) {
				if (!tty)
					quit = true; /* stdin closed */
				pfd.fd = -1;
				continue;
			}
			switch (c) {
			case 'q': case 'Q': case 4: quit = true; break;
			case 'c': t.sort = SORT_CPU; redraw = true; break;
			case 'e': t.sort = SORT_ELAPSED; redraw = true; break;
			case 'm': t.sort = SORT_MEMORY; redraw = true; break;
			default: break;
			}
		}
		if (quit)
			break;
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
		printf("\033[?25h\n");
	}
	free(t.prev_ids);
	free(t.prev_cpu);
	return rc;
}

/*
 * main.c — tusk-ui: start the gateway, print its address, run until told
 * to stop.
 *
 *   tusk-ui [--web-dir DIR] [--no-start] [--stdin-lifetime] [--window] [--log-level L]
 *
 * The first line on stdout is the address to open, token included
 * (http://127.0.0.1:PORT/?token=…); logs go to stderr. SIGTERM or SIGINT
 * stop it; with --stdin-lifetime so does the end of its standard input, so
 * a parent (the desktop window) that dies for any reason takes its gateway
 * with it. --window: it serves the tusk window only (see http.c's headers).
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <glib-unix.h>

#include "gateway.h"
#include "log.h"
#include "proto.h"
#include "selfpath.h"
#include "util.h"

struct gateway gw;

/* Print usage. */
static void
usage(FILE *f)
{
	fprintf(f, "usage: tusk-ui [--web-dir DIR] [--no-start] [--stdin-lifetime] [--window] [--log-level LEVEL]\n"
	    "Serve Tusk's web frontend on 127.0.0.1 and bridge it to the broker (tuskd).\n"
	    "Prints the address to open (with this launch's token) as its first line.\n");
}

/* Where the built web UI is: --web-dir, $TUSK_WEB_DIR, or beside the binary. */
static char *
find_web_dir(const char *opt)
{
	if (opt)
		return xstrdup(opt);
	const char *env = getenv("TUSK_WEB_DIR");
	if (env && *env)
		return xstrdup(env);
	/* build/bin/../web (the build tree), PREFIX/libexec/tusk/../../share/tusk/web
	 * (installed), PREFIX/bin/../share/tusk/web (tusk-ui beside tusk) */
	static const char *const rel[] = { "../web/index.html", "../../share/tusk/web/index.html",
		"../share/tusk/web/index.html", NULL };
	char *idx = selfpath_find(rel, R_OK);
	if (idx == NULL)
		return NULL;
	char *real = realpath(dirname(idx), NULL);
	free(idx);
	return real;
}

/* SIGTERM / SIGINT: stop. */
static gboolean
on_signal(gpointer arg)
{
	UNUSED(arg);
	log_info("stopping");
	g_main_loop_quit(gw.loop);
	return G_SOURCE_CONTINUE;
}

/* Standard input readable: its end means our parent is gone. */
static gboolean
on_stdin(gint fd, GIOCondition cond, gpointer arg)
{
	UNUSED(cond);
	UNUSED(arg);
	char buf[256];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return G_SOURCE_CONTINUE;
	log_info("standard input closed: stopping");
	g_main_loop_quit(gw.loop);
	return G_SOURCE_REMOVE;
}

/* Make this launch's token. */
static int
make_token(void)
{
	unsigned char raw[32];
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return -1;
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(gw.token + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof raw);
	return 0;
}

/* tusk-ui: find the web UI, listen on loopback, print the address, serve until told to stop. */
int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "web-dir", required_argument, NULL, 'w' },
		{ "no-start", no_argument, NULL, 'n' },
		{ "stdin-lifetime", no_argument, NULL, 's' },
		{ "window", no_argument, NULL, 'W' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *web_opt = NULL;
	bool stdin_life = false;
	int level = TLOG_INFO, c;

	log_init("tusk-ui");
	log_set_sink(log_sink_stderr, NULL);
	while ((c = getopt_long(argc, argv, "w:nsWl:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'w': web_opt = optarg; break;
		case 'n': gw.no_start = true; break;
		case 's': stdin_life = true; break;
		case 'W': gw.window = true; break;
		case 'l':
			if ((level = log_level_parse(optarg)) < 0) {
				fprintf(stderr, "tusk-ui: unknown log level '%s'\n", optarg);
				return 2;
			}
			break;
		case 'V': printf("tusk-ui %s\n", TUSK_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	log_set_level(level);
	signal(SIGPIPE, SIG_IGN);

	gw.web_dir = find_web_dir(web_opt);
	if (gw.web_dir == NULL || http_load_files(gw.web_dir) < 0) {
		fprintf(stderr, "tusk-ui: cannot find the built web UI%s%s\n"
		    "hint: build it with `make` (it lands in build/web), or point --web-dir / "
		    "TUSK_WEB_DIR at it\n", gw.web_dir ? " in " : "", gw.web_dir ? gw.web_dir : "");
		return 1;
	}
	if (make_token() < 0) {
		fprintf(stderr, "tusk-ui: getrandom failed: %s\n", strerror(errno));
		return 1;
	}

	gw.server = soup_server_new(NULL, NULL);
	GError *err = NULL;
	/* loopback only, a port the kernel picks */
	if (!soup_server_listen_local(gw.server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &err)) {
		fprintf(stderr, "tusk-ui: cannot listen on 127.0.0.1: %s\n", err->message);
		g_error_free(err);
		return 1;
	}
	GSList *uris = soup_server_get_uris(gw.server);
	gw.port = uris ? (unsigned)g_uri_get_port(uris->data) : 0;
	g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
	if (gw.port == 0) {
		fprintf(stderr, "tusk-ui: the server has no port\n");
		return 1;
	}
	snprintf(gw.cookie_name, sizeof gw.cookie_name, "tusk_%u", gw.port);
	http_install();

	gw.loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, on_signal, NULL);
	g_unix_signal_add(SIGINT, on_signal, NULL);
	if (stdin_life)
		g_unix_fd_add(0, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, NULL);

	printf("http://127.0.0.1:%u/?token=%s\n", gw.port, gw.token);
	fflush(stdout);
	log_info("serving %s on 127.0.0.1:%u", gw.web_dir, gw.port);

	g_main_loop_run(gw.loop);

	bridge_close_all();
	soup_server_disconnect(gw.server);
	/* let the close frames go out */
	for (int i = 0; i < 50 && g_main_context_iteration(NULL, FALSE); i++)
		;
	g_object_unref(gw.server);
	g_main_loop_unref(gw.loop);
	g_hash_table_destroy(gw.files);
	free(gw.web_dir);
	explicit_bzero(gw.token, sizeof gw.token);
	return 0;
}

/*
 * main.c — tusk, the desktop window: a GTK window around a WebKitGTK view
 * of the web frontend, served by a tusk-ui gateway this process starts.
 *
 *   tusk              open the window (starting the broker if needed)
 *   tusk --browser    open the address in the user's browser instead
 *
 * It owns nothing: the broker holds the state, the gateway moves messages,
 * the page draws. This process only makes sure the broker runs, starts one
 * gateway (its standard input is a pipe from us, so it ends when we end,
 * however we end), shows the page without browser chrome, and stops the
 * gateway when the window closes. Without a display it prints the address
 * and keeps the gateway up until interrupted.
 *
 * The view uses an ephemeral web context: the gateway's cookie (this
 * launch's token) never reaches the disk, and navigation away from the
 * gateway's origin is refused (links open in the user's browser).
 * --automation lets WebKitWebDriver drive the window (tests).
 *
 * The token never appears on a command line or in an environment (both are
 * readable by every local user): the gateway prints it to us on a pipe, and
 * --browser opens the browser on a private page (0600, in the runtime
 * directory) that sends it on to the address, as Jupyter does; the page is
 * removed when we end. docs/frontend.md says why.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gtk/gtk.h>
#include <webkit2/webkit2.h>

#include "brokersock.h"
#include "error.h"
#include "paths.h"
#include "proto.h"
#include "selfpath.h"
#include "util.h"

static struct {
	GPid gateway;
	int gateway_stdin;	/* our end of its lifetime pipe */
	char *url;		/* with the token */
	char *origin;		/* http://127.0.0.1:PORT/ */
	GtkWidget *window;
	WebKitWebView *view;
	GMainLoop *loop;	/* --browser / no display */
	char *launch_page;	/* --browser: the private page the browser opens */
} shell = { .gateway_stdin = -1 };

/* Print usage. */
static void
usage(FILE *f)
{
	fprintf(f, "usage: tusk [--browser] [--automation]\n"
	    "Open Tusk's window (or, with --browser, the user's browser) on a private gateway.\n");
}

/* Say what went wrong, in a dialog when there is a display. */
static void
report(bool gui, const char *msg, const char *hint)
{
	fprintf(stderr, "tusk: %s\n", msg);
	if (hint)
		fprintf(stderr, "hint: %s\n", hint);
	if (!gui)
		return;
	GtkWidget *d = gtk_message_dialog_new(NULL, 0, GTK_MESSAGE_ERROR, GTK_BUTTONS_CLOSE, "%s",
	    msg);
	if (hint)
		gtk_message_dialog_format_secondary_text(GTK_MESSAGE_DIALOG(d), "%s", hint);
	gtk_dialog_run(GTK_DIALOG(d));
	gtk_widget_destroy(d);
}

/* Start tusk-ui (beside us, or in ../libexec/tusk) and read its address
 * (first line on stdout). */
static int
gateway_start(char **msg)
{
	static const char *const rel[] = { "tusk-ui", "../libexec/tusk/tusk-ui", NULL };
	char *path = selfpath_find(rel, X_OK);
	if (path == NULL) {
		*msg = xstrdup("cannot find tusk-ui beside tusk or in ../libexec/tusk/");
		return -1;
	}
	char opt[] = "--stdin-lifetime";
	char *argv[] = { path, opt, NULL };
	int in_fd, out_fd;
	GError *err = NULL;
	bool ok = g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
	    &shell.gateway, &in_fd, &out_fd, NULL, &err);
	free(path);
	if (!ok) {
		*msg = xasprintf("cannot start tusk-ui: %s", err->message);
		g_error_free(err);
		return -1;
	}
	shell.gateway_stdin = in_fd;
	fcntl(in_fd, F_SETFD, FD_CLOEXEC);
	/* the first line, within 10 s */
	char line[512];
	size_t len = 0;
	int64_t deadline = mono_ms() + 10000;
	while (len < sizeof line - 1) {
		struct pollfd p = { out_fd, POLLIN, 0 };
		int left = (int)(deadline - mono_ms());
		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
		ssize_t r = read(out_fd, line + len, 1);
		if (r <= 0 || line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	close(out_fd);
	const char *pfx = "http://127.0.0.1:";
	if (strncmp(line, pfx, strlen(pfx)) != 0) {
		*msg = xstrdup("tusk-ui did not start (see its messages above)");
		return -1;
	}
	shell.url = xstrdup(line);
	const char *slash = strchr(line + strlen(pfx), '/');
	shell.origin = xstrndup(line, slash ? (size_t)(slash - line) + 1 : len);
	return 0;
}

/* Stop the gateway: end its lifetime pipe, SIGTERM, wait. */
static void
gateway_stop(void)
{
	if (shell.gateway <= 0)
		return;
	if (shell.gateway_stdin >= 0)
		close(shell.gateway_stdin);
	shell.gateway_stdin = -1;
	kill(shell.gateway, SIGTERM);
	int status;
	for (int i = 0; i < 500; i++) {
		pid_t r = waitpid(shell.gateway, &status, WNOHANG);
		if (r == shell.gateway || (r < 0 && errno != EINTR))
			break;
		g_usleep(10 * 1000);
		if (i == 499) {
			kill(shell.gateway, SIGKILL);
			waitpid(shell.gateway, &status, 0);
		}
	}
	shell.gateway = 0;
}

/* Write all of buf to fd; 0, or -1 with errno. */
static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * --browser: write the page the browser opens, a file only we may read in
 * the runtime directory that sends it on to the address (token included).
 * The browser's command line then holds only the file's path. Sets
 * shell.launch_page, or returns -1 with why in msg.
 */
static int
launch_page_write(char **msg)
{
	struct tusk_paths p;
	struct tusk_error e = TUSK_ERROR_INIT;
	if (paths_resolve(&p, &e) < 0 || paths_ensure(&p, &e) < 0) {
		*msg = xasprintf("no private directory for the browser's page: %s", e.message);
		terr_clear(&e);
		paths_free(&p);
		return -1;
	}
	char *path = xasprintf("%s/open-%ld.html", p.run_dir, (long)getpid());
	paths_free(&p);
	/* a page left by an earlier tusk with our pid (killed) is stale */
	if (unlink(path) < 0 && errno != ENOENT) {
		*msg = xasprintf("cannot replace %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		*msg = xasprintf("cannot create %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	/* the address is http://127.0.0.1:PORT/?token=HEX: nothing to escape */
	char *html = xasprintf("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
	    "<meta name=\"referrer\" content=\"no-referrer\">\n"
	    "<meta http-equiv=\"refresh\" content=\"0;url=%s\">\n"
	    "<title>Tusk</title></head>\n"
	    "<body><p>Opening Tusk&hellip; If nothing happens, <a href=\"%s\">open Tusk</a>.</p></body></html>\n",
	    shell.url, shell.url);
	int r = write_all(fd, html, strlen(html));
	int err = errno;
	explicit_bzero(html, strlen(html));
	free(html);
	if (close(fd) < 0 && r == 0) {
		r = -1;
		err = errno;
	}
	if (r < 0) {
		*msg = xasprintf("cannot write %s: %s", path, strerror(err));
		unlink(path);
		free(path);
		return -1;
	}
	shell.launch_page = path;
	return 0;
}

/* Remove the browser's page (the token it holds dies with the gateway anyway). */
static void
launch_page_remove(void)
{
	if (shell.launch_page == NULL)
		return;
	unlink(shell.launch_page);
	free(shell.launch_page);
	shell.launch_page = NULL;
}

/* --browser: open the user's default browser on the private page. */
static void
browser_open(void)
{
	char *msg = NULL;
	if (launch_page_write(&msg) < 0) {
		fprintf(stderr, "tusk: cannot open a browser: %s\n", msg);
		free(msg);
		return;
	}
	GError *err = NULL;
	char *uri = g_filename_to_uri(shell.launch_page, NULL, &err);
	if (uri == NULL || !g_app_info_launch_default_for_uri(uri, NULL, &err)) {
		fprintf(stderr, "tusk: cannot open a browser: %s\n", err ? err->message : "?");
		g_clear_error(&err);
	}
	g_free(uri);
}

/* Only the gateway's own pages load in the window; other links go to the
 * user's browser. */
static gboolean
decide_policy(WebKitWebView *v, WebKitPolicyDecision *d, WebKitPolicyDecisionType type,
    gpointer arg)
{
	UNUSED(arg);
	if (type != WEBKIT_POLICY_DECISION_TYPE_NAVIGATION_ACTION &&
	    type != WEBKIT_POLICY_DECISION_TYPE_NEW_WINDOW_ACTION)
		return FALSE;
	WebKitNavigationAction *a =
	    webkit_navigation_policy_decision_get_navigation_action(WEBKIT_NAVIGATION_POLICY_DECISION(d));
	const char *uri = webkit_uri_request_get_uri(webkit_navigation_action_get_request(a));
	if (type == WEBKIT_POLICY_DECISION_TYPE_NAVIGATION_ACTION && uri &&
	    (g_str_has_prefix(uri, shell.origin) || strcmp(uri, "about:blank") == 0))
		return FALSE;
	webkit_policy_decision_ignore(d);
	if (uri && (g_str_has_prefix(uri, "https://") || g_str_has_prefix(uri, "http://")))
		gtk_show_uri_on_window(GTK_WINDOW(shell.window), uri, GDK_CURRENT_TIME, NULL);
	else
		g_message("refused to open %s", uri ? uri : "(null)");
	UNUSED(v);
	return TRUE;
}

/* WebKitWebDriver wants a view: ours. */
static WebKitWebView *
automation_view(WebKitAutomationSession *s, gpointer arg)
{
	UNUSED(s);
	UNUSED(arg);
	return shell.view;
}

/* A WebDriver session starts. */
static void
automation_started(WebKitWebContext *ctx, WebKitAutomationSession *s, gpointer arg)
{
	UNUSED(ctx);
	UNUSED(arg);
	WebKitApplicationInfo *info = webkit_application_info_new();
	unsigned maj = 0, min = 0, mic = 0;
	sscanf(TUSK_VERSION, "%u.%u.%u", &maj, &min, &mic);
	webkit_application_info_set_name(info, "tusk");
	webkit_application_info_set_version(info, (guint64)maj, (guint64)min, (guint64)mic);
	webkit_automation_session_set_application_info(s, info);
	webkit_application_info_unref(info);
	g_signal_connect(s, "create-web-view", G_CALLBACK(automation_view), NULL);
}

/* The page set its title. */
static void
title_changed(GObject *obj, GParamSpec *ps, gpointer arg)
{
	UNUSED(ps);
	UNUSED(arg);
	const char *t = webkit_web_view_get_title(WEBKIT_WEB_VIEW(obj));
	gtk_window_set_title(GTK_WINDOW(shell.window), t && *t ? t : "Tusk");
}

/* Open the window on the gateway's address. */
static void
window_open(bool automation)
{
	WebKitWebContext *ctx = webkit_web_context_new_ephemeral();
	if (automation) {
		webkit_web_context_set_automation_allowed(ctx, TRUE);
		g_signal_connect(ctx, "automation-started", G_CALLBACK(automation_started), NULL);
	}
	WebKitSettings *set = webkit_settings_new_with_settings("enable-developer-extras",
	    getenv("TUSK_DEVTOOLS") != NULL, "javascript-can-open-windows-automatically", FALSE,
	    "enable-back-forward-navigation-gestures", FALSE, NULL);
	shell.view = WEBKIT_WEB_VIEW(g_object_new(WEBKIT_TYPE_WEB_VIEW, "web-context", ctx,
	    "settings", set, "is-controlled-by-automation", automation, NULL));
	g_object_unref(set);
	g_object_unref(ctx);
	shell.window = gtk_window_new(GTK_WINDOW_TOPLEVEL);
	gtk_window_set_title(GTK_WINDOW(shell.window), "Tusk");
	gtk_window_set_default_size(GTK_WINDOW(shell.window), 1280, 800);
	gtk_window_set_icon_name(GTK_WINDOW(shell.window), TUSK_APP_ID);
	gtk_container_add(GTK_CONTAINER(shell.window), GTK_WIDGET(shell.view));
	g_signal_connect(shell.window, "destroy", G_CALLBACK(gtk_main_quit), NULL);
	g_signal_connect_swapped(shell.view, "close", G_CALLBACK(gtk_widget_destroy), shell.window);
	g_signal_connect(shell.view, "decide-policy", G_CALLBACK(decide_policy), NULL);
	g_signal_connect(shell.view, "notify::title", G_CALLBACK(title_changed), NULL);
	webkit_web_view_load_uri(shell.view, shell.url);
	gtk_widget_show_all(shell.window);
}

/* SIGINT / SIGTERM. */
static gboolean
on_signal(gpointer arg)
{
	UNUSED(arg);
	if (shell.loop)
		g_main_loop_quit(shell.loop);
	else
		gtk_main_quit();
	return G_SOURCE_CONTINUE;
}

int
main(int argc, char **argv)
{
	bool browser = false, automation = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--browser") == 0)
			browser = true;
		else if (strcmp(argv[i], "--automation") == 0)
			automation = true;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("tusk %s\n", TUSK_VERSION);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	bool display = (getenv("DISPLAY") && *getenv("DISPLAY")) ||
	    (getenv("WAYLAND_DISPLAY") && *getenv("WAYLAND_DISPLAY"));
	/* the desktop entry's id: the window's WM_CLASS / Wayland app id match it */
	g_set_prgname(TUSK_APP_ID);
	bool gui = !browser && display && gtk_init_check(&argc, &argv);

	/* the broker first, so that its failure is reported here, plainly */
	struct tusk_error e = TUSK_ERROR_INIT;
	int fd = brokersock_open(true, &e);
	if (fd < 0) {
		report(gui, e.message, e.hint);
		terr_clear(&e);
		return 1;
	}
	close(fd);
	char *msg = NULL;
	if (gateway_start(&msg) < 0) {
		report(gui, msg, "run tusk-ui alone to see why");
		free(msg);
		gateway_stop();
		return 1;
	}
	printf("%s\n", shell.url);
	fflush(stdout);

	g_unix_signal_add(SIGINT, on_signal, NULL);
	g_unix_signal_add(SIGTERM, on_signal, NULL);
	if (gui) {
		window_open(automation);
		gtk_main();
	} else {
		if (browser && display)
			browser_open();
		fprintf(stderr, "tusk: %s the address above; ^C stops the gateway\n",
		    browser && display ? "opened" : "no display: open");
		shell.loop = g_main_loop_new(NULL, FALSE);
		g_main_loop_run(shell.loop);
		g_main_loop_unref(shell.loop);
	}
	gateway_stop();
	launch_page_remove();
	free(shell.url);
	free(shell.origin);
	return 0;
}

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
 * and keeps the gateway up until interrupted. The gateway, the window with
 * its web process and the broker start side by side; the page loads when
 * the gateway's address arrives (docs/decisions.md, "The window's start").
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
 *
 * .sql files: the page asks through the WebKit message handler `tusk`
 * (window.webkit.messageHandlers.tusk.postMessage(JSON) → a promise of the
 * answer): `open` shows GTK's file chooser and answers {path, text, mtime};
 * `save` writes {path?, name, text} (the chooser when there is no path)
 * atomically and answers {path, mtime}; `stat` answers the modification
 * times of paths; `read` reads one again. The shell only touches files the
 * user picked in its choosers and `.sql` files (those the page's restored
 * workspace names): a page that misbehaved could not make the window read
 * or overwrite anything else. The broker reads no file for the page.
 *
 * `ready` says the page painted its first complete view (the connection
 * list); with TUSK_REPORT_READY set the shell prints "ready" on stdout then.
 *
 * `choose` {mode: "save" | "open", title, name} shows the chooser for an
 * export's or an import's file and answers only its path (the broker writes
 * or reads that file, not the window). Closing the window goes through the
 * page first (try_close), so a tab inside a transaction can ask
 * (beforeunload) before it is lost.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
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
	int gateway_stdout;	/* where its address comes, until read */
	char *url;		/* with the token */
	char *origin;		/* http://127.0.0.1:PORT/ */
	GtkWidget *window;
	WebKitWebView *view;
	GMainLoop *loop;	/* --browser / no display */
	char *launch_page;	/* --browser: the private page the browser opens */
	GHashTable *picked;	/* paths the user chose in our file choosers */
} shell = { .gateway_stdin = -1, .gateway_stdout = -1 };

#define FILE_MAX (64 * 1024 * 1024) /* a .sql file the editor is asked to hold */

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

/* Start tusk-ui (beside us, or in ../libexec/tusk); its address comes
 * later (gateway_address), so that it starts while the window is built.
 * window: it serves our window only (tusk-ui --window). */
static int
gateway_start(bool window, char **msg)
{
	static const char *const rel[] = { "tusk-ui", "../libexec/tusk/tusk-ui", NULL };
	char *path = selfpath_find(rel, X_OK);
	if (path == NULL) {
		*msg = xstrdup("cannot find tusk-ui beside tusk or in ../libexec/tusk/");
		return -1;
	}
	char opt[] = "--stdin-lifetime", win[] = "--window";
	char *argv[] = { path, opt, window ? win : NULL, NULL };
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
	shell.gateway_stdout = out_fd;
	fcntl(in_fd, F_SETFD, FD_CLOEXEC);
	fcntl(out_fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

/* Read the gateway's address (its first line on stdout, within 10 s). */
static int
gateway_address(char **msg)
{
	char line[512];
	size_t len = 0;
	int64_t deadline = mono_ms() + 10000;
	int out_fd = shell.gateway_stdout;
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
	shell.gateway_stdout = -1;
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
	if (shell.gateway_stdout >= 0)
		close(shell.gateway_stdout);
	shell.gateway_stdout = -1;
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

/* --- .sql files for the page --------------------------------------------------- */

/* May the page have this file read or written? (see the top of this file) */
static bool
file_allowed(const char *path)
{
	if (path == NULL || path[0] != '/')
		return false;
	if (g_hash_table_contains(shell.picked, path))
		return true;
	size_t n = strlen(path);
	return n > 4 && g_ascii_strcasecmp(path + n - 4, ".sql") == 0;
}

/* A file's modification time in ms, or -1 when it cannot be read. */
static double
file_mtime(const char *path, bool *exists)
{
	GStatBuf st;
	*exists = g_stat(path, &st) == 0 && S_ISREG(st.st_mode);
	if (!*exists)
		return -1;
	return (double)st.st_mtim.tv_sec * 1000.0 + (double)(st.st_mtim.tv_nsec / 1000000);
}

/* Answer {path, mtime[, text]} to the page. */
static void
reply_file(WebKitScriptMessageReply *reply, JSCContext *ctx, const char *path, const char *text)
{
	bool exists;
	double mtime = file_mtime(path, &exists);
	JSCValue *o = jsc_value_new_object(ctx, NULL, NULL);
	JSCValue *v = jsc_value_new_string(ctx, path);
	jsc_value_object_set_property(o, "path", v);
	g_object_unref(v);
	v = exists ? jsc_value_new_number(ctx, mtime) : jsc_value_new_null(ctx);
	jsc_value_object_set_property(o, "mtime", v);
	g_object_unref(v);
	if (text) {
		v = jsc_value_new_string(ctx, text);
		jsc_value_object_set_property(o, "text", v);
		g_object_unref(v);
	}
	webkit_script_message_reply_return_value(reply, o);
	g_object_unref(o);
}

/* Read a text file for the page; NULL with *why set. */
static char *
file_read(const char *path, char **why)
{
	char *text = NULL;
	gsize len = 0;
	GError *err = NULL;
	GStatBuf st;
	if (g_stat(path, &st) == 0 && st.st_size > FILE_MAX) {
		*why = g_strdup_printf("%s is larger than %d MiB", path, FILE_MAX >> 20);
		return NULL;
	}
	if (!g_file_get_contents(path, &text, &len, &err)) {
		*why = g_strdup(err->message);
		g_error_free(err);
		return NULL;
	}
	if (memchr(text, '\0', len) || !g_utf8_validate(text, (gssize)len, NULL)) {
		*why = g_strdup_printf("%s is not UTF-8 text", path);
		g_free(text);
		return NULL;
	}
	return text;
}

/* Write the page's text to path, atomically (a temporary file renamed). */
static bool
file_write(const char *path, const char *text, char **why)
{
	GError *err = NULL;
	if (!g_file_set_contents_full(path, text, -1,
	    G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644, &err)) {
		*why = g_strdup(err->message);
		g_error_free(err);
		return false;
	}
	return true;
}

/* A pending chooser: what to do with the path the user picks. */
struct chooser_job {
	WebKitScriptMessageReply *reply;
	JSCContext *ctx;
	char *text; /* save: what to write */
	bool save;
	bool pick; /* choose: answer the path only, touch no file */
};

/* The user answered a file chooser. */
static void
chooser_done(GtkNativeDialog *d, gint response, gpointer arg)
{
	struct chooser_job *j = arg;
	char *path = response == GTK_RESPONSE_ACCEPT ? gtk_file_chooser_get_filename(GTK_FILE_CHOOSER(d)) : NULL;
	char *why = NULL;
	if (path == NULL) {
		JSCValue *nil = jsc_value_new_null(j->ctx);
		webkit_script_message_reply_return_value(j->reply, nil);
		g_object_unref(nil);
	} else if (j->pick) {
		JSCValue *v = jsc_value_new_string(j->ctx, path);
		webkit_script_message_reply_return_value(j->reply, v);
		g_object_unref(v);
	} else {
		g_hash_table_add(shell.picked, g_strdup(path));
		char *text = j->save ? NULL : file_read(path, &why);
		if ((j->save && !file_write(path, j->text, &why)) || (!j->save && text == NULL))
			webkit_script_message_reply_return_error_message(j->reply, why);
		else
			reply_file(j->reply, j->ctx, path, text);
		g_free(text);
	}
	g_free(why);
	g_free(path);
	webkit_script_message_reply_unref(j->reply);
	g_object_unref(j->ctx);
	g_free(j->text);
	g_free(j);
	g_object_unref(d);
}

/* Show the open or save chooser; the answer comes in chooser_done. A
 * title means a pick (an export's or import's file): any file, path only. */
static void
chooser_show(WebKitScriptMessageReply *reply, JSCContext *ctx, bool save, const char *name, const char *text,
    const char *title)
{
	GtkFileChooserNative *d = gtk_file_chooser_native_new(title ? title : save ? "Save SQL file" : "Open SQL file",
	    GTK_WINDOW(shell.window), save ? GTK_FILE_CHOOSER_ACTION_SAVE : GTK_FILE_CHOOSER_ACTION_OPEN,
	    save ? "_Save" : "_Open", "_Cancel");
	struct chooser_job *j = g_new0(struct chooser_job, 1);
	j->pick = title != NULL;
	if (!j->pick) {
		GtkFileFilter *sql = gtk_file_filter_new(), *all = gtk_file_filter_new();
		gtk_file_filter_set_name(sql, "SQL files");
		gtk_file_filter_add_pattern(sql, "*.sql");
		gtk_file_filter_add_pattern(sql, "*.SQL");
		gtk_file_filter_set_name(all, "All files");
		gtk_file_filter_add_pattern(all, "*");
		gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(d), sql);
		gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(d), all);
	}
	if (save) {
		gtk_file_chooser_set_do_overwrite_confirmation(GTK_FILE_CHOOSER(d), TRUE);
		if (!j->pick)
			gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(d), name && *name ? name : "query.sql");
		else if (name && *name && !strchr(name, '/'))
			gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(d), name);
	}
	j->reply = webkit_script_message_reply_ref(reply);
	j->ctx = g_object_ref(ctx);
	j->text = g_strdup(text);
	j->save = save;
	g_signal_connect(d, "response", G_CALLBACK(chooser_done), j);
	gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(d), TRUE);
	gtk_native_dialog_show(GTK_NATIVE_DIALOG(d));
}

/* A string property of a message, or NULL (a new string). */
static char *
msg_str(JSCValue *o, const char *name)
{
	JSCValue *v = jsc_value_object_get_property(o, name);
	char *s = v && jsc_value_is_string(v) ? jsc_value_to_string(v) : NULL;
	if (v)
		g_object_unref(v);
	return s;
}

/* {op: "stat", paths: [...]}: [{path, exists, mtime}] for the allowed ones. */
static void
file_stat_all(WebKitScriptMessageReply *reply, JSCContext *ctx, JSCValue *msg)
{
	JSCValue *paths = jsc_value_object_get_property(msg, "paths");
	GPtrArray *out = g_ptr_array_new_with_free_func(g_object_unref);
	for (guint i = 0; paths && jsc_value_is_array(paths) && i < 1000; i++) {
		JSCValue *p = jsc_value_object_get_property_at_index(paths, i);
		if (p == NULL || jsc_value_is_undefined(p)) {
			if (p)
				g_object_unref(p);
			break;
		}
		char *path = jsc_value_is_string(p) ? jsc_value_to_string(p) : NULL;
		g_object_unref(p);
		if (path && file_allowed(path)) {
			bool exists;
			double mtime = file_mtime(path, &exists);
			JSCValue *o = jsc_value_new_object(ctx, NULL, NULL), *v;
			v = jsc_value_new_string(ctx, path);
			jsc_value_object_set_property(o, "path", v);
			g_object_unref(v);
			v = jsc_value_new_boolean(ctx, exists);
			jsc_value_object_set_property(o, "exists", v);
			g_object_unref(v);
			v = exists ? jsc_value_new_number(ctx, mtime) : jsc_value_new_null(ctx);
			jsc_value_object_set_property(o, "mtime", v);
			g_object_unref(v);
			g_ptr_array_add(out, o);
		}
		g_free(path);
	}
	if (paths)
		g_object_unref(paths);
	JSCValue *arr = jsc_value_new_array_from_garray(ctx, out);
	webkit_script_message_reply_return_value(reply, arr);
	g_object_unref(arr);
	g_ptr_array_unref(out);
}

/* The page painted its first complete view: with TUSK_REPORT_READY set,
 * say so on stdout, once (`make bench` times exec → this line). */
static void
page_ready(void)
{
	static bool said;
	if (said || getenv("TUSK_REPORT_READY") == NULL)
		return;
	said = true;
	printf("ready\n");
	fflush(stdout);
}

/* A message from the page (see the top of this file); TRUE: we answer. */
static gboolean
page_message(WebKitUserContentManager *m, JSCValue *value, WebKitScriptMessageReply *reply,
    gpointer arg)
{
	UNUSED(m);
	UNUSED(arg);
	JSCContext *ctx = jsc_value_get_context(value);
	char *json = jsc_value_is_string(value) ? jsc_value_to_string(value) : NULL;
	JSCValue *msg = json ? jsc_value_new_from_json(ctx, json) : NULL;
	g_free(json);
	char *op = msg && jsc_value_is_object(msg) ? msg_str(msg, "op") : NULL;
	char *path = op ? msg_str(msg, "path") : NULL, *why = NULL;
	if (op == NULL) {
		webkit_script_message_reply_return_error_message(reply, "a message the window does not understand");
	} else if (strcmp(op, "open") == 0) {
		chooser_show(reply, ctx, false, NULL, NULL, NULL);
	} else if (strcmp(op, "save") == 0) {
		char *text = msg_str(msg, "text"), *name = msg_str(msg, "name");
		if (text == NULL)
			webkit_script_message_reply_return_error_message(reply, "save: no text");
		else if (path && !file_allowed(path))
			webkit_script_message_reply_return_error_message(reply, "save: the window writes only files you chose or .sql files");
		else if (path && !file_write(path, text, &why))
			webkit_script_message_reply_return_error_message(reply, why);
		else if (path)
			reply_file(reply, ctx, path, NULL);
		else
			chooser_show(reply, ctx, true, name, text, NULL);
		g_free(text);
		g_free(name);
	} else if (strcmp(op, "read") == 0) {
		char *text = path && file_allowed(path) ? file_read(path, &why) : NULL;
		if (text)
			reply_file(reply, ctx, path, text);
		else
			webkit_script_message_reply_return_error_message(reply,
			    why ? why : "read: the window reads only files you chose or .sql files");
		g_free(text);
	} else if (strcmp(op, "choose") == 0) {
		char *mode = msg_str(msg, "mode"), *title = msg_str(msg, "title"), *name = msg_str(msg, "name");
		bool save = mode && strcmp(mode, "save") == 0;
		chooser_show(reply, ctx, save, name, NULL, title ? title : save ? "Save" : "Open");
		g_free(mode);
		g_free(title);
		g_free(name);
	} else if (strcmp(op, "stat") == 0) {
		file_stat_all(reply, ctx, msg);
	} else if (strcmp(op, "ready") == 0) {
		page_ready();
		JSCValue *nil = jsc_value_new_null(ctx);
		webkit_script_message_reply_return_value(reply, nil);
		g_object_unref(nil);
	} else {
		webkit_script_message_reply_return_error_message(reply, "an operation the window does not know");
	}
	g_free(why);
	g_free(path);
	g_free(op);
	if (msg)
		g_object_unref(msg);
	return TRUE;
}

/* The window's close button: ask the page (beforeunload) first; it closes
 * the view, and that the window, when it agrees. */
static gboolean
window_delete(GtkWidget *w, GdkEvent *ev, gpointer arg)
{
	UNUSED(w);
	UNUSED(ev);
	UNUSED(arg);
	webkit_web_view_try_close(shell.view);
	return TRUE;
}

/* Build and show the window (and start the network process) while the
 * broker and the gateway start; the page loads in window_load. */
static void
window_open(bool automation)
{
	WebKitWebContext *ctx = webkit_web_context_new_ephemeral();
	if (automation) {
		webkit_web_context_set_automation_allowed(ctx, TRUE);
		g_signal_connect(ctx, "automation-started", G_CALLBACK(automation_started), NULL);
	}
	/* memory: a document viewer's caches, no GPU compositing (under a
	 * software GL it loaded Mesa's llvmpipe into the web process: +80 MB
	 * PSS, docs/decisions.md), and nothing the page does not use */
	webkit_web_context_set_cache_model(ctx, WEBKIT_CACHE_MODEL_DOCUMENT_VIEWER);
	/* starts the network process now, beside the web process */
	webkit_web_context_prefetch_dns(ctx, "127.0.0.1");
	WebKitSettings *set = webkit_settings_new_with_settings("enable-developer-extras",
	    getenv("TUSK_DEVTOOLS") != NULL, "javascript-can-open-windows-automatically", FALSE,
	    "enable-back-forward-navigation-gestures", FALSE,
	    "hardware-acceleration-policy", WEBKIT_HARDWARE_ACCELERATION_POLICY_NEVER,
	    "enable-webgl", FALSE, "enable-webaudio", FALSE, "enable-media", FALSE, "enable-mediasource", FALSE,
	    "enable-media-stream", FALSE, "enable-encrypted-media", FALSE, "enable-page-cache", FALSE, NULL);
	WebKitUserContentManager *ucm = webkit_user_content_manager_new();
	g_signal_connect(ucm, "script-message-with-reply-received::tusk", G_CALLBACK(page_message), NULL);
	webkit_user_content_manager_register_script_message_handler_with_reply(ucm, "tusk", NULL);
	shell.picked = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	shell.view = WEBKIT_WEB_VIEW(g_object_new(WEBKIT_TYPE_WEB_VIEW, "web-context", ctx,
	    "settings", set, "user-content-manager", ucm, "is-controlled-by-automation", automation, NULL));
	g_object_unref(ucm);
	g_object_unref(set);
	g_object_unref(ctx);
	shell.window = gtk_window_new(GTK_WINDOW_TOPLEVEL);
	gtk_window_set_title(GTK_WINDOW(shell.window), "Tusk");
	gtk_window_set_default_size(GTK_WINDOW(shell.window), 1280, 800);
	gtk_window_set_icon_name(GTK_WINDOW(shell.window), TUSK_APP_ID);
	gtk_container_add(GTK_CONTAINER(shell.window), GTK_WIDGET(shell.view));
	g_signal_connect(shell.window, "destroy", G_CALLBACK(gtk_main_quit), NULL);
	g_signal_connect(shell.window, "delete-event", G_CALLBACK(window_delete), NULL);
	g_signal_connect_swapped(shell.view, "close", G_CALLBACK(gtk_widget_destroy), shell.window);
	g_signal_connect(shell.view, "decide-policy", G_CALLBACK(decide_policy), NULL);
	g_signal_connect(shell.view, "notify::title", G_CALLBACK(title_changed), NULL);
	gtk_widget_show_all(shell.window);
}

/* Load the page from the gateway. */
static void
window_load(void)
{
	webkit_web_view_load_uri(shell.view, shell.url);
}

/* The broker check, on its own thread while GTK starts. */
struct broker_check {
	int fd;
	struct tusk_error e;
};

/* Connect to the broker (starting it if needed); the thread's body. */
static gpointer
broker_check(gpointer arg)
{
	struct broker_check *bc = arg;
	bc->fd = brokersock_open(true, &bc->e);
	return NULL;
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

/* tusk: make sure the broker runs, start a gateway, show it in a window or a browser. */
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
	/* nothing here draws with OpenGL (the page is painted on the CPU, see
	 * window_open): GTK's GL probe loaded Mesa and took 300 ms of the start */
	g_setenv("GDK_GL", "disable", FALSE);
	g_setenv("WEBKIT_DISABLE_DMABUF_RENDERER", "1", FALSE);
	/* side by side: the gateway (it needs the broker only when the page
	 * connects), the broker check (which starts it if needed), GTK and the
	 * window with its web and network processes */
	char *msg = NULL;
	bool gui_wanted = !browser && display;
	int gw = gateway_start(gui_wanted, &msg);
	struct broker_check bc = { .fd = -1, .e = TUSK_ERROR_INIT };
	GThread *bt = gw == 0 ? g_thread_new("broker-check", broker_check, &bc) : NULL;
	bool gui = gui_wanted && gtk_init_check(&argc, &argv);
	const char *gw_hint = "run tusk-ui alone to see why";
	if (automation && !gui) {
		/* a WebDriver waits for a window: fail plainly, never serve headless */
		if (gw == 0)
			gateway_stop();
		free(msg);
		msg = xasprintf("--automation needs a window, and the display %s cannot be opened",
		    getenv("DISPLAY") ? getenv("DISPLAY") : "(none)");
		gw_hint = "start an X server (e.g. Xvfb) and set DISPLAY to it";
		gw = -1;
	} else if (gw == 0 && gui_wanted && !gui) {
		/* no usable display after all: the address is for a browser, whose
		 * gateway keeps COOP */
		gateway_stop();
		gw = gateway_start(false, &msg);
	}
	if (gw < 0) {
		report(gui, msg, gw_hint);
		free(msg);
		if (bt) {
			g_thread_join(bt);
			if (bc.fd >= 0)
				close(bc.fd);
			terr_clear(&bc.e);
		}
		return 1;
	}
	if (gui)
		window_open(automation);
	/* the broker's failure is reported plainly, before the page says less */
	g_thread_join(bt);
	int fd = bc.fd;
	if (fd < 0) {
		report(gui, bc.e.message, bc.e.hint);
		terr_clear(&bc.e);
		gateway_stop();
		return 1;
	}
	close(fd);
	if (gateway_address(&msg) < 0) {
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
		window_load();
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
	if (shell.picked)
		g_hash_table_destroy(shell.picked);
	return 0;
}

/*
 * main.c — tuskctl: global options and the table of commands.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn-spec.h"
#include "ctl.h"
#include "log.h"
#include "util.h"

struct ctl_opts ctl;

static const struct cmd cmds[] = {
	{ "health", cmd_health, "health [--dismiss]",
	    "is the broker alive (starts it if needed), and its storage sound; --dismiss clears the storage notice" },
	{ "status", cmd_status, "status", "the broker, its paths, and the open connections" },
	{ "connect", cmd_connect, "connect " CONN_SPEC_USAGE,
	    "open a connection (secrets from stdin, PGPASSWORD, or a prompt), directly or through SSH" },
	{ "trust-host-key", cmd_trust_host_key, "trust-host-key CONNECTION_ID FINGERPRINT",
	    "trust the SSH host key a connect reported as unknown (it names both)" },
	{ "disconnect", cmd_disconnect, "disconnect [CONN]", "close a connection" },
	{ "connections", cmd_connections, "connections list|show|add|edit|rm|test ... (connections help)",
	    "saved connections" },
	{ "prefs", cmd_prefs, "prefs get KEY | prefs set [--string] KEY VALUE | prefs list",
	    "preferences (VALUE is JSON when it parses as JSON, else a string)" },
	{ "query", cmd_query,
	    "query [-c CONN] [-f table|csv|json] [--max-rows N] [--timeout MS] [--query-id ID]\n"
	    "          [--null TEXT] [--no-header] SQL|-",
	    "run SQL and stream the rows (^C cancels it on the server)" },
	{ "export", cmd_export,
	    "export [-c CONN] -f csv|tsv|json|ndjson|sql|markdown -o FILE [--no-header]\n"
	    "          [--delimiter C] [--null TEXT] [--quote C] [--table NAME] [--query-id ID] SQL|-",
	    "write a query's rows to a file at COPY's speed (^C cancels: no file is left)" },
	{ "import", cmd_import,
	    "import [-c CONN] -t TABLE [-f csv|tsv] [--no-header] [--delimiter C] [--null TEXT]\n"
	    "          [--quote C] [--columns A,B] [--query-id ID] FILE",
	    "load a CSV or TSV file into a table in one transaction (^C commits nothing)" },
	{ "history", cmd_history, "history [SEARCH] [--connection CONN] [--limit N] [--status ok|error|cancelled]",
	    "statements run through Tusk by any client, newest last (SEARCH: words of the SQL)" },
	{ "saved", cmd_saved, "saved list|show|add|rm|run ... (saved help)",
	    "saved queries: list, show, add (or replace), delete, run on a connection" },
	{ "cancel", cmd_cancel, "cancel QUERY_ID", "cancel a running query" },
	{ "running", cmd_running, "running [-c CONN]", "queries queued or running" },
	{ "table", cmd_table,
	    "table [-c CONN] [--order COL,-COL] [--filter 'COL OP VALUE']... [--limit N] [--all]\n"
	    "          [-f table|csv|json] [SCHEMA.]TABLE",
	    "a table's rows, sorted and filtered by the server (OP: = != < > <= >= ~ contains, ^ starts with, is [not] null, in A,B)" },
	{ "activity", cmd_activity, "activity [-c CONN] [--watch] [--interval MS] [--all]",
	    "what every session on the server is doing, who blocks whom (--all: background processes too)" },
	{ "backend", cmd_backend, "backend cancel [-c CONN] PID | backend terminate [-c CONN] PID",
	    "cancel a backend's query, or end the backend (pg_cancel_backend, pg_terminate_backend)" },
	{ "workers", cmd_workers, "workers [--all]", "worker processes: pid, state, query, memory, CPU (--all: and the ended ones)" },
	{ "top", cmd_top, "top [--sort cpu|elapsed|memory] [--interval MS]",
	    "a live view of the workers (keys: c, e, m sort; q quits)" },
	{ "kill", cmd_kill, "kill WORKER_ID|CONN",
	    "stop a worker (cancel, SIGTERM, SIGKILL) and end its server backend" },
	{ "events", cmd_events, "events [--topics workers,connections,queries]",
	    "print worker, connection and query events as they happen" },
	{ "keychain", cmd_keychain, "keychain status",
	    "is the OS keychain available to keep passwords (and if not, why)" },
	{ "log-level", cmd_log_level, "log-level [error|warn|info|debug|trace]",
	    "show or change the log level at run time" },
	{ "logs", cmd_logs, "logs [--path] [-n LINES] [-f]", "the log directory, today's last lines, or follow them" },
	{ "schema", cmd_schema, "schema [-c CONN] [--kind LIST] [--system] [--refresh] [PATTERN]",
	  "a database's schemas, tables, views, functions, sequences and types (psql's \\d, \\dt, \\df, \\dn)" },
	{ "describe", cmd_describe, "describe [-c CONN] [--kind KIND] [--ddl] NAME",
	  "one object as psql's \\d NAME shows it, or the DDL that recreates it (no NAME: the methods)" },
	{ "methods", cmd_methods, "methods", "every method the broker speaks" },
	{ "shutdown", cmd_shutdown, "shutdown", "stop the broker (connections are closed)" },
};

/* Help text. */
static void
usage(FILE *f)
{
	fprintf(f, "usage: tuskctl [--json] [--no-start] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < nitems(cmds); i++)
		fprintf(f, "  %-12s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nCONN is a connection id, a unique id prefix, or a name; it may be left out when\n"
		   "only one connection is open. Exit status: 0 ok, 1 error, 2 usage.\n");
}

/* tuskctl: global options, then run the named command. */
int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-start", no_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	log_init("tuskctl");
	signal(SIGPIPE, SIG_IGN);
	/* global options stop at the command name */
	while ((ch = getopt_long(argc, argv, "+jSVH", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': ctl.json = true; break;
		case 'S': ctl.no_start = true; break;
		case 'V':
			printf("tuskctl %s\n", TUSK_VERSION);
			return EXIT_OK;
		case 'H':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	if (strcmp(name, "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < nitems(cmds); i++) {
		if (strcmp(cmds[i].name, name) != 0)
			continue;
		int r = cmds[i].fn(argc - optind, argv + optind);
		if (r == EXIT_USAGE)
			fprintf(stderr, "usage: tuskctl %s\n", cmds[i].usage);
		fflush(stdout);
		ctl_disconnect();
		return r;
	}
	fprintf(stderr, "tuskctl: unknown command '%s'\n", name);
	usage(stderr);
	return EXIT_USAGE;
}

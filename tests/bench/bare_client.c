/*
 * bare_client.c — the "bare libpq client" Tusk's benchmarks compare with.
 *
 *   bare_client CONNINFO rows SQL        single-row mode, every value touched
 *   bare_client CONNINFO csv SQL         the same, written as CSV to stdout
 *   bare_client CONNINFO connect         connect + select 1, print ms
 *   bare_client CONNINFO cancel N        N times: pg_sleep, PQcancel after
 *                                        200 ms, print ms from cancel to end
 *   bare_client CONNINFO many N T        N connections held open at once,
 *                                        made by T threads; print ms until
 *                                        all are connected
 *
 * Passwords come from PGPASSWORD (libpq's own convention).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include <libpq-fe.h>

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static PGconn *
connect_or_die(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "bare_client: %s", PQerrorMessage(c));
		exit(1);
	}
	return c;
}

static void
csv_field(const char *s, int n)
{
	int quote = 0;
	for (int i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
			quote = 1;
	if (!quote) {
		fwrite(s, 1, (size_t)n, stdout);
		return;
	}
	putchar('"');
	for (int i = 0; i < n; i++) {
		if (s[i] == '"')
			putchar('"');
		putchar(s[i]);
	}
	putchar('"');
}

static int
stream(PGconn *c, const char *sql, int csv)
{
	static char buf[1 << 18];
	unsigned long long rows = 0, bytes = 0;
	setvbuf(stdout, buf, _IOFBF, sizeof buf);
	if (!PQsendQuery(c, sql) || !PQsetSingleRowMode(c)) {
		fprintf(stderr, "bare_client: %s", PQerrorMessage(c));
		return 1;
	}
	PGresult *r;
	int header = 0;
	while ((r = PQgetResult(c)) != NULL) {
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_SINGLE_TUPLE) {
			int n = PQnfields(r);
			if (csv && !header) {
				for (int i = 0; i < n; i++) {
					if (i)
						putchar(',');
					csv_field(PQfname(r, i), (int)strlen(PQfname(r, i)));
				}
				putchar('\n');
				header = 1;
			}
			for (int i = 0; i < n; i++) {
				int len = PQgetlength(r, 0, i);
				bytes += (unsigned long long)len + (unsigned char)PQgetvalue(r, 0, i)[0];
				if (csv) {
					if (i)
						putchar(',');
					if (!PQgetisnull(r, 0, i))
						csv_field(PQgetvalue(r, 0, i), len);
				}
			}
			if (csv)
				putchar('\n');
			rows++;
		} else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
			fprintf(stderr, "bare_client: %s", PQresultErrorMessage(r));
			PQclear(r);
			return 1;
		}
		PQclear(r);
	}
	fflush(stdout);
	fprintf(stderr, "%llu rows, %llu bytes touched\n", rows, bytes);
	return 0;
}

static int
cancel_bench(PGconn *c, int n)
{
	PGcancel *cancel = PQgetCancel(c);
	char eb[256];
	for (int i = 0; i < n; i++) {
		if (!PQsendQuery(c, "select pg_sleep(30)"))
			return 1;
		usleep(200 * 1000);
		double t0 = now_ms();
		PQcancel(cancel, eb, sizeof eb);
		PGresult *r;
		while ((r = PQgetResult(c)) != NULL)
			PQclear(r);
		printf("%.3f\n", now_ms() - t0);
	}
	PQfreeCancel(cancel);
	return 0;
}

/* What one thread of `many` connects: slots [from, to) of conns. */
struct many_job {
	const char *conninfo;
	PGconn **conns;
	int from, to;
};

/* Connect a thread's share of `many`, each with a `select 1`. */
static void *
many_thread(void *arg)
{
	struct many_job *j = arg;
	for (int i = j->from; i < j->to; i++) {
		j->conns[i] = connect_or_die(j->conninfo);
		PGresult *r = PQexec(j->conns[i], "select 1");
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			fprintf(stderr, "bare_client: %s", PQresultErrorMessage(r));
			exit(1);
		}
		PQclear(r);
	}
	return NULL;
}

/* n connections open at once from t threads (the "many" bench's baseline). */
static int
many_bench(const char *conninfo, int n, int t)
{
	if (n < 1 || t < 1 || t > 64 || n > 10000)
		return 2;
	PGconn **conns = calloc((size_t)n, sizeof *conns);
	pthread_t th[64];
	struct many_job jobs[64];
	double t0 = now_ms();
	for (int i = 0; i < t; i++) {
		jobs[i] = (struct many_job){ conninfo, conns, n * i / t, n * (i + 1) / t };
		pthread_create(&th[i], NULL, many_thread, &jobs[i]);
	}
	for (int i = 0; i < t; i++)
		pthread_join(th[i], NULL);
	printf("%.3f\n", now_ms() - t0);
	for (int i = 0; i < n; i++)
		PQfinish(conns[i]);
	free(conns);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bare_client CONNINFO rows|csv SQL | connect | cancel N | many N T\n");
		return 2;
	}
	if (strcmp(argv[2], "many") == 0 && argc == 5)
		return many_bench(argv[1], atoi(argv[3]), atoi(argv[4]));
	double t0 = now_ms();
	PGconn *c = connect_or_die(argv[1]);
	int rc = 0;
	if (strcmp(argv[2], "connect") == 0) {
		PGresult *r = PQexec(c, "select 1");
		rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : 1;
		PQclear(r);
		printf("%.3f\n", now_ms() - t0);
	} else if (strcmp(argv[2], "cancel") == 0 && argc == 4) {
		rc = cancel_bench(c, atoi(argv[3]));
	} else if ((strcmp(argv[2], "rows") == 0 || strcmp(argv[2], "csv") == 0) && argc == 4) {
		rc = stream(c, argv[3], strcmp(argv[2], "csv") == 0);
	} else {
		fprintf(stderr, "bare_client: bad arguments\n");
		rc = 2;
	}
	PQfinish(c);
	return rc;
}

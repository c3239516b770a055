/*
 * test_sqlmask.c — passwords taken out of SQL before the history keeps it
 * (sqlmask.c): role passwords in every quoting, FDW options, connection
 * strings and URIs inside literals and function bodies; and what must stay
 * as it is (comments, identifiers, other literals, parameters).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sqlmask.h"

/* sql masks to want, with n masks. */
static void
check(const char *sql, const char *want, size_t n)
{
	size_t got_n = 99;
	char *got = sqlmask(sql, strlen(sql), &got_n);
	if (strcmp(got, want) != 0 || got_n != n)
		print_error("sqlmask(%s)\n  got  %s (%zu)\n  want %s (%zu)\n", sql, got, got_n, want, n);
	assert_string_equal(got, want);
	assert_int_equal(got_n, n);
	free(got);
}

/* CREATE/ALTER ROLE|USER … PASSWORD in each kind of literal. */
static void
role_passwords(void **state)
{
	(void)state;
	check("CREATE ROLE bob LOGIN PASSWORD 'hunter2'", "CREATE ROLE bob LOGIN PASSWORD '********'", 1);
	check("alter user bob with encrypted password 'it''s' valid until 'infinity'",
	    "alter user bob with encrypted password '********' valid until 'infinity'", 1);
	check("ALTER ROLE bob PASSWORD E'a\\'b'", "ALTER ROLE bob PASSWORD E'********'", 1);
	check("ALTER ROLE bob PASSWORD $$s3cr$t$$", "ALTER ROLE bob PASSWORD $$********$$", 1);
	check("ALTER ROLE bob PASSWORD $pw$x$$y$pw$;", "ALTER ROLE bob PASSWORD $pw$********$pw$;", 1);
	check("ALTER ROLE bob PASSWORD /* c */\n 'x'", "ALTER ROLE bob PASSWORD /* c */\n '********'", 1);
	check("ALTER ROLE bob PASSWORD NULL", "ALTER ROLE bob PASSWORD NULL", 0);
	check("create user \"Password\" password 'p'", "create user \"Password\" password '********'", 1);
}

/* FDW user mappings and server options. */
static void
fdw_options(void **state)
{
	(void)state;
	check("CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password 'pw1')",
	    "CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password '********')", 1);
	check("ALTER USER MAPPING FOR bob SERVER s OPTIONS (SET password 'pw2', ADD \"password\" 'pw3')",
	    "ALTER USER MAPPING FOR bob SERVER s OPTIONS (SET password '********', ADD \"password\" '********')", 2);
	check("ALTER SERVER s OPTIONS (sslpassword 'k')", "ALTER SERVER s OPTIONS (sslpassword '********')", 1);
}

/* Connection strings and URIs inside literals and bodies. */
static void
conn_strings(void **state)
{
	(void)state;
	check("SELECT * FROM dblink('host=h password=top dbname=d', 'select 1') AS t(x int)",
	    "SELECT * FROM dblink('host=h password=******** dbname=d', 'select 1') AS t(x int)", 1);
	check("select dblink_connect('c', 'password = ''a b'' user=u')",
	    "select dblink_connect('c', 'password = ''********'' user=u')", 1);
	check("select dblink_connect(E'PASSWORD=\\'q\\' host=h')",
	    "select dblink_connect(E'PASSWORD=\\'********\\' host=h')", 1);
	check("select 'postgresql://bob:pa55@db.example/x?sslpassword=k&x=1'",
	    "select 'postgresql://bob:********@db.example/x?sslpassword=********&x=1'", 2);
	check("select 'https://example.com/a:b@c'", "select 'https://example.com/a:b@c'", 0);
	check("DO $$ BEGIN EXECUTE 'ALTER ROLE x PASSWORD ''zz'''; PERFORM dblink_connect('password=yy'); END $$",
	    "DO $$ BEGIN EXECUTE 'ALTER ROLE x PASSWORD ''********'''; PERFORM dblink_connect('password=********'); END $$",
	    2);
	check("CREATE FUNCTION f() RETURNS void AS $f$ ALTER ROLE r PASSWORD 'v' $f$ LANGUAGE sql",
	    "CREATE FUNCTION f() RETURNS void AS $f$ ALTER ROLE r PASSWORD '********' $f$ LANGUAGE sql", 1);
}

/* What is no secret stays byte for byte. */
static void
untouched(void **state)
{
	(void)state;
	const char *same[] = {
		"select 1",
		"SELECT $1::int, 'password' AS label -- PASSWORD 'not in a comment'",
		"/* password 'x' /* nested */ still comment */ select 2",
		"select \"password\" from users",
		"select 'it''s' || E'\\n' || U&'d\\0061t\\+000061'",
		"select $$unterminated",
		"select 'unterminated",
		"select password from t where password_hint = 'x'",
		"",
	};
	for (size_t i = 0; i < sizeof same / sizeof *same; i++)
		check(same[i], same[i], 0);
	/* a comparison with a password column is masked: one mask too many */
	check("select * from users where password = 'x'", "select * from users where password = '********'", 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(role_passwords),
		cmocka_unit_test(fdw_options),
		cmocka_unit_test(conn_strings),
		cmocka_unit_test(untouched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

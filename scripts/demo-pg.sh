#!/bin/sh
# The demo PostgreSQL cluster `make run` connects Tusk to.
#   demo-pg.sh start DIR   create (first time) and start it; prints its socket dir
#   demo-pg.sh stop DIR
# It listens on a Unix socket only, in a directory only its owner can enter,
# with `trust` for that socket: no password exists, so none can leak.
# As root the server runs as the `postgres` user (it refuses root).
set -eu
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=$1
dir=$2
as_owner() {
	if [ "$(id -u)" = 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}
case "$cmd" in
start)
	mkdir -p "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		mkdir -p "$dir/sock"
		[ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
		chmod 700 "$dir/sock"
		as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
		    --locale=C.UTF-8 --no-sync >"$dir/initdb.log"
		cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir/sock'
unix_socket_permissions = 0700
fsync = off
CONF
		printf 'local all all trust\n' >"$dir/data/pg_hba.conf"
		[ "$(id -u)" = 0 ] && chown postgres: "$dir/data/pg_hba.conf"
		fresh=1
	fi
	if ! as_owner "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null
	fi
	if [ "${fresh:-0}" = 1 ]; then
		as_owner psql -X -q -h "$dir/sock" -U postgres -d postgres <<'SQL'
CREATE DATABASE demo;
\c demo
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text, created_at timestamptz DEFAULT now());
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int REFERENCES customers, total numeric(12,2), paid bool, placed_at timestamptz);
INSERT INTO customers (name, email) SELECT 'Customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 1000) g;
INSERT INTO orders (customer_id, total, paid, placed_at)
  SELECT 1 + (g % 1000), round((random() * 500)::numeric, 2), g % 3 <> 0, now() - g * interval '1 minute'
  FROM generate_series(1, 100000) g;
SQL
	fi
	echo "$dir/sock"
	;;
stop)
	as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	;;
esac

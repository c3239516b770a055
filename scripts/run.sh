#!/bin/sh
# `make run`: start the broker and a demo PostgreSQL, connect Tusk to it
# (the connection "Demo"), show what to try in a terminal, then open the
# desktop window — or, without a display, print the address to open in a
# browser and serve it until ^C.
set -eu
cd "$(dirname "$0")/.."
BIN=$PWD/build/bin
data=$("$BIN/tuskctl" --json status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["app"]["paths"]["data"])')
demo=$data/demo-pg
if [ "$(id -u)" = 0 ]; then
	# Tusk's data dir is private (0700) and the demo server runs as postgres
	demo=/var/tmp/tusk-demo-pg
fi
sock=$(scripts/demo-pg.sh start "$demo")
user=postgres
"$BIN/tuskctl" connect --name Demo --no-password -h "$sock" -U "$user" -d demo >/dev/null 2>&1 || true
"$BIN/tuskctl" status
cat <<MSG

Tusk is running${TUSK_HOME:+ (TUSK_HOME=$TUSK_HOME)}. Try:

  export PATH=$BIN:\$PATH${TUSK_HOME:+ TUSK_HOME=$TUSK_HOME}
  tuskctl query -c Demo "select * from customers limit 5"
  tuskctl query -c Demo -f csv "select * from orders" | wc -l
  tuskctl query -c Demo "select pg_sleep(60)"      # ^C cancels it on the server
  tuskctl running; tuskctl logs
  tuskctl shutdown                                 # stops the broker
  scripts/demo-pg.sh stop "$demo"          # stops the demo database

MSG
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
	echo "Opening the Tusk window (close it to stop its gateway; the broker keeps running)..."
else
	echo "No display: open the address below in a browser on this machine (^C stops the gateway)."
fi
exec "$BIN/tusk"

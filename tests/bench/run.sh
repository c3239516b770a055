#!/bin/sh
# make bench: Tusk against psql and a bare libpq client, in one run.
# Arguments select sections: stream streamcpu copy cancel connect cold memory history sessions valgrind supervision many keychain table frontend schema window.
set -eu
cd "$(dirname "$0")/../.."
export TUSK_BIN=$PWD/build/bin
exec /usr/bin/python3 tests/bench/bench.py "$@"

#!/bin/sh
# Run every fuzz target for a bounded time; prints one line per target.
set -u
secs=${1:-20}
dir=$(dirname "$0")
status=0
for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus=build/fuzz/corpus-$name
	mkdir -p "$corpus"
	if "$f" -max_total_time="$secs" -max_len=4096 -timeout=10 "$corpus" "$dir/seeds" \
	    >build/fuzz/$name.log 2>&1; then
		echo "ok   $name ($(grep -o 'cov: [0-9]*' build/fuzz/$name.log | tail -1), ${secs}s)"
	else
		echo "FAIL $name (see build/fuzz/$name.log)"
		tail -30 build/fuzz/$name.log
		status=1
	fi
done
exit $status

#!/bin/sh
# Run every fuzz target for a bounded time; prints one line per target.
#   tests/fuzz/run.sh [SECONDS]     (per target, default 20)
# Target build/fuzz/fuzz_NAME starts from tests/fuzz/seeds/NAME/ (written by
# tests/fuzz/make_seeds.py) plus what earlier runs left in
# build/fuzz/corpus-fuzz_NAME; a crashing input is saved under build/fuzz/.
set -u
secs=${1:-20}
dir=$(dirname "$0")
status=0
for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus=build/fuzz/corpus-$name
	mkdir -p "$corpus"
	seeds=$dir/seeds/${name#fuzz_}
	[ -d "$seeds" ] || seeds=$dir/seeds
	if "$f" -max_total_time="$secs" -max_len=4096 -timeout=10 \
	    -artifact_prefix=build/fuzz/"$name"- "$corpus" "$seeds" \
	    >build/fuzz/$name.log 2>&1; then
		echo "ok   $name ($(grep -o 'cov: [0-9]*' build/fuzz/$name.log | tail -1), ${secs}s)"
	else
		echo "FAIL $name (see build/fuzz/$name.log)"
		tail -30 build/fuzz/$name.log
		status=1
	fi
done
exit $status

#!/bin/sh
# Run the whole integration suite several times in a row while two
# processes burn a CPU each (a busy machine: a laptop building something),
# against the sanitizer build, as `make test` does. Not part of `make test`
# (it takes a while); run it after changing supervision, timeouts or tests
# that wait for something:
#
#   make SAN=1 all && tests/under-load.sh [RUNS] [pytest args...]
#
# Prints each run's pytest summary, then one line; exits non-zero if any
# run failed. JUnit reports go to build/test-results/under-load-N.xml.
set -u
cd "$(dirname "$0")/.."
runs=${1:-5}
[ $# -gt 0 ] && shift
bin=${TUSK_BIN:-build/asan/bin}
if [ ! -x "$bin/tuskd" ]; then
	echo "under-load: no $bin/tuskd (build it: make SAN=1 all)" >&2
	exit 2
fi
mkdir -p build/test-results

burners=""
stop_burners() {
	for p in $burners; do
		kill "$p" 2>/dev/null
	done
	for p in $burners; do
		wait "$p" 2>/dev/null
	done
	burners=""
}
trap 'stop_burners' EXIT
trap 'stop_burners; exit 130' INT TERM
for _ in 1 2; do
	/usr/bin/python3 -c 'while 1: pass' &
	burners="$burners $!"
done
echo "under-load: $runs runs of tests/integration against $bin, two CPU burners (pids$burners)"

failed=0
i=1
while [ "$i" -le "$runs" ]; do
	xml=build/test-results/under-load-$i.xml
	start=$(date +%s)
	out=$(TUSK_BIN=$bin /usr/bin/python3 -m pytest -p no:cacheprovider -q -rfE --junitxml="$xml" \
	    tests/integration "$@" 2>&1)
	rc=$?
	took=$(($(date +%s) - start))
	summary=$(printf '%s\n' "$out" | tail -1)
	printf 'run %d/%d (%ds): %s\n' "$i" "$runs" "$took" "$summary"
	if [ "$rc" -ne 0 ]; then
		failed=$((failed + 1))
		printf '%s\n' "$out" | grep -E '^(FAILED|ERROR) ' | sed 's/^/    /'
	fi
	i=$((i + 1))
done
stop_burners
echo "under-load: $((runs - failed)) of $runs runs passed"
[ "$failed" -eq 0 ]

#!/bin/sh
# Run every test suite and close with one summary line:
#   unit tests (cmocka) in the release and ASan+UBSan builds,
#   the fuzz targets for a bounded time,
#   the integration suites (pytest) against the sanitizer build,
#   the web UI's unit tests (vitest) and type checks (svelte-check, tsc),
#   the end-to-end tests (Chromium, the window under Xvfb),
# Exit status: non-zero if anything failed.
set -u
cd "$(dirname "$0")/.."
mkdir -p build/test-results
pass=0
fail=0
failed_suites=""

# counts from a JUnit XML report: "passed failed"
junit_counts() {
	/usr/bin/python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    r = ET.parse(sys.argv[1]).getroot()
except Exception:
    print("0 1"); sys.exit()
suites = [r] if r.tag == "testsuite" else list(r)
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
print(t - f - sk, f if t else 1)
PY
}

# count "ok"/"fail" from a cmocka run
unit() {
	bin=$1
	out=$("$bin" 2>&1)
	rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p')
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p')
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$f" -ne 0 ]; then
		printf '%s\n' "$out"
		failed_suites="$failed_suites $bin"
	fi
	printf '  %-40s %3d passed, %d failed\n' "$bin" "$p" "$f"
}

echo "== unit tests"
for b in build/tests/test_* build/asan/tests/test_*; do
	[ -x "$b" ] && unit "$b"
done

echo "== fuzz (bounded)"
if out=$(tests/fuzz/run.sh "${TUSK_FUZZ_SECONDS:-12}"); then
	n=$(printf '%s\n' "$out" | grep -c '^ok')
	pass=$((pass + n))
	printf '%s\n' "$out" | sed 's/^/  /'
else
	printf '%s\n' "$out"
	fail=$((fail + 1))
	failed_suites="$failed_suites fuzz"
fi

# pytest suites: counts from the junit report
pysuite() {
	name=$1
	shift
	xml=build/test-results/$name.xml
	rm -f "$xml"
	echo "== $name"
	/usr/bin/python3 -m pytest -p no:cacheprovider -q -rfE --junitxml="$xml" "$@"
	counts=$(junit_counts "$xml")
	p=${counts% *}
	f=${counts#* }
	pass=$((pass + p))
	fail=$((fail + f))
	[ "$f" -ne 0 ] && failed_suites="$failed_suites $name"
}

TUSK_BIN=${TUSK_BIN:-build/asan/bin} pysuite integration tests/integration

# the web UI's unit tests (Vitest)
echo "== web unit tests (vitest)"
xml=$PWD/build/test-results/web-unit.xml
rm -f "$xml"
(cd ui/web && node_modules/.bin/vitest run --reporter=default --reporter=junit --outputFile="$xml") 2>&1 |
    grep -E "Test Files|Tests |FAIL|✗|×" | sed 's/^/  /'
counts=$(junit_counts "$xml")
p=${counts% *}
f=${counts#* }
pass=$((pass + p))
fail=$((fail + f))
[ "$f" -ne 0 ] && failed_suites="$failed_suites web-unit"
printf '  %-40s %3d passed, %d failed\n' "vitest" "$p" "$f"

# the web UI's type checks: svelte-check (components and modules) and tsc,
# against the protocol types generated from this build's tuskd; zero errors
# and zero warnings, or the check fails
echo "== web type checks (svelte-check, tsc)"
webcheck() {
	name=$1
	shift
	if out=$(cd ui/web && "$@" 2>&1); then
		pass=$((pass + 1))
		printf '  %-40s ok\n' "$name"
	else
		printf '%s\n' "$out" | tail -40 | sed 's/^/    /'
		fail=$((fail + 1))
		failed_suites="$failed_suites $name"
		printf '  %-40s FAILED\n' "$name"
	fi
}
webcheck svelte-check node_modules/.bin/svelte-check --tsconfig ./tsconfig.json --fail-on-warnings
webcheck tsc node_modules/.bin/tsc --noEmit -p tsconfig.json

# end-to-end: Debian's Chromium, the desktop window under Xvfb, against a
# real gateway, broker and PostgreSQL (sanitizer build); counts from TAP
echo "== e2e (chromium, xvfb)"
tap=build/test-results/e2e.tap
TUSK_BIN=${TUSK_BIN:-build/asan/bin} node --test --test-concurrency=1 --test-reporter=tap \
    tests/e2e/*.test.mjs >"$tap" 2>&1
rc=$?
grep -E "^# (Subtest|pass|fail|skip)|^not ok|^    # .*describe does not list" "$tap" | sed 's/^/  /'
p=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$tap" | tail -1)
f=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$tap" | tail -1)
p=${p:-0}
f=${f:-0}
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
	f=1
fi
if [ "$f" -ne 0 ]; then
	grep -v "^ok" "$tap" | tail -80
	failed_suites="$failed_suites e2e"
fi
pass=$((pass + p))
fail=$((fail + f))

echo
[ -n "$failed_suites" ] && echo "failed:$failed_suites"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is missing, build the
# Linux test guest, then unit and integration tests in a normal build and
# again under AddressSanitizer + UndefinedBehaviorSanitizer, and a short run
# of every fuzzer.  Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh || exit 1

# The Linux guest takes minutes to build the first time and is cached; if it
# cannot be built, its test skips with the reason and the rest still runs.
if ! tools/build-linux-guest.sh > build-linux-guest.log 2>&1; then
	echo "test: WARNING: the Linux test guest could not be built; see build-linux-guest.log" >&2
	tail -20 build-linux-guest.log >&2
fi

passed=0 failed=0
suite() {   # suite NAME BUILDDIR MESON-OPTIONS...
	local name=$1 dir=$2
	shift 2
	echo "=== $name"
	if [ ! -d "$dir" ]; then
		meson setup "$dir" "$@" >/dev/null || { failed=$((failed + 1)); return; }
	fi
	if ! ninja -C "$dir"; then
		failed=$((failed + 1))
		return
	fi
	local rc=0 log="$dir/meson-logs/testlog.json" bad
	meson test -C "$dir" --print-errorlogs --num-processes 2 --timeout-multiplier 3 || rc=$?
	# -a: a test's output may hold binary bytes, which would make grep
	# treat the whole log as binary.
	passed=$((passed + $(grep -a -c '"result": "OK"' "$log")))
	bad=$(grep -a -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log")
	# meson failing without a failed test (e.g. it could not run) still counts.
	[ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
	failed=$((failed + bad))
}

suite "tests" build-test
suite "tests under ASan+UBSan" build-asan -Db_sanitize=address,undefined -Db_lundef=false

echo "=== fuzzers"
if fuzz/run.sh 20; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs dependencies, builds with warnings as
# errors, runs every test; then builds with AddressSanitizer + UBSan and runs them again,
# then with ThreadSanitizer over the unit tests and the control plane's scenarios.
# Ends with how many tests were skipped in each pass and why (a tool or privilege missing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
ulimit -n "$(ulimit -Hn)"
status=0
skips=$(mktemp -d)
trap 'rm -rf "$skips"' EXIT
scripts/build.sh release
(cd build && KHA_SKIP_LOG="$skips/release" ctest --output-on-failure --timeout 900 -j 2) || status=1
# The inventory and template parsers under libFuzzer: a fixed seed and run count, so
# the same inputs every time (random, longer runs: fuzz/run.sh SECONDS, docs/plan.md).
fuzz/run.sh --ci || status=1
if [ "${KHA_SKIP_ASAN:-0}" != 1 ]; then
  scripts/build.sh asan
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  (cd build-asan && KHA_SKIP_LOG="$skips/asan" ctest --output-on-failure --timeout 900 -j 2 -LE slow) || status=1
fi
# ThreadSanitizer: the unit tests, and the scenarios where the control plane and the
# workers meet (reload, discovery, failover, balance: session ages, skew, rebalancer,
# herd shaping; hostile clients).
if [ "${KHA_SKIP_TSAN:-0}" != 1 ]; then
  scripts/build.sh tsan
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  (cd build-tsan && ctest --output-on-failure --timeout 900 -j 2 -L unit) || status=1
  (cd build-tsan && KHA_SKIP_LOG="$skips/tsan" ctest --output-on-failure --timeout 900 -j 2 -LE slow \
    -R '^integration_test_(reload|reload_apply|discovery|failover|takeover|balance|backend_names)$|^abuse_test_(garbage_first_bytes|descriptor_limit|frontend_session_cap)$') || status=1
fi
python3 scripts/skip_summary.py "$skips/release" "release pass"
[ "${KHA_SKIP_ASAN:-0}" = 1 ] || python3 scripts/skip_summary.py "$skips/asan" "sanitizer pass"
[ "${KHA_SKIP_TSAN:-0}" = 1 ] || python3 scripts/skip_summary.py "$skips/tsan" "thread sanitizer pass"
exit $status

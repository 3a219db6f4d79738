#!/usr/bin/env bash
# fuzz/run.sh [SECONDS]: builds the libFuzzer targets with clang into build-fuzz/ and runs each
# for SECONDS (default 20) with a random seed, starting from fuzz/corpus/ and the corpus kept
# in build-fuzz/ by earlier runs. Exits non-zero on a crash, leak or hang.
# fuzz/run.sh --ci: the same targets, a fixed seed and a fixed number of runs from
# fuzz/corpus/ only: the same inputs every time, so CI cannot fail on a find of its own
# (a random run's find goes into fuzz/corpus/ with its fix, then CI replays it).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=random
seconds=20
if [ "${1:-}" = "--ci" ]; then mode=ci; elif [ -n "${1:-}" ]; then seconds="$1"; fi
command -v clang++ >/dev/null || { echo "fuzz/run.sh: clang++ not installed; skipped" >&2; exit 0; }
CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKHA_FUZZ=ON -DKHA_WERROR=OFF >/dev/null
targets=(inventory template vrrp http_reply admin_request)
cmake --build build-fuzz $(printf -- '--target %s_fuzzer ' "${targets[@]}")
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  if [ "$mode" = ci ]; then
    work="$(mktemp -d)"
    limits=(-seed=1 -runs="${KHA_FUZZ_RUNS:-200000}")
  else
    work="build-fuzz/corpus-$target"
    mkdir -p "$work"
    limits=(-max_total_time="$seconds")
  fi
  "build-fuzz/fuzz/${target}_fuzzer" "${limits[@]}" -timeout=5 -rss_limit_mb=1024 \
    -artifact_prefix="build-fuzz/crash-$target-" "$work" "fuzz/corpus/$target"
  if [ "$mode" = ci ]; then rm -rf "$work"; fi
done

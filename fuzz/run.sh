#!/usr/bin/env bash
# fuzz/run.sh [SECONDS]: builds the libFuzzer targets with clang into build-fuzz/ and runs each
# for SECONDS (default 20), starting from fuzz/corpus/. Exits non-zero on a crash, leak or hang.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
command -v clang++ >/dev/null || { echo "fuzz/run.sh: clang++ not installed; skipped" >&2; exit 0; }
CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKHA_FUZZ=ON -DKHA_WERROR=OFF >/dev/null
cmake --build build-fuzz --target inventory_fuzzer template_fuzzer
for target in inventory template; do
  work="build-fuzz/corpus-$target"
  mkdir -p "$work"
  "build-fuzz/fuzz/${target}_fuzzer" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024 \
    -artifact_prefix="build-fuzz/crash-$target-" "$work" "fuzz/corpus/$target"
done

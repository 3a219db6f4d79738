#!/usr/bin/env bash
# build.sh [release|asan|tsan] [TARGET...]: configures and builds kha into build/, build-asan/ or build-tsan/.
# With no target: everything, tests included. With targets (scripts/demo.sh: `kha`): only
# those; a build directory configured here for the first time then leaves the tests out
# (KHA_BUILD_TESTS=OFF: no GoogleTest or Python needed), one configured before keeps its choice.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-release}"
shift || true
case "$kind" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DKHA_SANITIZE=ON) ;;
  tsan) dir=build-tsan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DKHA_TSAN=ON) ;;
  *) echo "usage: build.sh [release|asan|tsan] [TARGET...]" >&2; exit 2 ;;
esac
if (($#)); then
  [ -f "$dir/CMakeCache.txt" ] || flags+=(-DKHA_BUILD_TESTS=OFF)
  targets=()
  for t in "$@"; do targets+=(--target "$t"); done
else
  flags+=(-DKHA_BUILD_TESTS=ON)
  targets=()
fi
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)" "${targets[@]}"

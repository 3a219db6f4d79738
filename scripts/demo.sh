#!/usr/bin/env bash
# Builds kha and runs its main job on an embedded default: three stand-in API servers
# on 127.0.0.1 behind a kha proxy; traffic flows while one stand-in is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --build-only
scripts/build.sh release kha >/dev/null
exec build/src/cli/kha demo "$@"

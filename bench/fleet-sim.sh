#!/usr/bin/env bash
# bench/fleet-sim.sh [--instances N] [--steady S] [--down S] [--observe S] [--out DIR] ...
# Issue 16's fleet simulation: N kha proxy processes (default 200, packaging/kha.yaml
# with workers 1, each on its own ports) against 3 `kha standin` TLS stand-ins: the
# steady load per apiserver, then an apiserver restart (SIGKILL, back on its port)
# and the handshake and request peaks at the returning one and at the others.
# Loopback only; not in CI. See bench/README.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
. "$here/lib/prelude.sh"
bench_install fleet-sim python3-yaml
bench_prepare fleet-sim
echo "fleet-sim: results in $out"
exec python3 "$here/lib/fleet_sim.py" --kha "$kha" --out "$out" "$@"

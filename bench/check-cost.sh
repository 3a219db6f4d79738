#!/usr/bin/env bash
# bench/check-cost.sh [--seconds S] [--warmup S] [--only kha,haproxy,nginx] [--out DIR]
# What one instance's health checks cost each apiserver (issue 16): new TLS
# connections, full and resumed handshakes and requests per second, counted by
# `kha standin` TLS stand-ins, for kha (shipped config and flag form), HAProxy
# (the seed document's example, Kubespray's haproxy mode) and nginx, all in one
# run, with the fleet extrapolation. Counts events, not a timing benchmark.
# Loopback only; not in CI. See bench/README.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
. "$here/lib/prelude.sh"
bench_install check-cost haproxy nginx libnginx-mod-stream python3-yaml
bench_prepare check-cost
echo "check-cost: results in $out"
exec python3 "$here/lib/check_cost.py" --kha "$kha" --out "$out" "$@"

#!/usr/bin/env bash
# bench/balance.sh [--watches W] [--only kha,kha-norebalance,...] [--scenarios return,herd]
#                  [--window S] [--herd-window S] [--down S]
# Where long-lived watch sessions go when one of three apiservers fails (issue 17):
# time to balance after it returns (max/min <= 1.2) and the sessions closed to get
# there, and the reconnect herd the survivors see when it turns not ready, for kha
# (rebalance on/off, close_on_down_spread 1s/0s), HAProxy and nginx as Kubespray
# writes them. `kha standin` TLS stand-ins, ports 18501-18511, loopback only; not in
# CI. See bench/README.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
. "$here/lib/prelude.sh"
bench_install balance haproxy nginx libnginx-mod-stream python3-yaml
bench_prepare balance
echo "balance: results in $out"
exec python3 "$here/lib/balance.py" --kha "$kha" --out "$out" "$@"

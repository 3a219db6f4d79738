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
need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v nginx >/dev/null || need+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
if [ "${#need[@]}" -gt 0 ]; then
  echo "balance: installing ${need[*]}"
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi
ulimit -n "$(ulimit -Hn)"
kha="${KHA_BIN:-$repo/build/src/cli/kha}"
out="$here/out/balance-$(date -u +%Y%m%dT%H%M%SZ)"
echo "balance: results in $out"
exec python3 "$here/lib/balance.py" --kha "$kha" --out "$out" "$@"

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
need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v nginx >/dev/null || need+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
if [ "${#need[@]}" -gt 0 ]; then
  echo "check-cost: installing ${need[*]}"
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi
kha="${KHA_BIN:-$repo/build/src/cli/kha}"
out="$here/out/check-cost-$(date -u +%Y%m%dT%H%M%SZ)"
echo "check-cost: results in $out"
exec python3 "$here/lib/check_cost.py" --kha "$kha" --out "$out" "$@"

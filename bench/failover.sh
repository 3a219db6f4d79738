#!/usr/bin/env bash
# bench/failover.sh [--quick] [--pre S] [--post S] [--only a,b] [--faults hang,kill,red]
#                   [--kha PATH] [--kha-check https] [--kha-args "..."]
# What clients see when one of three apiservers hangs, dies or turns /readyz
# red, behind kha, HAProxy (the document's example, Kubespray's haproxy mode,
# an expert-tuned one) and nginx (Kubespray's). Loopback only; not in CI.
# See bench/README.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v nginx >/dev/null || need+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
command -v openssl >/dev/null || need+=(openssl)
if [ "${#need[@]}" -gt 0 ]; then
  echo "failover: installing ${need[*]}"
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi
ulimit -n "$(ulimit -Hn)"
kha="${KHA_BIN:-$repo/build/src/cli/kha}"
out="$here/out/failover-$(date -u +%Y%m%dT%H%M%SZ)"
echo "failover: results in $out"
exec python3 "$here/lib/failover.py" --standin "$here/tools/standin.py" --out "$out" \
  --kha "$kha" "$@"

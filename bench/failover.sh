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
. "$here/lib/prelude.sh"
bench_install failover haproxy nginx libnginx-mod-stream openssl
bench_prepare failover
echo "failover: results in $out"
exec python3 "$here/lib/failover.py" --standin "$here/tools/standin.py" --out "$out" \
  --kha "$kha" "$@"

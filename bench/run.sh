#!/usr/bin/env bash
# bench/run.sh [--quick] [--reps N] [--seconds S] [--mem-reps N] [--only a,b] [--skip bulk,http,mem]
#              [--kha PATH] [--aa] [--kha-copy] [--sockmap]
# Compares kha proxy with HAProxy (plain and splice-auto), nginx stream
# (Kubespray's config) and no proxy, on loopback, and prints one table of
# medians and ratios. Installs what it needs (Debian packages), builds the
# benchmark's C++ client, raises the open-files limit to the hard limit.
# Not part of CI. See bench/README.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"

. "$here/lib/prelude.sh"
bench_install bench haproxy nginx libnginx-mod-stream iperf3 wrk g++ openssl
# The Debian packages start system services on install; they listen on :80 and
# are not used here, the benchmark starts its own instances.

mkdir -p "$here/out"
client="$here/out/loadclient"
if [ ! -x "$client" ] || [ "$here/tools/loadclient.cc" -nt "$client" ]; then
  g++ -O2 -std=c++20 -Wall -Wextra -Wpedantic -Werror -o "$client" "$here/tools/loadclient.cc"
fi

ulimit -n "$(ulimit -Hn)"

kha="${KHA_BIN:-$repo/build/src/cli/kha}"
# Does this kha have the proxy data path? (Before it lands, `kha proxy` is a stub.)
# --sockmap adds the kernel-relay probe (bench/tools/sockmap_probe.cc, needs root).
args=()
for a in "$@"; do
  if [ "$a" = "--sockmap" ]; then
    probe="$here/out/sockmap_probe"
    if [ ! -x "$probe" ] || [ "$here/tools/sockmap_probe.cc" -nt "$probe" ]; then
      g++ -O2 -std=c++20 -Wall -Wextra -Wpedantic -Werror -o "$probe" "$here/tools/sockmap_probe.cc"
    fi
    args+=(--sockmap "$probe")
  else
    args+=("$a")
  fi
done
for ((i = 0; i < ${#args[@]}; i++)); do
  if [ "${args[$i]}" = "--kha" ]; then kha="${args[$((i + 1))]}"; fi
done
out="$here/out/run-$(date -u +%Y%m%dT%H%M%SZ)"
echo "bench: results in $out"
exec python3 "$here/lib/perf.py" --client "$client" --out "$out" --kha "$kha" "${args[@]}"

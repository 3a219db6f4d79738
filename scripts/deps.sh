#!/usr/bin/env bash
# deps.sh [--build-only]: installs what kha needs from Debian 12 packages. --build-only:
# just what building and running the `kha` binary needs (scripts/demo.sh); without it,
# also what the whole test suite and the benchmarks call (scripts/test.sh).
# Skips apt entirely when everything is already there. tests/integration/test_deps.py
# fails when a test calls a tool that no package listed here provides.
set -euo pipefail
build=(
  g++ cmake ninja-build pkg-config
  libasio-dev libssl-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libsystemd-dev
)
suite=(
  # unit tests, man pages
  libgtest-dev libgmock-dev libbenchmark-dev help2man
  # tests: real peers and clients
  python3 python3-yaml openssl curl etcd-server etcd-client iproute2 keepalived
  # tests: the planner's parsers under libFuzzer (fuzz/run.sh)
  clang libclang-rt-14-dev
  # tests: packaging (.deb build and inspection, unit verification, a fresh Debian root)
  dpkg-dev file lintian systemd man-db debootstrap git
  # tests: the Kubespray drop-in role (ansible-playbook, ansible-lint) and the alert rules (promtool)
  ansible-core ansible-lint prometheus
  # benchmarks
  haproxy nginx libnginx-mod-stream iperf3 wrk
)
packages=("${build[@]}")
[ "${1:-}" = "--build-only" ] || packages+=("${suite[@]}")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts these services on install; kha's tests and benchmarks run their own.
  for svc in haproxy nginx etcd keepalived prometheus; do
    $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || $sudo service "$svc" stop >/dev/null 2>&1 || true
  done
fi

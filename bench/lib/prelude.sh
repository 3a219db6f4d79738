# shellcheck shell=bash disable=SC2034,SC2154  # sets $kha and $out for, and reads $here and $repo of, the sourcing script
# bench/lib/prelude.sh: sourced by every bench/*.sh. bench_install NAME PKG... installs
# the Debian 12 packages not yet installed (apt-get, with sudo when not root);
# bench_prepare NAME sets $kha ($KHA_BIN or the release build) and $out (a new directory
# name under bench/out/), and raises the open-files limit to the hard limit.
bench_install() {
  local name="$1" pkg need=()
  shift
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
  done
  [ "${#need[@]}" -gt 0 ] || return 0
  echo "$name: installing ${need[*]}"
  local sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
}

bench_prepare() {
  ulimit -n "$(ulimit -Hn)"
  kha="${KHA_BIN:-$repo/build/src/cli/kha}"
  out="$here/out/$1-$(date -u +%Y%m%dT%H%M%SZ)"
}

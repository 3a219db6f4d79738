#!/bin/sh
# make-test-root.sh ROOT DEB: prepares a Debian 12 root for tests/integration/test_deb_install.py.
# Bootstraps a minimal bookworm into ROOT (debootstrap, about 2 minutes, from the
# mirror this machine's apt uses) and installs the dependencies of the package DEB
# (by installing DEB and purging it again), so that the test itself can install
# and purge the package offline. Needs root and debootstrap. Run it again when the
# package gains a dependency.
set -eu
root=$1 deb=$2
[ "$(id -u)" = 0 ] || { echo "make-test-root.sh: needs root" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "make-test-root.sh: needs debootstrap (apt-get install debootstrap)" >&2; exit 2; }
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || { echo "make-test-root.sh: no Debian mirror in /etc/apt sources" >&2; exit 1; }
if [ ! -f "$root/etc/debian_version" ]; then
  debootstrap --variant=minbase bookworm "$root" "$mirror"
fi
cp "$deb" "$root/tmp/kha.deb"
chroot "$root" apt-get update -qq
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends /tmp/kha.deb
chroot "$root" dpkg --purge kha
rm -f "$root/tmp/kha.deb"
chroot "$root" apt-get clean
echo "make-test-root.sh: $root is ready"

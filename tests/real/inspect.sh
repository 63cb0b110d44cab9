#!/bin/bash
# Real libguestfs inspection: disk images built here from Debian packages
# (base-files, coreutils) and broken ones; "ksmvirt inspect" must name the
# Debian one, say "unknown" with a clear reason for a corrupt, an
# encrypted and a missing disk, answer from its cache without launching an
# appliance, and give up at its timeout without leaving an appliance behind.
# Each appliance launch takes about 45 s under TCG.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/${KSMVIRT_BUILD:-build}/ksmvirt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=$((fail + 1)); fi
}

if [ "$(id -u)" != 0 ]; then echo "needs root (libguestfs appliance, images)"; exit 77; fi
eval "$("$top/tests/rig/guestfs-kernel")" || { echo "cannot prepare a kernel for libguestfs"; exit 1; }

# A Debian-like root from Debian's own packages.
root=$tmp/root
mkdir -p "$root" "$tmp/debs"
(cd "$tmp/debs" && apt-get -q download base-files coreutils >/dev/null 2>&1) ||
	{ echo "apt-get download base-files coreutils failed"; exit 1; }
for d in "$tmp"/debs/*.deb; do dpkg-deb -x "$d" "$root"; done
mkdir -p "$root/var/lib/dpkg"
dpkg-query -W -f='Package: ${Package}\nStatus: install ok installed\nVersion: ${Version}\nArchitecture: ${Architecture}\n\n' \
	base-files coreutils >"$root/var/lib/dpkg/status"
echo "LABEL=root / ext4 defaults 0 1" >"$root/etc/fstab"
truncate -s 128M "$tmp/debian.img"
mkfs.ext4 -q -L root -d "$root" "$tmp/debian.img"
want_major=$(cut -d. -f1 "$root/etc/debian_version")

# A corrupt disk, an encrypted one.
head -c 32M /dev/urandom >"$tmp/corrupt.img"
truncate -s 32M "$tmp/luks.img"
printf 'secret' >"$tmp/key"
cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
	--key-file "$tmp/key" "$tmp/luks.img" || { echo "cryptsetup luksFormat failed"; exit 1; }

j() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

t0=$(date +%s)
out=$("$bin" inspect --json --timeout 600 --cache "$tmp/cache.json" "$tmp/debian.img")
t_first=$(( $(date +%s) - t0 ))
echo "# debian: $out (${t_first}s)"
[ "$(echo "$out" | j type)" = linux ]; ok $? "Debian image: type linux"
[ "$(echo "$out" | j distro)" = debian ]; ok $? "Debian image: distro debian"
[ "$(echo "$out" | j major)" = "$want_major" ]; ok $? "Debian image: major version $want_major"
[ "$(echo "$out" | j arch)" = x86_64 ]; ok $? "Debian image: arch x86_64"

# The cache answers without an appliance.
t0=$(date +%s%N)
out2=$("$bin" inspect --json --timeout 600 --cache "$tmp/cache.json" "$tmp/debian.img")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$out2" = "$out" ] && [ "$ms" -lt 2000 ]; ok $? "cache hit: same answer in ${ms} ms (no appliance)"

out=$("$bin" inspect --json --timeout 600 "$tmp/corrupt.img")
echo "# corrupt: $out"
[ "$(echo "$out" | j type)" = unknown ] && echo "$out" | grep -q "no operating system found: no filesystem recognised"
ok $? "corrupt disk: unknown, no filesystem recognised"

out=$("$bin" inspect --json --timeout 600 "$tmp/luks.img")
echo "# luks: $out"
[ "$(echo "$out" | j type)" = unknown ] && echo "$out" | grep -q "encrypted (crypto_LUKS)"
ok $? "encrypted disk: unknown, encrypted (crypto_LUKS)"

out=$("$bin" inspect --json --timeout 600 "$tmp/missing.img")
[ "$(echo "$out" | j type)" = unknown ] && echo "$out" | grep -q "No such file"
ok $? "missing disk: unknown, No such file"

# A timeout bounds an inspection and kills its appliance.
before=$(pgrep -c -f 'qemu-system.*guestfs' || true)
t0=$(date +%s)
out=$("$bin" inspect --json --timeout 3 "$tmp/debian.img")
dt=$(( $(date +%s) - t0 ))
sleep 1
after=$(pgrep -c -f 'qemu-system.*guestfs' || true)
echo "$out" | grep -q "timed out after 3 s" && [ "$dt" -le 6 ] && [ "$after" -le "$before" ]
ok $? "timeout: unknown after ${dt}s, no appliance left ($before before, $after after)"

echo "1..$n"
echo "$((n - fail)) passed, $fail failed"
[ "$fail" = 0 ]

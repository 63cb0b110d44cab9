#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Real libguestfs inspection: disk images built here from Debian packages
# (base-files, coreutils; an NTFS image with registry hives made with
# hivex's tools) and broken ones; "ksmvirt inspect" must name the Debian
# one and the Windows one, say "unknown" with a clear reason for a corrupt, an
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

# A Debian-like and a Windows-like image from Debian's own packages
# (tests/rig/mkimage: base-files and coreutils; NTFS with registry hives
# built by hivex's tools).
"$top/tests/rig/mkimage" debian "$tmp/debian.img" || { echo "mkimage debian failed"; exit 1; }
"$top/tests/rig/mkimage" windows "$tmp/windows.img" || { echo "mkimage windows failed"; exit 1; }
want_major=$(cut -d. -f1 /etc/debian_version)

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

t0=$(date +%s)
wout=$("$bin" inspect --json --timeout 600 "$tmp/windows.img")
echo "# windows: $wout ($(( $(date +%s) - t0 ))s)"
[ "$(echo "$wout" | j type)" = windows ]; ok $? "Windows image: type windows"
[ "$(echo "$wout" | j product_name)" = "Windows 10 Pro" ]; ok $? "Windows image: product name from the SOFTWARE hive"
[ "$(echo "$wout" | j major).$(echo "$wout" | j minor)" = 10.0 ]; ok $? "Windows image: version 10.0"
[ "$(echo "$wout" | j arch)" = x86_64 ]; ok $? "Windows image: arch x86_64 (from cmd.exe)"

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

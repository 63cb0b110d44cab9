#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Golden-file tests: ksmvirt report over fixture roots in every format.
#
# Usage: tests/cli/golden.sh [BUILD-DIR]     (default: build)
# KSMVIRT_REGENERATE=1 rewrites tests/cli/expected/*.expected instead of
# comparing.  Exit status: 0 all match, 1 on a difference.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
bin=$top/${1:-build}/ksmvirt
exp=tests/cli/expected
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0

# case NAME EXPECTED-EXIT ARGS...   (stdout, then stderr, then the exit code)
case_() {
	local name=$1 want_rc=$2
	shift 2
	n=$((n + 1))
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	{ cat "$tmp/out"; echo "--- stderr"; cat "$tmp/err"; echo "--- exit $rc"; } >"$tmp/$name"
	if [ -n "${KSMVIRT_REGENERATE:-}" ]; then
		cp "$tmp/$name" "$exp/$name.expected"
		echo "regenerated $name"
	elif ! diff -u "$exp/$name.expected" "$tmp/$name"; then
		echo "not ok $n - $name differs from $exp/$name.expected"
		fail=$((fail + 1))
		return
	fi
	if [ "$rc" != "$want_rc" ]; then
		echo "not ok $n - $name: exit $rc, want $want_rc"
		fail=$((fail + 1))
		return
	fi
	echo "ok $n - $name"
}

R=tests/data/roots
common=(--interval 0 --no-libvirt)
case_ host-full.text 0 report --root $R/host-full "${common[@]}"
case_ host-full.census.text 0 report --root $R/host-full --census "${common[@]}"
case_ host-full.json 0 report --root $R/host-full --census --json "${common[@]}"
case_ host-full.prom 0 report --root $R/host-full --census --prometheus "${common[@]}"
KSMVIRT_ROOT=$R/host-old case_ host-old.env.text 0 report "${common[@]}"
case_ host-old.json 0 report --root $R/host-old --json "${common[@]}"
case_ hostile.text 0 report --root $R/hostile "${common[@]}"
case_ hostile.json 0 report --root $R/hostile --json "${common[@]}"
case_ hostile.census 1 report --root $R/hostile --census "${common[@]}"
case_ no-ksm 3 report --root $R/no-ksm "${common[@]}"
case_ advise-numa-spread.text 0 advise --root $R/numa-spread --no-libvirt
case_ advise-numa-spread.json 0 advise --root $R/numa-spread --no-libvirt --json
case_ advise-apply-test-driver 0 advise --root $R/host-full --connect test:///default --apply
# Who shares KSM frames with whom: web-1 and db "primary" map 20 frames
# both, put in different groups (a warning each), win10 in one of them.
sharing=(--sharing --group "1201=red" --group "1302=blue" --group "1403=blue")
case_ host-full.sharing.text 0 report --root $R/host-full "${sharing[@]}" "${common[@]}"
case_ host-full.sharing.json 0 report --root $R/host-full "${sharing[@]}" --json "${common[@]}"
case_ host-full.sharing.prom 0 report --root $R/host-full "${sharing[@]}" --prometheus "${common[@]}"
case_ numa-spread.json 0 report --root $R/numa-spread --json --census "${common[@]}"
case_ libvirt-test-driver.json 0 report --root $R/host-full --json --interval 0 --connect test:///default
# Processes that only call themselves QEMU (-m 1T, -qmp, a 100000-deep JSON
# -object) are other processes: one guest, KSM stays off.
case_ impostor.text 0 report --root $R/impostor "${common[@]}"
case_ impostor.json 0 report --root $R/impostor --json "${common[@]}"
# A pid named with --pid is trusted: read from its command line (bounded).
case_ impostor-pid.text 0 report --root $R/impostor --pid 5001 "${common[@]}"
case_ impostor.balance 0 balance --oneshot --dry-run --root $R/impostor --no-libvirt --config $R/impostor/etc/ksmvirt/ksmvirtd.conf

# HTML goes to a file: compare the file.
n=$((n + 1))
"$bin" report --root $R/host-full --census --html "$tmp/r.html" "${common[@]}" 2>/dev/null
if [ -n "${KSMVIRT_REGENERATE:-}" ]; then
	cp "$tmp/r.html" "$exp/host-full.html.expected"
elif ! diff -u "$exp/host-full.html.expected" "$tmp/r.html"; then
	echo "not ok $n - host-full.html differs"
	fail=$((fail + 1))
else
	echo "ok $n - host-full.html"
fi
# --watch repeats the report until interrupted.
n=$((n + 1))
timeout 2.5 "$bin" report --root $R/host-full --watch 1 "${common[@]}" >"$tmp/watch" 2>&1
reports=$(grep -c '^Host KSM' "$tmp/watch")
if [ "$reports" -ge 2 ]; then
	echo "ok $n - --watch 1 printed $reports reports in 2.5 s"
else
	echo "not ok $n - --watch 1 printed $reports reports in 2.5 s"
	fail=$((fail + 1))
fi
echo "1..$n"
echo "$((n - fail)) passed, $fail failed"
[ "$fail" = 0 ]

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Bad input: every failure gives a clear message and its documented exit
# code (ksmvirt(1)), never a crash.
#
# Usage: tests/cli/bad-input.sh [BUILD-DIR]
# Parts that need root (unreadable files as an unprivileged user, real
# /proc with exiting processes) are part of the test: without root it
# exits 77.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
build=$top/${1:-build}
bin=$build/ksmvirt
R=tests/data/roots
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
n=0 fail=0

# expect NAME WANT-RC STDERR-REGEX CMD...
expect() {
	local name=$1 want=$2 re=$3
	shift 3
	n=$((n + 1))
	"$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ "$rc" = "$want" ] && { [ -z "$re" ] || grep -Eq "$re" "$tmp/err"; }; then
		echo "ok $n - $name (exit $rc)"
	else
		echo "not ok $n - $name: exit $rc (want $want), stderr:"
		sed 's/^/#   /' "$tmp/err"
		fail=$((fail + 1))
	fi
	if [ "$rc" -ge 128 ]; then
		echo "not ok $n - $name crashed (signal $((rc - 128)))"
		fail=$((fail + 1))
	fi
}

expect "missing --root" 2 "not a directory" "$bin" report --root /nonexistent/root
expect "--root is a file" 2 "not a directory" "$bin" report --root "$top/README"
expect "unknown option" 2 "Unknown option" "$bin" report --frobnicate
expect "unknown command" 2 "unknown command" "$bin" frobnicate
expect "two formats" 2 "exclude each other" "$bin" report --json --prometheus --root $R/host-full
expect "bad --pid" 2 "not a process id" "$bin" report --pid abc --root $R/host-full
expect "--group without =" 2 "want PID=NAME" "$bin" report --group 1201 --root $R/host-full
expect "--group without a name" 2 "want PID=NAME" "$bin" report --group 1201= --root $R/host-full
expect "--group, not a pid" 2 "want PID=NAME" "$bin" report --group web=red --root $R/host-full
expect "--group, not UTF-8" 2 "want PID=NAME|Invalid byte sequence" "$bin" report --group "1201=$(printf '\xff')" --root $R/host-full
expect "negative --watch" 2 ">= 0" "$bin" report --watch -1 --root $R/host-full
expect "kernel without KSM" 3 "has no KSM" "$bin" report --root $R/no-ksm --interval 0
expect "KSMVIRT_ROOT without KSM" 3 "has no KSM" env KSMVIRT_ROOT=$R/no-ksm "$bin" report --interval 0
mkdir -p "$tmp/noproc/sys/kernel/mm"
cp -a $R/host-full/sys/kernel/mm/ksm "$tmp/noproc/sys/kernel/mm/"
expect "root without /proc" 1 "/proc" "$bin" report --root "$tmp/noproc" --interval 0
expect "unreachable libvirt URI" 1 "cannot connect to libvirt" \
	"$bin" report --root $R/host-full --interval 0 --connect "qemu+unix:///system?socket=$tmp/none"
expect "--help" 0 "" "$bin" report --help
expect "--version" 0 "" "$bin" --version

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	echo "1..$n"
	echo "$((n - fail)) passed, $fail failed (root-only cases not run)"
	[ "$fail" = 0 ] || exit 1
	exit 77
fi

# Unreadable files, as an unprivileged user: skipped with a note, exit 0.
cp -a $R/host-full "$tmp/root"
chmod 755 "$tmp"
chmod 000 "$tmp/root/proc/1201/smaps" "$tmp/root/proc/1302/stat" "$tmp/root/sys/kernel/mm/ksm/pages_volatile"
as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
expect "unreadable files" 0 "" "${as_nobody[@]}" "$bin" report --root "$tmp/root" --interval 0 --no-libvirt
n=$((n + 1))
if grep -q "Permission denied" "$tmp/out" && grep -Eq "pages_volatile +unsupported" "$tmp/out" &&
   ! grep -q "^  db " "$tmp/out"; then
	echo "ok $n - unreadable smaps noted, unreadable knob unsupported, unreadable process skipped"
else
	echo "not ok $n - unreadable files not handled as documented:"; sed 's/^/#   /' "$tmp/out"
	fail=$((fail + 1))
fi
# The census needs CAP_SYS_ADMIN: exit 4 with the reason.
expect "census unprivileged" 4 "(kpageflags|CAP_SYS_ADMIN|Permission denied)" \
	"${as_nobody[@]}" "$bin" report --census --interval 0 --no-libvirt
expect "sharing unprivileged" 4 "(kpageflags|CAP_SYS_ADMIN|Permission denied)" \
	"${as_nobody[@]}" "$bin" report --sharing --interval 0 --no-libvirt

# Processes that exit mid-scan (real /proc): keep short-lived mergeable
# processes coming and going while reporting on them with the census.
ok_runs=0
for i in $(seq 1 25); do
	"$build/tests/helpers/mergeable" --mib 16 --fill same --hold 1 >/dev/null &
	p=$!
	pids+=("$p")
	sleep 0.0$((RANDOM % 9))
	"$bin" report --json --census --interval 0 --no-libvirt --pid "$p" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = 0 ] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" 2>/dev/null; then
		ok_runs=$((ok_runs + 1))
	else
		echo "# run $i: exit $rc"; sed 's/^/#   /' "$tmp/err"
	fi
	kill "$p" 2>/dev/null
done
wait 2>/dev/null
n=$((n + 1))
if [ "$ok_runs" = 25 ]; then
	echo "ok $n - 25 reports while processes exit mid-scan: all exit 0 with valid JSON"
else
	echo "not ok $n - only $ok_runs of 25 reports succeeded while processes exited"
	fail=$((fail + 1))
fi
echo "1..$n"
echo "$((n - fail)) passed, $fail failed"
[ "$fail" = 0 ]

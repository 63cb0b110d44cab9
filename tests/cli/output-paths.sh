#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Output paths the user names: "ksmvirt report --html PATH" never replaces
# a path that is not a regular file (a device is written in place, a
# socket, a block device or a symlink to a regular file is refused), a
# regular file is replaced atomically, and every write error, a full disk
# included, gives a message and a non-zero exit; so does a full stdout.
#
# The devices are mknod copies of null (1,3) and full (1,7) in a temporary
# directory: a test must never point at the real /dev/null or /dev/full
# (replacing them breaks libvirt for everyone on the host).
#
# Usage: tests/cli/output-paths.sh [BUILD-DIR]
# Needs root (mknod, a tmpfs in a private mount namespace): exits 77
# without it.
# shellcheck disable=SC2016 # checke conditions are single-quoted, eval'd later
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
bin=$top/${1:-build}/ksmvirt
R=$top/tests/data/roots/host-full
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root for mknod"
	exit 77
fi
tmp=$(mktemp -d)
bg=()
cleanup() {
	for p in "${bg[@]+"${bg[@]}"}"; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $*"; sed 's/^/#   /' "$tmp/err" 2>/dev/null | head -5; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
# checke WHAT EXPR: EXPR is a shell condition (eval'd)
checke() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
common=(--root "$R" --interval 0 --no-libvirt)

# run WANT-RC STDERR-REGEX CMD...: the exit code and the message; stdout
# goes to $out (default $tmp/out)
run() {
	local want=$1 re=$2
	shift 2
	timeout 20 "$@" >"${out:-$tmp/out}" 2>"$tmp/err"
	rc=$?
	[ "$rc" = "$want" ] && { [ -z "$re" ] || grep -Eq "$re" "$tmp/err"; }
}
devno() { stat -c '%F %t,%T' "$1"; }

d=$tmp/d
mkdir "$d"
mknod -m 666 "$d/null" c 1 3
mknod -m 666 "$d/full" c 1 7

# 1. A character device is written in place and stays one.
check "--html to a null device: exit 0" run 0 "" "$bin" report --html "$d/null" "${common[@]}"
check "the null device is still character device 1,3" [ "$(devno "$d/null")" = "character special file 1,3" ]
check "--html to a full device: exit 1 with the reason" \
	run 1 "$d/full: .*No space left on device" "$bin" report --html "$d/full" "${common[@]}"
check "the full device is still character device 1,7" [ "$(devno "$d/full")" = "character special file 1,7" ]
ln -s "$d/null" "$d/null-link"
check "--html through a symlink to a device: exit 0" run 0 "" "$bin" report --html "$d/null-link" "${common[@]}"
checke "the symlink and the device are kept" '[ -L "$d/null-link" ] && [ -c "$d/null" ]'

# 2. A FIFO is written in place: its reader gets the page.
mkfifo "$d/fifo"
# A reader that gives up: the FIFO may have been replaced.
timeout 20 cat "$d/fifo" >"$tmp/fifo.out" &
bg+=($!)
check "--html to a FIFO: exit 0" run 0 "" "$bin" report --html "$d/fifo" "${common[@]}"
wait "${bg[-1]}" 2>/dev/null
check "the FIFO is still a FIFO" [ -p "$d/fifo" ]
check "its reader got the whole page" grep -q '</html>' "$tmp/fifo.out"

# 3. Refused: a socket, a block device, a directory, a symlink to a file.
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$d/sock"
check "--html to a socket: refused" run 1 "$d/sock: .*socket" "$bin" report --html "$d/sock" "${common[@]}"
check "the socket is still a socket" [ -S "$d/sock" ]
# Major 240 is reserved for local use: no driver behind it here.
mknod "$d/blk" b 240 0
check "--html to a block device: refused" \
	run 1 "$d/blk: .*block device" "$bin" report --html "$d/blk" "${common[@]}"
check "the block device is still one" [ -b "$d/blk" ]
check "--html to a directory: refused" run 1 "$d: .*directory" "$bin" report --html "$d" "${common[@]}"
echo old >"$d/target.html"
ln -s target.html "$d/link.html"
check "--html to a symlink to a regular file: refused" \
	run 1 "$d/link.html: .*symbolic link" "$bin" report --html "$d/link.html" "${common[@]}"
checke "the symlink and its target are untouched" '[ -L "$d/link.html" ] && [ "$(cat "$d/target.html")" = old ]'
check "--html in a missing directory: exit 1" \
	run 1 "$d/nodir/r.html: .*No such file" "$bin" report --html "$d/nodir/r.html" "${common[@]}"

# 4. A regular file is replaced atomically: a new inode (a hard link to
#    the old one keeps the old text), the same mode, no temporary left.
echo old >"$d/r.html"
chmod 640 "$d/r.html"
ln "$d/r.html" "$d/r.old"
check "--html over a regular file: exit 0" run 0 "" "$bin" report --html "$d/r.html" "${common[@]}"
check "the file holds the page" grep -q '</html>' "$d/r.html"
check "it was replaced by a rename, not rewritten in place" [ "$(cat "$d/r.old")" = old ]
check "its mode is kept (640)" [ "$(stat -c %a "$d/r.html")" = 640 ]
check "--html to a new file: exit 0" run 0 "" "$bin" report --html "$d/new.html" "${common[@]}"
check "the new file has mode 644 under umask 022" [ "$(umask 022; stat -c %a "$d/new.html")" = 644 ]
check "no temporary file left" [ "$(find "$d" -mindepth 1 -printf '%f\n' | LC_ALL=C sort | tr '\n' ' ')" = \
	"blk fifo full link.html new.html null null-link r.html r.old sock target.html " ]

# 5. A full file system: the old file stays whole, no temporary is left.
#    A 4 KiB tmpfs in a private mount namespace (nothing else sees it).
mkdir "$tmp/small"
cat >"$tmp/small.sh" <<'EOF'
set -u
mount -t tmpfs -o size=4k ksmvirt-test "$1" || exit 99
echo old >"$1/r.html"
"$2" report --html "$1/r.html" --root "$3" --interval 0 --no-libvirt 2>"$4"
rc=$?
[ "$(cat "$1/r.html")" = old ] || rc=98
[ "$(ls -A "$1")" = r.html ] || rc=97
[ "$rc" = 1 ] || exit "$rc"
# The Prometheus text to a file on the full file system: a short write.
"$2" report --prometheus --census --root "$3" --interval 0 --no-libvirt >"$1/m.prom" 2>>"$4"
EOF
unshare -m --propagation private sh "$tmp/small.sh" "$tmp/small" "$bin" "$R" "$tmp/err"
rc=$?
checke "--html, then --prometheus > FILE on a full file system: exit 1, old file whole, no temporary (rc $rc)" \
	'[ "$rc" = 1 ] && grep -q "r.html: No space left on device" "$tmp/err" &&
	 grep -q "standard output: No space left on device" "$tmp/err"'

# 6. Standard output on a full device: every command and format says so.
: >"$tmp/empty.conf"
while read -r what; do
	# shellcheck disable=SC2086 # WHAT is a word list
	out=$d/full run 1 "standard output.*No space left on device" "$bin" $what
	check "ksmvirt ${what%% --root*} > full device: exit 1 with a message (rc $rc)" [ "$rc" = 1 ]
done <<EOF
report --root $R --interval 0 --no-libvirt
report --json --root $R --interval 0 --no-libvirt
report --prometheus --root $R --interval 0 --no-libvirt
report --census --root $R --interval 0 --no-libvirt
report --watch 1 --root $R --interval 0 --no-libvirt
advise --json --root $R --no-libvirt
advise --root $R --no-libvirt
balance --oneshot --dry-run --root $R --no-libvirt --config $tmp/empty.conf
--version
help
EOF
check "the full device is still a device after all that" [ "$(devno "$d/full")" = "character special file 1,7" ]

echo "1..$n"
echo "$((n - fail)) passed, $fail failed"
[ "$fail" = 0 ]

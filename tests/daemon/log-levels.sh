#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ksmvirtd's one levelled log: every message is "ksmvirtd: TEXT" on stderr;
# per-event lines only with --verbose; under the journal ($JOURNAL_STREAM
# naming stderr) every line starts with its level, "<6>" for information,
# "<7>" for --verbose detail; a guest name cannot put controls in a line.
# Private state directory and socket, no balancer: no host state touched.
set -u
top=${KSMVIRT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${1:-build}
hook=$top/$build/libvirt-hooks/ksmvirt-hook
daemon=$top/$build/ksmvirtd
for f in "$hook" "$daemon"; do
	[ -x "$f" ] || { echo "FAIL: missing $f: run make first"; exit 1; }
done
work=$(mktemp -d /tmp/ksmvirt-logtest.XXXXXX)
trap 'rm -rf "$work"' EXIT
export KSMVIRT_SOCKET=$work/ksmvirtd.sock KSMVIRT_STATE_DIR=$work/state
export KSMVIRT_HOOK_FOREGROUND=1
fail() { echo "FAIL: $*"; exit 1; }

# spool NAME: the hook spools one "prepare" event of guest NAME (no daemon).
spool() {
	"$top/tests/rig/mkdomain" --name "$1" --rig /nonexistent \
		--uuid a0000000-0000-4000-8000-000000000001 >"$work/d.xml" || fail "mkdomain"
	"$hook" "$1" prepare begin - <"$work/d.xml" 2>"$work/hook.err" || fail "hook: $(cat "$work/hook.err")"
}

# oneshot LOG [OPTIONS...]: replay the spool with stderr to LOG.
oneshot() {
	local log=$1
	shift
	"$daemon" --oneshot --no-balance --config "$work/none.conf" "$@" 2>"$log" ||
		fail "ksmvirtd --oneshot $*: exit $?: $(cat "$log")"
}

spool web
oneshot "$work/quiet.log"
grep -qx 'ksmvirtd: replayed 1 spooled event(s)' "$work/quiet.log" || fail "quiet: $(cat "$work/quiet.log")"
grep -q 'replayed: web' "$work/quiet.log" && fail "an event line without --verbose: $(cat "$work/quiet.log")"
echo "ok: without --verbose, information only"

spool web
oneshot "$work/verbose.log" --verbose
grep -qx 'ksmvirtd: replayed: web prepare begin (uuid a0000000-0000-4000-8000-000000000001)' "$work/verbose.log" ||
	fail "verbose: $(cat "$work/verbose.log")"
echo "ok: --verbose logs each event"

# stderr is the journal when JOURNAL_STREAM names its device and inode.
spool web
: >"$work/journal.log"
stream=$(stat -c '%d:%i' "$work/journal.log")
JOURNAL_STREAM=$stream oneshot "$work/journal.log" --verbose
grep -qx '<6>ksmvirtd: replayed 1 spooled event(s)' "$work/journal.log" || fail "journal info: $(cat "$work/journal.log")"
grep -qx '<7>ksmvirtd: replayed: web prepare begin (uuid .*)' "$work/journal.log" ||
	fail "journal debug: $(cat "$work/journal.log")"
if grep -v '^<[0-7]>ksmvirtd: ' "$work/journal.log"; then
	fail "a journal line without its level"
fi
echo "ok: under the journal each line carries its level"

# Another stream: not the journal, no prefix.
spool web
JOURNAL_STREAM=1:1 oneshot "$work/other.log"
grep -qx 'ksmvirtd: replayed 1 spooled event(s)' "$work/other.log" || fail "not the journal: $(cat "$work/other.log")"
echo "ok: no level prefix when stderr is not the journal"

# A hostile guest name: escaped, one line.
spool "$(printf 'evil\033[2J\nname')"
oneshot "$work/hostile.log" --verbose
grep -qF 'ksmvirtd: replayed: evil\x1b[2J\nname prepare begin' "$work/hostile.log" ||
	fail "hostile name: $(cat -v "$work/hostile.log")"
[ "$(wc -l <"$work/hostile.log")" = 2 ] || fail "hostile name: not one line per message: $(cat -v "$work/hostile.log")"
echo "ok: guest names escaped"

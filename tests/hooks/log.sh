#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The hook's log (STATE_DIR/hook.log), written by root: a symlink at its path
# is never followed (the root-owned file it points at stays untouched), a
# FIFO there cannot block the delivering child, a state directory others
# may write to gets no log, and the log is bounded (rotated to hook.log.1
# past 1 MiB).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
unset KSMVIRT_HOOK_FOREGROUND KSMVIRT_HOOK_TIMEOUT_MS
# No daemon: every run spools its event and logs a line.
log=$KSMVIRT_STATE_DIR/hook.log
mkdir -p "$KSMVIRT_STATE_DIR"
chmod 755 "$KSMVIRT_STATE_DIR"
domain_xml logged 0cc00000-0000-4000-8000-000000000001 >"$work/d.xml"

# run_hook N: one run; waits until N events are spooled
run_hook() {
	"$hook" logged started begin - <"$work/d.xml" || fail "exit $?"
	local _
	for _ in $(seq 1 100); do
		[ "$(spool_count)" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "event $1 not spooled within 10 s (is the child stuck?)"
}

# A symlink to a root-owned file, over 1 MiB (what a truncating rotation
# would destroy).
head -c $((2 << 20)) /dev/urandom >"$work/victim"
chmod 600 "$work/victim"
cp "$work/victim" "$work/victim.orig"
ln -s "$work/victim" "$log"
run_hook 1
cmp -s "$work/victim" "$work/victim.orig" || fail "the symlink's target was written to"
[ -L "$log" ] || fail "the symlink itself was replaced"
# Also a symlink to a small file (appended to, not truncated, before).
rm "$log"
echo precious >"$work/small"
ln -s "$work/small" "$log"
run_hook 2
[ "$(cat "$work/small")" = precious ] || fail "the small file behind the symlink changed: $(cat "$work/small")"
rm "$log"
ok "a symlink at the log path is not followed"

# A FIFO at the log path: opening it for writing would block forever.
mkfifo "$log"
run_hook 3
rm "$log"
ok "a FIFO at the log path does not block the child"

# A state directory anyone may write to: no log there.
chmod 777 "$KSMVIRT_STATE_DIR"
run_hook 4
[ -e "$log" ] && fail "logged into a world-writable directory"
chmod 755 "$KSMVIRT_STATE_DIR"
ok "no log in a world-writable state directory"

# Bounded: a log past 1 MiB is rotated to hook.log.1, never truncated in place.
run_hook 5
grep -q "event spooled" "$log" || fail "the log says nothing: $(cat "$log")"
yes "an old line of the hook's log" | head -c $((1 << 20)) >>"$log"
old_size=$(stat -c %s "$log")
run_hook 6
[ -f "$log.1" ] || fail "no rotation to hook.log.1"
[ "$(stat -c %s "$log.1")" = "$old_size" ] || fail "hook.log.1 is not the old log"
[ "$(stat -c %s "$log")" -lt 4096 ] || fail "hook.log was not started afresh"
grep -q "event spooled" "$log" || fail "the new log says nothing"
ok "the log is rotated past 1 MiB"

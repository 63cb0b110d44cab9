#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hook contract: with no daemon the events go to the spool, nothing is lost,
# and ksmvirtd replays them in order when it starts, then empties the spool.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# Deliver before exiting and report on stderr, so each step can be checked.
export KSMVIRT_HOOK_FOREGROUND=1

# No daemon: no socket at all, then a stale socket file nobody listens on.
for i in 1 2 3; do
	uuid=$(printf 'a0000000-0000-4000-8000-%012d' "$i")
	domain_xml "absent-$i" "$uuid" >"$work/d$i.xml"
done
for op in prepare start started; do
	for i in 1 2 3; do
		rc=0
		"$hook" "absent-$i" "$op" begin - <"$work/d$i.xml" 2>"$work/err" || rc=$?
		[ "$rc" = 0 ] || fail "absent daemon: exit $rc"
		grep -q "event spooled as" "$work/err" || fail "absent daemon: spooling not logged: $(cat "$work/err")"
	done
done
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$KSMVIRT_SOCKET"
[ -S "$KSMVIRT_SOCKET" ] || fail "could not make a stale socket"
"$hook" absent-3 stopped end - <"$work/d3.xml" 2>"$work/err" || fail "stale socket: exit $?"
grep -q "Connection refused" "$work/err" || fail "stale socket: reason not logged: $(cat "$work/err")"
"$hook" absent-3 release end - <"$work/d3.xml" 2>/dev/null || fail "stale socket: exit $?"
[ "$(spool_count)" = 11 ] || fail "want 11 spooled events, have $(spool_count)"
[ -z "$(find "$spool" -maxdepth 1 -name '*.tmp')" ] || fail "temporary files left in the spool"
[ -e "$registry" ] && fail "a registry appeared without a daemon"
ok "11 events spooled without a daemon"

# An unusable entry is set aside, not retried and not fatal.
printf 'not json\n' >"$spool/0000000000000001-00000001-00000001.event"

start_daemon   # replaces the stale socket
expect_registry 'len(r["guests"])' 3 "replay"
expect_registry '" ".join(g["absent-%d" % i]["state"] for i in (1, 2, 3))' "running running stopped" "replay"
expect_registry 'g["absent-2"]["uuid"]' a0000000-0000-4000-8000-000000000002 "replay"
expect_registry 'g["absent-3"]["last_op"]' release "replay order"
[ "$(spool_count)" = 0 ] || fail "spool not emptied after replay: $(ls "$spool")"
set -- "$spool"/0000000000000001-00000001-00000001.event.bad-*
[ -e "$1" ] || fail "unusable entry not set aside as NAME.bad-TIMESTAMP: $(ls "$spool")"
grep -q "replayed 11 spooled event" "$work/ksmvirtd.log" || fail "replay not logged: $(cat "$work/ksmvirtd.log")"
ok "ksmvirtd replayed the spool at start, in order"

# A second daemon refuses to take over a live socket.
rc=0; "$daemon" >"$work/second.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "second daemon: exit $rc, want 1"
grep -q "another ksmvirtd" "$work/second.log" || fail "second daemon: no message"

# Events spooled while the daemon runs (it was busy) are picked up too.
stop_daemon
"$hook" absent-1 stopped end - <"$work/d1.xml" 2>/dev/null
[ "$(spool_count)" = 1 ] || fail "not spooled after the daemon stopped"
"$daemon" --oneshot 2>>"$work/ksmvirtd.log" || fail "--oneshot: exit $?"
[ "$(spool_count)" = 0 ] || fail "--oneshot did not replay"
expect_registry 'g["absent-1"]["state"]' stopped "--oneshot replay"
start_daemon
kill -STOP "$daemon_pid"
"$hook" absent-2 stopped end - <"$work/d2.xml" 2>/dev/null
kill -CONT "$daemon_pid"
kill -HUP "$daemon_pid"
expect_registry 'g["absent-2"]["state"]' stopped "replay on SIGHUP"
ok "--oneshot and SIGHUP replay the spool"

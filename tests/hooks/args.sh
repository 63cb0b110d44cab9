#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hook contract: the whole argument matrix.  Every documented operation and
# subop exits 0, reaches the daemon and prints nothing (for migrate and
# restore libvirt takes empty output as "XML unchanged"); malformed invocations exit
# 2 with a usage message; an unknown operation is ignored.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# The installed default: the hook forks, its child delivers the event.
unset KSMVIRT_HOOK_FOREGROUND KSMVIRT_HOOK_TIMEOUT_MS

start_daemon
xml=$work/dom.xml
domain_xml matrix 6f1e0b1c-3a7d-4c1e-9d5b-1a2b3c4d5e6f >"$xml"
n=0
for op in prepare start started stopped release migrate restore reconnect attach; do
	for subop in begin end -; do
		for extra in - "incoming tcp:10.0.0.1:49152"; do
			rc=0
			"$hook" matrix "$op" "$subop" "$extra" <"$xml" >"$work/out" 2>"$work/err" || rc=$?
			[ "$rc" = 0 ] || fail "$op $subop '$extra': exit $rc: $(cat "$work/err")"
			[ -s "$work/err" ] && fail "$op $subop: unexpected stderr: $(cat "$work/err")"
			[ -s "$work/out" ] && fail "$op: printed something on stdout"
			expect_registry 'g["matrix"]["last_op"] + " " + g["matrix"]["last_subop"] + " " + g["matrix"]["facts"]["extra"]' \
				"$op $subop $extra" "$op $subop"
			n=$((n + 1))
		done
	done
done
[ "$(spool_count)" = 0 ] || fail "events spooled although the daemon is up"
ok "$n operation/subop/extra combinations delivered"

# Empty stdin (libvirt always sends XML, but be safe): still an event.
"$hook" matrix stopped end - </dev/null || fail "empty stdin: exit $?"
expect_registry 'g["matrix"]["state"] + " " + str(g["matrix"]["facts"]["extra"])' "stopped incoming tcp:10.0.0.1:49152" "empty stdin: event applied, facts kept"
expect_registry 'g["matrix"]["last_subop"]' end "empty stdin"
# migrate with empty input prints nothing.
"$hook" matrix migrate begin - </dev/null >"$work/out" || fail "migrate, empty stdin: exit $?"
[ -s "$work/out" ] && fail "migrate with empty stdin printed something"
ok "empty stdin"

# Malformed invocations: exit 2 with a usage message, nothing sent.
expect_registry 'g["matrix"]["last_op"]' migrate "migrate, empty stdin"
before=$(registry_query 'g["matrix"]["last_event_id"]')
for args in "" "matrix" "matrix start" "matrix start begin" "matrix start begin - extra" ; do
	rc=0
	# shellcheck disable=SC2086
	"$hook" $args <"$xml" >/dev/null 2>"$work/err" || rc=$?
	[ "$rc" = 2 ] || fail "'$args': exit $rc, want 2"
	grep -q usage "$work/err" || fail "'$args': no usage message"
done
rc=0; "$hook" "" start begin - <"$xml" 2>"$work/err" || rc=$?
[ "$rc" = 2 ] || fail "empty object: exit $rc, want 2"
rc=0; "$hook" matrix "" begin - <"$xml" 2>"$work/err" || rc=$?
[ "$rc" = 2 ] || fail "empty op: exit $rc, want 2"
"$hook" --help | grep -q usage || fail "--help prints no usage"
# Unknown operation: ignored (exit 0), logged, nothing sent.
rc=0; "$hook" matrix frobnicate begin - <"$xml" >"$work/out" 2>"$work/err" || rc=$?
[ "$rc" = 0 ] || fail "unknown op: exit $rc, want 0"
grep -q "unknown operation 'frobnicate'" "$work/err" || fail "unknown op not logged"
sleep 1
after=$(registry_query 'g["matrix"]["last_event_id"]')
[ "$before" = "$after" ] || fail "a malformed or unknown invocation reached the daemon"
ok "malformed invocations exit 2, unknown operations are ignored"

# The hook must never talk to libvirt: it does not even link it.
if ldd "$hook" | grep -q libvirt; then fail "the hook links libvirt"; fi
if nm -D "$hook" 2>/dev/null | grep -qE ' U vir(Connect|Domain)'; then fail "the hook calls libvirt"; fi
ok "the hook does not link libvirt"

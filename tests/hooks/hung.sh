#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hook contract: a daemon that accepts connections but never reads them
# cannot hold up libvirt: hook runs return within 50 ms (wall clock, process
# start to exit; 90% of them on a loaded machine) and their events are
# spooled, which a working daemon later replays.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
unset KSMVIRT_HOOK_FOREGROUND   # the installed default: deliver from a child
# The child waits this long for the acknowledgement before spooling: a hook
# that waited for its child would take at least this long, every time.
export KSMVIRT_HOOK_TIMEOUT_MS=1500
limit_ms=50
runs=40

start_hung
domain_xml hung-guest b0000000-0000-4000-8000-000000000001 >"$work/d.xml"
# Warm the page cache and the dynamic loader first.
"$hook" hung-guest prepare begin - <"$work/d.xml" 2>/dev/null
times=()
for _ in $(seq 1 "$runs"); do
	t0=$(now_us)
	"$hook" hung-guest start begin - <"$work/d.xml" 2>"$work/err"
	rc=$?
	t1=$(now_us)
	[ "$rc" = 0 ] || fail "hung daemon: exit $rc"
	[ -s "$work/err" ] && fail "hung daemon: stderr: $(cat "$work/err")"
	times+=($(( (t1 - t0) / 1000 )))
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
max=$(echo "$sorted" | tail -n 1)
p50=$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")
echo "hung daemon: $runs runs, p50 ${p50} ms, max ${max} ms: ${times[*]}"
# A shared, loaded build machine stalls any process now and then (even
# /bin/true): allow 10% of the runs over the limit, none near the delivery
# budget.  bench/hook-latency measures p99 over 200 runs.
over=$(echo "$sorted" | awk -v l="$limit_ms" '$1 > l' | wc -l)
[ "$over" -le $((runs / 10)) ] || fail "$over of $runs hook runs took longer than $limit_ms ms"
[ "$max" -lt 1000 ] || fail "a hook run took $max ms: does it wait for the daemon?"
# The children give up after the budget and spool.
for _ in $(seq 1 200); do
	[ "$(spool_count)" = "$((runs + 1))" ] && break
	sleep 0.1
done
[ "$(spool_count)" = "$((runs + 1))" ] || fail "want $((runs + 1)) spooled events, have $(spool_count)"
grep -q "daemon did not acknowledge (timeout); event spooled" "$KSMVIRT_STATE_DIR/hook.log" ||
	fail "hook.log does not say why: $(tail -n 3 "$KSMVIRT_STATE_DIR/hook.log")"
ok "every run returned within the budget; its event was spooled"

# In the foreground the hook itself waits for the daemon (20 ms budget)
# and writes the spool: show what that costs, for comparison.
fg=()
for _ in $(seq 1 10); do
	t0=$(now_us)
	KSMVIRT_HOOK_FOREGROUND=1 KSMVIRT_HOOK_TIMEOUT_MS=20 "$hook" hung-guest start begin - <"$work/d.xml" 2>/dev/null
	t1=$(now_us)
	fg+=($(( (t1 - t0) / 1000 )))
done
echo "foreground mode, hung daemon: ${fg[*]} ms"
runs=$((runs + 10))

kill "$hung_pid"; wait "$hung_pid" 2>/dev/null
rm -f "$KSMVIRT_SOCKET"
start_daemon
expect_registry 'g["hung-guest"]["state"]' starting "replay after the hang"
[ "$(spool_count)" = 0 ] || fail "spool not emptied"
ok "spooled events replayed once a daemon answers"

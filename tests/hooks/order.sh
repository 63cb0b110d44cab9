#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Events are ordered by a per-boot sequence, not by the wall clock: an
# event stamped a day ahead (the clock was wrong when the hook ran, and was
# then put right) does not make the later events be dropped.  Every event
# carries this boot's id (/proc/sys/kernel/random/boot_id) and a sequence
# number that grows with each hook run; a spooled event keeps its own.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
export KSMVIRT_HOOK_FOREGROUND=1
# With the daemon up, wait for its answer rather than spool (a loaded host).
export KSMVIRT_HOOK_TIMEOUT_MS=5000
domain_xml ahead 0dd00000-0000-4000-8000-000000000001 >"$work/d.xml"

# No daemon: the hook spools.  Then the "clock was ahead" event is made by
# moving its wall-clock stamp a day forward.
"$hook" ahead started begin - <"$work/d.xml" 2>/dev/null || fail "exit $?"
[ "$(spool_count)" = 1 ] || fail "not spooled"
entry=$(find "$spool" -name '*.event')
python3 - "$entry" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
e["time_us"] += 86400 * 10**6
open(sys.argv[1], "w").write(json.dumps(e) + "\n")
PY

start_daemon
expect_registry 'g["ahead"]["state"]' running "the future-stamped event"
"$hook" ahead stopped end - <"$work/d.xml" 2>"$work/err" || fail "exit $?"
expect_registry 'g["ahead"]["state"] + " " + g["ahead"]["last_op"]' "stopped stopped" "an event after the future-stamped one"
"$hook" ahead release end - <"$work/d.xml" 2>"$work/err" || fail "exit $?"
expect_registry 'g["ahead"]["last_op"]' release "the next event"
ok "events after a future-stamped one apply"

# Sequence and boot id in what the hook sends: spool three events.
stop_daemon
for op in prepare start started; do
	"$hook" ahead "$op" begin - <"$work/d.xml" 2>/dev/null || fail "exit $?"
done
python3 - "$spool" "$(cat /proc/sys/kernel/random/boot_id)" <<'PY' || fail "sequence or boot id"
import json, os, sys
spool, boot = sys.argv[1], sys.argv[2]
ev = [json.load(open(os.path.join(spool, f))) for f in os.listdir(spool) if f.endswith(".event")]
ev.sort(key=lambda e: e["seq"])
assert [e["op"] for e in ev] == ["prepare", "start", "started"], [e["op"] for e in ev]
assert all(e["boot_id"] == boot for e in ev), [e.get("boot_id") for e in ev]
seqs = [e["seq"] for e in ev]
assert seqs[0] > 0 and seqs == sorted(set(seqs)), seqs
PY
# Replayed in any order, the registry ends with the last one.
start_daemon
expect_registry 'g["ahead"]["last_op"]' started "replay of the sequence"
ok "each event carries the boot id and a growing sequence"

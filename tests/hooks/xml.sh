#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hook contract: what libvirt may feed it.  Malformed XML still exits 0 and
# still sends an event (by the object name) and is logged in hook.log (the
# child parses, after libvirt has moved on); a 10 MB domain XML parses and
# migrate prints nothing for it (libvirt keeps its XML); names with spaces,
# quotes and non-ASCII arrive exactly.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# The installed default: the hook forks, its child delivers the event.
unset KSMVIRT_HOOK_FOREGROUND KSMVIRT_HOOK_TIMEOUT_MS

start_daemon

# Malformed XML.
printf '<domain><name>broken</name><memory>12' >"$work/bad.xml"
rc=0; "$hook" broken start begin - <"$work/bad.xml" >"$work/out" 2>"$work/err" || rc=$?
[ "$rc" = 0 ] || fail "malformed XML: exit $rc"
[ -s "$work/err" ] && fail "malformed XML: the hook itself wrote: $(cat "$work/err")"
expect_registry 'g["broken"]["state"] + " " + str(g["broken"]["facts"])' "starting None" "malformed XML"
grep -q "broken start: domain XML does not parse" "$KSMVIRT_STATE_DIR/hook.log" ||
	fail "malformed XML not logged: $(cat "$KSMVIRT_STATE_DIR/hook.log")"
# Not a domain at all; and binary garbage.
echo '<network><name>n</name></network>' | "$hook" notadomain started begin - 2>"$work/err" || fail "non-domain XML: exit $?"
expect_registry 'g["notadomain"]["state"]' running "non-domain XML"
grep -q "holds no <domain>" "$KSMVIRT_STATE_DIR/hook.log" || fail "non-domain XML not logged"
head -c 4096 /dev/urandom | "$hook" garbage started begin - 2>/dev/null || fail "garbage: exit $?"
# Malformed XML through migrate: nothing printed (libvirt keeps its XML).
"$hook" broken migrate begin - <"$work/bad.xml" >"$work/out" 2>/dev/null || fail "migrate malformed: exit $?"
[ -s "$work/out" ] && fail "migrate printed something for malformed XML"
ok "malformed XML"

# A 10 MB domain XML (a huge <description> and many metadata elements).
python3 - "$work/big.xml" <<'PY'
import sys
parts = ["<domain type='qemu' xmlns:ksmvirt='http://ksmvirt.org/xmlns/policy/1.0'>",
         "<name>big-guest</name><uuid>7d3f6a2e-1111-4f6e-8a3b-0123456789ab</uuid>",
         "<description>" + "x" * (4 << 20) + "</description>",
         "<memory unit='MiB'>512</memory><metadata>"]
size = sum(map(len, parts))
i = 0
while size < 10 * (1 << 20):
    e = "<app:item xmlns:app='http://example.org/app' n='%d'>filler &amp; more</app:item>" % i
    parts.append(e); size += len(e); i += 1
parts.append("<ksmvirt:policy merge='on' group='bulk'/></metadata></domain>\n")
open(sys.argv[1], "w").write("".join(parts))
PY
size=$(stat -c %s "$work/big.xml")
[ "$size" -ge 10485760 ] || fail "big XML is only $size bytes"
t0=$(now_us)
"$hook" big-guest migrate begin - <"$work/big.xml" >"$work/out" 2>"$work/err" || fail "10 MB XML: exit $?"
t1=$(now_us)
[ -s "$work/err" ] && fail "10 MB XML: stderr: $(cat "$work/err")"
[ -s "$work/out" ] && fail "10 MB XML: migrate printed something"
"$hook" big-guest started begin - <"$work/big.xml" || fail "10 MB XML started: exit $?"
expect_registry 'g["big-guest"]["uuid"] + " " + g["big-guest"]["facts"]["policy"]["group"] + " " + str(g["big-guest"]["facts"]["memory_kib"])' \
	"7d3f6a2e-1111-4f6e-8a3b-0123456789ab bulk 524288" "10 MB XML"
ok "10 MB XML ($size bytes) read, nothing printed, in $(( (t1 - t0) / 1000 )) ms"

# Names with spaces, quotes and non-ASCII (the XML escapes what it must).
i=0
while IFS= read -r name; do
	i=$((i + 1))
	uuid=$(printf '00000000-0000-4000-8000-%012d' "$i")
	domain_xml "$name" "$uuid" --nosharepages --policy "priority=$i" >"$work/n.xml"
	"$hook" "$name" prepare begin - <"$work/n.xml" 2>"$work/err" || fail "name '$name': exit $?"
	"$hook" "$name" started begin - <"$work/n.xml" 2>>"$work/err" || fail "name '$name': exit $?"
	[ -s "$work/err" ] && fail "name '$name': stderr: $(cat "$work/err")"
	python3 - "$registry" "$name" "$uuid" "$i" <<'PY' || fail "name '$name' did not arrive intact"
import json, sys, time
reg, name, uuid, prio = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for _ in range(100):
    g = [x for x in json.load(open(reg))["guests"] if x["uuid"] == uuid]
    if g and g[0]["state"] == "running":
        break
    time.sleep(0.1)
assert len(g) == 1, g
g = g[0]
assert g["name"] == name, (g["name"], name)
assert g["facts"]["name"] == name
assert g["state"] == "running"
assert g["facts"]["merging_disabled"] is True
assert g["facts"]["policy"]["priority"] == prio
PY
done <<'NAMES'
web server 01
it's a "quoted" name
back\slash & <angle> brackets
gäst-日本語-Ωμέγα
  leading and trailing spaces  
NAMES
ok "$i names with spaces, quotes and non-ASCII arrived exactly"

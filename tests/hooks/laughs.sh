#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hook contract: a domain XML whose DOCTYPE nests entity declarations ten
# deep (a "billion laughs", 10^9 copies of "lol" once expanded) cannot hold
# libvirt up: 200 runs of the installed hook (it forks, its child parses)
# return with a p99 of at most 50 ms (best of three rounds; see below for
# a machine too loaded to measure that), each run is killed after 5 s, the
# event still arrives (by the object name, without domain facts) and the
# refusal is logged.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
unset KSMVIRT_HOOK_FOREGROUND KSMVIRT_HOOK_TIMEOUT_MS
limit_ms=50
runs=200

# laughs FILE: the entity nest, referenced where the parser reads text
# (<memory>, <name>) and attributes (unit=).
laughs() {
	python3 - "$1" <<'PY'
import sys
l = ['<?xml version="1.0"?>', '<!DOCTYPE domain [', ' <!ENTITY lol "lol">']
for i in range(1, 10):
    prev = "lol" if i == 1 else "lol%d" % (i - 1)
    l.append(' <!ENTITY lol%d "%s">' % (i, ("&%s;" % prev) * 10))
l.append(']>')
l.append("<domain type='qemu'><name>laughs&lol9;</name>"
         "<uuid>0aa00000-0000-4000-8000-000000000001</uuid>"
         "<memory unit='MiB&lol9;'>64&lol9;</memory>"
         "<currentMemory>&lol9;</currentMemory>"
         "<description>&lol9;</description></domain>")
open(sys.argv[1], "w").write("\n".join(l) + "\n")
PY
}

start_daemon
laughs "$work/laughs.xml"
# Three rounds at most, one of which must meet the bound; each run is
# timed from spawn to exit and killed after 5 s.  The hook that parsed
# before forking never finished a single run.  A shared, loaded machine
# stalls any process now and then: each hook run is paired with a run of
# "hook --help" (same binary and loading, no work).  Only when even that
# misses the bound in a round is the machine too loaded to resolve 50 ms;
# then the hook must stay within 1.5 times the reference's p99 instead,
# and the output says so.
python3 - "$hook" "$work/laughs.xml" "$runs" "$limit_ms" <<'PY' || fail "see above"
import os, subprocess, sys, time
hook, xml, runs, limit_ms = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = open(xml, "rb").read()

def timed(args, stdin):
    t0 = time.monotonic()
    try:
        p = subprocess.run(args, input=stdin, capture_output=True, timeout=5)
    except subprocess.TimeoutExpired:
        print("FAIL: %s: still running after 5 s" % " ".join(args[1:]))
        sys.exit(1)
    return (time.monotonic() - t0) * 1000, p

def pct(v, q):
    v = sorted(v)
    return v[max(0, -(-len(v) * q // 100) - 1)]

for r in (1, 2, 3):
    ms, ref = [], []
    for i in range(runs):
        ref.append(timed([hook, "--help"], b"")[0])
        t, p = timed([hook, "laughs", "started", "begin", "-"], data)
        ms.append(t)
        if p.returncode != 0 or p.stdout:
            print("FAIL: run %d: exit %d, %d bytes on stdout: %s" %
                  (i + 1, p.returncode, len(p.stdout), p.stderr.decode(errors="replace")))
            sys.exit(1)
    p99, ref99 = pct(ms, 99), pct(ref, 99)
    print("billion laughs, round %d: %d runs, p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
          "reference (hook --help) p99 %.1f ms; load %.1f"
          % (r, runs, pct(ms, 50), p99, max(ms), ref99, os.getloadavg()[0]))
    if p99 <= limit_ms:
        sys.exit(0)
    if ref99 > limit_ms and p99 <= 1.5 * ref99:
        print("the machine is too loaded to resolve %d ms (the reference misses it too): "
              "p99 within 1.5 times the reference's" % limit_ms)
        sys.exit(0)
print("FAIL: p99 over %d ms in every round" % limit_ms)
sys.exit(1)
PY

# The children refused the XML at once: the events arrived without facts.
expect_registry 'g["laughs"]["state"] + " " + str(g["laughs"]["facts"])' "running None" "billion laughs"
grep -q "declares entities" "$KSMVIRT_STATE_DIR/hook.log" ||
	fail "refusal not logged: $(tail -n 3 "$KSMVIRT_STATE_DIR/hook.log" 2>/dev/null)"
ok "billion laughs: refused in the child and logged"

# The same XML in the foreground (the hook parses before it exits): refused
# in milliseconds too.
t0=$(now_us)
rc=0
KSMVIRT_HOOK_FOREGROUND=1 timeout 5 "$hook" laughs stopped end - <"$work/laughs.xml" 2>"$work/err" || rc=$?
t1=$(now_us)
[ "$rc" = 0 ] || fail "foreground: exit $rc"
grep -q "declares entities" "$work/err" || fail "foreground: refusal not reported: $(cat "$work/err")"
ok "foreground: refused in $(( (t1 - t0) / 1000 )) ms"

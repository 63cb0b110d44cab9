#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hook contract, libvirt's side of the pipes: libvirt feeds the domain XML
# on stdin and, for migrate and restore, takes stdout as the new XML (empty
# means unchanged; a failed or partial write of stdin cancels an incoming
# migration).  So the hook reads all of stdin, even past its size cap,
# prints nothing, and exits 0 when libvirt has closed stdout and stderr or
# stops writing half way.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
unset KSMVIRT_HOOK_FOREGROUND KSMVIRT_HOOK_TIMEOUT_MS

start_daemon
domain_xml piped 0bb00000-0000-4000-8000-000000000001 >"$work/d.xml"
# A 20 MiB domain XML: larger than the pipe buffer and the hook's cap.
python3 - "$work/d.xml" "$work/huge.xml" <<'PY'
import sys
x = open(sys.argv[1]).read()
pad = "<!--" + "p" * (20 << 20) + "-->\n"
open(sys.argv[2], "w").write(x + pad)
PY

python3 - "$hook" "$work" <<'PY' || fail "see above"
import os, subprocess, sys, time
hook, work = sys.argv[1], sys.argv[2]
small = open(work + "/d.xml", "rb").read()
huge = open(work + "/huge.xml", "rb").read()
bad = []

def run(op, data, close_out=False, close_err=False, cut=None, what=""):
    p = subprocess.Popen([hook, "piped", op, "begin", "-"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if close_out:
        p.stdout.close()
    if close_err:
        p.stderr.close()
    wrote = "all"
    try:
        p.stdin.write(data if cut is None else data[:cut])
        p.stdin.close()
    except BrokenPipeError:
        wrote = "EPIPE"
    out = b"" if close_out else p.stdout.read()
    if not close_err:
        p.stderr.read()
    rc = p.wait(timeout=10)
    label = "%s %s" % (op, what)
    if rc != 0:
        bad.append("%s: exit %d" % (label, rc))
    if wrote != "all":
        bad.append("%s: libvirt's write of the XML failed (%s): the hook did not read it all" % (label, wrote))
    if out:
        bad.append("%s: printed %d bytes on stdout (libvirt would take them as the domain XML)" % (label, len(out)))

for op in ("migrate", "restore"):
    run(op, small, what="(plain)")
    run(op, huge, what="(20 MiB, over the cap)")
    run(op, small, close_out=True, close_err=True, what="(stdout and stderr closed)")
    run(op, small, close_out=True, close_err=True, cut=len(small) // 2,
        what="(stdin cut half way, pipes closed)")
# An operation that logs on stderr with stderr closed.
run("frobnicate", small, close_err=True, what="(unknown op, stderr closed)")
run("started", b"<domain><name>x</name", close_out=True, close_err=True,
    what="(malformed XML, pipes closed)")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
ok "migrate and restore print nothing; stdin always read to the end; closed pipes exit 0"

# The 20 MiB event arrived, without facts (over the cap), and says why.
expect_registry 'g["piped"]["last_op"]' started "after the pipe runs"
grep -q "over the limit" "$KSMVIRT_STATE_DIR/hook.log" ||
	fail "oversized XML not logged: $(tail -n 3 "$KSMVIRT_STATE_DIR/hook.log" 2>/dev/null)"
ok "oversized XML logged"

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Real-host test: ksmvirt report --sharing against a ground truth from
pagemap and kpageflags.

Seven processes of 16 MiB each: three with the same content (seed 101),
a pair with another (seed 202), one of unique content, one zero-filled (with
use_zero_pages=0 its pages merge into KSM frames of their own, each mapped
many times).  KSM runs until they are merged, then stops (run=0 keeps what
is merged), and the test computes who shares which frames itself: for
each process's mergeable mapping, the present pages' frame numbers from
/proc/PID/pagemap (bits 0-54, present bit 63) that /proc/kpageflags flags
KPF_KSM (bit 21).  The report's guest pairs, per-guest frames and group
pairs must equal it exactly (the first of the three in group red, the
other two in blue: each frame counts once for red x blue and once for
blue x blue); the cross-group warning must name the other process and the
count when processes that share are in different groups, and must be
absent once they are in the same group; the text, HTML and Prometheus
outputs must show the same.

Guests the report finds on the host besides these (libvirt guests of
other users of the host) are left out of the comparison: every process
here is put in a group of its own naming, so the group pairs compared
contain only them.
"""
import os
import re
import struct
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pylib"))
from ksmvirt_test.ksm import KsmSettings, ksm_stat, ksm_write, require_root_ksm  # noqa: E402
from ksmvirt_test.run import Helpers, ksmvirt, report_json, wait_for  # noqa: E402
from ksmvirt_test.tap import Tap, fail, skip  # noqa: E402

MIB = 16
PAGE = os.sysconf("SC_PAGE_SIZE")
PAGES = MIB * 2**20 // PAGE
PFN_MASK = (1 << 55) - 1
PRESENT = 1 << 63
KPF_KSM = 21


def ksm_frames(pid, start, length, kpageflags):
    """The set of KSM frames the pages of [START, START + LENGTH) map."""
    with open("/proc/%d/pagemap" % pid, "rb") as f:
        f.seek(start // PAGE * 8)
        raw = f.read(length // PAGE * 8)
    frames = set()
    for (e,) in struct.iter_unpack("<Q", raw):
        if not e & PRESENT:
            continue
        pfn = e & PFN_MASK
        if pfn == 0:
            fail("pagemap hides frame numbers")
        kpageflags.seek(pfn * 8)
        (flags,) = struct.unpack("<Q", kpageflags.read(8))
        if flags >> KPF_KSM & 1:
            frames.add(pfn)
    return frames


def truth_pairs(frames, pids):
    """{(a, b): frames both map} for a <= b in PIDS' order."""
    return {(a, b): len(frames[a] & frames[b]) for i, a in enumerate(pids) for b in pids[i:]}


def truth_groups(frames, groups):
    """{(A, B): frames some process of A and some of B map}, A <= B."""
    union = {}
    for pid, g in groups.items():
        union.setdefault(g, set()).update(frames[pid])
    names = sorted(union)
    return {(a, b): len(union[a] & union[b]) for i, a in enumerate(names) for b in names[i:]}


def report_pairs(rep, pids):
    order = {g["pid"]: i for i, g in enumerate(rep["sharing"]["guests"])}
    got = {}
    for p in rep["sharing"]["guest_pairs"]:
        a, b = p["pids"]
        if a in pids and b in pids:
            got[tuple(sorted((a, b), key=lambda x: order[x]))] = p["frames"]
    return order, got


def cross_warnings(rep, pid):
    g = [x for x in rep["guests"] if x["pid"] == pid][0]
    return [w for w in g["warnings"] if w.startswith("sharing across groups:")]


def check_report(t, what, frames, groups, pids):
    """One --sharing report with GROUPS ({pid: group}) against the truth;
    returns the report."""
    args = ["--sharing", "--interval", "0", "--no-libvirt"]
    for p in pids:
        args += ["--pid", str(p), "--group", "%d=%s" % (p, groups[p])]
    rep = report_json(*args)
    sh = rep.get("sharing")
    if not t.ok(sh is not None, "%s: the report has a sharing object" % what):
        return None, args
    order, got = report_pairs(rep, pids)
    t.ok(all(p in order for p in pids), "%s: every process is in the model" % what)
    want = truth_pairs(frames, sorted(pids, key=lambda x: order.get(x, 0)))
    want_nonzero = {k: v for k, v in want.items() if v}
    t.ok(got == want_nonzero, "%s: guest pairs equal the pagemap truth (%d pairs share)\n#  got  %s\n#  want %s"
         % (what, len(want_nonzero), sorted(got.items()), sorted(want_nonzero.items())))
    for g in sh["guests"]:
        if g["pid"] in pids:
            t.ok(g["ksm_frames"] == len(frames[g["pid"]]) and g["group"] == groups[g["pid"]],
                 "%s: pid %d maps %d KSM frames (truth %d), group %s" % (what, g["pid"], g["ksm_frames"],
                                                                         len(frames[g["pid"]]), g["group"]))
    ours = set(groups.values())
    got_groups = {tuple(p["groups"]): p["frames"] for p in sh["group_pairs"]
                  if p["groups"][0] in ours and p["groups"][1] in ours}
    want_groups = {k: v for k, v in truth_groups(frames, groups).items() if v}
    t.ok(got_groups == want_groups, "%s: group pairs equal the pagemap truth\n#  got  %s\n#  want %s"
         % (what, sorted(got_groups.items()), sorted(want_groups.items())))
    return rep, args


def main():
    require_root_ksm()
    try:
        open("/proc/kpageflags", "rb").close()
    except OSError as e:
        skip("/proc/kpageflags: %s" % e)
    t = Tap()
    with KsmSettings(), Helpers() as h, open("/proc/kpageflags", "rb") as kpf:
        ksm_write("use_zero_pages", 0)
        ksm_write("pages_to_scan", 20000)
        ksm_write("sleep_millisecs", 0)
        a1, a2, a3 = h.start(MIB, "same", 101), h.start(MIB, "same", 101), h.start(MIB, "same", 101)
        b1, b2 = h.start(MIB, "same", 202), h.start(MIB, "same", 202)
        unique, zero = h.start(MIB, "unique"), h.start(MIB, "zero")
        pids = [a1, a2, a3, b1, b2, unique, zero]
        ksm_write("run", 1)

        def merged():
            return all(ksm_stat(p).get("ksm_merging_pages") == PAGES for p in (a1, a2, a3, b1, b2, zero))

        took = wait_for(merged, 300, "KSM to merge the alike processes and the zero-filled one")
        print("# merged in %.1fs" % took)
        ksm_write("run", 0)   # merged pages stay, ksmd stops: reads agree

        frames = {p: ksm_frames(p, *h.mapping[p], kpf) for p in pids}
        print("# KSM frames per process: %s" % {p: len(f) for p, f in frames.items()})
        t.ok(len(frames[a1] & frames[a2] & frames[a3]) == PAGES and len(frames[b1] & frames[b2]) == PAGES,
             "the truth: alike processes share all their %d pages' frames" % PAGES)
        t.ok(not frames[unique] and 0 < len(frames[zero]) < PAGES,
             "the truth: nothing merged in the unique process, the zero-filled one maps few frames many times")

        # A across two groups: a warning on each side of each pair that
        # crosses, none between a2 and a3.
        groups = {a1: "red", a2: "blue", a3: "blue", b1: "green", b2: "green", unique: "green", zero: "zeros"}
        rep, args = check_report(t, "A split", frames, groups, pids)
        if rep:
            n = len(frames[a1] & frames[a2])

            def warns(me, others):
                ws = cross_warnings(rep, me)
                for other, theirs in others:
                    t.ok(len([w for w in ws if re.search(r"^sharing across groups: %d KSM frames \(.*\) shared "
                                                         r"with .* \(pid %d, group \"%s\"\)" % (n, other, theirs),
                                                         w)]) == 1,
                         "pid %d: a warning naming pid %d of group %s and %d frames" % (me, other, theirs, n))
                t.ok(len(ws) == len(others), "pid %d: %d cross-group warnings: %s" % (me, len(others), ws))
            warns(a1, ((a2, "blue"), (a3, "blue")))
            warns(a2, ((a1, "red"),))
            warns(a3, ((a1, "red"),))
            t.ok(not any(cross_warnings(rep, p) for p in (b1, b2, unique, zero)),
                 "no warning for the processes that share only within their group")
            t.ok(rep["sharing"]["cross_group_frames"] >= n, "cross_group_frames counts the pair's frames")

            text = ksmvirt("report", *args).stdout
            t.ok(re.search(r"sharing across groups: %d KSM frames .*\(pid %d, group \"blue\"\)" % (n, a2), text),
                 "the text report shows the warning")
            t.ok("KSM frames shared between guests" in text and "KSM frames shared between groups" in text,
                 "the text report has the guest and group tables")
            prom = ksmvirt("report", "--prometheus", *args).stdout
            m = re.search(r'^ksmvirt_group_shared_bytes\{group_a="blue",group_b="red"\} (\d+)$', prom, re.M)
            t.ok(m and int(m.group(1)) == n * PAGE, "Prometheus: blue x red = %d bytes" % (n * PAGE))
            t.ok(not re.search(r"^ksmvirt_\w*shar\w*\{[^}]*pid=\"%d\"" % a1, prom, re.M),
                 "Prometheus: no per-guest sharing series")
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "r.html")
                ksmvirt("report", "--html", path, *args)
                page = open(path).read()
            t.ok("<h2>Who shares with whom</h2>" in page and "<table" in page, "the HTML page has the tables")
            t.ok(re.search(r"sharing across groups: %d KSM frames" % n, page), "the HTML page shows the warning")

        # All of A in one group: no warning.
        groups[a2] = groups[a3] = "red"
        rep, _ = check_report(t, "A together", frames, groups, pids)
        if rep:
            t.ok(not any(cross_warnings(rep, p) for p in pids), "no warning once the pair is in one group")
    t.done()


if __name__ == "__main__":
    main()

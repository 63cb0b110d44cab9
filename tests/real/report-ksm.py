#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Real-host test: ksmvirt report against real KSM on this kernel.

Three processes hold 64 MiB of identical content, one 32 MiB of zeros (as
a Windows guest's free memory), one 32 MiB of unique content.  KSM runs
fast until it converges; then the report must agree with the kernel per
process (ksm_stat), per host node (census) and in total (sysfs), predict
the savings of the fill pattern within 2%, and show the same numbers in
the table, Prometheus and HTML outputs.
"""
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pylib"))
from ksmvirt_test.ksm import KsmSettings, ksm_read, ksm_stat, ksm_write, require_root_ksm  # noqa: E402
from ksmvirt_test.run import Helpers, ksmvirt, report_json, wait_for  # noqa: E402
from ksmvirt_test.tap import Tap  # noqa: E402

SAME_MIB, ZERO_MIB, UNIQUE_MIB = 64, 32, 32
PAGE = os.sysconf("SC_PAGE_SIZE")

require_root_ksm()
t = Tap()
with KsmSettings(), Helpers() as h:
    # Start from nothing merged so the host counters are ours alone.
    ksm_write("run", 2)
    ksm_write("use_zero_pages", 1)
    ksm_write("pages_to_scan", 20000)
    ksm_write("sleep_millisecs", 0)
    same = [h.start(SAME_MIB, "same", seed=7) for _ in range(3)]
    zero = h.start(ZERO_MIB, "zero")
    unique = h.start(UNIQUE_MIB, "unique")
    ksm_write("run", 1)
    same_pages = SAME_MIB * 2**20 // PAGE
    zero_pages = ZERO_MIB * 2**20 // PAGE

    def converged():
        return (all(ksm_stat(p)["ksm_merging_pages"] == same_pages for p in same)
                and ksm_stat(zero)["ksm_zero_pages"] == zero_pages)

    took = wait_for(converged, 240, "KSM to merge the helpers")
    print("# converged in %.1fs" % took)
    ksm_write("run", 0)   # freeze the counters while we compare

    pids = [str(p) for p in same + [zero, unique]]
    pid_args = [a for p in pids for a in ("--pid", p)]
    rep = report_json("--census", "--interval", "0", "--no-libvirt", *pid_args)
    by_pid = {g["pid"]: g for g in rep["guests"]}
    t.ok(all(int(p) in by_pid for p in pids), "every helper is in the report")

    for p in same + [zero, unique]:
        g = by_pid[p]
        ks = ksm_stat(p)
        t.ok(g["ksm_stat"]["ksm_merging_pages"] == ks["ksm_merging_pages"],
             "pid %d: merging pages %d == ksm_stat %d" % (p, g["ksm_stat"]["ksm_merging_pages"],
                                                          ks["ksm_merging_pages"]))
        t.ok(g["ksm_stat"]["ksm_zero_pages"] == ks["ksm_zero_pages"], "pid %d: zero pages == ksm_stat" % p)
        t.ok(g["census"]["merged_pages"] == ks["ksm_merging_pages"],
             "pid %d: census KSM pages %d == merging pages %d" % (p, g["census"]["merged_pages"],
                                                                 ks["ksm_merging_pages"]))
        per_node = sum(n["merged_pages"] for n in g["census"]["host_nodes"])
        t.ok(per_node == g["census"]["merged_pages"], "pid %d: census per host node adds up" % p)
        t.ok(g["census"]["zero_pages"] >= ks["ksm_zero_pages"],
             "pid %d: census zero-page mappings >= ksm_zero_pages" % p)

    # The report's own snapshot of the host counters must add up exactly
    # (other processes may merge or unmerge between separate reads).
    hk = rep["host"]["ksm"]
    shared, sharing, zero_pages_host = hk["pages_shared"], hk["pages_sharing"], hk["ksm_zero_pages"]
    total_merging = sum(g["ksm_stat"]["ksm_merging_pages"] for g in rep["guests"]) + rep["other"]["ksm_merging_pages"]
    t.ok(abs(total_merging - (shared + sharing)) <= 8 + (shared + sharing) // 1000,
         "guests + other merging pages %d == pages_shared + pages_sharing %d" % (total_merging, shared + sharing))
    host_saved = (sharing + zero_pages_host) * PAGE
    t.ok(rep["host"]["saved_bytes"] == host_saved, "host saved_bytes == (pages_sharing + ksm_zero_pages) x page")
    sysfs_saved = (int(ksm_read("pages_sharing")) + int(ksm_read("ksm_zero_pages"))) * PAGE
    t.ok(abs(sysfs_saved - host_saved) <= 0.001 * host_saved + 8 * PAGE,
         "the report's host savings match sysfs read now (%d vs %d)" % (host_saved, sysfs_saved))
    sum_saved = sum(g["saved_bytes"] for g in rep["guests"]) + rep["other"]["saved_bytes"]
    t.ok(abs(sum_saved - host_saved) <= 0.001 * host_saved + 8 * PAGE,
         "per-process savings add up to the host's (%d vs %d)" % (sum_saved, host_saved))

    # What the fill patterns predict.
    predictions = {p: SAME_MIB * 2**20 * 2 / 3 for p in same}
    predictions[zero] = ZERO_MIB * 2**20
    predictions[unique] = 0
    for p, want in predictions.items():
        got = by_pid[p]["saved_bytes"]
        close = abs(got - want) <= 0.02 * want if want else got <= 0.02 * UNIQUE_MIB * 2**20
        t.ok(close, "pid %d: saved %d bytes, fill pattern predicts %d (within 2%%)" % (p, got, want))
    t.ok(host_saved >= 0.98 * (2 * SAME_MIB + ZERO_MIB) * 2**20, "host saves what the fills predict")
    t.ok(all(by_pid[p]["saved_method"] == "census" for p in same),
         "with the census, each guest's share comes from its frames' own map counts")

    # The other formats show the same numbers.
    text = ksmvirt("report", "--interval", "0", "--no-libvirt", *pid_args).stdout
    prom = ksmvirt("report", "--prometheus", "--interval", "0", "--no-libvirt", *pid_args).stdout
    with tempfile.TemporaryDirectory() as d:
        html_path = os.path.join(d, "r.html")
        ksmvirt("report", "--html", html_path, "--interval", "0", "--no-libvirt", *pid_args)
        html = open(html_path).read()
    for p in same + [zero]:
        g = by_pid[p]
        m = re.search(r'ksmvirt_guest_ksm_merging_pages\{[^}]*pid="%d"\} (\d+)' % p, prom)
        t.ok(m and int(m.group(1)) == g["ksm_stat"]["ksm_merging_pages"], "pid %d: Prometheus merging pages" % p)
        m = re.search(r'ksmvirt_guest_saved_bytes\{[^}]*pid="%d"\} (\d+)' % p, prom)
        t.ok(m and int(m.group(1)) == g["saved_bytes"], "pid %d: Prometheus saved bytes" % p)
        # The MERGING column (the zero helper merges into the zero page: ZERO).
        pages = g["ksm_stat"]["ksm_merging_pages"] if p != zero else g["ksm_stat"]["ksm_zero_pages"]
        mib = "%.1f MiB" % (pages * PAGE / 2**20)
        row = [ln for ln in text.splitlines() if re.search(r"\s%d\s" % p, ln) and "MiB" in ln]
        t.ok(row and mib in row[0], "pid %d: table row shows %s merged" % (p, mib))
        hrow = [ln for ln in html.splitlines() if re.search(r"\s%d\s" % p, ln)]
        t.ok(hrow and mib in hrow[0], "pid %d: HTML shows the same row" % p)
    t.ok("<svg" in html and "Savings per guest" in html, "HTML has the SVG charts")
t.done()

# SPDX-License-Identifier: GPL-2.0-or-later
"""Metrics, Markdown table and SVG plots of bench/overcommit runs.

Pure functions over the runs' JSON lines (no access to the host), so that
tests/bench/overcommit-report.py can check them on synthetic samples.

A run is the dict load_run() returns: meta (the first line), samples
(type "sample", t in seconds since the guests were started), events, end.

Definitions (also printed with the table):
  merged         the benchmark guests' memory backed by KSM pages: the sum
                 of their ksm_merging_pages (/proc/PID/ksm_stat) x page
                 size.  Only the benchmark's own QEMU processes count, so
                 other users' mergeable memory on a shared host does not.
  host saved     (pages_sharing + ksm_zero_pages) x page size, host-wide:
                 what KSM saves on the whole host, other users included
  best           the largest, over contenders, of the median over a
                 contender's runs of the most a run merged
  t90            seconds from "all guests filled" to the first sample that
                 merged >= 90% of best; a run that never does is censored
                 (shown as "> window")
  CPU-s per GiB  ksmd CPU-seconds over the whole run / GiB merged at its end
  peak swap      the most swap used during the run above its start, MiB
  final          merged at the end of the window
Medians with min and max over a contender's runs.
"""
import json
import math
import os

ORDER = ("none", "kernel", "ksmtuned", "advisor", "ksmvirtd")
LABEL = {
    "none": "no KSM",
    "kernel": "KSM, kernel defaults",
    "ksmtuned": "ksmtuned (Debian, defaults)",
    "advisor": "kernel scan-time advisor",
    "ksmvirtd": "ksmvirtd (defaults)",
}
COLOR = {
    "none": "#7f7f7f",
    "kernel": "#1f77b4",
    "ksmtuned": "#d62728",
    "advisor": "#9467bd",
    "ksmvirtd": "#2ca02c",
}
GIB = float(1 << 30)
BEGIN = "<!-- overcommit:begin -->"
END = "<!-- overcommit:end -->"


# ---------------------------------------------------------------- loading

def load_run(lines):
    run = {"meta": None, "samples": [], "events": [], "end": None}
    for line in lines:
        line = line.strip()
        if not line:
            continue
        o = json.loads(line)
        kind = o.get("type")
        if kind == "meta":
            run["meta"] = o
        elif kind == "sample":
            run["samples"].append(o)
        elif kind == "event":
            run["events"].append(o)
        elif kind == "end":
            run["end"] = o
    return run


def load_dir(path, sub="runs"):
    """Finished runs (DIR/SUB/*.jsonl, status ok), sorted by contender and rep."""
    runs = []
    rdir = os.path.join(path, sub)
    if not os.path.isdir(rdir):
        return runs
    for f in sorted(os.listdir(rdir)):
        if not f.endswith(".jsonl"):
            continue
        with open(os.path.join(rdir, f)) as fh:
            r = load_run(fh)
        if r["meta"] and r["end"] and r["end"].get("status") == "ok" and r["samples"]:
            runs.append(r)
    runs.sort(key=lambda r: (contender_rank(r["meta"]["contender"]), r["meta"]["rep"]))
    return runs


def contender_rank(c):
    return ORDER.index(c) if c in ORDER else len(ORDER)


# ---------------------------------------------------------------- metrics

def page_size(run):
    return run["meta"].get("page_size", 4096)


def saved_bytes(run, s):
    return ((s.get("pages_sharing") or 0) + (s.get("ksm_zero_pages") or 0)) * page_size(run)


def merged_bytes(run, s):
    return (s.get("guests_merging_pages") or 0) * page_size(run)


def t_filled(run):
    for e in run["events"]:
        if e.get("what") == "all guests filled":
            return e["t"]
    return None


def window_s(run):
    return run["meta"]["config"]["window_s"]


def median(xs):
    """Median of a list that may hold math.inf (censored values)."""
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return None
    if n % 2:
        return xs[n // 2]
    a, b = xs[n // 2 - 1], xs[n // 2]
    if math.isinf(a) or math.isinf(b):
        return b
    return (a + b) / 2.0


def summary(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def run_metrics(run, best):
    tf = t_filled(run)
    samples = run["samples"]
    peak = max(merged_bytes(run, s) for s in samples)
    final = merged_bytes(run, samples[-1])
    t90 = math.inf
    if best > 0:
        for s in samples:
            if merged_bytes(run, s) >= 0.9 * best:
                t90 = max(0.0, s["t"] - tf)
                break
    cpu = samples[-1].get("ksmd_cpu_s") or 0.0
    swap0 = samples[0].get("swap_used_kib") or 0
    peak_swap_mib = max(0, max((s.get("swap_used_kib") or 0) for s in samples) - swap0) / 1024.0
    pswpout_mib = ((samples[-1].get("pswpout") or 0) - (samples[0].get("pswpout") or 0)) \
        * page_size(run) / float(1 << 20)
    return {
        "contender": run["meta"]["contender"],
        "rep": run["meta"]["rep"],
        "fill_s": tf,
        "t90_s": t90,
        "peak_gib": peak / GIB,
        "final_gib": final / GIB,
        "host_saved_gib": saved_bytes(run, samples[-1]) / GIB,
        "ksmd_cpu_s": cpu,
        "cpu_per_gib": cpu / (final / GIB) if final >= GIB / 64 else None,
        "peak_swap_mib": peak_swap_mib,
        "pswpout_mib": pswpout_mib,
        "min_avail_mib": min((s.get("mem_available_kib") or 0) for s in samples) / 1024.0,
        "max_psi_some": max((s.get("psi_some_avg10") or 0.0) for s in samples),
        "hog_mib": run["meta"].get("hog_mib"),
        "lock_wait_s": run["meta"].get("lock_wait_s"),
        "loadavg": run["meta"].get("loadavg"),
        "other_qemu": run["meta"].get("other_qemu_processes"),
    }


def analyse(runs):
    """Per-run metrics, per-contender summaries, best, curves, targets."""
    by = {}
    for r in runs:
        by.setdefault(r["meta"]["contender"], []).append(r)
    peaks = {}
    for c, rs in by.items():
        peaks[c] = median([max(merged_bytes(r, s) for s in r["samples"]) for r in rs])
    best_c = max(peaks, key=lambda c: peaks[c]) if peaks else None
    best = peaks[best_c] if best_c else 0
    per_run = [run_metrics(r, best) for r in runs]
    contenders = sorted(by, key=contender_rank)
    table = {}
    for c in contenders:
        ms = [m for m in per_run if m["contender"] == c]
        table[c] = {k: summary([m[k] for m in ms]) for k in
                    ("t90_s", "cpu_per_gib", "peak_swap_mib", "final_gib", "ksmd_cpu_s", "fill_s", "host_saved_gib",
                     "pswpout_mib")}
        table[c]["runs"] = len(ms)
    window = window_s(runs[0]) if runs else 0
    return {
        "runs": runs,
        "per_run": per_run,
        "contenders": contenders,
        "table": table,
        "best_bytes": best,
        "best_contender": best_c,
        "window_s": window,
        "curves": {c: curves(by[c]) for c in contenders},
        "targets": targets(table, window),
    }


def curve_at(run, key_fn, xs, origin=None):
    """Values of key_fn at each x (s since filled, or since origin): the
    last sample at or before it."""
    tf = t_filled(run) if origin is None else origin
    samples = run["samples"]
    out, j = [], 0
    for x in xs:
        while j + 1 < len(samples) and samples[j + 1]["t"] - tf <= x + 1e-9:
            j += 1
        s = samples[j]
        if s["t"] - tf > x + 1e-9 or x - (s["t"] - tf) > 2.5:
            out.append(None)
        else:
            out.append(key_fn(s, j))
    return out


def cpu_pct_fn(run, span=10):
    samples = run["samples"]

    def f(s, j):
        k = max(0, j - span)
        dt = samples[j]["t"] - samples[k]["t"]
        if dt <= 0:
            return 0.0
        return 100.0 * ((samples[j].get("ksmd_cpu_s") or 0) - (samples[k].get("ksmd_cpu_s") or 0)) / dt
    return f


def band(values_per_run):
    med, lo, hi = [], [], []
    for vals in zip(*values_per_run):
        v = [x for x in vals if x is not None]
        if not v:
            med.append(None)
            lo.append(None)
            hi.append(None)
        else:
            med.append(median(v))
            lo.append(min(v))
            hi.append(max(v))
    return {"median": med, "min": lo, "max": hi}


def curves(rs):
    start = -int(math.ceil(max(t_filled(r) for r in rs)))
    end = int(max(r["samples"][-1]["t"] - t_filled(r) for r in rs))
    xs = list(range(start, end + 1))
    mer = [curve_at(r, lambda s, j, r=r: merged_bytes(r, s) / GIB, xs) for r in rs]
    sav = [curve_at(r, lambda s, j, r=r: saved_bytes(r, s) / GIB, xs) for r in rs]
    cpu = [curve_at(r, cpu_pct_fn(r), xs) for r in rs]
    return {"x": xs, "merged_gib": band(mer), "saved_gib": band(sav), "ksmd_cpu_pct": band(cpu)}


def targets(table, window):
    """The issue's targets: ksmvirtd against ksmtuned."""
    v, t = table.get("ksmvirtd"), table.get("ksmtuned")
    if not v or not t:
        return []
    out = []
    tv, tt = v["t90_s"]["median"], t["t90_s"]["median"]
    if math.isinf(tv):
        ok, how = False, "ksmvirtd never reached 90%% of best in %d s" % window
    elif math.isinf(tt):
        ok = 3 * tv <= window
        how = "ksmvirtd %.0f s, ksmtuned never within %d s (ratio > %.1fx)" % (
            tv, window, window / max(tv, 1.0))
    else:
        ok = 3 * tv <= tt
        how = "ksmvirtd %.0f s, ksmtuned %.0f s (%.1fx)" % (tv, tt, tt / max(tv, 1.0))
    out.append(("90% of the best merged >= 3x sooner than ksmtuned", ok, how))
    cv, ct = v["cpu_per_gib"], t["cpu_per_gib"]
    if cv and ct:
        out.append(("ksmd CPU-seconds per GiB merged <= ksmtuned's",
                    cv["median"] <= ct["median"],
                    "ksmvirtd %.1f, ksmtuned %.1f" % (cv["median"], ct["median"])))
    elif cv:
        out.append(("ksmd CPU-seconds per GiB merged <= ksmtuned's", True,
                    "ksmvirtd %.1f, ksmtuned saved (almost) nothing" % cv["median"]))
    sv, st = v["peak_swap_mib"], t["peak_swap_mib"]
    out.append(("peak swap <= ksmtuned's", sv["median"] <= st["median"],
                "ksmvirtd %.0f MiB, ksmtuned %.0f MiB" % (sv["median"], st["median"])))
    return out


# ---------------------------------------------------------------- Markdown

def fmt_num(x, window, unit_fmt):
    if x is None:
        return "n/a"
    if math.isinf(x):
        return "> %d" % window
    return unit_fmt % x


def fmt_summary(s, window, unit_fmt):
    if s is None:
        return "n/a"
    med = fmt_num(s["median"], window, unit_fmt)
    if s["n"] == 1:
        return med
    return "%s (%s - %s)" % (med, fmt_num(s["min"], window, unit_fmt),
                             fmt_num(s["max"], window, unit_fmt))


def markdown(res, figures=None):
    w = res["window_s"]
    out = []
    first = res["runs"][0]["meta"] if res["runs"] else {}
    cfg = first.get("config", {})
    planned = len(cfg.get("contenders", "").split(",")) * cfg.get("reps", 0)
    out.append("Runs finished: %d of %d planned (%s)." % (
        len(res["runs"]), planned,
        ", ".join("%s x%d" % (c, res["table"][c]["runs"]) for c in res["contenders"])))
    out.append("")
    out.append("Best (median peak of the guests' merged memory, best contender %s): %.2f GiB; "
               "90%% of it: %.2f GiB.  Window: %d s after every guest filled.  "
               "Values: median (min - max) over the runs." % (
                   res["best_contender"], res["best_bytes"] / GIB, 0.9 * res["best_bytes"] / GIB, w))
    out.append("")
    out.append("| contender | runs | time to 90% of best, s | ksmd CPU-s per GiB merged | "
               "peak swap, MiB | final merged, GiB | host-wide saved at the end, GiB | ksmd CPU-s | "
               "guests filled after, s |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for c in res["contenders"]:
        t = res["table"][c]
        out.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            LABEL.get(c, c), t["runs"], fmt_summary(t["t90_s"], w, "%.0f"),
            fmt_summary(t["cpu_per_gib"], w, "%.1f"), fmt_summary(t["peak_swap_mib"], w, "%.0f"),
            fmt_summary(t["final_gib"], w, "%.2f"), fmt_summary(t["host_saved_gib"], w, "%.2f"),
            fmt_summary(t["ksmd_cpu_s"], w, "%.1f"),
            fmt_summary(t["fill_s"], w, "%.0f")))
    out.append("")
    if res["targets"]:
        out.append("Targets (ksmvirtd against ksmtuned, medians):")
        out.append("")
        for what, ok, how in res["targets"]:
            out.append("- %s: **%s** (%s)" % (what, "PASS" if ok else "FAIL", how))
        out.append("")
    if figures is not None:
        out.append("![the guests' merged memory over time](%s/overcommit-savings.svg)" % figures)
        out.append("")
        out.append("![host-wide savings over time](%s/overcommit-host-saved.svg)" % figures)
        out.append("")
        out.append("![ksmd CPU over time](%s/overcommit-ksmd-cpu.svg)" % figures)
        out.append("")
    out.append("Every run:")
    out.append("")
    out.append("| run | t90, s | final merged, GiB | host saved, GiB | ksmd CPU-s | CPU-s/GiB | peak swap, MiB | "
               "min MemAvailable, MiB | max PSI some avg10 | hog, MiB | filled after, s | "
               "lock wait, s | load at start | other QEMUs |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for m in res["per_run"]:
        out.append("| %s-%d | %s | %.2f | %.2f | %.1f | %s | %.0f | %.0f | %.1f | %s | %.0f | %s | %s | %s |" % (
            m["contender"], m["rep"], fmt_num(m["t90_s"], w, "%.0f"), m["final_gib"], m["host_saved_gib"],
            m["ksmd_cpu_s"], fmt_num(m["cpu_per_gib"], w, "%.1f"), m["peak_swap_mib"],
            m["min_avail_mib"], m["max_psi_some"], m["hog_mib"], m["fill_s"] or 0,
            m["lock_wait_s"], " ".join(m["loadavg"] or []), m["other_qemu"]))
    out.append("")
    return "\n".join(out) + "\n"


def replace_section(doc, md, name="overcommit"):
    """doc with the text between the markers <!-- NAME:begin --> and
    <!-- NAME:end --> replaced by md; None without markers."""
    begin, end = "<!-- %s:begin -->" % name, "<!-- %s:end -->" % name
    a, b = doc.find(begin), doc.find(end)
    if a < 0 or b < a:
        return None
    return doc[:a + len(begin)] + "\n" + md + doc[b:]


# ---------------------------------------------------------------- pressure

def event_t(run, what):
    for e in run["events"]:
        if e.get("what") == what:
            return e
    return None


def pressure_metrics(run):
    """Figures of one pressure run: swap-out under per-guest budgets, then
    every guest's RAM read back (swap-in), then KSM recovering."""
    samples = run["samples"]
    ps = page_size(run)
    merged = event_t(run, "merged")
    so = event_t(run, "swap-out start")
    si = event_t(run, "swap-in start")
    sid = event_t(run, "swap-in done")
    rec = event_t(run, "recovered")
    cfg = run["meta"]["config"]

    def at(t):
        best = samples[0]
        for s in samples:
            if s["t"] <= t:
                best = s
        return best

    def after(t):
        for s in samples:
            if s["t"] >= t:
                return s
        return samples[-1]

    if not (merged and so and si and sid):
        return None
    s_so, s_si, s_sid = at(so["t"]), at(si["t"]), after(sid["t"])
    swap0 = samples[0].get("swap_used_kib") or 0
    in_swapin = [s for s in samples if s["t"] >= si["t"]]
    return {
        "contender": run["meta"]["contender"],
        "rep": run["meta"]["rep"],
        "merged_mib": merged["sharing_pages"] * ps / float(1 << 20),
        "peak_swap_mib": max(0, max((s.get("swap_used_kib") or 0) for s in samples) - swap0) / 1024.0,
        "pswpout_mib": ((s_si.get("pswpout") or 0) - (s_so.get("pswpout") or 0)) * ps / float(1 << 20),
        "pswpin_mib": ((samples[-1].get("pswpin") or 0) - (s_si.get("pswpin") or 0)) * ps / float(1 << 20),
        "ksm_swpin_copy": (samples[-1].get("ksm_swpin_copy") or 0) - (s_si.get("ksm_swpin_copy") or 0),
        "sharing_after_swapout_mib": event_t(run, "swap-out done")["sharing_pages"] * ps / float(1 << 20),
        "sharing_after_swapin_mib": sid["sharing_pages"] * ps / float(1 << 20),
        "sharing_min_mib": min(saved_bytes(run, s) for s in samples if s["t"] >= so["t"]) / float(1 << 20),
        "guests_merged_before_mib": merged_bytes(run, s_so) / float(1 << 20),
        "recovery_by": "guests" if "merged_pages" in merged else "host",
        "guests_merged_min_mib": min(merged_bytes(run, s) for s in samples if s["t"] >= so["t"]) / float(1 << 20),
        "guests_merged_end_mib": merged_bytes(run, samples[-1]) / float(1 << 20),
        "rss_before_mib": (s_so.get("guests_rss_kib") or 0) / 1024.0,
        "rss_after_swapin_mib": (s_sid.get("guests_rss_kib") or 0) / 1024.0,
        "peak_rss_mib": max((s.get("guests_rss_kib") or 0) for s in in_swapin) / 1024.0 if in_swapin else 0,
        "min_avail_mib": min((s.get("mem_available_kib") or 0) for s in samples) / 1024.0,
        "max_psi_full": max((s.get("psi_full_avg10") or 0.0) for s in samples),
        "swapin_s": sid["t"] - si["t"],
        "recover_s": rec["t"] - si["t"] if rec else math.inf,
        "recover_window_s": cfg["recover_s"],
        "ksmd_cpu_recover_s": (samples[-1].get("ksmd_cpu_s") or 0) - (s_si.get("ksmd_cpu_s") or 0),
    }


def pressure_curves(runs):
    """Per contender: the guests' merged GiB against seconds since the
    swap-in started (median and min-max of the runs)."""
    by = {}
    for r in runs:
        si = event_t(r, "swap-in start")
        if si and pressure_metrics(r):
            by.setdefault(r["meta"]["contender"], []).append((r, si["t"]))
    if not by:
        return None
    start = -int(max(r["meta"]["config"]["swapout_s"] for rs in by.values() for r, _ in rs)) - 30
    end = int(max(r["samples"][-1]["t"] - t0 for rs in by.values() for r, t0 in rs))
    xs = list(range(start, end + 1))
    out = []
    for c in sorted(by, key=contender_rank):
        vals = [curve_at(r, lambda s_, j, r=r: merged_bytes(r, s_) / GIB, xs, origin=t0)
                for r, t0 in by[c]]
        # A run ends a few seconds after it recovered: it holds its last
        # value, so the median does not fall back to the slower runs.
        for v in vals:
            last = max((i for i, y in enumerate(v) if y is not None), default=None)
            for i in range(last + 1 if last is not None else len(v), len(v)):
                v[i] = v[last]
        out.append((LABEL.get(c, c), COLOR.get(c, "#000"), xs, band(vals)))
    return out


def svg_pressure(runs):
    series = pressure_curves(runs)
    if not series:
        return None
    return svg_plot("The guests' merged memory around the swap-in (median and min-max of the runs)",
                    "GiB merged", "seconds since the swap-in started (negative: limits on, swap-out)",
                    series)


def pressure_markdown(runs, figures=None):
    ms = [m for m in (pressure_metrics(r) for r in runs) if m]
    if not ms:
        return "No finished pressure runs.\n"
    cfg = runs[0]["meta"]["config"]
    out = ["Pressure runs finished: %d (%s).  %d guests of %d MiB; merge phase %s; per-guest memory cgroup "
           "limit %d MiB during the swap-out phase (%d s), swap file %d MiB; swap-in = every "
           "guest's RAM read back through /proc/PID/mem; recovery = %s back at 90%% of its level "
           "before the swap-out, within %d s of the swap-in start.  Kernel %s." % (
               len(ms), ", ".join("%s-%d" % (m["contender"], m["rep"]) for m in ms), cfg["guests"],
               cfg["guest_mib"],
               ("at least %d s after the fill for every contender" % cfg["merge_min_s"])
               if cfg.get("merge_min_s") else "until merging stopped (its length differs by contender)",
               cfg["budget_mib"], cfg["swapout_s"], cfg["swap_mib"],
               "the guests' merged memory" if all(m["recovery_by"] == "guests" for m in ms) else
               "host-wide savings (pages_sharing + ksm_zero_pages; other users included)",
               cfg["recover_s"], runs[0]["meta"].get("kernel")), ""]
    out.append("Per contender, median (min - max) over its runs:")
    out.append("")
    out.append("| contender | runs | guests merged before swap-out, MiB | peak swap, MiB | "
               "guests' peak RSS after swap-in, MiB | ksm_swpin_copy | "
               "sharing recovered after, s | ksmd CPU-s from swap-in to the end |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for c in sorted({m["contender"] for m in ms}, key=contender_rank):
        cm = [m for m in ms if m["contender"] == c]

        def col(key, f="%.0f"):
            return fmt_summary(summary([m[key] for m in cm]), cfg["recover_s"], f)
        out.append("| %s (%s) | %d | %s | %s | %s | %s | %s | %s |" % (
            c, LABEL.get(c, c), len(cm), col("guests_merged_before_mib"), col("peak_swap_mib"),
            col("peak_rss_mib"), col("ksm_swpin_copy"), col("recover_s"),
            col("ksmd_cpu_recover_s", "%.1f")))
    out.append("")
    if figures is not None:
        out.append("![the guests' merged memory around the swap-in](%s/pressure-recovery.svg)" % figures)
        out.append("")
    out.append("Every run:")
    out.append("")
    out.append("| run | host saved before, MiB | guests merged before / lowest / end, MiB | swapped out, MiB | peak swap, MiB | "
               "host saved after swap-out / lowest, MiB | "
               "swapped in, MiB | ksm_swpin_copy | guests RSS before / after swap-in / peak, MiB | "
               "min MemAvailable, MiB | max PSI full | swap-in read, s | sharing recovered after, s | "
               "ksmd CPU-s meanwhile |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for m in ms:
        out.append("| %s-%d (%s) | %.0f | %.0f / %.0f / %.0f | %.0f | %.0f | %.0f / %.0f | %.0f | %d | %.0f / %.0f / %.0f | %.0f | %.1f | "
                   "%.1f | %s | %.1f |" % (
                       m["contender"], m["rep"], LABEL.get(m["contender"], m["contender"]),
                       m["merged_mib"], m["guests_merged_before_mib"], m["guests_merged_min_mib"],
                       m["guests_merged_end_mib"], m["pswpout_mib"], m["peak_swap_mib"],
                       m["sharing_after_swapout_mib"], m["sharing_min_mib"], m["pswpin_mib"],
                       m["ksm_swpin_copy"],
                       m["rss_before_mib"], m["rss_after_swapin_mib"], m["peak_rss_mib"],
                       m["min_avail_mib"], m["max_psi_full"], m["swapin_s"],
                       fmt_num(m["recover_s"], m["recover_window_s"], "%.0f"), m["ksmd_cpu_recover_s"]))
    out.append("")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- SVG

def esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def nice_step(span, n=6):
    if span <= 0:
        return 1.0
    raw = span / float(n)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def svg_plot(title, ylabel, xlabel, series, width=800, height=380):
    """series: list of (label, colour, xs, band dict median/min/max)."""
    ml, mr, mt, mb = 64, 16, 34, 96
    pw, ph = width - ml - mr, height - mt - mb
    xs_all = [x for _, _, xs, _ in series for x in xs]
    ys_all = [y for _, _, _, b in series for k in ("max", "median") for y in b[k] if y is not None]
    x0, x1 = (min(xs_all), max(xs_all)) if xs_all else (0, 1)
    if x1 <= x0:
        x1 = x0 + 1
    y1 = max(ys_all) if ys_all else 1.0
    y1 = y1 * 1.05 if y1 > 0 else 1.0
    y0 = 0.0

    def px(x):
        return ml + (x - x0) * pw / float(x1 - x0)

    def py(y):
        return mt + ph - (y - y0) * ph / float(y1 - y0)

    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
         'font-family="sans-serif" font-size="12">' % (width, height, width, height),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="20" font-size="14" font-weight="bold">%s</text>' % (ml, esc(title))]
    step = nice_step(y1 - y0)
    y = 0.0
    while y <= y1 + 1e-9:
        o.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>' % (ml, py(y), ml + pw, py(y)))
        o.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (ml - 6, py(y) + 4, ("%g" % round(y, 6))))
        y += step
    step = nice_step(x1 - x0, 8)
    x = math.ceil(x0 / step) * step
    while x <= x1 + 1e-9:
        o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (px(x), mt, px(x), mt + ph))
        o.append('<text x="%.1f" y="%d" text-anchor="middle">%g</text>' % (px(x), mt + ph + 16, x))
        x += step
    if x0 < 0 < x1:
        o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#444" stroke-dasharray="4,3"/>' % (
            px(0), mt, px(0), mt + ph))
    o.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>' % (ml, mt, pw, ph))
    o.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (ml + pw / 2.0, mt + ph + 34, esc(xlabel)))
    o.append('<text transform="translate(16,%.1f) rotate(-90)" text-anchor="middle">%s</text>' % (
        mt + ph / 2.0, esc(ylabel)))
    for label, colour, xs, b in series:
        # min-max band, then the median line; gaps where no run has data.
        seg = []
        for i, x in enumerate(xs):
            if b["min"][i] is None:
                if seg:
                    o.append(band_poly(seg, px, py, colour))
                seg = []
            else:
                seg.append((x, b["min"][i], b["max"][i]))
        if seg:
            o.append(band_poly(seg, px, py, colour))
        pts, paths = [], []
        for i, x in enumerate(xs):
            if b["median"][i] is None:
                if pts:
                    paths.append(pts)
                pts = []
            else:
                pts.append("%.1f,%.1f" % (px(x), py(b["median"][i])))
        if pts:
            paths.append(pts)
        for p in paths:
            o.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (colour, " ".join(p)))
    lx, ly = ml, mt + ph + 58
    for label, colour, _, _ in series:
        w = 30 + 7 * len(label)
        if lx + w > width - mr and lx > ml:
            lx, ly = ml, ly + 16
        o.append('<rect x="%d" y="%d" width="14" height="4" fill="%s"/>' % (lx, ly - 4, colour))
        o.append('<text x="%d" y="%d">%s</text>' % (lx + 18, ly, esc(label)))
        lx += w
    o.append('</svg>')
    return "\n".join(o) + "\n"


def band_poly(seg, px, py, colour):
    up = ["%.1f,%.1f" % (px(x), py(hi)) for x, _, hi in seg]
    down = ["%.1f,%.1f" % (px(x), py(lo)) for x, lo, _ in reversed(seg)]
    return '<polygon fill="%s" fill-opacity="0.15" stroke="none" points="%s"/>' % (colour, " ".join(up + down))


def series_of(res, key):
    out = []
    for c in res["contenders"]:
        cv = res["curves"][c]
        out.append((LABEL.get(c, c), COLOR.get(c, "#000"), cv["x"], cv[key]))
    return out


def svg_savings(res):
    return svg_plot("The guests' memory merged by KSM (median and min-max of the runs)", "GiB merged",
                    "seconds since every guest filled its memory (negative: guests filling)",
                    series_of(res, "merged_gib"))


def svg_host_saved(res):
    return svg_plot("Host-wide KSM savings, pages_sharing + ksm_zero_pages (other users included)",
                    "GiB saved", "seconds since every guest filled its memory (negative: guests filling)",
                    series_of(res, "saved_gib"))


def svg_cpu(res):
    return svg_plot("ksmd CPU (10 s average; median and min-max of the runs)", "% of one core",
                    "seconds since every guest filled its memory (negative: guests filling)",
                    series_of(res, "ksmd_cpu_pct"))

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/overcommit's command and its run frame without a host: --help,
the guests of a run, when a guest has filled, a run's JSON lines file
(finished or aborted, cleaned up either way) with KSM, the lock and libvirt
replaced by fakes, and the /proc parsers it samples with.  Fast."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "pylib"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
from ksmvirt_test import TOP  # noqa: E402
from ksmvirt_test.ksm import parse_ksm_stat  # noqa: E402
from ksmvirt_test.procfs import Psi, parse_meminfo, parse_psi, parse_vmstat  # noqa: E402
from ksmvirt_test.tap import Tap  # noqa: E402
import overcommit as O  # noqa: E402


class FakeLock:
    waited_s = 1.25

    def __init__(self, on_wait=None):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def fake_host(calls):
    """Replaces what touches the host with recorders."""
    O.KsmLock = FakeLock
    O.ksm_save = lambda knobs: calls.append("save") or {"run": "0"}
    O.ksm_put_back = lambda saved: calls.append("restore %s" % saved)
    O.destroy_guests = lambda prefix: calls.append("destroy " + prefix)
    O.log = lambda msg: None


def lines(path):
    with open(path) as f:
        return [json.loads(x) for x in f]


def main():
    t = Tap()
    r = subprocess.run([os.path.join(TOP, "bench", "overcommit"), "--help"], capture_output=True, text=True)
    t.ok(r.returncode == 0 and all(c in r.stdout for c in ("run", "report", "pressure", "cleanup")),
         "bench/overcommit --help lists the commands")
    r = subprocess.run([os.path.join(TOP, "bench", "overcommit"), "nosuch"], capture_output=True, text=True)
    t.ok(r.returncode == 2, "bench/overcommit with an unknown command exits 2")

    cfg = {"guests": 3, "prefix": "kvb-t", "fill_mib": 320, "unique_mib": 64, "guest_mib": 512,
           "reps": 1, "contenders": "none"}
    specs = O.guest_specs(cfg)
    t.ok([g.name for g in specs] == ["kvb-t-1", "kvb-t-2", "kvb-t-3"], "guests named PREFIX-N")
    t.ok([(g.fill, g.fill_mib, g.unique_mib) for g in specs] ==
         [("same", 320, 64), ("same", 320, 64), ("zero", 384, 0)],
         "N-1 guests with identical and unique content, the last filling zeros")
    t.ok(specs[0].meta() == {"name": "kvb-t-1", "fill": "same", "fill_mib": 320, "unique_mib": 64},
         "a guest's meta record")

    with tempfile.TemporaryDirectory() as tmp:
        con = os.path.join(tmp, "kvb-t-1.console")
        with open(con, "w") as f:
            f.write("boot\nmemfill: filled 320 MiB\n")
        t.ok(not specs[0].filled(tmp), "one region of two filled: not filled")
        with open(con, "a") as f:
            f.write("memfill: filled 64 MiB\n")
        t.ok(specs[0].filled(tmp), "both regions filled: filled")
        with open(os.path.join(tmp, "kvb-t-3.console"), "w") as f:
            f.write("memfill: filled 384 MiB\n")
        t.ok(specs[2].filled(tmp), "the zero guest fills one region")
        t.ok(not specs[1].filled(tmp), "no console yet: not filled")

        calls = []
        fake_host(calls)
        seen = {}

        def body_ok(run):
            seen["run"] = run
            run.emit_meta(100, 2000, {"MemTotal": 24 << 20}, scenario="test")
            run.emit({"type": "sample", "t": 1.0})

        os.makedirs(os.path.join(tmp, "runs"))
        path = os.path.join(tmp, "runs", "none-1.jsonl")
        ok = O.framed_run(cfg, "/rig", "none", 1, "none-1", os.path.join(tmp, "work", "none-1"), path,
                          body_ok)
        got = lines(path) if os.path.exists(path) else []
        t.ok(ok and not os.path.exists(path + ".part"), "a run that went well is renamed to .jsonl")
        t.ok([x["type"] for x in got] == ["meta", "sample", "end"] and got[-1]["status"] == "ok",
             "meta, samples, then an end line saying ok")
        meta = got[0] if got else {}
        t.ok(meta.get("contender") == "none" and meta.get("rep") == 1 and meta.get("lock_wait_s") == 1.2
             and meta.get("scenario") == "test" and len(meta.get("guests", [])) == 3
             and meta.get("config") == cfg, "the meta line: contender, rep, lock wait, guests, config")
        t.ok(calls == ["destroy kvb-t", "save", "destroy kvb-t", "restore {'run': '0'}"],
             "guests destroyed before and after, KSM saved and restored")
        t.ok(os.path.isdir(seen["run"].rundir), "the run's work directory exists")

        calls.clear()

        def body_abort(run):
            run.emit_meta(0, 2000, {"MemTotal": 1})
            raise O.Abort("guests not filled after 600 s")

        path = os.path.join(tmp, "runs", "none-2.jsonl")
        ok = O.framed_run(cfg, "/rig", "none", 2, "none-2", os.path.join(tmp, "work", "none-2"), path,
                          body_abort)
        got = lines(path + ".aborted") if os.path.exists(path + ".aborted") else []
        t.ok(not ok and not os.path.exists(path), "an aborted run is kept as .aborted")
        t.ok(got and got[-1]["status"] == "aborted" and got[-1]["why"] == "guests not filled after 600 s",
             "its end line says why")
        t.ok(calls[-1].startswith("restore"), "KSM restored after an abort")

        def body_signal(run):
            raise O.Abort("signal 15")

        try:
            O.framed_run(cfg, "/rig", "none", 3, "none-3", os.path.join(tmp, "work", "none-3"),
                         os.path.join(tmp, "runs", "none-3.jsonl"), body_signal)
            raised = False
        except O.Abort:
            raised = True
        t.ok(raised and os.path.exists(os.path.join(tmp, "runs", "none-3.jsonl.aborted")),
             "a signal aborts the run, then stops the benchmark")

        cfg["contenders"] = "none,kernel"
        done = []
        rc = O.run_all(cfg, "/rig", tmp, "runs", "run", lambda c, rig, cont, rep, out: done.append(cont) or True)
        t.ok(rc == 0 and done == ["kernel"], "run_all passes over finished runs")

    t.ok(parse_psi("some avg10=1.50 avg60=0.00 avg300=0.00 total=123\n"
                   "full avg10=0.25 avg60=0.00 avg300=0.00 total=45\n") ==
         {"some": Psi(1.5, 123), "full": Psi(0.25, 45)}, "PSI lines")
    t.ok(parse_meminfo("MemTotal:  100 kB\nMemAvailable:  40 kB\n") == {"MemTotal": 100, "MemAvailable": 40},
         "meminfo in KiB")
    t.ok(parse_vmstat("pswpin 3\nksm_swpin_copy 7\n") == {"pswpin": 3, "ksm_swpin_copy": 7}, "vmstat")
    t.ok(parse_ksm_stat("ksm_rmap_items 10\nksm_merging_pages 8\nksm_process_profit -4096\n"
                        "ksm_merge_any: no\n") ==
         {"ksm_rmap_items": 10, "ksm_merging_pages": 8, "ksm_process_profit": -4096, "ksm_merge_any": "no"},
         "ksm_stat: numbers and words")
    t.done()


if __name__ == "__main__":
    main()

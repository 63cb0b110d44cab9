#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End to end with real libvirtd and real TCG guests.
#
#  - three guests started with virsh fill 128 MiB with identical content,
#    a fourth has <memoryBacking><nosharepages/> and the same content;
#  - the hook (installed into libvirtd's qemu.d, talking to a private
#    ksmvirtd) registered all four by name and UUID;
#  - with KSM on at a fast rate, "ksmvirt report --json" shows per domain
#    name savings that agree with /proc/PID/ksm_stat; the nosharepages
#    guest has 0 merged pages and is flagged merging_disabled;
#  - without libvirt, the report names the guests from the hook's registry;
#  - destroying a guest removes it from the report and marks it stopped in
#    the registry.
# Holds /run/lock/ksmvirt-ksm.lock while KSM settings are changed and
# restores them; destroys its guests and stops what it started.
# Exit status: 0 pass, 1 fail, 77 when the machine cannot run it.
set -uo pipefail
top=${KSMVIRT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
rig_dir=$top/tests/rig
hook=$top/build/libvirt-hooks/ksmvirt-hook
daemon=$top/build/ksmvirtd
ksmvirt=$top/build/ksmvirt

fill_mib=128
guest_mib=256
boot_timeout_s=300
merge_timeout_s=420   # another user of KSM on the host slows every full scan
prefix=ksmvirt-e2e-$$
names=("$prefix-a" "$prefix-b" "$prefix-c")
nsp=$prefix-nsp

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*"; }

[ "$(id -u)" = 0 ] || skip "needs root (libvirtd, KSM)"
[ -d /sys/kernel/mm/ksm ] || skip "no KSM in this kernel"
[ -e /proc/self/ksm_stat ] || skip "no /proc/PID/ksm_stat in this kernel"
{ command -v libvirtd && command -v virsh; } >/dev/null || skip "libvirt not installed: scripts/install-deps hooks"
for f in "$hook" "$daemon" "$ksmvirt"; do [ -x "$f" ] || fail "missing $f: run make"; done

work=$(mktemp -d /tmp/ksmvirt-e2e.XXXXXX)
chmod 755 "$work"
state=$work/state
sock=$work/ksmvirtd.sock
hook_link=/etc/libvirt/hooks/qemu.d/90-ksmvirt-e2e-$$
ksm_saved=$work/ksm.saved
daemon_pid=
lock_fd=

cleanup() {
	local n
	for n in "${names[@]}" "$nsp"; do
		virsh -q destroy "$n" >/dev/null 2>&1
	done
	if [ -n "$lock_fd" ]; then
		"$rig_dir/ksm-ctl" restore "$ksm_saved" || echo "WARNING: KSM settings not restored: $(cat "$ksm_saved")"
	fi
	if [ -e "$hook_link" ]; then
		rm -f "$hook_link"
		"$rig_dir/libvirtd-ctl" status && "$rig_dir/libvirtd-ctl" hup >/dev/null
	fi
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	KSMVIRT_RUN_DIR=$work "$rig_dir/libvirtd-ctl" stop
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

log "building the guest rig"
rig=$("$rig_dir/build-rig" -q) || fail "build-rig failed"
log "rig: $rig ($(cat "$rig/VERSION"))"

# libvirtd (only stopped at the end if this test started it).
KSMVIRT_RUN_DIR=$work "$rig_dir/libvirtd-ctl" start || fail "libvirtd does not start"

# A private ksmvirtd, and the hook registered with libvirtd through a
# wrapper that points it there (libvirtd gives hooks a clean environment).
"$daemon" --no-balance --socket "$sock" --state-dir "$state" --verbose >"$work/ksmvirtd.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || fail "ksmvirtd did not start: $(cat "$work/ksmvirtd.log")"
mkdir -p "$(dirname "$hook_link")"
cat >"$hook_link" <<HOOK
#!/bin/sh
KSMVIRT_SOCKET='$sock' KSMVIRT_STATE_DIR='$state' exec '$hook' "\$@"
HOOK
chmod 755 "$hook_link"
"$rig_dir/libvirtd-ctl" hup || fail "libvirtd does not come back after SIGHUP"

# Four guests: a, b, c identical; nsp identical content but no merging.
mkdir -p "$work/console"
chmod 777 "$work/console"
declare -A uuid
i=0
for n in "${names[@]}" "$nsp"; do
	i=$((i + 1))
	uuid[$n]=$(printf 'e2e00000-0000-4000-8000-%012d' "$(( $$ * 10 + i ))")
	opts=()
	[ "$n" = "$nsp" ] && opts=(--nosharepages)
	"$rig_dir/mkdomain" --name "$n" --uuid "${uuid[$n]}" --rig "$rig" \
		--memory-mib "$guest_mib" --fill same --fill-mib "$fill_mib" --seed 42 \
		--policy "group=e2e priority=$i" --console "$work/console/$n.log" "${opts[@]}" \
		>"$work/$n.xml" || fail "mkdomain $n"
	virsh -q create "$work/$n.xml" >/dev/null || fail "virsh create $n failed"
done
log "started ${names[*]} $nsp"

t0=$SECONDS
for n in "${names[@]}" "$nsp"; do
	while ! grep -q "memfill: filled $fill_mib MiB" "$work/console/$n.log" 2>/dev/null; do
		[ $((SECONDS - t0)) -lt "$boot_timeout_s" ] || fail "$n did not fill its memory in ${boot_timeout_s} s: $(tail -n 5 "$work/console/$n.log" 2>&1)"
		sleep 2
	done
done
log "all guests filled $fill_mib MiB after $((SECONDS - t0)) s"
for n in "${names[@]}" "$nsp"; do
	grep -q "balloon driver loaded" "$work/console/$n.log" || fail "$n: no balloon driver"
done

# The hook registered every guest, by name and UUID, with its facts.
check_registry() {
	python3 - "$state/registry.json" "$1" <<'PY'
import json, sys, time
path, want = sys.argv[1], json.loads(sys.argv[2])
for _ in range(100):
    try:
        reg = {g["uuid"]: g for g in json.load(open(path))["guests"]}
    except (OSError, ValueError):
        reg = {}
    bad = [u for u, (name, state, nsp) in want.items()
           if u not in reg or reg[u]["name"] != name or reg[u]["state"] != state
           or (reg[u]["facts"] or {}).get("merging_disabled") != nsp]
    if not bad:
        sys.exit(0)
    time.sleep(0.1)
for u in bad:
    print("registry: want %s %s, have %s" % (u, want[u], json.dumps(reg.get(u))[:400]))
sys.exit(1)
PY
}
want="{"
for n in "${names[@]}" "$nsp"; do
	[ "$n" = "$nsp" ] && d=true || d=false
	want+="\"${uuid[$n]}\": [\"$n\", \"running\", $d],"
done
want="${want%,}}"
check_registry "$want" || fail "the hook did not register all guests; ksmvirtd log: $(tail -n 20 "$work/ksmvirtd.log")"
for op in prepare start started; do
	grep -q "event: $prefix-a $op begin" "$work/ksmvirtd.log" || fail "ksmvirtd saw no '$op' for $prefix-a"
done
log "registry: all four guests running, names and UUIDs match"

# KSM on, fast, under the host-wide KSM lock.
exec {lock_fd}>/run/lock/ksmvirt-ksm.lock
log "waiting for /run/lock/ksmvirt-ksm.lock"
flock -w 900 "$lock_fd" || fail "could not take /run/lock/ksmvirt-ksm.lock in 900 s"
"$rig_dir/ksm-ctl" save "$ksm_saved" || fail "cannot save KSM settings"
"$rig_dir/ksm-ctl" set advisor_mode=none pages_to_scan=5000 sleep_millisecs=10 run=1 || fail "cannot enable KSM"
log "KSM on: $("$rig_dir/ksm-ctl" show)"

qemu_pid() { cat "/run/libvirt/qemu/$1.pid" 2>/dev/null; }
merging_pages() { awk '/^ksm_merging_pages/ {print $2}' "/proc/$1/ksm_stat" 2>/dev/null; }
fill_pages=$((fill_mib * 256))
t0=$SECONDS
while :; do
	line=""
	done_all=1
	for n in "${names[@]}"; do
		m=$(merging_pages "$(qemu_pid "$n")")
		line+=" ${n##*-}=${m:-?}"
		[ "${m:-0}" -ge $((fill_pages * 9 / 10)) ] || done_all=0
	done
	log "merging pages:$line (want >= $((fill_pages * 9 / 10)) each)"
	[ "$done_all" = 1 ] && break
	[ $((SECONDS - t0)) -lt "$merge_timeout_s" ] || fail "KSM did not merge 90% of the filled memory in ${merge_timeout_s} s"
	sleep 5
done

# The report: by domain name, consistent with /proc/PID/ksm_stat.
"$ksmvirt" report --json --interval 0 >"$work/report.json" 2>"$work/report.err" ||
	fail "ksmvirt report failed: $(cat "$work/report.err")"
declare -A pids
for n in "${names[@]}" "$nsp"; do pids[$n]=$(qemu_pid "$n"); done
python3 - "$work/report.json" "$fill_mib" "$nsp" "${names[@]}" -- \
	"$(for n in "${names[@]}" "$nsp"; do printf '%s=%s=%s ' "$n" "${pids[$n]}" "${uuid[$n]}"; done)" <<'PY' || fail "report check failed"
import json, sys
report_path, fill_mib, nsp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
names = sys.argv[4:sys.argv.index("--")]
info = dict((x.split("=")[0], x.split("=")[1:]) for x in sys.argv[-1].split())
r = json.load(open(report_path))
assert r["schema"] == "ksmvirt-report/1", r["schema"]
by_name = {g["name"]: g for g in r["guests"]}
page = r["host"]["page_size"]
ok = True
def check(cond, msg):
    global ok
    if not cond:
        ok = False
        print("FAIL:", msg)
def ksm_stat(pid):
    d = {}
    for line in open("/proc/%s/ksm_stat" % pid):
        k, v = line.split(None, 1)
        d[k] = v.strip()
    return d
for n in names + [nsp]:
    pid, uuid = info[n]
    g = by_name.get(n)
    check(g is not None, "%s not in the report (guests: %s)" % (n, sorted(by_name)))
    if g is None:
        continue
    check(str(g["pid"]) == pid, "%s: report pid %s, libvirt pid %s" % (n, g["pid"], pid))
    check(g.get("uuid") == uuid, "%s: report uuid %s, want %s" % (n, g.get("uuid"), uuid))
    check(g.get("source") == "libvirt", "%s: named by %s, want libvirt" % (n, g.get("source")))
    now = int(ksm_stat(pid)["ksm_merging_pages"])
    rep = int(g["ksm_stat"]["ksm_merging_pages"])
    print("%-28s pid %-7s merging %6d (proc now %6d) saved %5.1f MiB = %5.1f%% of the fill, disabled %s"
          % (n, pid, rep, now, g["saved_bytes"] / 2**20, 100.0 * g["saved_bytes"] / (fill_mib << 20),
             g["merging_disabled"]))
    if n == nsp:
        check(rep == 0 and now == 0, "%s: nosharepages guest has merged pages (%d, %d)" % (n, rep, now))
        check(g["merging_disabled"] is True, "%s: not flagged merging_disabled" % n)
        check(g["saved_bytes"] == 0, "%s: saves %d bytes" % (n, g["saved_bytes"]))
    else:
        # KSM keeps scanning while we read: allow 5% drift either way.
        check(abs(rep - now) <= max(64, now // 20), "%s: report says %d merging pages, /proc %d" % (n, rep, now))
        check(g["merging_disabled"] is False, "%s: wrongly flagged merging_disabled" % n)
        check(g["saved_bytes"] <= (rep + int(g["ksm_stat"].get("ksm_zero_pages", 0))) * page,
              "%s: saves more than its merged pages" % n)
        # Three identical guests: each saves about 2/3 of the fill.
        check(g["saved_bytes"] >= (fill_mib << 20) // 2,
              "%s: saves only %d bytes of %d MiB filled" % (n, g["saved_bytes"], fill_mib))
sys.exit(0 if ok else 1)
PY
log "report: savings per domain name agree with /proc/PID/ksm_stat; $nsp merges nothing"

# Without libvirt the report names the guests from the hook's registry.
"$ksmvirt" report --json --interval 0 --no-libvirt --registry "$state/registry.json" \
	>"$work/report-registry.json" 2>"$work/report.err" || fail "ksmvirt report --no-libvirt failed: $(cat "$work/report.err")"
python3 - "$work/report-registry.json" "$(for n in "${names[@]}" "$nsp"; do printf '%s=%s ' "$n" "${uuid[$n]}"; done)" <<'PY' || fail "registry naming failed"
import json, sys
want = dict(x.split("=") for x in sys.argv[2].split())
got = {g["uuid"]: g for g in json.load(open(sys.argv[1]))["guests"] if g.get("uuid")}
bad = 0
for name, uuid in want.items():
    g = got.get(uuid)
    if g is None or g["name"] != name or g["source"] != "registry":
        print("FAIL: %s (%s): %s" % (name, uuid, g and (g["name"], g["source"])))
        bad += 1
sys.exit(bad != 0)
PY
log "report --no-libvirt: all four guests named from the hook's registry"

# Destroying a guest: gone from the report, stopped in the registry.
gone=${names[1]}
virsh -q destroy "$gone" >/dev/null || fail "virsh destroy $gone"
want="{\"${uuid[$gone]}\": [\"$gone\", \"stopped\", false], \"${uuid[${names[0]}]}\": [\"${names[0]}\", \"running\", false]}"
check_registry "$want" || fail "registry does not show $gone stopped"
grep -q "event: $gone release end" "$work/ksmvirtd.log" || fail "no release event for $gone"
"$ksmvirt" report --json --interval 0 >"$work/report2.json" || fail "ksmvirt report failed"
python3 - "$work/report2.json" "$gone" "${names[0]}" <<'PY' || fail "$gone still reported after destroy"
import json, sys
names = [g["name"] for g in json.load(open(sys.argv[1]))["guests"]]
assert sys.argv[2] not in names, names
assert sys.argv[3] in names, names
PY
log "destroyed $gone: stopped in the registry, gone from the report"
echo "PASS"

# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Shared code of the hook contract tests: sourced, not run.
# Every test gets a private socket and state directory; nothing touches the
# system's /run/ksmvirt or /var/lib/ksmvirt.
set -u
top=${KSMVIRT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
hook=$top/build/libvirt-hooks/ksmvirt-hook
daemon=$top/build/ksmvirtd
mkdomain=$top/tests/rig/mkdomain
for f in "$hook" "$daemon"; do
	[ -x "$f" ] || { echo "missing $f: run make first"; exit 1; }
done

work=$(mktemp -d /tmp/ksmvirt-hooktest.XXXXXX)
export KSMVIRT_SOCKET=$work/ksmvirtd.sock
export KSMVIRT_STATE_DIR=$work/state
spool=$KSMVIRT_STATE_DIR/spool
registry=$KSMVIRT_STATE_DIR/registry.json
bg_pids=()

cleanup() {
	local p
	for p in "${bg_pids[@]+"${bg_pids[@]}"}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	# Hook children still waiting on a hung daemon may spool meanwhile.
	rm -rf "$work" 2>/dev/null || { sleep 3; rm -rf "$work"; }
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# domain_xml NAME [UUID] [mkdomain options...]: domain XML on stdout
domain_xml() {
	local name=$1 uuid=${2:-}
	shift 2 2>/dev/null || shift $#
	"$mkdomain" --name "$name" --rig /nonexistent ${uuid:+--uuid "$uuid"} "$@"
}

wait_socket() {
	local _
	for _ in $(seq 1 100); do
		[ -S "$KSMVIRT_SOCKET" ] && return 0
		sleep 0.1
	done
	fail "no socket at $KSMVIRT_SOCKET after 10 s"
}

# start_daemon: ksmvirtd in the background, logging to $work/ksmvirtd.log
start_daemon() {
	"$daemon" --no-balance --verbose >>"$work/ksmvirtd.log" 2>&1 &
	daemon_pid=$!
	bg_pids+=("$daemon_pid")
	wait_socket
}

stop_daemon() {
	kill "$daemon_pid" && wait "$daemon_pid" 2>/dev/null
	rm -f "$KSMVIRT_SOCKET"
}

# start_hung: a listener that accepts connections and never reads them
start_hung() {
	python3 - "$KSMVIRT_SOCKET" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1024)
held = []
while True:
    c, _ = s.accept()
    held.append(c)   # keep it open, never read, never answer
PY
	hung_pid=$!
	bg_pids+=("$hung_pid")
	wait_socket
}

spool_count() {
	find "$spool" -maxdepth 1 -name '*.event' 2>/dev/null | wc -l
}

# registry_query PYTHON-EXPR: evaluates EXPR with r = the registry object
# and g = {name: guest}; prints the result
registry_query() {
	python3 - "$registry" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
g = {x["name"]: x for x in r["guests"]}
print(eval(sys.argv[2]))
PY
}

# expect_registry PYTHON-EXPR WANT WHAT: the daemon writes the registry file
# shortly after acknowledging, so poll (up to 10 s) until EXPR prints WANT.
expect_registry() {
	local got _
	for _ in $(seq 1 100); do
		got=$(registry_query "$1" 2>/dev/null)
		[ "$got" = "$2" ] && return 0
		sleep 0.1
	done
	fail "$3: registry: $1 is '$got', want '$2'"
}

# now_us: microseconds of wall clock
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

#!/usr/bin/env bash
# make demo: the main job on the embedded default config.
#
# Builds mrzcpd and examples/flowcount, starts mrzcpd on its embedded default
# config (a net_pcap port replaying generated traffic as vdev vxe0) with its
# own DPDK file prefix and status dir, runs flowcount against it for a few
# seconds with live output, then stops what it started (by pid) and removes
# the daemon's hugepage files, runtime dir and status dir — also on Ctrl-C
# or when a step fails.
#
# Environment: DEMO_SECONDS (default 5), DEMO_THREADS (default 2),
# DEMO_KEEP=1 keeps the daemon's log and status dir for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$HOME/go/bin:$PATH

SECONDS_TO_RUN=${DEMO_SECONDS:-5}
THREADS=${DEMO_THREADS:-2}
PREFIX="gmdemo_$$"
BIN=bin
RUN_DIR=$(mktemp -d /tmp/gomarsio-demo.XXXXXX)
HUGE_DIR=/dev/hugepages
DAEMON_PID=""
APP_PID=""

say() { printf '\033[1mdemo:\033[0m %s\n' "$*"; }

stop_pid() { # pid name: SIGTERM, wait up to 10 s, then SIGKILL
	local pid=$1 name=$2
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	say "$name (pid $pid) did not stop on SIGTERM: SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_pid "$APP_PID" flowcount
	stop_pid "$DAEMON_PID" mrzcpd
	# The daemon removes these itself on a clean exit; make sure after a kill.
	rm -f "$HUGE_DIR/${PREFIX}"map_* 2>/dev/null || true
	rm -rf "/var/run/dpdk/$PREFIX"
	if [ "${DEMO_KEEP:-0}" = 1 ]; then
		say "kept $RUN_DIR (daemon log: $RUN_DIR/mrzcpd.log)"
	else
		rm -rf "$RUN_DIR"
	fi
	case $rc in
	0) ;;
	130 | 143) say "interrupted; stopped and cleaned up everything it started" ;;
	*) say "failed (exit $rc)" ;;
	esac
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "building mrzcpd and examples/flowcount into $BIN/"
mkdir -p "$BIN"
go build -o "$BIN/mrzcpd" ./tools/mrzcpd
go build -o "$BIN/flowcount" ./examples/flowcount

say "starting mrzcpd on its embedded default config (file prefix $PREFIX, status dir $RUN_DIR)"
"$BIN/mrzcpd" -default-config -run-dir "$RUN_DIR" -file-prefix "$PREFIX" >"$RUN_DIR/mrzcpd.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 600); do
	if [ -s "$RUN_DIR/mrmonit.daemon" ]; then break; fi
	if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		say "mrzcpd exited during start-up:"
		cat "$RUN_DIR/mrzcpd.log" >&2
		exit 1
	fi
	sleep 0.1
done
if [ ! -s "$RUN_DIR/mrmonit.daemon" ]; then
	say "mrzcpd not ready after 60 s:"
	cat "$RUN_DIR/mrzcpd.log" >&2
	exit 1
fi
say "mrzcpd ready (pid $DAEMON_PID)"
grep -E 'pool|port|ready' "$RUN_DIR/mrzcpd.log" | sed 's/^/    /' || true

say "running flowcount on vdev vxe0 for ${SECONDS_TO_RUN}s with $THREADS threads"
MRZCPD_RUN_DIR="$RUN_DIR" "$BIN/flowcount" -dev vxe0 -threads "$THREADS" -duration "${SECONDS_TO_RUN}s" &
APP_PID=$!
set +e
wait "$APP_PID"
app_rc=$?
set -e
APP_PID=""
if [ $app_rc -ne 0 ]; then
	say "flowcount failed (exit $app_rc); daemon log:"
	tail -20 "$RUN_DIR/mrzcpd.log" >&2
	exit $app_rc
fi
say "stopping mrzcpd"
stop_pid "$DAEMON_PID" mrzcpd
DAEMON_PID=""
tail -2 "$RUN_DIR/mrzcpd.log" | sed 's/^/    /'
say "done"

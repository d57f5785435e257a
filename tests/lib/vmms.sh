# shellcheck shell=bash
# Running vmms in a host-tier script. Source tests/lib/check.sh first; set T
# (a temp dir) and VMMS (the binary). start_vmms TAG [ARGS...] runs vmms in
# the foreground with its dirs under $T and sets VMMS_PID, U (read-write URI)
# and SOCK (the read-write socket); stop_vmms ends it.
start_vmms() {
	local tag=$1
	shift
	mkdir -p "$T/sock-$tag"
	"$VMMS" --state-dir "$T/state-$tag" --run-dir "$T/run-$tag" --socket-dir "$T/sock-$tag" \
		--foreground "$@" 2>>"$T/vmms-$tag.log" &
	VMMS_PID=$!
	SOCK=$T/sock-$tag/virtlinhvd-sock
	U="linhv:///system?socket=$SOCK"
	# Ready when it answers: a vmms killed before leaves its socket files.
	for _ in $(seq 100); do
		[ -S "$SOCK-ro" ] && virsh -q -r -c "$U-ro" uri >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
stop_vmms() {
	[ -n "${VMMS_PID:-}" ] || return 0
	kill "$VMMS_PID" 2>/dev/null
	wait "$VMMS_PID" 2>/dev/null
	VMMS_PID=""
}
# vmms_tier NAME: the set-up shared by the host tiers that run vmms with the
# test-worker fixture: BUILD_DIR, VMMS, FIXTURE, PY (a python3 that has
# libvirt), T (a fresh temp dir) and an EXIT trap that stops vmms, kills the
# workers left running, runs the tier's own VMMS_TIER_CLEANUP function if it
# set one, and removes T (VMMS_TEST_KEEP=1 keeps it).
vmms_tier() {
	BUILD_DIR=${BUILD_DIR:-build}
	VMMS=$BUILD_DIR/vmm/vmms/vmms
	FIXTURE=$BUILD_DIR/tests/vmms/vmms-test-worker
	PY=python3
	/usr/bin/python3 -c 'import libvirt' 2>/dev/null && PY=/usr/bin/python3
	T=$(mktemp -d "/tmp/vmms-$1.XXXXXX")
	VMMS_PID=""
	trap vmms_tier_cleanup EXIT
}
vmms_tier_cleanup() {
	stop_vmms
	kill_workers
	[ -n "${VMMS_TIER_CLEANUP:-}" ] && "$VMMS_TIER_CLEANUP"
	if [ -n "${VMMS_TEST_KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
# vmms_tier_built: a FAIL line, and false, when vmms or the fixture is not built.
vmms_tier_built() {
	[ -x "$VMMS" ] && [ -x "$FIXTURE" ] && return 0
	fail "vmms and the test-worker fixture built" "no $VMMS or $FIXTURE"
	return 1
}
# kill_workers: the workers still running under $T (by their pid files).
kill_workers() {
	for f in "$T"/run*/*.pid; do
		[ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
}
# vmms_domxml NAME KERNEL [ON_CRASH]: a minimal domain document.
vmms_domxml() {
	cat <<DOM
<domain type='linhv'>
  <name>$1</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>$2</kernel></os>
  <on_crash>${3:-destroy}</on_crash>
  <devices><console type='pty'/></devices>
</domain>
DOM
}

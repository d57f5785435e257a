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

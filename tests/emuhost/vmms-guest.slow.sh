#!/bin/sh
# Emulated-host tier: vmms acceptance with real guests. vmms runs the real vmwp
# on linhv.ko (--backend linhv); stock virsh and python3-libvirt manage Debian's
# stock kernel with a scripts/mkguest initramfs:
#   1. define / list / start / dominfo / dumpxml / console / shutdown (through
#      the shutdown IC) / start / destroy / undefine, from virsh and from
#      libvirt-python (tests/host/vmms_client.py lifecycle);
#   2. virsh -r reads but is refused define/start/destroy;
#   3. a missing kernel: clear error, no state change;
#   4. SIGKILL of one worker leaves the other domain running; SIGKILL of vmms
#      and a restart re-adopts the running domain, which then shuts down.
#   sh tests/emuhost/vmms-guest.slow.sh OUTDIR      (run inside scripts/emuhost)
. tests/lib/check.sh
check_expect 73

out=${1:-build/vmms-guest}
mkdir -p "$out"
out=$(cd "$out" && pwd)
VMMS=build/vmm/vmms/vmms
K=${LINHV_GUEST_KERNEL:-$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -n 1)}
PY=/usr/bin/python3
CLIENT=tests/host/vmms_client.py
BOOT_SECS=${VMMS_GUEST_BOOT_SECS:-90} # bound for a boot, and for a graceful shutdown
T=$(mktemp -d /tmp/vmms-guest.XXXXXX)
S=$T/state R=$T/run D=$T/sock
U="linhv:///system?socket=$D/virtlinhvd-sock"
RO="linhv:///system?socket=$D/virtlinhvd-sock-ro"
VMMS_PID=""
t_start=$(date +%s)
since() { echo $(($(date +%s) - t_start)); }

cleanup() {
	[ -n "$VMMS_PID" ] && kill -9 "$VMMS_PID" 2>/dev/null
	for f in "$R"/*.pid; do
		[ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	sleep 0.5
	cp "$T"/vmms*.log "$R"/*.log "$out"/ 2>/dev/null
}

start_vmms() {
	mkdir -p "$D"
	"$VMMS" --state-dir "$S" --run-dir "$R" --socket-dir "$D" --backend linhv \
		--foreground --verbose 2>>"$T/vmms.log" &
	VMMS_PID=$!
	# Ready when both sockets accept a client: after a SIGKILL of vmms the
	# old socket files are still there before the new vmms replaces them.
	i=0
	while [ $i -lt 100 ]; do
		if [ -S "$D/virtlinhvd-sock-ro" ] &&
			timeout 10 virsh -q -c "$RO" list --all >/dev/null 2>&1 &&
			timeout 10 virsh -q -c "$U" list --all >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}
v() { timeout 60 virsh -q -c "$U" "$@"; }
vv() { timeout 60 virsh -c "$U" "$@"; } # not quiet: "Domain 'x' started" etc.
# refused NAME PATTERN CMD...: CMD must fail and say PATTERN.
refused() {
	n=$1 pat=$2
	shift 2
	if "$@" >"$T/out" 2>&1; then
		fail "$n" "succeeded: $(head -c 300 "$T/out")"
	elif grep -qE -- "$pat" "$T/out"; then
		pass "$n"
	else
		fail "$n" "no '$pat' in: $(head -c 300 "$T/out")"
	fi
}
# wait_state NAME PATTERN SECS: waits until `domstate --reason` matches.
wait_state() {
	i=0
	while [ $i -lt $(($3 * 5)) ]; do
		v domstate --reason "$1" 2>/dev/null | grep -qE -- "$2" && return 0
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}
# console NAME LOG SECS: virsh console under a terminal (script(1); timeout(1)
# goes outside: inside, it would put virsh in a background process group, and
# virsh's switch to raw mode would stop it with SIGTTOU); types
# "echo PROBE-$((6*7))" every 2 s until the guest's shell answers PROBE-42,
# then leaves with Ctrl-].
console() {
	: >"$2"
	(
		i=0
		while [ $i -lt "$3" ] && ! grep -q 'PROBE-42' "$2"; do
			printf 'echo PROBE-$((6*7))\r'
			sleep 2
			i=$((i + 2))
		done
		printf '\035'
	) | timeout $(($3 + 10)) script -qc "virsh -c '$U' console $1" /dev/null >"$2" 2>&1
}
# ctl NAME REQUEST: one request on the worker's control socket (what vmms uses).
ctl() {
	$PY - "$R/$1.ctl" "$2" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
    s.sendall(sys.argv[2].encode() + b"\n")
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(512)
        if not d:
            break
        buf += d
    print(buf.decode().strip())
except OSError as e:
    print(f"error: {e}")
PYEOF
}
# wait_heartbeat NAME SECS: the guest's integration services are up.
wait_heartbeat() {
	i=0
	while [ $i -lt "$2" ]; do
		case $(ctl "$1" status) in *heartbeat=ok*) return 0 ;; esac
		sleep 1
		i=$((i + 1))
	done
	return 1
}
# domxml NAME KERNEL: a domain document for a mkguest guest.
domxml() {
	cat <<EOF
<domain type='linhv'>
  <name>$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>$2</kernel>
    <initrd>$T/guest.cpio.gz</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <devices>
    <console type='pty'/>
  </devices>
</domain>
EOF
}
snapshot() { { v list --all; ls -l "$S/domains"; ls "$R"; } 2>&1; }

if ! check "insmod linhv.ko" insmod build/kmod/linhv.ko; then
	check_done
	exit 1
fi
if ! scripts/mkguest -o "$T/guest.cpio.gz" >"$T/mkguest.log" 2>&1; then
	fail "mkguest" "$(tail -3 "$T/mkguest.log")"
fi
if ! start_vmms; then
	fail "vmms starts and listens" "$(tail -5 "$T/vmms.log")"
	cleanup
	check_done
	exit 1
fi
pass "vmms starts and listens"
echo "setup done at $(since)s (kernel $K)"

# ---------------- 1. lifecycle with virsh ----------------
domxml g1 "$K" >"$T/g1.xml"
check_output "virsh define" "Domain 'g1' defined from" vv define "$T/g1.xml"
check_output "virsh list --all: shut off" "^ -  +g1 +shut off" v list --all
check_output "virsh start" "Domain 'g1' started" vv start g1
check_output "virsh list: running with an id" "^ [1-9][0-9]* +g1 +running" v list
v dominfo g1 >"$T/out" 2>&1
check_grep "virsh dominfo: running" "^State: +running" "$T/out"
check_grep "virsh dominfo: 1 vCPU" "^CPU\(s\): +1$" "$T/out"
check_grep "virsh dominfo: memory" "^Max memory: +262144 KiB" "$T/out"
v dumpxml g1 >"$T/out" 2>&1
check_grep "virsh dumpxml: running id" "<domain type='linhv' id='[1-9][0-9]*'>" "$T/out"
check_fixed "virsh dumpxml: kernel" "<kernel>$K</kernel>" "$T/out"
check_grep "virsh dumpxml: console" "<console type='pty'" "$T/out"
t0=$(date +%s)
console g1 "$out/console-g1.txt" "$BOOT_SECS"
echo "g1: shell answered on the console after $(($(date +%s) - t0))s"
check_grep "virsh console: connected" "Connected to domain 'g1'" "$out/console-g1.txt"
check_grep "virsh console: guest output (boot marker)" "LINHV-GUEST-READY" "$out/console-g1.txt"
check_grep "virsh console: the guest's shell answers" "^PROBE-42" "$out/console-g1.txt"
check "virsh console: domain still running after ^]" wait_state g1 "^running" 2
check "integration services up (heartbeat)" wait_heartbeat g1 30
t0=$(date +%s)
check_output "virsh shutdown" "Domain 'g1' is being shutdown" vv shutdown g1
check "graceful shutdown: shut off (shutdown) within ${BOOT_SECS}s" \
	wait_state g1 "shut off \(shutdown\)" "$BOOT_SECS"
echo "g1: graceful shutdown took $(($(date +%s) - t0))s"
check_grep "the guest powered off (worker exit 0)" "worker exited 0: guest powered off" "$R/g1.log"
check "worker's run files removed" sh -c "! ls '$R'/g1.pid '$R'/g1.ctl '$R'/g1.console 2>/dev/null"
check_output "virsh start again" "Domain 'g1' started" vv start g1
sleep 2
check_output "virsh destroy" "Domain 'g1' destroyed" vv destroy g1
check "destroy: shut off (destroyed)" wait_state g1 "shut off \(destroyed\)" 5
check_output "virsh undefine" "Domain 'g1' has been undefined" vv undefine g1
refused "undefined domain is gone" "failed to get domain 'g1'" v dominfo g1
echo "virsh lifecycle done at $(since)s"

# ---------------- 1b. the same from libvirt-python ----------------
domxml pyg "$K" >"$T/pyg.xml"
check_prog "py: lifecycle" $PY "$CLIENT" lifecycle "$U" pyg "$T/pyg.xml" "$BOOT_SECS"
echo "python lifecycle done at $(since)s"

# ---------------- 2+3. read-only access, missing kernel ----------------
domxml g1 "$K" >"$T/g1.xml"
domxml g2 "$K" >"$T/g2.xml"
v define "$T/g1.xml" >/dev/null && v define "$T/g2.xml" >/dev/null
check_output "start g1" "Domain 'g1' started" vv start g1
check_output "virsh -r list" "g1 +running" virsh -q -r -c "$RO" list --all
check_output "virsh -r dumpxml" "<name>g1</name>" virsh -r -c "$RO" dumpxml g1
sed 's/<name>g1</<name>rotest</' "$T/g1.xml" >"$T/ro.xml"
refused "virsh -r define refused" "read only access prevents" virsh -r -c "$RO" define "$T/ro.xml"
refused "virsh -r start refused" "read only access prevents" virsh -r -c "$RO" start g2
refused "virsh -r destroy refused" "read only access prevents" virsh -r -c "$RO" destroy g1
check "virsh -r changed nothing: g1 still running" wait_state g1 "^running" 1
check "virsh -r changed nothing: g2 still shut off" wait_state g2 "^shut off" 1
check "virsh -r changed nothing: no domain rotest" sh -c "! virsh -q -c '$U' list --all --name | grep -qx rotest"

domxml nok "$T/no-such-kernel" >"$T/nok.xml"
v define "$T/nok.xml" >/dev/null 2>&1
before=$(snapshot)
refused "missing kernel: start refused with a clear error" \
	"kernel '$T/no-such-kernel' is not readable" v start nok
check "missing kernel: still shut off" wait_state nok "^shut off" 1
# A refused start may still be tidying up: give it a few seconds to settle.
i=0
while [ "$(snapshot)" != "$before" ] && [ $i -lt 5 ]; do sleep 1; i=$((i + 1)); done
after=$(snapshot)
if [ "$after" = "$before" ]; then
	pass "missing kernel: no state change"
else
	printf '%s\n' "$before" >"$T/before.txt"
	printf '%s\n' "$after" >"$T/after.txt"
	fail "missing kernel: no state change" "$(diff "$T/before.txt" "$T/after.txt" | tr '\n' '|' | cut -c1-400)"
	tail -n 5 "$R/g1.log" 2>/dev/null | sed 's/^/g1 worker: /'
fi
v undefine nok >/dev/null 2>&1
check_output "start g2" "Domain 'g2' started" vv start g2

# ---------------- 4. SIGKILL of one worker ----------------
check "g1 booted (heartbeat)" wait_heartbeat g1 "$BOOT_SECS"
check "g2 booted (heartbeat)" wait_heartbeat g2 "$BOOT_SECS"
echo "two guests up at $(since)s"
w2=$(cat "$R/g2.pid")
kill -9 "$w2"
check "SIGKILL of g2's worker: shut off (crashed)" wait_state g2 "shut off \(crashed\)" 10
check_grep "SIGKILL of g2's worker: reason logged" "g2: worker killed by signal 9" "$T/vmms.log"
check "g1 unaffected: still running" wait_state g1 "^running" 1
case $(ctl g1 status) in
*state=running*heartbeat=ok*) pass "g1 unaffected: worker status running, heartbeat ok" ;;
*) fail "g1 unaffected: worker status running, heartbeat ok" "$(ctl g1 status)" ;;
esac
console g1 "$out/console-g1-after-kill.txt" 20
check_grep "g1 unaffected: console answers" "^PROBE-42" "$out/console-g1-after-kill.txt"
check_output "g2 can be started again" "Domain 'g2' started" vv start g2
check_output "and destroyed" "Domain 'g2' destroyed" vv destroy g2

# ---------------- 4b. SIGKILL of vmms, restart ----------------
w1=$(cat "$R/g1.pid")
kill -9 "$VMMS_PID"
wait "$VMMS_PID" 2>/dev/null
VMMS_PID=""
check "vmms SIGKILL: g1's worker survives" kill -0 "$w1"
if start_vmms; then pass "vmms restarts with the same dirs"; else fail "vmms restarts with the same dirs"; fi
check_output "vmms restart: g1 listed running" "^ [1-9][0-9]* +g1 +running" v list
check_output "vmms restart: g2 listed shut off" "^ -  +g2 +shut off" v list --all
check_grep "vmms restart: re-adopted g1's worker" "re-adopted running worker pid $w1" "$T/vmms.log"
check_output "vmms restart: dominfo running" "^State: +running" v dominfo g1
t0=$(date +%s)
check_output "vmms restart: virsh shutdown" "Domain 'g1' is being shutdown" vv shutdown g1
check "vmms restart: graceful shutdown reaches shut off (shutdown)" wait_state g1 "shut off \(shutdown\)" "$BOOT_SECS"
echo "g1 (adopted): graceful shutdown took $(($(date +%s) - t0))s"
i=0
while kill -0 "$w1" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "vmms restart: g1's worker exited" sh -c "! kill -0 $w1 2>/dev/null"
v undefine g1 >/dev/null
v undefine g2 >/dev/null

# ---------------- cleanup ----------------
kill "$VMMS_PID"
wait "$VMMS_PID" 2>/dev/null
VMMS_PID=""
cleanup
check "no worker left" sh -c "! pgrep -x vmwp >/dev/null"
check "rmmod linhv" rmmod linhv
dmesg >"$out/dmesg.txt"
if grep -qE "WARNING|BUG:|Oops|general protection|Call Trace" "$out/dmesg.txt"; then
	fail "dmesg clean after the guests" "see $out/dmesg.txt"
else
	pass "dmesg clean after the guests"
fi
echo "vmms-guest tier took $(since)s"
# Keep the workers' logs (RUN/NAME.log) and vmms's for diagnosis.
cp "$R"/*.log "$T"/vmms.log "$out/" 2>/dev/null
rm -rf "$T"
check_done

#!/bin/sh
# Emulated-host tier: a hostile guest under a real VM. vmwp boots the
# freestanding vsc-guest test image (vsc-guest/image, a bzImage) which runs
# the hostile suite of vsc/hostile.h against vmwp's VMBus server and ICs:
# malformed and random channel messages, GPADLs naming pages outside guest
# RAM, bad OPENCHANNELs, ring indices out of bounds, oversized packets,
# floods, UNLOAD, storage SRBs that lie (vmwp gets a --disk) and network
# messages that lie (vmwp gets a --nic with two queues, so vRSS is offered
# and its parameters can be attacked too). The guest judges the protocol answers (one GUEST-PASS/FAIL
# line per check); this script judges the host: vmwp survives, logs each
# closed channel, keeps serving the other channels (heartbeat status, KVP,
# shutdown through the shutdown IC) and exits 0.
# linhv backend by default; HOSTILE_BACKEND=kvm (hostile-kvm.sh) on kvm_amd.
#   sh tests/emuhost/hostile-linhv.slow.sh OUTDIR      (run inside scripts/emuhost)
. tests/lib/check.sh
. tests/lib/backend.sh
BACKEND=${HOSTILE_BACKEND:-linhv}
CHECK_PREFIX="hostile $BACKEND: "
# 17 guest checks, 12 host checks, and on linhv.ko the unload and dmesg checks;
# 8 guest and 7 host checks for the network attacks.
if [ "$BACKEND" = linhv ]; then check_expect 59; else check_expect 57; fi

out=${1:-/tmp/hostile-$BACKEND}
mkdir -p "$out"
B=$BUILD/vmm/vmwp/vmwp
CTL=$BUILD/vmm/vmwp/vmwp-ctl
IMG=$BUILD/vsc-guest/image/vsc-hostile.bzImage
sock=/run/hostile-$BACKEND.ctl
log=$out/hostile.log
# vmwp's own log lines go to a file of their own: written to the same file as
# the guest's console they can land in the middle of a GUEST-PASS line.
vlog=$out/vmwp.log

if [ ! -r "$IMG" ] || [ ! -x "$B" ]; then
	fail "build outputs present" "no $IMG or $B"
	check_done
	exit 1
fi
backend_load "$BACKEND"

# wait_log PATTERN SECONDS: until the log has a line matching PATTERN.
wait_log() {
	i=0
	while ! grep -qE -- "$1" "$log" 2>/dev/null && [ $i -lt "$2" ] && kill -0 "$pid" 2>/dev/null; do
		sleep 1
		i=$((i + 1))
	done
	grep -qE -- "$1" "$log" 2>/dev/null
}

# Empty the log first: the waits below must not see a previous run's lines.
: >"$log"
: >"$vlog"
# A small disk: the suite's storage attacks need a SCSI controller to attack.
disk=$out/hostile-disk.img
rm -f "$disk"
truncate -s 4M "$disk"
# A NIC for the network attacks: vmwp creates the TAP (two queues: vRSS offered).
modprobe tun 2>/dev/null
if [ ! -e /dev/net/tun ]; then mkdir -p /dev/net && mknod /dev/net/tun c 10 200; fi
"$B" --backend "$BACKEND" --kernel "$IMG" --memory 128M --control "$sock" --disk "$disk" \
	--nic "tap=lhost0,queues=2" >"$log" 2>"$vlog" </dev/null &
pid=$!
start=$(date +%s)
if wait_log '^GUEST-DONE' 600; then
	pass "the test image ran the hostile suite ($(($(date +%s) - start)) s)"
else
	fail "the test image ran the hostile suite" "no GUEST-DONE line; tail: $(tail -n 3 "$log" | tr '\n' '|')"
fi

# The guest's own checks, one line each.
tr -d '\r' <"$log" | grep -E '^GUEST-(PASS|FAIL): ' >"$out/guest-checks.txt"
while IFS= read -r l; do
	case $l in
	GUEST-PASS:*) pass "guest: ${l#GUEST-PASS: }" ;;
	GUEST-FAIL:*) fail "guest: ${l#GUEST-FAIL: }" ;;
	esac
done <"$out/guest-checks.txt"
n=$(grep -c '^GUEST-PASS: ' "$out/guest-checks.txt")
if [ "$n" -ge 31 ]; then pass "all 31 guest checks reported"; else fail "all 31 guest checks reported" "$n passed"; fi

# The host's side: alive, and each closed channel logged with its reason.
if kill -0 "$pid" 2>/dev/null; then pass "vmwp survived the hostile guest"; else fail "vmwp survived the hostile guest" "it exited"; fi
check_grep "vmwp logs: ring index out of bounds closes the channel" \
	'vmbus: relid [0-9]+ .*closing the channel: guest-to-host ring index or packet descriptor out of bounds' "$vlog"
check_grep "vmwp logs: oversized packet closes the channel" 'vmbus: relid [0-9]+ .*closing the channel: oversized packet' "$vlog"
check_grep "vmwp logs: host-to-guest read index out of bounds closes the channel" \
	'vmbus: relid [0-9]+ .*closing the channel: host-to-guest ring read index out of bounds' "$vlog"
check_grep "vmwp logs: ring GPADL torn down while open closes the channel" 'torn down while open: closing the channel' "$vlog"
check_grep "vmwp logs: the failed device is offered again" 'released by the guest: offering the device again' "$vlog"
for why in 'CDB length outside 1-16' 'SRB length does not match the protocol' \
	'SRB transfer length beyond its GPA ranges' 'GPA-direct page outside guest RAM' 'unknown vstor operation'; do
	check_grep "vmwp logs: storage: $why" "vmbus: relid [0-9]+ .*closing the channel: $why" "$vlog"
done
for why in 'send-buffer section index or size out of range' 'RNDIS QUERY malformed' \
	'RNDIS message length out of the packet' 'NVSP message shorter than its type needs' \
	'completion for a receive packet that is not outstanding' \
	'RSS parameters: indirection entry names no channel' 'RSS parameters: indirection table size'; do
	check_grep "vmwp logs: net: $why" "vmbus: relid [0-9]+ .*closing the channel: .*$why" "$vlog"
done

# The other channels kept working: heartbeat answered, shutdown through the IC.
i=0
st=""
while [ $i -lt 30 ]; do
	st=$("$CTL" "$sock" status 2>&1)
	case $st in *heartbeat=ok*) break ;; esac
	sleep 1
	i=$((i + 1))
done
case $st in *heartbeat=ok*) pass "heartbeat ok after the attacks" ;; *) fail "heartbeat ok after the attacks" "$st" ;; esac
# The image answers KVP like hv_kvp_daemon; vmwp re-reads the pool every 5 s.
while [ $i -lt 40 ]; do
	case $st in *hostname=vsc-hostile-guest*) break ;; esac
	sleep 1
	i=$((i + 1))
	st=$("$CTL" "$sock" status 2>&1)
done
case $st in *hostname=vsc-hostile-guest*) pass "KVP still answered after the attacks (hostname=vsc-hostile-guest)" ;; *) fail "KVP still answered after the attacks" "$st" ;; esac
r=$("$CTL" "$sock" shutdown 2>&1)
case $r in "ok"*) pass "vmwp-ctl shutdown accepted" ;; *) fail "vmwp-ctl shutdown accepted" "$r" ;; esac
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
kill -0 "$pid" 2>/dev/null && { kill "$pid"; sleep 10; kill -9 "$pid" 2>/dev/null; }
wait "$pid"
rc=$?
if [ "$rc" -eq 0 ]; then pass "guest powered off through the shutdown IC -> exit 0"; else fail "guest powered off through the shutdown IC -> exit 0" "exit $rc"; fi
check_grep "the guest saw the shutdown request" '^GUEST-SHUTDOWN' "$log"

backend_unload "$BACKEND" "the hostile guest"
check_done

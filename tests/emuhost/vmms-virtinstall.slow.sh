#!/bin/sh
# Emulated-host tier (slow): stock virt-install creates a real guest on
# linhv.ko under vmms, with a storvsp disk (an image file) and a netvsc NIC on
# a bridge, and stock virsh manages it:
#   1. virt-install (Debian 12's 4.1, with the flags docs/vmms.md lists)
#      defines and starts the VM, which boots (mkguest initramfs with
#      hv_kvp_daemon, tests/emuhost/vmms-virtinstall.d/guest-init);
#   2. `virsh event --all --loop` sees the whole lifecycle;
#   3. the guest pings the host and writes to its disk (the host reads the
#      image); domstats block/net counters, domblkstat and domifstat grow
#      with the guest's I/O and with the host pinging the guest;
#   4. domifaddr (any source) and domhostname come from the guest's KVP pool;
#   5. shutdown, start and destroy work, and `virsh list` answers quickly
#      while a start runs and while the guest shuts down (figures printed).
#   sh tests/emuhost/vmms-virtinstall.slow.sh OUTDIR      (run inside scripts/emuhost)
. tests/lib/check.sh
check_expect 48

out=${1:-build/vmms-virtinstall}
mkdir -p "$out"
out=$(cd "$out" && pwd)
BUILD=${LINHV_BUILD_DIR:-build}
VMMS=$BUILD/vmm/vmms/vmms
K=${LINHV_GUEST_KERNEL:-$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -n 1)}
BOOT_SECS=${VMMS_GUEST_BOOT_SECS:-180} # bound for a boot (to the KVP address), and for a shutdown
N=vi1
BR=lhvbr0
HOST_IP=10.77.0.1
GUEST_IP=10.77.0.2
T=$(mktemp -d /tmp/vmms-virtinstall.XXXXXX)
IMG=$T/images/disk.img
S=$T/state R=$T/run D=$T/sock
U="linhv:///system?socket=$D/virtlinhvd-sock"
VMMS_PID="" EV_PID=""
t_start=$(date +%s)
since() { echo $(($(date +%s) - t_start)); }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

cleanup() {
	[ -n "$EV_PID" ] && kill "$EV_PID" 2>/dev/null
	[ -n "$VMMS_PID" ] && kill -9 "$VMMS_PID" 2>/dev/null
	for f in "$R"/*.pid; do
		[ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	EV_PID="" VMMS_PID=""
	sleep 0.5
	cp "$T"/vmms.log "$T"/events.txt "$T"/*.out "$R"/*.log "$out"/ 2>/dev/null
	ip link del "$BR" 2>/dev/null
}
trap cleanup EXIT

v() { timeout 60 virsh -q -c "$U" "$@"; }
vv() { timeout 60 virsh -c "$U" "$@"; } # not quiet: "Domain 'x' started" etc.
# wait_for SECS CMD...: until CMD succeeds (tried every 0.5 s; SECS of wall
# clock: a virsh call alone takes seconds in the emulated host).
wait_for() {
	_end=$(($(date +%s) + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(date +%s)" -ge "$_end" ] && return 1
		sleep 0.5
	done
}
# diag: what the worker and vmms said last (when the guest does not come up).
diag() {
	tail -n 15 "$R/$N.log" 2>/dev/null | sed 's/^/  worker: /'
	tail -n 5 "$T/vmms.log" | sed 's/^/  vmms: /'
	cp "$T"/vmms.log "$T"/events.txt "$R"/*.log "$out"/ 2>/dev/null
}
state_is() { v domstate --reason "$N" 2>/dev/null | grep -qE -- "$1"; }
# The KVP auto pool has the address without its prefix: vmms shows /32.
has_addr() { v domifaddr "$N" "$@" 2>/dev/null | grep -q " $GUEST_IP/"; }
# dstat KEY FILE: a value of `virsh domstats` output (0 if absent).
dstat() { sed -n "s/^ *$1=//p" "$2" | grep . || echo 0; }
# kv NAME FILE: a value of domblkstat/domifstat output ("DEV NAME VALUE").
kv() { awk -v k="$1" '$2 == k { print $3; f = 1 } END { if (!f) print 0 }' "$2"; }
# grew NAME A B [MIN]: B >= A + MIN (default 1).
grew() {
	if [ "$3" -ge $(($2 + ${4:-1})) ]; then pass "$1 ($2 -> $3)"; else fail "$1" "$2 -> $3"; fi
}
# lat_list STOPCMD...: times `virsh list --all` again and again until STOPCMD
# succeeds (at least once, at most 300 times); sets LAT_N, LAT_MAX (ms), LAT_DURING
# (how many answered before STOPCMD held), LAT_ALL (the figures).
lat_list() {
	LAT_N=0 LAT_MAX=0 LAT_DURING=0 LAT_ALL=""
	while [ "$LAT_N" -lt 300 ]; do
		_t0=$(now_ms)
		timeout 60 virsh -q -c "$U" list --all >/dev/null 2>&1 || LAT_ERR=1
		ms=$(($(now_ms) - _t0))
		LAT_N=$((LAT_N + 1))
		LAT_ALL="$LAT_ALL $ms"
		[ "$ms" -gt "$LAT_MAX" ] && LAT_MAX=$ms
		"$@" >/dev/null 2>&1 && return 0
		LAT_DURING=$((LAT_DURING + 1))
		sleep 0.2
	done
}
not_running() { ! kill -0 "$1" 2>/dev/null; }

# ---------------- setup ----------------
if ! check "insmod linhv.ko" insmod "$BUILD/kmod/linhv.ko"; then
	check_done
	exit 1
fi
kvp=""
[ -x /usr/sbin/hv_kvp_daemon ] && kvp="--bin /usr/sbin/hv_kvp_daemon"
check "mkguest: initramfs with sd_mod and hv_kvp_daemon" sh -c \
	"scripts/mkguest -o '$T/guest.cpio.gz' --module sd_mod $kvp \
	--init tests/emuhost/vmms-virtinstall.d/guest-init >'$T/mkguest.log' 2>&1"
mkdir -p "$T/images" "$D"
truncate -s 64M "$IMG"
modprobe tun 2>/dev/null
modprobe bridge 2>/dev/null # not autoloaded in the emulated host
if [ ! -e /dev/net/tun ]; then mkdir -p /dev/net && mknod /dev/net/tun c 10 200; fi
ip link del "$BR" 2>/dev/null
check "bridge $BR with $HOST_IP/24" sh -c \
	"ip link add $BR type bridge && ip addr add $HOST_IP/24 dev $BR && ip link set $BR up"
# A loaded emulated host can take more than the default 10 s to set a VM up.
"$VMMS" --state-dir "$S" --run-dir "$R" --socket-dir "$D" --backend linhv \
	--start-timeout 120 --foreground --verbose 2>>"$T/vmms.log" &
VMMS_PID=$!
if ! wait_for 30 virsh -q -c "$U" list --all; then
	fail "vmms starts and listens" "$(tail -5 "$T/vmms.log")"
	check_done
	exit 1
fi
pass "vmms starts and listens"
# virsh's own --timeout bounds it if the tier stops halfway.
virsh -c "$U" event --all --loop --timeout 840 >"$T/events.txt" 2>&1 &
EV_PID=$!
check "virsh event --all --loop registered its callbacks" \
	wait_for 30 grep -qE "event callback .* for event" "$T/vmms.log"
sleep 0.5
# The idle figure, for comparison with those during jobs.
lat_list true
idle_ms=$LAT_MAX
echo "virsh list --all, idle: ${idle_ms} ms"
echo "setup done at $(since)s (kernel $K)"

# ---------------- 1. virt-install ----------------
t0=$(now_ms)
timeout 300 virt-install --connect "$U" --name "$N" --osinfo linux2022 --memory 512 --vcpus 2 \
	--boot "kernel=$K,initrd=$T/guest.cpio.gz,kernel_args=console=ttyS0 quiet loglevel=4" \
	--disk "path=$IMG,bus=scsi" --network "bridge=$BR,model=netvsc" --graphics none \
	--import --noautoconsole >"$T/virt-install.out" 2>&1
rc=$?
echo "virt-install took $(($(now_ms) - t0)) ms (exit $rc)"
check "virt-install exits 0" test "$rc" -eq 0
check_grep "virt-install: Domain creation completed" "Domain creation completed" "$T/virt-install.out"
check_output "the domain runs" "^running" v domstate "$N"
check_output "and is persistent" "^Persistent: +yes" v dominfo "$N"
check_output "dumpxml: 2 vCPUs" "<vcpu[^>]*>2</vcpu>" v dumpxml "$N"
check_output "dominfo: 512 MiB" "^Max memory: +524288 KiB" v dominfo "$N"
check_output "domblklist: the image on sda" "^ *sda +$IMG *\$" v domblklist "$N"
check_output "domiflist: bridge $BR, model netvsc" "bridge +$BR +netvsc +" v domiflist "$N"
MAC=$(v domiflist "$N" | awk '$2 == "bridge" { print $NF }')
t0=$(date +%s)
if wait_for "$BOOT_SECS" has_addr; then
	pass "the guest booted: domifaddr shows $GUEST_IP (KVP), after $(($(date +%s) - t0))s"
else
	fail "the guest booted: domifaddr shows $GUEST_IP (KVP)" "$(v domifaddr "$N" 2>&1 | tr '\n' ' ')"
	diag
fi
v domifaddr "$N" >"$T/domifaddr.out" 2>&1
cat "$T/domifaddr.out"
# The prefix comes with the per-NIC answer (GET_IP_INFO), asked after a pass
# over the auto pool (every 5 s) in which the NIC had none: give it time.
for _ in $(seq 20); do
	grep -qE "$MAC +ipv4 +$GUEST_IP/24" "$T/domifaddr.out" && break
	sleep 1
	v domifaddr "$N" >"$T/domifaddr.out" 2>&1
done
check_grep "domifaddr: the NIC's MAC with the address and its prefix (KVP GET_IP_INFO)" \
	"$MAC +ipv4 +$GUEST_IP/24" "$T/domifaddr.out"
check "domifaddr --source agent" has_addr --source agent
check_output "domhostname (KVP)" "^linhv-vi\$" v domhostname "$N"
echo "guest up at $(since)s"

# ---------------- 2. guest I/O ----------------
ping_ok() { head -c 512 "$IMG" | tr -d '\0' | grep -q 'LHV-PING ok'; }
if wait_for 60 ping_ok; then
	pass "the guest pinged the host and wrote it to its disk: $(head -c 512 "$IMG" | tr -d '\0' | head -n 1)"
else
	fail "the guest pinged the host and wrote it to its disk" "$(head -c 200 "$IMG" | tr -d '\0')"
fi
check "the guest's periodic writes reach the image" sh -c \
	"dd if='$IMG' bs=4096 skip=16 count=64 2>/dev/null | tr -d '\\0' | grep -q 'LHV-IO [0-9]'"
stats() { # stats TAG: domstats, domblkstat, domifstat
	v domstats "$N" --block --interface >"$T/domstats-$1.out" 2>&1
	v domblkstat "$N" sda >"$T/domblkstat-$1.out" 2>&1
	v domifstat "$N" "$MAC" >"$T/domifstat-$1.out" 2>&1
}
stats a
check_grep "domstats: block.0 is sda" "^ *block\.0\.name=sda\$" "$T/domstats-a.out"
check_grep "domstats: net.0 has counters" "^ *net\.0\.rx\.pkts=[0-9]+\$" "$T/domstats-a.out"
# busybox: the emulated host has no iputils ping.
busybox ping -c 10 -W 2 "$GUEST_IP" >"$T/ping.out" 2>&1
cat "$T/ping.out"
check_grep "the host pings the guest (10 packets, no loss)" " 0% packet loss" "$T/ping.out"
sleep 3 # a few more rounds of the guest's I/O loop
stats b
cat "$T/domstats-b.out"
for k in wr.reqs wr.bytes rd.reqs rd.bytes; do
	grew "domstats block.0.$k grows" "$(dstat "block\.0\.$k" "$T/domstats-a.out")" \
		"$(dstat "block\.0\.$k" "$T/domstats-b.out")"
done
grew "domstats net.0.rx.pkts grows by the host's 10 pings or more" \
	"$(dstat 'net\.0\.rx\.pkts' "$T/domstats-a.out")" "$(dstat 'net\.0\.rx\.pkts' "$T/domstats-b.out")" 10
grew "domstats net.0.tx.pkts grows by the guest's 10 replies or more" \
	"$(dstat 'net\.0\.tx\.pkts' "$T/domstats-a.out")" "$(dstat 'net\.0\.tx\.pkts' "$T/domstats-b.out")" 10
grew "domstats net.0.rx.bytes grows" "$(dstat 'net\.0\.rx\.bytes' "$T/domstats-a.out")" \
	"$(dstat 'net\.0\.rx\.bytes' "$T/domstats-b.out")"
grew "domblkstat sda wr_bytes grows" "$(kv wr_bytes "$T/domblkstat-a.out")" \
	"$(kv wr_bytes "$T/domblkstat-b.out")"
grew "domblkstat sda rd_req grows" "$(kv rd_req "$T/domblkstat-a.out")" \
	"$(kv rd_req "$T/domblkstat-b.out")"
grew "domifstat $MAC rx_packets grows" "$(kv rx_packets "$T/domifstat-a.out")" \
	"$(kv rx_packets "$T/domifstat-b.out")"
grew "domifstat $MAC tx_bytes grows" "$(kv tx_bytes "$T/domifstat-a.out")" \
	"$(kv tx_bytes "$T/domifstat-b.out")"
echo "I/O checks done at $(since)s"

# ---------------- 3. shutdown, start, destroy ----------------
bound=$((3 * idle_ms))
[ "$bound" -lt 3000 ] && bound=3000
t0=$(date +%s)
check_output "virsh shutdown" "Domain '$N' is being shutdown" vv shutdown "$N"
LAT_ERR=""
lat_list state_is "shut off"
echo "virsh list --all during the guest's shutdown: $LAT_N calls ($LAT_DURING before it was off), max $LAT_MAX ms:$LAT_ALL"
if [ -z "$LAT_ERR" ] && [ "$LAT_MAX" -le "$bound" ]; then
	pass "virsh list answers during the shutdown (max $LAT_MAX ms, bound $bound ms)"
else
	fail "virsh list answers during the shutdown" "max $LAT_MAX ms, bound $bound ms, errors: ${LAT_ERR:-none}"
fi
check "graceful shutdown: shut off (shutdown) within ${BOOT_SECS}s" \
	wait_for "$BOOT_SECS" state_is "shut off \(shutdown\)"
echo "graceful shutdown took $(($(date +%s) - t0))s"
check_grep "the guest powered off (worker exit 0)" "worker exited 0: guest powered off" "$R/$N.log"

t0=$(now_ms)
vv start "$N" >"$T/start.out" 2>&1 &
spid=$!
LAT_ERR=""
lat_list not_running "$spid"
wait "$spid"
rc=$?
echo "virsh start took $(($(now_ms) - t0)) ms; virsh list --all meanwhile: $LAT_N calls ($LAT_DURING answered while the start ran), max $LAT_MAX ms:$LAT_ALL"
if [ "$rc" -eq 0 ] && grep -q "Domain '$N' started" "$T/start.out"; then
	pass "virsh start again"
else
	fail "virsh start again" "exit $rc: $(head -c 300 "$T/start.out")"
fi
if [ -z "$LAT_ERR" ] && [ "$LAT_MAX" -le "$bound" ]; then
	pass "virsh list answers during the start (max $LAT_MAX ms, bound $bound ms)"
else
	fail "virsh list answers during the start" "max $LAT_MAX ms, bound $bound ms, errors: ${LAT_ERR:-none}"
fi
t0=$(date +%s)
if wait_for "$BOOT_SECS" has_addr; then
	pass "it boots again: domifaddr shows $GUEST_IP after $(($(date +%s) - t0))s"
else
	fail "it boots again: domifaddr shows $GUEST_IP" "$(v domifaddr "$N" 2>&1 | tr '\n' ' ')"
	diag
fi
check_output "virsh destroy" "Domain '$N' destroyed" vv destroy "$N"
check "destroy: shut off (destroyed)" wait_for 10 state_is "shut off \(destroyed\)"
check_output "virsh undefine" "Domain '$N' has been undefined" vv undefine "$N"

# ---------------- 4. the events ----------------
sleep 1
kill -INT "$EV_PID" 2>/dev/null
wait "$EV_PID"
ev_rc=$?
EV_PID=""
check "virsh event ends cleanly on SIGINT (exit $ev_rc)" test "$ev_rc" -eq 0
cat "$T/events.txt"
# virt-install creates the domain transient, then defines it.
cat >"$T/want" <<EOF
$N: Started Booted
$N: Defined Added
$N: Shutdown Finished after host request
$N: Stopped Shutdown
$N: Started Booted
$N: Stopped Destroyed
$N: Undefined Removed
EOF
sed -nE "s/^event 'lifecycle' for domain '([^']+)': (.*)$/\1: \2/p" "$T/events.txt" >"$T/got"
if cmp -s "$T/want" "$T/got"; then
	pass "virsh event: the lifecycle, in order: $(tr '\n' ';' <"$T/got")"
else
	fail "virsh event: the lifecycle, in order" "$(diff "$T/want" "$T/got" | tr '\n' '|' | cut -c1-400)"
fi

# ---------------- cleanup ----------------
kill "$VMMS_PID"
wait "$VMMS_PID" 2>/dev/null
VMMS_PID=""
cleanup
check "no worker left" sh -c "! pgrep -x vmwp >/dev/null"
check "rmmod linhv" rmmod linhv
dmesg >"$out/dmesg.txt"
if grep -qE "WARNING|BUG:|Oops|general protection|Call Trace" "$out/dmesg.txt"; then
	fail "dmesg clean after the guest" "see $out/dmesg.txt"
else
	pass "dmesg clean after the guest"
fi
echo "vmms-virtinstall tier took $(since)s"
trap - EXIT
rm -rf "$T"
check_done

#!/bin/sh
# Emulated-host tier: the network VSP. A stock Debian guest's hv_netvsc
# brings up eth0 on vmwp's netvsp, backed by a TAP vmwp creates in the
# emulated host; the guest and the TAP's address ping each other and move
# NET_MB MiB over TCP each way (busybox nc), checked by md5 (default 32;
# 100 with LINHV_SLOW=1, i.e. scripts/test --slow). Only the
# 10.77.0.0/24 addresses on the TAP and in the guest are used: nothing
# leaves the emulated host. With 2 vCPUs (NET_CPUS=2; the default on
# linhv.ko, and on kvm_amd with LINHV_SLOW=1) the guest gets a
# sub-channel and vRSS: twelve parallel TCP streams from the host must arrive
# on more than one channel (the guest's per-channel interrupt counters, and
# the frames each channel carried as vmwp logs them). Then the TAP's carrier
# goes down and up again and the guest must see it. NET_BACKEND=kvm runs the
# same on kvm_amd.
#   sh tests/emuhost/net-linhv.sh OUTDIR      (run inside scripts/emuhost)
. tests/lib/check.sh
. tests/lib/backend.sh
BACKEND=${NET_BACKEND:-linhv}
CHECK_PREFIX="net $BACKEND: "
# 2 vCPUs (a sub-channel and vRSS, four more checks) on linhv.ko; on
# kvm_amd only with LINHV_SLOW=1 or NET_CPUS=2: 2-vCPU guests on kvm_amd in
# the emulated host crash now and then (docs/netvsp.md).
if [ "$BACKEND" = linhv ] || [ "${LINHV_SLOW:-0}" = 1 ]; then CPUS=${NET_CPUS:-2}; else CPUS=${NET_CPUS:-1}; fi
n=31
[ "$BACKEND" = linhv ] && n=$((n + 2))
[ "$CPUS" -ge 2 ] || n=$((n - 4))
check_expect "$n"
MQ_MB=${NET_MQ_MB:-1}
MQ_STREAMS=12
if [ "${LINHV_SLOW:-0}" = 1 ]; then MB=${NET_MB:-100}; else MB=${NET_MB:-32}; fi

out=${1:-/tmp/net-$BACKEND}
mkdir -p "$out"
B=$BUILD/vmm/vmwp/vmwp
K=${LINHV_GUEST_KERNEL:-$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -n 1)}
tmp=$(mktemp -d)
log=$out/net.log
# vmwp's own lines go to their own file: written into the console log they
# can land in the middle of a guest line and hide a marker the tier waits for.
vlog=$out/net.vmwp.log
TAP=lnet0
MAC=02:4c:00:12:34:56

backend_load "$BACKEND"
modprobe tun 2>/dev/null
if [ ! -e /dev/net/tun ]; then mkdir -p /dev/net && mknod /dev/net/tun c 10 200; fi

cat >"$tmp/net.sh" <<G
#!/bin/sh
MB=$MB
G
cat >>"$tmp/net.sh" <<'G'
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
echo "GUEST-MAC $(cat /sys/class/net/eth0/address)"
dmesg | grep -iE 'hv_netvsc|netvsc' | sed 's/^/GUEST-DMESG /'
ip link set eth0 up
ip addr add 10.77.0.2/24 dev eth0
i=0
until ping -c 1 -W 2 10.77.0.1 >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 60 ] || break
	sleep 1
done
if ping -c 3 -W 2 10.77.0.1 >/dev/null 2>&1; then echo GUEST-PING-OK; else echo GUEST-PING-FAIL; fi
echo "GUEST-OPERSTATE $(cat /sys/class/net/eth0/operstate)"
# host to guest
echo GUEST-LISTEN
# (busybox nc quits when its stdin ends: -e gives the listener the socket as stdin)
nc -l -p 5000 -e sh -c 'cat >/tmp/rx'
echo "GUEST-RXBYTES $(wc -c </tmp/rx)"
echo "GUEST-RXMD5 $(md5sum </tmp/rx)"
rm -f /tmp/rx
grep -E '^(Ip|Tcp):' /proc/net/snmp | sed 's/^/GUEST-SNMP /'
# vRSS: twelve TCP streams at once from the host; each channel's counters before and after
chan() {
	for dev in /sys/bus/vmbus/devices/*; do
		drv=$(readlink "$dev/driver")
		[ "${drv##*/}" = hv_netvsc ] || continue
		for c in "$dev"/channels/*; do
			echo "GUEST-CHAN $1 ${c##*/} interrupts=$(cat "$c/interrupts" 2>/dev/null) events=$(cat "$c/events" 2>/dev/null) cpu=$(cat "$c/cpu" 2>/dev/null)"
		done
	done
}
echo "GUEST-NCHAN $(ls -d /sys/class/net/eth0/queues/rx-* | wc -l)"
dmesg | grep -iE 'netvsc|eth0' | tail -n 5 | sed 's/^/GUEST-DMESG /'
# packets each CPU's receive softirq processed (first column, hex)
softnet() {
	c=0
	while read -r n rest; do
		echo "GUEST-SOFTNET $1 cpu$c $n"
		c=$((c + 1))
	done </proc/net/softnet_stat
}
chan before
softnet before
for p in $(seq 5010 5021); do nc -l -p $p -e sh -c 'cat >/dev/null' & done
echo GUEST-MQ-LISTEN
wait
chan after
softnet after
echo GUEST-MQ-DONE
# guest to host
head -c $((MB * 1048576)) /dev/urandom >/tmp/blob
echo "GUEST-TXMD5 $(md5sum </tmp/blob)"
i=0
until nc 10.77.0.1 5001 </tmp/blob; do
	i=$((i + 1))
	[ $i -lt 30 ] || break
	sleep 1
done
rm -f /tmp/blob
echo GUEST-TXDONE
# carrier: the host takes it down, then up
i=0
while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 0 ] && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
echo "GUEST-CARRIER-DOWN $(cat /sys/class/net/eth0/carrier 2>/dev/null)"
i=0
while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 1 ] && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
echo "GUEST-CARRIER-UP $(cat /sys/class/net/eth0/carrier 2>/dev/null)"
# the interface goes down and up in the guest, and still works
ip link set eth0 down
sleep 1
ip link set eth0 up
sleep 2
if ping -c 3 -W 2 10.77.0.1 >/dev/null 2>&1; then echo GUEST-PING2-OK; else echo GUEST-PING2-FAIL; fi
# jumbo frames: hv_netvsc reopens the channel with new buffers for MTU 9000
ip link set eth0 mtu 9000
sleep 3
echo "GUEST-MTU $(cat /sys/class/net/eth0/mtu)"
i=0
until ping -c 1 -W 2 -s 8000 10.77.0.1 >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 20 ] || break
	sleep 1
done
if ping -c 3 -W 2 -s 8000 10.77.0.1 >/dev/null 2>&1; then echo GUEST-JUMBO-OK; else echo GUEST-JUMBO-FAIL; fi
ip link set eth0 mtu 1500
sleep 3
if ping -c 3 -W 2 10.77.0.1 >/dev/null 2>&1; then echo GUEST-PING3-OK; else echo GUEST-PING3-FAIL; fi
echo GUEST-NET-DONE
while :; do sleep 1; done
G
scripts/mkguest -o "$tmp/net.cpio.gz" --init "$tmp/net.sh" >/dev/null || fail "mkguest"

# gso_of DEV: the link's GSO size limit (gso_max_size), empty when it has none.
gso_of() {
	ip -d link show "$1" 2>/dev/null | sed -n 's/.* gso_max_size \([0-9]*\).*/\1/p' | head -n 1
}
# vmwp_died: vmwp (and so the guest) is gone before the tier stopped it,
# e.g. a guest crash: one FAIL with vmwp's last words, then stop at once
# (check_done reports the checks that could not run) instead of waiting for
# a guest that will never answer.
vmwp_died() {
	wait "$pid"
	fail "vmwp runs until the tier stops it" "vmwp exited $? early: $(grep -E 'vmwp:' "$vlog" | tail -n 3 | tr '\n' '|')"
	tail -n 20 "$log"
	tail -n 20 "$vlog"
	# linhv.ko logs the VP's state and its last exits on a triple fault.
	dmesg | grep -E 'linhv|BUG|WARNING' | tail -n 40
	rm -rf "$tmp"
	check_done
	exit 1
}

# wait_log PATTERN SECS: until vmwp's log has PATTERN; stops the tier when
# vmwp exits first.
wait_log() {
	i=0
	while ! grep -qE -- "$1" "$log" 2>/dev/null && [ $i -lt "$2" ]; do
		kill -0 "$pid" 2>/dev/null || vmwp_died
		sleep 1
		i=$((i + 1))
	done
	grep -qE -- "$1" "$log" 2>/dev/null
}

# watch_job SECS PID: wait up to SECS for the tier's background job PID,
# stopping it (and the tier) as soon as vmwp exits: a TCP peer that crashed
# never closes its end.
watch_job() {
	i=0
	while kill -0 "$2" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			kill "$2" 2>/dev/null
			wait "$2"
			vmwp_died
		fi
		if [ $i -ge "$1" ]; then
			kill "$2" 2>/dev/null
			break
		fi
		sleep 1
		i=$((i + 1))
	done
	wait "$2"
}

: >"$log"
"$B" --backend "$BACKEND" --kernel "$K" --initrd "$tmp/net.cpio.gz" --cpus "$CPUS" --memory 768M \
	--nic "tap=$TAP,mac=$MAC" --cmdline "console=ttyS0 quiet" >"$log" 2>"$vlog" </dev/null &
pid=$!
i=0
while ! ip link show "$TAP" >/dev/null 2>&1 && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
if ip link show "$TAP" >/dev/null 2>&1; then pass "vmwp created the TAP $TAP"; else fail "vmwp created the TAP $TAP"; fi
# netvsp caps the TAP's GSO size (NETVSP_BACKEND_FRAME_MAX): larger frames cost hv_netvsc a 128 KiB buffer.
gso=$(gso_of "$TAP")
if [ "${gso:-0}" = 64512 ]; then pass "vmwp capped the TAP's GSO size at 64512"; else fail "vmwp capped the TAP's GSO size at 64512" "gso_max_size ${gso:-unknown}"; fi
ip addr add 10.77.0.1/24 dev "$TAP"
ip link set "$TAP" up

if wait_log '^GUEST-MAC' 300; then pass "guest has eth0"; else fail "guest has eth0" "$(tail -n 5 "$log" | tr '\n' '|')"; fi
check_grep "guest eth0 has the configured MAC" "^GUEST-MAC $MAC" "$log"
wait_log '^GUEST-PING-(OK|FAIL)' 200
check_grep "guest pings the host's TAP address" '^GUEST-PING-OK' "$log"
if busybox ping -c 3 -W 3 10.77.0.2 >"$out/host-ping.txt" 2>&1; then pass "host pings the guest"; else fail "host pings the guest" "$(tail -n 2 "$out/host-ping.txt" | tr '\n' '|')"; fi
# netvsp's data threads run SCHED_BATCH (its offer's batch_thread; the ICs
# have none): a guest's signal must not preempt its VP on the same CPU
# (docs/netvsp.md, stop 44).
pol=""
for t in /proc/$pid/task/*; do
	case $(cat "$t/comm" 2>/dev/null) in vmbus-ch*) pol="$pol $(awk '{print $41}' "$t/stat")" ;; esac
done
case "$pol" in
*[!\ 3]* | "") fail "vmwp's channel threads run SCHED_BATCH" "policies:${pol:- no vmbus-ch thread}" ;;
*) pass "vmwp's channel threads run SCHED_BATCH (${pol# })" ;;
esac

# host to guest, with the TAP's GSO limit back at 64 KiB: the host's TCP sends frames
# longer than netvsp's limit, as through a bridge, and netvsp cuts them in two.
ip link set "$TAP" gso_max_size 65536
head -c $((MB * 1048576)) /dev/urandom >"$tmp/blob"
want=$(md5sum <"$tmp/blob" | cut -d' ' -f1)
wait_log '^GUEST-LISTEN' 60
sleep 1
t0=$(date +%s.%N)
busybox nc 10.77.0.2 5000 <"$tmp/blob" &
watch_job 600 $!
wait_log '^GUEST-RXMD5' 600
t1=$(date +%s.%N)
got=$(sed -n 's/^GUEST-RXMD5 \([0-9a-f]*\).*/\1/p' "$log" | tr -d '\r' | head -n 1)
if [ -n "$got" ] && [ "$got" = "$want" ]; then pass "$MB MiB host to guest over TCP, same md5"; else fail "$MB MiB host to guest over TCP, same md5" "want $want got ${got:-none}"; fi
echo "host to guest: $MB MiB in $(echo "$t1 - $t0" | bc) s"
rm -f "$tmp/blob"

# vRSS: twelve streams from fixed local ports; netvsp steers each by the
# guest's Toeplitz hash and table (entry i names channel i % 2). With four
# streams, 1 run in 8 saw all of them on one channel (netvsp now logs each
# receive-scaling change, to tell whether scaling was off then); twelve
# flows spread even if the hash were random (all on one: 1 in 2048).
[ "$CPUS" -lt 2 ] || check_grep "vmwp granted the guest a sub-channel" 'netvsp: [0-9]+ sub-channels asked, 1 granted' "$vlog"
wait_log '^GUEST-MQ-LISTEN' 120
sleep 1
head -c $((MQ_MB * 1048576)) /dev/urandom >"$tmp/mq"
t0=$(date +%s.%N)
mqpids=
for i in $(seq 1 $MQ_STREAMS); do
	busybox nc -p $((40000 + i)) 10.77.0.2 $((5009 + i)) <"$tmp/mq" &
	mqpids="$mqpids $!"
done
mqrc=0
# A crashed guest never closes its ends: watch_job stops the tier then.
for p in $mqpids; do watch_job 300 "$p" || mqrc=1; done
wait_log '^GUEST-MQ-DONE' 300
t1=$(date +%s.%N)
echo "host to guest, $MQ_STREAMS streams: $((MQ_STREAMS * MQ_MB)) MiB in $(echo "$t1 - $t0" | bc) s (nc exit $mqrc)"
rm -f "$tmp/mq"
tr -d '\r' <"$log" | grep -E '^GUEST-(NCHAN|CHAN)'
nch=$(tr -d '\r' <"$log" | sed -n 's/^GUEST-NCHAN \([0-9]*\).*/\1/p' | head -n 1)
if [ "$CPUS" -lt 2 ]; then :; elif [ "${nch:-0}" -ge 2 ]; then pass "guest eth0 has $nch channels with $CPUS vCPUs"; else fail "guest eth0 has more than one channel with $CPUS vCPUs" "GUEST-NCHAN ${nch:-none}"; fi
# Each channel has its own vCPU (its cpu field) and hv_netvsc's NAPI runs there:
# receive traffic on two channels shows as packets processed on two CPUs.
tr -d '\r' <"$log" | awk '
	/^GUEST-CHAN before/ { v = $4; sub(/interrupts=/, "", v); b[$3] = v; e = $5; sub(/events=/, "", e); be[$3] = e }
	/^GUEST-CHAN after/ { v = $4; sub(/interrupts=/, "", v); e = $5; sub(/events=/, "", e)
		printf "channel %s (%s): %d interrupts, %d events\n", $3, $6, v - b[$3], e - be[$3] }'
busy=0
for cpu in $(tr -d '\r' <"$log" | sed -n 's/^GUEST-SOFTNET before \(cpu[0-9]*\) .*/\1/p'); do
	b=$(tr -d '\r' <"$log" | sed -n "s/^GUEST-SOFTNET before $cpu \([0-9a-f]*\).*/\1/p" | head -n 1)
	a=$(tr -d '\r' <"$log" | sed -n "s/^GUEST-SOFTNET after $cpu \([0-9a-f]*\).*/\1/p" | head -n 1)
	d=$((0x${a:-0} - 0x${b:-0}))
	echo "$cpu: $d packets processed during the $MQ_STREAMS streams"
	[ "$d" -ge 100 ] && busy=$((busy + 1))
done
if [ "$CPUS" -lt 2 ]; then :; elif [ "$busy" -ge 2 ]; then pass "receive traffic uses more than one channel (processed on $busy CPUs, >= 100 packets each)"; else fail "receive traffic uses more than one channel" "$busy CPU(s) processed >= 100 packets"; fi

# guest to host
busybox nc -l -p 5001 -e sh -c "cat >$tmp/rx" </dev/null &
ncpid=$!
t0=$(date +%s.%N)
wait_log '^GUEST-TXDONE' 900
watch_job 60 $ncpid
t1=$(date +%s.%N)
want=$(sed -n 's/^GUEST-TXMD5 \([0-9a-f]*\).*/\1/p' "$log" | tr -d '\r' | head -n 1)
got=$(md5sum <"$tmp/rx" | cut -d' ' -f1)
if [ -n "$want" ] && [ "$got" = "$want" ]; then pass "$MB MiB guest to host over TCP, same md5"; else fail "$MB MiB guest to host over TCP, same md5" "want ${want:-none} got $got ($(stat -c %s "$tmp/rx") bytes)"; fi
echo "guest to host: $MB MiB in $(echo "$t1 - $t0" | bc) s (including the guest's urandom)"
rm -f "$tmp/rx"
grep -E '^(Ip|Tcp):' /proc/net/snmp
ip -s link show "$TAP"

# carrier down and up on the host side
ip link set "$TAP" carrier off
wait_log '^GUEST-CARRIER-DOWN' 90
check_grep "guest sees the TAP's carrier go down" '^GUEST-CARRIER-DOWN 0' "$log"
ip link set "$TAP" carrier on
ip link set "$TAP" mtu 9000
wait_log '^GUEST-CARRIER-UP' 90
check_grep "guest sees the TAP's carrier come back" '^GUEST-CARRIER-UP 1' "$log"
wait_log '^GUEST-NET-DONE' 120
check_grep "guest: eth0 down/up, then ping again" '^GUEST-PING2-OK' "$log"
check_grep "guest: MTU 9000 set" '^GUEST-MTU 9000' "$log"
check_grep "guest: 8000-byte pings at MTU 9000" '^GUEST-JUMBO-OK' "$log"
check_grep "guest: back to MTU 1500, ping again" '^GUEST-PING3-OK' "$log"
# The MTU change closed every channel: each logged the frames it sent to the guest.
grep -E 'netvsp: closed' "$vlog" | head -n 4
f0=$(grep -E '\(channel 0\): netvsp: closed' "$vlog" | head -n 1 | sed -n 's/.*to guest \([0-9]*\) frames.*/\1/p')
f1=$(grep -E '\(sub-channel 1\): netvsp: closed' "$vlog" | head -n 1 | sed -n 's/.*to guest \([0-9]*\) frames.*/\1/p')
if [ "$CPUS" -lt 2 ]; then :; elif [ "${f0:-0}" -ge 100 ] && [ "${f1:-0}" -ge 100 ]; then pass "host: the primary and the sub-channel both carried receive frames ($f0, $f1)"; else fail "host: the primary and the sub-channel both carried receive frames" "primary ${f0:-none}, sub-channel ${f1:-none}"; fi
# The frames longer than its limit (the first transfer) reached the guest in two parts.
# (each channel's first close: its counters keep counting after)
cut=$(grep -E 'channel [0-9]+\): netvsp: closed' "$vlog" | sed -n 's/.*(\(.*channel [0-9]*\)): .* coalesced, \([0-9]*\) cut,.*/\1 \2/p' |
	awk '!seen[$1 $2]++ { s += $NF } END { print s + 0 }')
if [ "${cut:-0}" -ge 10 ]; then pass "host: GSO frames longer than the guest's buffer were cut ($cut)"; else fail "host: GSO frames longer than the guest's buffer were cut" "${cut:-none} cut"; fi

kill -0 "$pid" 2>/dev/null || vmwp_died
pass "vmwp runs until the tier stops it"
kill "$pid" 2>/dev/null
wait "$pid"
i=0
while ip link show "$TAP" >/dev/null 2>&1 && [ $i -lt 10 ]; do sleep 1; i=$((i + 1)); done
if ip link show "$TAP" >/dev/null 2>&1; then fail "the TAP is gone after vmwp exits"; else pass "the TAP is gone after vmwp exits"; fi
grep -E 'vmbus: .*closing the channel|netvsp' "$vlog" | head -n 10
if grep -qE 'vmbus: .*closing the channel' "$vlog"; then fail "no channel closed for a protocol error"; else pass "no channel closed for a protocol error"; fi

# --nic bridge=BR: vmwp creates a TAP on the bridge, and the guest's link stays up and
# carries traffic through it (the bridge holds the host's address now: the TAP above is
# gone); the TAP goes away with vmwp, even on SIGKILL.
BR=lnetbr0
modprobe bridge 2>/dev/null
ip link add "$BR" type bridge && ip addr add 10.77.0.1/24 dev "$BR" && ip link set "$BR" up
blog=$out/bridge.log
"$B" --backend "$BACKEND" --kernel "$K" --initrd "$tmp/net.cpio.gz" --cpus 1 --memory 256M \
	--nic "bridge=$BR" --cmdline "console=ttyS0 quiet" >"$blog" 2>&1 </dev/null &
bpid=$!
i=0
while [ -z "$(ip -o link show master "$BR" 2>/dev/null)" ] && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
port=$(ip -o link show master "$BR" 2>/dev/null | awk -F': ' '{ print $2 }' | head -n 1)
if [ -n "$port" ]; then pass "--nic bridge: a TAP ($port) is on the bridge while vmwp runs"; else fail "--nic bridge: a TAP is on the bridge while vmwp runs" "$(tail -n 3 "$blog" | tr '\n' '|')"; fi
check_grep "--nic bridge: vmwp reports a default MAC from the locally administered range" 'nic 0: .* on bridge lnetbr0, mac 02:4c:' "$blog"
i=0
while ! grep -qE 'GUEST-PING-(OK|FAIL)' "$blog" && kill -0 "$bpid" 2>/dev/null && [ $i -lt 240 ]; do
	sleep 1
	i=$((i + 1))
done
check_grep "--nic bridge: the guest pings the bridge's address" "^GUEST-PING-OK" "$blog"
busybox ping -c 1 -W 2 10.77.0.2 >/dev/null 2>&1 # neighbour resolution
busybox ping -c 5 -W 2 10.77.0.2 >"$out/bridge-ping.txt" 2>&1
check_grep "--nic bridge: the bridge's address pings the guest, no loss" " 0% packet loss" "$out/bridge-ping.txt"
kill -9 "$bpid"
wait "$bpid" 2>/dev/null
i=0
while [ -n "$port" ] && ip link show "$port" >/dev/null 2>&1 && [ $i -lt 10 ]; do sleep 1; i=$((i + 1)); done
if [ -n "$port" ] && ! ip link show "$port" >/dev/null 2>&1; then pass "--nic bridge: the TAP is gone after SIGKILL"; else fail "--nic bridge: the TAP is gone after SIGKILL"; fi
ip link del "$BR"

# An existing TAP (--nic tap=NAME) gets its own GSO size back when vmwp exits.
PRE=lnetpre0
ip tuntap add dev "$PRE" mode tap vnet_hdr
plog=$out/pretap.log
"$B" --backend "$BACKEND" --kernel "$K" --initrd "$tmp/net.cpio.gz" --cpus 1 --memory 256M \
	--nic "tap=$PRE" --cmdline "console=ttyS0 quiet" >"$plog" 2>&1 </dev/null &
ppid=$!
i=0
while ! grep -q 'started: ' "$plog" && kill -0 "$ppid" 2>/dev/null && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
during=$(gso_of "$PRE")
kill "$ppid" 2>/dev/null
wait "$ppid"
prc=$?
after=$(gso_of "$PRE")
if [ "$during" = 64512 ] && [ "$after" = 65536 ] && [ "$prc" = 0 ]; then pass "--nic tap=: an existing TAP's GSO size is capped while vmwp runs and restored after"; else fail "--nic tap=: an existing TAP's GSO size is capped while vmwp runs and restored after" "during ${during:-none}, after ${after:-none}, vmwp exit $prc"; fi
# A start that fails after the cap (no such bridge) leaves the TAP as it found it.
"$B" --backend "$BACKEND" --kernel "$K" --initrd "$tmp/net.cpio.gz" --cpus 1 --memory 256M \
	--nic "tap=$PRE,bridge=lnetnone0" --cmdline "console=ttyS0 quiet" >"$out/pretap-fail.log" 2>&1 </dev/null
frc=$?
after=$(gso_of "$PRE")
if [ "$frc" != 0 ] && grep -q 'lnetnone0' "$out/pretap-fail.log" && [ "$after" = 65536 ]; then pass "--nic tap=,bridge=: a missing bridge fails with a message and leaves the TAP's GSO size alone"; else fail "--nic tap=,bridge=: a missing bridge fails with a message and leaves the TAP's GSO size alone" "exit $frc, after ${after:-none}: $(tail -n 1 "$out/pretap-fail.log")"; fi
ip link del "$PRE"
backend_unload "$BACKEND" "the network tier" "$out/dmesg.txt"
rm -rf "$tmp"
check_done

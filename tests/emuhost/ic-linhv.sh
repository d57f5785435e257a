#!/bin/sh
# Emulated-host tier: the VMBus integration services (heartbeat, shutdown,
# timesync, KVP) against Debian's stock guest kernel and hv_kvp_daemon, driven
# through vmwp-ctl. linhv backend by default; IC_BACKEND=kvm (tests/emuhost/ic-kvm.sh)
# runs the same checks on kvm_amd.
#   sh tests/emuhost/ic-linhv.sh OUTDIR      (run inside scripts/emuhost)
. tests/lib/check.sh
. tests/lib/backend.sh
BACKEND=${IC_BACKEND:-linhv}
CHECK_PREFIX="$BACKEND: "
# On linhv.ko two more: the unload and dmesg checks.
if [ "$BACKEND" = linhv ]; then check_expect 20; else check_expect 18; fi

out=${1:-/tmp/ic-$BACKEND}
mkdir -p "$out"
B=$BUILD/vmm/vmwp/vmwp
CTL=$BUILD/vmm/vmwp/vmwp-ctl
K=${LINHV_GUEST_KERNEL:-$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -n 1)}
tmp=$(mktemp -d)
sock=/run/ic-$BACKEND.ctl
log=$out/ic.log

{ cat /sys/devices/system/clocksource/clocksource0/current_clocksource; dmesg | grep -i tsc; } >"$out/host-clock.txt" 2>&1
backend_load "$BACKEND"

# The guest boots with its RTC at 2001-01-01 (vmwp --rtc-base); mkguest's /init
# prints the clock before it loads hv_utils, whose timesync channel then gets a
# SYNC sample and steps the clock to the host's.
# Guest: report the VMBus facts, print the clock (tag boot), set the clock wrong,
# reload hv_utils (its channels close and reopen; the reopened timesync channel
# gets a SYNC sample and steps the clock), print the clock again (tag reload),
# then start hv_kvp_daemon under the hostname kvptest and idle until the shutdown IC.
cat >"$tmp/ic.sh" <<'G'
#!/bin/sh
echo "GUEST-HOSTNOW ${hostnow:-none}"
dmesg | grep -i 'vmbus version' | sed 's/^/GUEST-DMESG /'
for d in /sys/bus/vmbus/devices/*; do
	drv=$(readlink "$d/driver" 2>/dev/null)
	echo "GUEST-DEV ${d##*/} class=$(cat "$d/class_id") driver=${drv##*/}"
done
# Print the clock as sec usec: one fork (adjtimex reads it), parsed by the shell.
tick() {
	set -- $(adjtimex)
	while [ $# -gt 0 ]; do
		case $1 in time.tv_sec:) s=$2 ;; time.tv_usec:) u=$2 ;; esac
		shift
	done
	echo "GUEST-TIME $tag $s $u"
}
sleep 2
for i in 1 2 3; do tag=boot tick; sleep 1; done
date -s '2001-01-01 00:00:00' >/dev/null
echo "GUEST-CLOCK-WRONG $(date +%s)"
sleep 7
tag=samples tick
for m in $(grep '/hv_utils.ko' /etc/hv-modules); do
	rmmod hv_utils && echo GUEST-RMMOD-OK
	sleep 3
	insmod "$m" && echo GUEST-INSMOD-OK
done
sleep 4
for i in 1 2 3; do tag=reload tick; sleep 1; done
mkdir -p /var/lib/hyperv
# hv_kvp_daemon reports getaddrinfo(hostname)'s canonical name, read once at start.
hostname kvptest
echo '127.0.0.1 localhost' >/etc/hosts
echo '127.0.1.1 kvptest' >>/etc/hosts
echo 'hosts: files' >/etc/nsswitch.conf
# A non-loopback address for the KVP IP report (dummy0 comes with the dummy module).
ip addr add 192.0.2.10/24 dev dummy0 && ip link set dummy0 up
/usr/sbin/hv_kvp_daemon -n &
echo GUEST-KVP-STARTED
while :; do sleep 1; done
G
libs=""
for l in $(ldd /usr/sbin/hv_kvp_daemon | awk '/=> \// { print $3 } /^\t\/[^ ]*ld-linux/ { print $1 }'); do
	libs="$libs --add $(readlink -f "$l"):$l"
done
# shellcheck disable=SC2086
scripts/mkguest -o "$tmp/ic.cpio.gz" --init "$tmp/ic.sh" --module dummy \
	--add /usr/sbin/hv_kvp_daemon:/usr/sbin/hv_kvp_daemon \
	--add /usr/libexec/hypervkvpd/hv_get_dns_info:/usr/libexec/hypervkvpd/hv_get_dns_info \
	--add /usr/libexec/hypervkvpd/hv_get_dhcp_info:/usr/libexec/hypervkvpd/hv_get_dhcp_info \
	$libs || fail "mkguest"

# wait_log PATTERN SECONDS: until the vmwp log has a line matching PATTERN;
# gives up early when the worker has exited (a crashed guest).
wait_log() {
	i=0
	while ! grep -qE -- "$1" "$log" 2>/dev/null && [ $i -lt "$2" ]; do
		kill -0 "$pid" 2>/dev/null || break
		sleep 1
		i=$((i + 1))
	done
	grep -qE -- "$1" "$log" 2>/dev/null
}

# wait_status PATTERN SECONDS: until vmwp-ctl status matches PATTERN; reply in $st.
wait_status() {
	i=0
	while [ $i -lt "$2" ]; do
		st=$("$CTL" "$sock" status 2>&1)
		case $st in $1) return 0 ;; esac
		sleep 1
		i=$((i + 1))
	done
	return 1
}

# Empty the log first: the waits below must not see a previous run's lines.
: >"$log"
# vmwp's output goes through a FIFO: each line lands in the log and, stamped
# with the host's clock as it arrives, in ic-stamped.log for the clock checks.
# One perl process, no fork per line: the stamp is taken within microseconds.
mkfifo "$tmp/con"
perl -MTime::HiRes=time -e '
	open(my $log, ">>", $ARGV[0]) or die "$ARGV[0]: $!";
	open(my $st, ">", $ARGV[1]) or die "$ARGV[1]: $!";
	$log->autoflush(1);
	$st->autoflush(1);
	while (my $l = <STDIN>) {
		my $t = time;
		print $log $l;
		printf $st "%.6f %s", $t, $l;
	}' "$log" "$out/ic-stamped.log" <"$tmp/con" &
stamper=$!
"$B" --backend "$BACKEND" --kernel "$K" --initrd "$tmp/ic.cpio.gz" --cpus 2 --memory 512M \
	--rtc-base 2001-01-01 --cmdline "console=ttyS0 quiet hostnow=$(date +%s)" --control "$sock" >"$tmp/con" 2>"$out/vmwp.log" </dev/null &
pid=$!

# VMBus and the four IC devices bound to hv_utils.
wait_log '^GUEST-CLOCK-WRONG' 120
v=$(sed -n 's/.*Vmbus version: *\([0-9]*\)\.\([0-9]*\).*/\1 \2/p' "$log" | tr -d '\r' | head -n 1)
set -- $v
if [ "${1:-0}" -ge 5 ]; then pass "guest negotiated VMBus $1.$2 (>= 5.0)"; else fail "guest negotiated VMBus >= 5.0" "${v:-no version line}"; fi
for ic in heartbeat:57164f39-9115-4e78-ab55-382f3bd5422d shutdown:0e0b6031-5213-4934-818b-38d90ced39db \
	timesync:9527e630-d0ae-497b-adce-e80ab0175caf kvp:a9a0f4e7-5a45-4d96-b827-8a841e8c03e6; do
	name=${ic%%:*}
	guid=${ic#*:}
	check_grep "$name IC device bound to hv_utils" "^GUEST-DEV .* class=\{$guid\} driver=hv_utils" "$log"
done

# Timesync. Each GUEST-TIME line carries the guest's clock as it was read, and
# is stamped with the host's clock as it arrives; console latency only adds to
# the difference, so the smallest one bounds the guest's offset.
# check_time TAG WHAT: the best |diff| of the TAG samples is at most 1 s.
check_time() {
	best=$(grep " GUEST-TIME $1 " "$out/ic-stamped.log" | tr -d '\r' | awk -v tag="$1" '
		{ g = $4 + $5 / 1000000; d = $1 - g; if (d < 0) d = -d
		  printf "timesync %s: guest %.3f host %.3f |diff| %.3f\n", tag, g, $1, d > "/dev/stderr"
		  if (n == 0 || d < best) best = d; n++ }
		END { if (n) printf "%.3f", best }')
	echo "timesync $1: best |diff| ${best:-none} s"
	if [ -n "$best" ] && awk -v d="$best" 'BEGIN { exit !(d <= 1.0) }'; then
		pass "timesync: $2"
	else
		fail "timesync: $2" "best |diff| ${best:-none}"
	fi
}

# At boot: the clock came from the RTC (2001-01-01 = 978307200, well before the
# host's time), and hv_utils' first timesync sample stepped it, without a reload.
b=$(sed -n 's/^guest: clock at boot=\([0-9]*\).*/\1/p' "$log" | head -n 1)
echo "guest: clock at boot=${b:-none} (host $(date +%s))"
if [ -n "$b" ] && [ "$b" -ge 978307200 ] && [ "$b" -lt 1009843200 ]; then
	pass "guest clock at boot is in 2001 (from --rtc-base)"
else
	fail "guest clock at boot is in 2001 (from --rtc-base)" "clock at boot=${b:-none}"
fi
i=0
while ! grep -q 'GUEST-CLOCK-WRONG' "$out/ic-stamped.log" && [ $i -lt 10 ]; do sleep 1; i=$((i + 1)); done
check_time boot "guest clock within 1 s of the host after boot"

# After a reload: the reopened timesync channel gets a SYNC sample and steps the
# clock that date -s set wrong.
wait_log '^GUEST-TIME reload' 90
sleep 6
check_time reload "guest clock within 1 s of the host after an hv_utils reload"

# Reloading hv_utils closed and reopened the IC channels; the heartbeat is back.
check_grep "guest reloaded hv_utils" '^GUEST-INSMOD-OK' "$log"
c=$(grep -c 'vmwp: vmbus: .*relid .*closed by the guest' "$out/vmwp.log")
o=$(grep -c 'vmwp: vmbus: .*relid .*opened:' "$out/vmwp.log")
if [ "$c" -ge 4 ] && [ "$o" -ge 8 ]; then pass "vmwp logs the IC channels closing and reopening"; else fail "vmwp logs the IC channels closing and reopening" "$c closed, $o opened"; fi
if wait_status '*heartbeat=ok*' 30; then pass "heartbeat ok after the reload"; else fail "heartbeat ok after the reload" "$st"; fi

# KVP: hv_kvp_daemon reports the hostname; vmwp-ctl status shows it.
if wait_status '*hostname=kvptest*' 60; then
	pass "status shows hostname=kvptest"
else
	fail "status shows hostname=kvptest" "$st"
	# Did the daemon start, and did anything in the guest crash?
	grep -E 'GUEST-KVP|Segmentation|hv_kvp|BUG|Oops' "$log" | head -n 10
fi
echo "status: $st"
case $st in *ipv4=192.0.2.10*) pass "status shows the guest's IPv4 address (ipv4=192.0.2.10)" ;; *) fail "status shows the guest's IPv4 address" "$st" ;; esac
kv=$("$CTL" "$sock" kvp 2>&1)
echo "kvp: $kv"
case $kv in "ok "*FullyQualifiedDomainName=kvptest*OSName=*) pass "vmwp-ctl kvp lists the guest's auto pool" ;;
*"ok "*OSName=*FullyQualifiedDomainName=kvptest*) pass "vmwp-ctl kvp lists the guest's auto pool" ;;
*) fail "vmwp-ctl kvp lists the guest's auto pool" "$kv" ;; esac

# Shutdown through the shutdown IC.
r=$("$CTL" "$sock" shutdown)
rc=$?
case "$r/$rc" in "ok "*/0) pass "vmwp-ctl shutdown accepted" ;; *) fail "vmwp-ctl shutdown accepted" "$r, exit $rc" ;; esac
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
kill -0 $pid 2>/dev/null && kill $pid
wait $pid
rc=$?
if [ "$rc" -eq 0 ]; then pass "guest powered off through the shutdown IC -> exit 0"; else fail "guest powered off through the shutdown IC -> exit 0" "exit $rc"; fi
check_exit "vmwp-ctl after exit -> 2" 2 "$CTL" "$sock" status 2>/dev/null

wait $stamper 2>/dev/null # ends when vmwp closes the FIFO
rm -rf "$tmp"
backend_unload "$BACKEND" "the guest"
check_done

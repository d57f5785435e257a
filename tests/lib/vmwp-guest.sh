# shellcheck shell=sh
# The stock-Linux "power" guest of the vmwp tiers (vmwp-kvm.sh, vmwp-linhv.sh,
# vmwp.vmx.slow.sh) and the checks on its console log. Source
# tests/lib/check.sh first.

# vmwp_power_script FILE: writes the guest's script (run after
# LINHV-GUEST-READY by scripts/mkguest's /init): work on every CPU, the
# clocksource, high-resolution timers, the CMOS clock's device, unchecked-MSR
# warnings, each VMBus device with its driver, then poweroff.
vmwp_power_script() {
	cat >"$1" <<'G'
#!/bin/sh
for c in $(seq 0 $(($(nproc) - 1))); do
	taskset -c "$c" sh -c 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; echo "WORK-DONE cpu$0"' "$c" &
done
wait
echo "CLOCKSOURCE $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo "HRES $(grep -c 'hres_active *: 1' /proc/timer_list) of $(nproc)"
echo "RTC $(cat /sys/class/rtc/rtc0/since_epoch 2>/dev/null || echo none) CLOCK $(date +%s)"
echo "MSR-WARNINGS $(dmesg | grep -c 'unchecked MSR access')"
dmesg | grep -A1 'unchecked MSR access' | sed 's/^/MSR-WARNING: /'
for d in /sys/bus/vmbus/devices/*; do
	[ -e "$d" ] || continue
	drv=$(readlink "$d/driver" 2>/dev/null)
	echo "VMBUS-DEV ${d##*/} class=$(cat "$d/class_id") driver=${drv##*/}"
done
poweroff
G
}

# vmwp_power_checks N LOG [LABEL]: the 10 checks on the console log of an
# N-vCPU boot of that guest, named after LABEL (default "N vCPU").
vmwp_power_checks() {
	n=$1 log=$2 label=${3:-$1 vCPU}
	check_grep "$label: marker" '^LINHV-GUEST-READY' "$log"
	check_grep "$label: guest sees $n processors" "^guest: nproc=$n([^0-9]|\$)" "$log"
	check_grep "$label: Hyper-V detected" 'Hypervisor detected: Microsoft Hyper-V' "$log"
	check_grep "$label: Hyper-V clocksource" '^CLOCKSOURCE hyperv_clocksource' "$log"
	# A one-shot tick on every CPU: the APIC timer is taken to run in idle (ARAT).
	check_grep "$label: high-resolution timers on every CPU" "^HRES $n of $n([^0-9]|\$)" "$log"
	check_grep "$label: VMBus connected" 'guest: vmbus devices: [1-9]' "$log"
	# rtc_cmos bound to the DSDT's PNP0B00 device and reads the host's time.
	rtc=$(sed -n 's/^RTC \([0-9][0-9]*\) CLOCK \([0-9][0-9]*\).*/\1 \2/p' "$log" | head -n 1)
	if [ -n "$rtc" ] && [ "$(echo "$rtc" | awk '{ d = $1 - $2; print (d < 0 ? -d : d) <= 5 }')" = 1 ]; then
		pass "$label: guest's rtc0 reads its clock"
	else
		fail "$label: guest's rtc0 reads its clock" "$(grep -m1 '^RTC ' "$log" || echo 'no RTC line')"
	fi
	# Every MSR a stock kernel reads at boot is answered (no #GP splat in its log).
	check_grep "$label: no unchecked MSR access in the guest's log" '^MSR-WARNINGS 0' "$log"
	c=$(grep -c '^WORK-DONE cpu' "$log")
	if [ "$c" -eq "$n" ]; then pass "$label: every VP ran work"; else fail "$label: every VP ran work" "$c of $n"; fi
	# A driver that failed its handshake with our VSP leaves its device unbound.
	c=$(grep -c '^VMBUS-DEV ' "$log")
	u=$(grep '^VMBUS-DEV .* driver=$' "$log" | sed 's/.*class=//' | tr '\n' ' ')
	if [ "$c" -gt 0 ] && [ -z "$u" ]; then
		pass "$label: every VMBus device has its driver ($c)"
	else
		fail "$label: every VMBus device has its driver ($c)" "unbound: ${u:-no devices}"
	fi
}

# vmwp_more_kernels: the kernel images scripts/install-deps unpacked into
# build/guest-kernels (Debian 12's Linux 6.12, Debian 11's 5.10; not
# installed), oldest first, one per line, or nothing.
vmwp_more_kernels() {
	# shellcheck disable=SC2012
	ls build/guest-kernels/*/boot/vmlinuz-* 2>/dev/null | sort -V
}

# shellcheck shell=sh
# assign.sh's NVMe part (issue 12's acceptance 1): the emulated host's NVMe
# controller (tests/emuhost/assign.prep: QEMU's nvme on a raw image) goes to
# pci-stub and, through vmwp --assign-pci, to a stock Debian guest, whose
# pci-hyperv and nvme drivers bind; it writes 32 MiB with O_DIRECT and reads
# them back; the same bytes are in the image afterwards. Source
# tests/lib/check.sh first; needs linhv.ko loaded.

NVME_CHECKS=17

# nvme_start LOG: vmwp with the NVMe controller (nb, ntmp, nvme, nsock set) in
# the background (npid), back once the guest is done with the disk.
nvme_start() {
	: >"$1"
	# vmwp itself (no timeout(1) in between): the SIGKILL below is for it.
	"$nb/vmm/vmwp/vmwp" --backend linhv --kernel "$ntmp/vmlinuz" --initrd "$ntmp/g.cpio.gz" \
		--memory 512M --cmdline "console=ttyS0 quiet" --assign-pci "$nvme" --control "$nsock" \
		>"$1" 2>"${1%.log}-vmwp.log" </dev/null &
	npid=$!
	i=0
	while ! grep -qE '^NVME-(IDLE|NO-DISK)' "$1" && [ $i -lt 3000 ] && kill -0 $npid 2>/dev/null; do
		sleep 0.2
		i=$((i + 1))
	done
}

# nvme_wait: vmwp's exit status (npid), killing it after 180 s.
nvme_wait() {
	wait_or_kill $npid 180
}

# nvme_sums_match LOG: the guest's data and read-back checksums are equal.
nvme_sums_match() {
	a=$(sed -n 's/^NVME-DATA \([0-9a-f]\{64\}\).*/\1/p' "$1" | head -n 1)
	b=$(sed -n 's/^NVME-READ \([0-9a-f]\{64\}\).*/\1/p' "$1" | head -n 1)
	[ -n "$a" ] && [ "$a" = "$b" ]
}

# nvme_guest_checks BUILD OUTDIR IMAGE: the NVME_CHECKS checks.
nvme_guest_checks() {
	nb=$1 nout=$2 nimg=$3
	nvme=
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1b36:0x0010 ] && nvme=${d##*/}
	done
	if [ -n "$nvme" ]; then pass "NVMe controller present ($nvme)"; else fail "NVMe controller present" "not on the PCI bus"; fi
	echo pci-stub >"/sys/bus/pci/devices/$nvme/driver_override"
	[ -e "/sys/bus/pci/devices/$nvme/driver" ] && echo "$nvme" >"/sys/bus/pci/devices/$nvme/driver/unbind"
	echo "$nvme" >/sys/bus/pci/drivers_probe
	check "NVMe controller bound to pci-stub" \
		test "$(basename "$(readlink "/sys/bus/pci/devices/$nvme/driver")")" = pci-stub
	ntmp=$(mktemp -d)
	K=${LINHV_GUEST_KERNEL:-$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -n 1)}
	cp "$K" "$ntmp/vmlinuz"
	check mkguest scripts/mkguest -o "$ntmp/g.cpio.gz" --init tests/emuhost/assign.d/nvme-guest-init \
		--module pci-hyperv --module nvme --bin /usr/bin/sha256sum
	nlog=$nout/nvme-guest.log
	nsock=/run/assign-nvme.ctl
	nvme_start "$nlog"
	# A shutdown: vmwp asks for the device back first (eject), then the IC.
	"$nb/vmm/vmwp/vmwp-ctl" "$nsock" shutdown >"$nout/nvme-shutdown.txt" 2>&1
	nvme_wait
	rc=$?
	if [ $rc -eq 0 ]; then pass "vmwp --assign-pci: the guest shut down (exit 0)"; else
		fail "vmwp --assign-pci: the guest shut down (exit 0)" "exit $rc: $(head -n 3 "$nout/nvme-guest-vmwp.log" | tr '\n' ' ')"
	fi
	check_grep "the shutdown asked for the device back first" 'assigned device\(s\) back first' \
		"$nout/nvme-shutdown.txt"
	# pci-hyperv says so only once the device is off its bus, driver removed.
	check_grep "the guest gave the device back (ejected before the shutdown)" \
		'the guest gave the function back' \
		"$nout/nvme-guest-vmwp.log"
	check_grep "the guest's nvme driver bound the function pci-hyperv found" \
		'^NVME-PCIDEV .* 0x1b36:0x0010 class=0x010802 driver=nvme' "$nlog"
	check_grep "the guest sees /dev/nvme0n1" '^NVME-DISK sectors=[1-9]' "$nlog"
	check_grep "32 MiB written with O_DIRECT" '^NVME-WRITE-OK' "$nlog"
	wsum=$(sed -n 's/^NVME-DATA \([0-9a-f]\{64\}\).*/\1/p' "$nlog" | head -n 1)
	rsum=$(sed -n 's/^NVME-READ \([0-9a-f]\{64\}\).*/\1/p' "$nlog" | head -n 1)
	if [ -n "$wsum" ] && [ "$wsum" = "$rsum" ]; then pass "read back with O_DIRECT: same checksum"; else
		fail "read back with O_DIRECT: same checksum" "wrote ${wsum:-?}, read ${rsum:-?}"
	fi
	isum=$(head -c 33554432 "$nimg" 2>/dev/null | sha256sum | cut -d ' ' -f 1)
	if [ -n "$wsum" ] && [ "$wsum" = "$isum" ]; then pass "the NVMe image holds the guest's bytes after the VM"; else
		fail "the NVMe image holds the guest's bytes after the VM" "guest ${wsum:-?}, image ${isum:-?}"
	fi
	check "NVMe controller back on pci-stub after the VM" \
		test "$(basename "$(readlink "/sys/bus/pci/devices/$nvme/driver")")" = pci-stub

	# SIGKILL of vmwp while the guest holds the device; then the device,
	# bound to vfio-pci this time, goes to a new VM and works again.
	released=$(($(dmesg | grep -c "$nvme: linhv: detached") + 1))
	nvme_start "$nout/nvme-killed.log"
	kill -KILL $npid 2>/dev/null
	wait $npid
	rc=$?
	if [ $rc -eq 137 ] && grep -q '^NVME-IDLE' "$nout/nvme-killed.log"; then
		pass "vmwp SIGKILLed while its guest used the NVMe controller"
	else
		fail "vmwp SIGKILLed while its guest used the NVMe controller" "exit $rc"
	fi
	# The partition goes once its last file reference does: wait for the
	# kernel's detach line (the device's reset and unpinning take a while
	# in the emulated host).
	i=0
	while [ "$(dmesg | grep -c "$nvme: linhv: detached")" -lt $released ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ $i -lt 600 ] && ! grep -q "linhv-dev:$nvme" /proc/interrupts; then
		pass "the killed vmwp's partition gave the device and its host vectors back ($((i / 10)) s)"
	else
		fail "the killed vmwp's partition gave the device and its host vectors back" \
			"after $((i / 10)) s: $(grep -c "linhv-dev:$nvme" /proc/interrupts) host vectors left"
	fi
	modprobe vfio-pci 2>/dev/null
	echo vfio-pci >"/sys/bus/pci/devices/$nvme/driver_override"
	echo "$nvme" >"/sys/bus/pci/devices/$nvme/driver/unbind"
	echo "$nvme" >/sys/bus/pci/drivers_probe
	check "NVMe controller bound to vfio-pci" \
		test "$(basename "$(readlink "/sys/bus/pci/devices/$nvme/driver")")" = vfio-pci
	nvme_start "$nout/nvme-vfio.log"
	"$nb/vmm/vmwp/vmwp-ctl" "$nsock" shutdown >/dev/null 2>&1
	nvme_wait
	rc=$?
	if [ $rc -eq 0 ]; then pass "assigned again from vfio-pci: the guest shut down (exit 0)"; else
		fail "assigned again from vfio-pci: the guest shut down (exit 0)" "exit $rc: $(head -n 3 "$nout/nvme-vfio-vmwp.log" | tr '\n' ' ')"
	fi
	if nvme_sums_match "$nout/nvme-vfio.log"; then
		pass "from vfio-pci: 32 MiB written and read back with the same checksum"
	else
		fail "from vfio-pci: 32 MiB written and read back with the same checksum" \
			"$(grep -E '^NVME-(DISK|NO-DISK|WRITE)' "$nout/nvme-vfio.log" | tr '\n' ' ')"
	fi
	rm -rf "$ntmp"
}

# shellcheck shell=sh
# assign.sh's NVMe part (issue 12's acceptance 1): the emulated host's NVMe
# controller (tests/emuhost/assign.prep: QEMU's nvme on a raw image) goes to
# pci-stub and, through vmwp --assign-pci, to a stock Debian guest, whose
# pci-hyperv and nvme drivers bind; it writes 32 MiB with O_DIRECT and reads
# them back; the same bytes are in the image afterwards. Source
# tests/lib/check.sh first; needs linhv.ko loaded.

NVME_CHECKS=12

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
	K=$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -n 1)
	cp "$K" "$ntmp/vmlinuz"
	check mkguest scripts/mkguest -o "$ntmp/g.cpio.gz" --init tests/emuhost/assign.d/nvme-guest-init \
		--module pci-hyperv --module nvme --bin /usr/bin/sha256sum
	nlog=$nout/nvme-guest.log
	nsock=/run/assign-nvme.ctl
	: >"$nlog"
	timeout 600 "$nb/vmm/vmwp/vmwp" --backend linhv --kernel "$ntmp/vmlinuz" --initrd "$ntmp/g.cpio.gz" \
		--memory 512M --cmdline "console=ttyS0 quiet" --assign-pci "$nvme" --control "$nsock" \
		>"$nlog" 2>"$nout/nvme-vmwp.log" </dev/null &
	npid=$!
	i=0
	while ! grep -qE '^NVME-(IDLE|NO-DISK)' "$nlog" && [ $i -lt 3000 ] && kill -0 $npid 2>/dev/null; do
		sleep 0.2
		i=$((i + 1))
	done
	# A shutdown: vmwp asks for the device back first (eject), then the IC.
	"$nb/vmm/vmwp/vmwp-ctl" "$nsock" shutdown >"$nout/nvme-shutdown.txt" 2>&1
	wait $npid
	rc=$?
	if [ $rc -eq 0 ]; then pass "vmwp --assign-pci: the guest shut down (exit 0)"; else
		fail "vmwp --assign-pci: the guest shut down (exit 0)" "exit $rc: $(head -n 3 "$nout/nvme-vmwp.log" | tr '\n' ' ')"
	fi
	check_grep "the shutdown asked for the device back first" 'assigned device\(s\) back first' \
		"$nout/nvme-shutdown.txt"
	# pci-hyperv says so only once the device is off its bus, driver removed.
	check_grep "the guest gave the device back (ejected before the shutdown)" \
		'the guest gave the function back' \
		"$nout/nvme-vmwp.log"
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
	rm -rf "$ntmp"
}

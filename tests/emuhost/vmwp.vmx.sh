#!/bin/sh
# Emulated-host tier on the VMX (Bochs) machine: vmwp boots Debian's stock
# kernel with a scripts/mkguest initramfs on linhv.ko with Intel VT-x and EPT,
# one vCPU, no disk, and checks what vmwp-linhv.sh checks of its first boot:
# userspace reached, Hyper-V detected, the Hyper-V clocksource, VMBus, and
# here also the four integration-service devices bound to hv_utils.
# vmwp.vmx.prep (run by scripts/test on the host first) builds the
# guest's initramfs and has emuhost carry it and the kernel in.
#   sh tests/emuhost/vmwp.vmx.sh OUTDIR      (inside scripts/emuhost --vmx)
# VMWP_GUEST_CMDLINE replaces the guest's kernel command line.
cd "$(dirname "$0")/../.." || exit 2
. tests/lib/check.sh
. tests/lib/backend.sh
. tests/lib/vmwp-guest.sh
CHECK_PREFIX="linhv (VMX): "
# insmod, poweroff, the 9 power-guest checks, the ICs, rmmod and dmesg.
check_expect 15

out=${1:-/tmp/vmwp-vmx}
mkdir -p "$out"
B=$BUILD/vmm/vmwp/vmwp
K=${LINHV_GUEST_KERNEL:-$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -n 1)}
G=${VMWP_VMX_GUEST:-${out%/}.carry/power.cpio.gz}
tmp=$(mktemp -d)

dmesg -c >/dev/null
backend_load linhv

# The guest's console streams to this console too (progress of a long boot),
# each line after "guest| ", with the guest's "Kernel panic" in lower case:
# emuhost takes that text for a panic of the emulated host.
start=$(date +%s)
{
	timeout -k 10 "${VMWP_VMX_BOOT_TIMEOUT:-3000}" "$B" --backend linhv --kernel "$K" --initrd "$G" \
		--cpus 1 --memory 192M --cmdline "${VMWP_GUEST_CMDLINE:-console=ttyS0 quiet}" \
		2>"$out/power-1.vmwp.log" </dev/null
	echo $? >"$tmp/rc"
} | tee "$out/power-1.log" | while IFS= read -r l; do
	case $l in *"Kernel panic"*) l=$(echo "$l" | sed 's/Kernel panic/kernel panic/g') ;; esac
	echo "guest| $l"
done
rc=$(cat "$tmp/rc")
echo "power-1: exit $rc after $(($(date +%s) - start)) s by the emulated host's clock (Bochs: slower than wall time)"
if [ "$rc" -eq 0 ]; then pass "1 vCPU: poweroff -> exit 0"; else fail "1 vCPU: poweroff -> exit 0" "exit $rc"; fi
[ "$rc" -eq 0 ] || tail -n 20 "$out/power-1.vmwp.log"
vmwp_power_checks 1 "$out/power-1.log"
c=$(grep -c '^VMBUS-DEV .* driver=hv_utils' "$out/power-1.log")
if [ "$c" -eq 4 ]; then pass "1 vCPU: the four ICs bound (hv_utils)"; else fail "1 vCPU: the four ICs bound (hv_utils)" "$c bound"; fi
cat /sys/module/linhv/parameters/exit_counts 2>/dev/null

rm -rf "$tmp"
backend_unload linhv "the guest" "$out/dmesg.txt"
check_done

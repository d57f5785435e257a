# Runs inside one emulated host with an IOMMU and QEMU's edu device
# (tests/emuhost/assign.prep): linhv.ko's device domain. The edu device goes
# to pci-stub, a partition gets it, its DMA lands at guest physical addresses
# in the partition's memory, a DMA outside that memory faults in the IOMMU,
# detach and the partition's end (also by SIGKILL) give it back, and the
# module unloads with a clean dmesg. Its MSI, routed to a VP of a Hyper-V
# partition, arrives at the route's vector, is held while masked, moves when
# the guest retargets it, and its host vector goes with the route, the
# detach, the partition's end and a SIGKILL.
# Usage: sh tests/emuhost/assign.sh [OUTDIR]
cd "$(dirname "$0")/../.." || exit 2
. tests/lib/check.sh
. tests/emuhost/assign.d/nvme.sh
. tests/emuhost/assign.d/hostile.sh
KO=build/kmod/linhv.ko
B=build
OUT=${1:-/tmp}
mkdir -p "$OUT"
check_expect $((70 + NVME_CHECKS + HOSTILE_VPCI_CHECKS))

dmesg -C
edu=
busy=
for d in /sys/bus/pci/devices/*; do
	case "$(cat "$d/vendor"):$(cat "$d/device")" in
	0x1234:0x11e8) edu=${d##*/} ;;
	0x1af4:*) [ -e "$d/driver" ] && busy=${d##*/} ;; # virtio, bound to virtio-pci
	esac
done
if [ -n "$edu" ]; then pass "edu device present ($edu)"; else fail "edu device present" "not on the PCI bus"; fi
if [ -e "/sys/bus/pci/devices/$edu/iommu_group" ]; then
	pass "the IOMMU translates it (group $(basename "$(readlink "/sys/bus/pci/devices/$edu/iommu_group")"))"
else
	fail "the IOMMU translates it" "no iommu_group"
fi
check "pci-stub loaded" modprobe pci-stub
echo pci-stub >"/sys/bus/pci/devices/$edu/driver_override"
[ -e "/sys/bus/pci/devices/$edu/driver" ] && echo "$edu" >"/sys/bus/pci/devices/$edu/driver/unbind"
echo "$edu" >/sys/bus/pci/drivers_probe
check "edu bound to pci-stub" test "$(basename "$(readlink "/sys/bus/pci/devices/$edu/driver")")" = pci-stub
check "insmod linhv.ko" insmod $KO
$B/libwinhv/linhv-info >"$OUT/info.txt" 2>&1
check_grep "linhv-info reports the device domain" "^features:.*device_domain" "$OUT/info.txt"
check_grep "linhv-info reports device interrupts" "^features:.*device_interrupt" "$OUT/info.txt"
check_prog assign-tests $B/tests/hvcore/assign-tests "$edu" "$busy"
dmesg >"$OUT/dmesg-assign.txt"
check_grep "the DMA outside the partition faulted in the IOMMU at its GPA" \
	"DMAR: \[DMA Write.*\] Request device \[00:0*${edu#*:00:}" "$OUT/dmesg-assign.txt"
check_grep "fault address 0x8000000 logged" "fault addr 0x8000000" "$OUT/dmesg-assign.txt"
check_grep "the DMA the guest itself aimed outside its memory faulted at 0x9000000" "fault addr 0x9000000" \
	"$OUT/dmesg-assign.txt"
check_grep "linhv.ko logged the attach" "linhv: attached to partition" "$OUT/dmesg-assign.txt"
# vmwp --assign-pci: the NVMe controller to a stock guest; edu to the hostile image.
nvme_guest_checks "$B" "$OUT" "${OUT%/}.carry/nvme.img"
vpci_hostile_checks "$B" "$OUT" "$edu"
check "rmmod linhv" rmmod linhv
check "edu still bound to pci-stub" test "$(basename "$(readlink "/sys/bus/pci/devices/$edu/driver")")" = pci-stub

check_dmesg_clean "dmesg clean" "$OUT/dmesg.txt"
check_done

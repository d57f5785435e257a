# Runs inside the VMX (Bochs) emulated host: linhv.ko on Intel VT-x with EPT
# (load checks, VMX and EPT reported), the hypervisor-core guest suite, the
# ioctl robustness test and a clean unload (the SVM counterpart is hvcore.sh).
# About 5 minutes, the boot included.
# Usage: sh tests/emuhost/hvcore.vmx.sh [OUTDIR]
cd "$(dirname "$0")/../.." || exit 2
. tests/lib/check.sh
KO=build/kmod/linhv.ko
B=build
OUT=${1:-/tmp}
mkdir -p "$OUT"
# 122 checks: 11 of this script, 101 of hvcore-tests (one CPU: the churn
# test's concurrent page-out check is skipped; no XSAVE, PKU, RDTSCP: the
# hardening guests that need them are skipped, as with hvcore.sh's CPU) and
# 5 per ioctl-fuzz run.
check_expect 122

dmesg -c >/dev/null
if [ ! -f $KO ] || [ ! -x $B/tests/hvcore/hvcore-tests ]; then
	fail "hvcore (VMX): build outputs present" "missing $KO or $B/tests/hvcore/hvcore-tests"
	check_done
	exit 1
fi

# Another hypervisor owning VT-x must make the load fail, with a clear line.
if modprobe kvm_intel 2>/dev/null; then
	if insmod $KO; then
		fail "insmod refused while kvm_intel is loaded" "insmod succeeded"
		rmmod linhv
	else
		pass "insmod refused while kvm_intel is loaded"
	fi
	dmesg >"$OUT/dmesg-kvm.txt"
	check_grep "dmesg names kvm_intel as the reason" "linhv: kvm_intel is loaded" "$OUT/dmesg-kvm.txt"
	modprobe -r kvm_intel
else
	fail "insmod refused while kvm_intel is loaded" "modprobe kvm_intel failed"
fi

check "insmod linhv.ko (VMX)" insmod $KO
check "/dev/linhv exists" test -c /dev/linhv
$B/libwinhv/linhv-info >"$OUT/info.txt" 2>&1
cat "$OUT/info.txt"
check_grep "linhv-info reports VMX" "^vendor: +VMX" "$OUT/info.txt"
check_grep "linhv-info reports EPT and that guests can run" "^features:.*EPT.*can_run_guests" "$OUT/info.txt"

# Swap on zram, so that the demand-paging test can push guest pages out.
if modprobe zram num_devices=1 2>/dev/null && echo 512M >/sys/block/zram0/disksize &&
	mkswap /dev/zram0 >/dev/null && swapon /dev/zram0; then
	pass "swap on zram"
else
	fail "swap on zram" "modprobe zram / mkswap / swapon failed"
fi
if echo advise >/sys/kernel/mm/transparent_hugepage/shmem_enabled; then
	pass "THP for shmem on madvise"
else
	fail "THP for shmem on madvise" "cannot write shmem_enabled"
fi

check_prog "hvcore-tests (VMX)" $B/tests/hvcore/hvcore-tests
cat /sys/module/linhv/parameters/exit_counts
check_prog "ioctl-fuzz seed 1 (VMX)" $B/tests/hvcore/ioctl-fuzz --calls 20000 --seed 1
check_prog "ioctl-fuzz seed 12345 (VMX)" $B/tests/hvcore/ioctl-fuzz --calls 20000 --seed 12345
swapoff /dev/zram0 2>/dev/null
check "rmmod linhv after the suite (VMX)" rmmod linhv
check "/dev/linhv is gone" test ! -e /dev/linhv

check_dmesg_clean "dmesg clean after the suite (VMX)" "$OUT/dmesg.txt"
check_done

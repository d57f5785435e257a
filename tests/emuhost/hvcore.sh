# Runs inside one emulated host (SVM+NPT): the module's load checks, the
# hypervisor-core guest suite, the ioctl robustness test, and a clean unload.
# Usage: sh tests/emuhost/hvcore.sh [OUTDIR]
cd "$(dirname "$0")/../.." || exit 2
. tests/lib/check.sh
KO=build/kmod/linhv.ko
B=build
OUT=${1:-/tmp}
mkdir -p "$OUT"
# The two-partition paging test (3 checks) runs with --slow only, and with it
# linhv.ko's NPT audit (npt_audit, 2 checks): every nested leaf is compared with
# the root's page tables while the root pages and compacts guest memory.
# LINHV_NPT_AUDIT=N sets the audit interval (0: off).
if [ "${LINHV_SLOW:-0}" = 1 ]; then
	AUDIT=${LINHV_NPT_AUDIT:-64}
	n=134
else
	AUDIT=${LINHV_NPT_AUDIT:-0}
	n=131
fi
[ "$AUDIT" = 0 ] || n=$((n + 2))
check_expect $n

dmesg -C
if [ ! -f $KO ] || [ ! -x $B/tests/hvcore/hvcore-tests ]; then
	fail "hvcore: build outputs present" "missing $KO or $B/tests/hvcore/hvcore-tests"
	check_done
	exit 1
fi
check_exit "linhv-info without the module exits 1" 1 sh -c "$B/libwinhv/linhv-info 2>$OUT/noinfo.txt"
check_grep "linhv-info says the module is not loaded and how to load it" "not loaded.*insmod" "$OUT/noinfo.txt"

# Another hypervisor owning SVM must make the load fail, with a clear line.
if modprobe kvm_amd 2>/dev/null; then
	check_exit "insmod refused while kvm_amd is loaded" 1 insmod $KO
	dmesg >"$OUT/dmesg-kvm.txt"
	check_grep "dmesg names kvm_amd as the reason" "linhv: kvm_amd is loaded" "$OUT/dmesg-kvm.txt"
	modprobe -r kvm_amd
else
	fail "insmod refused while kvm_amd is loaded" "modprobe kvm_amd failed"
fi

check "insmod linhv.ko" insmod $KO npt_audit=$AUDIT
check "/dev/linhv exists" test -c /dev/linhv
$B/libwinhv/linhv-info >"$OUT/info.txt" 2>&1
cat "$OUT/info.txt"
check_grep "linhv-info reports SVM" "^vendor: +SVM" "$OUT/info.txt"
check_grep "linhv-info reports NPT" "^features:.*NPT" "$OUT/info.txt"

# Swap on zram, so that the demand-paging test can push guest pages out.
if modprobe zram num_devices=1 2>/dev/null && echo 512M >/sys/block/zram0/disksize &&
	mkswap /dev/zram0 >/dev/null && swapon /dev/zram0; then
	pass "swap on zram"
else
	fail "swap on zram" "modprobe zram / mkswap / swapon failed"
fi

# Transparent huge pages for memfd mappings that ask (the 2 MiB nested page test).
if echo advise >/sys/kernel/mm/transparent_hugepage/shmem_enabled; then
	pass "THP for shmem on madvise"
else
	fail "THP for shmem on madvise" "cannot write shmem_enabled"
fi

check_prog hvcore-tests $B/tests/hvcore/hvcore-tests
# Its triple-fault guest (long mode, no IDT) leaves linhv.ko's crash log (4 checks).
dmesg >"$OUT/dmesg-triple.txt"
check_grep "triple-fault log: the root's page behind CR3 and its state" \
	"cr3 gpa [0-9a-f]+: the root's page [0-9a-f]+, -?[0-9]+ references, index [0-9a-f]+, flags" "$OUT/dmesg-triple.txt"
check_grep "triple-fault log: the leaf removals that covered CR3's page" \
	"gpa [0-9a-f]+: [0-9]+ of the last [0-9]+ leaf removals covered it" "$OUT/dmesg-triple.txt"
check_grep "triple-fault log: the guest's walk of RIP with each entry read" \
	"walk [0-9a-f]+ level 4: entry at gpa [0-9a-f]+ = [0-9a-f]+, nested leaf" "$OUT/dmesg-triple.txt"
check_grep "triple-fault log: the last exits with the guest's CR3 at each" \
	"exit [0-9a-f]+ info [0-9a-f]+ [0-9a-f]+ int_info [0-9a-f]+ injected [0-9a-f]+ rip [0-9a-f]+ cr3 [0-9a-f]+$" "$OUT/dmesg-triple.txt"
# Device assignment on a host without an IOMMU (2 checks): refused, saying why.
check_prog "assign-tests --no-iommu" $B/tests/hvcore/assign-tests --no-iommu \
	"$(basename "$(ls -d /sys/bus/pci/devices/* | head -n 1)")"
check_prog "ioctl-fuzz seed 1" $B/tests/hvcore/ioctl-fuzz --calls 100000 --seed 1
check_prog "ioctl-fuzz seed 12345" $B/tests/hvcore/ioctl-fuzz --calls 20000 --seed 12345
if [ "$AUDIT" != 0 ]; then
	P=/sys/module/linhv/parameters
	runs=$(cat $P/npt_audit_runs)
	bad=$(cat $P/npt_audit_bad)
	if [ "$runs" -gt 0 ]; then pass "NPT audit ran ($runs audits)"; else fail "NPT audit ran" "no audit"; fi
	if [ "$bad" = 0 ]; then
		pass "NPT audit: every nested leaf matched the root's mapping"
	else
		fail "NPT audit: every nested leaf matched the root's mapping" "$bad mismatches"
		dmesg | grep "npt audit" | head -20
	fi
fi
swapoff /dev/zram0 2>/dev/null
check "rmmod linhv after the suite" rmmod linhv
check "/dev/linhv is gone" test ! -e /dev/linhv

check_dmesg_clean "dmesg clean after the suite" "$OUT/dmesg.txt"
check_done

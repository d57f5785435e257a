# Runs inside one emulated host with -cpu max (scripts/test passes --cpu max
# for *.cpumax.sh): the hvcore hardening tests that need PKU, XSAVE features,
# RDTSCP and RDPID, which qemu64 does not have.
# Usage: sh tests/emuhost/hardening.cpumax.sh [OUTDIR]
cd "$(dirname "$0")/../.." || exit 2
. tests/lib/check.sh
check_expect 43
KO=build/kmod/linhv.ko
B=build
OUT=${1:-/tmp}
mkdir -p "$OUT"

dmesg -C
if [ ! -f $KO ] || [ ! -x $B/tests/hvcore/hvcore-tests ]; then
	fail "hardening: build outputs present" "missing $KO or $B/tests/hvcore/hvcore-tests"
	exit 1
fi
for f in xsave ospke rdtscp rdpid; do
	check_grep "the emulated host has $f" "^flags.* $f( |\$)" /proc/cpuinfo
done
check "insmod linhv.ko" insmod $KO
$B/tests/hvcore/hvcore-tests --only hard- >"$OUT/hard.txt" 2>&1
rc=$?
cat "$OUT/hard.txt"
# The program's own PASS/FAIL lines are this tier's checks too.
check_ran=$((check_ran + $(grep -c '^PASS: ' "$OUT/hard.txt") + $(grep -c '^FAIL: ' "$OUT/hard.txt")))
check_failed=$((check_failed + $(grep -c '^FAIL: ' "$OUT/hard.txt")))
if [ "$rc" -eq 0 ]; then
	pass "hvcore-tests --only hard- exits 0"
else
	fail "hvcore-tests --only hard- exits 0" "exit $rc"
fi
n=$(grep -c '^PASS: ' "$OUT/hard.txt")
# Every hardening check runs here (none skipped); fewer means a test stopped early.
if [ "$n" -ge 33 ]; then
	pass "all hardening checks ran"
else
	fail "all hardening checks ran" "$n PASS lines, want 33"
fi
if grep -q '^SKIP: ' "$OUT/hard.txt"; then
	fail "no hardening check skipped under -cpu max"
else
	pass "no hardening check skipped under -cpu max"
fi
check "rmmod linhv" rmmod linhv

dmesg >"$OUT/dmesg.txt"
if grep -qE "WARNING|BUG:|Oops|general protection|Call Trace|unchecked MSR" "$OUT/dmesg.txt"; then
	fail "dmesg clean after the hardening tests" "see $OUT/dmesg.txt"
	grep -E -A5 "WARNING|BUG:|Oops|general protection|Call Trace|unchecked MSR" "$OUT/dmesg.txt" | head -40
else
	pass "dmesg clean after the hardening tests"
fi
check_done

#!/bin/bash
# Host-tier tests for vmms' domain jobs (vmm/vmms/job.c): a slow worker start
# runs on the event loop while other clients are served, and a second
# mutating call on a busy domain waits for the first (or fails after
# --job-wait-timeout with libvirt's state change lock error). Domains run
# under the test-worker fixture (tests/vmms/test_worker.c), whose kernel file
# "slow-start MS" makes it take MS ms before it answers.
#
# Env: BUILD_DIR (default build), VMMS_TEST_KEEP=1 keeps the temp dir.
set -u
cd "$(dirname "$0")/../.." || exit 2
# shellcheck source=../lib/check.sh
. tests/lib/check.sh
# shellcheck source=../lib/vmms.sh
. tests/lib/vmms.sh
check_expect 14

vmms_tier jobs
vmms_tier_built || exit 1
v() { virsh -q -c "$U" "$@"; }
ms() { date +%s%3N; }

echo "slow-start 4000" >"$T/slow4"
echo "slow-start 1500" >"$T/slow1"
echo "not a kernel" >"$T/kernel"
vmms_domxml slow "$T/slow4" >"$T/slow.xml"
vmms_domxml wait "$T/slow1" >"$T/wait.xml"
vmms_domxml quick "$T/kernel" >"$T/quick.xml"

if ! start_vmms a --worker "$FIXTURE" --job-wait-timeout 2.5; then
	fail "vmms starts" "$(tail -5 "$T/vmms-a.log")"
	exit 1
fi
for d in slow wait quick; do v define "$T/$d.xml" >/dev/null || fail "define $d"; done

# 20 clients while a 4 s worker start runs.
t0=$(ms)
v start slow >"$T/start.out" 2>&1 &
spid=$!
sleep 0.3
$PY tests/host/vmms_latency.py "$U" 20 10 >"$T/lat.out" 2>&1
lrc=$?
t1=$(ms)
cat "$T/lat.out"
check "20 clients served while a slow start runs" test "$lrc" -eq 0
med=$(sed -n 's/^latency: median \([0-9.]*\) ms.*/\1/p' "$T/lat.out")
check "their median latency is under 100 ms (${med:-?} ms)" \
	awk -v m="${med:-1e9}" 'BEGIN { exit !(m < 100) }'
check "they were answered before the start ended ($((t1 - t0)) ms after it began)" \
	test $((t1 - t0)) -lt 4000
# Another domain starts and stops meanwhile: jobs are per domain.
check "another domain starts while the slow start runs" v start quick
check "and is destroyed while it runs" v destroy quick
check "the slow start is still running" kill -0 "$spid"
# A second start waits for the lock and gives up after --job-wait-timeout.
fails() {
	local name=$1 pat=$2
	shift 2
	if "$@" >"$T/out" 2>&1; then
		fail "$name" "succeeded: $(head -c 300 "$T/out")"
	elif grep -qE -- "$pat" "$T/out"; then
		pass "$name"
	else
		fail "$name" "no '$pat' in: $(head -c 300 "$T/out")"
	fi
}
fails "a second call on the busy domain times out on the lock" \
	"cannot acquire state change lock \(held by api=virDomainCreate\)" v destroy slow
wait "$spid"
src=$?
t2=$(ms)
check "the slow start replies when the worker is up ($((t2 - t0)) ms)" \
	sh -c "[ $src -eq 0 ] && [ $((t2 - t0)) -ge 4000 ]"
check "the slow domain is running" sh -c "virsh -q -c '$U' domstate slow | grep -q running"

# A destroy issued during a 1.5 s start waits for it, then runs.
v start wait >"$T/wstart.out" 2>&1 &
wpid=$!
sleep 0.3
t0=$(ms)
check "destroy during a start waits for it, then succeeds" v destroy wait
t1=$(ms)
wait "$wpid"
check "the start it waited for succeeded" test $? -eq 0
check "destroy waited for the start ($((t1 - t0)) ms)" test $((t1 - t0)) -ge 800
check "the domain is shut off afterwards" sh -c "virsh -q -c '$U' domstate wait | grep -q 'shut off'"

v destroy slow >/dev/null 2>&1
stop_vmms
check "no sanitizer reports in the vmms log" \
	sh -c "! grep -lE 'AddressSanitizer|LeakSanitizer|runtime error' '$T'/vmms-*.log"
check_done

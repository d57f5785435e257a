#!/bin/bash
# Host-tier tests for vmms' statistics (vmm/vmms/stats.c, dispatch_stats.c):
# virsh domstats (virConnectGetAllDomainStats), domblkstat, domifstat and
# dommemstat. Domains run under the test-worker fixture
# (tests/vmms/test_worker.c), which runs no guest: its "stats" answer has zero
# counters for each --disk and --nic, so this checks the group layout, the
# device naming and the errors; counters that grow with guest I/O need a real
# guest (emulated-host tier).
#
# Env: BUILD_DIR (default build), VMMS_TEST_KEEP=1 keeps the temp dir.
set -u
cd "$(dirname "$0")/../.." || exit 2
# shellcheck source=../lib/check.sh
. tests/lib/check.sh
# shellcheck source=../lib/vmms.sh
. tests/lib/vmms.sh
check_expect 19

vmms_tier stats
vmms_tier_built || exit 1
v() { virsh -q -c "$U" "$@"; }
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

echo "not a kernel" >"$T/kernel"
truncate -s 1M "$T/a.img" "$T/b.img"
cat >"$T/s1.xml" <<DOM
<domain type='linhv'>
  <name>s1</name>
  <memory unit='MiB'>128</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>$T/kernel</kernel></os>
  <devices>
    <disk type='file' device='disk'><source file='$T/a.img'/><target dev='sda' bus='scsi'/></disk>
    <disk type='file' device='disk'><source file='$T/b.img'/><target dev='sdb' bus='scsi'/></disk>
    <interface type='ethernet'><mac address='00:15:5d:00:00:01'/><target dev='tap-s1'/></interface>
  </devices>
</domain>
DOM
vmms_domxml s2 "$T/kernel" >"$T/s2.xml"

if ! start_vmms a --worker "$FIXTURE"; then
	fail "vmms starts" "$(tail -5 "$T/vmms-a.log")"
	exit 1
fi
v define "$T/s1.xml" >/dev/null && v define "$T/s2.xml" >/dev/null || fail "define"

# Shut off: the definition's facts, no counters.
v domstats s1 >"$T/off.out" 2>&1
check_grep "domstats (shut off): state" "state.state=5" "$T/off.out"
check_grep "domstats (shut off): block names" "block.1.name=sdb" "$T/off.out"
check "domstats (shut off): no counters" sh -c "! grep -q 'rd.reqs' '$T/off.out'"
fails "domblkstat of a shut-off domain fails" "domain is not running" v domblkstat s1 sda

check "start s1" v start s1
v domstats s1 >"$T/on.out" 2>&1
cat "$T/on.out"
for f in state.state=1 cpu.time= balloon.current=131072 balloon.maximum=131072 vcpu.current=2 \
	vcpu.maximum=2 net.count=1 net.0.name=tap-s1 net.0.rx.bytes=0 net.0.tx.pkts=0 block.count=2 \
	block.0.name=sda "block.1.path=$T/b.img" block.1.rd.reqs=0 block.1.wr.bytes=0; do
	grep -q -- "^ *$f" "$T/on.out" || echo "missing $f" >>"$T/missing"
done
check "domstats (running): every group with its fields" sh -c "[ ! -s '$T/missing' ] || { cat '$T/missing'; false; }"
check "domstats --block: only the block group" sh -c \
	"v() { virsh -q -c '$U' \"\$@\"; }; out=\$(v domstats --block s1); echo \"\$out\" | grep -q block.count && ! echo \"\$out\" | grep -qE 'state|net\\.'"
check "domstats (all domains): both listed" sh -c \
	"[ \$(virsh -q -c '$U' domstats | grep -c '^Domain:') -eq 2 ]"
check "domstats --list-running: only s1" sh -c \
	"out=\$(virsh -q -c '$U' domstats --list-running); echo \"\$out\" | grep -q \"'s1'\" && ! echo \"\$out\" | grep -q \"'s2'\""

check "domblkstat sda: zero counters" sh -c \
	"virsh -q -c '$U' domblkstat s1 sda | grep -qE '^sda rd_req 0'"
check "domblkstat by source path" sh -c "virsh -q -c '$U' domblkstat s1 '$T/b.img' | grep -q 'wr_bytes 0'"
check "domblkstat without a device: the sum" sh -c "virsh -q -c '$U' domblkstat s1 | grep -q 'rd_bytes 0'"
fails "domblkstat of an unknown disk" "invalid path: 'sdz' is not a disk" v domblkstat s1 sdz
check "domifstat tap-s1: zero counters" sh -c "virsh -q -c '$U' domifstat s1 tap-s1 | grep -q 'tap-s1 rx_bytes 0'"
check "domifstat by MAC" sh -c "virsh -q -c '$U' domifstat s1 00:15:5d:00:00:01 | grep -q 'tx_drop 0'"
fails "domifstat of an unknown interface" "'vnet9' is not a known interface" v domifstat s1 vnet9
check "dommemstat: actual and rss" sh -c \
	"out=\$(virsh -q -c '$U' dommemstat s1); echo \"\$out\" | grep -q 'actual 131072' && echo \"\$out\" | grep -q '^rss [1-9]'"
check "py getAllDomainStats: typed values" $PY -c "
import libvirt, sys
c = libvirt.open(sys.argv[1])
recs = c.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_BLOCK,
                           libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE)
assert len(recs) == 1, recs
dom, st = recs[0]
assert dom.name() == 's1' and st['state.state'] == 1 and st['block.count'] == 2, st
assert st['block.0.rd.bytes'] == 0 and st['block.1.name'] == 'sdb', st
" "$U"

stop_vmms
check "no sanitizer reports in the vmms log" \
	sh -c "! grep -lE 'AddressSanitizer|LeakSanitizer|runtime error' '$T'/vmms-*.log"
check_done

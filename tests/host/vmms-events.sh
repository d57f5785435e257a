#!/bin/bash
# Host-tier tests for vmms' domain events and domain capabilities, driven by
# stock virsh and python3-libvirt. Domains run under the test-worker fixture
# (tests/vmms/test_worker.c: vmwp's process contract, no guest), as in part 2
# of tests/host/vmms.sh.
#
# Env: BUILD_DIR (default build), VMMS_TEST_KEEP=1 keeps the temp dir.
set -u
cd "$(dirname "$0")/../.." || exit 2
# shellcheck source=../lib/check.sh
. tests/lib/check.sh
# shellcheck source=../lib/vmms.sh
. tests/lib/vmms.sh
check_expect 63

vmms_tier events
EVPY=tests/host/vmms_events.py

vmms_tier_built || exit 1
v() { virsh -q -c "$U" "$@"; }
fdcount() { ls "/proc/$VMMS_PID/fd" | wc -l; }
# wait_state NAME STATE: up to 5 s for virsh domstate to say STATE.
wait_state() {
	for _ in $(seq 50); do
		v domstate "$1" 2>/dev/null | grep -q "$2" && return 0
		sleep 0.1
	done
	return 1
}
# wait_log PATTERN N: up to 5 s for N lines matching PATTERN in the vmms log.
wait_log() {
	for _ in $(seq 50); do
		[ "$(grep -cE -- "$1" "$T/vmms-a.log")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

echo "not a kernel" >"$T/kernel"
vmms_domxml g1 "$T/kernel" >"$T/g1.xml"
vmms_domxml g2 "$T/kernel" preserve >"$T/g2.xml"

if ! start_vmms a --verbose --worker "$FIXTURE"; then
	fail "vmms starts" "$(tail -5 "$T/vmms-a.log")"
	exit 1
fi
pass "vmms starts"
fd0=$(fdcount)

# ================= events: virsh event =================
EV=$T/events.out
virsh -c "$U" event --all --loop --timeout 60 >"$EV" 2>&1 &
evpid=$!
# virsh event --all registers one callback per event id (26 with libvirt 9.0).
check "virsh event --all --loop registers its callbacks" wait_log "event callback .* for event" 20
sleep 0.3
before_cb=$(grep -cE "event callback .* for event" "$T/vmms-a.log")
v define "$T/g1.xml" >/dev/null
v start g1 >/dev/null
v suspend g1 >/dev/null
v resume g1 >/dev/null
v reboot g1 >/dev/null
# The guest reboots by itself (the fixture's test request): vmms polls the
# worker's boots= count and sends a reboot event for it too; the reboot it
# asked for above is not announced twice.
sleep 2.5
printf 'guest-reboot\n' | nc -U -N "$T/run-a/g1.ctl" >/dev/null
check "a guest-initiated in-place reboot gives a reboot event" \
	sh -c "for i in \$(seq 100); do [ \$(grep -c \"^event 'reboot' for domain 'g1'\" '$EV') -ge 2 ] && exit 0; sleep 0.1; done; exit 1"
v shutdown g1 >/dev/null
wait_state g1 "shut off"
v start g1 >/dev/null
v destroy g1 >/dev/null
v start g1 >/dev/null
kill -9 "$(cat "$T/run-a/g1.pid")" # on_crash=destroy
wait_state g1 "shut off"
v define "$T/g2.xml" >/dev/null
v start g2 >/dev/null
kill -9 "$(cat "$T/run-a/g2.pid")" # on_crash=preserve
wait_state g2 crashed
v destroy g2 >/dev/null
v dumpxml g2 >"$T/g2-dump.xml"
v define "$T/g2-dump.xml" >/dev/null
v undefine g1 >/dev/null
sleep 0.5
kill -INT "$evpid" 2>/dev/null
wait "$evpid"
ev_rc=$?
check "virsh event ends cleanly on SIGINT (exit $ev_rc)" test "$ev_rc" -eq 0
lc() { check_grep "virsh event: $1" "^event 'lifecycle' for domain '$2': $3\$" "$EV"; }
lc "define -> Defined Added" g1 "Defined Added"
lc "start -> Started Booted" g1 "Started Booted"
lc "suspend -> Suspended Paused" g1 "Suspended Paused"
lc "resume -> Resumed Unpaused" g1 "Resumed Unpaused"
check_grep "virsh event: reboot -> the reboot event" "^event 'reboot' for domain 'g1'\$" "$EV"
lc "shutdown -> Shutdown Finished after host request" g1 "Shutdown Finished after host request"
lc "shutdown -> Stopped Shutdown" g1 "Stopped Shutdown"
lc "destroy -> Stopped Destroyed" g1 "Stopped Destroyed"
lc "worker killed, on_crash=destroy -> Stopped Crashed" g1 "Stopped Crashed"
lc "worker killed, on_crash=preserve -> Crashed Panicked" g2 "Crashed Panicked"
lc "destroy of the crashed domain -> Stopped Destroyed" g2 "Stopped Destroyed"
lc "redefine -> Defined Updated" g2 "Defined Updated"
lc "undefine -> Undefined Removed" g1 "Undefined Removed"
# The whole sequence, in order and nothing else.
cat >"$T/want" <<'EOF'
g1: Defined Added
g1: Started Booted
g1: Suspended Paused
g1: Resumed Unpaused
g1 reboot
g1 reboot
g1: Shutdown Finished after host request
g1: Stopped Shutdown
g1: Started Booted
g1: Stopped Destroyed
g1: Started Booted
g1: Stopped Crashed
g2: Defined Added
g2: Started Booted
g2: Crashed Panicked
g2: Stopped Destroyed
g2: Defined Updated
g1: Undefined Removed
EOF
sed -nE "s/^event 'lifecycle' for domain '([^']+)': (.*)$/\1: \2/p; s/^event 'reboot' for domain '([^']+)'$/\1 reboot/p" \
	"$EV" >"$T/got"
check "virsh event: exactly these events, in order" cmp -s "$T/want" "$T/got"
cmp -s "$T/want" "$T/got" || diff "$T/want" "$T/got" | head -20
check_grep "virsh event: it counted them" "^events received: 18\$" "$EV"
check "virsh event deregistered its callbacks when it ended (none dropped)" \
	sh -c "! grep -q 'dropped .* event callback' '$T/vmms-a.log'"

# A client that goes away without deregistering: vmms drops its callbacks.
v undefine g2 >/dev/null
virsh -c "$U" event --all --loop >/dev/null 2>&1 &
evpid=$!
wait_log "event callback .* for event" $((before_cb + 20))
kill -9 "$evpid"
wait "$evpid" 2>/dev/null
check "virsh event killed: vmms dropped its callbacks" \
	wait_log "client [0-9]+: dropped [0-9]+ event callbacks" 1
v define "$T/g1.xml" >/dev/null
check "events after that client went: vmms still serves" v start g1
v destroy g1 >/dev/null

# One domain only: virsh event g1 --event lifecycle.
virsh -c "$U" event g1 --event lifecycle --loop --timeout 30 >"$T/ev-one.out" 2>&1 &
evpid=$!
wait_log "event callback .* for event 0 \(one domain\)" 1
v define "$T/g2.xml" >/dev/null
v start g2 >/dev/null
v start g1 >/dev/null
v destroy g2 >/dev/null
v destroy g1 >/dev/null
sleep 0.5
kill -INT "$evpid" 2>/dev/null
wait "$evpid"
check_grep "virsh event DOMAIN: its events" "^event 'lifecycle' for domain 'g1': Stopped Destroyed" \
	"$T/ev-one.out"
check "virsh event DOMAIN: nothing about another domain" sh -c "! grep -q \"'g2'\" '$T/ev-one.out'"

# libvirt-python's event loop, and the raw protocol (both registration styles).
check_prog "py events" $PY "$EVPY" py "$U" g1 g2
check_prog "raw events" $PY "$EVPY" raw "$SOCK" "$U" g1
sleep 0.3
check "no fds leaked by the event clients ($fd0 before)" test "$(fdcount)" -eq "$fd0"

# ================= domain capabilities =================
check "virsh domcapabilities" sh -c "virsh -c '$U' domcapabilities >'$T/dc.xml'"
check "domcapabilities: valid against libvirt's domaincaps schema" \
	sh -c "xmllint --noout --relaxng /usr/share/libvirt/schemas/domaincaps.rng '$T/dc.xml' 2>&1 |
	grep -qx '$T/dc.xml validates'"
check_grep "domcapabilities: domain type linhv" "^  <domain>linhv</domain>$" "$T/dc.xml"
check_grep "domcapabilities: the worker is the emulator" "^  <path>$(readlink -f "$FIXTURE")</path>$" \
	"$T/dc.xml"
check_grep "domcapabilities: x86_64" "^  <arch>x86_64</arch>$" "$T/dc.xml"
check_grep "domcapabilities: vcpu max" "^  <vcpu max='256'/>$" "$T/dc.xml"
check_grep "domcapabilities: no loader (direct kernel boot)" "<loader supported='no'/>" "$T/dc.xml"
check "domcapabilities: disks: device disk, bus scsi only" test \
	"$(xmllint --xpath '//devices/disk/enum/value/text()' "$T/dc.xml" | tr -d ' \n')" = diskscsi
check_grep "domcapabilities: no graphics" "<graphics supported='no'/>" "$T/dc.xml"
check_grep "domcapabilities: the interface types are named" \
	"interface type='bridge'.*|interface type='ethernet'" "$T/dc.xml"
check_grep "domcapabilities: the memory limit is named" "<memory> of at least 16 MiB" "$T/dc.xml"
check "domcapabilities --virttype linhv --arch x86_64 --machine linhv" \
	sh -c "virsh -c '$U' domcapabilities --virttype linhv --arch x86_64 --machine linhv |
	cmp -s - '$T/dc.xml'"
if virsh -c "$U" domcapabilities --virttype kvm >"$T/out" 2>&1; then
	fail "domcapabilities --virttype kvm refused" "succeeded"
else
	check_grep "domcapabilities --virttype kvm refused" \
		"virtualization type 'kvm' is not supported by linhv" "$T/out"
fi
if virsh -c "$U" domcapabilities --arch aarch64 >"$T/out" 2>&1; then
	fail "domcapabilities --arch aarch64 refused" "succeeded"
else
	check_grep "domcapabilities --arch aarch64 refused" "architecture 'aarch64' is not supported" \
		"$T/out"
fi
check "py getDomainCapabilities" $PY -c "
import libvirt, sys
c = libvirt.open(sys.argv[1])
x = c.getDomainCapabilities(None, 'x86_64', None, 'linhv', 0)
assert '<domain>linhv</domain>' in x and '<value>scsi</value>' in x, x
" "$U"

stop_vmms
check "no sanitizer reports in the vmms log" \
	sh -c "! grep -lE 'AddressSanitizer|LeakSanitizer|runtime error' '$T'/vmms-*.log"
check_done

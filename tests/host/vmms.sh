#!/bin/bash
# Host-tier tests for vmms, driven by stock virsh and python3-libvirt.
#
# Part 1 runs vmms as it is shipped (worker = the real vmwp if built, with
# --backend linhv so that on a host without linhv.ko it fails fast): the
# protocol, definitions, read-only access, errors, keepalive, concurrency and
# fd hygiene, and start failures.
# Part 2 runs vmms with --worker tests/vmms/test_worker.c, a TEST FIXTURE that
# speaks only vmwp's process contract and runs no guest, to exercise
# supervision: start/stop/console plumbing, a worker killed with SIGKILL, and a
# vmms restart that re-adopts running workers. The same lifecycle with the
# real vmwp and a real guest runs in the emulated host.
#
# Env: BUILD_DIR (default build), VMMS_STRESS_SECS (default 30),
#      VMMS_TEST_KEEP=1 keeps the temp dir (logs) for a post-mortem.
set -u
cd "$(dirname "$0")/../.." || exit 2
# shellcheck source=../lib/check.sh
. tests/lib/check.sh
check_expect 167

BUILD_DIR=${BUILD_DIR:-build}
VMMS=$BUILD_DIR/vmm/vmms/vmms
FIXTURE=$BUILD_DIR/tests/vmms/vmms-test-worker
CLIENT=tests/host/vmms_client.py
STRESS_SECS=${VMMS_STRESS_SECS:-30}
# python3-libvirt is a Debian package: prefer the system interpreter.
PY=python3
/usr/bin/python3 -c 'import libvirt' 2>/dev/null && PY=/usr/bin/python3

T=$(mktemp -d /tmp/vmms-test.XXXXXX)
VMMS_PID=""
cleanup() {
	[ -n "$VMMS_PID" ] && kill -9 "$VMMS_PID" 2>/dev/null
	# Workers we started (pid files in every run dir we used).
	for f in "$T"/run*/*.pid; do
		[ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	if [ -n "${VMMS_TEST_KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

if [ ! -x "$VMMS" ]; then
	fail "vmms built" "no $VMMS: build first (cmake --build $BUILD_DIR)"
	exit 1
fi

# ---- command line ----
check "vmms --help" sh -c "'$VMMS' --help | grep -q -- --socket-dir"
check_exit "vmms rejects an unknown option" 2 sh -c "'$VMMS' --bogus 2>/dev/null"
check_exit "vmms rejects a bad --backend" 2 sh -c "'$VMMS' --backend xen 2>/dev/null"
check_exit "vmms rejects a missing --worker" 2 sh -c "'$VMMS' --worker /nonexistent 2>/dev/null"

# start_vmms TAG [ARGS...]: runs vmms in the foreground with dirs under $T.
start_vmms() {
	local tag=$1
	shift
	mkdir -p "$T/sock-$tag"
	# shellcheck disable=SC2086 # VMMS_PREFIX: a command prefix, e.g. prlimit
	${VMMS_PREFIX:-} "$VMMS" --state-dir "$T/state-$tag" --run-dir "$T/run-$tag" \
		--socket-dir "$T/sock-$tag" --foreground "$@" 2>>"$T/vmms-$tag.log" &
	VMMS_PID=$!
	U="linhv:///system?socket=$T/sock-$tag/virtlinhvd-sock"
	RO="linhv:///system?socket=$T/sock-$tag/virtlinhvd-sock-ro"
	# Ready when it answers: a vmms killed before leaves its socket files.
	for _ in $(seq 100); do
		[ -S "$T/sock-$tag/virtlinhvd-sock-ro" ] && virsh -q -r -c "$RO" uri >/dev/null 2>&1 &&
			return 0
		sleep 0.1
	done
	return 1
}
stop_vmms() {
	kill "$VMMS_PID" 2>/dev/null
	wait "$VMMS_PID" 2>/dev/null
	VMMS_PID=""
}
v() { virsh -q -c "$U" "$@"; }
# fails NAME PATTERN CMD...: CMD must fail and say PATTERN.
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
fdcount() { ls "/proc/$VMMS_PID/fd" | wc -l; }
snapshot() { # what "no state change" means: the domain list and the stored files
	{ v list --all --name; ls -l "$T/state-$1/domains"; } 2>&1
}

# domxml NAME KERNEL [EXTRA]: a domain document.
domxml() {
	cat <<EOF
<domain type='linhv'>
  <name>$1</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>$2</kernel><cmdline>console=ttyS0</cmdline></os>
  <on_crash>${4:-destroy}</on_crash>
  <devices>
    <disk type='file' device='disk'><source file='$T/disk.img'/><target dev='sda'/></disk>
    <console type='pty'/>${3:-}
  </devices>
</domain>
EOF
}
: >"$T/disk.img"
echo "not a kernel" >"$T/kernel"

# ================= part 1: the daemon as shipped =================
if ! start_vmms a --backend linhv; then
	fail "vmms starts and listens" "$(tail -5 "$T/vmms-a.log")"
	exit 1
fi
pass "vmms starts and listens"
check "socket modes 0600 / 0666" sh -c "[ \"\$(stat -c %a '$T/sock-a/virtlinhvd-sock')\" = 600 ] &&
	[ \"\$(stat -c %a '$T/sock-a/virtlinhvd-sock-ro')\" = 666 ]"
fd0=$(fdcount)

v version >"$T/out" 2>&1
check_grep "virsh version" "Running hypervisor: linhv [0-9]+\.[0-9]+\.[0-9]+" "$T/out"
check "virsh hostname" sh -c "[ \"\$(virsh -q -c '$U' hostname)\" = \"\$(hostname)\" ]"
v nodeinfo >"$T/out" 2>&1
check_grep "virsh nodeinfo cpus" "^CPU\(s\): +$(nproc)$" "$T/out"
check_grep "virsh nodeinfo memory" "^Memory size: +[1-9][0-9]* KiB" "$T/out"
v capabilities >"$T/out" 2>&1
check_grep "virsh capabilities: guest arch" "<arch name='x86_64'>" "$T/out"
check_grep "virsh capabilities: domain type" "<domain type='linhv'/>" "$T/out"
check "virsh uri" sh -c "virsh -c '$U' uri | grep -q '^linhv:///system'"

domxml vm1 "$T/kernel" >"$T/vm1.xml"
check "virsh define" sh -c "virsh -c '$U' define '$T/vm1.xml' | grep -q \"Domain 'vm1' defined\""
v list --all >"$T/out" 2>&1
check_grep "virsh list --all shows it shut off" "^ -  +vm1 +shut off" "$T/out"
v list >"$T/out" 2>&1
check "virsh list (active) omits it" sh -c "! grep -q vm1 '$T/out'"
v dominfo vm1 >"$T/out" 2>&1
check_grep "virsh dominfo state" "^State: +shut off" "$T/out"
check_grep "virsh dominfo memory" "^Max memory: +131072 KiB" "$T/out"
v dumpxml vm1 >"$T/out" 2>&1
check_grep "virsh dumpxml has a generated uuid" "<uuid>[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-" "$T/out"
check_grep "virsh dumpxml is canonical" "<memory unit='KiB'>131072</memory>" "$T/out"
check "definition stored on disk" test -s "$T/state-a/domains/vm1.xml"
# Redefining from the dumped XML (same uuid) updates in place.
cp "$T/out" "$T/vm1-dump.xml"
check "virsh define of dumpxml output" v define "$T/vm1-dump.xml"

# read-only socket
check "virsh -r list" sh -c "virsh -r -c '$RO' list --all | grep -q vm1"
check "virsh -r dumpxml" sh -c "virsh -r -c '$RO' dumpxml vm1 | grep -q '<name>vm1</name>'"
fails "virsh -r define denied" "read only access prevents" virsh -r -c "$RO" define "$T/vm1.xml"
fails "virsh -r start denied" "read only access prevents" virsh -r -c "$RO" start vm1
fails "virsh -r destroy denied" "read only access prevents" virsh -r -c "$RO" destroy vm1
fails "virsh -r undefine denied" "read only access prevents" virsh -r -c "$RO" undefine vm1

# errors change nothing
before=$(snapshot a)
printf "<domain type='linhv'><name>bad</name>\n<memory>1" >"$T/bad.xml"
fails "malformed XML refused" "XML error: malformed domain XML at line" v define "$T/bad.xml"
domxml unk "$T/kernel" "<video><model type='vga'/></video>" >"$T/unk.xml"
fails "unknown element refused by name" "unsupported configuration: element <video>" \
	v define "$T/unk.xml"
domxml vm1 "$T/kernel" >"$T/dup.xml" # same name, new uuid
fails "duplicate name refused" "domain 'vm1' already exists with uuid" v define "$T/dup.xml"
domxml nokernel "$T/no-such-kernel" >"$T/nok.xml"
v define "$T/nok.xml" >/dev/null 2>&1
before_nok=$(snapshot a)
fails "missing kernel: start refused" "kernel '$T/no-such-kernel' is not readable" \
	v start nokernel
check "missing kernel: still shut off" sh -c "virsh -c '$U' domstate nokernel | grep -q 'shut off'"
check "errors changed no state" test "$(snapshot a)" = "$before_nok"
v undefine nokernel >/dev/null 2>&1
check "state back to before" test "$(snapshot a)" = "$before"
fails "unknown domain" "failed to get domain 'nope'" v dominfo nope
fails "destroy of a shut-off domain" "Requested operation is not valid: domain is not running" \
	v destroy vm1

# ---- disks and NICs in the domain XML ----
# devxml NAME DEVICES: a domain with these <devices>.
devxml() {
	cat <<EOF
<domain type='linhv'>
  <name>$1</name>
  <memory unit='MiB'>128</memory>
  <os><type>hvm</type><kernel>$T/kernel</kernel></os>
  <devices>$2
  </devices>
</domain>
EOF
}
DEVS="
    <disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/>
      <source file='$T/disk.img'/><target dev='sda' bus='scsi'/><serial>DISK-A1</serial></disk>
    <disk type='block' device='disk'><source dev='/dev/null'/><target dev='sdb' bus='scsi'/><readonly/></disk>
    <interface type='bridge'><mac address='52:54:00:AB:CD:01'/><source bridge='br0'/>
      <target dev='vnet9'/><model type='netvsc'/></interface>
    <interface type='ethernet'><target dev='ltap1'/></interface>"
devxml dev1 "$DEVS" >"$T/dev1.xml"
check "devices: define with a file and a block disk, a bridge and an ethernet NIC" \
	v define "$T/dev1.xml"
v dumpxml dev1 >"$T/dev1-dump.xml" 2>&1
check_grep "devices: dumpxml shows the block disk's <source dev>" \
	"<disk type='block' device='disk'>" "$T/dev1-dump.xml"
check_grep "devices: dumpxml keeps <serial>" \
	"<serial>DISK-A1</serial>" "$T/dev1-dump.xml"
check_grep "devices: dumpxml keeps <driver cache='none'>" "<driver type='raw' cache='none'/>" \
	"$T/dev1-dump.xml"
check_grep "devices: dumpxml keeps <readonly/>" "<readonly/>" "$T/dev1-dump.xml"
check_grep "devices: dumpxml keeps the given MAC (lower case)" "<mac address='52:54:00:ab:cd:01'/>" \
	"$T/dev1-dump.xml"
check "devices: a NIC without a MAC gets one, shown by dumpxml and stored" sh -c \
	"[ \$(grep -c \"<mac address='00:15:5d:\" '$T/dev1-dump.xml') = 1 ] &&
	grep -q \"<mac address='00:15:5d:\" '$T/state-a/domains/dev1.xml'"
v domblklist --details dev1 >"$T/out" 2>&1
check_grep "devices: domblklist shows the file disk" "^ *file +disk +sda +$T/disk.img$" "$T/out"
check_grep "devices: domblklist shows the block disk" "^ *block +disk +sdb +/dev/null$" "$T/out"
v domiflist dev1 >"$T/out" 2>&1
check_grep "devices: domiflist shows the bridge NIC" \
	"^ *vnet9 +bridge +br0 +netvsc +52:54:00:ab:cd:01$" "$T/out"
check_grep "devices: domiflist shows the ethernet NIC" \
	"^ *ltap1 +ethernet +- +netvsc +00:15:5d:[0-9a-f:]{8}$" "$T/out"
check "devices: dumpxml -> define -> dumpxml round-trips unchanged" sh -c \
	"virsh -q -c '$U' define '$T/dev1-dump.xml' >/dev/null &&
	virsh -q -c '$U' dumpxml dev1 | cmp -s - '$T/dev1-dump.xml'"
fails "devices: domifaddr of a shut-off domain" "domain is not running" v domifaddr dev1
v undefine dev1 >/dev/null 2>&1
# refused_dev NAME PATTERN DEVICES: define must fail saying PATTERN, changing nothing.
before_dev=$(snapshot a)
refused_dev() {
	devxml bad "$3" >"$T/bad-dev.xml"
	fails "devices: $1" "$2" v define "$T/bad-dev.xml"
}
U_=unsupported\ configuration
refused_dev "cdrom refused" "$U_: disk device 'cdrom' is not supported" \
	"<disk type='file' device='cdrom'><source file='$T/disk.img'/><target dev='sdc'/></disk>"
refused_dev "virtio bus refused" "$U_: disk bus 'virtio' is not supported" \
	"<disk type='file'><source file='$T/disk.img'/><target dev='vda' bus='virtio'/></disk>"
refused_dev "network disk refused" "$U_: disk type 'network' is not supported" \
	"<disk type='network'><source protocol='nbd'/><target dev='sda'/></disk>"
refused_dev "qcow2 refused" "$U_: disk format 'qcow2' is not supported" \
	"<disk type='file'><driver type='qcow2'/><source file='$T/disk.img'/><target dev='sda'/></disk>"
refused_dev "cache=unsafe refused" "$U_: disk cache mode 'unsafe' is not supported" \
	"<disk type='file'><driver cache='unsafe'/><source file='$T/disk.img'/><target dev='sda'/></disk>"
refused_dev "disk <boot> refused by name" "$U_: element <boot> in <disk>" \
	"<disk type='file'><source file='$T/disk.img'/><target dev='sda'/><boot order='1'/></disk>"
refused_dev "network interface refused" "$U_: interface type 'network' is not supported" \
	"<interface type='network'><source network='default'/></interface>"
refused_dev "virtio NIC model refused" "$U_: interface model 'virtio' is not supported" \
	"<interface type='bridge'><source bridge='br0'/><model type='virtio'/></interface>"
refused_dev "interface <bandwidth> refused by name" "$U_: element <bandwidth> in <interface>" \
	"<interface type='bridge'><source bridge='br0'/><bandwidth/></interface>"
refused_dev "over-long disk serial refused" "$U_: disk <serial>" \
	"<disk type='file'><source file='$T/disk.img'/><target dev='sda'/><serial>123456789012345678901</serial></disk>"
refused_dev "block disk with <source file> refused" "$U_: attribute 'file' of element <source>" \
	"<disk type='block'><source file='$T/disk.img'/><target dev='sda'/></disk>"
refused_dev "disk without a source" "XML error: <disk> needs <source file=" \
	"<disk type='file'><target dev='sda'/></disk>"
refused_dev "multicast MAC" "XML error: invalid MAC address '01:00:5e:00:00:01'" \
	"<interface type='bridge'><mac address='01:00:5e:00:00:01'/><source bridge='br0'/></interface>"
refused_dev "bridge NIC without a bridge" "XML error: interface type='bridge' needs <source bridge" \
	"<interface type='bridge'/>"
refused_dev "ethernet NIC without a TAP" "XML error: interface type='ethernet' needs <target dev" \
	"<interface type='ethernet'/>"
check "devices: the refused definitions changed nothing" test "$(snapshot a)" = "$before_dev"

# Worker fail-fast: the real vmwp with --backend linhv exits 1 on a host
# without linhv.ko; without a built vmwp the start must say so.
if [ -e /dev/linhv ]; then
	v start vm1 >/dev/null 2>&1 && v destroy vm1 >/dev/null 2>&1 # a real host: it may boot
else
	fails "worker failure: start fails with the worker's reason" \
		"vmwp exited with status 1: .+|worker program vmwp was not found" v start vm1
fi
check "worker failure: domain stays shut off" \
	sh -c "virsh -c '$U' domstate vm1 | grep -q 'shut off'"
check "worker failure: no run files left" sh -c "! ls '$T/run-a/vm1.pid' '$T/run-a/vm1.ctl' 2>/dev/null"

# libvirt-python
sed "s/<name>vm1</<name>pyvm</" "$T/vm1.xml" >"$T/py.xml"
check_prog "py basic" $PY "$CLIENT" basic "$U" "$T/py.xml"
check_prog "py errors" $PY "$CLIENT" errors "$U" "$T/py.xml"
check_prog "py readonly" $PY "$CLIENT" readonly "$RO" vm1
check_prog "py keepalive" $PY "$CLIENT" keepalive "$T/sock-a/virtlinhvd-sock"

# 20 concurrent clients, then no fd may be left behind.
pids=""
for i in $(seq 20); do
	$PY "$CLIENT" hammer "$U" "$STRESS_SECS" >"$T/hammer.$i" 2>&1 &
	pids="$pids $!"
done
for _ in $(seq 100); do [ "$(fdcount)" -ge $((fd0 + 20)) ] && break; sleep 0.1; done
check "20 clients connected at once" test "$(fdcount)" -ge $((fd0 + 20))
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
check "20 concurrent clients for ${STRESS_SECS}s: no errors" test "$bad" -eq 0
sleep 0.5
check "no leaked fds in vmms ($fd0 before)" test "$(fdcount)" -eq "$fd0"
for _ in $(seq 30); do v list --all >/dev/null; done
check "no leaked fds after 30 virsh runs" test "$(fdcount)" -eq "$fd0"

check "virsh undefine" sh -c "virsh -c '$U' undefine vm1 | grep -q \"Domain 'vm1' has been undefined\""
check "undefine removed the stored file" test ! -e "$T/state-a/domains/vm1.xml"
stop_vmms

# ================= part 2: supervision, with the test-worker fixture =================
if [ ! -x "$FIXTURE" ]; then
	fail "test-worker fixture built" "no $FIXTURE"
	check_done
	exit
fi
start_vmms b --worker "$FIXTURE" || fail "vmms (fixture worker) starts"
fdb=$(fdcount)
domxml g1 "$T/kernel" >"$T/g1.xml"
domxml g2 "$T/kernel" "" preserve >"$T/g2.xml"
v define "$T/g1.xml" >/dev/null && v define "$T/g2.xml" >/dev/null
check "fixture: virsh start" sh -c "virsh -c '$U' start g1 | grep -q \"Domain 'g1' started\""
v list >"$T/out" 2>&1
check_grep "fixture: list shows g1 running with an id" "^ [1-9][0-9]* +g1 +running" "$T/out"
v dominfo g1 >"$T/out" 2>&1
check_grep "fixture: dominfo running" "^State: +running" "$T/out"
check "fixture: dumpxml of a running domain has its id" \
	sh -c "virsh -c '$U' dumpxml g1 | grep -q \"<domain type='linhv' id='[1-9]\""
check "fixture: worker got the contract's arguments" sh -c \
	"tr '\\0' ' ' </proc/\$(cat '$T/run-b/g1.pid')/cmdline | grep -q -- '--name g1 --uuid .* --memory 128M --cpus 1 --disk $T/disk.img --console unix:$T/run-b/g1.console --control $T/run-b/g1.ctl --pidfile $T/run-b/g1.pid'"
# virsh console needs a terminal: script(1) gives it one; ^] ends it.
(sleep 1; printf 'probe-%s\r' 1234; sleep 1; printf '\035') |
	script -qc "virsh -c '$U' console g1" /dev/null >"$T/console.out" 2>&1
check_grep "fixture: virsh console connects" "Connected to domain 'g1'" "$T/console.out"
check_grep "fixture: virsh console carries bytes both ways" "probe-1234" "$T/console.out"
check "fixture: virsh suspend" sh -c "virsh -c '$U' suspend g1 >/dev/null && virsh -c '$U' domstate g1 | grep -q paused"
check "fixture: virsh resume" sh -c "virsh -c '$U' resume g1 >/dev/null && virsh -c '$U' domstate g1 | grep -q running"
check "fixture: virsh shutdown" v shutdown g1
for _ in $(seq 50); do v domstate g1 | grep -q "shut off" && break; sleep 0.1; done
check "fixture: shut off after shutdown" sh -c "virsh -c '$U' domstate --reason g1 | grep -q 'shut off (shutdown)'"
check "fixture: start again" v start g1
check "fixture: virsh destroy" sh -c "virsh -c '$U' destroy g1 | grep -q destroyed"
check "fixture: shut off (destroyed)" sh -c "virsh -c '$U' domstate --reason g1 | grep -q 'shut off (destroyed)'"
check_prog "py lifecycle" $PY "$CLIENT" lifecycle "$U" g1
# Disks and NICs reach the worker as vmwp options; domifaddr and domhostname
# come from its status line (the fixture reports 192.0.2.7, a non-address
# that must be dropped, and 2001:db8::7).
devxml gd "$DEVS" >"$T/gd.xml"
v define "$T/gd.xml" >/dev/null
check "fixture: start a domain with disks and NICs" v start gd
check "fixture: the worker got the disks' and NICs' options" sh -c \
	"tr '\\0' ' ' </proc/\$(cat '$T/run-b/gd.pid')/cmdline | grep -q -- '--disk $T/disk.img,serial=DISK-A1,cache=none --disk /dev/null,readonly --nic tap=vnet9,bridge=br0,mac=52:54:00:ab:cd:01 --nic tap=ltap1,mac=00:15:5d:'"
v domifaddr gd >"$T/out" 2>&1
check_grep "fixture: domifaddr with two NICs lists the addresses under 'guest'" \
	"^ *guest +ipv4 +192.0.2.7/32$" "$T/out"
v destroy gd >/dev/null
devxml gn "<interface type='ethernet'><mac address='52:54:00:00:00:42'/><target dev='ltap2'/></interface>" >"$T/gn.xml"
v define "$T/gn.xml" >/dev/null && v start gn >/dev/null
for src in lease agent arp; do
	v domifaddr --source "$src" gn >"$T/out.$src" 2>&1
	check_grep "fixture: domifaddr --source $src: the NIC, its MAC and the IPv4 address" \
		"^ *ltap2 +52:54:00:00:00:42 +ipv4 +192.0.2.7/32$" "$T/out.$src"
done
check_grep "fixture: domifaddr: the IPv6 address, canonical" "^ *- +- +ipv6 +2001:db8::7/128$" \
	"$T/out.lease"
check "fixture: domifaddr drops what is not an address" sh -c "! grep -q not-an '$T/out.lease'"
# A worker that knows the guest's addresses per NIC (KVP GET_IP_INFO): each
# NIC by its MAC with the guest's prefixes; a NIC without addresses is listed
# empty (the fixture answers for domains named ifaddrs-*).
devxml ifaddrs-a "$DEVS" >"$T/ia.xml"
v define "$T/ia.xml" >/dev/null && v start ifaddrs-a >/dev/null
v domifaddr ifaddrs-a >"$T/out.ia" 2>&1
check_grep "fixture: domifaddr per NIC: the first NIC's IPv4 address with its prefix" \
	"^ *vnet9 +52:54:00:ab:cd:01 +ipv4 +198.51.100.7/24$" "$T/out.ia"
check_grep "fixture: domifaddr per NIC: its IPv6 address with its prefix" \
	"^ *- +- +ipv6 +2001:db8::7/64$" "$T/out.ia"
check_grep "fixture: domifaddr per NIC: the second NIC listed without addresses" \
	"^ *ltap1 +00:15:5d:[0-9a-f:]{8} +N/A +N/A" "$T/out.ia"
check "fixture: domifaddr per NIC drops what is not an address" sh -c "! grep -q junk '$T/out.ia'"
v destroy ifaddrs-a >/dev/null
check "fixture: domhostname" sh -c "[ \"\$(virsh -q -c '$U' domhostname gn)\" = fixture-gn ]"
# The guest powers off under an open console: the stream ends (an empty data
# packet, then the client's finish is confirmed) and virsh console exits 0.
(sleep 1; virsh -c "$U" shutdown gn >/dev/null; sleep 3) |
	script -qc "virsh -c '$U' console gn; echo virsh-rc=\$?" /dev/null >"$T/console2.out" 2>&1
check_grep "fixture: virsh console ends cleanly when the guest powers off" "virsh-rc=0" \
	"$T/console2.out"
v destroy gn >/dev/null 2>&1
v undefine gn >/dev/null
v undefine gd >/dev/null
check "fixture: no fds leaked by starts, consoles and stops ($fdb before)" \
	test "$(fdcount)" -eq "$fdb"

# Fail fast with a message: the worker's stderr line reaches the user.
echo fail-fast >"$T/ff-kernel"
domxml ff "$T/ff-kernel" >"$T/ff.xml"
v define "$T/ff.xml" >/dev/null
fails "fixture: early worker exit reports its stderr line" \
	"vmwp exited with status 1: test-worker: backend unusable" v start ff
check_grep "fixture: the worker's stderr is in its log" "backend unusable" "$T/run-b/ff.log"

# A worker killed with SIGKILL hurts only its own domain.
v start g1 >/dev/null && v start g2 >/dev/null
kill -9 "$(cat "$T/run-b/g2.pid")"
for _ in $(seq 30); do v domstate g2 | grep -q crashed && break; sleep 0.1; done
check "SIGKILL of a worker: on_crash=preserve -> crashed" \
	sh -c "virsh -c '$U' domstate g2 | grep -q crashed"
check "SIGKILL of a worker: the other domain keeps running" \
	sh -c "virsh -c '$U' domstate g1 | grep -q running"
check_grep "SIGKILL of a worker: reason logged" "g2: worker killed by signal 9" "$T/vmms-b.log"
check "crashed domain can be destroyed" v destroy g2
kill -9 "$(cat "$T/run-b/g1.pid")"
for _ in $(seq 30); do v domstate g1 | grep -q "shut off" && break; sleep 0.1; done
check "SIGKILL of a worker: on_crash=destroy -> shut off (crashed)" \
	sh -c "virsh -c '$U' domstate --reason g1 | grep -q 'shut off (crashed)'"

# vmms killed and restarted: running domains keep running and are re-adopted.
v start g1 >/dev/null
wpid=$(cat "$T/run-b/g1.pid")
kill -9 "$VMMS_PID"
wait "$VMMS_PID" 2>/dev/null
check "vmms SIGKILL: worker survives" kill -0 "$wpid"
start_vmms b --worker "$FIXTURE" || fail "vmms restarts"
v list >"$T/out" 2>&1
check_grep "vmms restart: domain still listed as running" "^ [1-9][0-9]* +g1 +running" "$T/out"
check_grep "vmms restart: re-adopted the worker" "re-adopted running worker pid $wpid" "$T/vmms-b.log"
check "vmms restart: domain can be shut down" v shutdown g1
for _ in $(seq 50); do v domstate g1 | grep -q "shut off" && break; sleep 0.1; done
check "vmms restart: shut off afterwards" sh -c "virsh -c '$U' domstate g1 | grep -q 'shut off'"
check "vmms restart: worker gone" sh -c "! kill -0 $wpid 2>/dev/null || grep -q Z /proc/$wpid/stat"

# Autostart at daemon start.
v autostart g1 >/dev/null
stop_vmms
start_vmms b --worker "$FIXTURE" || fail "vmms restarts (autostart)"
check "autostart: domain started with vmms" sh -c "virsh -c '$U' domstate g1 | grep -q running"
v destroy g1 >/dev/null
stop_vmms

# ================= part 3: client limits (docs/vmms.md) =================
cputicks() { awk '{ print $14 + $15 }' "/proc/$VMMS_PID/stat"; }
# 64 fds: without the read-only limit the flood would take them all.
VMMS_PREFIX="prlimit --nofile=64:64 --" start_vmms c --worker "$FIXTURE" --max-clients 16 \
	--max-ro-clients 8 || fail "vmms (limits) starts"
fdc=$(fdcount)
domxml g3 "$T/kernel" >"$T/g3.xml"
v define "$T/g3.xml" >/dev/null
$PY "$CLIENT" flood "$T/sock-c/virtlinhvd-sock-ro" 300 30 >"$T/flood.out" 2>&1 &
fpid=$!
for _ in $(seq 100); do [ "$(fdcount)" -ge $((fdc + 8)) ] && break; sleep 0.1; done
sleep 1
check "ro flood: vmms holds 8 read-only clients, the limit" test "$(fdcount)" -eq $((fdc + 8))
t0=$(cputicks)
check "ro flood: virsh start on the read-write socket" timeout 20 virsh -q -c "$U" start g3
check "ro flood: virsh list on the read-write socket shows it running" \
	sh -c "timeout 20 virsh -c '$U' list | grep -qE ' g3 +running'"
sleep 2
check "ro flood: vmms does not spin (CPU ticks in ~3 s: $(($(cputicks) - t0)))" \
	test $(($(cputicks) - t0)) -lt 30
kill "$fpid" 2>/dev/null
wait "$fpid"
check "after the ro flood: the read-only socket serves again" \
	sh -c "timeout 20 virsh -r -c '$RO' list --all | grep -q g3"
v destroy g3 >/dev/null
stop_vmms
# Out of fds: no spinning on EMFILE, back to work once fds are free again.
VMMS_PREFIX="prlimit --nofile=48:48 --" start_vmms d --worker "$FIXTURE" ||
	fail "vmms (48 fds) starts"
$PY "$CLIENT" flood "$T/sock-d/virtlinhvd-sock-ro" 100 8 idle >"$T/flood2.out" 2>&1 &
fpid=$!
sleep 3
t0=$(cputicks)
sleep 3
# A spinning vmms takes what CPU it gets (0.5-3 s here, even on a loaded
# host); a paused one next to nothing.
check "EMFILE: vmms does not spin (CPU ticks in 3 s: $(($(cputicks) - t0)))" \
	test $(($(cputicks) - t0)) -lt 30
check_grep "EMFILE: vmms says it pauses accepting" "Too many open files: not accepting clients" \
	"$T/vmms-d.log"
check "EMFILE: logged once, not per attempt" \
	test "$(grep -c 'Too many open files' "$T/vmms-d.log")" -le 2
wait "$fpid"
check "EMFILE: the read-write socket serves again once fds are free" \
	timeout 20 virsh -q -c "$U" list --all
stop_vmms

# In a sanitized build (BUILD_DIR=build-test) ASan/UBSan/LSan report here.
check "no sanitizer reports in the vmms logs" \
	sh -c "! grep -lE 'AddressSanitizer|LeakSanitizer|runtime error' '$T'/vmms-*.log"
check_done

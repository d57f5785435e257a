#!/bin/bash
# Host-tier tests for stock virt-install (Debian 12's virtinst 4.1) against
# vmms, and the transient domains it relies on (virDomainCreateXML, then
# virDomainDefineXML). Domains run under the test-worker fixture
# (tests/vmms/test_worker.c: vmwp's process contract, no guest).
#
# virt-install 4.1 needs --osinfo (its own rule, for every hypervisor), and
# reaches a --disk path through libvirt's storage pools: for an image file it
# defines, starts and autostarts a 'dir' pool for the file's directory
# (storage.h); /dev paths are taken as given (the fixture does not read the
# disk, so /dev/null stands in for a block device).
#
# Env: BUILD_DIR (default build), VMMS_TEST_KEEP=1 keeps the temp dir.
set -u
cd "$(dirname "$0")/../.." || exit 2
# shellcheck source=../lib/check.sh
. tests/lib/check.sh
# shellcheck source=../lib/vmms.sh
. tests/lib/vmms.sh
check_expect 51

vmms_tier virtinstall

for p in "$VMMS" "$FIXTURE" "$(command -v virt-install)"; do
	if [ ! -x "$p" ]; then
		fail "prerequisites" "missing $p: build, and run scripts/install-deps (virtinst)"
		exit 1
	fi
done
if ! start_vmms a --worker "$FIXTURE"; then
	fail "vmms starts" "$(tail -5 "$T/vmms-a.log")"
	exit 1
fi
v() { virsh -q -c "$U" "$@"; }
echo "kernel" >"$T/vmlinuz"
echo "initrd" >"$T/initrd"
mkdir "$T/images"
truncate -s 64M "$T/images/disk.img"
# vi NAME [ARGS...]: virt-install with the issue's options (and --osinfo).
vi() {
	local name=$1
	shift
	virt-install --connect "$U" --name "$name" --osinfo linux2022 --memory 512 --vcpus 2 \
		--boot "kernel=$T/vmlinuz,initrd=$T/initrd,kernel_args=console=ttyS0" \
		--disk path=/dev/null,bus=scsi --network bridge=br0,model=netvsc --graphics none \
		--import --noautoconsole "$@"
}

# ---- --print-xml: what virt-install asks and writes ----
check "virt-install --print-xml" sh -c "$(declare -f vi); U='$U' T='$T' vi px --print-xml >'$T/px.xml' 2>'$T/px.err'"
check_grep "print-xml: domain type linhv" "<domain type=\"linhv\">" "$T/px.xml"
check_grep "print-xml: direct kernel boot" "<kernel>$T/vmlinuz</kernel>" "$T/px.xml"
check_grep "print-xml: the disk on bus scsi" "<target dev=\"sda\" bus=\"scsi\"/>" "$T/px.xml"
check_grep "print-xml: the bridge NIC, model netvsc" "<model type=\"netvsc\"/>" "$T/px.xml"
check_grep "print-xml: the emulator is vmms' worker" "<emulator>$(readlink -f "$FIXTURE")</emulator>" \
	"$T/px.xml"
check "print-xml: vmms accepts it as it is (virsh define)" v define "$T/px.xml"
check "print-xml: and it round-trips (dumpxml | define | dumpxml)" sh -c \
	"virsh -q -c '$U' dumpxml px >'$T/px1.xml' && virsh -q -c '$U' define '$T/px1.xml' >/dev/null &&
	virsh -q -c '$U' dumpxml px | cmp -s - '$T/px1.xml'"
check_grep "print-xml: dumpxml keeps virt-install's osinfo metadata" \
	"<libosinfo:os id=\"http://libosinfo.org/linux/2022\"/>" "$T/px1.xml"
v undefine px >/dev/null

# ---- a real virt-install: create (transient), then define ----
check "virt-install defines and starts the domain" sh -c \
	"$(declare -f vi); U='$U' T='$T' vi vi1 >'$T/vi1.out' 2>&1"
check_grep "virt-install: creation completed" "Domain creation completed" "$T/vi1.out"
check "virt-install: the domain runs" sh -c "virsh -c '$U' domstate vi1 | grep -q running"
check "virt-install: and is persistent" sh -c "virsh -c '$U' dominfo vi1 | grep -qE '^Persistent: +yes'"
check "virt-install: definition stored" test -s "$T/state-a/domains/vi1.xml"
check "virt-install: the worker got the kernel, initrd, cmdline, 2 vCPUs, 512M, disk and NIC" sh -c \
	"tr '\\0' ' ' </proc/\$(cat '$T/run-a/vi1.pid')/cmdline | grep -q -- '--kernel $T/vmlinuz --initrd $T/initrd --cmdline console=ttyS0 --memory 512M --cpus 2 --disk /dev/null --nic bridge=br0,mac='"
check "virt-install: destroy leaves it defined" sh -c \
	"virsh -q -c '$U' destroy vi1 >/dev/null && virsh -c '$U' domstate vi1 | grep -q 'shut off'"
check "virt-install: it starts again" v start vi1
v destroy vi1 >/dev/null
fails_with() { # fails_with NAME PATTERN CMD...
	local name=$1 pat=$2
	shift 2
	if "$@" >"$T/out" 2>&1; then
		fail "$name" "succeeded"
	else
		check_grep "$name" "$pat" "$T/out"
	fi
}
fails_with "virt-install with the default NIC model (e1000): refused by name" \
	"interface model 'e1000' is not supported" \
	virt-install --connect "$U" --name vi3 --osinfo linux2022 --memory 512 \
	--boot "kernel=$T/vmlinuz" --disk none --network bridge=br0 --graphics none --import \
	--noautoconsole
fails_with "virt-install with another emulator: refused" "is not linhv's worker" \
	virt-install --connect "$U" --name vi4 --osinfo linux2022 --memory 512 \
	--boot "kernel=$T/vmlinuz" --disk none --network none --graphics none --import \
	--noautoconsole --xml ./devices/emulator=/usr/bin/qemu-system-x86_64
check "the refused installs left nothing behind" sh -c \
	"[ \"\$(virsh -q -c '$U' list --all --name | sort | tr '\\n' ' ')\" = 'vi1 ' ]"

# ---- an image file: virt-install makes a dir storage pool for its folder ----
check "virt-install with an image file (the issue's --disk path=IMG,bus=scsi)" sh -c \
	"virt-install --connect '$U' --name vi2 --osinfo linux2022 --memory 512 --vcpus 2 \
	--boot kernel=$T/vmlinuz,initrd=$T/initrd,kernel_args=console=ttyS0 \
	--disk path=$T/images/disk.img,bus=scsi --network bridge=br0,model=netvsc --graphics none \
	--import --noautoconsole >'$T/vi2.out' 2>&1"
check "image file: the worker got it" sh -c \
	"tr '\\0' ' ' </proc/\$(cat '$T/run-a/vi2.pid')/cmdline | grep -q -- '--disk $T/images/disk.img '"
virsh -q -c "$U" pool-list --all --details >"$T/pools.out" 2>&1
check_grep "image file: virt-install's pool for the folder is running and autostarts" \
	"^ *images +running +yes +yes " "$T/pools.out"
check_grep "image file: the pool is stored" "<path>$T/images</path>" "$T/state-a/pools/images.xml"
v vol-list images --details >"$T/vols.out" 2>&1
check_grep "vol-list: the image, 64 MiB" "^ *disk.img +$T/images/disk.img +file +64.00 MiB" "$T/vols.out"
v destroy vi2 >/dev/null
# Storage pools by hand: virsh pool-* and vol-*.
mkdir "$T/p2" "$T/p2/subdir"
truncate -s 1M "$T/p2/a.img"
: >"$T/p2/.hidden"
check "virsh pool-define-as dir, pool-start" sh -c \
	"virsh -q -c '$U' pool-define-as p2 dir --target '$T/p2' >/dev/null &&
	virsh -q -c '$U' pool-start p2 >/dev/null"
check "vol-list: regular files only (no directory, no hidden file)" sh -c \
	"[ \"\$(virsh -q -c '$U' vol-list p2 | awk '{print \$1}')\" = a.img ]"
check "vol-info, vol-path, vol-pool" sh -c \
	"virsh -c '$U' vol-info --pool p2 a.img | grep -qE '^Capacity: +1.00 MiB' &&
	[ \"\$(virsh -q -c '$U' vol-path --pool p2 a.img)\" = '$T/p2/a.img' ] &&
	[ \"\$(virsh -q -c '$U' vol-pool '$T/p2/a.img')\" = p2 ]"
check "vol-dumpxml: raw, the path as key" sh -c \
	"virsh -q -c '$U' vol-dumpxml --pool p2 a.img | grep -q \"<key>$T/p2/a.img</key>\""
fails_with "vol-create-as refused, saying how" "create the file" v vol-create-as p2 new.img 1M
fails_with "a second pool on the same directory refused" "already has the target path" \
	v pool-define-as p3 dir --target "$T/p2"
fails_with "a pool type other than dir refused" "storage pool type 'logical' is not supported" \
	v pool-define-as p4 logical
fails_with "undefine of an active pool refused" "is still active" v pool-undefine p2
check "pool-destroy, pool-undefine" sh -c \
	"virsh -q -c '$U' pool-destroy p2 >/dev/null && virsh -q -c '$U' pool-undefine p2 >/dev/null &&
	! virsh -q -c '$U' pool-list --all --name | grep -qE '^p2 *\$' && [ ! -e '$T/state-a/pools/p2.xml' ]"
check "pool-build creates the target with its missing parents (virt-manager's default pool)" sh -c \
	"virsh -q -c '$U' pool-define-as p5 dir --target '$T/new/lib/images' >/dev/null &&
	virsh -q -c '$U' pool-build p5 >/dev/null && [ -d '$T/new/lib/images' ] &&
	virsh -q -c '$U' pool-undefine p5 >/dev/null"

# ---- transient domains: virsh create ----
vmms_domxml tr1 "$T/vmlinuz" >"$T/tr1.xml"
check "virsh create (transient)" sh -c "virsh -c '$U' create '$T/tr1.xml' | grep -q \"Domain 'tr1' created\""
check "transient: running, not persistent" sh -c \
	"virsh -c '$U' dominfo tr1 | grep -qE '^Persistent: +no' && virsh -c '$U' domstate tr1 | grep -q running"
check "transient: nothing stored" test ! -e "$T/state-a/domains/tr1.xml"
check "transient: list --transient shows it, --persistent does not" sh -c \
	"virsh -q -c '$U' list --transient --name | grep -qx tr1 &&
	! virsh -q -c '$U' list --persistent --name | grep -qx tr1"
fails_with "transient: undefine refused" "cannot undefine transient domain" v undefine tr1
fails_with "transient: autostart refused" "cannot set autostart for transient domain" v autostart tr1
fails_with "transient: create of an existing name refused" "domain 'tr1' already exists" \
	v create "$T/tr1.xml"
# vmms restarts: the running transient domain is re-adopted.
wpid=$(cat "$T/run-a/tr1.pid")
{
	kill -9 "$VMMS_PID"
	wait "$VMMS_PID"
} 2>/dev/null
VMMS_PID=""
start_vmms a --worker "$FIXTURE" || fail "vmms restarts"
check "vmms restart: the autostart pool is running again" sh -c \
	"virsh -q -c '$U' pool-list --name | grep -qE '^images *$'"
check "transient: re-adopted after a vmms restart" sh -c \
	"virsh -c '$U' domstate tr1 | grep -q running && virsh -c '$U' dominfo tr1 | grep -qE '^Persistent: +no'"
check_grep "transient: the same worker" "re-adopted running worker pid $wpid" "$T/vmms-a.log"
check "transient: destroy makes it go away" sh -c \
	"virsh -q -c '$U' destroy tr1 >/dev/null && ! virsh -q -c '$U' list --all --name | grep -qx tr1"
check "transient: its run files are gone (its log stays)" sh -c \
	bash -c "! ls '$T/run-a/tr1.'{pid,ctl,console,id,xml} 2>/dev/null"
# A guest power-off ends it too; a define while it runs makes it persistent.
v create "$T/tr1.xml" >/dev/null
v shutdown tr1 >/dev/null
for _ in $(seq 50); do v list --all --name | grep -qx tr1 || break; sleep 0.1; done
check "transient: gone after the guest powered off" sh -c "! virsh -q -c '$U' list --all --name | grep -qx tr1"
v create "$T/tr1.xml" >/dev/null
v dumpxml tr1 >"$T/tr1-dump.xml"
check "transient: define while it runs makes it persistent" sh -c \
	"virsh -q -c '$U' define '$T/tr1-dump.xml' >/dev/null &&
	virsh -c '$U' dominfo tr1 | grep -qE '^Persistent: +yes'"
check "transient made persistent: destroy keeps it defined" sh -c \
	"virsh -q -c '$U' destroy tr1 >/dev/null && virsh -c '$U' domstate tr1 | grep -q 'shut off'"
v undefine tr1 >/dev/null
v undefine vi1 >/dev/null
v undefine vi2 >/dev/null

stop_vmms
check "no sanitizer reports in the vmms logs" \
	sh -c "! grep -lE 'AddressSanitizer|LeakSanitizer|runtime error' '$T'/vmms-*.log"
check_done

#!/bin/sh
# Emulated-host tier: storage (issue 16's acceptance 1-6) with Debian's stock
# guest kernel: hv_storvsc talking to vmwp's storvsp, one boot, 2 vCPUs (1 on
# kvm_amd unless LINHV_SLOW=1, see below), four disks (LUNs of one
# controller): sda data, sdb ext4, sdc read-only, sdd a mailbox the host
# writes tokens into. The guest side is storage.d/guest-init.
# linhv backend by default; STORAGE_BACKEND=kvm (storage-kvm.sh) runs the same
# checks on kvm_amd; STORAGE_BACKEND=qemu runs the guest checks on QEMU's
# virtio-scsi instead (a check of the tier itself, -accel kvm or tcg).
#   sh tests/emuhost/storage-linhv.sh OUTDIR      (run inside scripts/emuhost)
. tests/lib/check.sh
. tests/lib/backend.sh
BACKEND=${STORAGE_BACKEND:-linhv}
CHECK_PREFIX="storage $BACKEND: "
# 2 vCPUs (sub-channels, three checks) on linhv.ko; on kvm_amd only with
# LINHV_SLOW=1 or STORAGE_CPUS=2: 2-vCPU guests on kvm_amd in the emulated
# host triple-fault now and then (docs/emuhost.md), as in the network tier.
if [ "$BACKEND" = kvm ] && [ "${LINHV_SLOW:-0}" != 1 ]; then CPUS=${STORAGE_CPUS:-1}; else CPUS=${STORAGE_CPUS:-2}; fi
# 25 checks on every backend; vmwp adds its own 6 (module load, missing and
# locked images, 3 sub-channel checks with 2 vCPUs), linhv 2 more (rmmod, dmesg).
case $BACKEND in linhv) n=33 ;; kvm) n=31 ;; *) n=25 ;; esac
[ "$BACKEND" = qemu ] || [ "$CPUS" -ge 2 ] || n=$((n - 3))
check_expect "$n"

out=${1:-/tmp/storage-$BACKEND}
mkdir -p "$out"
B=$BUILD/vmm/vmwp/vmwp
tmp=$(mktemp -d)
log=$out/storage.log  # the guest's console
wlog=$out/storage-vmwp.log # vmwp's own lines (apart: they would split console lines)
K=${LINHV_GUEST_KERNEL:-$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -n 1)}
cp "$K" "$tmp/vmlinuz"
MiB=1048576

# Every image lives in the emulated host's tmpfs: the checks below run here
# once vmwp is gone, tmpfs punches holes (9p does not), and the emulated
# host's 9p is slow. The default cache=writeback works on tmpfs.
sda=$tmp/sda.img
sdb=$tmp/sdb.img
ro=$tmp/ro.img
mbox=$tmp/mbox.img
truncate -s $((200 * MiB)) "$sda"
truncate -s $((96 * MiB)) "$sdb"
head -c $((8 * MiB)) /dev/urandom >"$ro"
truncate -s $MiB "$mbox"
ro_sum=$(sha256sum "$ro" | cut -d ' ' -f 1)
SERIALS="linhvsda01 linhvsdb02 linhvro03 linhvmb04"

extra=""
[ "$BACKEND" = qemu ] && extra="--module virtio_pci --module virtio_scsi"
# shellcheck disable=SC2086
check mkguest scripts/mkguest -o "$tmp/g.cpio.gz" --init tests/emuhost/storage.d/guest-init \
	--module sd_mod --module sg --module ext4 $extra \
	--bin /usr/bin/dd --bin /usr/sbin/mkfs.ext4 --bin /usr/sbin/e2fsck --bin /usr/sbin/fstrim \
	--bin /usr/bin/sg_raw --bin /bin/udevadm --bin /lib/systemd/systemd-udevd --bin /lib/udev/scsi_id \
	--add /lib/udev/rules.d/60-persistent-storage.rules:/lib/udev/rules.d/60-persistent-storage.rules

# wait_log PATTERN SECONDS: until the console log has a line matching PATTERN
# (polled every 0.1 s); gives up early when the worker has exited.
wait_log() {
	i=0
	while [ $i -lt $(($2 * 10)) ]; do
		grep -qE -- "$1" "$log" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	grep -qE -- "$1" "$log" 2>/dev/null
}
# mailbox TOKEN: the guest's wait_host returns once the mailbox disk holds TOKEN.
mailbox() { printf '%s\n' "$1" | dd of="$mbox" bs=4096 conv=notrunc,sync 2>/dev/null; }
# field LINE-PREFIX KEY: KEY=value from the first console line starting with LINE-PREFIX.
field() { grep -a "^$1 " "$log" | tr -d '\r' | head -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }

if [ "$BACKEND" != qemu ]; then
	backend_load "$BACKEND"
	# Refusals users can act on, before any guest runs: a missing image.
	timeout 60 "$B" --backend "$BACKEND" --kernel "$tmp/vmlinuz" --disk "$tmp/missing.img" >"$tmp/missing.log" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -q "missing.img" "$tmp/missing.log" && [ "$(wc -l <"$tmp/missing.log")" -le 2 ]; then
		pass "a missing image is refused at start (exit 1, one line)"
	else
		fail "a missing image is refused at start (exit 1, one line)" "exit $rc: $(head -n 3 "$tmp/missing.log" | tr '\n' ' ')"
	fi
fi

: >"$log"
set -- $SERIALS
if [ "$BACKEND" = qemu ]; then
	accel=tcg
	[ -w /dev/kvm ] && grep -qwE "svm|vmx" /proc/cpuinfo && accel=kvm
	dev() { # dev N FILE SERIAL [readonly]
		ro_opt=""
		[ -n "${4:-}" ] && ro_opt=",readonly=on"
		echo "-drive file=$2,format=raw,if=none,id=d$1,discard=unmap$ro_opt -device scsi-hd,drive=d$1,serial=$3,scsi-id=0,lun=$1"
	}
	# shellcheck disable=SC2046
	qemu-system-x86_64 -accel $accel -m 512M -smp 2 -nodefaults -nographic -serial stdio -no-reboot \
		-kernel "$tmp/vmlinuz" -initrd "$tmp/g.cpio.gz" -append "console=ttyS0 quiet" \
		-device virtio-scsi-pci,num_queues=2 $(dev 0 "$sda" "$1") $(dev 1 "$sdb" "$2") \
		$(dev 2 "$ro" "$3" ro) $(dev 3 "$mbox" "$4") >"$log" 2>&1 </dev/null &
else
	"$B" --backend "$BACKEND" --kernel "$tmp/vmlinuz" --initrd "$tmp/g.cpio.gz" --cpus "$CPUS" --memory 512M \
		--cmdline "console=ttyS0 quiet" --disk "$sda,serial=$1" --disk "$sdb,serial=$2" \
		--disk "$ro,readonly,serial=$3" --disk "$mbox,serial=$4" >"$log" 2>"$wlog" </dev/null &
fi
pid=$!
start=$(date +%s)

# (3) fstrim, host side: the image's allocated blocks before and after.
if wait_log '^GUEST-TRIM-BEFORE' 600; then
	blocks_before=$(stat -c %b "$sdb")
	mailbox trim-go
	wait_log '^GUEST-TRIM-DONE' 120
	blocks_after=$(stat -c %b "$sdb")
	mailbox trim-seen
fi
echo "sdb image: ${blocks_before:-?} blocks of 512 bytes before fstrim, ${blocks_after:-?} after"
# 16 MiB of the 24 MiB that the guest wrote and deleted at least.
if [ -n "${blocks_after:-}" ] && [ "$blocks_after" -le $((blocks_before - 32768)) ]; then
	pass "fstrim punched holes in the image ($blocks_before -> $blocks_after blocks)"
else
	fail "fstrim punched holes in the image" "${blocks_before:-?} -> ${blocks_after:-?} blocks"
fi

# Two workers never open one writable image: a second vmwp on sda is refused.
if [ "$BACKEND" != qemu ]; then
	timeout 60 "$B" --backend "$BACKEND" --kernel "$tmp/vmlinuz" --disk "$sda" >"$tmp/lock.log" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -qi "lock" "$tmp/lock.log"; then
		pass "a second vmwp on the same image is refused (lock)"
	else
		fail "a second vmwp on the same image is refused (lock)" "exit $rc: $(head -n 3 "$tmp/lock.log" | tr '\n' ' ')"
	fi
fi

# (5) SIGKILL right after the guest's sync returned.
# The whole line, not its start: the worker is killed right after.
if wait_log '^GUEST-SYNCED [0-9a-f]{64}' 300; then
	kill -KILL $pid
	echo "killed the worker $(($(date +%s) - start)) s after its start"
else
	kill -KILL $pid 2>/dev/null
fi
wait $pid
rc=$?
if [ $rc -eq 137 ]; then pass "worker ran until the SIGKILL"; else fail "worker ran until the SIGKILL" "exit $rc"; fi
tr -d '\r' <"$log" | grep -a '^GUEST-' | grep -v '^GUEST-CHAN' | cut -c 1-300
# Seconds of guest uptime per step.
tr -d '\r' <"$log" | awk '$1 == "GUEST-T" { if (p != "") printf "%s %.0f s, ", p, $3 - t; p = $2; t = $3 } END { print "" }'

# (1) Identity. The guest found each disk by its serial (VPD page 0x80):
# they are LUNs of one controller in the order given, with the images' sizes;
# the read-only one is read-only; udevd linked each in /dev/disk/by-id.
# Linux names sd disks in the order its asynchronous probes finish, so the
# sdX names are reported, not checked.
roles=$(grep -a '^GUEST-ROLES ' "$log" | tr -d '\r' | head -n 1)
echo "disk names: ${roles:-none} (given: data fs ro mailbox)"
luns=""
for role in data fs ro mailbox; do
	n=$(echo "$roles" | tr ' ' '\n' | sed -n "s/^$role=//p")
	luns="$luns $(field "GUEST-DISK ${n:-none}" hctl | cut -d : -f 1-3)/$(field "GUEST-DISK ${n:-none}" hctl | cut -d : -f 4)"
done
h=$(echo "$luns" | cut -d ' ' -f 2 | cut -d / -f 1)
if [ "$luns" = " $h/0 $h/1 $h/2 $h/3" ] && [ -n "$h" ]; then
	pass "disks are LUNs 0-3 of one controller in the order given ($h)"
else
	fail "disks are LUNs 0-3 of one controller in the order given" "H:C:T/LUN:$luns"
fi
byid=""
for d in data:"$sda":$1 fs:"$sdb":$2 ro:"$ro":$3 mailbox:"$mbox":$4; do
	role=${d%%:*}
	s=${d##*:}
	img=${d#*:}
	img=${img%:*}
	n=$(echo "$roles" | tr ' ' '\n' | sed -n "s/^$role=//p")
	want=$(stat -c %s "$img")
	got=$(field "GUEST-DISK ${n:-none}" bytes)
	if [ "$got" = "$want" ]; then pass "$role disk ($s, /dev/$n) has the image's size ($want bytes)"; else fail "$role disk ($s) has the image's size" "${got:-no disk}, want $want"; fi
	# A by-id link to the disk, named after its identity: the serial itself,
	# or (when page 0x83 has an NAA name, which udev prefers) with the serial
	# in udev's ID_SCSI_SERIAL.
	link=$(grep -a "^GUEST-BYID .* /dev/${n:-none}" "$log" | tr -d '\r' | cut -d ' ' -f 2 | head -n 1)
	if [ -z "$link" ]; then
		byid="$byid $s:no-link"
	elif ! echo "$link" | grep -q "$s" && ! grep -a "^GUEST-UDEV $n " "$log" | grep -q "ID_SCSI_SERIAL=$s "; then
		byid="$byid $s:$link"
	fi
	[ "$role" = ro ] && ro_dev=$n
done
if [ "$(field "GUEST-DISK ${ro_dev:-none}" ro)" = 1 ]; then pass "the read-only disk is read-only in the guest"; else fail "the read-only disk is read-only in the guest"; fi
if [ -z "$byid" ]; then pass "/dev/disk/by-id (Debian's udevd) links every disk by its serial"; else fail "/dev/disk/by-id (Debian's udevd) links every disk by its serial" "$byid"; fi

# Checks decided in the guest; a missing line fails.
for r in direct-write direct-read-matches mkfs mount umount fsck-clean content-after-remount fstrim \
	ro-write-fails sg-write-works ro-sg-write-data-protect; do
	l=$(grep -a "^GUEST-RESULT $r " "$log" | tr -d '\r' | head -n 1)
	case $l in
	"GUEST-RESULT $r ok"*) pass "guest: $r" ;;
	"") fail "guest: $r" "no result" ;;
	*) fail "guest: $r" "$(echo "$l" | cut -d ' ' -f 3-)" ;;
	esac
done

# (2) The image holds the 64 MiB the guest wrote with O_DIRECT.
gsum=$(grep -a '^GUEST-DIRECT-SUM ' "$log" | tr -d '\r' | cut -d ' ' -f 2)
hsum=$(head -c $((64 * MiB)) "$sda" | sha256sum | cut -d ' ' -f 1)
if [ -n "$gsum" ] && [ "$gsum" = "$hsum" ]; then pass "image holds the guest's 64 MiB O_DIRECT write"; else fail "image holds the guest's 64 MiB O_DIRECT write" "guest ${gsum:-none}, image $hsum"; fi

# (4) The read-only image is unchanged, and the guest read it right.
now=$(sha256sum "$ro" | cut -d ' ' -f 1)
if [ "$now" = "$ro_sum" ]; then pass "read-only image unchanged"; else fail "read-only image unchanged"; fi
g=$(grep -a '^GUEST-RO-SUM ' "$log" | tr -d '\r' | cut -d ' ' -f 2)
if [ "$g" = "$ro_sum" ]; then pass "guest read the read-only image right"; else fail "guest read the read-only image right" "${g:-none}"; fi

# (5) The data synced before the SIGKILL is in the image.
ksum=$(grep -a '^GUEST-SYNCED ' "$log" | tr -d '\r' | cut -d ' ' -f 2)
hsum=$(dd if="$sda" bs=$MiB skip=100 count=4 2>/dev/null | sha256sum | cut -d ' ' -f 1)
if [ -n "$ksum" ] && [ "$ksum" = "$hsum" ]; then pass "data synced before SIGKILL is in the image"; else fail "data synced before SIGKILL is in the image" "guest ${ksum:-none}, image $hsum"; fi

# (6) Sub-channels: vmwp opened some, the guest has more than one channel on
# the storvsc device, and more than one took interrupts during the
# per-vCPU reads.
if [ "$BACKEND" != qemu ] && [ "$CPUS" -ge 2 ]; then
	grep -a '^GUEST-CHAN' "$log" | tr -d '\r'
	n=$(grep -ac 'sub-channel.*opened' "$wlog")
	if [ "$n" -ge 1 ]; then pass "vmwp opened $n sub-channel(s)"; else fail "vmwp opened sub-channels" "no 'sub-channel ... opened' line"; fi
	nch=$(grep -ac '^GUEST-CHAN before ' "$log")
	if [ "$nch" -ge 2 ]; then pass "guest storvsc has $nch channels"; else fail "guest storvsc has more than one channel" "$nch"; fi
	busy=$(grep -a '^GUEST-CHAN ' "$log" | tr -d '\r' | awk '
		{ for (i = 4; i <= NF; i++) if ($i ~ /^interrupts=/) v = substr($i, 12) + 0 }
		$2 == "before" { b[$3] = v } $2 == "after" && v > b[$3] { n++ }
		END { print n + 0 }')
	if [ "$busy" -ge 2 ]; then pass "I/O ran on $busy channels"; else fail "I/O ran on more than one channel" "$busy channel(s) took interrupts"; fi
fi

rm -rf "$tmp"
if [ "$BACKEND" != qemu ]; then backend_unload "$BACKEND" "the guest"; fi
check_done

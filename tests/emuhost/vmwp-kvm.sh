#!/bin/sh
# Emulated-host tier: vmwp boots Debian's stock kernel with a scripts/mkguest
# initramfs on the kvm backend (kvm_amd inside the emulated host), or on
# linhv.ko when VMWP_BACKEND=linhv (tests/emuhost/vmwp-linhv.sh).
#   sh tests/emuhost/vmwp-kvm.sh OUTDIR      (run inside scripts/emuhost)
. tests/lib/check.sh
. tests/lib/backend.sh
. tests/lib/vmwp-guest.sh
BACKEND=${VMWP_BACKEND:-kvm}
CHECK_PREFIX="$BACKEND: "
# On linhv.ko two more: the unload and dmesg checks.
if [ "$BACKEND" = linhv ]; then check_expect 74; else check_expect 72; fi

out=${1:-/tmp/vmwp-kvm}
mkdir -p "$out"
B=$BUILD/vmm/vmwp/vmwp
K=${LINHV_GUEST_KERNEL:-$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -n 1)}
PY=/usr/bin/python3
tmp=$(mktemp -d)

backend_load "$BACKEND"

# ctl SOCKET REQUEST: one control request, prints the reply line.
ctl() {
	$PY - "$1" "$2" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while not buf.endswith(b"\n"):
    d = s.recv(512)
    if not d:
        break
    buf += d
print(buf.decode().strip())
PYEOF
}

# Guest scripts (run after LINHV-GUEST-READY by mkguest's /init).
vmwp_power_script "$tmp/power.sh"
printf '#!/bin/sh\nreboot\n' >"$tmp/reboot.sh"
printf '#!/bin/sh\nwhile :; do sleep 1; done\n' >"$tmp/idle.sh"
for g in power reboot idle; do
	scripts/mkguest -o "$tmp/$g.cpio.gz" --init "$tmp/$g.sh" || fail "mkguest $g"
done
# The same power guest, with a disk, on the other stock kernels that
# scripts/install-deps unpacks (Debian 12's 6.12, Debian 11's 5.10).
KS="" nk=0
for k in $(vmwp_more_kernels); do
	if LINHV_GUEST_KERNEL=$k scripts/mkguest -o "$tmp/power-${k##*/vmlinuz-}.cpio.gz" --init "$tmp/power.sh"; then
		KS="$KS $k" nk=$((nk + 1))
	else
		fail "mkguest for $k"
	fi
done
if [ "$nk" -ge 2 ]; then
	pass "two more guest kernels in build/guest-kernels ($nk)"
else
	fail "two more guest kernels in build/guest-kernels" "$nk: run scripts/install-deps"
fi
truncate -s 16M "$tmp/more.img"

# boot NAME CPUS GUEST [vmwp args...]: runs vmwp, status in $rc. The guest's
# console goes to $out/NAME.log, vmwp's own lines to NAME.vmwp.log: in one
# file they can land in the middle of a guest line.
boot() {
	name=$1 cpus=$2 g=$3
	shift 3
	start=$(date +%s.%N)
	timeout -k 10 "${boot_timeout:-150}" "$B" --backend "$BACKEND" --kernel "${boot_kernel:-$K}" --initrd "$tmp/$g.cpio.gz" --cpus "$cpus" \
		--memory 512M --cmdline "console=ttyS0 quiet" "$@" >"$out/$name.log" 2>"$out/$name.vmwp.log" </dev/null
	rc=$?
	end=$(date +%s.%N)
	echo "$name: exit $rc after $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s"
}

for n in 1 2; do
	boot "power-$n" "$n" power
	if [ "$rc" -eq 0 ]; then pass "$n vCPU: poweroff -> exit 0"; else fail "$n vCPU: poweroff -> exit 0" "exit $rc"; fi
	vmwp_power_checks "$n" "$out/power-$n.log"
done
for k in $KS; do
	r2=${k##*/vmlinuz-}
	boot_kernel=$k
	boot "power-$r2" 1 "power-$r2" --disk "$tmp/more.img"
	boot_kernel=""
	if [ "$rc" -eq 0 ]; then pass "$r2, 1 vCPU: poweroff -> exit 0"; else fail "$r2, 1 vCPU: poweroff -> exit 0" "exit $rc"; fi
	if grep -qF "guest: kernel=$r2" "$out/power-$r2.log"; then
		pass "$r2: the guest runs that kernel"
	else
		fail "$r2: the guest runs that kernel" "$(grep -m1 '^guest: kernel=' "$out/power-$r2.log" || echo 'no kernel line')"
	fi
	vmwp_power_checks 1 "$out/power-$r2.log" "$r2, 1 vCPU, a disk"
done

# Linux reboots through the reset vector (BIOS path): vmwp's stub writes 0xCF9.
boot_timeout=90
boot reboot-noreboot 1 reboot --no-reboot
boot_timeout=150
if [ "$rc" -eq 4 ]; then pass "reboot with --no-reboot -> exit 4"; else fail "reboot with --no-reboot -> exit 4" "exit $rc"; fi

# Reboot in place on 2 VPs: wait for the second boot's VMBus line, then quit.
"$B" --backend "$BACKEND" --kernel "$K" --initrd "$tmp/reboot.cpio.gz" --memory 512M --cpus 2 \
	--cmdline "console=ttyS0 quiet" --control "$tmp/r.ctl" >"$out/reboot.log" 2>"$out/reboot.vmwp.log" </dev/null &
pid=$!
i=0
while [ "$(grep -c '^guest: vmbus devices:' "$out/reboot.log")" -lt 2 ] && [ $i -lt 90 ]; do sleep 1; i=$((i+1)); done
c=$(grep -c '^LINHV-GUEST-READY' "$out/reboot.log")
if [ "$c" -ge 2 ]; then pass "reboot restarts the guest in place"; else fail "reboot restarts the guest in place" "$c boots"; fi
l=$(grep '^guest: nproc=' "$out/reboot.log" | tr -d '\r' | sed -n 2p)
case $l in "guest: nproc=2") pass "second boot: both VPs up" ;; *) fail "second boot: both VPs up" "$l" ;; esac
n=$(grep '^guest: vmbus devices:' "$out/reboot.log" | tr -d '\r' | sed -n 2p | sed 's/.*: //')
if [ "${n:-0}" -ge 4 ]; then pass "second boot: VMBus reconnected (4 devices)"; else fail "second boot: VMBus reconnected (4 devices)" "${n:-no line}"; fi
st=$(ctl "$tmp/r.ctl" status)
case $st in *" boots=0 "* | *" boots=1 "*) fail "status counts the in-place reboots (boots >= 2)" "$st" ;;
*" boots="[0-9]*) pass "status counts the in-place reboots (boots >= 2)" ;;
*) fail "status counts the in-place reboots (boots >= 2)" "$st" ;; esac
ctl "$tmp/r.ctl" quit >/dev/null
wait $pid
check "quit -> exit 0" test $? -eq 0
check "control socket removed at exit" test ! -e "$tmp/r.ctl"

# Control socket and the shutdown IC.
"$B" --backend "$BACKEND" --kernel "$K" --initrd "$tmp/idle.cpio.gz" --memory 512M --cpus 2 \
	--cmdline "console=ttyS0 quiet" --control "$tmp/c.ctl" --console "unix:$tmp/c.con" \
	--pidfile "$tmp/c.pid" >"$out/control.log" 2>&1 </dev/null &
pid=$!
i=0
st=""
while [ $i -lt 90 ]; do
	st=$(ctl "$tmp/c.ctl" status 2>/dev/null)
	case $st in *heartbeat=ok*) break ;; esac
	kill -0 $pid 2>/dev/null || break # vmwp has exited (a crashed guest): nothing to wait for
	sleep 1
	i=$((i+1))
done
echo "status: $st"
case $st in "ok state=running boots=1 heartbeat=ok"*) pass "status: running, first boot, heartbeat ok" ;; *) fail "status: running, first boot, heartbeat ok" "$st" ;; esac
check "pidfile holds the pid" test "$(cat "$tmp/c.pid" 2>/dev/null)" = "$pid"
r=$(ctl "$tmp/c.ctl" pause)
s=$(ctl "$tmp/c.ctl" status)
case "$r/$s" in "ok paused/ok state=paused"*) pass "pause" ;; *) fail "pause" "$r / $s" ;; esac
r=$(ctl "$tmp/c.ctl" resume)
case "$r" in "ok running") pass "resume" ;; *) fail "resume" "$r" ;; esac
r=$(ctl "$tmp/c.ctl" bogus)
case "$r" in "error: "*) pass "unknown request -> error:" ;; *) fail "unknown request -> error:" "$r" ;; esac
$PY - "$tmp/c.con" >"$out/console.txt" <<'PYEOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(3)
buf = b""
try:
    while b"LINHV-GUEST-READY" not in buf:
        d = s.recv(4096)
        if not d: break
        buf += d
except Exception: pass
sys.stdout.write(buf.decode(errors="replace"))
PYEOF
check_grep "unix console replays the guest's output" 'LINHV-GUEST-READY' "$out/console.txt"
r=$(ctl "$tmp/c.ctl" shutdown)
case "$r" in "ok "*) pass "shutdown accepted" ;; *) fail "shutdown accepted" "$r" ;; esac
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 60 ]; do sleep 1; i=$((i+1)); done
wait $pid
rc=$?
if [ "$rc" -eq 0 ]; then pass "shutdown through the shutdown IC -> exit 0"; else fail "shutdown through the shutdown IC -> exit 0" "exit $rc"; fi
check "no files left behind" test ! -e "$tmp/c.ctl" -a ! -e "$tmp/c.con" -a ! -e "$tmp/c.pid"

# A kernel whose 64-bit entry loads an empty IDT and traps: a triple fault.
# tfr.bin first writes the CMOS shutdown byte, as Linux's BIOS reboot does.
for v in tf tfr; do
$PY - "$tmp/$v.bin" <<'PYEOF'
import struct, sys
img = bytearray(1024 + 4096)
img[0x1f1] = 1                     # setup_sects: 1 (+ boot sector)
img[0x1fe:0x200] = b"\x55\xaa"
img[0x201] = 0x66                  # header to 0x268
img[0x202:0x206] = b"HdrS"
struct.pack_into("<H", img, 0x206, 0x020f)
img[0x211] = 1                     # LOADED_HIGH
struct.pack_into("<H", img, 0x236, 1)  # XLF_KERNEL_64
struct.pack_into("<I", img, 0x260, 0x10000)
# at kernel offset 0x200: lidt [0x600] (zeroed); int3
code = b"\x0f\x01\x1c\x25\x00\x06\x00\x00\xcc"
if sys.argv[1].endswith("tfr.bin"):  # mov al,0x8f; out 0x70,al; mov al,0; out 0x71,al
    code = b"\xb0\x8f\xe6\x70\xb0\x00\xe6\x71" + code
img[1024 + 0x200:1024 + 0x200 + len(code)] = code
open(sys.argv[1], "wb").write(img)
PYEOF
done
timeout -k 10 60 "$B" --backend "$BACKEND" --kernel "$tmp/tf.bin" --memory 64M >"$out/triple.log" 2>&1 </dev/null
rc=$?
if [ "$rc" -eq 3 ]; then pass "triple fault -> exit 3"; else fail "triple fault -> exit 3" "exit $rc"; fi
check_grep "triple fault is named" 'guest crashed: triple fault' "$out/triple.log"
timeout -k 10 60 "$B" --backend "$BACKEND" --kernel "$tmp/tfr.bin" --memory 64M --no-reboot >"$out/triple-reboot.log" 2>&1 </dev/null
rc=$?
if [ "$rc" -eq 4 ]; then pass "triple fault after a reboot request -> exit 4"; else fail "triple fault after a reboot request -> exit 4" "exit $rc"; fi

# Bad input: one clear line, status 1, nothing started.
check_exit "not a bzImage -> 1" 1 "$B" --backend "$BACKEND" --kernel /etc/hostname
check_exit "missing initrd -> 1" 1 "$B" --backend "$BACKEND" --kernel "$K" --initrd /nonexistent
check_exit "memory too small -> 1" 1 "$B" --backend "$BACKEND" --kernel "$K" --memory 40M

# --assign-pci: a malformed address is bad usage (one line, status 2). A real
# device of this emulated host (no IOMMU) is refused before the guest starts:
# on linhv the line names the IOMMU, on kvm the backend.
"$B" --backend "$BACKEND" --kernel "$K" --assign-pci 0000:01:00 >"$out/assign-bad.log" 2>&1 </dev/null
rc=$?
if [ "$rc" -eq 2 ] && [ "$(wc -l <"$out/assign-bad.log")" -eq 1 ] &&
	grep -q '^vmwp: --assign-pci 0000:01:00: not a PCI address' "$out/assign-bad.log"; then
	pass "malformed --assign-pci -> 2, one line"
else
	fail "malformed --assign-pci -> 2, one line" "exit $rc: $(head -c 300 "$out/assign-bad.log")"
fi
dev=$(ls /sys/bus/pci/devices | head -n 1)
if [ "$BACKEND" = linhv ]; then want=IOMMU; else want='kvm backend cannot assign'; fi
timeout -k 10 60 "$B" --backend "$BACKEND" --kernel "$K" --assign-pci "$dev" >"$out/assign-refused.log" 2>&1 </dev/null
rc=$?
if [ "$rc" -eq 1 ] && grep -q "^vmwp: --assign-pci $dev: .*$want" "$out/assign-refused.log" &&
	! grep -q 'started' "$out/assign-refused.log"; then
	pass "--assign-pci $dev refused, naming what is missing ($want) -> 1"
else
	fail "--assign-pci $dev refused, naming what is missing ($want) -> 1" "exit $rc: $(head -c 300 "$out/assign-refused.log")"
fi

rm -rf "$tmp"
backend_unload "$BACKEND" "the guests" "$out/dmesg.txt"
check_done

#!/bin/sh
# Emulated-host tier: the Debian packages as a user installs them. Needs the
# .deb files from scripts/package in build/package (tests/host/package.sh
# builds them on the host side first; building them in here would be slow).
#   1. dpkg -i linhv-dkms: DKMS installs linhv.ko for this kernel (built by
#      dkms on the host side, tests/host/package.sh; or in here with
#      LINHV_PACKAGE_DKMS_BUILD=1);
#   2. dpkg -i linhv: the programs, man pages and units; systemd-analyze
#      verify accepts the installed units; man vmwp lists vmwp --help's options;
#   3. modprobe linhv with kvm_amd loaded fails with one dmesg line saying why;
#      without it, modprobe linhv loads the DKMS module and linhv-info sees SVM;
#   4. the packaged vmwp boots Debian's kernel with a scripts/mkguest initramfs
#      to its marker and powers off; the packaged vmms, socket activated on the
#      libvirt path, answers virsh -c linhv:///system;
#   5. dpkg -r removes the module from every kernel.
#   sh tests/emuhost/package.slow.sh OUTDIR      (run inside scripts/emuhost)
. tests/lib/check.sh
check_expect 26

out=${1:-/tmp/package}
mkdir -p "$out"
out=$(cd "$out" && pwd)
PKGDIR=${LINHV_PACKAGE_DIR:-build/package}
K=${LINHV_GUEST_KERNEL:-$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -n 1)}
kver=$(uname -r)
tmp=$(mktemp -d)
t0=$(date +%s)
since() { echo "$(($(date +%s) - t0)) s"; }

deb_dkms=$(ls "$PKGDIR"/linhv-dkms_*_all.deb 2>/dev/null | tail -n 1)
deb_linhv=$(ls "$PKGDIR"/linhv_*_amd64.deb 2>/dev/null | tail -n 1)
if [ -z "$deb_dkms" ] || [ -z "$deb_linhv" ]; then
	fail "packages present" "no linhv-dkms/linhv .deb in $PKGDIR: run scripts/package first"
	exit 1
fi
pass "packages present"
check "kernel headers for $kver" test -e "/lib/modules/$kver/build/Makefile"

# The emulated host's fresh devtmpfs lacks the /dev/fd link that udev makes on
# a real host; dkms uses <(...) redirections, which need it.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd

# 1. The module through DKMS. The host tier (tests/host/package.sh) already
# ran `dkms build` on the packaged source for this kernel into
# build/package/dkms: under TCG, with the headers read over 9p, that build
# takes over ten minutes. Start from that DKMS tree, so the postinst only adds
# and installs; LINHV_PACKAGE_DKMS_BUILD=1 builds in here instead.
ver=$(dpkg-deb -f "$deb_dkms" Version)
ver=${ver%-*}
if [ "${LINHV_PACKAGE_DKMS_BUILD:-0}" != 1 ]; then
	if [ -e "$PKGDIR/dkms/linhv/$ver/$kver/x86_64/module/linhv.ko" ]; then
		mkdir -p /var/lib/dkms
		cp -a "$PKGDIR/dkms/linhv" /var/lib/dkms/
		ln -sfn "/usr/src/linhv-$ver" "/var/lib/dkms/linhv/$ver/source"
		pass "host-side dkms build for $kver present"
	else
		fail "host-side dkms build for $kver present" "none in $PKGDIR/dkms: run tests/host/package.sh first"
	fi
	# depmod reads all ~4000 modules over 9p here (minutes). The host tier ran
	# it on the same tree plus this linhv.ko: a stand-in first in PATH copies
	# that result when dkms installs exactly that module, restores the
	# original files when it is removed, and runs the real depmod otherwise.
	if [ -e "$PKGDIR/depmod/modules.dep" ]; then
		P=$(cd "$PKGDIR" && pwd)
		mkdir -p "$tmp/bin" "$tmp/orig"
		cp /lib/modules/"$kver"/modules.* "$tmp/orig/"
		cat >"$tmp/bin/depmod" <<EOF
#!/bin/sh
kv=
for a; do case \$a in -* | /*) ;; *) kv=\$a ;; esac; done
m=/lib/modules/$kver
if [ "\$kv" = "$kver" ] && cmp -s "\$m/updates/dkms/linhv.ko" "$P/depmod/linhv.ko"; then
	echo "depmod \$*: the host tier's result (with linhv.ko)" >>"$out/depmod.txt"
	exec cp "$P"/depmod/modules.* "\$m/"
elif [ "\$kv" = "$kver" ] && [ ! -e "\$m/updates/dkms/linhv.ko" ]; then
	echo "depmod \$*: the original files (no linhv.ko)" >>"$out/depmod.txt"
	exec cp "$tmp"/orig/modules.* "\$m/"
fi
echo "depmod \$*: the real one" >>"$out/depmod.txt"
exec /sbin/depmod "\$@"
EOF
		chmod +x "$tmp/bin/depmod"
		PATH=$tmp/bin:$PATH
		export PATH
	fi
fi
# man-db's trigger re-indexes every man page over 9p: not what is tested.
rm -f /var/lib/man-db/auto-update
if dpkg -i "$deb_dkms" >"$out/dpkg-dkms.log" 2>&1; then
	pass "dpkg -i linhv-dkms"
else
	fail "dpkg -i linhv-dkms" "$(tail -n 5 "$out/dpkg-dkms.log")"
fi
echo "linhv-dkms installed after $(since)"
cp /var/lib/dkms/linhv/*/build/make.log "$out/dkms-make.log" 2>/dev/null
dkms status linhv >"$out/dkms-status.txt" 2>&1
cat "$out/dkms-status.txt"
check_grep "dkms: linhv installed for $kver" "^linhv/[^,]+, $kver, x86_64: installed" "$out/dkms-status.txt"
ko=$(modinfo -n linhv 2>/dev/null)
case $ko in */updates/dkms/linhv.ko*) pass "modinfo finds the DKMS module" ;;
*) fail "modinfo finds the DKMS module" "${ko:-not found}" ;; esac

# 2. The programs.
if dpkg -i "$deb_linhv" >"$out/dpkg-linhv.log" 2>&1; then
	pass "dpkg -i linhv"
else
	fail "dpkg -i linhv" "$(tail -n 5 "$out/dpkg-linhv.log")"
fi
for p in vmwp vmwp-ctl vmms linhv-info; do
	[ -x "/usr/sbin/$p" ] || fail "/usr/sbin/$p installed"
done
units="/lib/systemd/system/vmms.service /lib/systemd/system/vmms.socket /lib/systemd/system/vmms-ro.socket"
# shellcheck disable=SC2086
systemd-analyze verify $units >"$out/verify.txt" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && [ ! -s "$out/verify.txt" ]; then
	pass "systemd-analyze verify: the installed units"
else
	fail "systemd-analyze verify: the installed units" "exit $rc: $(head -c 300 "$out/verify.txt")"
fi
/usr/sbin/vmwp --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u >"$tmp/help.opts"
MANWIDTH=200 man vmwp 2>"$out/man.err" | col -b >"$out/man-vmwp.txt"
grep -oE -- '--[a-z][a-z0-9-]*' "$out/man-vmwp.txt" | sort -u >"$tmp/man.opts"
missing=$(comm -23 "$tmp/help.opts" "$tmp/man.opts" | tr '\n' ' ')
if [ -s "$tmp/help.opts" ] && [ -z "$missing" ]; then
	pass "man vmwp shows every option of vmwp --help ($(wc -l <"$tmp/help.opts"))"
else
	fail "man vmwp shows every option of vmwp --help" "missing: ${missing:-no options in --help}"
fi

echo "linhv installed and checked after $(since)"

# 3. modprobe: refused with a reason while kvm_amd owns AMD-V, then loads.
modprobe kvm_amd
dmesg -C
if modprobe linhv 2>"$out/modprobe-kvm.err"; then
	fail "modprobe linhv refused while kvm_amd is loaded" "it loaded"
	rmmod linhv
else
	pass "modprobe linhv refused while kvm_amd is loaded"
fi
# The kernel's own taint notes on a first out-of-tree load are not ours.
dmesg | grep 'linhv:' | grep -v 'taint' >"$out/dmesg-kvm.txt"
n=$(wc -l <"$out/dmesg-kvm.txt")
if [ "$n" -eq 1 ] && grep -q 'kvm_amd is loaded' "$out/dmesg-kvm.txt"; then
	pass "one dmesg line says why: $(sed 's/^\[[^]]*\] //' "$out/dmesg-kvm.txt")"
else
	fail "one dmesg line says why" "$n lines: $(head -c 200 "$out/dmesg-kvm.txt")"
fi
modprobe -r kvm_amd
check "modprobe linhv" modprobe linhv
check "/dev/linhv exists" test -c /dev/linhv
/usr/sbin/linhv-info --backend linhv >"$out/linhv-info.txt" 2>&1
check "linhv-info --backend linhv" test $? -eq 0
check_grep "linhv-info: SVM" 'SVM' "$out/linhv-info.txt"

# 4. The packaged vmwp boots a guest; the packaged vmms, socket activated.
printf '#!/bin/sh\npoweroff -f\n' >"$tmp/power.sh"
scripts/mkguest -o "$tmp/guest.cpio.gz" --init "$tmp/power.sh" >"$out/mkguest.log" 2>&1 ||
	fail "mkguest" "$(tail -n 3 "$out/mkguest.log")"
echo "guest image ready after $(since)"
start=$(date +%s)
timeout -k 10 150 /usr/sbin/vmwp --backend linhv --kernel "$K" --initrd "$tmp/guest.cpio.gz" \
	--cpus 1 --memory 512M --cmdline "console=ttyS0 quiet" >"$out/boot.log" 2>&1 </dev/null
rc=$?
echo "boot: exit $rc after $(($(date +%s) - start)) s"
if [ "$rc" -eq 0 ]; then pass "packaged vmwp: guest powers off -> exit 0"; else fail "packaged vmwp: guest powers off -> exit 0" "exit $rc"; fi
check_grep "packaged vmwp: guest marker" '^LINHV-GUEST-READY' "$out/boot.log"
check_grep "packaged vmwp: VMBus connected" 'guest: vmbus devices: [1-9]' "$out/boot.log"

mkdir -p /run/libvirt
systemd-socket-activate -l /run/libvirt/virtlinhvd-sock -l /run/libvirt/virtlinhvd-sock-ro \
	/usr/sbin/vmms --foreground --state-dir "$tmp/state" --run-dir "$tmp/run" \
	>"$out/vmms.log" 2>&1 &
sa=$!
i=0
while [ ! -S /run/libvirt/virtlinhvd-sock-ro ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
timeout 60 virsh -c linhv:///system version >"$out/virsh.txt" 2>&1
check_grep "packaged vmms (socket activated): virsh -c linhv:///system version" \
	'Running hypervisor: linhv' "$out/virsh.txt"
timeout 60 virsh -r -c linhv:///system list --all >"$out/virsh-ro.txt" 2>&1
check "packaged vmms: virsh -r list on the read-only socket" test $? -eq 0
check_grep "vmms took the sockets from systemd" 'virtlinhvd-sock-ro \(read-only\) \(from systemd\)' "$out/vmms.log"
kill "$sa" 2>/dev/null
wait "$sa" 2>/dev/null

check "rmmod linhv" modprobe -r linhv
bad=$(dmesg | grep -E 'WARNING|BUG:|Oops|general protection|Call Trace' | head -n 1)
if [ -n "$bad" ]; then fail "dmesg clean" "$bad"; else pass "dmesg clean"; fi

# 5. Removal.
dpkg -r linhv >"$out/dpkg-r.log" 2>&1
check "dpkg -r linhv" test $? -eq 0
dpkg -r linhv-dkms >>"$out/dpkg-r.log" 2>&1
check "dpkg -r linhv-dkms" test $? -eq 0
check "linhv.ko removed" sh -c "! modinfo linhv >/dev/null 2>&1"
dmesg >"$out/dmesg.txt"
rm -rf "$tmp"
echo "package tier done after $(since)"
check_done

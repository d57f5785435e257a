#!/bin/bash
# Host tier: the Debian packages. Builds them with scripts/package (into
# build/package, where tests/emuhost/package.slow.sh installs them from), then
# checks them without installing:
#   - lintian reports no errors;
#   - dkms builds linhv.ko from the packaged source (kept in build/package/dkms
#     for the emulated-host tier);
#   - systemd-analyze verify accepts the packaged units;
#   - each man page (vmwp, vmwp-ctl, vmms, linhv-info) lists exactly the
#     options of the packaged program's --help, and renders without warnings;
#   - vmms runs socket activated (systemd-socket-activate passes both
#     listeners, LISTEN_FDS) and answers virsh on both.
set -u
cd "$(dirname "$0")/../.." || exit 2
# shellcheck source=../lib/check.sh
. tests/lib/check.sh
check_expect 27

OUT=build/package
T=$(mktemp -d /tmp/package-test.XXXXXX)
SA_PID=""
cleanup() {
	[ -n "$SA_PID" ] && kill "$SA_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

start=$(date +%s)
scripts/package --out "$OUT" >"$T/package.log" 2>&1
rc=$?
cat "$T/package.log"
echo "scripts/package: exit $rc after $(($(date +%s) - start)) s"
deb=$(ls "$OUT"/linhv_*_amd64.deb 2>/dev/null | tail -n 1)
dkms=$(ls "$OUT"/linhv-dkms_*_all.deb 2>/dev/null | tail -n 1)
if [ -n "$deb" ] && [ -n "$dkms" ] && grep -q '^package: built in' "$T/package.log"; then
	pass "scripts/package builds linhv and linhv-dkms"
else
	fail "scripts/package builds linhv and linhv-dkms" "exit $rc: $(tail -n 3 "$T/package.log")"
	exit 1
fi
errors=$(grep -c '^E: ' "$OUT/lintian.log" 2>/dev/null)
if [ -s "$OUT/lintian.log" ] || grep -q 'lintian: 0 errors' "$T/package.log"; then
	if [ "${errors:-0}" -eq 0 ] && [ "$rc" -eq 0 ]; then
		pass "lintian: no errors"
	else
		fail "lintian: no errors" "$errors errors (build/package/lintian.log)"
	fi
else
	fail "lintian: no errors" "lintian did not run"
fi

# The packages' contents.
R=$T/root
mkdir -p "$R"
dpkg -x "$deb" "$R"
dpkg -x "$dkms" "$R"
ver=$(dpkg-deb -f "$dkms" Version)
check "linhv-dkms: dkms.conf for version $ver" \
	grep -q "^PACKAGE_VERSION=\"${ver%-*}\"" "$R/usr/src/linhv-${ver%-*}/dkms.conf"
check_grep "linhv-dkms: AUTOINSTALL (rebuilt on kernel upgrades)" '^AUTOINSTALL="yes"' \
	"$R/usr/src/linhv-${ver%-*}/dkms.conf"
check "linhv-dkms: Kbuild, Makefile and the ABI header" test -e "$R/usr/src/linhv-${ver%-*}/Kbuild" -a \
	-e "$R/usr/src/linhv-${ver%-*}/Makefile" -a -e "$R/usr/src/linhv-${ver%-*}/include/linhv/linhv.h"
check "linhv-dkms: postinst runs dkms install" sh -c "dpkg-deb -I '$dkms' postinst | grep -q 'dkms install'"
check "linhv-dkms: prerm runs dkms remove" sh -c "dpkg-deb -I '$dkms' prerm | grep -q 'dkms remove'"
check "linhv: default config /etc/default/vmms" test -f "$R/etc/default/vmms"

# DKMS builds linhv.ko from the packaged source for the emulated host's
# kernel, here on the host side: in the emulated host (TCG, headers over 9p)
# the same build takes many minutes. tests/emuhost/package.slow.sh then installs
# the package on top of this DKMS tree (LINHV_PACKAGE_DKMS_BUILD=1 there
# builds inside instead).
kver=$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -n 1)
kver=${kver#/boot/vmlinuz-}
D=$(pwd)/$OUT/dkms
rm -rf "$D"
mkdir -p "$D"
start=$(date +%s)
if dkms add -m linhv -v "${ver%-*}" --dkmstree "$D" --sourcetree "$R/usr/src" >"$T/dkms.log" 2>&1 &&
	dkms build -m linhv -v "${ver%-*}" -k "$kver" --dkmstree "$D" --sourcetree "$R/usr/src" >>"$T/dkms.log" 2>&1 &&
	[ -e "$D/linhv/${ver%-*}/$kver/x86_64/module/linhv.ko" ]; then
	pass "dkms build from linhv-dkms's source for $kver ($(($(date +%s) - start)) s)"
else
	fail "dkms build from linhv-dkms's source for $kver" "$(tail -n 5 "$T/dkms.log")"
	cat "$D"/linhv/*/build/make.log 2>/dev/null | tail -n 20
fi

# depmod over the emulated host's 9p root reads all of the kernel's ~4000
# modules and takes minutes: run it here on the same tree plus the DKMS
# module, for tests/emuhost/package.slow.sh's depmod stand-in.
M=$T/depmod/lib/modules/$kver
rm -rf "$OUT/depmod"
mkdir -p "$M/updates/dkms" "$OUT/depmod"
cp -as "/lib/modules/$kver/kernel" "$M/"
cp /lib/modules/"$kver"/modules.order /lib/modules/"$kver"/modules.builtin* "$M/"
cp "$D/linhv/${ver%-*}/$kver/x86_64/module/linhv.ko" "$M/updates/dkms/" 2>/dev/null
if depmod -b "$T/depmod" -a "$kver" -F "/boot/System.map-$kver" >"$T/depmod.log" 2>&1 &&
	grep -q '^updates/dkms/linhv.ko:' "$M/modules.dep"; then
	cp "$M"/modules.* "$OUT/depmod/"
	cp "$M/updates/dkms/linhv.ko" "$OUT/depmod/linhv.ko"
	pass "depmod with the DKMS module for $kver"
else
	fail "depmod with the DKMS module for $kver" "$(head -c 300 "$T/depmod.log")"
fi

# systemd-analyze verify needs the system's own units (sysinit.target...) in
# the root it checks, and ExecStart's binary: the extracted package has it.
# --man=no: the man pages are not installed here (checked below, and by
# systemd-analyze in the emulated host where the package is installed).
mkdir -p "$R/usr/lib/systemd/system"
cp -an /usr/lib/systemd/system/. "$R/usr/lib/systemd/system/" 2>/dev/null
units=""
for u in vmms.service vmms.socket vmms-ro.socket; do
	if [ -e "$R/lib/systemd/system/$u" ]; then units="$units $R/lib/systemd/system/$u"; else fail "unit $u packaged"; fi
done
# shellcheck disable=SC2086
systemd-analyze verify --man=no --root="$R" $units >"$T/verify.txt" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && [ ! -s "$T/verify.txt" ]; then
	pass "systemd-analyze verify: vmms.service, vmms.socket, vmms-ro.socket"
else
	fail "systemd-analyze verify: vmms.service, vmms.socket, vmms-ro.socket" "exit $rc: $(head -c 300 "$T/verify.txt")"
fi
check_grep "vmms.socket listens on the libvirt path" '^ListenStream=/run/libvirt/virtlinhvd-sock$' \
	"$R/lib/systemd/system/vmms.socket"
check_grep "vmms-ro.socket listens on the read-only path" '^ListenStream=/run/libvirt/virtlinhvd-sock-ro$' \
	"$R/lib/systemd/system/vmms-ro.socket"

# Man pages against --help: the same options, both ways.
opts() { grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }
for p in vmwp vmwp-ctl vmms linhv-info; do
	man=$R/usr/share/man/man8/$p.8.gz
	if [ ! -e "$man" ]; then
		fail "man $p: packaged"
		continue
	fi
	"$R/usr/sbin/$p" --help 2>&1 | opts >"$T/help.opts"
	MANWIDTH=200 man --warnings -l "$man" 2>"$T/man.err" | col -b >"$T/man.txt"
	opts <"$T/man.txt" >"$T/man.opts"
	only_help=$(comm -23 "$T/help.opts" "$T/man.opts" | tr '\n' ' ')
	only_man=$(comm -13 "$T/help.opts" "$T/man.opts" | tr '\n' ' ')
	if [ ! -s "$T/help.opts" ]; then
		fail "man $p: same options as $p --help" "no options in --help"
	elif [ -n "$only_help$only_man" ]; then
		fail "man $p: same options as $p --help" "only in --help: ${only_help:-none}; only in man: ${only_man:-none}"
	else
		pass "man $p: same options as $p --help ($(wc -l <"$T/help.opts"))"
	fi
	if [ -s "$T/man.err" ]; then fail "man $p renders without warnings" "$(head -c 200 "$T/man.err")"; else pass "man $p renders without warnings"; fi
done
# vmwp-ctl's requests are words, not options: compare those too.
req() { grep -oE '(shutdown|[a-z]+)(\|[a-z]+){3,}' | head -n 1; }
h=$("$R/usr/sbin/vmwp-ctl" --help 2>&1 | req)
m=$(MANWIDTH=200 man -l "$R/usr/share/man/man8/vmwp-ctl.8.gz" 2>/dev/null | col -b | req)
if [ -n "$h" ] && [ "$h" = "$m" ]; then pass "man vmwp-ctl: same requests as --help ($h)"; else fail "man vmwp-ctl: same requests as --help" "'$h' vs '$m'"; fi

# Socket activation: systemd-socket-activate plays systemd's part.
S=$T/sock
mkdir -p "$S"
systemd-socket-activate -l "$S/virtlinhvd-sock" -l "$S/virtlinhvd-sock-ro" \
	"$R/usr/sbin/vmms" --foreground --state-dir "$T/state" --run-dir "$T/run" --socket-dir "$T/unused" \
	>"$T/vmms.log" 2>&1 &
SA_PID=$!
i=0
while [ ! -S "$S/virtlinhvd-sock-ro" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
timeout 30 virsh -c "linhv:///system?socket=$S/virtlinhvd-sock" version >"$T/virsh.txt" 2>&1
check_grep "socket activated vmms answers virsh on the read-write socket" 'Running hypervisor: linhv' "$T/virsh.txt"
timeout 30 virsh -r -c "linhv:///system?socket=$S/virtlinhvd-sock-ro" list --all >"$T/virsh-ro.txt" 2>&1
check "socket activated vmms answers virsh -r on the read-only socket" test $? -eq 0
printf '<domain type="linhv"><name>ro</name><memory>65536</memory><os><type>hvm</type><kernel>/nonexistent</kernel></os></domain>\n' >"$T/ro.xml"
timeout 30 virsh -r -c "linhv:///system?socket=$S/virtlinhvd-sock-ro" define "$T/ro.xml" >"$T/virsh-ro2.txt" 2>&1
check_grep "the inherited -ro socket stays read-only (define refused)" 'read only access prevents' "$T/virsh-ro2.txt"
check_grep "vmms took both sockets from systemd" 'virtlinhvd-sock-ro \(read-only\) \(from systemd\)' "$T/vmms.log"
check "vmms created no socket of its own" test ! -e "$T/unused/virtlinhvd-sock"
kill "$SA_PID" 2>/dev/null
wait "$SA_PID" 2>/dev/null
SA_PID=""
check_done

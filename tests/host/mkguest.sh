#!/bin/sh
# Host tier: scripts/mkguest finds a guest kernel's Hyper-V modules for each
# layout a Debian kernel comes in: ROOT/boot/vmlinuz-RELEASE beside
# ROOT/lib/modules/RELEASE (an unpacked package, build/guest-kernels), and
# DIR/usr/lib/modules/RELEASE/vmlinuz (Debian 14's packages); an image
# without modules is refused with the folder it looked in.
. tests/lib/check.sh
check_expect 4

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# has_modules NAME IMAGE REL: mkguest for IMAGE, its initramfs holds
# hv_netvsc and hv_storvsc for release REL.
has_modules() {
	name=$1 img=$2 rel=$3
	if ! LINHV_GUEST_KERNEL=$img scripts/mkguest -o "$tmp/g.cpio" >"$tmp/out" 2>&1; then
		fail "$name" "mkguest failed: $(tail -n 2 "$tmp/out")"
		return
	fi
	n=$(cpio -t <"$tmp/g.cpio" 2>/dev/null | grep -c -e "^lib/modules/$rel/.*/hv_netvsc\.ko\$" \
		-e "^lib/modules/$rel/.*/hv_storvsc\.ko\$")
	if [ "$n" -eq 2 ]; then pass "$name"; else fail "$name" "$n of hv_netvsc, hv_storvsc for $rel"; fi
}

# shellcheck disable=SC2012
img=$(ls build/guest-kernels/*/boot/vmlinuz-* 2>/dev/null | sort -V | head -n 1)
if [ -z "$img" ]; then
	fail "an unpacked kernel in build/guest-kernels" "none: run scripts/install-deps"
	check_done
	exit 1
fi
pass "an unpacked kernel in build/guest-kernels (${img##*/})"
rel=${img##*/vmlinuz-}
has_modules "ROOT/boot/vmlinuz-$rel: modules from ROOT/lib/modules" "$img" "$rel"

# The same kernel as Debian 14 installs it: the image inside its modules' folder.
root=$(cd "${img%/boot/vmlinuz-"$rel"}" && pwd)
mkdir -p "$tmp/root/usr/lib/modules/$rel"
ln -s "$root/lib/modules/$rel"/* "$root/boot/vmlinuz-$rel" "$tmp/root/usr/lib/modules/$rel/"
mv "$tmp/root/usr/lib/modules/$rel/vmlinuz-$rel" "$tmp/root/usr/lib/modules/$rel/vmlinuz"
has_modules "DIR/usr/lib/modules/$rel/vmlinuz: modules beside it" "$tmp/root/usr/lib/modules/$rel/vmlinuz" "$rel"

# No modules anywhere: one message naming the folder, exit 1.
mkdir -p "$tmp/bare/boot"
: >"$tmp/bare/boot/vmlinuz-0.0.0-bare"
LINHV_GUEST_KERNEL=$tmp/bare/boot/vmlinuz-0.0.0-bare scripts/mkguest -o "$tmp/b.cpio" >"$tmp/out" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q "^mkguest: no modules in .*/lib/modules/0.0.0-bare" "$tmp/out"; then
	pass "an image without modules: exit 1, naming the folder"
else
	fail "an image without modules: exit 1, naming the folder" "exit $rc: $(head -n 2 "$tmp/out")"
fi
check_done

# shellcheck shell=bash
# Variables are shared with scripts/emuhost, which sources this file:
# shellcheck disable=SC2154,SC2034
# Sourced by scripts/emuhost for --vmx: the Intel VMX+EPT emulated host under
# Bochs. Bochs has no 9p, so everything the command needs travels in the
# initramfs of a bootable ISO:
#   - busybox (as /bin/sh and its applets), bash, kvm/kvm-intel/brd modules
#     with a reduced modules.dep (cached, like the QEMU initramfs);
#   - per run: the checkout's build/, scripts/ and tests/ files (without
#     objects, CMake internals, large files and the unpacked guest kernels),
#     every ELF found there with its shared libraries and loader at their
#     usual paths, and the command;
#   - --carry FILE: each such file, whatever its size, at its own path;
#   - --out DIR: its files (any size) go in with the payload; at the end the
#     init sends DIR back as base64 tar.gz over the console and emuhost
#     unpacks it.

# Modules available (not loaded) inside: the nested-KVM baseline, a RAM
# block device for storage tests and zram (swap for linhv.ko's paging tests).
bochs_modules=(kvm-intel brd zram)
bochs_max_file_kib=4096

declare -A bochs_seen=()
bochs_list=

# Add one path to the payload list (paths relative to /, as cpio wants them).
# Parent directories are added first: the kernel's initramfs unpacker does
# not create missing parents.
bochs_add_entry() { # canonical-parent absolute path
	local e=$1 a
	[[ -n ${bochs_seen[$e]:-} ]] && return 0
	[[ -e $e || -L $e ]] || return 0
	a=${e%/*}
	while [[ -n $a && -z ${bochs_seen[$a]:-} ]]; do
		bochs_seen[$a]=1
		bochs_list+=${a#/}$'\n'
		a=${a%/*}
	done
	bochs_seen[$e]=1
	bochs_list+=${e#/}$'\n'
	if [[ -L $e ]]; then
		local t
		t=$(readlink -- "$e")
		[[ $t == /* ]] || t=${e%/*}/$t
		bochs_add_path "$t"
	fi
}

# Add a path that may go through symlinks (e.g. /lib64/ld-linux-x86-64.so.2
# on a merged-/usr system): every symlink on the way is added as a symlink,
# and what it points to is added too.
bochs_add_path() { # absolute path
	local p=$1 d q rest comp
	d=${p%/*}
	[[ -n $d ]] || d=/
	# Symlinked directories on the way.
	q=
	rest=${d#/}
	while [[ -n $rest ]]; do
		comp=${rest%%/*}
		[[ $rest == */* ]] && rest=${rest#*/} || rest=
		q=$q/$comp
		if [[ -L $q ]]; then
			local parent
			parent=$(readlink -f -- "${q%/*}/")
			bochs_add_entry "${parent%/}/$comp"
		fi
	done
	d=$(readlink -f -- "$d") || return 0
	bochs_add_entry "${d%/}/${p##*/}"
}

# Shared libraries and loader of one ELF file.
bochs_add_libs() { # file
	local line lib
	while read -r line; do
		case $line in
		*'=> /'*) lib=${line#*=> } ;;
		/*) lib=$line ;;
		*) continue ;;
		esac
		lib=${lib%% (*}
		bochs_add_path "$lib"
	done < <(ldd -- "$1" 2>/dev/null)
}

# Cached part: busybox skeleton, bash, modules and their modules.dep.
bochs_base_initrd() {
	local initrd=$cache_dir/initrd-bochs-$cache_key.cpio.gz
	if [[ ! -s $initrd ]]; then
		local d=$tmp/initrd-bochs m path
		make_skeleton "$d" || die_setup "could not build the initramfs"
		# Scripts may want bash and #!/usr/bin/env.
		mkdir -p "$d/usr/bin"
		ln -sf /bin/busybox "$d/usr/bin/env"
		command -v bash >/dev/null && ln -sf "$(readlink -f "$(command -v bash)")" "$d/bin/bash"
		: >"$d/emuhost/modules.list" # nothing is loaded at boot

		bochs_seen=() bochs_list=
		command -v bash >/dev/null && bochs_add_path "$(readlink -f "$(command -v bash)")" &&
			bochs_add_libs "$(command -v bash)"
		local rels=()
		for m in "${bochs_modules[@]}"; do
			while read -r line; do
				[[ $line == insmod\ * ]] || continue
				path=${line#insmod }
				path=${path%% *}
				bochs_add_path "$path"
				rels+=("${path#"$moddir"/}")
			done < <(modprobe -S "$kver" --show-depends "$m" 2>/dev/null)
		done
		# A modules.dep with just these modules, at the canonical path of
		# /lib/modules/<kver> (so modprobe works inside).
		local mdir
		mdir=$(readlink -f "$moddir")
		mkdir -p "$d$mdir"
		awk -F : -v list="${rels[*]}" '
			BEGIN { n = split(list, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
			$1 in want' "$moddir/modules.dep" >"$d$mdir/modules.dep"
		touch "$d$mdir/modules.builtin" "$d$mdir/modules.alias" "$d$mdir/modules.symbols"

		{
			(cd "$d" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
				cpio --quiet --null -o -H newc -R 0:0 | gzip -1)
			(cd / && printf '%s' "$bochs_list" | LC_ALL=C sort -u |
				cpio --quiet -o -H newc -R 0:0 | gzip -1)
		} >"$initrd.$$" || die_setup "could not pack the initramfs"
		mv -f -- "$initrd.$$" "$initrd"
		rm -rf -- "$d"
		prune_cache initrd-bochs-
	fi
	bochs_initrd_base=$initrd
}

# Per-run part: the checkout's files and the ELF dependencies.
bochs_payload_initrd() { # out-file
	local f
	bochs_seen=() bochs_list=
	# The checkout's top directory and the caller's directory exist inside.
	bochs_add_entry "$repo_root"
	[[ -d $caller_cwd ]] && bochs_add_entry "$(cd "$caller_cwd" && pwd -P)"
	[[ -d $repo_root/build ]] || echo "$prog: note: no build/ in the checkout; the emulated host gets only scripts/ and tests/" >&2
	while IFS= read -r -d '' f; do
		bochs_add_entry "$f"
		# ELF files (by magic): add their libraries.
		if [[ -f $f && ! -L $f && ( -x $f || $f == *.so* ) ]]; then
			local magic=
			LC_ALL=C read -r -n 4 magic <"$f" 2>/dev/null
			[[ $magic == $'\x7fELF' ]] && bochs_add_libs "$f"
		fi
	done < <(find "$repo_root/build" "$repo_root/scripts" "$repo_root/tests" \
		\( -name CMakeFiles -o -name .git -o -path "$repo_root/build/emuhost" -o -name _deps \
		-o -path "$repo_root/build/test-logs" -o -path "$repo_root/build/bench" \
		-o -path "$repo_root/build/guest-kernels" \) -prune -o \
		\( -type f -o -type l \) ! -name '*.o' ! -name '*.a' ! -name '*.cmd' ! -name '*.d' \
		! -name '*.mod.c' ! -name '*.tmp' -size -"${bochs_max_file_kib}k" -print0 2>/dev/null)
	# --out DIR's files and the --carry files go in whatever their size.
	[[ -n $out_dir ]] && while IFS= read -r -d '' f; do
		bochs_add_entry "$f"
	done < <(find "$out_dir" \( -type f -o -type l -o -type d \) -print0 2>/dev/null)
	for f in "${carry_files[@]}"; do
		bochs_add_path "$f"
	done
	(cd / && printf '%s' "$bochs_list" | LC_ALL=C sort -u |
		cpio --quiet -o -H newc -R 0:0 2>/dev/null | gzip -1) >"$1"
	# Kernel modules over the size limit (debug info: linhv.ko built
	# RelWithDebInfo) go in without their debug sections, as a second
	# archive at the same paths (the kernel unpacks concatenated archives).
	local ko_root=$tmp/ko-payload
	rm -rf -- "$ko_root"
	while IFS= read -r -d '' f; do
		mkdir -p -- "$ko_root${f%/*}" && strip --strip-debug -o "$ko_root$f" -- "$f" || return 1
	done < <(find "$repo_root/build" -name '*.ko' -size +"${bochs_max_file_kib}k" -print0 2>/dev/null)
	if [[ -d $ko_root ]]; then
		(cd "$ko_root" && find . -mindepth 1 -type f | sed 's|^\./||' | LC_ALL=C sort |
			cpio --quiet -o -H newc -R 0:0 2>/dev/null | gzip -1) >>"$1"
	fi
}

run_bochs() {
	need_tool bochs "bochs bochsbios bochs-term vgabios"
	need_tool xorriso xorriso
	local isolinux_bin=/usr/lib/ISOLINUX/isolinux.bin
	local ldlinux=/usr/lib/syslinux/modules/bios/ldlinux.c32
	local bios=/usr/share/bochs/BIOS-bochs-latest
	local vgabios=/usr/share/vgabios/vgabios.bin
	[[ -r $isolinux_bin ]] || die_setup "$isolinux_bin missing: install isolinux"
	[[ -r $ldlinux ]] || die_setup "$ldlinux missing: install syslinux-common"
	[[ -r $bios ]] || die_setup "$bios missing: install bochsbios"
	[[ -r $vgabios ]] || die_setup "$vgabios missing: install vgabios"

	bochs_base_initrd
	local iso_dir=$tmp/iso
	mkdir -p "$iso_dir/isolinux"
	cp -- "$isolinux_bin" "$ldlinux" "$iso_dir/isolinux/"
	cp -- "$kernel" "$iso_dir/vmlinuz"
	bochs_payload_initrd "$tmp/payload.cpio.gz" || die_setup "could not pack the checkout's files"
	make_run_cpio initramfs "$tmp/run.cpio.gz"
	cat -- "$bochs_initrd_base" "$tmp/payload.cpio.gz" "$tmp/run.cpio.gz" >"$iso_dir/initrd.gz"

	cat >"$iso_dir/isolinux/isolinux.cfg" <<EOF
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  APPEND initrd=/initrd.gz console=ttyS0 panic=-1 oops=panic quiet loglevel=4 mitigations=off $append
EOF
	xorriso -as mkisofs -quiet -o "$tmp/boot.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
		-no-emul-boot -boot-load-size 4 -boot-info-table "$iso_dir" >"$tmp/xorriso.log" 2>&1 ||
		{ cat "$tmp/xorriso.log" >&2; die_setup "xorriso could not build the boot ISO"; }
	rm -rf -- "$iso_dir"

	# rfb is the only display library without a terminal or X (Debian's
	# bochs has no nogui); timeout=0 keeps it from waiting for a viewer.
	cat >"$tmp/bochsrc" <<EOF
megs: $mem_mb
cpu: model=corei7_skylake_x, count=1, ips=200000000, reset_on_triple_fault=0
romimage: file=$bios
vgaromimage: file=$vgabios
pci: enabled=1, chipset=i440fx
ata0-master: type=cdrom, path=$tmp/boot.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$tmp/serial.txt
display_library: rfb, options="timeout=0"
clock: sync=none
log: $tmp/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
speaker: enabled=0
EOF
	# The built-in debugger stops at a prompt: continue at once.
	echo c >"$tmp/bochs.rc"

	# Bochs never exits by itself after the command (and reboots after a
	# panic): a watcher stops it once the filter has seen the final
	# marker or a panic.
	(
		while [[ ! -s $tmp/status && ! -s $tmp/panic ]]; do sleep 0.5; done
		# After a panic, let the rest of the oops reach the console: wait
		# until the serial log stops growing (at most ~30 s).
		if [[ ! -s $tmp/status ]]; then
			last=-1
			for ((i = 0; i < 15; i++)); do
				size=$(stat -c %s -- "$tmp/serial.txt")
				[[ $size == "$last" ]] && break
				last=$size
				sleep 2
			done
		fi
	) &
	extra_wait_pids=($!)
	run_emulator "file:$tmp/serial.txt" bochs -q -f "$tmp/bochsrc" -rc "$tmp/bochs.rc"
	extra_wait_pids=()
	[[ -s $tmp/serial.txt ]] && emu_started_ok=1
	if [[ ! -s $tmp/status && ! -s $tmp/panic && -s $tmp/bochs.log ]]; then
		tail -n 20 "$tmp/bochs.log" >>"$tmp/emu.err"
	fi
	finish Bochs
}

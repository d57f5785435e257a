#!/bin/sh
# Host tier: vmwp's command-line and input errors, which need no VM. Each
# must give one clear line on stderr and the documented status.
. tests/lib/check.sh
# 29 on a host without linhv.ko and with no usable /dev/kvm (the backend
# refusals below need those); fewer where either is there.
kvm_usable=no
if [ -e /dev/kvm ] && grep -qwE 'svm|vmx' /proc/cpuinfo; then kvm_usable=yes; fi
n=29
[ ! -e /dev/linhv ] || n=$((n - 2))
[ "$kvm_usable" = no ] || n=$((n - 1))
check_expect "$n"

B=${BUILD_DIR:-build}/vmm/vmwp/vmwp
K=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -n 1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect NAME STATUS PATTERN ARGS...: status and a one-line stderr matching PATTERN.
expect() {
	name=$1 want=$2 pat=$3
	shift 3
	"$B" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$got" -ne "$want" ]; then
		fail "$name" "exit $got, want $want: $(head -c 200 "$tmp/err")"
	elif ! grep -qE -- "$pat" "$tmp/err"; then
		fail "$name" "stderr: $(head -c 200 "$tmp/err")"
	elif [ "$lines" -ne 1 ]; then
		fail "$name" "$lines lines on stderr"
	else
		pass "$name"
	fi
}

check "--help exits 0" sh -c "\"$B\" --help >/dev/null"
check_grep "--help shows usage" '^Usage: vmwp --kernel' /dev/stdin <<E
$("$B" --help)
E
expect "no --kernel" 2 'kernel is required' --memory 1G
expect "unknown option" 2 "unknown option '--frobnicate'" --kernel x --frobnicate
expect "bad memory size" 2 'not a size' --kernel x --memory 12Q
expect "memory below 32M" 2 'must be 32M' --kernel x --memory 1M
expect "bad --cpus" 2 'must be 1-64' --kernel x --cpus 0
expect "bad --cpus text" 2 'must be 1-64' --kernel x --cpus two
expect "bad --console" 2 'expected stdio, pty or unix' --kernel x --console tcp:1
expect "bad --backend" 2 'expected auto, linhv or kvm' --kernel x --backend xen
expect "bad --uuid" 2 'not a UUID' --kernel x --uuid 1234
expect "bad --nic" 2 'give tap=, bridge= or both' --kernel x --nic mac=52:54:00:00:00:01
expect "bad --nic mac" 2 'bad mac' --kernel x --nic tap=t0,mac=zz
expect "multicast --nic mac" 2 'is multicast' --kernel x --nic tap=t0,mac=01:00:5e:00:00:01
expect "bad --disk option" 2 "unknown option 'cache=sometimes'" --kernel x --disk f,cache=sometimes
expect "bad --disk serial" 2 'serial must be 1-20 characters' --kernel x --disk f,serial=
expect "bad --rtc-base" 2 'rtc-base 2001-02-30: expected utc, localtime or a UTC date' --kernel x --rtc-base 2001-02-30
expect "missing kernel file" 1 'cannot open kernel /nonexistent' --kernel /nonexistent
printf 'hello' >"$tmp/small"
expect "tiny kernel file" 1 'not a bzImage' --kernel "$tmp/small"
head -c 65536 /dev/zero >"$tmp/zero"
expect "kernel without HdrS" 1 'not a bzImage' --kernel "$tmp/zero"
if [ -n "$K" ] && [ -r "$K" ]; then
	expect "missing initrd" 1 'cannot open initrd /nonexistent' --kernel "$K" --initrd /nonexistent
	expect "memory too small for the kernel" 1 'memory too small for the kernel' --kernel "$K" --memory 40M
	expect "missing disk" 1 'disk /nonexistent' --kernel "$K" --disk /nonexistent
	expect "readonly disk that does not exist" 1 'disk /nonexistent' --kernel "$K" --disk /nonexistent,readonly
	# Another process holds a write lock on the image (as a running VM would).
	truncate -s 1M "$tmp/held.img"
	python3 -c 'import fcntl, sys, time; f = open(sys.argv[1], "r+"); fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB); print("locked", flush=True); time.sleep(30)' "$tmp/held.img" >"$tmp/lockd" &
	lockpid=$!
	for _ in $(seq 50); do grep -q locked "$tmp/lockd" 2>/dev/null && break; sleep 0.1; done
	expect "image locked by another process" 1 'locked by another process' --kernel "$K" --disk "$tmp/held.img"
	expect "locked image refused even read-only" 1 'locked by another process' --kernel "$K" --disk "$tmp/held.img,readonly"
	kill "$lockpid" 2>/dev/null; wait "$lockpid" 2>/dev/null
	if [ ! -e /dev/linhv ]; then
		expect "linhv backend without the module" 1 'no usable backend \(linhv\).*not loaded' \
			--kernel "$K" --backend linhv
		expect "auto backend: says what is missing" 1 'no usable backend' --kernel "$K"
	fi
	if [ ! -e /dev/kvm ]; then
		expect "kvm backend without /dev/kvm" 1 'no usable backend \(kvm\).*/dev/kvm' \
			--kernel "$K" --backend kvm
	elif [ "$kvm_usable" = no ]; then
		# A /dev/kvm without hardware virtualization under it (a sandbox's
		# or a nested host's): vmwp must refuse it, naming what it lacks.
		expect "kvm backend on a /dev/kvm it cannot use" 1 'no usable backend \(kvm\): /dev/kvm' \
			--kernel "$K" --backend kvm
	else
		echo "SKIP: a usable /dev/kvm here: the kvm backend's refusal is not tested"
	fi
else
	echo "SKIP: no readable /boot/vmlinuz-*-amd64"
fi
check_done

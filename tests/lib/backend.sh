# shellcheck shell=sh
# The hypervisor under an emulated-host tier: linhv.ko or kvm_amd. Source
# tests/lib/check.sh first. BUILD is the build directory (LINHV_BUILD_DIR,
# default build).
BUILD=${LINHV_BUILD_DIR:-build}

# backend_load BACKEND: modprobe kvm_amd (kvm) or insmod linhv.ko, as one check.
# LINHV_NPT_AUDIT=N loads linhv.ko with its debug NPT audit every N exits.
backend_load() {
	if [ "$1" = kvm ]; then
		check "modprobe kvm_amd" modprobe kvm_amd
	else
		check "insmod linhv.ko" insmod "$BUILD/kmod/linhv.ko" \
			${LINHV_NPT_AUDIT:+npt_audit=$LINHV_NPT_AUDIT}
	fi
}

# backend_unload BACKEND WHAT [DMESG_FILE]: for linhv, "rmmod linhv after WHAT"
# and "dmesg clean after WHAT" (the whole dmesg goes to DMESG_FILE when given).
# kvm_amd stays loaded: nothing to check.
backend_unload() {
	[ "$1" = linhv ] || return 0
	check "rmmod linhv after $2" rmmod linhv
	[ -z "${3:-}" ] || dmesg >"$3"
	bad=$(dmesg | grep -E 'WARNING|BUG:|Oops|general protection|Call Trace' | head -n 1)
	if [ -n "$bad" ]; then fail "dmesg clean after $2" "$bad"; else pass "dmesg clean after $2"; fi
}

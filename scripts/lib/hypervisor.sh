# shellcheck shell=bash
# For the benchmarks, which compare linhv.ko with kvm_amd in one emulated
# host. Run from the repository's top, after building.

# hypervisor_use linhv|kvm: leave exactly that hypervisor module loaded
# (linhv.ko and kvm_amd both own SVM, so only one at a time).
hypervisor_use() {
	if [ "$1" = linhv ]; then
		! lsmod | grep -q '^kvm_amd' || modprobe -r kvm_amd
		lsmod | grep -q '^linhv' || insmod build/kmod/linhv.ko
	else
		! lsmod | grep -q '^linhv' || rmmod linhv
		lsmod | grep -q '^kvm_amd' || modprobe kvm_amd
	fi
}

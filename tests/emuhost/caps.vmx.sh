# Runs inside the VMX (Bochs) emulated host: the module loads on Intel VT-x,
# reports VMX with EPT, and unloads.
cd "$(dirname "$0")/../.." || exit 2
. tests/lib/check.sh
check_expect 4
check "insmod linhv.ko (VMX)" insmod build/kmod/linhv.ko
build/libwinhv/linhv-info >/tmp/info.txt 2>&1
cat /tmp/info.txt
check_grep "linhv-info reports VMX" "^vendor: +VMX" /tmp/info.txt
check_grep "linhv-info reports EPT" "^features:.*EPT" /tmp/info.txt
check "rmmod linhv (VMX)" rmmod linhv
check_done

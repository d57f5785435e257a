# Emulated-host tier: the same stock-Linux checks as vmwp-kvm.sh, on linhv.ko.
VMWP_BACKEND=linhv exec sh "$(dirname "$0")/vmwp-kvm.sh" "$@"

# Emulated-host tier: the same network checks as net-linhv.sh, on kvm_amd.
NET_BACKEND=kvm exec sh "$(dirname "$0")/net-linhv.sh" "$@"

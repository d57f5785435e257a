# Emulated-host tier: the same network checks as net-linhv.slow.sh, on kvm_amd.
NET_BACKEND=kvm exec sh "$(dirname "$0")/net-linhv.slow.sh" "$@"

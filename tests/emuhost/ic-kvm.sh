# Emulated-host tier: the same integration-service checks as ic-linhv.sh, on kvm_amd.
IC_BACKEND=kvm exec sh "$(dirname "$0")/ic-linhv.sh" "$@"

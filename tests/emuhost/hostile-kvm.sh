# Emulated-host tier: the hostile-guest checks of hostile-linhv.slow.sh, on kvm_amd.
HOSTILE_BACKEND=kvm exec sh "$(dirname "$0")/hostile-linhv.slow.sh" "$@"

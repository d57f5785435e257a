#!/bin/sh
# Emulated-host tier: the same storage checks as storage-linhv.sh, on kvm_amd.
STORAGE_BACKEND=kvm exec sh "$(dirname "$0")/storage-linhv.sh" "$@"

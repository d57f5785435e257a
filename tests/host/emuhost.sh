#!/bin/sh
# Host tier: scripts/emuhost's own contract, which every emulated-host tier
# relies on: CMD's status comes back, a timeout is 124, and a CPU that lost
# its timer interrupt (reported by the emulated host's RCU) stops the
# emulated host at once with 125 and a message naming it, so that
# scripts/test can tell it from a hang. Three short boots of the SVM host.
. tests/lib/check.sh
check_expect 6

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME WANT CMD...: emuhost's status and stderr (in $tmp/err).
run() {
	name=$1 want=$2
	shift 2
	start=$(date +%s)
	scripts/emuhost "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	took=$(($(date +%s) - start))
	if [ "$got" -eq "$want" ]; then
		pass "$name -> $want (${took} s)"
	else
		fail "$name" "exit $got, want $want: $(tail -n 3 "$tmp/err")"
	fi
}

run "CMD's own status" 7 -- sh -c 'exit 7'

run "a lost timer interrupt stops the emulated host" 125 --timeout 300 -- \
	sh -c "echo \"<3>rcu: rcu_preempt kthread timer wakeup didn't happen for 1000 jiffies! (test)\" >/dev/kmsg; sleep 280"
check_grep "the stop names the lost timer interrupt" "lost a CPU's timer interrupt" "$tmp/err"
# Stopped at the report, not at the timeout (the boot takes about 10 s).
check "it stopped well before the timeout" test "$took" -lt 200

run "timeout" 124 --timeout 20 -- sleep 200
check_grep "the timeout is named" "did not finish within 20 s" "$tmp/err"
check_done

# shellcheck shell=sh
# Tiny test helpers shared by the host and emulated-host tiers. Every check
# prints exactly one line, "PASS: name" or "FAIL: name (why)"; scripts/test
# counts those lines.

check_failed=0

# CHECK_PREFIX, when set, starts every check name (e.g. the backend under test).
pass() { echo "PASS: ${CHECK_PREFIX:-}$1"; }
fail() { echo "FAIL: ${CHECK_PREFIX:-}$1${2:+ ($2)}"; check_failed=$((check_failed + 1)); }

# check NAME CMD [ARG...]: passes when CMD exits 0.
check() {
	name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "exit $?"; fi
}

# check_exit NAME CODE CMD [ARG...]: passes when CMD exits with CODE.
check_exit() {
	name=$1
	want=$2
	shift 2
	"$@"
	got=$?
	if [ "$got" -eq "$want" ]; then pass "$name"; else fail "$name" "exit $got, want $want"; fi
}

# check_grep NAME PATTERN FILE: passes when FILE has a line matching PATTERN.
check_grep() {
	if grep -qE -- "$2" "$3"; then pass "$1"; else fail "$1" "no '$2' in $3"; fi
}

# Exit status for a tier script: non-zero when any check failed.
check_done() { [ "$check_failed" -eq 0 ]; }

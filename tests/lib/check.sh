# shellcheck shell=sh
# Tiny test helpers shared by the host and emulated-host tiers. Every check
# prints exactly one line, "PASS: name" or "FAIL: name (why)"; scripts/test
# counts those lines.
#
# A tier declares how many checks it runs when all goes well (check_expect N,
# first thing); check_done FAILs when fewer ran, so a tier (or a test program
# under check_prog) that stops halfway cannot lose checks silently.
# scripts/test reads the "EXPECT: N checks" line too, for tiers that never
# reach check_done (killed, timed out).

check_failed=0
check_ran=0
check_expected=0

# CHECK_PREFIX, when set, starts every check name (e.g. the backend under test).
pass() {
	echo "PASS: ${CHECK_PREFIX:-}$1"
	check_ran=$((check_ran + 1))
}
fail() {
	echo "FAIL: ${CHECK_PREFIX:-}$1${2:+ ($2)}"
	check_ran=$((check_ran + 1))
	check_failed=$((check_failed + 1))
}

# check_expect N: this tier runs N checks (PASS lines when all goes well).
check_expect() {
	check_expected=$1
	echo "EXPECT: $1 checks"
}

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

# check_fixed NAME TEXT FILE: passes when FILE contains TEXT as it is (for
# paths and names, whose '+' or '.' an extended pattern would misread).
check_fixed() {
	if grep -qF -- "$2" "$3"; then pass "$1"; else fail "$1" "no '$2' in $3"; fi
}

# check_output NAME PATTERN CMD [ARG...]: passes when CMD exits 0 and its
# output (stdout and stderr) has a line matching PATTERN.
check_output() {
	_name=$1 _pat=$2
	shift 2
	_o=$(mktemp) || {
		fail "$_name" "mktemp failed"
		return
	}
	"$@" >"$_o" 2>&1
	_st=$?
	if [ "$_st" -ne 0 ]; then
		fail "$_name" "exit $_st: $(head -c 300 "$_o")"
	elif grep -qE -- "$_pat" "$_o"; then
		pass "$_name"
	else
		fail "$_name" "no '$_pat' in: $(head -c 300 "$_o")"
	fi
	rm -f "$_o"
}

# check_prog NAME CMD [ARG...]: run a test program that prints its own
# "PASS: "/"FAIL: " lines; they count as this tier's checks. A non-zero exit
# (a crash, or a failure it did not print) is one more FAIL: NAME exits 0.
check_prog() {
	_name=$1
	shift
	_out=$(mktemp) && _rc=$(mktemp) || {
		fail "$_name exits 0" "mktemp failed"
		return
	}
	{
		"$@" 2>&1
		echo $? >"$_rc"
	} | tee "$_out"
	_p=$(grep -c '^PASS: ' "$_out")
	_f=$(grep -c '^FAIL: ' "$_out")
	check_ran=$((check_ran + _p + _f))
	check_failed=$((check_failed + _f))
	_st=$(cat "$_rc")
	rm -f "$_out" "$_rc"
	[ "${_st:-255}" -eq 0 ] || fail "$_name exits 0" "exit ${_st:-unknown} after $_p passed, $_f failed"
}

# check_dmesg_clean NAME FILE: the kernel log, saved to FILE, shows no
# warning, oops, leak or refcount report; otherwise FAIL with its first lines.
check_dmesg_clean() {
	dmesg >"$2"
	if grep -qE "WARNING|BUG:|Oops|general protection|Call Trace|leak|refcount_t" "$2"; then
		fail "$1" "see $2"
		grep -E -A5 "WARNING|BUG:|Oops|general protection|Call Trace|leak" "$2" | head -40
	else
		pass "$1"
	fi
}

# Exit status for a tier script: non-zero when any check failed or fewer
# checks ran than check_expect declared.
check_done() {
	if [ "$check_ran" -lt "$check_expected" ]; then
		fail "fewer checks than expected" "$check_ran of $check_expected ran"
	elif [ "$check_ran" -gt "$check_expected" ] && [ "$check_failed" -eq 0 ]; then
		echo "NOTE: $check_ran checks ran, $check_expected declared: update check_expect"
	fi
	[ "$check_failed" -eq 0 ]
}

# wait_or_kill PID SECONDS: wait up to SECONDS for PID (a child) to exit,
# SIGKILL it after that; returns its exit status.
wait_or_kill() {
	_w=0
	while kill -0 "$1" 2>/dev/null && [ $_w -lt $(($2 * 10)) ]; do
		sleep 0.1
		_w=$((_w + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1"
}

#!/bin/bash
# Host tier: stock virt-manager (Debian's, GTK under Xvfb) against vmms, with
# one running and one shut-off domain (issue 13, acceptance 3). The domains
# run under the test-worker fixture (tests/vmms/test_worker.c: no guest), so
# this checks what virt-manager asks of the daemon: the connection opens and
# becomes active, both domains are listed with their states, a start and a
# shutdown made behind virt-manager's back reach it as events, no call ends in
# a Python traceback, and its serial console window opens the domain's console
# (virt-manager --show-domain-console). Screenshots
# of the manager and the console windows are kept in LINHV_TEST_OUT (default
# build/test-logs) as virt-manager.png and virt-manager-console.png.
#
# Env: BUILD_DIR (default build), VMMS_TEST_KEEP=1 keeps the temp dir.
set -u
cd "$(dirname "$0")/../.." || exit 2
# shellcheck source=../lib/check.sh
. tests/lib/check.sh
# shellcheck source=../lib/vmms.sh
. tests/lib/vmms.sh
check_expect 14

OUTDIR=${LINHV_TEST_OUT:-build/test-logs}
mkdir -p "$OUTDIR"
XVFB_PID=""
VMGR_PID=""
vmgr_cleanup() {
	[ -n "$VMGR_PID" ] && kill "$VMGR_PID" 2>/dev/null && wait "$VMGR_PID" 2>/dev/null
	[ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null && wait "$XVFB_PID" 2>/dev/null
}
VMMS_TIER_CLEANUP=vmgr_cleanup
vmms_tier virtmanager
vmms_tier_built || exit 1
if ! command -v virt-manager >/dev/null || ! command -v Xvfb >/dev/null; then
	fail "virt-manager and Xvfb installed" "run scripts/install-deps"
	exit 1
fi
v() { virsh -q -c "$U" "$@"; }

# wait_for SECONDS FILE PATTERN: true once PATTERN shows up in FILE.
wait_for() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		grep -qE -- "$3" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# screenshot FILE: the whole screen as PNG; prints "colours N" for a sample.
screenshot() {
	/usr/bin/python3 - "$1" <<'PY'
import sys
import gi
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk
root = Gdk.get_default_root_window()
pb = Gdk.pixbuf_get_from_window(root, 0, 0, root.get_width(), root.get_height())
pb.savev(sys.argv[1], "png", [], [])
# A blank screen is one colour: count the distinct pixels of a sample.
px = pb.get_pixels()
step = pb.get_n_channels() * 97
print("colours", len({px[i:i + 3] for i in range(0, len(px) - 3, step)}))
PY
}

echo "not a kernel" >"$T/kernel"
vmms_domxml vm-running "$T/kernel" >"$T/a.xml"
vmms_domxml vm-off "$T/kernel" >"$T/b.xml"
# A default pool of its own: otherwise virt-manager builds one in
# /var/lib/libvirt/images, which a test must not create on the machine.
cat >"$T/pool.xml" <<POOL
<pool type='dir'><name>default</name><target><path>$T/images</path></target></pool>
POOL
if ! start_vmms a --worker "$FIXTURE"; then
	fail "vmms starts" "$(tail -5 "$T/vmms-a.log")"
	exit 1
fi
check "define two domains, start one, and a default pool" sh -c \
	"{ virsh -q -c '$U' define '$T/a.xml' && virsh -q -c '$U' define '$T/b.xml' &&
	 virsh -q -c '$U' start vm-running && virsh -q -c '$U' pool-define '$T/pool.xml' &&
	 virsh -q -c '$U' pool-build default && virsh -q -c '$U' pool-start default; } >/dev/null"

# Xvfb picks a free display and writes its number to fd 3.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$T/display" 2>"$T/xvfb.log" &
XVFB_PID=$!
if ! wait_for 20 "$T/display" '^[0-9]+'; then
	fail "Xvfb starts" "$(tail -3 "$T/xvfb.log")"
	check_done
	exit 1
fi
export DISPLAY=:$(head -1 "$T/display")
# A home of its own (virt-manager keeps its settings and log there) and
# settings in memory: no session bus in a test.
export HOME=$T/home XDG_CACHE_HOME=$T/home/.cache XDG_CONFIG_HOME=$T/home/.config
export GSETTINGS_BACKEND=memory NO_AT_BRIDGE=1
mkdir -p "$HOME"
LOG=$T/virt-manager.out
virt-manager --debug --no-fork -c "$U" >"$LOG" 2>&1 &
VMGR_PID=$!

check "virt-manager's connection becomes active" wait_for 60 "$LOG" "changed to state=Active"
check "virt-manager lists the running domain" wait_for 20 "$LOG" "domain=vm-running status=Running added"
check "virt-manager lists the shut-off domain" wait_for 20 "$LOG" "domain=vm-off status=Shutoff added"
check "virt-manager shows its manager window" wait_for 20 "$LOG" "Showing manager"

sleep 2 # let the window draw its list
screenshot "$OUTDIR/virt-manager.png" >"$T/shot.out" 2>&1
check_output "screenshot of the manager window ($OUTDIR/virt-manager.png)" "^colours ([3-9]|[1-9][0-9]+)" \
	cat "$T/shot.out"

# Changes made by another client reach it through domain events.
v start vm-off >/dev/null
check "virt-manager gets the lifecycle event of a virsh start from another client" \
	wait_for 30 "$LOG" "lifecycle event: domain=vm-off state=VIR_DOMAIN_EVENT_STARTED"
v shutdown vm-off >/dev/null
check "virt-manager gets the lifecycle event of a virsh shutdown from another client" \
	wait_for 30 "$LOG" "lifecycle event: domain=vm-off state=VIR_DOMAIN_EVENT_STOPPED"

check "virt-manager is still running" kill -0 "$VMGR_PID"
if grep -q "Traceback" "$LOG"; then
	fail "no Python traceback in virt-manager's log" "$(grep -B2 -A12 Traceback "$LOG" | head -40)"
else
	pass "no Python traceback in virt-manager's log"
fi
if grep -E "ERROR|CRITICAL" "$LOG" >"$T/errors"; then
	fail "no ERROR line in virt-manager's log" "$(head -5 "$T/errors")"
else
	pass "no ERROR line in virt-manager's log"
fi
cp "$LOG" "$OUTDIR/virt-manager.log" 2>/dev/null
kill "$VMGR_PID" 2>/dev/null
wait "$VMGR_PID" 2>/dev/null

# Its serial console window on the running domain (virDomainOpenConsole: the
# fixture's console prints a banner line).
LOG2=$T/virt-manager-console.out
virt-manager --debug --no-fork -c "$U" --show-domain-console vm-running >"$LOG2" 2>&1 &
VMGR_PID=$!
check "virt-manager opens the serial console stream" wait_for 60 "$LOG2" "Opening console stream"
sleep 3 # the banner reaches the terminal widget
screenshot "$OUTDIR/virt-manager-console.png" >"$T/shot2.out" 2>&1
check_output "screenshot of the console window ($OUTDIR/virt-manager-console.png)" \
	"^colours ([3-9]|[1-9][0-9]+)" cat "$T/shot2.out"
if grep -qE "Traceback|ERROR|CRITICAL|Received EOF" "$LOG2"; then
	fail "the console stays open, no traceback or ERROR" "$(grep -E -A8 "Traceback|ERROR|CRITICAL|Received EOF" "$LOG2" | head -20)"
else
	pass "the console stays open, no traceback or ERROR"
fi
cp "$LOG2" "$OUTDIR/virt-manager-console.log" 2>/dev/null
check_done

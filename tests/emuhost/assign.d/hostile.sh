# shellcheck shell=sh
# assign.sh's hostile vPCI part: the vsc-guest test image, with a device
# given to its VM by vmwp --assign-pci, runs the vPCI attacks of the hostile
# suite alone (vsc-guest/hostile_vpci.c): refusals with a status, the config
# window probed, lying messages closing the channel; vmwp survives and the
# VM shuts down through its IC. Source tests/lib/check.sh first; needs
# linhv.ko loaded and the device on pci-stub.

# The window the image places its config window at: inside the low MMIO
# range vmwp publishes in the VMBus device's _CRS.
HOSTILE_VPCI_WINDOW=0xf8000000
HOSTILE_VPCI_GUEST=17 # connect + the vPCI checks with MMIO
HOSTILE_VPCI_CHECKS=$((HOSTILE_VPCI_GUEST + 9))

# vpci_hostile_checks BUILD OUTDIR PCI-ADDRESS: the HOSTILE_VPCI_CHECKS checks.
vpci_hostile_checks() {
	hb=$1 hout=$2 hdev=$3
	himg=$hb/vsc-guest/image/vsc-hostile.bzImage
	hlog=$hout/hostile-vpci.log
	hvlog=$hout/hostile-vpci-vmwp.log
	hsock=/run/hostile-vpci.ctl
	: >"$hlog"
	"$hb/vmm/vmwp/vmwp" --backend linhv --kernel "$himg" --memory 128M --control "$hsock" \
		--cmdline "hostile.vpci_window=$HOSTILE_VPCI_WINDOW hostile.vps=1 hostile.only=vpci" \
		--assign-pci "$hdev" >"$hlog" 2>"$hvlog" </dev/null &
	hpid=$!
	i=0
	while ! grep -q '^GUEST-DONE' "$hlog" 2>/dev/null && [ $i -lt 300 ] && kill -0 $hpid 2>/dev/null; do
		sleep 1
		i=$((i + 1))
	done
	check_grep "hostile vPCI: the test image ran the vPCI attacks" '^GUEST-DONE' "$hlog"
	tr -d '\r' <"$hlog" | grep -E '^GUEST-(PASS|FAIL): ' >"$hout/hostile-vpci-checks.txt"
	while IFS= read -r l; do
		case $l in
		GUEST-PASS:*) pass "hostile vPCI: guest: ${l#GUEST-PASS: }" ;;
		GUEST-FAIL:*) fail "hostile vPCI: guest: ${l#GUEST-FAIL: }" ;;
		esac
	done <"$hout/hostile-vpci-checks.txt"
	n=$(grep -c '^GUEST-PASS: ' "$hout/hostile-vpci-checks.txt")
	if [ "$n" -eq "$HOSTILE_VPCI_GUEST" ]; then pass "hostile vPCI: all $HOSTILE_VPCI_GUEST guest checks passed"; else
		fail "hostile vPCI: all $HOSTILE_VPCI_GUEST guest checks passed" "$n passed"
	fi
	if kill -0 $hpid 2>/dev/null; then pass "hostile vPCI: vmwp survived"; else fail "hostile vPCI: vmwp survived" "it exited"; fi
	for why in 'message length does not match its type' 'unknown message type' 'reserved slot bits set' \
		'interrupt vector count not 1-32' 'interrupt target count not 1-32'; do
		check_grep "hostile vPCI: vmwp logs: $why" "closing the channel: $why" "$hvlog"
	done
	"$hb/vmm/vmwp/vmwp-ctl" "$hsock" shutdown >/dev/null 2>&1
	wait_or_kill $hpid 60
	hrc=$?
	if [ $hrc -eq 0 ]; then pass "hostile vPCI: the VM shut down through its IC (exit 0)"; else
		fail "hostile vPCI: the VM shut down through its IC (exit 0)" "exit $hrc"
	fi
}

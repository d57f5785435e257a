#!/bin/bash
# Host-tier tests for remote management of vmms: stock virsh and
# python3-libvirt with linhv+ssh:// URIs, through an sshd of our own on the
# loopback address (a throwaway host key and root key, nothing of the
# system's ssh setup touched). Domains run under the test-worker fixture.
#
# What stock libvirt 9.0 clients run on the far side of ssh (docs/vmms.md):
#  - with ?socket=PATH: "nc -U PATH" (netcat-openbsd);
#  - without: "virt-ssh-helper linhv:///system" (virt-ssh-helper -r for
#    virsh -r) if the host has it (Debian: libvirt-daemon), which connects to
#    /var/run/libvirt/virtlinhvd-sock(-ro), vmms' default socket; else
#    "nc -U /var/run/libvirt/libvirt-sock", libvirtd's socket, not vmms'.
# Part 1 runs vmms on a temp socket dir (netcat). Part 2 runs it on the
# default /run/libvirt, for virt-ssh-helper; it needs that socket free.
#
# Env: BUILD_DIR (default build), VMMS_TEST_KEEP=1 keeps the temp dir.
set -u
cd "$(dirname "$0")/../.." || exit 2
# shellcheck source=../lib/check.sh
. tests/lib/check.sh
# shellcheck source=../lib/vmms.sh
. tests/lib/vmms.sh
check_expect 23

vmms_tier remote
SSHD_PID=""
MADE_RUN_LIBVIRT=""
remote_cleanup() {
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null
	[ -n "$MADE_RUN_LIBVIRT" ] && rmdir /run/libvirt 2>/dev/null
	return 0
}
VMMS_TIER_CLEANUP=remote_cleanup

for p in "$VMMS" "$FIXTURE" /usr/sbin/sshd "$(command -v nc)" "$(command -v virt-ssh-helper)"; do
	if [ ! -x "$p" ]; then
		fail "prerequisites" "missing $p: build, and run scripts/install-deps (openssh-server, netcat-openbsd, libvirt-daemon)"
		exit 1
	fi
done

# ---- an sshd on 127.0.0.1 with throwaway keys ----
PORT=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ssh-keygen -q -t ed25519 -N '' -C vmms-test-host -f "$T/hostkey"
ssh-keygen -q -t ed25519 -N '' -C vmms-test-root -f "$T/id"
cp "$T/id.pub" "$T/authorized_keys"
cat >"$T/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $PORT
HostKey $T/hostkey
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
EOF
mkdir -p /run/sshd # its privilege separation directory
/usr/sbin/sshd -D -f "$T/sshd_config" -E "$T/sshd.log" &
SSHD_PID=$!
# The client side: libvirt runs "ssh" (URI parameter command= picks which);
# this one only keeps the throwaway host key out of root's known_hosts.
cat >"$T/ssh" <<EOF
#!/bin/sh
exec ssh -o UserKnownHostsFile=$T/known_hosts -o StrictHostKeyChecking=accept-new -o BatchMode=yes "\$@"
EOF
chmod +x "$T/ssh"
ok=""
for _ in $(seq 50); do
	"$T/ssh" -i "$T/id" -p "$PORT" root@127.0.0.1 true 2>/dev/null && ok=1 && break
	sleep 0.1
done
if [ -z "$ok" ]; then
	fail "sshd on 127.0.0.1:$PORT accepts the test key" "$(tail -3 "$T/sshd.log")"
	exit 1
fi
pass "sshd on 127.0.0.1:$PORT accepts the test key"
SSHP="keyfile=$T/id&command=$T/ssh"
R0="linhv+ssh://root@127.0.0.1:$PORT/system"

echo "not a kernel" >"$T/kernel"
vmms_domxml local1 "$T/kernel" >"$T/local1.xml"
vmms_domxml remote1 "$T/kernel" >"$T/remote1.xml"
vmms_domxml remote2 "$T/kernel" >"$T/remote2.xml"

# ================= part 1: ?socket= (nc -U on the far side) =================
if ! start_vmms a --worker "$FIXTURE"; then
	fail "vmms starts" "$(tail -5 "$T/vmms-a.log")"
	exit 1
fi
virsh -q -c "$U" define "$T/local1.xml" >/dev/null
R="$R0?$SSHP&socket=$SOCK"
rv() { virsh -q -c "$R" "$@"; }
rv list --all >"$T/out" 2>&1
check_grep "nc: virsh list --all over linhv+ssh lists the domain" "^ -  +local1 +shut off" "$T/out"
check "nc: virsh define over ssh" sh -c "virsh -c '$R' define '$T/remote1.xml' | grep -q \"Domain 'remote1' defined\""
check "nc: the definition is stored on the vmms host" test -s "$T/state-a/domains/remote1.xml"
rv dumpxml remote1 >"$T/remote1-dump.xml" 2>&1
check "nc: virsh dumpxml over ssh is what the host says" sh -c \
	"virsh -q -c '$U' dumpxml remote1 | cmp -s - '$T/remote1-dump.xml'"
check "nc: virsh start over ssh" rv start remote1
check "nc: running on the host" sh -c "virsh -q -c '$U' domstate remote1 | grep -q running"
check "nc: virsh destroy over ssh" rv destroy remote1
check "nc: virsh -r over ssh (the -ro socket) lists" sh -c \
	"virsh -r -q -c '$R0?$SSHP&socket=$SOCK-ro' list --all | grep -q remote1"
if virsh -r -c "$R0?$SSHP&socket=$SOCK-ro" undefine remote1 >"$T/out" 2>&1; then
	fail "nc: virsh -r undefine over ssh denied" "succeeded"
else
	check_grep "nc: virsh -r undefine over ssh denied" "read only access prevents" "$T/out"
fi
check "py: libvirt.open(linhv+ssh://...) lists the domains" $PY -c "
import libvirt, sys
c = libvirt.open(sys.argv[1])
names = sorted(d.name() for d in c.listAllDomains(0))
assert names == ['local1', 'remote1'], names
assert c.getType() == 'linhv'
" "$R"
stop_vmms

# ================= part 2: the default URI (virt-ssh-helper) =================
if [ -S /run/libvirt/virtlinhvd-sock ] &&
	$PY -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' \
		/run/libvirt/virtlinhvd-sock 2>/dev/null; then
	fail "helper: /run/libvirt/virtlinhvd-sock is free for the test's vmms" "a vmms already serves it"
	check_done
	exit
fi
[ -d /run/libvirt ] || MADE_RUN_LIBVIRT=1
mkdir -p /run/libvirt
"$VMMS" --state-dir "$T/state-b" --run-dir "$T/run-b" --socket-dir /run/libvirt \
	--foreground --worker "$FIXTURE" 2>>"$T/vmms-b.log" &
VMMS_PID=$!
for _ in $(seq 50); do [ -S /run/libvirt/virtlinhvd-sock-ro ] && break; sleep 0.1; done
check "helper: vmms serves /run/libvirt/virtlinhvd-sock" test -S /run/libvirt/virtlinhvd-sock
R="$R0?$SSHP"
rh() { virsh -q -c "$R" "$@"; }
check "helper: virsh define over linhv+ssh://root@127.0.0.1/system" sh -c \
	"virsh -c '$R' define '$T/remote2.xml' | grep -q \"Domain 'remote2' defined\""
rh list --all >"$T/out" 2>&1
check_grep "helper: virsh list --all over ssh" "^ -  +remote2 +shut off" "$T/out"
rh dumpxml remote2 >"$T/remote2-dump.xml" 2>&1
check "helper: virsh dumpxml over ssh is what the host says" sh -c \
	"virsh -q -c 'linhv:///system' dumpxml remote2 | cmp -s - '$T/remote2-dump.xml'"
check_grep "helper: the far side ran virt-ssh-helper" "virt-ssh-helper" \
	<(LIBVIRT_DEBUG=1 virsh -q -c "$R" uri 2>&1 | grep 'About to run')
# Events over ssh: virsh event on the far side of the tunnel sees a start.
virsh -c "$R" event remote2 --event lifecycle --loop --timeout 20 >"$T/ev.out" 2>&1 &
evpid=$!
sleep 2
rh start remote2 >/dev/null
rh destroy remote2 >/dev/null
sleep 1
kill -INT "$evpid" 2>/dev/null
wait "$evpid"
check_grep "helper: virsh event over ssh sees Started Booted" \
	"^event 'lifecycle' for domain 'remote2': Started Booted$" "$T/ev.out"
check_grep "helper: virsh event over ssh sees Stopped Destroyed" \
	"^event 'lifecycle' for domain 'remote2': Stopped Destroyed$" "$T/ev.out"
check "helper: virsh -r over ssh (virt-ssh-helper -r) lists" sh -c \
	"virsh -r -q -c '$R' list --all | grep -q remote2"
if virsh -r -c "$R" undefine remote2 >"$T/out" 2>&1; then
	fail "helper: virsh -r undefine over ssh denied" "succeeded"
else
	check_grep "helper: virsh -r undefine over ssh denied" "read only access prevents" "$T/out"
fi
check "helper: virsh undefine over ssh" rh undefine remote2
stop_vmms
check "helper: vmms removed its sockets from /run/libvirt" \
	test ! -e /run/libvirt/virtlinhvd-sock -a ! -e /run/libvirt/virtlinhvd-sock-ro

check "no sanitizer reports in the vmms logs" \
	sh -c "! grep -lE 'AddressSanitizer|LeakSanitizer|runtime error' '$T'/vmms-*.log"
check_done

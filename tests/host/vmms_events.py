#!/usr/bin/env python3
"""Domain events from vmms, for tests/host/vmms-events.sh. Prints "PASS: name" /
"FAIL: name" lines and exits non-zero on any failure.

  vmms_events.py py URI NAME OTHER   libvirt-python's event loop: lifecycle and reboot
                                     callbacks, a per-domain filter (OTHER is a second
                                     defined domain), deregistration; NAME must be shut off
                                     and startable (the test-worker fixture)
  vmms_events.py raw SOCKETPATH URI NAME
                                     the raw protocol: the old-style REGISTER_ANY (events
                                     as procedure 107), the callback style (318 with the
                                     callback id), errors, and a client that hangs up with
                                     callbacks registered
"""
import socket
import struct
import sys
import threading
import time

import libvirt

failures = 0


def check(name, cond, why=""):
    global failures
    if cond:
        print(f"PASS: {name}")
    else:
        failures += 1
        print(f"FAIL: {name}" + (f" ({why})" if why else ""))


def quiet(*_):
    pass


def wait_for(pred, secs=10.0):
    end = time.time() + secs
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


LC = libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE
RB = libvirt.VIR_DOMAIN_EVENT_ID_REBOOT


def py(uri, name, other):
    libvirt.virEventRegisterDefaultImpl()
    libvirt.registerErrorHandler(quiet, None)
    stop = False

    def loop():
        while not stop:
            libvirt.virEventRunDefaultImpl()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    watcher = libvirt.open(uri)
    actor = libvirt.open(uri)
    seen_all, seen_other, reboots = [], [], []
    dom = actor.lookupByName(name)

    def on_lc(_conn, d, event, detail, sink):
        sink.append((d.name(), event, detail))

    def on_reboot(_conn, d, sink):
        sink.append(d.name())

    cb_all = watcher.domainEventRegisterAny(None, LC, on_lc, seen_all)
    cb_other = watcher.domainEventRegisterAny(watcher.lookupByName(other), LC, on_lc, seen_other)
    cb_rb = watcher.domainEventRegisterAny(watcher.lookupByName(name), RB, on_reboot, reboots)
    check("py events: three callbacks registered", min(cb_all, cb_other, cb_rb) >= 0)

    E = libvirt
    want = [
        ("create", lambda: dom.create(), (E.VIR_DOMAIN_EVENT_STARTED, E.VIR_DOMAIN_EVENT_STARTED_BOOTED)),
        ("suspend", lambda: dom.suspend(), (E.VIR_DOMAIN_EVENT_SUSPENDED, E.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)),
        ("resume", lambda: dom.resume(), (E.VIR_DOMAIN_EVENT_RESUMED, E.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED)),
        ("destroy", lambda: dom.destroy(), (E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)),
    ]
    for what, fn, ev in want:
        n = len(seen_all)
        fn()
        ok = wait_for(lambda: len(seen_all) > n)
        check(f"py events: {what} -> lifecycle {ev[0]}/{ev[1]}",
              ok and seen_all[n] == (name, ev[0], ev[1]), str(seen_all[n:]))

    n = len(seen_all)
    dom.create()
    wait_for(lambda: len(seen_all) > n)
    dom.reboot(0)
    check("py events: reboot callback for the domain", wait_for(lambda: reboots == [name]),
          str(reboots))
    n = len(seen_all)
    dom.shutdown()
    ok = wait_for(lambda: len(seen_all) >= n + 2)
    got = seen_all[n:n + 2]
    check("py events: guest shutdown -> shutdown/finished-after-host-request, then stopped/shutdown",
          ok and got == [(name, E.VIR_DOMAIN_EVENT_SHUTDOWN, E.VIR_DOMAIN_EVENT_SHUTDOWN_HOST),
                         (name, E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN)],
          str(seen_all[n:]))
    check("py events: the callback for another domain saw none of these", seen_other == [],
          str(seen_other))

    # Deregistered callbacks get nothing more; the others keep working.
    watcher.domainEventDeregisterAny(cb_all)
    n_all, n_other = len(seen_all), len(seen_other)
    actor.lookupByName(other).create()
    ok = wait_for(lambda: len(seen_other) > n_other)
    check("py events: the per-domain callback sees its domain start",
          ok and seen_other[n_other] == (other, E.VIR_DOMAIN_EVENT_STARTED,
                                         E.VIR_DOMAIN_EVENT_STARTED_BOOTED), str(seen_other))
    actor.lookupByName(other).destroy()
    wait_for(lambda: len(seen_other) > n_other + 1)
    check("py events: a deregistered callback gets nothing more", len(seen_all) == n_all,
          str(seen_all[n_all:]))
    try:
        watcher.domainEventDeregisterAny(cb_all)
        check("py events: deregistering twice is an error", False, "no error")
    except libvirt.libvirtError:
        check("py events: deregistering twice is an error", True)
    watcher.domainEventDeregisterAny(cb_other)
    watcher.domainEventDeregisterAny(cb_rb)
    watcher.close()
    actor.close()
    stop = True


# ---- raw protocol ----
REMOTE = 0x20008086
CALL, REPLY, MESSAGE = 0, 1, 2


class Raw:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        self.serial = 0
        self.events = []

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed")
            buf += chunk
        return buf

    def read(self):
        n = struct.unpack(">I", self._exact(4))[0]
        data = self._exact(n - 4)
        return struct.unpack(">IIiiIi", data[:24]), data[24:]

    def call(self, proc, body=b""):
        self.serial += 1
        hdr = struct.pack(">IIiiIi", REMOTE, 1, proc, CALL, self.serial, 0)
        self.s.sendall(struct.pack(">I", 28 + len(body)) + hdr + body)
        while True:
            (prog, _, p, mtype, serial, status), body = self.read()
            if mtype == MESSAGE and prog == REMOTE:
                self.events.append((p, body))
                continue
            if mtype == REPLY and serial == self.serial:
                return status, body

    def next_event(self):
        if self.events:
            return self.events.pop(0)
        while True:
            (prog, _, p, mtype, _, _), body = self.read()
            if mtype == MESSAGE and prog == REMOTE:
                return p, body


def xstr(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b + b"\0" * (-len(b) % 4)


def read_dom(body):
    n = struct.unpack(">I", body[:4])[0]
    off = 4 + n + (-n % 4)
    name = body[4:4 + n].decode()
    uuid = body[off:off + 16]
    (dom_id,) = struct.unpack(">i", body[off + 16:off + 20])
    return name, uuid, dom_id, body[off + 20:]


def raw(path, uri, name):
    libvirt.registerErrorHandler(quiet, None)
    conn = libvirt.open(uri)
    dom = conn.lookupByName(name)
    r = Raw(path)
    st, _ = r.call(1, struct.pack(">I", 0) + struct.pack(">I", 0))  # CONNECT_OPEN(NULL, 0)
    check("raw events: connect open", st == 0)
    st, body = r.call(60, struct.pack(">i", 14))
    check("raw events: feature 14 (event callbacks) supported",
          st == 0 and struct.unpack(">i", body)[0] == 1)
    # Old style: REGISTER_ANY(lifecycle) -> events as procedure 107.
    st, _ = r.call(167, struct.pack(">i", LC))
    check("raw events: old-style REGISTER_ANY", st == 0)
    st, _ = r.call(167, struct.pack(">i", LC))
    check("raw events: old-style REGISTER_ANY twice refused", st == 1)
    st, _ = r.call(167, struct.pack(">i", 9999))
    check("raw events: unknown event id refused", st == 1)
    dom.create()
    proc, body = r.next_event()
    ev_name, uuid, dom_id, rest = read_dom(body)
    event, detail = struct.unpack(">ii", rest)
    check("raw events: old style: procedure 107 carries the domain, its id and started/booted",
          proc == 107 and ev_name == name and uuid == dom.UUID() and dom_id == dom.ID() and
          (event, detail) == (libvirt.VIR_DOMAIN_EVENT_STARTED,
                              libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED),
          f"{proc} {ev_name} {dom_id} {event}/{detail}")
    st, _ = r.call(168, struct.pack(">i", LC))
    check("raw events: old-style DEREGISTER_ANY", st == 0)
    # Callback style, filtered to this domain.
    dom_ref = xstr(name) + dom.UUID() + struct.pack(">i", -1)
    st, body = r.call(316, struct.pack(">i", LC) + struct.pack(">I", 1) + dom_ref)
    cb_id = struct.unpack(">i", body)[0] if st == 0 else None
    check("raw events: CALLBACK_REGISTER_ANY returns a callback id", st == 0, str(st))
    dom.destroy()
    proc, body = r.next_event()
    (got_id,) = struct.unpack(">i", body[:4])
    ev_name, _, dom_id, rest = read_dom(body[4:])
    event, detail = struct.unpack(">ii", rest)
    check("raw events: callback style: procedure 318 with the callback id, stopped/destroyed",
          proc == 318 and got_id == cb_id and ev_name == name and dom_id == -1 and
          (event, detail) == (libvirt.VIR_DOMAIN_EVENT_STOPPED,
                              libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED),
          f"{proc} {got_id}/{cb_id} {ev_name} {dom_id} {event}/{detail}")
    st, _ = r.call(317, struct.pack(">i", cb_id + 1000))
    check("raw events: deregistering an unknown callback id refused", st == 1)
    # Hang up with callbacks registered: vmms drops them and serves on.
    r.call(316, struct.pack(">i", RB) + struct.pack(">I", 0))
    r.s.close()
    time.sleep(0.3)
    dom.create()
    dom.destroy()
    check("raw events: vmms serves on after a client with callbacks hung up",
          conn.lookupByName(name).state()[0] == libvirt.VIR_DOMAIN_SHUTOFF)
    conn.close()


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "py":
        py(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "raw":
        raw(*sys.argv[2:])
    else:
        print(__doc__)
        sys.exit(2)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

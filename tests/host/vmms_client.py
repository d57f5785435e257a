#!/usr/bin/env python3
"""libvirt-python client for tests/host/vmms.sh: drives vmms through the stock
python3-libvirt bindings. Each subcommand prints "PASS: name" / "FAIL: name"
lines (the format scripts/test counts) and exits non-zero on any failure.

  vmms_client.py basic URI XMLFILE        define/lookup/list/dumpxml/undefine
  vmms_client.py errors URI XMLFILE       bad XML, unknown element, duplicate
  vmms_client.py readonly URI_RO NAME     read-only socket: reads work, writes denied
  vmms_client.py lifecycle URI NAME [XMLFILE [GUEST_SECS]]
                                          start/info/suspend/resume/console/shutdown/destroy
                                          (needs a worker that can start the domain); with
                                          XMLFILE: define first, undefine at the end, and
                                          allow GUEST_SECS for a real guest's boot/shutdown
  vmms_client.py hammer URI SECONDS       list + dominfo in a loop on one connection
  vmms_client.py keepalive SOCKETPATH     keepalive PING/PONG on the raw protocol
  vmms_client.py flood SOCKETPATH N SECS [idle]
                                          not a check: N hostile connections held for
                                          SECS (idle, half a packet, a huge length,
                                          PINGs without reading the PONGs; or all idle)
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


def expect_error(name, fn, code, needle=""):
    try:
        fn()
    except libvirt.libvirtError as e:
        ok = e.get_error_code() == code and needle in str(e)
        check(name, ok, f"code {e.get_error_code()}: {e}")
        return
    check(name, False, "no error raised")


def quiet(*_):
    pass


def basic(uri, xmlfile):
    conn = libvirt.open(uri)
    libvirt.registerErrorHandler(quiet, None)
    check("py: connect type", conn.getType() == "linhv", conn.getType())
    check("py: hostname", len(conn.getHostname()) > 0)
    info = conn.getInfo()
    check("py: nodeinfo arch and cpus", info[0] == "x86_64" and info[2] >= 1, str(info))
    caps = conn.getCapabilities()
    check("py: capabilities", "<domain type='linhv'/>" in caps and "x86_64" in caps)
    xml = open(xmlfile).read()
    dom = conn.defineXML(xml)
    name = dom.name()
    check("py: define", dom is not None and not dom.isActive() and dom.isPersistent())
    check("py: lookup by name", conn.lookupByName(name).UUIDString() == dom.UUIDString())
    check("py: lookup by uuid", conn.lookupByUUIDString(dom.UUIDString()).name() == name)
    names = [d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE)]
    check("py: listAllDomains inactive", name in names, str(names))
    names = [d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)]
    check("py: listAllDomains active excludes it", name not in names, str(names))
    check("py: listDefinedDomains", name in conn.listDefinedDomains())
    state, reason = dom.state()
    check("py: state shut off", state == libvirt.VIR_DOMAIN_SHUTOFF)
    dinfo = dom.info()
    check("py: info", dinfo[0] == libvirt.VIR_DOMAIN_SHUTOFF and dinfo[1] > 0 and dinfo[3] >= 1,
          str(dinfo))
    out = dom.XMLDesc(0)
    check("py: dumpxml canonical", f"<uuid>{dom.UUIDString()}</uuid>" in out and
          "<domain type='linhv'>" in out)
    dom.setAutostart(1)
    check("py: autostart on", dom.autostart() == 1)
    dom.setAutostart(0)
    check("py: autostart off", dom.autostart() == 0)
    dom.undefine()
    expect_error("py: undefined domain is gone", lambda: conn.lookupByName(name),
                 libvirt.VIR_ERR_NO_DOMAIN)
    conn.close()


def errors(uri, xmlfile):
    conn = libvirt.open(uri)
    libvirt.registerErrorHandler(quiet, None)
    xml = open(xmlfile).read()
    before = sorted(d.name() for d in conn.listAllDomains(0))
    expect_error("py: malformed XML", lambda: conn.defineXML("<domain type='linhv'><name>x"),
                 libvirt.VIR_ERR_XML_ERROR, "malformed")
    expect_error("py: unknown element", lambda: conn.defineXML(
        xml.replace("</domain>", "<features><pae/></features></domain>")),
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED, "<pae>")
    dom = conn.defineXML(xml)
    expect_error("py: duplicate name", lambda: conn.defineXML(xml),
                 libvirt.VIR_ERR_OPERATION_FAILED, "already exists")
    dom.undefine()
    after = sorted(d.name() for d in conn.listAllDomains(0))
    check("py: errors changed no state", before == after, f"{before} vs {after}")
    expect_error("py: unknown procedure gives NO_SUPPORT",
                 lambda: conn.networkLookupByName("default"), libvirt.VIR_ERR_NO_SUPPORT)
    conn.close()


def readonly(uri_ro, name):
    conn = libvirt.openReadOnly(uri_ro)
    libvirt.registerErrorHandler(quiet, None)
    dom = conn.lookupByName(name)
    check("py -r: list", name in [d.name() for d in conn.listAllDomains(0)])
    check("py -r: dumpxml", "<name>" in dom.XMLDesc(0))
    expect_error("py -r: start denied", dom.create, libvirt.VIR_ERR_OPERATION_DENIED)
    expect_error("py -r: define denied", lambda: conn.defineXML(dom.XMLDesc(0)),
                 libvirt.VIR_ERR_OPERATION_DENIED)
    expect_error("py -r: undefine denied", dom.undefine, libvirt.VIR_ERR_OPERATION_DENIED)
    conn.close()


def console_roundtrip(conn, dom, deadline_s=10):
    """Opens the console stream and sends a probe line every 2 s until its echo
    comes back (test-worker echoes; a guest's shell echoes too, once it has
    the serial line open: bytes sent while the guest still boots are lost,
    hence the repeats). A thread does the blocking reads."""
    st = conn.newStream(0)
    dom.openConsole(None, st, 0)
    token = b"linhv-console-probe-42"
    got = bytearray()
    done = threading.Event()

    def reader():
        try:
            while not done.is_set():
                data = st.recv(4096)
                if not isinstance(data, bytes) or not data:
                    break
                got.extend(data)
        except libvirt.libvirtError:
            pass
        done.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    deadline = time.time() + deadline_s
    next_send = time.time() + 0.2
    while time.time() < deadline and token not in got and not done.is_set():
        if time.time() >= next_send:
            st.send(token + b"\r")
            next_send = time.time() + 2
        time.sleep(0.05)
    ok = token in got
    done.set()
    try:
        st.abort()
    except libvirt.libvirtError:
        pass
    t.join(5)
    return bytes(got), ok


def lifecycle(uri, name, xmlfile=None, guest_secs="10"):
    """With XMLFILE the domain is defined first and undefined at the end (a real
    guest: GUEST_SECS bounds its boot and its graceful shutdown)."""
    secs = float(guest_secs)
    conn = libvirt.open(uri)
    libvirt.registerErrorHandler(quiet, None)
    if xmlfile:
        dom = conn.defineXML(open(xmlfile).read())
        check("py: define", dom.name() == name and not dom.isActive())
        check("py: listed shut off", name in [d.name() for d in conn.listAllDomains(
            libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE)])
    dom = conn.lookupByName(name)
    dom.create()
    check("py: start", dom.isActive() and dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING)
    check("py: running domain has an id", dom.ID() > 0 and
          conn.lookupByID(dom.ID()).name() == name)
    info = dom.info()
    check("py: info running", info[0] == libvirt.VIR_DOMAIN_RUNNING and info[3] >= 1, str(info))
    check("py: dumpxml of the running domain has its id",
          f"id='{dom.ID()}'" in dom.XMLDesc(0))
    dom.suspend()
    check("py: suspend", dom.state()[0] == libvirt.VIR_DOMAIN_PAUSED)
    dom.resume()
    check("py: resume", dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING)
    t0 = time.time()
    got, ok = console_roundtrip(conn, dom, secs if xmlfile else 10)
    check("py: console stream both ways", ok, repr(got[-200:]))
    if xmlfile:
        print(f"py: console answered {time.time() - t0:.1f}s after resume")
    # The guest may still be connecting its integration services: retry a refused shutdown.
    deadline = time.time() + secs
    while True:
        try:
            dom.shutdown()
            break
        except libvirt.libvirtError as e:
            if time.time() > deadline:
                check("py: shutdown accepted", False, str(e))
                break
            time.sleep(1)
    t0 = time.time()
    deadline = time.time() + (secs if xmlfile else 60)
    while dom.isActive() and time.time() < deadline:
        time.sleep(0.2)
    check("py: shutdown", dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF,
                                          libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN], str(dom.state()))
    if xmlfile:
        print(f"py: graceful shutdown took {time.time() - t0:.1f}s")
    dom.create()
    check("py: start again", dom.isActive())
    dom.destroy()
    check("py: destroy", dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF,
                                         libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED])
    if xmlfile:
        dom.undefine()
        expect_error("py: undefine", lambda: conn.lookupByName(name), libvirt.VIR_ERR_NO_DOMAIN)
    conn.close()


def _packet(prog, proc, mtype, serial, body=b""):
    hdr = struct.pack(">IIiiIi", prog, 1, proc, mtype, serial, 0)
    return struct.pack(">I", 4 + len(hdr) + len(body)) + hdr + body


def _read_packet(sock):
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed")
            buf += chunk
        return buf
    n = struct.unpack(">I", exact(4))[0]
    data = exact(n - 4)
    return struct.unpack(">IIiiIi", data[:24]), data[24:]


def keepalive(path):
    """Raw protocol: our PING gets a PONG; after announcing keepalive support
    an idle client gets PINGs from the daemon."""
    ka, remote = 0x6B656570, 0x20008086
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(15)
    s.connect(path)
    s.sendall(_packet(ka, 1, 2, 0))
    (prog, _, proc, mtype, _, _), _ = _read_packet(s)
    check("keepalive: PING answered with PONG", (prog, proc, mtype) == (ka, 2, 2))
    s.sendall(_packet(remote, 60, 0, 7, struct.pack(">i", 10)))
    (prog, _, proc, mtype, serial, status), body = _read_packet(s)
    check("keepalive: feature 10 supported", (proc, serial, status) == (60, 7, 0) and
          struct.unpack(">i", body)[0] == 1)
    start = time.time()
    (prog, _, proc, mtype, _, _), _ = _read_packet(s)
    waited = time.time() - start
    check("keepalive: idle client gets a PING from the daemon",
          (prog, proc, mtype) == (ka, 1, 2) and 3 < waited < 12, f"after {waited:.1f}s")
    s.sendall(_packet(ka, 2, 2, 0))
    s.close()


def hammer(uri, seconds):
    conn = libvirt.open(uri)
    end = time.time() + float(seconds)
    n = 0
    try:
        while time.time() < end:
            for d in conn.listAllDomains(0):
                d.info()
                d.state()
            n += 1
    except libvirt.libvirtError as e:
        print(f"FAIL: hammer ({e})")
        sys.exit(1)
    conn.close()
    print(f"hammer: {n} rounds")


def flood(path, n, seconds, only_idle=""):
    """Hold up to N connections on PATH for SECONDS: a quarter idle, a quarter
    stuck halfway through a 1 MiB packet, a quarter announcing a 1 GiB one,
    a quarter sending PINGs and never reading. Connections the daemon does
    not accept wait in its backlog; beyond that, connect fails (counted)."""
    ping = _packet(0x6B656570, 1, 2, 0)
    socks, refused = [], 0
    for i in range(int(n)):
        kind = 0 if only_idle else i % 4
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(path)
        except OSError:
            refused += 1
            s.close()
            continue
        try:
            if kind == 1:
                s.send(struct.pack(">I", 1 << 20) + b"\0" * 24)
            elif kind == 2:
                s.send(struct.pack(">I", 1 << 30))
        except OSError:
            pass
        socks.append((kind, s))
    print(f"flood: {len(socks)} connected, {refused} refused", flush=True)
    end = time.time() + float(seconds)
    while time.time() < end:
        for kind, s in socks:
            if kind == 3:
                try:
                    s.send(ping * 64)
                except OSError:
                    pass
        time.sleep(0.05)
    for _, s in socks:
        s.close()


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"basic": basic, "errors": errors, "readonly": readonly, "lifecycle": lifecycle,
          "hammer": hammer, "keepalive": keepalive, "flood": flood}.get(cmd)
    if not fn:
        print(__doc__)
        sys.exit(2)
    try:
        fn(*args)
    except libvirt.libvirtError as e:
        check(f"py: {cmd}", False, str(e))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

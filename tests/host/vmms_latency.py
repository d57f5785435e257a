#!/usr/bin/env python3
"""Latency of read calls while vmms runs a long job (tests/host/vmms-jobs.sh).

  vmms_latency.py URI CLIENTS CALLS

CLIENTS threads each open their own connection and make CALLS calls
(listAllDomains, then state() of each domain), timing every call. Prints
"latency: median M ms, max X ms over N calls from C clients" and exits 0,
or exits 1 if a call failed.
"""
import statistics
import sys
import threading
import time

import libvirt

uri, nclients, ncalls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times, errors = [], []
lock = threading.Lock()
ready = threading.Barrier(nclients)


def client():
    try:
        conn = libvirt.open(uri)
        ready.wait()
        for _ in range(ncalls):
            t0 = time.monotonic()
            for dom in conn.listAllDomains(0):
                dom.state()
            with lock:
                times.append((time.monotonic() - t0) * 1000)
        conn.close()
    except Exception as e:  # noqa: BLE001 - any failure fails the check
        with lock:
            errors.append(str(e))


threads = [threading.Thread(target=client) for _ in range(nclients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if errors or not times:
    print("errors:", errors[:3])
    sys.exit(1)
print(f"latency: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms "
      f"over {len(times)} calls from {nclients} clients")

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Polls URL over one keep-alive connection every INTERVAL_MS for SECONDS and prints each outage:
the time from the first answer that was not 200 (or a connection error) to the next 200, in ms, as
"gap_ms=N failed=K", after a line "ready" when it starts polling. Run inside the container by bench/firewall.sh; a fresh connection only after
an error, so that a gap is nginx finding no app behind the route, not the client.

    gap-poll.py URL SECONDS [INTERVAL_MS]
"""
import http.client
import sys
import time
import urllib.parse

url = urllib.parse.urlsplit(sys.argv[1])
seconds = float(sys.argv[2])
interval = float(sys.argv[3] if len(sys.argv) > 3 else 2) / 1000
conn = None
first_bad = None
failed = 0
end = time.monotonic() + seconds
print("ready", flush=True)
while time.monotonic() < end:
    now = time.monotonic()
    try:
        if conn is None:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=2)
        conn.request("GET", url.path or "/")
        resp = conn.getresponse()
        resp.read()
        good = resp.status == 200
    except (OSError, http.client.HTTPException):
        conn = None
        good = False
    if not good:
        failed += 1
        if first_bad is None:
            first_bad = now
    elif first_bad is not None:
        print(f"gap_ms={(now - first_bad) * 1000:.0f} failed={failed}", flush=True)
        first_bad, failed = None, 0
    time.sleep(interval)
if first_bad is not None:
    print(f"gap_ms=open failed={failed}", flush=True)

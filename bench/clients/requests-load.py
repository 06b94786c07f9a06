#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Keep-alive load the way a Python service calls an API: THREADS threads, each with its own
requests.Session (so its own urllib3 connection pool, reused request after request), GETting URL
until SECONDS have passed, MAX requests were sent in all, or SIGINT arrives. Run inside the container
by bench/load.sh, next to wrk. requests retries nothing by default, so a keep-alive connection that
nginx closes under a request shows up as a ConnectionError, as it would in a real client.

    requests-load.py URL THREADS SECONDS MAX [CA-FILE]

Prints one line when done:
    requests=N ok=N connection_error=N non2xx=N timeout=N other=N p50_ms=X p99_ms=X
(latency of the requests that got an answer). Exit status 0, or 2 on bad arguments.
"""
import signal
import sys
import threading
import time

import requests

if len(sys.argv) not in (5, 6):
    print(__doc__.strip(), file=sys.stderr)
    sys.exit(2)
url = sys.argv[1]
threads = int(sys.argv[2])
seconds = float(sys.argv[3])
max_requests = int(sys.argv[4])
verify = sys.argv[5] if len(sys.argv) == 6 else True

stop = threading.Event()
lock = threading.Lock()
counts = {"requests": 0, "ok": 0, "connection_error": 0, "non2xx": 0, "timeout": 0, "other": 0}
latencies = []


def count(kind, latency=None):
    with lock:
        counts[kind] += 1
        if latency is not None:
            latencies.append(latency)


def take_one():
    """Reserves one request of the MAX budget; False when it is spent."""
    with lock:
        if counts["requests"] >= max_requests:
            return False
        counts["requests"] += 1
        return True


def client():
    session = requests.Session()
    while not stop.is_set() and take_one():
        t = time.monotonic()
        try:
            r = session.get(url, timeout=(2, 5), verify=verify)
            r.content
        # Timeout first: ConnectTimeout is a ConnectionError too, but it is the timeout that matters.
        except requests.exceptions.Timeout:
            count("timeout")
            continue
        except requests.exceptions.ConnectionError:
            count("connection_error")
            continue
        except requests.exceptions.RequestException:
            count("other")
            continue
        count("ok" if 200 <= r.status_code < 300 else "non2xx", time.monotonic() - t)


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


signal.signal(signal.SIGINT, lambda *_: stop.set())
workers = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
for w in workers:
    w.start()
stop.wait(seconds)
stop.set()
for w in workers:
    w.join()
lat = sorted(latencies)
print(" ".join(f"{k}={v}" for k, v in counts.items()),
      f"p50_ms={percentile(lat, 0.50) * 1000:.2f} p99_ms={percentile(lat, 0.99) * 1000:.2f}", flush=True)

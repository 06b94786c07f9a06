#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# A real HTTP server on loopback for the integration tests:
#   server.py PORT MODE [BODY]
# MODE ok: every path answers 200 with BODY; fail: 500; slow:N: 503 for N seconds, then 200.
# Binds ::1 when PORT is prefixed with "6:", and the unix socket PATH when PORT is "unix:PATH".
# HTTP/1.1 with keep-alive, as nginx's upstream pool and the health gate's probe use it.
import http.server
import os
import socket
import socketserver
import sys
import time

spec, mode = sys.argv[1], sys.argv[2]
body = (sys.argv[3] if len(sys.argv) > 3 else "ok").encode()
family, host = (socket.AF_INET6, "::1") if spec.startswith("6:") else (socket.AF_INET, "127.0.0.1")
started = time.monotonic()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        status = 200
        if mode == "fail":
            status = 500
        elif mode.startswith("slow:") and time.monotonic() - started < float(mode[5:]):
            status = 503
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    address_family = family


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        # BaseHTTPRequestHandler logs and formats the client address as (host, port).
        request, _ = super().get_request()
        return request, ("unix", 0)


if spec.startswith("unix:"):
    # Replaces a stale socket: the tests make them on purpose, for bluegreen to cope with, not this.
    if os.path.exists(spec[5:]):
        os.unlink(spec[5:])
    UnixServer(spec[5:], Handler).serve_forever()
else:
    Server((host, int(spec.split(":")[-1])), Handler).serve_forever()

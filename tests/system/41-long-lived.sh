#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Long-lived connections: a streaming response that is open when traffic switches goes on to its end
# from the old color, in both switch modes; it is cut only when the old color is retired, which is what
# drain_s is for (see bluegreen.conf(5), DRAINING).
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

stream_across_switch() { # MODE
        local mode=$1 out rc lines
        bg_release r1
        bg_release r2
        ct_exec systemctl start "$BG_APP.service"
        ct_exec systemctl reload nginx
        bg_deploy r1

        # 40 lines, 100 ms apart: open for 4 s, across the whole deploy of r2.
        ct_exec curl -sS -N --max-time 30 "http://127.0.0.1:8080/stream?lines=40&every_ms=100" \
                >"$CT_DIR/stream.txt" 2>&1 &
        local pid=$!
        sleep 0.5
        bg_deploy r2
        assert_eq r2 "$(bg_wait_live_release r2)" "$mode: new requests reach r2"
        set +e
        wait "$pid"
        rc=$?
        set -e
        lines=$(grep -c '^r1 ' "$CT_DIR/stream.txt" || true)
        assert_eq 0 "$rc" "$mode: the stream opened before the switch was not cut"
        assert_eq 40 "$lines" "$mode: it delivered all 40 lines, all from r1"
}

bg_setup
stream_across_switch reload

# The stream lives as long as the color serving it: retiring the color stops it gracefully, and a
# response longer than stop.timeout_s (10 s here) is cut when systemd ends the app.
ct_exec curl -sS -N --max-time 60 "http://127.0.0.1:8080/stream?lines=300&every_ms=100" \
        >"$CT_DIR/cut.txt" 2>&1 &
pid=$!
sleep 1
ct_exec systemctl start "$BG_APP-rollback.service"
ct_exec systemctl start "$BG_APP-retire@green.service"
set +e
wait "$pid"
set -e
lines=$(grep -c '^r2 ' "$CT_DIR/cut.txt" || true)
[ "$lines" -lt 300 ] || fail "a stream from a retired color went on to its end ($lines lines)"
[ "$lines" -gt 50 ] || fail "the stream was cut before the retirement's graceful stop ran out ($lines lines)"
ok "retiring the old color ends its streams after stop.timeout_s ($lines of 300 lines delivered)"
ct_teardown

BG_LIVE_PORT=9010 bg_setup
stream_across_switch redirect
echo "41-long-lived: all checks passed"

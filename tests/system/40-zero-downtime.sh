#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Zero downtime under load, as a test: bench/load.sh with a load small enough for CI, three keep-alive
# clients at once (wrk over HTTP, wrk over TLS, python-requests sessions over TLS, the last two
# through the runbook's "listen 443 ssl http2" site). Asserts that
#   - nothing fails in steady state, for any client (the load itself is sound);
#   - deploys and rollbacks in redirect and socket modes fail no request of any client over SWITCHES (10);
#   - in reload mode, a switch fails no more requests, per client, than a bare nginx reload does
#     under the same load, measured in the same run (its idle keep-alive connections are closed by
#     nginx's old workers: that is nginx's, and it is what redirect mode avoids);
#   - in those two modes nginx's pooled connections to the old color are gone within 5 s of the last
#     switch (keepalive_time 1 s: the old color's tail);
#   - redirect mode still serves after "systemctl restart nftables" under load;
#   - the naive in-place restart does fail requests, so the measurement can see failures at all.
set -euo pipefail
src=${BLUEGREEN_SOURCE_DIR:-$(dirname "$(readlink -f "$0")")/../..}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

SWITCHES=${SWITCHES:-10} STEADY_S=2 BARE_RELOADS=6 RESTARTS=1 NFT_RESTARTS=1 CONNS=32 TLS_CONNS=16 PY_THREADS=8 \
        bash "$src/bench/load.sh" "${BLUEGREEN_BUILD_DIR:?}" | tee "$out" | grep -v '^RESULT'

get() { # LABEL-PREFIX FIELD
        grep "^RESULT label=$1" "$out" | head -n 1 | sed -E "s/.* $2=([^ ]*).*/\\1/"
}
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

for mode in reload redirect socket; do
        for c in '' _tls _requests; do
                [ -n "$(get "${mode}$c:_steady" requests)" ] || fail "no ${mode}$c results"
                [ "$(get "${mode}$c:_steady" requests)" -gt 0 ] || fail "${mode}$c: no request was sent in steady state"
                [ "$(get "${mode}$c:_steady" failed)" -eq 0 ] || fail "${mode}$c: requests failed with no switch at all"
        done
done
ok "steady state: no failed request in any mode, from any client"

for mode in redirect socket; do
        [ "$(get "$mode:_[0-9]" events)" -ge "${SWITCHES:-10}" ] || fail "$mode: fewer switches than asked for"
        for c in '' _tls _requests; do
                l="$mode$c:_[0-9]"
                [ "$(get "$l" requests)" -gt 0 ] || fail "$mode$c: no requests were sent during the switches"
                [ "$(get "$l" failed)" -eq 0 ] || fail "$mode$c: $(get "$l" failed) requests failed during the switches"
                ok "$mode mode, client ${c:-_wrk}: 0 failed of $(get "$l" requests) requests across $(get "$l" events) switches"
        done
        # The tail nginx.keepalive_time_s (1 s) bounds: its pooled connections to the old color recycle.
        tail_ms=$(get "${mode}_tail" tail_ms)
        [ "$tail_ms" -lt 5000 ] || fail "$mode: nginx still had connections to the old color $tail_ms ms after the last switch"
        ok "$mode mode: nginx's last connection to the old color closed $tail_ms ms after the last switch"
done

# Per event, per client. A reload fails a handful of requests at random (which keep-alive connections
# nginx's old workers close just as a client sends on them), so the bound allows twice the bare rate
# and some slack; a switch that did more than reload nginx (stopped the live color, say) would fail
# thousands.
for c in '' _tls _requests; do
        reload_failed=$(get "reload$c:_[0-9]" failed)
        reload_events=$(get "reload$c:_[0-9]" events)
        bare_failed=$(get "bare${c}_nginx" failed)
        bare_events=$(get "bare${c}_nginx" events)
        awk -v rf="$reload_failed" -v re="$reload_events" -v bf="$bare_failed" -v be="$bare_events" \
                'BEGIN { exit !(rf / re <= 2 * bf / be + 5) }' ||
                fail "reload$c mode failed $reload_failed requests over $reload_events switches, a bare reload $bare_failed over $bare_events"
        ok "reload mode, client ${c:-_wrk}: $reload_failed failed over $reload_events switches; bare nginx reloads: $bare_failed over $bare_events"
done

[ "$(get "redirect_after_nft" status)" = 200 ] || fail "redirect: nginx answers $(get "redirect_after_nft" status) after systemctl restart nftables"
ok "redirect mode serves after systemctl restart nftables under load ($(get "redirect_requests:_nftables" failed) of $(get "redirect_requests:_nftables" requests) requests-session requests failed during it)"

[ "$(get "naive" failed)" -gt 0 ] || fail "the naive restart failed no request: the measurement cannot see failures"
ok "naive in-place restart: $(get "naive" failed) failed requests (the contrast)"
echo "40-zero-downtime: all checks passed"

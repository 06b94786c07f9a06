#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Zero downtime under load, as a test: bench/load.sh with a load small enough for CI. Asserts that
#   - nothing fails in steady state (the load itself is sound);
#   - deploys and rollbacks in redirect mode fail no request;
#   - in reload mode, a switch fails no more requests than a bare nginx reload does under the same
#     load, measured in the same run (its idle keep-alive connections are closed by nginx's old
#     workers: that is nginx's, and it is what redirect mode avoids);
#   - the naive in-place restart does fail requests, so the measurement can see failures at all.
set -euo pipefail
src=${BLUEGREEN_SOURCE_DIR:-$(dirname "$(readlink -f "$0")")/../..}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

SWITCHES=${SWITCHES:-4} STEADY_S=2 BARE_RELOADS=6 RESTARTS=1 CONNS=32 \
        bash "$src/bench/load.sh" "${BLUEGREEN_BUILD_DIR:?}" | tee "$out" | grep -v '^RESULT'

get() { # LABEL-PREFIX FIELD
        grep "^RESULT label=$1" "$out" | head -n 1 | sed -E "s/.* $2=([^ ]*).*/\\1/"
}
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

for mode in reload redirect; do
        [ -n "$(get "${mode}:_steady" requests)" ] || fail "no $mode results"
        [ "$(get "${mode}:_steady" failed)" -eq 0 ] || fail "$mode: requests failed with no switch at all"
done
ok "steady state: no failed request in either mode"

[ "$(get "redirect:_[0-9]" requests)" -gt 0 ] || fail "redirect: no requests were sent during the switches"
[ "$(get "redirect:_[0-9]" failed)" -eq 0 ] || fail "redirect: $(get "redirect:_[0-9]" failed) requests failed during the switches"
ok "redirect mode: 0 failed of $(get "redirect:_[0-9]" requests) requests across $(get "redirect:_[0-9]" events) switches"

reload_failed=$(get "reload:_[0-9]" failed)
reload_events=$(get "reload:_[0-9]" events)
bare_failed=$(get "bare_nginx" failed)
bare_events=$(get "bare_nginx" events)
# Per event. A reload fails a handful of requests at random (which of 32 connections nginx's old
# workers close just as wrk sends on them), so the bound allows twice the bare rate and some slack; a
# switch that did more than reload nginx (stopped the live color, say) would fail thousands.
awk -v rf="$reload_failed" -v re="$reload_events" -v bf="$bare_failed" -v be="$bare_events" \
        'BEGIN { exit !(rf / re <= 2 * bf / be + 5) }' ||
        fail "reload mode failed $reload_failed requests over $reload_events switches, a bare reload $bare_failed over $bare_events"
ok "reload mode: $reload_failed failed over $reload_events switches; bare nginx reloads: $bare_failed over $bare_events"

[ "$(get "naive" failed)" -gt 0 ] || fail "the naive restart failed no request: the measurement cannot see failures"
ok "naive in-place restart: $(get "naive" failed) failed requests (the contrast)"
echo "40-zero-downtime: all checks passed"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The watch after a deploy rolls back on its own, in each switch mode (the same case per mode, each in a
# fresh container): a release that starts healthy and answers its health check with 500 a few seconds
# after the switch ("sour"), and one whose main process is killed then ("dies"), under wrk keep-alive
# load through nginx. Each is rolled back within watch.failures x watch.interval_ms + 500 ms of the
# first failed probe (the app stamps its first failing answer, or its death, on CLOCK_MONOTONIC; the
# journal stamps the rollback's switch); the bad color is stopped; history, journal and bluegreenctl
# status say why. No request fails through nginx for the sour release beyond what an nginx reload
# costs in reload mode (and none at all in the other modes); for the one that dies, the requests in
# flight when it died and until the switch do fail, and the test prints how many.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/watch-lib.sh"

FAILURES=3 INTERVAL_MS=100 TURN_S=6
BUDGET_MS=$((FAILURES * INTERVAL_MS + 500))
BG_EXTRA_DECL="watch = { duration_s = 60; failures = $FAILURES; interval_ms = $INTERVAL_MS; };"

# Deploys RELEASE (which turns bad TURN_S s after it starts) under load, waits for its watch to roll
# back, and checks what that left.
watch_bad_case() { # MODE KIND RELEASE
        local mode=$1 kind=$2 rel=$3 f=$CT_DIR/wrk-$1-$2.txt unit since bad back ms failed st stamp
        local watch=$BG_APP-watch@$rel.service target
        target=$([ "$(crash_active)" = blue ] && echo green || echo blue)
        since=$(ct_exec date +%s.%N)
        crash_wrk_start $((TURN_S + 8)) "$f"
        bg_deploy "$rel"
        assert_eq active "$(watch_wait_started "$watch")" "$mode/$kind: the deploy started $watch"
        assert_contains "$(ct_exec bluegreenctl status "$BG_APP")" "watch: $rel" "$mode/$kind: bluegreenctl status shows the watch"
        st=$(watch_wait_ended "$watch" $((TURN_S + 10)))
        crash_wrk_wait
        assert_eq inactive "$st" "$mode/$kind: the watch ended after rolling back (exit 0)"

        unit=$BG_APP@$target.service
        [ "$kind" = sour ] && stamp="first failing answer" || stamp=dying
        bad=$(watch_app_stamp "$unit" "$stamp")
        back=$(watch_switched_back "$watch")
        if [ -z "$bad" ] || [ -z "$back" ]; then
                fail "$mode/$kind: no stamp of the first bad answer ($bad) or of the switch back ($back)"
        fi
        ms=$(((back - bad) / 1000))
        echo "# $mode/$kind: $stamp to traffic back on the old color: $ms ms (budget $BUDGET_MS ms)"
        [ "$ms" -le "$BUDGET_MS" ] || fail "$mode/$kind: traffic went back $ms ms after the $stamp, over $BUDGET_MS ms"
        ok "$mode/$kind: rolled back $ms ms after the $stamp"

        assert_eq r1 "$(bg_wait_live_release r1)" "$mode/$kind: nginx serves r1 again"
        assert_eq "$([ "$target" = blue ] && echo green || echo blue)" "$(crash_active)" "$mode/$kind: the state names the old color live"
        st=$(bg_active "$unit")
        case $st in inactive | failed) ok "$mode/$kind: the bad color is stopped ($st)" ;; *) fail "$mode/$kind: the bad color is $st" ;; esac
        assert_contains "$(cat "$CT_ROOT$BG_STATE/history")" "auto-rollback r1 $(crash_active) from=$rel reason=" \
                "$mode/$kind: history records the auto-rollback with its reason"
        assert_contains "$(ct_exec journalctl -o cat --no-pager "MESSAGE_ID=$WATCH_MSG_AUTO" "BLUEGREEN_RELEASE=$rel")" \
                "Release $rel of $BG_APP went bad" "$mode/$kind: the journal says why, with its own MESSAGE_ID"
        assert_contains "$(ct_exec bluegreenctl status "$BG_APP")" "last auto-rollback:" "$mode/$kind: bluegreenctl status shows it"
        python3 -c 'import json, sys; a = json.loads(sys.argv[1])[0]["last_auto_rollback"]; assert a["from"] == sys.argv[2] and a["release"] == "r1" and a["outcome"] == "rollback" and a["reason"], a' \
                "$(ct_exec bluegreenctl --json status "$BG_APP")" "$rel" || fail "$mode/$kind: bluegreenctl --json lacks the auto-rollback"
        ok "$mode/$kind: and so does bluegreenctl --json"
        [ ! -e "$CT_ROOT$BG_STATE/intent" ] || fail "$mode/$kind: an intent is left"

        failed=$(crash_wrk_failed "$f")
        [ "$failed" != none ] || fail "$mode/$kind: wrk sent no request"
        echo "RESULT mode=$mode kind=$kind bad_to_traffic_back_ms=$ms budget_ms=$BUDGET_MS failed=$failed requests=$(awk '/ requests in / { print $1 }' "$f")"
        [ "$kind" = dies ] && { ok "$mode/$kind: $failed requests failed through nginx (those in flight at the crash and until the switch)"; return 0; }
        if [ "$mode" = reload ]; then
                local reloads
                reloads=$(ct_exec journalctl -u nginx.service --since "@$since" -o cat --no-pager | grep -c '^Reloaded' || true)
                if [ "$(crash_wrk_non2xx "$f")" -ne 0 ] || [ "$failed" -gt $((reloads * 16)) ]; then
                        cat "$f" >&2
                        fail "$mode/$kind: $failed requests failed over $reloads nginx reloads"
                fi
                ok "$mode/$kind: no request answered other than 2xx; $failed read errors over $reloads nginx reloads (what a bare reload costs)"
        else
                [ "$failed" -eq 0 ] || cat "$f" >&2
                assert_eq 0 "$failed" "$mode/$kind: no request failed through nginx"
        fi
}

for mode in ${BG_WATCH_MODES:-reload redirect socket}; do
        watch_use_mode "$mode"
        watch_setup
        bg_release r2 "sour:$TURN_S"
        bg_release r3 "dies:$TURN_S"
        watch_bad_case "$mode" sour r2
        watch_bad_case "$mode" dies r3
        ct_teardown
done
echo "50-watch-rollback: all checks passed"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bluegreenctl deploy and rollback: each starts the unit through sd-bus, prints the steps from its
# journal while it runs (the first line well before a slow release's deploy ends), and exits with the
# unit's own exit status, a failing one's too; --no-block returns at once; Ctrl-C stops following, not
# the deploy. Then history lists what happened, newest first.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

bg_setup
bg_release r1
bg_release slow1 slow
bg_release slow2 slow
bg_release slow3 slow
bg_release bad1 unhealthy
ct_exec systemctl start "$BG_APP.service"
ct_exec systemctl reload nginx

status_of() { # UNIT: its main process's exit status
        ct_exec systemctl show -P ExecMainStatus "$1"
}

wait_for_line() { # FILE TEXT: until bluegreenctl, in the background, has printed TEXT (at most 6 s)
        for _ in $(seq 300); do
                grep -q "$2" "$1" && return 0
                sleep 0.02
        done
        return 1
}

wait_until_done() { # UNIT
        for _ in $(seq 200); do
                [ "$(bg_active "$1")" = activating ] || return 0
                sleep 0.1
        done
}

# A deploy: its steps and timeline, exit 0.
out=$(ct_exec bluegreenctl deploy "$BG_APP" r1) || fail "bluegreenctl deploy r1 failed: $out"
echo "$out" | sed 's/^/# /'
assert_contains "$out" "Deploying r1 of $BG_APP to the blue color" "deploy prints the deploy's own lines"
assert_contains "$out" "The blue color is healthy after" "and the health gate's, while the color starts"
assert_contains "$out" "start blue" "and its timeline, one step a line"
assert_contains "$out" "$BG_APP-deploy@r1.service: done." "and how it ended"
assert_eq r1 "$(bg_live_release)" "nginx serves r1"

# Live: the first step is printed while the deploy still runs (the slow release is healthy after 3 s).
ct_exec bluegreenctl deploy "$BG_APP" slow1 >"$CT_DIR/slow.out" 2>&1 &
pid=$!
wait_for_line "$CT_DIR/slow.out" "Deploying slow1" || true
assert_eq activating "$(bg_active "$BG_APP-deploy@slow1.service")" \
        "the first step line is printed while the deploy is still running"
wait "$pid" || fail "bluegreenctl deploy slow1 failed: $(cat "$CT_DIR/slow.out")"
first=$(grep -m1 "Deploying slow1" "$CT_DIR/slow.out" | awk '{ print $1 }')
last=$(grep -m1 "Deployed slow1" "$CT_DIR/slow.out" | awk '{ print $1 }')
awk -v a="${first%s}" -v b="${last%s}" 'BEGIN { exit !(b - a >= 2.5) }' ||
        fail "the slow deploy's lines are not seconds apart: $first, $last"
ok "each line says when it happened: first step at $first, the end at $last"
assert_eq slow1 "$(bg_live_release)" "nginx serves slow1"

# A failing deploy: bluegreenctl exits with the deploy's own status (3: the health gate failed).
set +e
out=$(ct_exec bluegreenctl deploy "$BG_APP" bad1 2>&1)
rc=$?
set -e
assert_eq 3 "$(status_of "$BG_APP-deploy@bad1.service")" "the deploy of the unhealthy release exits 3"
assert_eq 3 "$rc" "bluegreenctl deploy exits with the deploy's status"
assert_contains "$out" "failed with exit status 3" "and says so"
assert_contains "$out" "is not healthy after" "having shown why, from the journal"
assert_eq slow1 "$(bg_live_release)" "nginx still serves slow1"

set +e
ct_exec bluegreenctl deploy "$BG_APP" no-such-release >/dev/null 2>&1
rc=$?
ct_exec bluegreenctl deploy no-such-app r1 >/dev/null 2>&1
rc_app=$?
set -e
assert_eq "2 2" "$rc $(status_of "$BG_APP-deploy@no-such-release.service")" "no such release: exit 2, the deploy's own"
assert_eq 2 "$rc_app" "no such app: exit 2"

# A rollback through bluegreenctl.
out=$(ct_exec bluegreenctl rollback "$BG_APP") || fail "bluegreenctl rollback failed: $out"
assert_contains "$out" "$BG_APP-rollback.service: done." "rollback follows the rollback unit to its end"
assert_eq r1 "$(bg_live_release)" "nginx serves r1 again"

# --no-block: queued, back at once, while the deploy takes seconds.
start=$(date +%s%N)
ct_exec bluegreenctl deploy --no-block "$BG_APP" slow2 >/dev/null || fail "deploy --no-block failed"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -lt 2500 ] || fail "deploy --no-block took $ms ms"
assert_eq activating "$(bg_active "$BG_APP-deploy@slow2.service")" "deploy --no-block returns while the deploy runs ($ms ms)"
wait_until_done "$BG_APP-deploy@slow2.service"
assert_eq 0 "$(status_of "$BG_APP-deploy@slow2.service")" "the queued deploy went through"

# Ctrl-C stops following; the deploy goes on.
ct_exec bluegreenctl deploy "$BG_APP" slow3 >"$CT_DIR/int.out" 2>&1 &
pid=$!
wait_for_line "$CT_DIR/int.out" "Deploying slow3" || fail "bluegreenctl printed no step of slow3"
ct_exec pkill -INT -x bluegreenctl
set +e
wait "$pid"
rc=$?
set -e
assert_eq 130 "$rc" "Ctrl-C: bluegreenctl exits 130"
assert_contains "$(cat "$CT_DIR/int.out")" "Stopped following $BG_APP-deploy@slow3.service: it goes on" "and says the deploy goes on"
assert_eq activating "$(bg_active "$BG_APP-deploy@slow3.service")" "the deploy still runs"
wait_until_done "$BG_APP-deploy@slow3.service"
assert_eq slow3 "$(bg_wait_live_release slow3)" "and goes through"

# history: newest first.
hist=$(ct_exec bluegreenctl history "$BG_APP")
echo "$hist" | sed 's/^/# /'
assert_eq "deploy slow3" "$(echo "$hist" | head -n1 | awk '{ print $2, $3 }')" "history: the newest event first"
assert_eq "deploy r1" "$(echo "$hist" | tail -n1 | awk '{ print $2, $3 }')" "history: the first deploy last"
assert_contains "$hist" "deploy-failed" "history lists the failed deploy"
ct_exec bluegreenctl history --json -n 3 "$BG_APP" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d) == 3 and d[0]["release"] == "slow3", d' ||
        fail "history --json -n 3"
ok "history --json -n 3 parses, newest first"
echo "66-ctl-deploy: all checks passed"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Deploy, switch and rollback times, in a booted systemd container with real nginx and the example
# FastAPI/gunicorn app. Each figure comes from the helpers' own timelines in the journal:
#   deploy overhead = deploy total - the new color's app start-up (from its main process's start to its
#                     first answer to the health check) - the old app's shutdown on that color (when it
#                     was still kept warm). It includes the health gate's declared margin: successes = 2
#                     answers interval_ms = 100 apart, so 100 ms of it are the declaration's own.
#   switch          = write the include, nginx -t, reload through systemd, new workers confirmed (the
#                     timeline's "include+nginx -t", "reload" and "new workers" steps)
#   warm rollback   = rollback total while the old color is still up
# Targets (issue 3): overhead < 300 ms, switch < 200 ms, warm rollback < 1 s.
#   bench/deploy.sh [BUILD-DIR]   (as root; default build dir: build; DEPLOYS=N, default 10)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
export BLUEGREEN_BUILD_DIR=${1:-$PWD/build}
. bench/build.sh
bench_build "$BLUEGREEN_BUILD_DIR"
deploys=${DEPLOYS:-10}
. tests/system/bluegreen.sh

bg_setup >/dev/null
bg_release r1
bg_release r2
ct_exec systemctl start "$BG_APP.service"
ct_exec systemctl reload nginx
bg_deploy r1

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "n/a" }'; }
maxof() { sort -n | tail -n 1; }

: >"$CT_DIR/deploys"
for i in $(seq "$deploys"); do
        rel=$([ $((i % 2)) -eq 1 ] && echo r2 || echo r1)
        since=$(ct_exec date '+%Y-%m-%d %H:%M:%S')
        bg_deploy "$rel"
        tl=$(ct_exec journalctl -u "$BG_APP-deploy@$rel.service" --since "$since" -o cat --no-pager |
                sed -n 's/.*Timeline: //p' | tail -n 1)
        # The app's start-up: from its main process's start (systemd's timestamp) to the health gate's
        # first successful probe (a journal field of the gate's), both on CLOCK_MONOTONIC.
        color=$(cat "$CT_ROOT$BG_STATE/active")
        main_start=$(ct_exec systemctl show -P ExecMainStartTimestampMonotonic "$BG_APP@$color.service")
        answer=$(ct_exec journalctl -u "$BG_APP@$color.service" --since "$since" -o json --no-pager |
                python3 -c 'import json,sys
v=[json.loads(l).get("BLUEGREEN_FIRST_ANSWER_MONOTONIC_USEC") for l in sys.stdin]
print([x for x in v if x][-1])')
        first=$(( (answer - main_start) / 1000 ))
        total=$(sed -n 's/.*total \([0-9]*\) ms.*/\1/p' <<<"$tl")
        switch=$(grep -oE '(include\+nginx -t|reload|new workers|redirect) [0-9]+ ms' <<<"$tl" | awk '{ s += $(NF - 1) } END { print s + 0 }')
        stop=$(sed -n 's/.*stop [a-z]* \([0-9]*\) ms.*/\1/p' <<<"$tl")
        drain=$(sed -n 's/.*drain [a-z]* \([0-9]*\) ms.*/\1/p' <<<"$tl")
        # The old app's shutdown on the target color: waiting for nginx's last requests to it, then its stop.
        stop=$(( ${stop:-0} + ${drain:-0} ))
        echo "$total $first $((total - first - stop)) $switch $stop" >>"$CT_DIR/deploys"
        printf 'deploy %2d (%s): %s\n' "$i" "$rel" "$tl"
done

: >"$CT_DIR/rollbacks"
for i in $(seq "$deploys"); do
        since=$(ct_exec date '+%Y-%m-%d %H:%M:%S')
        ct_exec systemctl start "$BG_APP-rollback.service"
        tl=$(ct_exec journalctl -u "$BG_APP-rollback.service" --since "$since" -o cat --no-pager |
                sed -n 's/.*Timeline: //p' | tail -n 1)
        sed -n 's/.*total \([0-9]*\) ms.*/\1/p' <<<"$tl" >>"$CT_DIR/rollbacks"
        printf 'rollback %2d: %s\n' "$i" "$tl"
done

col() { awk -v c="$1" '{ print $c }' "$CT_DIR/deploys"; }
echo
printf '%-44s %8s %8s\n' "over $deploys deploys and $deploys warm rollbacks" median max
printf '%-44s %5s ms %5s ms\n' "deploy total" "$(col 1 | median)" "$(col 1 | maxof)"
printf '%-44s %5s ms %5s ms\n' "  of which the app's start to first answer" "$(col 2 | median)" "$(col 2 | maxof)"
printf '%-44s %5s ms %5s ms\n' "  and the old app's shutdown on that color" "$(col 5 | median)" "$(col 5 | maxof)"
printf '%-44s %5s ms %5s ms   (target < 300 ms)\n' "deploy overhead (total - app start, stop)" "$(col 3 | median)" "$(col 3 | maxof)"
printf '%-44s %5s ms %5s ms   (target < 200 ms)\n' "nginx switch (write, -t, reload, confirmed)" "$(col 4 | median)" "$(col 4 | maxof)"
printf '%-44s %5s ms %5s ms   (target < 1000 ms)\n' "warm rollback" "$(median <"$CT_DIR/rollbacks")" \
        "$(maxof <"$CT_DIR/rollbacks")"

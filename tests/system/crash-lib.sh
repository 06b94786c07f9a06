# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What the crash tests share, on top of bluegreen.sh: killing a deploy or rollback at a named step (the
# programs' test-only crash points, set through the manager's environment, see bluegreen-deploy(8)) or
# cutting the power there, checking that the app is consistent afterwards, and measuring the next
# deploy under keep-alive load. One test per switch mode and kind, each a call of crash_kill_test or
# crash_power_cut_test: 34/35/46 (kill -9: reload, redirect, socket), 36/37/47 (power cut).
#
# Consistent, as issue 7 defines it and crash_assert_consistent checks it:
#   - no intent is left, and bluegreenctl status reports no problem (exit 0);
#   - the route (the include nginx loaded, the redirect rule or the live socket link) leads to the color
#     state names live,
#     that color runs, and nginx serves the release the test expects;
#   - the pins are those the test expects (the last completed deploy or rollback's);
#   - the other color is stopped, or running with its retire timer armed;
#   - history says what happened to the interrupted event.

. "$(dirname "${BASH_SOURCE[0]}")/bluegreen.sh"

CRASH_N=0
CRASH_BARE_PER_RELOAD=0

crash_setup() { # MODE: reload, redirect or socket
        CRASH_MODE=$1
        case $CRASH_MODE in
        redirect) BG_LIVE_PORT=9010 ;;
        socket) BG_SWITCH=socket ;;
        esac
        bg_setup
        bg_release r1
        bg_release r2
        ct_exec systemctl start "$BG_APP.service"
        ct_exec systemctl reload nginx
        crash_first_deploy started
        crash_first_deploy routed
        bg_deploy r1
        bg_deploy r2
}

# The first deploy killed: undone, it leaves nothing deployed, and the next one goes through.
crash_first_deploy() { # STEP
        local label="first deploy killed at $1"
        ct_exec systemctl set-environment "BLUEGREEN_TEST_CRASH_AT=bluegreen-deploy:$1"
        ct_exec systemctl start "$BG_APP-deploy@r1.service" 2>/dev/null && fail "$label: it succeeded"
        ct_exec systemctl unset-environment BLUEGREEN_TEST_CRASH_AT
        assert_eq signal "$(ct_exec systemctl show -P Result "$BG_APP-deploy@r1.service")" "$label: it died by the signal"
        ct_exec systemctl reload "$BG_APP.service"
        [ ! -e "$CT_ROOT$BG_STATE/intent" ] || fail "$label: the intent is still there"
        assert_eq none "$(crash_active)" "$label: nothing is live"
        assert_eq "none none" "$(crash_pin blue) $(crash_pin green)" "$label: nothing is pinned"
        case "$(bg_active "$BG_APP@blue.service")" in
        inactive | failed) ok "$label: blue is stopped" ;;
        *) fail "$label: blue is $(bg_active "$BG_APP@blue.service")" ;;
        esac
        ct_exec bluegreenctl status "$BG_APP" >/dev/null || fail "$label: bluegreenctl status reports a problem"
        ok "$label: bluegreenctl status reports nothing wrong"
        crash_history_says "$label" "deploy-interrupted"
}

crash_active() { cat "$CT_ROOT$BG_STATE/active" 2>/dev/null || echo none; }
crash_pin() { ct_exec sh -c "readlink $BG_STATE/$1 || echo none" | sed 's|.*/||'; }

# Records what the app looks like before a crash case.
crash_before() {
        B_ACTIVE=$(crash_active)
        B_OTHER=$([ "$B_ACTIVE" = blue ] && echo green || echo blue)
        B_LIVE=$(crash_pin "$B_ACTIVE")
        B_PREV=$(crash_pin "$B_OTHER")
}

crash_wrk_start() { # SECONDS FILE
        ct_exec wrk -t2 -c16 -d"$1"s --timeout 5s http://127.0.0.1:8080/v >"$2" 2>&1 &
        CRASH_WRK=$!
        sleep 0.3
}

crash_wrk_wait() { wait "$CRASH_WRK" || true; }

crash_wrk_failed() { # FILE -> failed requests (non-2xx and socket errors)
        awk '/Non-2xx or 3xx responses:/ { n += $NF }
             /Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 }
             / requests in / { req = $1 }
             END { if (req == 0) print "none"; else print n + 0 }' "$1"
}

crash_wrk_non2xx() { # FILE -> answers that were not 2xx (a 502 is nginx finding no app behind the route)
        awk '/Non-2xx or 3xx responses:/ { n += $NF } END { print n + 0 }' "$1"
}

# Redirect mode, r1 on blue and r2 on green live (crash_setup redirect): the rule leads to PORT, and at
# 9012 nginx serves r2 from the green color whose MainPID is still LIVE-PID; bluegreenctl status is
# content. 43 and 48.
crash_redirect_serving() { # LABEL PORT LIVE-PID
        local port=$2
        assert_contains "$(ct_exec nft list table "inet bluegreen-$BG_APP")" "tcp dport 9010 redirect to :$port" \
                "$1: the rule is there, leading to $port"
        if [ "$port" = 9012 ]; then
                assert_eq r2 "$(bg_live_release)" "$1: nginx serves r2"
                assert_eq "$3" "$(ct_exec systemctl show -P MainPID "$BG_APP@green.service")" "$1: the live color was not restarted"
        fi
        ct_exec bluegreenctl status "$BG_APP" >/dev/null || fail "$1: bluegreenctl status reports a problem"
}

# COMMAND EVENTS times under wrk, each of which must succeed, with the firewall UNIT's own start limit
# (5 in 10 s; not what the firewall tests test) reset after each; sets FAILED. 43 and 48.
crash_firewall_under_load() { # LABEL EVENTS UNIT COMMAND...
        local label=$1 events=$2 unit=$3 f=$CT_DIR/$1.txt
        shift 3
        crash_wrk_start $((events * 2 + 2)) "$f"
        for _ in $(seq "$events"); do
                ct_exec "$@" >/dev/null || fail "$label: $* failed"
                sleep 0.8
                ct_exec systemctl reset-failed "$unit"
        done
        crash_wrk_wait
        FAILED=$(crash_wrk_failed "$f")
        [ "$FAILED" != none ] || fail "$label: wrk sent no request"
        echo "RESULT case=$label failed=$FAILED events=$events non2xx=$(crash_wrk_non2xx "$f") $(grep -o '[0-9]* requests in [0-9.]*s' "$f")"
}

# How many requests bare "systemctl reload nginx" fails under the same load (reload mode's floor).
crash_measure_bare_reload() {
        local f=$CT_DIR/bare.txt failed
        crash_wrk_start 6 "$f"
        for _ in 1 2 3 4 5 6; do
                ct_exec systemctl reload nginx
                sleep 0.7
        done
        crash_wrk_wait
        failed=$(crash_wrk_failed "$f")
        [ "$failed" != none ] || fail "wrk sent no request during the bare reloads"
        CRASH_BARE=$failed
        echo "# bare nginx reload under wrk -t2 -c16: $failed failed over 6 reloads"
        echo "RESULT case=bare_reload failed=$failed reloads=6"
}

# A deploy of a fresh release under keep-alive load. Redirect and socket modes: 0 failed. Reload mode: what a
# bare nginx reload does, no more: on reload nginx's old workers close idle keep-alive connections,
# and a request racing that close fails with a read error, at most one per client connection (16
# here) per reload (a bare reload failed anywhere from 0 to 16 in our runs: the count is noisy, its
# kind and bound are not). So no request is answered other than 2xx (a 502 would be nginx routed to a
# stopped color), and read errors stay within 16 per nginx reload the deploy caused (a deploy that
# first undoes an interrupted switch reloads twice).
crash_deploy_under_load() { # LABEL
        local rel f=$CT_DIR/load.txt failed since reloads
        CRASH_N=$((CRASH_N + 1))
        rel=ok$CRASH_N
        bg_release "$rel"
        since=$(ct_exec date +%s.%N)
        crash_wrk_start 4 "$f"
        bg_deploy "$rel"
        crash_wrk_wait
        failed=$(crash_wrk_failed "$f")
        [ "$failed" != none ] || fail "$1: wrk sent no request during the deploy"
        if [ "$CRASH_MODE" != reload ]; then
                [ "$failed" -eq 0 ] || cat "$f" >&2
                assert_eq 0 "$failed" "$1: the next deploy under keep-alive load fails no request"
        else
                reloads=$(ct_exec journalctl -u nginx.service --since "@$since" -o cat --no-pager | grep -c '^Reloaded' || true)
                if [ "$(crash_wrk_non2xx "$f")" -ne 0 ] || [ "$failed" -gt $((reloads * 16)) ]; then
                        cat "$f" >&2
                        fail "$1: the next deploy failed $failed requests over $reloads nginx reloads"
                fi
                ok "$1: the next deploy under keep-alive load failed $failed requests (read errors) over $reloads nginx reloads (6 bare reloads: $CRASH_BARE)"
        fi
        CRASH_LAST_FAILED=$failed
}

# One line for the record: what the next run found and did (its MESSAGE_RECOVERED entry), and what the
# next deploy under load failed.
crash_report() { # LABEL
        local did
        did=$(ct_exec journalctl -b --no-pager -o cat -n 1 MESSAGE_ID=e0defe5eeb1a40db90fc7ca241ae3786 | tail -n 1)
        echo "RESULT case=\"$1\" settled=\"$did\" next_deploy_failed=${CRASH_LAST_FAILED:-?}"
}

crash_assert_consistent() { # LABEL WANT-ACTIVE WANT-BLUE-PIN WANT-GREEN-PIN WANT-SERVED
        local label=$1 active other status rc got
        [ ! -e "$CT_ROOT$BG_STATE/intent" ] || fail "$label: the intent is still there: $(cat "$CT_ROOT$BG_STATE/intent")"
        set +e
        status=$(ct_exec bluegreenctl status "$BG_APP" 2>&1)
        rc=$?
        set -e
        assert_eq 0 "$rc" "$label: bluegreenctl status reports nothing wrong ($(echo "$status" | grep PROBLEM || true))"
        active=$(crash_active)
        assert_eq "$2" "$active" "$label: state names $2 live"
        assert_eq "$3 $4" "$(crash_pin blue) $(crash_pin green)" "$label: the pins are blue=$3 green=$4"
        assert_eq active "$(bg_active "$BG_APP@$active.service")" "$label: the live color runs"
        assert_eq "$active" "$(bg_route)" "$label: the route leads to $active"
        assert_eq "$5" "$(bg_wait_live_release "$5")" "$label: nginx serves $5"
        other=$([ "$active" = blue ] && echo green || echo blue)
        case "$(bg_active "$BG_APP@$other.service")" in
        inactive | failed) ok "$label: the other color is stopped" ;;
        active) assert_eq active "$(bg_active "$BG_APP-retire@$other.timer")" "$label: the other color is warm with its retire timer armed" ;;
        *) fail "$label: the other color is $(bg_active "$BG_APP@$other.service")" ;;
        esac
}

# Runs PROGRAM (deploy of a fresh release, or rollback) with its crash point at STEP; checks that it
# died there and what bluegreenctl status says meanwhile.
crash_run_killed() { # PROGRAM STEP
        local unit rc status
        CRASH_N=$((CRASH_N + 1))
        if [ "$1" = deploy ]; then
                CRASH_REL=k$CRASH_N
                bg_release "$CRASH_REL"
                unit=$BG_APP-deploy@$CRASH_REL.service
        else
                unit=$BG_APP-rollback.service
        fi
        ct_exec systemctl set-environment "BLUEGREEN_TEST_CRASH_AT=bluegreen-$1:$2"
        ct_exec systemctl start "$unit" 2>/dev/null && fail "$1 killed at $2: it succeeded, so the step was never reached"
        ct_exec systemctl unset-environment BLUEGREEN_TEST_CRASH_AT
        assert_eq signal "$(ct_exec systemctl show -P Result "$unit")" "$1 killed at $2: it died by the signal"
        set +e
        status=$(ct_exec bluegreenctl status "$BG_APP" 2>&1)
        rc=$?
        set -e
        if [ -e "$CT_ROOT$BG_STATE/intent" ]; then
                assert_eq 5 "$rc" "$1 killed at $2: bluegreenctl status exits 5 until it is settled"
                assert_contains "$status" "PROBLEM: the $1" "$1 killed at $2: and says why in one line"
        fi
}

# The next bluegreen program settles it: SETTLER is reload (systemctl reload APP.service), rollback,
# deploy (of a fresh release) or retire (the old color's retire service).
crash_settle() { # SETTLER
        case $1 in
        reload) ct_exec systemctl reload "$BG_APP.service" ;;
        rollback) ct_exec systemctl start "$BG_APP-rollback.service" ;;
        retire) ct_exec systemctl start "$BG_APP-retire@$B_OTHER.service" || true ;;
        esac
}

crash_history_says() { # LABEL WORD
        assert_contains "$(ct_exec journalctl -b --no-pager -o cat MESSAGE_ID=e0defe5eeb1a40db90fc7ca241ae3786)$(cat "$CT_ROOT$BG_STATE/history")" \
                "$2" "$1: history and journal say the event was $2"
}

crash_committed() { # STEP: was the switch recorded when it died?
        case $1 in recorded | timer-armed | history) return 0 ;; esac
        return 1
}

# "blue green" pins with color C pinned to R and the other to S.
crash_pins() { # C R S
        [ "$1" = blue ] && echo "$2 $3" || echo "$3 $2"
}

# Kill a deploy at STEP, let SETTLER settle it, check, and deploy again under load.
crash_deploy_case() { # STEP SETTLER
        local step=$1 settler=$2 label="deploy killed at $1, settled by $2" want_active want_served pins
        crash_before
        crash_run_killed deploy "$step"
        if [ "$settler" = deploy ]; then
                crash_deploy_under_load "$label"
                if crash_committed "$step"; then
                        want_active=$B_ACTIVE pins=$(crash_pins "$B_ACTIVE" "ok$CRASH_N" "$CRASH_REL")
                else
                        want_active=$B_OTHER pins=$(crash_pins "$B_OTHER" "ok$CRASH_N" "$B_LIVE")
                fi
                crash_assert_consistent "$label" "$want_active" $pins "ok$CRASH_N"
        else
                crash_settle "$settler"
                if crash_committed "$step"; then
                        pins=$(crash_pins "$B_OTHER" "$CRASH_REL" "$B_LIVE")
                        if [ "$settler" = rollback ]; then
                                want_active=$B_ACTIVE want_served=$B_LIVE
                        else
                                want_active=$B_OTHER want_served=$CRASH_REL
                        fi
                else
                        # A rollback goes to the release before the interrupted one.
                        pins=$(crash_pins "$B_OTHER" "$B_PREV" "$B_LIVE")
                        if [ "$settler" = rollback ]; then
                                want_active=$B_OTHER want_served=$B_PREV
                        else
                                want_active=$B_ACTIVE want_served=$B_LIVE
                        fi
                fi
                crash_assert_consistent "$label" "$want_active" $pins "$want_served"
                crash_deploy_under_load "$label"
        fi
        if crash_committed "$step"; then
                crash_history_says "$label" "completed-after-interruption"
        else
                crash_history_says "$label" "deploy-interrupted"
        fi
        crash_report "$label"
}

# Kill a rollback at STEP, settle it, check, and deploy again under load.
crash_rollback_case() { # STEP SETTLER
        local step=$1 settler=$2 label="rollback killed at $1, settled by $2" want_active want_served pins
        crash_before
        crash_run_killed rollback "$step"
        crash_settle "$settler"
        pins=$(crash_pins blue "$(crash_pin blue)" "$(crash_pin green)")
        # It went through (committed, settled by anything but a rollback), or it was undone and the
        # settling rollback does it again.
        local went=0
        crash_committed "$step" && went=1
        [ "$settler" = rollback ] && went=$((1 - went))
        if [ "$went" = 1 ]; then
                want_active=$B_OTHER want_served=$B_PREV
        else
                want_active=$B_ACTIVE want_served=$B_LIVE
        fi
        crash_assert_consistent "$label" "$want_active" $pins "$want_served"
        if crash_committed "$step"; then
                crash_history_says "$label" "completed-after-interruption"
        else
                crash_history_says "$label" "rollback-interrupted"
        fi
        crash_deploy_under_load "$label"
        crash_report "$label"
}

# Every named step of a deploy and of a rollback, each settled by another of the programs that run
# next (systemctl reload APP.service, a rollback, the retire timer's service, the next deploy).
crash_all_steps() {
        local settlers=(reload rollback retire deploy) k=0 steps
        steps="stopped intent pinned started smoked routing"
        [ "$CRASH_MODE" = reload ] && steps+=" include-written"
        steps+=" routed recorded timer-armed history"
        for s in $steps; do
                crash_deploy_case "$s" "${settlers[k % 4]}"
                k=$((k + 1))
        done
        steps="intent routing"
        [ "$CRASH_MODE" = reload ] && steps+=" include-written"
        steps+=" routed recorded timer-armed history"
        for s in $steps; do
                crash_rollback_case "$s" "${settlers[k % 3]}"
                k=$((k + 1))
        done
        # Where the route had moved when it died, settled by systemctl reload APP.service: from
        # APP.service's own job, which nginx is ordered after, nginx must be reloaded all the same.
        crash_deploy_case routed reload
        crash_rollback_case routed reload
        if [ "$CRASH_MODE" = reload ]; then
                crash_deploy_case include-written reload
                crash_rollback_case include-written reload
        fi
}

# Starts the deploy UNIT with its pause point at STEP and waits until it has stopped itself there.
crash_start_paused() { # UNIT STEP LABEL
        ct_exec systemctl set-environment "BLUEGREEN_TEST_PAUSE_AT=bluegreen-deploy:$2"
        ct_exec systemctl start --no-block "$1"
        for _ in $(seq 300); do
                ct_exec ps -o stat= -C bluegreen-deploy 2>/dev/null | grep -q T && break
                sleep 0.1
        done
        ct_exec systemctl unset-environment BLUEGREEN_TEST_PAUSE_AT
        ct_exec ps -o stat= -C bluegreen-deploy | grep -q T || fail "$3: the deploy never reached $2"
        ok "$3: the deploy is stopped at $2"
}

# A power cut while a deploy is at STEP: the deploy stops itself there (its pause point), every
# process of the container is frozen and its init killed, and the container boots again on the same
# disk. bluegreen-boot settles the deploy before nginx starts; then a rollback goes to the release
# before the interrupted one, and the next deploy under load is checked as after a kill.
crash_power_cut_case() { # STEP
        local step=$1 label="power cut at deploy step $1" rel unit want_active want_served pins
        crash_before
        CRASH_N=$((CRASH_N + 1))
        rel=p$CRASH_N
        bg_release "$rel"
        unit=$BG_APP-deploy@$rel.service
        crash_start_paused "$unit" "$step" "$label"
        ct_power_cut_and_boot_again
        for _ in $(seq 100); do
                [ "$(bg_active "$BG_APP.service")" = active ] && break
                sleep 0.1
        done
        if crash_committed "$step"; then
                want_active=$B_OTHER want_served=$rel pins=$(crash_pins "$B_OTHER" "$rel" "$B_LIVE")
        else
                want_active=$B_ACTIVE want_served=$B_LIVE pins=$(crash_pins "$B_OTHER" "$B_PREV" "$B_LIVE")
        fi
        for _ in $(seq 100); do
                [ "$(bg_active "$BG_APP@$want_active.service")" = active ] && break
                sleep 0.1
        done
        crash_assert_consistent "$label, after boot" "$want_active" $pins "$want_served"
        if crash_committed "$step"; then
                crash_history_says "$label" "completed-after-interruption"
        else
                crash_history_says "$label" "deploy-interrupted"
        fi
        ct_exec systemctl start "$BG_APP-rollback.service" || fail "$label: the rollback after boot failed"
        if crash_committed "$step"; then
                assert_eq "$B_LIVE" "$(bg_wait_live_release "$B_LIVE")" "$label: a rollback goes back to $B_LIVE"
        else
                assert_eq "$B_PREV" "$(bg_wait_live_release "$B_PREV")" "$label: a rollback goes to the release before, $B_PREV"
        fi
        crash_deploy_under_load "$label"
        crash_report "$label"
}

# The kill -9 test of a switch mode: every named step of a deploy and of a rollback, settled by each
# program in turn; in reload mode against what bare nginx reloads fail under the same load.
crash_kill_test() { # MODE
        crash_setup "$1"
        [ "$1" = reload ] && crash_measure_bare_reload
        crash_all_steps
}

# The power-cut test of a switch mode: cut at four steps of a deploy, one on each side of every change
# (pin, start, route, record). Where the route changes: the include written in reload mode, the rule or
# link replaced in the others.
crash_power_cut_test() { # MODE
        local steps="pinned started routed recorded"
        crash_setup "$1"
        if [ "$1" = reload ]; then
                crash_measure_bare_reload
                steps="pinned started include-written recorded"
        fi
        for step in $steps; do
                crash_power_cut_case "$step"
        done
}

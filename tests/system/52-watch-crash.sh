#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The automatic rollback is the same crash-safe transaction as a manual one: killed (kill -9, its
# test-only crash points) at a step before its commit, at the route, and after its commit, it leaves
# an intent that the next bluegreen program settles (systemctl reload APP.service, the retire timer's
# service), after which the app is consistent as crash-lib.sh defines it: no half-done switch. Until
# then bluegreenctl status says so; afterwards it shows how the auto-rollback ended.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/watch-lib.sh"

BG_EXTRA_DECL='watch = { duration_s = 60; };'
watch_use_mode reload
watch_setup
bg_release r2
bg_deploy r2

watch_crash_case() { # STEP SETTLER
        local step=$1 settler=$2 label="auto-rollback killed at $1, settled by $2" rel w rc status want_active want_served
        crash_before
        CRASH_N=$((CRASH_N + 1))
        rel=s$CRASH_N
        bg_release "$rel" sour:5
        w=$BG_APP-watch@$rel.service
        ct_exec systemctl set-environment "BLUEGREEN_TEST_CRASH_AT=bluegreen-rollback:$step"
        bg_deploy "$rel"
        watch_wait_ended "$w" 20 >/dev/null
        ct_exec systemctl unset-environment BLUEGREEN_TEST_CRASH_AT
        assert_eq signal "$(ct_exec systemctl show -P Result "$w")" "$label: the auto-rollback died by the signal"
        # Killed at any of its steps, it leaves its intent for the next program to settle.
        if [ -e "$CT_ROOT$BG_STATE/intent" ]; then
                rc=0
                status=$(ct_exec bluegreenctl status "$BG_APP" 2>&1) || rc=$?
                assert_eq 5 "$rc" "$label: bluegreenctl status exits 5 until it is settled"
                assert_contains "$status" "PROBLEM: the rollback" "$label: and says why"
        fi
        # What was live before this case ($B_ACTIVE, $B_LIVE) is what the auto-rollback goes back to.
        crash_settle "$settler"
        if crash_committed "$step"; then
                want_active=$B_ACTIVE want_served=$B_LIVE
        else
                want_active=$B_OTHER want_served=$rel
        fi
        # shellcheck disable=SC2046 # two words: the blue pin and the green pin
        crash_assert_consistent "$label" "$want_active" $(crash_pins "$B_OTHER" "$rel" "$B_LIVE") "$want_served"
        if crash_committed "$step"; then
                crash_history_says "$label" "completed-after-interruption"
        else
                crash_history_says "$label" "rollback-interrupted"
                assert_contains "$(ct_exec bluegreenctl status "$BG_APP")" "INTERRUPTED" \
                        "$label: bluegreenctl status says the auto-rollback was interrupted"
        fi
        crash_report "$label"
        # The next case starts from a good release live, with a good one warm.
        CRASH_N=$((CRASH_N + 1))
        bg_release "g$CRASH_N"
        bg_deploy "g$CRASH_N"
}

watch_crash_case intent reload
watch_crash_case routed retire
watch_crash_case recorded reload
echo "52-watch-crash: all checks passed"

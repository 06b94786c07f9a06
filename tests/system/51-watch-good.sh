#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the watch leaves alone: a good release is watched for watch.duration_s and the watch ends
# ("release good", exit 0) with the release still live; the first deploy is not watched (nothing to go
# back to); a retirement during a watch is deferred and its timer armed again; a deploy and a rollback
# during the window end the watch cleanly, and one that fails watches the live release again; stopping
# the app ends the watch and rolls nothing back; with watch.duration_s = 0 there is no watch unit at all.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/watch-lib.sh"

DURATION_S=4
BG_EXTRA_DECL="watch = { duration_s = $DURATION_S; };"
watch_use_mode reload
watch_setup
for r in r2 r3 r4 r5 r6; do bg_release "$r"; done

watch_units() { ct_exec systemctl list-units --all --plain --no-legend "$BG_APP-watch@*" | awk '{ print $1 }'; }

assert_eq "" "$(watch_units)" "the first deploy is not watched: there is nothing to go back to"

# A good release is left alone and its watch ends.
bg_deploy r2
w=$BG_APP-watch@r2.service
assert_eq active "$(watch_wait_started "$w")" "the deploy of r2 started $w"
assert_contains "$(ct_exec systemctl list-units --no-pager "$BG_APP-watch@*")" "$w" "the watch shows in systemctl list-units"
status=$(ct_exec bluegreenctl status "$BG_APP")
assert_contains "$status" "watch: r2, " "bluegreenctl status shows the watch and its time left"
python3 -c 'import json, sys; w = json.loads(sys.argv[1])[0]["watch"]; assert w["release"] == "r2" and 0 <= w["left_s"] <= int(sys.argv[2]), w' \
        "$(ct_exec bluegreenctl --json status "$BG_APP")" "$DURATION_S" || fail "bluegreenctl --json has no watch of r2"
ok "bluegreenctl --json shows the watch"
assert_eq inactive "$(watch_wait_ended "$w" $((DURATION_S + 5)))" "the watch ends with its window"
assert_eq "success 0" "$(ct_exec systemctl show -P Result "$w") $(ct_exec systemctl show -P ExecMainStatus "$w")" "and exits with 0"
assert_contains "$(ct_exec journalctl -o cat --no-pager "MESSAGE_ID=$WATCH_MSG_ENDED" BLUEGREEN_RELEASE=r2)" \
        "Watch of r2 ended, release good" "the journal says the release stayed good"
assert_eq r2 "$(bg_live_release)" "r2 is still live"
assert_eq active "$(bg_active "$BG_APP@blue.service")" "the old color is still warm"
[[ "$(cat "$CT_ROOT$BG_STATE/history")" != *auto-rollback* ]] || fail "history has an auto-rollback"
ok "nothing was rolled back"
python3 -c 'import json, sys; assert json.loads(sys.argv[1])[0]["watch"] is None' "$(ct_exec bluegreenctl --json status "$BG_APP")" ||
        fail "bluegreenctl --json still shows a watch"
ok "bluegreenctl --json shows no watch after it ended"

# While a watch runs, the old color is not retired: the watch would have nothing to go back to.
ct_exec systemctl start "$w"
ct_exec systemctl start "$BG_APP-retire@blue.service"
assert_eq active "$(bg_active "$BG_APP@blue.service")" "a retirement during a watch leaves the old color running"
assert_eq active "$(bg_active "$BG_APP-retire@blue.timer")" "and arms its timer again"
assert_contains "$(ct_exec journalctl -u "$BG_APP-retire@blue.service" -o cat --no-pager)" "Not retiring the blue color" \
        "the retirement says why it waits"
watch_wait_ended "$w" $((DURATION_S + 5)) >/dev/null

# A deploy during the window ends the watch cleanly, and watches its own release.
bg_deploy r3
w3=$BG_APP-watch@r3.service
watch_wait_started "$w3" >/dev/null
bg_deploy r4
assert_eq "inactive success" "$(bg_active "$w3") $(ct_exec systemctl show -P Result "$w3")" "a deploy during the window ends the watch cleanly"
assert_contains "$(ct_exec journalctl -u "$BG_APP-deploy@r4.service" -o cat --no-pager)" "Ended the watch of r3" \
        "the deploy says it ended the watch"
assert_contains "$(ct_exec journalctl -u "$w3" -o cat --no-pager)" "Watch of r3 stopped" "the watch says it was stopped"
assert_eq active "$(watch_wait_started "$BG_APP-watch@r4.service")" "the new release is watched"

# A deploy that fails and undoes itself watches the live release again.
bg_release broken crash
bg_deploy_fails broken 3
assert_contains "$BG_FAIL_LOG" "Ended the watch of r4" "the failing deploy ended the watch first"
assert_contains "$BG_FAIL_LOG" "Watching r4 again" "and, once undone, watches r4 again"
assert_eq active "$(watch_wait_started "$BG_APP-watch@r4.service")" "r4 is watched again"

# So does a rollback; it starts no watch itself.
ct_exec systemctl start "$BG_APP-rollback.service"
assert_eq inactive "$(bg_active "$BG_APP-watch@r4.service")" "a rollback during the window ends the watch"
assert_eq r3 "$(bg_live_release)" "the rollback went back to r3"
assert_eq "" "$(watch_units | grep -v 'r[234]' || true)" "the rollback started no watch"
[[ "$(cat "$CT_ROOT$BG_STATE/history")" != *auto-rollback* ]] || fail "history has an auto-rollback"
ok "no watch rolled anything back"

# Stopping the app stops its colors with it: that is no release going bad, and nothing is rolled back.
bg_deploy r5
w5=$BG_APP-watch@r5.service
watch_wait_started "$w5" >/dev/null
ct_exec systemctl stop "$BG_APP.service"
assert_eq inactive "$(watch_wait_ended "$w5" 10)" "systemctl stop APP.service during the window ends the watch"
assert_contains "$(ct_exec journalctl -u "$w5" -o cat --no-pager)" "nothing is rolled back" "the watch says why"
[[ "$(cat "$CT_ROOT$BG_STATE/history")" != *auto-rollback* ]] || fail "stopping the app rolled it back"
assert_eq "inactive inactive" "$(watch_wait_ended "$BG_APP@blue.service" 15) $(watch_wait_ended "$BG_APP@green.service" 15)" \
        "both colors stop, and stay stopped"
ct_exec systemctl start "$BG_APP.service"
assert_eq r5 "$(bg_wait_live_release r5)" "started again, the app serves r5"

# watch.duration_s = 0: no watch unit, nothing watched.
BG_EXTRA_DECL='watch = { duration_s = 0; };' bg_declare
ct_exec systemctl daemon-reload
assert_eq not-found "$(ct_exec systemctl show -P LoadState "$BG_APP-watch@r6.service")" "with duration_s = 0 there is no watch unit"
bg_deploy r6
assert_eq r6 "$(bg_live_release)" "the deploy of r6 went through"
[[ "$(ct_exec journalctl -u "$BG_APP-deploy@r6.service" -o cat --no-pager)" != *Watching* ]] || fail "the deploy of r6 started a watch"
assert_eq "" "$(watch_units | grep r6 || true)" "nothing watches r6"
echo "51-watch-good: all checks passed"

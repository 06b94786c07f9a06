#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job, through real nginx: the first deploy goes to blue, the second flips traffic to green
# with blue kept warm, a rollback switches back at once, and after blue is retired a rollback starts
# it again (health gated) before switching.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

BG_DRAIN_S=600 bg_setup
bg_release r1
bg_release r2

# Before any deploy the app unit writes an include nginx accepts (pointing at the blue port), so
# nginx -t passes for a newcomer who has not deployed yet.
ct_exec systemctl start "$BG_APP.service"
ct_exec nginx -t -q || fail "nginx -t fails before the first deploy"
ok "the include exists and nginx accepts it before the first deploy"
ct_exec systemctl reload nginx

bg_deploy r1
assert_eq r1 "$(bg_live_release)" "first deploy: nginx serves r1"
assert_eq blue "$(cat "$CT_ROOT$BG_STATE/active")" "first deploy goes to blue"
assert_contains "$(bg_include)" "server 127.0.0.1:9011;" "the include points at blue"

bg_deploy r2
assert_eq r2 "$(bg_live_release)" "second deploy flips traffic to r2"
assert_eq green "$(cat "$CT_ROOT$BG_STATE/active")" "second deploy goes to green"
assert_eq active "$(bg_active "$BG_APP@blue.service")" "the old color stays warm"
assert_eq active "$(bg_active "$BG_APP-retire@blue.timer")" "the old color's retire timer is armed"
assert_contains "$(ct_exec systemctl list-timers --all --no-pager)" "$BG_APP-retire@blue.timer" \
        "the retirement shows in systemctl list-timers"
journal=$(ct_exec journalctl -u "$BG_APP-deploy@r2.service" --no-pager -o cat)
assert_contains "$journal" "Timeline: check" "the deploy logs its timeline"
fields=$(ct_exec journalctl MESSAGE_ID=0d99ee444a514695a2d80fc57bd35f3a BLUEGREEN_RELEASE=r2 -o verbose --no-pager)
assert_contains "$fields" "BLUEGREEN_APP=$BG_APP" "deploy success is a structured journal entry"
assert_contains "$fields" "BLUEGREEN_COLOR=green" "with the color"

# Rollback to the warm color.
start=$(date +%s%N)
ct_exec systemctl start "$BG_APP-rollback.service" || fail "rollback failed"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq r1 "$(bg_live_release)" "rollback to the warm color: nginx serves r1 again"
assert_eq blue "$(cat "$CT_ROOT$BG_STATE/active")" "state says blue is live"
assert_eq inactive "$(bg_active "$BG_APP-retire@blue.timer")" "the live color has no retire timer"
assert_eq active "$(bg_active "$BG_APP-retire@green.timer")" "the color rolled away from will be retired"
echo "# warm rollback took $ms ms (systemctl start, wall clock)"

# Retire green now (as its timer would), then roll back to it: it is started again first.
ct_exec systemctl start "$BG_APP-retire@green.service"
assert_eq inactive "$(bg_active "$BG_APP@green.service")" "the retire service stops the old color"
ct_exec systemctl start "$BG_APP-retire@blue.service"
assert_eq active "$(bg_active "$BG_APP@blue.service")" "the retire service never stops the live color"
ct_exec systemctl start "$BG_APP-rollback.service" || fail "rollback after retirement failed"
assert_eq r2 "$(bg_live_release)" "rollback after retirement: green restarted and serves r2"
assert_eq active "$(bg_active "$BG_APP@green.service")" "green runs again"

history=$(cat "$CT_ROOT$BG_STATE/history")
assert_contains "$history" "deploy r2 green" "history records deploys"
assert_contains "$history" "rollback r1 blue" "history records rollbacks"
assert_contains "$history" "retire r2 green" "history records retirements"

# status
status=$(ct_exec bluegreenctl status "$BG_APP")
assert_contains "$status" "live green, release r2" "bluegreenctl status names the live color and release"
json=$(ct_exec bluegreenctl --json status)
assert_contains "$json" '"live":"green"' "bluegreenctl --json"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d[0]["colors"]["blue"]["release"]=="r1"' "$json" ||
        fail "bluegreenctl --json is not valid JSON or lacks the blue release"
ok "bluegreenctl --json parses"
ct_exec systemctl stop "$BG_APP@green.service"
set +e
ct_exec bluegreenctl status "$BG_APP" >/dev/null
rc=$?
set -e
assert_eq 3 "$rc" "bluegreenctl status exits 3 when the live color is not running"
echo "20-deploy-rollback: all checks passed"

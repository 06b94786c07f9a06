#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Failover after the watch: the live color's release directory is deleted and its unit killed, so that
# it fails for good (start limit hit); its OnFailure= unit sends traffic to the other color, still warm,
# and the journal and history say why. Then the same with no warm color left: nothing can take over,
# and bluegreenctl status says what to run.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/watch-lib.sh"

BG_EXTRA_DECL='watch = { duration_s = 2; };'
watch_use_mode reload
watch_setup
bg_release r2
bg_deploy r2
assert_eq inactive "$(watch_wait_ended "$BG_APP-watch@r2.service" 10)" "the watch of r2 ended: what follows is after the window"

# Live green (r2) fails for good; blue (r1) is warm.
rm -rf "$CT_ROOT$BG_RELEASES/r2"
start=$(date +%s%N)
ct_exec systemctl kill --kill-who=main --signal=SIGKILL "$BG_APP@green.service"
assert_eq r1 "$(bg_wait_live_release r1)" "after green failed for good, nginx serves r1"
ms=$((($(date +%s%N) - start) / 1000000))
echo "# kill of the live color to traffic on the warm one: $ms ms (3 restarts 1 s apart, then the failover)"
echo "RESULT case=failover kill_to_traffic_back_ms=$ms"
assert_eq failed "$(bg_active "$BG_APP@green.service")" "green failed for good"
assert_contains "$(ct_exec journalctl -u "$BG_APP@green.service" -o cat --no-pager)" "Start request repeated too quickly" \
        "its start limit was hit"
assert_eq blue "$(crash_active)" "the state names blue live"
assert_contains "$(cat "$CT_ROOT$BG_STATE/history")" "failover r1 blue from=r2 reason=the live green color (r2) failed for good (exit-code)" \
        "history records the failover and why"
assert_contains "$(ct_exec journalctl -o cat --no-pager "MESSAGE_ID=$WATCH_MSG_FAILOVER")" \
        "failing over to the blue color (r1), which is warm" "the journal says why, with its own MESSAGE_ID"
assert_contains "$(ct_exec bluegreenctl status "$BG_APP")" "last failover:" "bluegreenctl status shows the last failover"

assert_contains "$(ct_exec journalctl -u "$BG_APP-failover@green.service" -o cat --no-pager)" "Rolled $BG_APP back to r1" \
        "the failover ran as APP-failover@green.service, which OnFailure= started"

# A failed color that is not live is left alone.
ct_exec systemctl start "$BG_APP-failover@green.service" || fail "a failover of a color that is not live failed"
assert_contains "$(ct_exec journalctl -u "$BG_APP-failover@green.service" -o cat --no-pager)" "it is not the live color: nothing to fail over" \
        "a failover of a color that is not live does nothing, and says so"
assert_eq r1 "$(bg_live_release)" "nginx still serves r1"

# Live blue (r1) fails for good too: green is not warm, nothing takes over.
rm -rf "$CT_ROOT$BG_RELEASES/r1"
ct_exec systemctl kill --kill-who=main --signal=SIGKILL "$BG_APP@blue.service"
for _ in $(seq 100); do
        [ "$(bg_active "$BG_APP-failover@blue.service")" = failed ] && break
        sleep 0.1
done
assert_eq 6 "$(ct_exec systemctl show -P ExecMainStatus "$BG_APP-failover@blue.service")" "with no warm color the failover exits 6"
assert_contains "$(ct_exec journalctl -o cat --no-pager "MESSAGE_ID=$WATCH_MSG_LIVE_FAILED")" "nothing to fail over to" \
        "the journal says there is nothing to fail over to"
assert_eq blue "$(crash_active)" "the state still names blue"
set +e
status=$(ct_exec bluegreenctl status "$BG_APP")
rc=$?
set -e
echo "$status" | sed 's/^/# /'
assert_eq 3 "$rc" "bluegreenctl status exits 3: the live color is not running"
assert_contains "$status" "FAILED: the live color blue failed for good (exit-code), no warm color: run systemctl start $BG_APP-deploy@RELEASE" \
        "bluegreenctl status says what to run"
assert_contains "$status" "systemctl restart $BG_APP@blue.service" "including a restart of the failed color"
python3 -c 'import json, sys; f = json.loads(sys.argv[1])[0]["live_failed"]; assert f["result"] == "exit-code" and f["warm_color"] is None and "deploy@RELEASE" in f["hint"], f' \
        "$(ct_exec bluegreenctl --json status "$BG_APP")" || fail "bluegreenctl --json lacks live_failed"
ok "bluegreenctl --json says so too"

# Doing what it says puts the app right.
bg_release r3
bg_deploy r3
assert_eq r3 "$(bg_live_release)" "a deploy of a new release serves again"
ct_exec bluegreenctl status "$BG_APP" >/dev/null || fail "bluegreenctl status still reports a problem"
ok "and bluegreenctl status is content"
echo "53-failover: all checks passed"

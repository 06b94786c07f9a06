#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Metrics of the redirect switch and of an automatic rollback (bluegreen-metrics(8)): the watch rolls a
# release back that turns bad after its deploy, and bluegreen_rollbacks_total{kind="auto"} counts it
# (the watch of a release that stays good counts nothing); bluegreen_switch_rule_present says whether
# the app's nftables rule redirects to the live color, and turns 0 when the rule is gone. Also: the
# units of an app declared with metrics.directory = "" run no bluegreen-metrics at all.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/metrics-lib.sh"

BG_LIVE_PORT=9010
BG_EXTRA_DECL='watch = { duration_s = 30; failures = 3; interval_ms = 100; };'
bg_setup
bg_release r1
bg_release sour sour:4
ct_exec systemctl start "$BG_APP.service"
ct_exec systemctl reload nginx
bg_deploy r1

bg_deploy sour
watch=$BG_APP-watch@sour.service
for _ in $(seq 150); do
        case $(bg_active "$watch") in active | activating | deactivating) sleep 0.1 ;; *) break ;; esac
done
assert_eq r1 "$(bg_wait_live_release r1)" "the watch rolled the sour release back: nginx serves r1"
assert_contains "$(cat "$CT_ROOT$BG_STATE/history")" "auto-rollback r1 blue from=sour" "history records the auto-rollback"
s=$(bg_scrape)
bg_assert_counts "$s" 2 0 0 1 0 "after the automatic rollback"
bg_assert_live "$s" blue r1 sour "after the automatic rollback"

# The rule gone (as after a flush of the ruleset), the next write says so: a retire timer that finds
# its color live changes nothing but writes the file.
ct_exec nft delete table inet "bluegreen-$BG_APP"
ct_exec systemctl start "$BG_APP-retire@blue.service"
s=$(bg_scrape)
bg_assert_sample "$s" bluegreen_switch_rule_present "" 0.0 "without the redirect rule, bluegreen_switch_rule_present is 0"
bg_assert_counts "$s" 2 0 0 1 0 "a retire timer that retired nothing"
ct_exec systemctl reload "$BG_APP.service"
ct_exec systemctl start "$BG_APP-retire@blue.service"
bg_assert_sample "$(bg_scrape)" bluegreen_switch_rule_present "" 1.0 "systemctl reload puts the rule back, and the metrics say so"

# metrics.directory = "": no unit runs bluegreen-metrics.
sed -i '$a metrics = { directory = ""; };' "$CT_ROOT/etc/bluegreen/$BG_APP.conf"
ct_exec systemctl daemon-reload
units=$(ct_exec systemctl cat "$BG_APP.service" "$BG_APP-deploy@x.service" "$BG_APP-rollback.service" \
        "$BG_APP-retire@blue.service" "$BG_APP-watch@x.service" "$BG_APP-failover@blue.service")
case $units in *bluegreen-metrics*) fail "with metrics.directory = \"\" a unit still runs bluegreen-metrics" ;; esac
ok "with metrics.directory = \"\" no unit runs bluegreen-metrics"
echo "57-metrics-auto: all checks passed"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Metrics for node_exporter's textfile collector (bluegreen-metrics(8)): after the boot, two deploys, a
# deploy that fails, a rollback, a retirement and a reboot, /var/lib/prometheus/node-exporter/
# bluegreen-saltbox-api.prom is read by a real parser (python3-prometheus-client's) and holds the
# counts and the state: counters kept across the reboot, the boot's own write after it.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/metrics-lib.sh"

t0=$(date +%s.%N)
BG_DRAIN_S=600 bg_setup
bg_release r1
bg_release r2
bg_release broken crash

# The boot (APP.service's ExecStartPost=) writes the file before anything was deployed.
ct_exec systemctl start "$BG_APP.service"
s=$(bg_scrape)
assert_contains "$s" "TYPE bluegreen_deploys counter" "bluegreen_deploys_total is a counter (HELP and TYPE lines parse)"
assert_contains "$s" "TYPE bluegreen_live_color gauge" "bluegreen_live_color is a gauge"
bg_assert_counts "$s" 0 0 0 0 0 "after the boot"
bg_assert_sample "$s" bluegreen_live_color color=blue 0.0 "after the boot: no color is live yet"
bg_assert_sample "$s" bluegreen_deploy_last_success_timestamp_seconds "" absent "after the boot: no last success yet"
assert_eq "644 root" "$(stat -c '%a %U' "$CT_ROOT$PROM")" "the file is 0644, root's"

bg_deploy r1
s=$(bg_scrape)
bg_assert_counts "$s" 1 0 0 0 0 "after deploying r1"
bg_assert_live "$s" blue r1 "" "after deploying r1"

bg_deploy r2
t1=$(date +%s.%N)
# What ExecStopPost= adds to a deploy, at most: from the deploy's last journal line to the unit's end
# (the unit is unloaded once inactive, so its own timestamps are gone by now).
post_us=$(ct_exec journalctl -u "$BG_APP-deploy@r2.service" -o json --no-pager | /usr/bin/python3 -c '
import json, sys
e = [json.loads(l) for l in sys.stdin if l.strip()]
t = lambda x: int(x["__MONOTONIC_TIMESTAMP"])
last = max(t(x) for x in e if x.get("SYSLOG_IDENTIFIER") == "bluegreen-deploy")
print(min(t(x) for x in e if "Deactivated successfully" in str(x.get("MESSAGE")) and t(x) >= last) - last)')
echo "# bluegreen-metrics as ExecStopPost= of the deploy of r2: at most $post_us us from its last line to the unit's end"
[ "$post_us" -lt 1000000 ] || fail "bluegreen-metrics held the deploy up for $post_us us"
s=$(bg_scrape)
bg_assert_counts "$s" 2 0 0 0 0 "after deploying r2"
bg_assert_live "$s" green r1 r2 "after deploying r2"
last_ok=$(bg_sample "$s" bluegreen_deploy_last_success_timestamp_seconds "")
bg_assert_between "$last_ok" "$t0" "$t1" "the last success is the deploy of r2, within the test's time"
bg_assert_between "$(bg_sample "$s" bluegreen_deploy_last_duration_seconds "")" 0.001 120 \
        "bluegreen_deploy_last_duration_seconds is the deploy's time"

bg_deploy_fails broken 3
s=$(bg_scrape)
bg_assert_counts "$s" 2 1 0 0 0 "after the failed deploy"
bg_assert_live "$s" green r1 r2 "after the failed deploy"
bg_assert_sample "$s" bluegreen_deploy_last_success_timestamp_seconds "" "$last_ok" \
        "a failed deploy leaves the last success time alone"
bg_assert_between "$(bg_sample "$s" bluegreen_deploy_last_duration_seconds "")" 0.001 120 \
        "the failed deploy's duration is recorded"

ct_exec systemctl start "$BG_APP-rollback.service" || fail "rollback failed"
s=$(bg_scrape)
bg_assert_counts "$s" 2 1 1 0 0 "after the rollback"
bg_assert_live "$s" blue r1 r2 "after the rollback"

# A retire timer that finds its color live counts nothing; one that stops its color counts one.
ct_exec systemctl start "$BG_APP-retire@blue.service"
ct_exec systemctl start "$BG_APP-retire@green.service"
s=$(bg_scrape)
bg_assert_counts "$s" 2 1 1 0 1 "after retiring green (and not blue, which is live)"
assert_eq inactive "$(bg_active "$BG_APP@green.service")" "green was retired"
counters=$(cat "$CT_ROOT$BG_STATE/metrics")
assert_contains "$counters" "deploys_failure 1" "the counters are kept in $BG_STATE/metrics"

# Gone before the reboot, so that only this boot can have written it again.
rm "$CT_ROOT$PROM"
ct_poweroff_and_boot_again
assert_eq active "$(bg_active "$BG_APP.service")" "the app unit ran at boot"
[ -f "$CT_ROOT$PROM" ] || fail "the boot did not write $PROM"
booted=$(date -d "$(ct_exec systemctl show -P UserspaceTimestamp)" +%s)
mtime=$(stat -c %Y "$CT_ROOT$PROM")
[ "$mtime" -ge "$booted" ] || fail "$PROM is older ($mtime) than this boot ($booted)"
ok "the boot wrote the file"
s=$(bg_scrape)
bg_assert_counts "$s" 2 1 1 0 1 "after the reboot"
bg_assert_live "$s" blue r1 r2 "after the reboot"
bg_assert_sample "$s" bluegreen_deploy_last_success_timestamp_seconds "" "$last_ok" \
        "after the reboot: the last success time is kept"
assert_eq "$counters" "$(cat "$CT_ROOT$BG_STATE/metrics")" "the reboot changed no counter"
echo "56-metrics: all checks passed"

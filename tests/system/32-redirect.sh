#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# nginx.switch = "redirect": nginx points once at the stable port, a deploy or rollback moves the
# app's nftables redirect without reloading nginx, other tables are left alone, bluegreenctl shows the
# rule, and after a reboot the rule is back before nginx starts.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

BG_LIVE_PORT=9010 bg_setup
bg_release r1
bg_release r2
table="inet bluegreen-$BG_APP"

# Someone else's table, which must come out of every switch as it went in.
ct_exec nft 'add table inet other; add chain inet other out { type filter hook output priority 0; }; add rule inet other out tcp dport 9999 counter'
other_before=$(ct_exec nft list table inet other)

ct_exec systemctl start "$BG_APP.service"
assert_contains "$(bg_include)" "server 127.0.0.1:9010;" "the include points at the stable port"
assert_contains "$(bg_include)" "keepalive_time 1s;" "pooled connections are recycled after keepalive_time"
ct_exec systemctl reload nginx

reloads() { ct_exec journalctl -u nginx --no-pager -o cat | grep -c '^Reloaded' || true; }
before=$(reloads)
bg_deploy r1
assert_eq r1 "$(bg_live_release)" "first deploy in redirect mode: nginx serves r1"
assert_contains "$(ct_exec nft list table $table)" "tcp dport 9010 redirect to :9011" "the rule points at blue"
bg_deploy r2
assert_eq r2 "$(bg_wait_live_release r2)" "second deploy: nginx serves r2 through the moved redirect"
assert_contains "$(ct_exec nft list table $table)" "tcp dport 9010 redirect to :9012" "the rule points at green"
assert_eq "$before" "$(reloads)" "no deploy reloaded nginx"
assert_contains "$(ct_exec journalctl -u "$BG_APP-deploy@r2.service" -o cat --no-pager)" "redirect " \
        "the timeline names the redirect step"

ct_exec systemctl start "$BG_APP-rollback.service"
assert_eq r1 "$(bg_wait_live_release r1)" "rollback moves the redirect back to blue"
status=$(ct_exec bluegreenctl status "$BG_APP")
assert_contains "$status" "switch: redirect, port 9010 -> 9011 (blue)" "bluegreenctl status shows the redirect"
assert_contains "$(ct_exec bluegreenctl --json status)" '"redirect_to":9011' "and so does --json"
assert_eq "$other_before" "$(ct_exec nft list table inet other)" "another table is left alone"
assert_eq 1 "$(ct_exec nft list tables | grep -c "bluegreen-$BG_APP")" "the app has exactly one table of its own"

# A lost rule (nft flush ruleset, a restart of nftables.service) is put back without restarting anything.
main_before=$(ct_exec systemctl show -P MainPID "$BG_APP@blue.service")
ct_exec nft delete table $table
assert_contains "$(ct_exec bluegreenctl status "$BG_APP")" "NO RULE" "bluegreenctl status shows a lost rule"
ct_exec systemctl reload "$BG_APP.service"
assert_contains "$(ct_exec nft list table $table)" "tcp dport 9010 redirect to :9011" \
        "systemctl reload $BG_APP.service puts the rule back"
assert_eq "$main_before" "$(ct_exec systemctl show -P MainPID "$BG_APP@blue.service")" "without restarting the live color"
assert_eq r1 "$(bg_live_release)" "and nginx serves r1 again"

ct_poweroff_and_boot_again
assert_contains "$(ct_exec nft list table $table)" "tcp dport 9010 redirect to :9011" \
        "after a reboot the rule is back, pointing at the live color"
for _ in $(seq 100); do
        [ "$(bg_active "$BG_APP@blue.service")" = active ] && break
        sleep 0.1
done
assert_eq r1 "$(bg_live_release)" "after the reboot nginx serves r1 through the redirect"
echo "32-redirect: all checks passed"

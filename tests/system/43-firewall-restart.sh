#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The redirect switch survives the firewall. Debian's nftables.service flushes the whole ruleset on
# restart, reload and stop (ExecStop= is "nft flush ruleset", /etc/nftables.conf begins with "flush
# ruleset"); APP-redirect.service sets the app's rule again after each, from the recorded state,
# without restarting anything. Under wrk keep-alive load through nginx:
#   - as installed (the unit only), the app serves again after every restart, reload, and stop then
#     start; the requests that fail in the gap are counted, not bounded: removing the last nat chain
#     makes the kernel drop the NAT bindings of every pooled connection, and nginx answers 502 at once
#     to every new one until the rule is back (bench/firewall.sh measures the gap);
#   - with the gap-free setup of docs/operations.md (bluegreen's rule files included from
#     /etc/nftables.conf, and the drop-in that makes ExecStop= keep them), a restart, a reload, a stop
#     then start and a hand-run nft -f of the whole ruleset fail no more requests than as many bare
#     nginx reloads.
# A hand-run "nft flush ruleset" is reported by bluegreenctl status (exit 5), logged with its own
# MESSAGE_ID when bluegreen next runs, and repaired by systemctl reload APP.service.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/crash-lib.sh"
ct_require_root_and_tools nft wrk

EVENTS=3 # of each kind, under one wrk run each
LOST=35808a6f08b74d90814ede27179a9a0c
unit=$BG_APP-redirect.service
table="inet bluegreen-$BG_APP"
rule_file=/run/bluegreen/$BG_APP/redirect.nft

crash_setup redirect # r1 on blue, then r2 on green: the rule leads to 9012
live_pid=$(ct_exec systemctl show -P MainPID "$BG_APP@green.service")

# systemctl waits for the firewall's job, not for the jobs it pulled in: give ours a moment.
settled() { # UNIT -> its state once no job is left (at most 5 s)
        for _ in $(seq 100); do
                [ -z "$(ct_exec systemctl list-jobs --no-legend "$1")" ] && break
                sleep 0.05
        done
        bg_active "$1"
}

serving() { # LABEL [PORT]: the rule leads to PORT (green), nginx serves, nothing was restarted
        local port=${2:-9012}
        settled "$unit" >/dev/null
        assert_contains "$(ct_exec nft list table $table)" "tcp dport 9010 redirect to :$port" "$1: the rule is there, leading to $port"
        if [ "$port" = 9012 ]; then
                assert_eq r2 "$(bg_live_release)" "$1: nginx serves r2"
                assert_eq "$live_pid" "$(ct_exec systemctl show -P MainPID "$BG_APP@green.service")" "$1: the live color was not restarted"
        fi
        ct_exec bluegreenctl status "$BG_APP" >/dev/null || fail "$1: bluegreenctl status reports a problem"
}

under_load() { # LABEL COMMAND...: run COMMAND EVENTS times under wrk; sets FAILED
        local label=$1 f=$CT_DIR/$1.txt
        shift
        crash_wrk_start $((EVENTS + 3)) "$f"
        for _ in $(seq "$EVENTS"); do
                ct_exec "$@"
                sleep 0.8
                # nftables.service's own start limit (5 in 10 s) is not what is tested here.
                ct_exec systemctl reset-failed nftables.service
        done
        crash_wrk_wait
        FAILED=$(crash_wrk_failed "$f")
        [ "$FAILED" != none ] || fail "$label: wrk sent no request"
        echo "RESULT case=$label failed=$FAILED events=$EVENTS non2xx=$(crash_wrk_non2xx "$f") $(grep -o '[0-9]* requests in [0-9.]*s' "$f")"
}

restart=(systemctl restart nftables.service)
reload=(systemctl reload nftables.service)
stop_start=(sh -c 'systemctl stop nftables.service; systemctl start nftables.service')
nft_f=(nft -f /etc/nftables.conf)

# The unit and its relationships, as systemd sees them.
for fw in nftables.service firewalld.service; do
        assert_contains "$(ct_exec systemctl show -P PartOf "$unit")" "$fw" "$unit is PartOf=$fw"
done
assert_contains "$(ct_exec systemctl show -P WantedBy "$unit")" "nftables.service" "$unit is wanted by nftables.service"
assert_contains "$(ct_exec systemctl show -P ReloadPropagatedFrom "$unit")" "nftables.service" "and reloaded with it"

# As on a server where it is enabled: nftables runs, and its start set the rule again after loading
# /etc/nftables.conf (which flushed the table APP.service had set).
ct_exec systemctl start nftables.service
assert_eq active "$(settled "$unit")" "starting nftables started $unit"
serving "start nftables"

under_load bare-nginx-reload systemctl reload nginx
bare=$FAILED
ok "$EVENTS bare nginx reloads under wrk -t2 -c16 failed $bare requests"

# As installed: the unit puts the rule back after each.
for verb in restart reload stop_start; do
        since=$(ct_exec date +%s.%N)
        declare -n cmd=$verb
        under_load "default-$verb" "${cmd[@]}"
        ok "as installed, $EVENTS x ${cmd[*]} failed $FAILED requests under load (bare nginx reloads: $bare)"
        runs=$(ct_exec journalctl -u "$unit" --since "@$since" -o cat --no-pager | grep -c '^Redirect rule of .* set' || true)
        assert_eq "$EVENTS" "$runs" "$verb: each set the rule again once"
        assert_contains "$(ct_exec journalctl --since "@$since" -o cat --no-pager MESSAGE_ID=$LOST)" "was gone: the ruleset was replaced" \
                "$verb: the loss is logged with MESSAGE_ID $LOST"
        serving "as installed, after $EVENTS x ${cmd[*]}"
        unset -n cmd
done

ct_exec systemctl stop nftables.service
assert_eq inactive "$(settled "$unit")" "stopping nftables stopped $unit (PartOf=)"
assert_eq active "$(bg_active "$BG_APP@green.service")" "and its stop left the live color running"
ct_exec systemctl start nftables.service
assert_eq active "$(settled "$unit")" "starting nftables started $unit again (nftables.service.wants)"
serving "systemctl stop nftables; systemctl start nftables"

# More often than systemd's default start limit (5 in 10 s): the rule must come back every time.
for _ in 1 2 3 4 5 6 7; do
        ct_exec systemctl restart nftables.service
        ct_exec systemctl reset-failed nftables.service
done
serving "7 restarts of nftables in a row"

# A hand-run flush: nothing runs, bluegreenctl status says so, a reload of APP.service repairs it.
ct_exec nft flush ruleset
set +e
status=$(ct_exec bluegreenctl status "$BG_APP")
rc=$?
set -e
assert_eq 5 "$rc" "after nft flush ruleset bluegreenctl status exits 5"
assert_contains "$status" "PROBLEM: the route leads to neither color but the state says green is live" "and names the problem"
assert_contains "$status" "NO RULE: systemctl reload $BG_APP.service" "and the repair"
since=$(ct_exec date +%s.%N)
ct_exec systemctl reload "$BG_APP.service"
assert_contains "$(ct_exec journalctl --since "@$since" -o cat --no-pager MESSAGE_ID=$LOST)" "(port 9010 -> 9012) was gone" \
        "systemctl reload $BG_APP.service logs the loss with its MESSAGE_ID"
serving "nft flush ruleset, then systemctl reload $BG_APP.service"

# The gap-free setup of docs/operations.md, as written there.
assert_contains "$(ct_exec cat $rule_file)" "redirect to :9012" "$rule_file holds the rule"
ct_exec nft -c -f $rule_file || fail "$rule_file is a valid nft script"
echo 'include "/run/bluegreen/*/redirect.nft"' >>"$CT_ROOT/etc/nftables.conf"
mkdir -p "$CT_ROOT/etc/systemd/system/nftables.service.d"
cat >"$CT_ROOT/etc/systemd/system/nftables.service.d/bluegreen.conf" <<'DROPIN'
[Service]
ExecStop=
ExecStop=/usr/sbin/nft 'flush ruleset; include "/run/bluegreen/*/redirect.nft"'
DROPIN
ct_exec systemctl daemon-reload
ct_exec nft -f /etc/nftables.conf
assert_contains "$(ct_exec nft list table $table)" "redirect to :9012" "nft -f /etc/nftables.conf with the include keeps the rule, without systemd"
for verb in restart reload stop_start nft_f; do
        declare -n cmd=$verb
        under_load "gap-free-$verb" "${cmd[@]}"
        [ "$FAILED" -le "$bare" ] || fail "gap-free setup: $EVENTS x ${cmd[*]} failed $FAILED requests, $EVENTS bare nginx reloads $bare"
        ok "gap-free setup: $EVENTS x ${cmd[*]} failed $FAILED requests (bare nginx reloads: $bare)"
        serving "gap-free setup, after $EVENTS x ${cmd[*]}"
        unset -n cmd
done
ct_exec systemctl stop nftables.service
assert_contains "$(ct_exec nft list table $table)" "redirect to :9012" "gap-free setup: stopping nftables keeps the rule"
assert_eq r2 "$(bg_live_release)" "and nginx serves r2 while the firewall is stopped"
ct_exec systemctl start nftables.service
settled "$unit" >/dev/null # a deploy meanwhile would be refused (exit 4): the unit holds the app's lock

bg_deploy r1
assert_contains "$(ct_exec cat $rule_file)" "redirect to :9011" "a deploy rewrites the rule file"
ct_exec nft -f /etc/nftables.conf
serving "nft -f after the deploy of r1" 9011
assert_eq r1 "$(bg_wait_live_release r1)" "nginx serves r1 (after the pooled connections to r2, at most keepalive_time_s, recycle)"
ct_exec rm $rule_file
ct_exec nft -f /etc/nftables.conf || fail "with no rule file, the include's pattern matches nothing and nft -f still succeeds"
ok "with no rule file, nft -f /etc/nftables.conf still succeeds"
echo "43-firewall-restart: all checks passed"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The redirect switch survives the firewall. Debian's nftables.service flushes the whole ruleset on
# restart, reload and stop (ExecStop= is "nft flush ruleset", /etc/nftables.conf begins with "flush
# ruleset"). What must hold, under wrk keep-alive load through nginx:
#   - as installed, the generator's drop-in has nftables.service load bluegreen's rule files in the
#     transaction of its own ruleset: a restart, a reload and a stop then start fail no more requests
#     than as many bare nginx reloads, the rule is never reported lost, and a stop keeps bluegreen's
#     tables only;
#   - APP-redirect.service still runs after each (PartOf=, ReloadPropagatedFrom=, nftables.service.wants)
#     and finds the rule in place (firewalld: 48-firewalld.sh);
#   - a hand-run "nft flush ruleset" or "nft -f /etc/nftables.conf" is reported by bluegreenctl status
#     (exit 5), logged with its own MESSAGE_ID when bluegreen next runs, and repaired by systemctl
#     reload APP.service; with the include of docs/operations.md in /etc/nftables.conf, a hand-run
#     nft -f fails no more requests than bare nginx reloads either;
#   - an nftables.service the admin changed (an ExecStart= of their own) is left alone at the next
#     daemon-reload, with the generator's notice in the journal, and APP-redirect.service puts the rule
#     back after each restart: the app serves again, the requests lost in the gap are counted, not
#     bounded (bench/firewall.sh measures it).
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

serving() { # LABEL [PORT]
        settled "$unit" >/dev/null
        crash_redirect_serving "$1" "${2:-9012}" "$live_pid"
}

under_load() { # LABEL COMMAND...: run COMMAND EVENTS times under wrk; sets FAILED
        crash_firewall_under_load "$1" "$EVENTS" nftables.service "${@:2}"
}

restart=(systemctl restart nftables.service)
reload=(systemctl reload nftables.service)
stop_start=(sh -c 'systemctl stop nftables.service; systemctl start nftables.service')
nft_f=(nft -f /etc/nftables.conf)

dropin=/run/systemd/generator/nftables.service.d/bluegreen-redirect.conf

lost_since() { # SINCE -> the lines logged with the MESSAGE_ID of a lost rule since then
        ct_exec journalctl --since "@$1" -o cat --no-pager MESSAGE_ID=$LOST
}

# The unit and its relationships, as systemd sees them.
assert_eq nftables.service "$(ct_exec systemctl show -P PartOf "$unit")" "$unit is PartOf=nftables.service only (48-firewalld.sh: why not firewalld)"
assert_contains "$(ct_exec systemctl show -P WantedBy "$unit")" "nftables.service" "$unit is wanted by nftables.service"
assert_contains "$(ct_exec systemctl show -P ReloadPropagatedFrom "$unit")" "nftables.service" "and reloaded with it"
assert_contains "$(ct_exec systemctl show -P DropInPaths nftables.service)" "$dropin" "nftables.service has the generator's drop-in"
assert_contains "$(ct_exec systemctl show -P ExecStart nftables.service)" \
        "include \"/etc/nftables.conf\"; include \"/run/bluegreen/$BG_APP/redirect.nf[t]\"" \
        "its start loads /etc/nftables.conf and the app's rule file in one nft run"

# As on a server where it is enabled: nftables runs, and its start loaded the rule with the ruleset.
since=$(ct_exec date +%s.%N)
ct_exec systemctl start nftables.service
assert_eq active "$(settled "$unit")" "starting nftables started $unit"
serving "start nftables"
assert_contains "$(ct_exec nft list tables)" "table inet filter" "and /etc/nftables.conf's own table is loaded"
assert_contains "$(ct_exec bluegreenctl status "$BG_APP")" "firewall: nftables.service loads the rule with its ruleset" \
        "bluegreenctl status says the firewall keeps the rule"
assert_contains "$(ct_exec bluegreenctl --json status "$BG_APP")" '"firewall_keeps_rule":true' "and so does its JSON"
assert_eq "" "$(lost_since "$since")" "starting nftables never took the rule away"

under_load bare-nginx-reload systemctl reload nginx
bare=$FAILED
ok "$EVENTS bare nginx reloads under wrk -t2 -c16 failed $bare requests"

# As installed.
for verb in restart reload stop_start; do
        since=$(ct_exec date +%s.%N)
        declare -n cmd=$verb
        under_load "installed-$verb" "${cmd[@]}"
        [ "$FAILED" -le "$bare" ] || fail "as installed, $EVENTS x ${cmd[*]} failed $FAILED requests, $EVENTS bare nginx reloads $bare"
        ok "as installed, $EVENTS x ${cmd[*]} failed $FAILED requests under load (bare nginx reloads: $bare)"
        runs=$(ct_exec journalctl -u "$unit" --since "@$since" -o cat --no-pager | grep -c '^Redirect rule of .* set' || true)
        assert_eq "$EVENTS" "$runs" "$verb: $unit ran after each"
        assert_eq "" "$(lost_since "$since")" "$verb: the rule was never found lost"
        serving "as installed, after $EVENTS x ${cmd[*]}"
        unset -n cmd
done

ct_exec systemctl stop nftables.service
assert_eq inactive "$(settled "$unit")" "stopping nftables stopped $unit (PartOf=)"
assert_eq active "$(bg_active "$BG_APP@green.service")" "and its stop left the live color running"
assert_contains "$(ct_exec nft list table $table)" "redirect to :9012" "stopping nftables keeps the rule"
assert_eq "table $table" "$(ct_exec nft list tables)" "and removes every other table"
assert_eq r2 "$(bg_live_release)" "nginx serves r2 while the firewall is stopped"
ct_exec systemctl start nftables.service
assert_eq active "$(settled "$unit")" "starting nftables started $unit again (nftables.service.wants)"
serving "systemctl stop nftables; systemctl start nftables"

# More often than systemd's default start limit (5 in 10 s): the rule must stay every time.
since=$(ct_exec date +%s.%N)
for _ in 1 2 3 4 5 6 7; do
        ct_exec systemctl restart nftables.service
        ct_exec systemctl reset-failed nftables.service
done
serving "7 restarts of nftables in a row"
assert_eq "" "$(lost_since "$since")" "7 restarts in a row: the rule was never found lost"

# By hand, around systemd: nothing runs, bluegreenctl status says so, a reload of APP.service repairs it.
for hand in "nft flush ruleset" "nft -f /etc/nftables.conf"; do
        ct_exec $hand
        set +e
        status=$(ct_exec bluegreenctl status "$BG_APP")
        rc=$?
        set -e
        assert_eq 5 "$rc" "after $hand bluegreenctl status exits 5"
        assert_contains "$status" "PROBLEM: the route leads to neither color but the state says green is live" "and names the problem"
        assert_contains "$status" "NO RULE: systemctl reload $BG_APP.service" "and the repair"
        since=$(ct_exec date +%s.%N)
        ct_exec systemctl reload "$BG_APP.service"
        assert_contains "$(lost_since "$since")" "(port 9010 -> 9012) was gone" \
                "after $hand, systemctl reload $BG_APP.service logs the loss with its MESSAGE_ID"
        serving "$hand, then systemctl reload $BG_APP.service"
done

# The include of docs/operations.md, for nft -f by hand: the drop-in then includes the files twice,
# which sets the same rule twice in one transaction.
assert_contains "$(ct_exec cat $rule_file)" "redirect to :9012" "$rule_file holds the rule"
ct_exec nft -c -f $rule_file || fail "$rule_file is a valid nft script"
echo 'include "/run/bluegreen/*/redirect.nft"' >>"$CT_ROOT/etc/nftables.conf"
ct_exec nft -f /etc/nftables.conf
assert_contains "$(ct_exec nft list table $table)" "redirect to :9012" "nft -f /etc/nftables.conf with the include keeps the rule"
under_load include-nft_f "${nft_f[@]}"
[ "$FAILED" -le "$bare" ] || fail "with the include, $EVENTS x nft -f failed $FAILED requests, $EVENTS bare nginx reloads $bare"
ok "with the include, $EVENTS x nft -f /etc/nftables.conf failed $FAILED requests (bare nginx reloads: $bare)"
under_load include-restart "${restart[@]}"
[ "$FAILED" -le "$bare" ] || fail "with the include and the drop-in, $EVENTS restarts failed $FAILED requests, bare $bare"
ok "with the include and the drop-in both, $EVENTS restarts failed $FAILED requests (bare nginx reloads: $bare)"
serving "the include and the drop-in"

bg_deploy r1
assert_contains "$(ct_exec cat $rule_file)" "redirect to :9011" "a deploy rewrites the rule file"
ct_exec nft -f /etc/nftables.conf
serving "nft -f after the deploy of r1" 9011
assert_eq r1 "$(bg_wait_live_release r1)" "nginx serves r1 (after the pooled connections to r2, at most keepalive_time_s, recycle)"
bg_deploy r2
live_pid=$(ct_exec systemctl show -P MainPID "$BG_APP@green.service")
sed -i '/redirect.nft/d' "$CT_ROOT/etc/nftables.conf"

# The admin's own nftables.service: systemctl edit with an ExecStart= the generator does not know.
mkdir -p "$CT_ROOT/etc/systemd/system/nftables.service.d"
cat >"$CT_ROOT/etc/systemd/system/nftables.service.d/override.conf" <<'DROPIN'
[Service]
ExecStart=
ExecStart=/usr/sbin/nft -I /etc -f /etc/nftables.conf
DROPIN
since=$(ct_exec date +%s.%N)
ct_exec systemctl daemon-reload
! ct_exec test -e $dropin || fail "with the admin's ExecStart=, the generator still wrote $dropin"
assert_contains "$(ct_exec journalctl --since "@$since" -o cat --no-pager -t bluegreen-generator)" \
        "override.conf:3: ExecStart=/usr/sbin/nft -I /etc -f /etc/nftables.conf is not Debian's" \
        "and logged why it left nftables.service alone"
assert_eq "/usr/sbin/nft -I /etc -f /etc/nftables.conf" \
        "$(ct_exec systemctl show -P ExecStart nftables.service | sed -n 's/.*argv\[\]=\(.*\) ; ignore_errors=.*/\1/p')" \
        "nftables.service runs the admin's ExecStart="
assert_contains "$(ct_exec bluegreenctl status "$BG_APP")" \
        "firewall: nftables.service has commands of its own, left alone by the generator (journalctl -b -t bluegreen-generator): unless they load the rule, its restarts drop it until $unit sets it again" \
        "bluegreenctl status says what the admin's nftables.service costs"
assert_contains "$(ct_exec bluegreenctl --json status "$BG_APP")" '"firewall_keeps_rule":false' "and so does its JSON"
case "$(ct_exec systemctl show -P DropInPaths nftables.service)" in
*"$dropin"*) fail "nftables.service still has the generator's drop-in" ;;
*) ok "and has no drop-in of the generator's" ;;
esac
since=$(ct_exec date +%s.%N)
under_load own-unit-restart "${restart[@]}"
ok "the admin's nftables.service: $EVENTS restarts failed $FAILED requests; $unit put the rule back after each"
assert_contains "$(lost_since "$since")" "was gone: the ruleset was replaced" "each loss is logged with MESSAGE_ID $LOST"
serving "the admin's nftables.service, after $EVENTS restarts"
rm "$CT_ROOT/etc/systemd/system/nftables.service.d/override.conf"
ct_exec systemctl daemon-reload
ct_exec test -e $dropin || fail "without the admin's ExecStart= the drop-in is back after daemon-reload"

# A rule file a removed app left behind is not loaded: the drop-in names only the apps declared now.
ct_exec sh -c "mkdir -p /run/bluegreen/gone && sed 's/bluegreen-$BG_APP/bluegreen-gone/' $rule_file >/run/bluegreen/gone/redirect.nft"
ct_exec systemctl restart nftables.service
case "$(ct_exec nft list tables)" in
*bluegreen-gone*) fail "the rule file of an app that is not declared was loaded" ;;
*) ok "the rule file of an app that is not declared is not loaded" ;;
esac
ct_exec rm $rule_file
ct_exec systemctl restart nftables.service || fail "with no rule file, nftables.service's start through the drop-in fails"
ok "with no rule file (before the app's first rule since boot), the drop-in's start still succeeds"
echo "43-firewall-restart: all checks passed"

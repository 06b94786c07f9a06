#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The redirect switch next to firewalld, Debian's package installed with dpkg -i into the container
# (its postinst enables and starts it) on a server where nftables.service ran before. What must hold:
#   - installing and starting firewalld (which Conflicts= with nftables.service and stops it; the
#     generator's drop-in keeps the rule through that stop) leaves the rule in place and the app serving;
#   - under wrk keep-alive load through nginx, "systemctl reload firewalld", "firewall-cmd --reload",
#     "systemctl restart firewalld" and "firewall-cmd --complete-reload" each succeed and fail no more
#     requests than as many bare nginx reloads: firewalld replaces only its own tables;
#   - a stop and start of firewalld leave the rule, and a deploy with firewalld running switches it.
# The restart is the case that once broke: with APP-redirect.service PartOf= both firewalls, systemd
# refused "systemctl restart firewalld" (conflicting jobs: restart and stop of that unit).
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/crash-lib.sh"
ct_require_root_and_tools nft wrk dpkg

EVENTS=3
debs=/var/cache/bluegreen/firewalld-debs
compgen -G "$debs/firewalld_*.deb" >/dev/null || fail "no firewalld .deb in $debs: run tools/install-deps.sh"

BG_LIVE_PORT=9010 bg_setup
bg_release r1
bg_release r2
ct_exec systemctl start "$BG_APP.service" nftables.service
ct_exec systemctl reload nginx
bg_deploy r1
bg_deploy r2
live_pid=$(ct_exec systemctl show -P MainPID "$BG_APP@green.service")

serving() { # LABEL [PORT]
        crash_redirect_serving "$1" "${2:-9012}" "$live_pid"
}

under_load() { # LABEL COMMAND...: run COMMAND EVENTS times under wrk; sets FAILED
        crash_firewall_under_load "$1" "$EVENTS" firewalld.service "${@:2}"
}

# Installed as an admin would: the postinst enables and starts it, which stops nftables.service.
mkdir -p "$CT_ROOT/root/firewalld-debs"
cp "$debs"/*.deb "$CT_ROOT/root/firewalld-debs/"
ct_exec sh -c 'DEBIAN_FRONTEND=noninteractive dpkg -i /root/firewalld-debs/*.deb' >"$CT_DIR/dpkg.txt" 2>&1 ||
        { cat "$CT_DIR/dpkg.txt" >&2; fail "dpkg -i of firewalld failed"; }
ct_exec systemctl start firewalld.service
assert_eq active "$(bg_active firewalld.service)" "firewalld runs"
assert_eq running "$(ct_exec firewall-cmd --state 2>&1)" "firewall-cmd --state says running"
assert_eq inactive "$(bg_active nftables.service)" "starting firewalld stopped nftables.service (Conflicts=)"
assert_contains "$(ct_exec nft list tables)" "table inet firewalld" "firewalld's own table is loaded"
serving "firewalld installed and started"

under_load bare-nginx-reload systemctl reload nginx
bare=$FAILED
ok "$EVENTS bare nginx reloads under wrk -t2 -c16 failed $bare requests"

reload=(systemctl reload firewalld.service)
cmd_reload=(firewall-cmd --reload)
restart=(systemctl restart firewalld.service)
complete_reload=(firewall-cmd --complete-reload)
for verb in reload cmd_reload restart complete_reload; do
        declare -n cmd=$verb
        under_load "firewalld-$verb" "${cmd[@]}"
        [ "$FAILED" -le "$bare" ] || fail "$EVENTS x ${cmd[*]} failed $FAILED requests, $EVENTS bare nginx reloads $bare"
        ok "$EVENTS x ${cmd[*]} succeeded and failed $FAILED requests under load (bare nginx reloads: $bare)"
        serving "after $EVENTS x ${cmd[*]}"
        unset -n cmd
done

ct_exec systemctl stop firewalld.service
serving "firewalld stopped"
ct_exec systemctl start firewalld.service
serving "firewalld started again"

bg_deploy r1
serving "a deploy of r1 with firewalld running" 9011
assert_eq r1 "$(bg_wait_live_release r1)" "nginx serves r1"
echo "48-firewalld: all checks passed"

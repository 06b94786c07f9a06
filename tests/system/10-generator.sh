#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Foundation under a real systemd: daemon-reload turns declarations into units, a color runs a real
# app from its pinned release as the declared user, every unit passes systemd-analyze verify, a broken
# declaration is reported in the journal with FILE:LINE while the other apps' units still exist, and a
# drop-in relaxes one hardening setting.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

bg_setup
# A second, broken declaration must not cost saltbox-api its units.
printf 'releases = "/srv/x";\nexec = "bin/x";\nports = { blue = 9100;\n          green = 9100; };\n' \
        >"$CT_ROOT/etc/bluegreen/broken.conf"
ct_exec systemctl daemon-reload

for u in "$BG_APP@.service" "$BG_APP-deploy@.service" "$BG_APP-rollback.service" "$BG_APP.service" \
        "$BG_APP-retire@.timer" "$BG_APP-retire@.service" "$BG_APP-deploy-trigger.path" \
        "$BG_APP-deploy-trigger.service"; do
        ct_exec systemctl cat "$u" >/dev/null 2>&1 || fail "daemon-reload did not produce $u"
done
ok "daemon-reload produced every unit of $BG_APP"
assert_contains "$(ct_exec systemctl cat "$BG_APP@blue.service")" "SourcePath=/etc/bluegreen/$BG_APP.conf" \
        "units name their declaration"
assert_contains "$(ct_exec systemctl list-dependencies --plain multi-user.target)" "$BG_APP.service" \
        "the app unit is pulled in at boot (generator-made wants link)"

journal=$(ct_exec journalctl -b --no-pager -o cat 2>/dev/null)
assert_contains "$journal" "/etc/bluegreen/broken.conf:4: ports.green: 9100 is already the port of ports.blue" \
        "the broken declaration is in the journal with FILE:LINE"
ct_exec systemctl cat broken@.service >/dev/null 2>&1 && fail "the broken declaration got units"
ok "the broken declaration got no units"

# Every generated unit, as the instances a deploy uses, passes systemd-analyze verify with the
# installed helpers present (verify checks that ExecStart= binaries exist).
gen=/run/systemd/generator
verify_out=$(ct_exec systemd-analyze verify --man=no "$gen/$BG_APP@blue.service" "$gen/$BG_APP@green.service" \
        "$gen/$BG_APP-deploy@r1.service" "$gen/$BG_APP-rollback.service" "$gen/$BG_APP.service" \
        "$gen/$BG_APP-retire@blue.timer" "$gen/$BG_APP-retire@blue.service" "$gen/$BG_APP-deploy-trigger.path" \
        "$gen/$BG_APP-deploy-trigger.service" 2>&1) || fail "systemd-analyze verify failed: $verify_out"
# verify also reports problems of unrelated units it loads (the host image's); only ours count.
if grep -i "$BG_APP" <<<"$verify_out"; then
        fail "systemd-analyze verify complained about $BG_APP units"
fi
ok "systemd-analyze verify passes on every generated unit"

# A color refuses to start before a release is pinned, with a message that says what to do.
ct_exec systemctl start "$BG_APP@blue.service" 2>/dev/null && fail "blue started with nothing pinned"
assert_contains "$(ct_exec journalctl -u "$BG_APP@blue.service" --no-pager -o cat)" \
        "No release is pinned to the blue color" "an unpinned color fails with a clear message"
ct_exec systemctl reset-failed "$BG_APP@blue.service"

# Only blue and green exist.
ct_exec systemctl start "$BG_APP@red.service" 2>/dev/null && fail "an instance other than blue/green started"
ok "instances other than blue and green fail to start"

# Pin a release by hand (a deploy does this) and start blue: the real app answers on its port.
bg_release r1
ct_exec mkdir -p "$BG_STATE"
ct_exec ln -sfn "$BG_RELEASES/r1" "$BG_STATE/blue"
ct_exec systemctl start "$BG_APP@blue.service" || {
        ct_exec journalctl -u "$BG_APP@blue.service" --no-pager | tail -n 30
        fail "$BG_APP@blue did not start"
}
body=$(bg_curl http://127.0.0.1:9011/v)
assert_contains "$body" '"release":"r1"' "blue runs the pinned release r1"
assert_contains "$body" '"color":"blue"' "blue knows its color"
assert_contains "$body" "\"uid\":$(ct_exec id -u saltbox)" "the app runs as the declared user"
assert_contains "$body" '"greeting":"say \"hi\" at 100% \\ $HOME"' "declared environment arrives unaltered"
main=$(ct_exec systemctl show -P MainPID "$BG_APP@blue.service")
assert_eq saltbox "$(ct_exec ps -o user= -p "$main" | tr -d ' ')" "the main process is owned by saltbox"
assert_eq "$BG_RELEASES/r1/app" "$(ct_exec readlink "/proc/$main/cwd")" \
        "the app's working directory is the resolved release, not the pin"

# The strict sandbox holds at run time: the release is read-only to the app, its shared dir is not.
assert_contains "$(ct_exec systemctl show -p ProtectSystem -p ProtectHome "$BG_APP@blue.service")" \
        "ProtectHome=yes" "strict hardening is in force"

# One hardening setting relaxed with an ordinary drop-in.
mkdir -p "$CT_ROOT/etc/systemd/system/$BG_APP@.service.d"
printf '[Service]\nProtectHome=read-only\n' >"$CT_ROOT/etc/systemd/system/$BG_APP@.service.d/50-relax.conf"
ct_exec systemctl daemon-reload
assert_eq "ProtectHome=read-only" "$(ct_exec systemctl show -p ProtectHome "$BG_APP@blue.service")" \
        "a drop-in relaxes one hardening setting"
ct_exec systemctl restart "$BG_APP@blue.service"
assert_contains "$(bg_curl http://127.0.0.1:9011/v)" '"release":"r1"' "the app still runs with the drop-in"

ct_exec systemctl stop "$BG_APP.service" "$BG_APP@blue.service"
echo "10-generator: all checks passed"

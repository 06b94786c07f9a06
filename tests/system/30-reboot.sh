#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A reboot (poweroff, boot again on the same disk) brings back the live color on its release, and only
# it; the include is written before nginx starts, even when it was lost, so nginx starts.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

bg_setup
bg_release r1
bg_release r2
bg_deploy r1
bg_deploy r2
assert_eq r2 "$(bg_live_release)" "before the reboot nginx serves r2 from green"
# Lose the include: the boot must write it again from state before nginx reads its configuration.
rm "$CT_ROOT/etc/nginx/conf.d/bluegreen-$BG_APP.conf"

ct_poweroff_and_boot_again

assert_eq active "$(bg_active nginx.service)" "nginx started at boot"
assert_contains "$(bg_include)" "server 127.0.0.1:9012;" "the include was written again, pointing at green"
for _ in $(seq 100); do
        [ "$(bg_active "$BG_APP@green.service")" = active ] && break
        sleep 0.1
done
assert_eq active "$(bg_active "$BG_APP@green.service")" "the live color came back"
assert_eq inactive "$(bg_active "$BG_APP@blue.service")" "the old color did not"
assert_eq r2 "$(bg_live_release)" "after the reboot nginx serves r2"
assert_eq "$BG_RELEASES/r2" "$(ct_exec readlink "$BG_STATE/green")" "green is still pinned to r2"
order=$(ct_exec journalctl -b --no-pager -o cat _PID=1 | grep -E "^(Finished|Started) ($BG_APP|nginx)\.service" || true)
assert_eq "Finished $BG_APP.service - $BG_APP (blue-green).
Started nginx.service - A high performance web server and a reverse proxy server." "$order" \
        "the app unit finished before nginx started"
echo "30-reboot: all checks passed"

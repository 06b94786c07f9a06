#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A full disk under /var/lib/bluegreen (a 64 KiB tmpfs over the app's state directory, filled up):
#   - before a deploy: it is refused before anything is touched (the intent cannot be written);
#   - in the middle of one, after the route switched but before "active" is written: the deploy puts
#     the route back and undoes itself, so nginx and the state never disagree;
#   - with space again, the same deploy goes through.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/crash-lib.sh"

crash_setup reload
bg_release r3
bg_snapshot
ct_sh "cp -a $BG_STATE /tmp/state && mount -t tmpfs -o size=64k tmpfs $BG_STATE && cp -a /tmp/state/. $BG_STATE/"
fill() { ct_sh "dd if=/dev/zero of=$BG_STATE/filler bs=4k 2>/dev/null; true"; }
fill

bg_deploy_fails r3 1
assert_contains "$BG_FAIL_LOG" "cannot record the deploy in $BG_STATE/intent, so nothing was touched" \
        "a full disk stops the deploy before it touches anything"
bg_assert_untouched "full disk before the deploy"
crash_assert_consistent "full disk before the deploy" green r1 r2 r2

# Now with space at the start, gone by the time "active" is written.
ct_exec rm "$BG_STATE/filler"
crash_start_paused "$BG_APP-deploy@r3.service" routed "full disk after the switch"
assert_contains "$(bg_include)" "server 127.0.0.1:9011;" "paused after the switch: the include names blue (r3)"
fill
ct_sh "kill -CONT \$(ps -o pid= -C bluegreen-deploy)"
for _ in $(seq 300); do
        [ "$(bg_active "$BG_APP-deploy@r3.service")" != activating ] && break
        sleep 0.1
done
assert_eq 1 "$(ct_exec systemctl show -P ExecMainStatus "$BG_APP-deploy@r3.service")" "the deploy fails with status 1"
log=$(ct_exec journalctl -u "$BG_APP-deploy@r3.service" -o cat --no-pager)
assert_contains "$log" "active could not be written" "and says active could not be written"
bg_assert_untouched "full disk after the switch"
crash_assert_consistent "full disk after the switch" green r1 r2 r2

ct_exec rm "$BG_STATE/filler"
bg_deploy r3
assert_eq r3 "$(bg_wait_live_release r3)" "with space again, the deploy goes through"
echo "38-full-disk: all checks passed"

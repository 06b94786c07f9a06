#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A deploy stopped half-way (systemctl stop, or its TimeoutStartSec=) undoes what it did: the target
# color is stopped, its pin restored, and traffic, state and include are as they were.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

bg_setup_r1_live
bg_release r3 slow

ct_exec systemctl start --no-block "$BG_APP-deploy@r3.service"
for _ in $(seq 50); do
        [ "$(bg_active "$BG_APP@green.service")" = activating ] && break
        sleep 0.1
done
assert_eq activating "$(bg_active "$BG_APP@green.service")" "the deploy is starting green"
ct_exec systemctl stop "$BG_APP-deploy@r3.service"
log=$(ct_exec journalctl -u "$BG_APP-deploy@r3.service" -o cat --no-pager)
assert_contains "$log" "interrupted: the deploy unit was stopped" "the deploy says it was interrupted"
bg_assert_untouched "interrupted deploy"
bg_assert_stopped_for_good green
echo "29-interrupted: all checks passed"

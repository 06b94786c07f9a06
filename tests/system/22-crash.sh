#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A release that exits at start-up fails the deploy fast, well under the health deadline (60 s here),
# because the health gate watches the main process.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

BG_EXTRA_DECL='' bg_setup
sed -i 's/deadline_s = 20;/deadline_s = 60;/' "$CT_ROOT/etc/bluegreen/$BG_APP.conf"
ct_exec systemctl daemon-reload
bg_release r1
bg_release broken crash
bg_deploy r1
bg_snapshot

start=$(date +%s%N)
bg_deploy_fails broken 3
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "# the crashing release was refused after $ms ms (deadline 60000 ms)"
[ "$ms" -lt 20000 ] || fail "the crashing release took $ms ms to be refused: the gate waited for the deadline"
ok "a crashing release fails fast ($ms ms against a 60 s deadline)"
bg_assert_untouched "crashing release"
bg_assert_stopped_for_good green
echo "22-crash: all checks passed"

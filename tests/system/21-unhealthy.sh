#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A release whose /healthz answers 500 is refused by the health gate: exit 3 with the reason in the
# journal, traffic, state and include untouched, the target color stopped and not restarting.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

BG_EXTRA_DECL='health = { path = "/healthz"; successes = 2; deadline_s = 4; };' bg_setup
sed -i '/^health = { path = "\/healthz"; timeout_ms/d' "$CT_ROOT/etc/bluegreen/$BG_APP.conf"
ct_exec systemctl daemon-reload
bg_release r1
bg_release sick unhealthy
bg_deploy r1
bg_snapshot

bg_deploy_fails sick 3
assert_contains "$BG_FAIL_LOG" "answered 500, expected 200" "the journal says why: the last probe's status"
assert_contains "$BG_FAIL_LOG" '"status":"sick"' "and an excerpt of the body"
bg_assert_untouched "unhealthy release"
bg_assert_stopped_for_good green
echo "21-unhealthy: all checks passed"

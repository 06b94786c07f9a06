#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The pre_start hook runs in the new release, as the app's user, in the app's sandbox, before the
# color starts; when it fails the deploy stops there (exit 3) and nothing is touched. The post_switch
# hook runs after the switch; its failure does not undo the deploy. A rollback with nothing to roll
# back to is refused with exit 6.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

BG_EXTRA_DECL='hooks = { pre_start = "/bin/sh -c '"'"'test ! -e fail-pre-start && echo $BLUEGREEN_RELEASE $(id -un) > /srv/saltbox/shared/migrated'"'"'";
          post_switch = "/bin/sh -c '"'"'echo $BLUEGREEN_RELEASE > /srv/saltbox/shared/switched; test ! -e fail-post-switch'"'"'"; };' \
        bg_setup
bg_release r1
bg_release r2
bg_release r3

set +e
ct_exec systemctl start "$BG_APP-rollback.service" 2>/dev/null
set -e
assert_eq 6 "$(ct_exec systemctl show -P ExecMainStatus "$BG_APP-rollback.service")" \
        "a rollback before any deploy is refused with exit 6"
assert_contains "$(ct_exec journalctl -u "$BG_APP-rollback.service" -o cat --no-pager)" "nothing to roll back to" \
        "and says there is nothing to roll back to"

bg_deploy r1
assert_eq "r1 saltbox" "$(cat "$CT_ROOT/srv/saltbox/shared/migrated")" \
        "pre_start ran in release r1 as the app's user"
assert_eq "r1" "$(cat "$CT_ROOT/srv/saltbox/shared/switched")" "post_switch ran after the switch"
assert_contains "$(ct_exec systemctl show -p ProtectSystem "$BG_APP-pre-start@r1.service")" "ProtectSystem=strict" \
        "the hook runs in the app's sandbox"

# A failing pre_start hook stops the deploy before the color is touched.
touch "$CT_ROOT$BG_RELEASES/r2/app/fail-pre-start"
bg_snapshot
bg_deploy_fails r2 3
assert_contains "$BG_FAIL_LOG" "the pre_start hook failed" "the journal names the failed hook"
bg_assert_untouched "failed pre_start hook"
assert_eq inactive "$(bg_active "$BG_APP@green.service")" "the target color was never started"

# A failing post_switch hook leaves the deploy in place, with a warning.
touch "$CT_ROOT$BG_RELEASES/r3/app/fail-post-switch"
bg_deploy r3
assert_eq r3 "$(bg_live_release)" "a failing post_switch hook does not undo the deploy"
assert_contains "$(ct_exec journalctl -u "$BG_APP-deploy@r3.service" -o cat --no-pager)" \
        "The post_switch hook failed, the deploy stands" "and is reported"

# Now blue (r1) is warm with its retire timer armed. A deploy that fails in pre_start must not leave
# it running for ever: its retire timer is armed again.
assert_eq active "$(bg_active "$BG_APP-retire@blue.timer")" "the warm color's retire timer is armed"
bg_deploy_fails r2 3
assert_eq active "$(bg_active "$BG_APP@blue.service")" "the warm color is still up after the failed deploy"
assert_eq active "$(bg_active "$BG_APP-retire@blue.timer")" "and its retire timer is armed again"
echo "28-hooks: all checks passed"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# When nginx -t fails with the new include, the previous include is put back and nginx is not
# reloaded; the deploy exits 5.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

bg_setup_r1_live
reloads_before=$(ct_exec journalctl -u nginx --no-pager -o cat | grep -c '^Reloaded' || true)

# Break the rest of nginx's configuration, so that nginx -t fails whatever the include says.
echo 'this is not nginx syntax;' >"$CT_ROOT/etc/nginx/conf.d/zz-broken.conf"
bg_deploy_fails r2 5
assert_contains "$BG_FAIL_LOG" "include restored, nginx not reloaded" "the journal says the include was restored"
assert_contains "$BG_FAIL_LOG" "zz-broken.conf" "and quotes nginx -t"
reloads_after=$(ct_exec journalctl -u nginx --no-pager -o cat | grep -c '^Reloaded' || true)
assert_eq "$reloads_before" "$reloads_after" "nginx was not reloaded"
rm "$CT_ROOT/etc/nginx/conf.d/zz-broken.conf"
bg_assert_untouched "nginx -t failure"
bg_assert_stopped_for_good green
echo "24-nginx-test-fails: all checks passed"

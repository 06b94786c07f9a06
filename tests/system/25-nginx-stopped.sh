#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# With nginx stopped, a deploy cannot switch: it says so plainly and leaves everything as it was.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
. "$here/lib.sh"
. "$here/bluegreen.sh"
ct_require_root_and_tools nginx curl gunicorn

bg_setup
bg_release r1
bg_release r2
bg_deploy r1
bg_snapshot
ct_exec systemctl stop nginx
bg_deploy_fails r2 5
assert_contains "$BG_FAIL_LOG" "nginx.service is inactive, not running" "the journal says nginx is not running"
ct_exec systemctl start nginx
bg_assert_untouched "nginx stopped"
bg_assert_stopped_for_good green
echo "25-nginx-stopped: all checks passed"

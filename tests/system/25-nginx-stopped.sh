#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# With nginx stopped, a deploy cannot switch: it says so plainly and leaves everything as it was.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

bg_setup_r1_live
ct_exec systemctl stop nginx
bg_deploy_fails r2 5
assert_contains "$BG_FAIL_LOG" "nginx.service is inactive, not running" "the journal says nginx is not running"
ct_exec systemctl start nginx
bg_assert_untouched "nginx stopped"
bg_assert_stopped_for_good green
echo "25-nginx-stopped: all checks passed"

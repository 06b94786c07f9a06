#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A healthy release that fails its smoke check (/v does not name the release, because the release
# directory was copied from another one under a new name while the app reports its own) is refused
# before the switch.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

bg_setup_r1_live

# The smoke check expects /v to contain the release name; this one reports a different one.
sed -i 's/"release": os.environ.get("BLUEGREEN_RELEASE")/"release": "not-the-release"/' \
        "$CT_ROOT$BG_RELEASES/r2/app/main.py"
bg_deploy_fails r2 3
assert_contains "$BG_FAIL_LOG" 'smoke check failed' "the journal names the smoke check"
assert_contains "$BG_FAIL_LOG" 'without "r2"' "and what it missed"
bg_assert_untouched "smoke failure"
bg_assert_stopped_for_good green
echo "23-smoke: all checks passed"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Power cuts during a deploy, reload switch: every process of the container frozen at a named step,
# its init killed, booted again on the same disk. After each boot the app is consistent (crash-lib.sh),
# a rollback goes to the release before the interrupted one, and the next deploy under keep-alive load
# fails no more than a bare nginx reload.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/crash-lib.sh"

crash_power_cut_test reload
echo "36-power-cut-reload: all checks passed"

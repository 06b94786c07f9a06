#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Power cuts during a deploy, redirect switch: every process of the container frozen at a named step,
# its init killed, booted again on the same disk (the kernel forgets the nftables rule, bluegreen-boot
# puts back the one the settled state names). After each boot the app is consistent (crash-lib.sh),
# a rollback goes to the release before the interrupted one, and the next deploy under keep-alive load
# fails no request.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/crash-lib.sh"

crash_power_cut_test redirect
echo "37-power-cut-redirect: all checks passed"

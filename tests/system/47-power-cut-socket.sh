#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Power cuts during a deploy, socket switch: every process of the container frozen at a named step,
# its init killed, booted again on the same disk (/run is a fresh tmpfs: the live link and the sockets
# are gone, and bluegreen-boot puts back the link the settled state names before nginx starts). After
# each boot the app is consistent (crash-lib.sh), a rollback goes to the release before the interrupted
# one, and the next deploy under keep-alive load fails no request.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/crash-lib.sh"

crash_power_cut_test socket
echo "47-power-cut-socket: all checks passed"

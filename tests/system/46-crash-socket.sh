#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# kill -9 at every named step of a deploy and of a rollback, socket switch (each color on its unix
# socket, nginx on the live link): after each, the next bluegreen program that runs leaves the app
# consistent (crash-lib.sh says what that means, the link included), a rollback goes to the release
# before the interrupted one, and the next deploy under keep-alive load fails no request.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/crash-lib.sh"

crash_kill_test socket
echo "46-crash-socket: all checks passed"

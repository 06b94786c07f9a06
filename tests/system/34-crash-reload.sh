#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# kill -9 at every named step of a deploy and of a rollback, reload switch (nginx include + reload):
# after each, the next bluegreen program that runs leaves the app consistent (crash-lib.sh says what
# that means), a rollback goes to the release before the interrupted one, and the next deploy under
# keep-alive load fails no more requests than a bare nginx reload.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/crash-lib.sh"

crash_kill_test reload
echo "34-crash-reload: all checks passed"

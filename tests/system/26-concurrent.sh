#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A second deploy (or a rollback) while one runs is refused at once, naming the one that holds the lock.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

bg_setup
bg_release r1
bg_release r2 slow
bg_release r3
bg_deploy r1

# r2 takes about 3 s to become healthy: start it without waiting, then try r3 and a rollback.
ct_exec systemctl start --no-block "$BG_APP-deploy@r2.service"
for _ in $(seq 50); do
        [ "$(bg_active "$BG_APP-deploy@r2.service")" = activating ] && break
        sleep 0.1
done
start=$(date +%s%N)
bg_deploy_fails r3 4
ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_contains "$BG_FAIL_LOG" "deploy of r2 (PID" "the refusal names the deploy that holds the lock"
echo "# the second deploy was refused after $ms ms"
set +e
ct_exec systemctl start "$BG_APP-rollback.service" 2>/dev/null
set -e
assert_eq 4 "$(ct_exec systemctl show -P ExecMainStatus "$BG_APP-rollback.service")" "a rollback is refused too"

for _ in $(seq 300); do
        [ "$(bg_active "$BG_APP-deploy@r2.service")" = activating ] || break
        sleep 0.1
done
assert_eq r2 "$(bg_live_release)" "the first deploy completed"
echo "26-concurrent: all checks passed"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Push deploys without root: the owner of the releases directory writes a release name into the
# trigger file, the path unit deploys it, and the outcome is in a status file that user can read.
# A bad name and a symlinked trigger are refused.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

bg_setup
bg_release r1
bg_release r2
bg_deploy r1
ct_exec systemctl start "$BG_APP-deploy-trigger.path"

wait_status() {
        for _ in $(seq 200); do
                if ct_exec runuser -u saltbox -- cat "$BG_RELEASES/.deploy.status" 2>/dev/null | grep -q "$1"; then
                        return 0
                fi
                sleep 0.1
        done
        ct_exec journalctl -u "$BG_APP-deploy-trigger.service" --no-pager | tail -n 20
        fail "the status file never said '$1'"
}

ct_exec runuser -u saltbox -- sh -c "echo r2 > $BG_RELEASES/.deploy"
wait_status "r2 deployed"
assert_eq r2 "$(bg_live_release)" "the release named in the trigger file was deployed"
assert_eq saltbox "$(ct_exec stat -c %U "$BG_RELEASES/.deploy.status")" "the status file belongs to the deploy user"

ct_exec runuser -u saltbox -- sh -c "echo '../../etc' > $BG_RELEASES/.deploy"
wait_status "refused: not a valid release name"
assert_eq r2 "$(bg_live_release)" "a bad name deploys nothing"

ct_exec runuser -u saltbox -- sh -c "rm $BG_RELEASES/.deploy; ln -s /etc/shadow $BG_RELEASES/.deploy"
sleep 1
log=$(ct_exec journalctl -u "$BG_APP-deploy-trigger.service" --no-pager -o cat)
assert_contains "$log" "it is a symbolic link" "a symlinked trigger file is refused"
if grep -q 'root:' <<<"$log"; then
        fail "the content of /etc/shadow reached the journal"
fi
assert_eq r2 "$(bg_live_release)" "the symlink deployed nothing"
echo "31-trigger: all checks passed"

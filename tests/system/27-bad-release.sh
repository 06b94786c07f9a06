#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bad release names and missing releases are refused before anything is touched (exit 2).
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

bg_setup
bg_release r1
bg_deploy r1
bg_snapshot
mkdir -p "$CT_ROOT/srv/outside"

# systemd-escape turns "/" into "-" in unit names, so names are passed through the helper as well.
for name in '../x' '..' '.' '-rf' 'a b' "$(printf 'r%.0s' $(seq 129))"; do
        set +e
        out=$(ct_exec env BLUEGREEN_APP=x /usr/local/libexec/bluegreen/bluegreen-deploy "$name" 2>&1)
        rc=$?
        set -e
        [ "$rc" -eq 2 ] || fail "bluegreen-deploy accepted the release name '$name' (exit $rc): $out"
done
ok "bad release names are refused with exit 2"

# Through systemd: an escaped "../outside" and a release that does not exist.
bg_deploy_fails "$(ct_exec systemd-escape '../outside')" 2
assert_contains "$BG_FAIL_LOG" "is not a valid release name" "the journal says the name is invalid"
bg_deploy_fails nonexistent 2
assert_contains "$BG_FAIL_LOG" "Release nonexistent does not exist" "a missing release is named"
ln -s /srv/outside "$CT_ROOT$BG_RELEASES/escape"
bg_deploy_fails escape 2
bg_assert_untouched "bad release"

# An alias inside the releases directory is deployed under its real name.
bg_release r2
ln -s r2 "$CT_ROOT$BG_RELEASES/latest"
bg_deploy latest
assert_eq r2 "$(bg_live_release)" "a release given by an alias runs as its real name"
assert_contains "$(tail -n 1 "$CT_ROOT$BG_STATE/history")" "deploy r2 green" "and is recorded under it"
echo "27-bad-release: all checks passed"

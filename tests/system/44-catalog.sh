#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The journal catalog: installed where "journalctl --update-catalog" finds it (prefix /usr/local), so
# that "journalctl -x" explains a deploy's success with the app, release and color filled in.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

bg_setup
ct_exec journalctl --update-catalog || fail "journalctl --update-catalog failed"
catalog=$(ct_exec journalctl --list-catalog --no-pager)
for id in $(sed -nE 's/^#define MESSAGE_[A-Z_]+ "([0-9a-f]{32})".*/\1/p' "${BLUEGREEN_SOURCE_DIR:?}/lib/log.h"); do
        assert_contains "$catalog" "$id " "journalctl --list-catalog lists $id"
done
assert_contains "$(ct_exec journalctl --dump-catalog 0d99ee444a514695a2d80fc57bd35f3a --no-pager)" \
        "Release @BLUEGREEN_RELEASE@ of @BLUEGREEN_APP@" "journalctl --dump-catalog ID prints the entry as written"

bg_release r1
bg_deploy r1
explained=$(ct_exec journalctl -x MESSAGE_ID=0d99ee444a514695a2d80fc57bd35f3a --no-pager)
assert_contains "$explained" "Subject: Release r1 of $BG_APP is live on the blue color" \
        "journalctl -x shows the catalog's subject, fields filled in"
assert_contains "$explained" "systemctl start $BG_APP-rollback.service" "and what to do next"
assert_contains "$explained" "Documentation: man:bluegreen-deploy(8)" "and where to read more"
started=$(ct_exec journalctl -x MESSAGE_ID=85cb583bd12a456d8c476443dacae09f --no-pager)
assert_contains "$started" "journalctl -f -u $BG_APP-deploy@r1.service" \
        "a unit name with an @ between two fields is filled in"

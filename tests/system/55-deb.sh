#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian package: lintian finds no error in it; installed with dpkg -i (no meson install) into a
# container where an app is already declared, its postinst's daemon-reload generates the app's units
# from the generator in systemd.pc's directory; a deploy and a rollback work with the helpers in
# /usr/libexec/bluegreen; journalctl -x explains them from the catalog that systemd's dpkg trigger
# compiled; dpkg -r takes the units away and leaves the declaration, the state and the running site.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"
BG_INSTALL=none
. "$(dirname "$(readlink -f "$0")")/deb-lib.sh"
ct_require_root_and_tools dpkg lintian

check_lintian() {
        local out
        # lintian warns on stderr that it runs as root; the tags are on stdout.
        out=$(lintian --pedantic "$BG_DEB_CHANGES" 2>/dev/null) || fail "lintian failed: $out"
        [ -z "$out" ] || sed 's/^/# lintian: /' <<<"$out"
        if grep -q '^E: ' <<<"$out"; then
                fail "lintian reports errors"
        fi
        ok "lintian reports no error"
        if grep -q '^W: ' <<<"$out"; then
                fail "lintian reports warnings"
        fi
        ok "lintian reports no warning"
}

# An app declared, its user and releases there, before the package arrives (BG_INSTALL=none).
declare_app() {
        bg_setup
        bg_release r1
        bg_release r2
        [ "$(ct_exec systemctl show -P LoadState "$BG_APP-rollback.service")" = not-found ] ||
                fail "$BG_APP-rollback.service exists before the package is installed"
        [[ "$(ct_exec journalctl --list-catalog --no-pager)" != *0d99ee444a514695a2d80fc57bd35f3a* ]] ||
                fail "journalctl's catalog database knows bluegreen before the package is installed"
}

check_installed() {
        local files
        files=$(ct_exec dpkg -L bluegreen)
        assert_contains "$files" "$(pkg-config --variable=systemdsystemgeneratordir systemd)/bluegreen-generator" \
                "the generator is where systemd.pc says"
        assert_contains "$files" "$(pkg-config --variable=catalogdir systemd)/bluegreen.catalog" \
                "the catalog is where systemd.pc says"
        assert_contains "$files" "/usr/libexec/bluegreen/bluegreen-deploy" "the helpers are in /usr/libexec/bluegreen"
        assert_contains "$files" "/usr/share/doc/bluegreen/examples/saltbox-api/saltbox-api.conf" \
                "the example declaration is in /usr/share/doc/bluegreen/examples"
        grep -qx /etc/bluegreen <<<"$files" || fail "the package does not own /etc/bluegreen"
        ok "the package owns /etc/bluegreen"
        ! grep -q '^/etc/bluegreen/' <<<"$files" || fail "the package ships files into /etc/bluegreen"
        ok "the package ships no declaration into /etc/bluegreen"
        # No daemon-reload by the test: the units come from the postinst's.
        assert_eq loaded "$(ct_exec systemctl show -P LoadState "$BG_APP-rollback.service")" \
                "the postinst's daemon-reload generated the declared app's units"
        assert_contains "$(ct_exec systemctl show -P ExecStart "$BG_APP@blue.service")" \
                "/usr/libexec/bluegreen/bluegreen-exec" "the units run the package's helpers"
}

deploy_and_roll_back() {
        ct_exec systemctl start "$BG_APP.service"
        ct_exec systemctl reload nginx
        bg_deploy r1
        assert_eq r1 "$(bg_live_release)" "deployed with the package: nginx serves r1"
        bg_deploy r2
        assert_eq r2 "$(bg_live_release)" "the second deploy switches to r2"
        ct_exec systemctl start "$BG_APP-rollback.service" || fail "rollback failed"
        assert_eq r1 "$(bg_live_release)" "the rollback switches back to r1"
        assert_eq blue "$(cat "$CT_ROOT$BG_STATE/active")" "the state says blue is live"
}

# Nobody ran journalctl --update-catalog: systemd's dpkg trigger for its catalog directory did.
check_catalog() {
        local explained
        explained=$(ct_exec journalctl -x MESSAGE_ID=0d99ee444a514695a2d80fc57bd35f3a BLUEGREEN_RELEASE=r1 --no-pager)
        assert_contains "$explained" "Subject: Release r1 of $BG_APP is live on the blue color" \
                "journalctl -x explains the deploy from the package's catalog"
        assert_contains "$(ct_exec journalctl --list-catalog --no-pager)" "0d99ee444a514695a2d80fc57bd35f3a" \
                "the catalog is in journalctl's database"
}

check_removed() {
        ct_exec dpkg -r bluegreen >/dev/null 2>&1 || fail "dpkg -r bluegreen failed"
        assert_eq "rc " "$(ct_exec dpkg-query -W -f='${db:Status-Abbrev}' bluegreen)" \
                "dpkg -r leaves only the package's record (its postrm) behind"
        if [ -e "$CT_ROOT/lib/systemd/system-generators/bluegreen-generator" ] || [ -d "$CT_ROOT/usr/libexec/bluegreen" ]; then
                fail "dpkg -r left the generator or the helpers behind"
        fi
        ok "the generator and the helpers are gone"
        assert_eq not-found "$(ct_exec systemctl show -P LoadState "$BG_APP-rollback.service")" \
                "the postrm's daemon-reload took the generated units away"
        [ -z "$(ct_exec systemctl list-unit-files --no-legend "$BG_APP*")" ] ||
                fail "unit files of $BG_APP are left: $(ct_exec systemctl list-unit-files --no-legend "$BG_APP*")"
        ok "no unit file of $BG_APP is left"
        [[ "$(ct_exec journalctl --list-catalog --no-pager)" != *0d99ee444a514695a2d80fc57bd35f3a* ]] ||
                fail "the catalog is still in journalctl's database"
        ok "the catalog left journalctl's database with the package"
        [ -f "$CT_ROOT/etc/bluegreen/$BG_APP.conf" ] || fail "dpkg -r removed the declaration"
        assert_eq blue "$(cat "$CT_ROOT$BG_STATE/active")" "the state in /var/lib/bluegreen is kept"
        assert_eq r1 "$(bg_live_release)" "the running colors are not stopped: nginx still serves r1"
        ct_exec dpkg --purge bluegreen >/dev/null 2>&1 || fail "dpkg --purge bluegreen failed"
        assert_eq "" "$(ct_exec dpkg-query -W -f='${db:Status-Abbrev}' bluegreen 2>/dev/null || true)" \
                "dpkg --purge forgets the package"
        if [ ! -f "$CT_ROOT$BG_STATE/active" ] || [ ! -f "$CT_ROOT/etc/bluegreen/$BG_APP.conf" ]; then
                fail "dpkg --purge removed the admin's declaration or state"
        fi
        ok "dpkg --purge keeps the admin's declaration and state"
}

start=$(date +%s)
deb_build
echo "# package ready in $(($(date +%s) - start)) s: $BG_DEB"
check_lintian
declare_app
deb_install
check_installed
deploy_and_roll_back
check_catalog
check_removed
echo "55-deb: all checks passed in $(($(date +%s) - start)) s"

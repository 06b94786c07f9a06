# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The Debian package in the system tests. Source it after bluegreen.sh:
#
#   deb_build            build the .deb of this source tree (tools/build-deb.sh, cached per tree in
#                        BLUEGREEN_BUILD_DIR/deb); sets BG_DEB and BG_DEB_CHANGES
#   deb_install          dpkg -i BG_DEB in the running container (no "meson install")
#   deb_assert_no_meson_install
#                        fails the test if the container holds a /usr/local install of bluegreen,
#                        which would run instead of the package's programs and hide what it lacks
#
# BG_INSTALL, read when this file is sourced, changes what bg_install (and so bg_setup) does:
#   deb    install the package instead of "meson install", so that any system test can run against it
#   none   install nothing: the test installs the package itself later (55-deb.sh: onto an app
#          already declared, to see the postinst generate its units)

BG_SOURCE=${BLUEGREEN_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

deb_build() {
        BG_DEB=$("$BG_SOURCE/tools/build-deb.sh" "$BG_BUILD/deb") || fail "tools/build-deb.sh failed"
        BG_DEB_CHANGES=${BG_DEB%.deb}.changes
        if [ ! -f "$BG_DEB" ] || [ ! -f "$BG_DEB_CHANGES" ]; then
                fail "tools/build-deb.sh left no $BG_DEB and .changes"
        fi
}

deb_assert_no_meson_install() {
        local p
        for p in usr/local/lib/systemd/system-generators/bluegreen-generator usr/local/libexec/bluegreen \
                usr/local/bin/bluegreenctl usr/local/lib/systemd/catalog/bluegreen.catalog; do
                [ ! -e "$CT_ROOT/$p" ] || fail "the container has a meson install (/$p): the package test would not test the package"
        done
}

# The package is copied below /var/tmp: the container's /tmp is a tmpfs of its own.
deb_install() {
        [ -n "${BG_DEB:-}" ] || deb_build
        deb_assert_no_meson_install
        mkdir -p "$CT_ROOT/var/tmp/bluegreen-deb"
        cp "$BG_DEB" "$CT_ROOT/var/tmp/bluegreen-deb/"
        BG_DPKG_LOG=$(ct_exec dpkg -i "/var/tmp/bluegreen-deb/${BG_DEB##*/}" 2>&1) || {
                echo "$BG_DPKG_LOG" >&2
                fail "dpkg -i ${BG_DEB##*/} failed in the container"
        }
}

case ${BG_INSTALL:-meson} in
deb) bg_install() { deb_install; } ;;
none) bg_install() { :; } ;;
esac

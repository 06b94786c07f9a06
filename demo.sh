#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job, shown for real: installs what it needs, builds, boots a throwaway systemd container
# with nginx and an example FastAPI app under gunicorn, deploys release 1, deploys release 2, rolls
# back, and prints what happened. Nothing on the host is changed but the packages it installs and
# the build directory; the container is removed at the end. Run as root.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

tools/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >/dev/null
export BLUEGREEN_BUILD_DIR=$PWD/build
. tests/system/bluegreen.sh

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

say "Booting a throwaway systemd container and installing bluegreen into it"
bg_setup
echo "declaration /etc/bluegreen/$BG_APP.conf:"
sed 's/^/    /' "$CT_ROOT/etc/bluegreen/$BG_APP.conf"
bg_release r1
bg_release r2
ct_exec systemctl start "$BG_APP.service"
ct_exec systemctl reload nginx
echo "generated units:"
ct_exec systemctl list-unit-files --no-pager --no-legend "$BG_APP*" | sed 's/^/    /'

timeline() { # UNIT
        ct_exec journalctl -u "$1" -o cat --no-pager | grep -E 'Timeline|failed' | tail -n 1 | sed 's/^/    /'
}

say "Deploy r1:  systemctl start $BG_APP-deploy@r1"
bg_deploy r1
timeline "$BG_APP-deploy@r1.service"
echo "    nginx now serves: $(bg_curl http://127.0.0.1:8080/v)"

say "Deploy r2:  systemctl start $BG_APP-deploy@r2"
bg_deploy r2
timeline "$BG_APP-deploy@r2.service"
echo "    nginx now serves: $(bg_curl http://127.0.0.1:8080/v)"

say "Roll back:  systemctl start $BG_APP-rollback"
ct_exec systemctl start "$BG_APP-rollback.service"
timeline "$BG_APP-rollback.service"
echo "    nginx now serves: $(bg_curl http://127.0.0.1:8080/v)"

say "bluegreenctl status"
ct_exec bluegreenctl status | sed 's/^/    /'

say "Where to look on a real server"
cat <<TXT
    journalctl -u $BG_APP-deploy@r2       a deploy's steps and its timeline
    journalctl -u $BG_APP@green           the app itself, and its health gate
    journalctl MESSAGE_ID=0d99ee444a514695a2d80fc57bd35f3a   every successful deploy
    systemctl list-timers '$BG_APP-retire@*'   when the old color is retired
    man bluegreen.conf bluegreen-deploy   (after meson install)
TXT
say "Removing the container"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job, shown for real: installs what it needs, builds, boots a throwaway systemd container
# with nginx and the example app (examples/saltbox-api: FastAPI under gunicorn), deploys release r1,
# then, while wrk keeps 32 keep-alive connections busy through nginx, deploys r2 and rolls back, and
# prints each step's timeline, what nginx serves before and after, and how many requests failed.
# Nothing on the host changes but the packages it installs and the build directory; the container is
# removed at the end. Run as root.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

tools/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >/dev/null
export BLUEGREEN_BUILD_DIR=$PWD/build
. tests/system/bluegreen.sh
example=examples/saltbox-api

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
serves() { bg_curl http://127.0.0.1:8080/v; }
timeline() { # CURSOR UNIT
        for _ in $(seq 100); do
                tl=$(ct_exec journalctl --after-cursor="$1" -u "$2" -o cat --no-pager | grep -E 'Timeline' || true)
                [ -n "$tl" ] && break
                sleep 0.05
        done
        echo "    $tl"
}
cursor() { ct_exec journalctl -n 0 --show-cursor -q | sed -n 's/^-- cursor: //p'; }
release() { # NAME
        mkdir -p "$CT_ROOT$BG_RELEASES/$1"
        cp -r "$example/app" "$CT_ROOT$BG_RELEASES/$1/"
        ct_exec chown -R saltbox:saltbox "$BG_RELEASES/$1"
}

say "Booting a throwaway systemd container and installing bluegreen into it"
ct_boot
bg_install
ct_exec useradd --system --home-dir /srv/saltbox --shell /usr/sbin/nologin saltbox
ct_exec install -d -o saltbox -g saltbox /srv/saltbox "$BG_RELEASES" /srv/saltbox/shared
mkdir -p "$CT_ROOT/etc/bluegreen"
cp "$example/saltbox-api.conf" "$CT_ROOT/etc/bluegreen/"
cp "$example/nginx-site" "$CT_ROOT/etc/nginx/sites-enabled/saltbox-api"
release r1
release r2
ct_exec systemctl daemon-reload
ct_exec systemctl start "$BG_APP.service"
ct_exec systemctl reload nginx
echo "declaration: $example/saltbox-api.conf; generated units:"
ct_exec systemctl list-unit-files --no-pager --no-legend "$BG_APP*" | sed 's/^/    /'

say "Deploy r1:  systemctl start $BG_APP-deploy@r1"
c=$(cursor)
bg_deploy r1
timeline "$c" "$BG_APP-deploy@r1.service"
echo "    nginx serves: $(serves)"

say "Under load (wrk -t2 -c32, keep-alive, through nginx): deploy r2, then roll back"
ct_exec wrk -t2 -c32 -d20s --latency http://127.0.0.1:8080/v >"$CT_DIR/wrk.txt" 2>&1 &
wrk_pid=$!
sleep 3
c=$(cursor)
bg_deploy r2
timeline "$c" "$BG_APP-deploy@r2.service"
sleep 2
echo "    nginx serves: $(serves)"
sleep 3
c=$(cursor)
ct_exec systemctl start "$BG_APP-rollback.service"
timeline "$c" "$BG_APP-rollback.service"
sleep 2
echo "    nginx serves: $(serves)"
wait "$wrk_pid" || true
requests=$(awk '/ requests in / { print $1 }' "$CT_DIR/wrk.txt")
non2xx=$(awk '/Non-2xx/ { print $NF }' "$CT_DIR/wrk.txt")
errors=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$CT_DIR/wrk.txt")
sed 's/^/    wrk| /' "$CT_DIR/wrk.txt" | grep -E 'requests in|Socket errors|Non-2xx|Latency  |99%|Requests/sec'
echo
echo "    $requests requests during a deploy and a rollback: $(( ${non2xx:-0} + ${errors:-0} )) failed."
echo "    (nginx's pooled connections reach the old color for up to nginx.keepalive_time_s, 1 s, after a switch)"

say "bluegreenctl status"
ct_exec bluegreenctl status | sed 's/^/    /'

say "Where to look on a real server"
cat <<TXT
    journalctl -u $BG_APP-deploy@r2       a deploy's steps and its timeline
    journalctl -u $BG_APP@green           the app itself, and its health gate
    journalctl MESSAGE_ID=0d99ee444a514695a2d80fc57bd35f3a   every successful deploy
    systemctl list-timers '$BG_APP-retire@*'   when the old color is retired
    man bluegreen.conf bluegreen-deploy   (after meson install); docs/operations.md
TXT
say "Removing the container"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job, shown for real: installs what it needs, builds, boots a throwaway systemd container
# with nginx and the example app (examples/saltbox-api: FastAPI under gunicorn, declared as shipped:
# socket mode, each color on a unix socket of its own, nginx on one link to the live one), deploys
# release r1, then, while wrk keeps 32 keep-alive connections busy through nginx, deploys r2 and rolls
# back, and prints each step's timeline, where the link leads, that nginx was not reloaded (the same
# master and workers), what nginx serves before and after, and how many requests failed.
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
link() { echo "    /run/bluegreen/$BG_APP/live.sock -> $(ct_exec readlink "/run/bluegreen/$BG_APP/live.sock")"; }
# nginx's master and workers (once those of the reload above have gone: they retitle "shutting down").
nginx_pids() {
        local master
        master=$(ct_exec systemctl show -P MainPID nginx.service)
        for _ in $(seq 50); do
                ct_exec ps -o args= --ppid "$master" | grep -q "shutting down" || break
                sleep 0.1
        done
        echo "master $master, workers $(ct_exec pgrep -P "$master" | sort -n | tr '\n' ' ')"
}
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
echo "nginx's upstream, the same whatever the live color:"
bg_include | grep -E '^ *(server|keepalive)' | sed 's/^ */    /'

say "Deploy r1:  systemctl start $BG_APP-deploy@r1"
c=$(cursor)
bg_deploy r1
timeline "$c" "$BG_APP-deploy@r1.service"
echo "    nginx serves: $(serves)"
link
sleep 1
pids_before=$(nginx_pids)

say "Under load (wrk -t2 -c32, keep-alive, through nginx): deploy r2, then roll back"
ct_exec wrk -t2 -c32 -d20s --latency http://127.0.0.1:8080/v >"$CT_DIR/wrk.txt" 2>&1 &
wrk_pid=$!
sleep 3
c=$(cursor)
bg_deploy r2
timeline "$c" "$BG_APP-deploy@r2.service"
sleep 2
echo "    nginx serves: $(serves)"
link
sleep 3
c=$(cursor)
ct_exec systemctl start "$BG_APP-rollback.service"
timeline "$c" "$BG_APP-rollback.service"
sleep 2
echo "    nginx serves: $(serves)"
link
wait "$wrk_pid" || true
requests=$(awk '/ requests in / { print $1 }' "$CT_DIR/wrk.txt")
non2xx=$(awk '/Non-2xx/ { print $NF }' "$CT_DIR/wrk.txt")
errors=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$CT_DIR/wrk.txt")
sed 's/^/    wrk| /' "$CT_DIR/wrk.txt" | grep -E 'requests in|Socket errors|Non-2xx|Latency  |99%|Requests/sec'
echo
echo "    $requests requests during a deploy and a rollback: $(( ${non2xx:-0} + ${errors:-0} )) failed."
echo "    (nginx's pooled connections reach the old color for up to nginx.keepalive_time_s, 1 s, after a switch)"
pids_after=$(nginx_pids)
echo "    nginx before the deploy: $pids_before"
echo "    nginx after the rollback: $pids_after"
if [ "$pids_before" = "$pids_after" ]; then
        echo "    the same processes: no switch reloaded nginx"
else
        echo "    nginx's processes changed"
fi

say "bluegreenctl status"
ct_exec bluegreenctl status | sed 's/^/    /'

say "Where to look on a real server"
cat <<TXT
    journalctl -u $BG_APP-deploy@r2       a deploy's steps and its timeline
    journalctl -u $BG_APP@green           the app itself, and its health gate
    ls -l /run/bluegreen/$BG_APP          the colors' socket directories and live.sock, the link nginx uses
    journalctl MESSAGE_ID=0d99ee444a514695a2d80fc57bd35f3a   every successful deploy
    systemctl list-timers '$BG_APP-retire@*'   when the old color is retired
    man bluegreen.conf bluegreen-deploy   (after meson install); docs/operations.md
TXT
say "Removing the container"

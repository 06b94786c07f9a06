#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A machine image's first boot: the disk holds the declaration (with initial_release), one release, the
# nginx site and the app user, and nothing else; no one runs daemon-reload, a start or a deploy. The boot
# alone must serve the release through nginx, the next boot bring it back, and once a later deploy ran,
# initial_release is ignored. A second app whose initial release is missing fails alone.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

# Waits for nginx to serve WANT on /v; prints what it served last and the seconds since START.
wait_serving() { # WANT START
        local got="" deadline=$((SECONDS + 90))
        while [ $SECONDS -lt $deadline ]; do
                got=$(bg_live_release 2>/dev/null || true)
                [ "$got" = "$1" ] && break
                sleep 0.2
        done
        echo "$got $(awk -v a="$(date +%s.%N)" -v b="$2" 'BEGIN { printf "%.1f", a - b }')"
}

boot_log() { # UNIT: what it logged in this boot
        ct_exec journalctl -b -u "$1" --no-pager -o cat
}

# The image, written before the container ever boots. dpkg needs the container running, so the package
# (BG_INSTALL=deb) cannot go into the image this way.
if [ "${BG_INSTALL:-meson}" != meson ]; then
        echo "58-first-boot: BG_INSTALL=${BG_INSTALL} cannot install into an image before its boot, skipping"
        exit 77
fi
ct_prepare
bg_install
useradd --root "$CT_ROOT" --system --home-dir /srv/saltbox --shell /usr/sbin/nologin saltbox
mkdir -p "$CT_ROOT$BG_RELEASES" "$CT_ROOT/srv/saltbox/shared" "$CT_ROOT/srv/ghost/releases"
BG_EXTRA_DECL='initial_release = "r1";' bg_declare
bg_site
# bg_release chowns inside the container, which is not running yet: the image's own root does it.
(
        ct_exec() { chroot "$CT_ROOT" "$@"; }
        bg_release r1
)
chroot "$CT_ROOT" chown -R saltbox:saltbox /srv/saltbox
cat >"$CT_ROOT/etc/bluegreen/ghost.conf" <<'CONF'
releases = "/srv/ghost/releases";
exec = "/bin/false ${SOCKET}";
initial_release = "gone";
CONF

start=$(date +%s.%N)
ct_boot
read -r served took <<<"$(wait_serving r1 "$start")"
assert_eq r1 "$served" "the first boot alone serves the initial release r1 through nginx"
echo "58-first-boot: nginx served r1 ${took} s after the container's boot began"
assert_eq blue "$(cat "$CT_ROOT$BG_STATE/active")" "state: blue is live"
assert_eq "$BG_RELEASES/r1" "$(ct_exec readlink "$BG_STATE/blue")" "state: blue is pinned to r1"
assert_contains "$(cat "$CT_ROOT$BG_STATE/history")" "deploy r1 blue" "history records the boot's deploy"
assert_contains "$(boot_log "$BG_APP.service")" \
        "$BG_APP has not been deployed yet: queued $BG_APP-deploy@r1.service, its initial release." \
        "the boot says it queued the deploy"
assert_eq success "$(ct_exec systemctl show -P Result "$BG_APP-deploy@r1.service")" "the boot's deploy succeeded"
assert_eq "" "$(ct_exec systemctl show -P WantedBy "$BG_APP-deploy@r1.service")" \
        "nothing wants the deploy unit: only the boot's job started it"
assert_eq active "$(bg_active nginx.service)" "nginx started"
# The other app: its release is missing, so its unit fails, and the failure is its own.
assert_contains "$(boot_log ghost.service)" \
        "The initial release of ghost is missing: /srv/ghost/releases/gone is not a directory; not deploying it." \
        "a missing initial release is named in the journal"
assert_eq 1 "$(ct_exec systemctl show -P ExecMainStatus ghost.service)" "and fails ghost.service with status 1"
assert_eq "" "$(ct_exec systemctl list-units --no-legend --plain 'ghost-deploy@*')" "no deploy of ghost was queued"

start=$(date +%s.%N)
ct_poweroff_and_boot_again
read -r served took <<<"$(wait_serving r1 "$start")"
assert_eq r1 "$served" "the second boot serves r1 again"
echo "58-first-boot: after the reboot nginx served r1 ${took} s after the poweroff began"
assert_contains "$(boot_log "$BG_APP.service")" "Starting the live blue color of $BG_APP on r1." \
        "the second boot brings back the recorded state"
assert_eq 1 "$(grep -c "deploy r1" "$CT_ROOT$BG_STATE/history")" "and deploys nothing"

bg_release r2
bg_deploy r2
assert_eq r2 "$(bg_wait_live_release r2)" "a deploy after the first boot works as always"
start=$(date +%s.%N)
ct_poweroff_and_boot_again
read -r served took <<<"$(wait_serving r2 "$start")"
assert_eq r2 "$served" "after another reboot nginx still serves r2: initial_release is ignored"
assert_eq green "$(cat "$CT_ROOT$BG_STATE/active")" "green is still live"
assert_eq 1 "$(grep -c "deploy r1" "$CT_ROOT$BG_STATE/history")" "r1 was not deployed again"
case "$(boot_log "$BG_APP.service")" in
*queued*) fail "the boot queued a deploy although $BG_APP was deployed" ;;
esac
echo "58-first-boot: all checks passed"

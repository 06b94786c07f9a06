#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# nginx.switch = "socket", with both example apps: the runbook's FastAPI app under gunicorn (--bind
# unix:${SOCKET}) and examples/hello-c, built by this build, from its own declaration and nginx site.
# Each color listens on its own unix socket and nginx connects to one stable link:
#   - the FastAPI app moves from reload to socket mode: a systemctl reload of the app refuses to point
#     nginx at a socket its live color does not have; the next deploy moves it, with one nginx reload;
#   - then deploys and rollbacks of both apps move the link, and nginx is never reloaded (same master
#     and worker PIDs, no "Reloaded" in its journal);
#   - nginx's workers (www-data) can connect to each socket, through the link too; another local user
#     can connect to none of them, nor list their directories; the same with DynamicUser=yes;
#   - kill -9 of the live app: the color comes back and nginx serves it again; with the socket's
#     directory kept across restarts (RuntimeDirectoryPreserve=restart), the killed app leaves a stale
#     socket, which hello-c would not bind over, and bluegreen-socket-dir removes it;
#   - nft flush ruleset, a restart of nftables or of nginx change nothing;
#   - after a reboot (/run is a fresh tmpfs) the links are back, set before nginx started.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

HELLO=hello-c
DYN=hello-dyn
sock_dir() { echo "/run/bluegreen/$1"; }        # APP
as_user() { ct_exec setpriv --reuid="$1" --regid="$1" --init-groups "${@:2}"; } # USER CMD...
connects() { # USER SOCKET: the answer to GET /v over SOCKET, or why not ("Permission denied", ...)
        as_user "$1" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
try:
    s.connect(sys.argv[1])
    s.sendall(b"GET /v HTTP/1.0\r\nHost: localhost\r\n\r\n")
    answer = b""
    while chunk := s.recv(65536):
        answer += chunk
    print(answer.decode(errors="replace"))
except OSError as e:
    print(e.strerror)
' "$2" || true
}
# nginx's master and its workers, once the workers from before a reload have gone (they retitle
# themselves "shutting down" a moment after the new ones start, then exit): the same list twice, 0.2 s
# apart, with none shutting down.
nginx_pids() {
        local master now last=""
        master=$(ct_exec systemctl show -P MainPID nginx.service)
        for _ in $(seq 50); do
                now="$master $(ct_exec ps -o pid=,args= --ppid "$master" | sort -n | tr -s ' \n' ' ')"
                [ "$now" = "$last" ] && [[ "$now" != *"shutting down"* ]] && break
                last=$now
                sleep 0.2
        done
        echo "$now"
}
nginx_reloads() { ct_exec journalctl -u nginx.service -o cat --no-pager | grep -c '^Reloaded' || true; }
hello() { BG_APP=$HELLO BG_RELEASES=$BG_HELLO_RELEASES BG_STATE=/var/lib/bluegreen/$HELLO "$@"; }
wait_active() { # UNIT
        for _ in $(seq 100); do
                [ "$(bg_active "$1")" = active ] && return 0
                sleep 0.1
        done
        fail "$1 is $(bg_active "$1"), not active"
}

# The FastAPI app starts out as it ran before socket mode (reload switch, ports 9011 and 9012) and is
# moved to socket mode as docs/operations.md says: new declaration, daemon-reload, deploy.
bg_setup
bg_hello_setup
# The same program under DynamicUser=yes (no user declared): its socket directory is the dynamic user's.
sed -e "s|/srv/hello/releases|/srv/dyn/releases|" -e '/^user = /d' "$CT_ROOT/etc/bluegreen/$HELLO.conf" \
        >"$CT_ROOT/etc/bluegreen/$DYN.conf"
ct_exec install -d /srv/dyn/releases
ct_exec useradd --create-home --shell /bin/sh mallory
ct_exec systemctl daemon-reload
bg_release r1
bg_release r2
bg_hello_release r1
bg_hello_release r2
bg_hello_release r1 /srv/dyn/releases
for app in "$BG_APP" "$HELLO" "$DYN"; do
        ct_exec systemctl start "$app.service"
done
ct_exec systemctl reload nginx
bg_deploy r1
assert_contains "$(bg_include)" "server 127.0.0.1:9011;" "reload mode: nginx goes to blue's port"

BG_SWITCH=socket
bg_declare
ct_exec systemctl daemon-reload
assert_contains "$(ct_exec systemctl show -P ExecStartPre "$BG_APP@blue.service")" bluegreen-socket-dir \
        "the colors prepare their socket's directory as root before the app starts"
ct_exec systemctl reload "$BG_APP.service" 2>/dev/null && fail "systemctl reload pointed nginx at a socket the live color does not have"
assert_contains "$(ct_exec journalctl -u "$BG_APP.service" -o cat --no-pager)" "the live blue color runs but has no socket" \
        "right after the change to socket mode, systemctl reload refuses to point nginx at the link"
assert_contains "$(bg_include)" "server 127.0.0.1:9011;" "and leaves the include as it was"
assert_eq r1 "$(bg_live_release)" "nginx still serves r1 from blue's port"
reloads_before=$(nginx_reloads)
bg_deploy r2
assert_eq r2 "$(bg_wait_live_release r2)" "the next deploy serves r2 from green's socket"
assert_contains "$(bg_include)" "server unix:/run/bluegreen/$BG_APP/live.sock;" "its switch rewrote the include to the link"
assert_contains "$(bg_include)" "keepalive_time 1s;" "pooled connections are recycled after keepalive_time"
assert_eq $((reloads_before + 1)) "$(nginx_reloads)" "with one nginx reload, the last one"
ct_exec systemctl start "$BG_APP-rollback.service"
assert_eq r1 "$(bg_wait_live_release r1)" "a rollback restarts blue on its socket and serves r1"
assert_eq blue/http.sock "$(ct_exec readlink "$(sock_dir "$BG_APP")/live.sock")" "the link leads to blue's socket"
ct_exec systemctl reload "$BG_APP.service"
ok "now systemctl reload $BG_APP.service is fine"

# From now on no switch of either app reloads nginx: the links move, nothing else.
pids_before=$(nginx_pids)
reloads_before=$(nginx_reloads)
hello bg_deploy r1
BG_APP=$DYN BG_STATE=/var/lib/bluegreen/$DYN bg_deploy r1
assert_eq r1 "$(bg_live_release 8081)" "hello-c: the first deploy serves r1 through the link"
hello bg_deploy r2
bg_deploy r2
assert_eq r2 "$(bg_wait_live_release r2)" "FastAPI: a deploy serves r2"
assert_eq r2 "$(bg_wait_live_release r2 8081)" "hello-c: the second deploy serves r2"
assert_eq green/http.sock "$(ct_exec readlink "$(sock_dir "$HELLO")/live.sock")" "the link leads to green's socket"
assert_contains "$(ct_exec journalctl -u "$BG_APP-deploy@r2.service" -o cat --no-pager)" "link " \
        "the deploy's timeline names the link step"
ct_exec systemctl start "$BG_APP-rollback.service" "$HELLO-rollback.service"
assert_eq r1 "$(bg_wait_live_release r1)" "FastAPI: the rollback serves r1 again"
assert_eq r1 "$(bg_wait_live_release r1 8081)" "hello-c: the rollback serves r1 again"
assert_eq "$pids_before" "$(nginx_pids)" "nginx's master and workers are the ones from before the switches"
assert_eq "$reloads_before" "$(nginx_reloads)" "no switch reloaded nginx"

# Who may connect: nginx's workers, through the link and to each color; nobody else.
for app in "$BG_APP" "$HELLO"; do
        d=$(sock_dir "$app")
        for s in live.sock blue/http.sock green/http.sock; do
                assert_contains "$(connects www-data "$d/$s")" '"release":"r' "$app: www-data connects to $s"
                assert_contains "$(connects mallory "$d/$s")" "Permission denied" "$app: another local user cannot connect to $s"
        done
        assert_contains "$(as_user mallory ls "$d/blue" 2>&1 || true)" "Permission denied" \
                "$app: another local user cannot list a color's socket directory"
done
dyn_owner=$(ct_exec stat -c %u "$(sock_dir "$DYN")/blue")
[ "$dyn_owner" -ge 61184 ] || fail "$DYN: its socket directory is owned by UID $dyn_owner, not a dynamic user"
assert_contains "$(connects www-data "$(sock_dir "$DYN")/live.sock")" '"release":"r1"' \
        "DynamicUser=yes: www-data connects to the socket of a directory the dynamic user (UID $dyn_owner) owns"
assert_contains "$(connects mallory "$(sock_dir "$DYN")/live.sock")" "Permission denied" \
        "DynamicUser=yes: another local user cannot connect"
assert_contains "$(ct_exec bluegreenctl status "$BG_APP")" "switch: socket" "bluegreenctl status names the socket switch"

# kill -9 of the live app. FastAPI as installed: systemd removes the color's directory with it, and
# the color comes back on its own (Restart=on-failure). No watch runs now: the rollback ended it.
ct_exec systemctl kill --kill-who=main --signal=SIGKILL "$BG_APP@blue.service"
sleep 0.3
wait_active "$BG_APP@blue.service"
assert_eq r1 "$(bg_wait_live_release r1)" "FastAPI: after kill -9 the live color comes back and nginx serves it"
# hello-c with its socket's directory kept across restarts: the killed app leaves its socket behind.
mkdir -p "$CT_ROOT/etc/systemd/system/$HELLO@.service.d"
printf '[Service]\nRuntimeDirectoryPreserve=restart\n' >"$CT_ROOT/etc/systemd/system/$HELLO@.service.d/keep.conf"
ct_exec systemctl daemon-reload
main_before=$(ct_exec systemctl show -P MainPID "$HELLO@blue.service")
ct_exec systemctl kill --kill-who=main --signal=SIGKILL "$HELLO@blue.service"
sleep 0.2
ct_exec test -S "$(sock_dir "$HELLO")/blue/http.sock" || fail "hello-c: no stale socket was left by kill -9"
assert_contains "$(connects www-data "$(sock_dir "$HELLO")/blue/http.sock")" "Connection refused" \
        "hello-c: kill -9 leaves a stale socket (connection refused)"
wait_active "$HELLO@blue.service"
[ "$main_before" != "$(ct_exec systemctl show -P MainPID "$HELLO@blue.service")" ] || fail "hello-c was not restarted"
assert_contains "$(ct_exec journalctl -u "$HELLO@blue.service" -o cat --no-pager)" \
        "Removed the stale socket /run/bluegreen/$HELLO/blue/http.sock." "hello-c: bluegreen-socket-dir removed the stale socket"
assert_eq r1 "$(bg_wait_live_release r1 8081)" "hello-c: after kill -9 the color comes back over its stale socket"
rm -r "$CT_ROOT/etc/systemd/system/$HELLO@.service.d"

# No firewall state: a flushed ruleset or a restart of nftables changes nothing; nor does a restart
# of nginx, which reads the same include.
ct_exec nft flush ruleset
assert_eq r1 "$(bg_live_release)" "after nft flush ruleset nginx still serves r1"
ct_exec systemctl restart nftables.service
assert_eq r1 "$(bg_live_release)" "after systemctl restart nftables nginx still serves r1"
ct_exec systemctl restart nginx.service
assert_eq r1 "$(bg_live_release)" "after systemctl restart nginx it serves r1"
assert_eq 0 "$(ct_exec bluegreenctl status "$BG_APP" >/dev/null; echo $?)" "and bluegreenctl status reports no problem"

# A reboot: /run is empty, bluegreen-boot sets each link before nginx starts.
ct_poweroff_and_boot_again
for app in "$BG_APP" "$HELLO"; do
        wait_active "$app@blue.service"
        assert_eq blue/http.sock "$(ct_exec readlink "$(sock_dir "$app")/live.sock")" "$app: after a reboot the link is back"
        linked=$(ct_exec journalctl -b -o short-unix --no-pager -u "$app.service" | awk '/Starting the live/ { print $1; exit }')
        nginx=$(ct_exec journalctl -b -o short-unix --no-pager -u nginx.service | awk '/Starting nginx/ { print $1; exit }')
        awk -v a="$linked" -v b="$nginx" 'BEGIN { exit !(a != "" && b != "" && a + 0 <= b + 0) }' ||
                fail "$app: the link was set at ${linked:-?}, nginx started at ${nginx:-?}"
        ok "$app: the link was set before nginx started (${linked} <= ${nginx})"
done
assert_eq r1 "$(bg_wait_live_release r1)" "FastAPI: after the reboot nginx serves r1"
assert_eq r1 "$(bg_wait_live_release r1 8081)" "hello-c: after the reboot nginx serves r1"
echo "45-socket: all checks passed"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bluegreenctl maintenance, through the real nginx, with the reload switch, then the socket switch
# (each in a container of its own; BG_SWITCH=reload or socket runs one):
#   - on: nginx answers 503 with Retry-After and the message, escaped as HTML, while both colors run;
#     status says MAINTENANCE; a message with a control character is refused, naming --message;
#   - a reboot keeps the 503 (the boot renders the maintenance include from the state);
#   - a deploy while on switches the state (and a retirement stops the old color) but keeps the 503;
#   - off: nginx serves the live release, the one that deploy put live.
set -euo pipefail
if [ -z "${BG_SWITCH:-}" ]; then
        BG_SWITCH=reload bash "$0" && BG_SWITCH=socket bash "$0"
        exit
fi
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

# The status code, the Retry-After header and the body of GET /v through nginx, in one text.
through_nginx() {
        bg_curl -i "http://127.0.0.1:8080/v" | tr -d '\r' || true
}
expect_maintenance() { # WHAT
        local got=""
        for _ in $(seq 50); do
                got=$(through_nginx)
                [[ $got == "HTTP/1.1 503"* ]] && break
                sleep 0.1
        done
        assert_contains "$got" "HTTP/1.1 503" "$1: nginx answers 503"
        assert_contains "$got" "Retry-After: 120" "$1: with Retry-After"
        assert_contains "$got" "Back at 5 &#60;b&#62;soon&#60;/b&#62; &#38; caf" "$1: with the message, escaped"
}

bg_setup
bg_release r1
bg_release r2
bg_release r3
bg_deploy r1
bg_deploy r2
assert_eq r2 "$(bg_wait_live_release r2)" "before maintenance nginx serves r2"

rc=0
err=$(ct_exec bluegreenctl maintenance "$BG_APP" on --message $'bad\x01message' 2>&1) || rc=$?
assert_eq 64 "$rc" "a message with a control character is refused"
assert_contains "$err" "--message" "the refusal names --message"
[ "$(ct_exec bluegreenctl maintenance "$BG_APP")" = "$BG_APP: maintenance off" ] || fail "the refused message changed the state"

ct_exec bluegreenctl maintenance "$BG_APP" on --message 'Back at 5 <b>soon</b> & café'
expect_maintenance "on"
assert_eq active "$(bg_active "$BG_APP@blue.service")" "the warm color keeps running"
assert_eq active "$(bg_active "$BG_APP@green.service")" "the live color keeps running"
assert_contains "$(ct_exec bluegreenctl status "$BG_APP")" "MAINTENANCE: nginx answers 503" "status says MAINTENANCE"
ct_exec bluegreenctl status "$BG_APP" >/dev/null || fail "status calls maintenance a problem"
assert_contains "$(ct_exec bluegreenctl --json maintenance "$BG_APP")" '"maintenance":true' "maintenance --json"

ct_poweroff_and_boot_again
assert_eq active "$(bg_active nginx.service)" "nginx started at boot"
expect_maintenance "after a reboot"

bg_deploy r3
assert_eq blue "$(ct_exec cat "$BG_STATE/active")" "the deploy made blue live"
expect_maintenance "after a deploy while on"
# The watch of r3 holds green back (it may roll back to it): end it, then retire green by hand.
ct_exec systemctl stop "$BG_APP-watch@r3.service"
ct_exec systemctl start "$BG_APP-retire@green.service" || fail "the retirement of green failed in maintenance"
assert_eq inactive "$(bg_active "$BG_APP@green.service")" "in maintenance the old color retires"
assert_eq active "$(bg_active "$BG_APP@blue.service")" "and the live one runs"

ct_exec bluegreenctl maintenance "$BG_APP" off
assert_eq r3 "$(bg_wait_live_release r3)" "off: nginx serves the release the deploy put live"
code=$(bg_curl -o /dev/null -w '%{http_code}' "http://127.0.0.1:8080/v")
assert_eq 200 "$code" "off: no 503 any more"
[ "$(ct_exec bluegreenctl maintenance "$BG_APP")" = "$BG_APP: maintenance off" ] || fail "maintenance still on"
echo "59-maintenance: all checks passed"

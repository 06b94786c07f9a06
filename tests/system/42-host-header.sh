#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An app that, like Django with ALLOWED_HOSTS or Rails with config.hosts, answers 400 to a request
# whose Host it does not know: probed as 127.0.0.1:PORT, it fails its health gate, and the deploy's
# journal quotes the 400; with health.host declared, the gate and the smoke checks (which inherit
# it) pass and nginx serves it. A smoke path that needs a token header passes only once the check
# declares that header, and the probes still connect to the color's own address.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

HOST=api.example.com
TOKEN='s3cr"et $HOME 100%'

# A release of the test app that refuses unknown hosts, as Django's CommonMiddleware does, and whose
# /token path needs X-Probe-Token.
picky_release() {
        bg_release "$1"
        cat >>"$CT_ROOT$BG_RELEASES/$1/app/main.py" <<PY


from fastapi import Request
from fastapi.responses import PlainTextResponse


@app.middleware("http")
async def allowed_hosts(request: Request, call_next):
    host = request.headers.get("host", "")
    if host != "$HOST":
        return PlainTextResponse(f"Invalid HTTP_HOST header: '{host}'.", status_code=400)
    return await call_next(request)


@app.get("/token")
def token(request: Request, response: Response):
    if request.headers.get("x-probe-token") != '''$TOKEN''':
        response.status_code = 403
        return {"token": "missing"}
    return {"token": "ok", "release": os.environ.get("BLUEGREEN_RELEASE")}
PY
}

# Replaces the declaration's health and smoke lines, and regenerates the units.
declare_probes() { # HEALTH-LINE SMOKE-LINE
        local conf=$CT_ROOT/etc/bluegreen/$BG_APP.conf
        grep -v -e '^health = ' -e '^smoke = ' "$conf" >"$conf.new"
        printf '%s\n%s\n' "$1" "$2" >>"$conf.new"
        mv "$conf.new" "$conf"
        ct_exec systemctl daemon-reload
        journal=$(ct_exec journalctl -b -t bluegreen-generator --since=-10s --no-pager -o cat)
        case "$journal" in *"no units generated"*) fail "the generator refused the declaration: $journal" ;; esac
}

# What nginx serves, asked by the app's public name, the only one the app answers (bluegreen.sh's own
# asks for 127.0.0.1:8080).
bg_live_release() {
        bg_curl -H "Host: $HOST" http://127.0.0.1:8080/v | sed -E 's/.*"release":"([^"]*)".*/\1/'
}

bg_setup
# The site passes the client's Host on, as a Django or Rails site does.
sed -i 's/^\([[:space:]]*\)proxy_set_header Connection "";$/&\n\1proxy_set_header Host $host;/' \
        "$CT_ROOT/etc/nginx/sites-enabled/$BG_APP"
assert_contains "$(cat "$CT_ROOT/etc/nginx/sites-enabled/$BG_APP")" 'proxy_set_header Host $host;' \
        "the site passes the client's Host on"
ct_exec systemctl start "$BG_APP.service"
ct_exec systemctl reload nginx
picky_release r1
picky_release r2

# With health.host declared, the gate passes and so does the smoke check, which inherits the Host.
declare_probes "health = { path = \"/healthz\"; host = \"$HOST\"; successes = 2; deadline_s = 20; };" \
        'smoke = ( { path = "/v"; body_contains = "${RELEASE}"; } );'
assert_contains "$(ct_exec cat "/run/systemd/generator/bluegreen/$BG_APP/app.env")" \
        "BLUEGREEN_SMOKE_0_HOST=\"$HOST\"" "the smoke check inherits health.host"
bg_deploy r1
assert_eq r1 "$(bg_live_release)" "with health.host the deploy succeeds and nginx serves r1"
assert_contains "$(ct_exec journalctl -u "$BG_APP@blue.service" --no-pager -o cat)" "The blue color is healthy" \
        "the health gate passed"
bg_snapshot

# Without it the probe says 127.0.0.1:9012, and the app refuses it.
declare_probes 'health = { path = "/healthz"; successes = 2; deadline_s = 4; };' \
        'smoke = ( { path = "/v"; body_contains = "${RELEASE}"; } );'
bg_deploy_fails r2 3
assert_contains "$BG_FAIL_LOG" "http://127.0.0.1:9012/healthz answered 400, expected 200" \
        "without health.host the gate fails on the app's 400"
assert_contains "$BG_FAIL_LOG" "Invalid HTTP_HOST header: '127.0.0.1:9012'" "and the journal quotes the app's answer"
bg_assert_untouched "health gate without the Host"
bg_assert_stopped_for_good green

# A smoke path that needs a token: refused without the header...
declare_probes "health = { path = \"/healthz\"; host = \"$HOST\"; successes = 2; deadline_s = 20; };" \
        'smoke = ( { path = "/v"; body_contains = "${RELEASE}"; }, { path = "/token"; body_contains = "ok"; } );'
bg_deploy_fails r2 3
assert_contains "$BG_FAIL_LOG" "smoke check failed" "a smoke check without the token fails the deploy"
assert_contains "$BG_FAIL_LOG" "/token (Host: $HOST) answered 403, expected 200" "the message names the Host and the 403"
bg_assert_untouched "smoke check without its token"
bg_assert_stopped_for_good green

# ...and passed with it, the value sent exactly as declared (quote, "$" and "%" included).
declare_probes "health = { path = \"/healthz\"; host = \"$HOST\"; successes = 2; deadline_s = 20; };" \
        "smoke = ( { path = \"/v\"; body_contains = \"\${RELEASE}\"; },
                   { path = \"/token\"; body_contains = \"ok\"; headers = [ \"X-Probe-Token: ${TOKEN//\"/\\\"}\" ]; } );"
bg_deploy r2
assert_eq r2 "$(bg_live_release)" "with the token header the smoke check passes and nginx serves r2"
assert_eq green "$(cat "$CT_ROOT$BG_STATE/active")" "green is live"

# A rollback probes the warm color as the gate does, with the declared Host: healthy, so it is not
# restarted.
ct_exec systemctl start "$BG_APP-rollback.service" || fail "rollback failed"
assert_eq r1 "$(bg_live_release)" "the rollback to the warm color succeeds"
journal=$(ct_exec journalctl -b -t bluegreen-rollback --no-pager -o cat)
assert_contains "$journal" "probe warm color" "the rollback found the warm color healthy"
case "$journal" in *"not healthy"*) fail "the rollback probed the warm color without its Host: $journal" ;; esac
echo "42-host-header: all checks passed"

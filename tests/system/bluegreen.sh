# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What the bluegreen system tests share, on top of lib.sh: installing the build into the container,
# the example app (FastAPI under gunicorn, from Debian's packages) and its declaration.
#
#   bg_setup             boot a container with bluegreen installed and the saltbox-api app declared
#   bg_release NAME [MODE]  create release NAME; MODE ok (default), unhealthy (/healthz answers 500),
#                        crash (exits at start-up), slow (healthy after 3 s)
#   bg_curl URL          curl inside the container, body on stdout
#   bg_live_release      the release nginx serves, as /v answers through nginx

BG_BUILD=${BLUEGREEN_BUILD_DIR:?run through meson test, or set BLUEGREEN_BUILD_DIR}
BG_APP=saltbox-api
BG_RELEASES=/srv/saltbox/releases
BG_STATE=/var/lib/bluegreen/$BG_APP

bg_install() {
        DESTDIR=$CT_ROOT meson install -C "$BG_BUILD" --no-rebuild --quiet >/dev/null ||
                fail "meson install into the container failed"
}

bg_declare() {
        mkdir -p "$CT_ROOT/etc/bluegreen"
        cat >"$CT_ROOT/etc/bluegreen/$BG_APP.conf" <<CONF
releases = "$BG_RELEASES";
exec = "/usr/bin/gunicorn --workers 2 --worker-class uvicorn.workers.UvicornWorker --bind 127.0.0.1:\${PORT} main:app";
workdir = "app";
user = "saltbox"; group = "saltbox";
ports = { blue = 9011; green = 9012; };
environment = { GREETING = "say \"hi\" at 100% \\\\ \$HOME"; };
health = { path = "/healthz"; timeout_ms = 500; interval_ms = 100; successes = 2; deadline_s = 20; };
smoke = ( { path = "/v"; expect_status = 200; body_contains = "\${RELEASE}"; } );
nginx = { include = "/etc/nginx/conf.d/bluegreen-$BG_APP.conf"; };
drain_s = ${BG_DRAIN_S:-600};
stop = { signal = "SIGTERM"; timeout_s = 10; };
hardening = "strict";
read_write_paths = [ "/srv/saltbox/shared" ];
${BG_EXTRA_DECL:-}
CONF
}

bg_site() {
        cat >"$CT_ROOT/etc/nginx/sites-enabled/$BG_APP" <<'SITE'
server {
        listen 8080;
        location / {
                proxy_pass http://saltbox_api;
                proxy_http_version 1.1;
                proxy_set_header Connection "";
        }
}
SITE
}

bg_release() {
        local name=$1 mode=${2:-ok} dir=$CT_ROOT$BG_RELEASES/$1
        mkdir -p "$dir/app"
        echo "$mode" >"$dir/app/mode"
        cat >"$dir/app/main.py" <<'PY'
import os
import sys
import time

from fastapi import FastAPI, Response

MODE = open("mode").read().strip()
if MODE == "crash":
    sys.exit("crashing on purpose")
STARTED = time.monotonic()
app = FastAPI()


@app.get("/healthz")
def healthz(response: Response):
    if MODE == "unhealthy" or (MODE == "slow" and time.monotonic() - STARTED < 3):
        response.status_code = 500
        return {"status": "sick"}
    return {"status": "ok"}


@app.get("/v")
def version():
    return {
        "release": os.environ.get("BLUEGREEN_RELEASE"),
        "color": os.environ.get("BLUEGREEN_COLOR"),
        "uid": os.getuid(),
        "greeting": os.environ.get("GREETING"),
    }
PY
        ct_exec chown -R saltbox:saltbox "$BG_RELEASES/$name"
}

bg_setup() {
        ct_boot
        bg_install
        ct_exec useradd --system --home-dir /srv/saltbox --shell /usr/sbin/nologin saltbox
        ct_exec mkdir -p "$BG_RELEASES" /srv/saltbox/shared
        ct_exec chown -R saltbox:saltbox /srv/saltbox
        bg_declare
        bg_site
        ct_exec systemctl daemon-reload
}

bg_curl() {
        ct_exec curl -sS --max-time 5 "$@"
}

bg_live_release() {
        bg_curl http://127.0.0.1:8080/v | sed -E 's/.*"release":"([^"]*)".*/\1/'
}

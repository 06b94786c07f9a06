# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What the bluegreen system tests share, on top of lib.sh (which it sources): installing the build into
# the container, the example app (FastAPI under gunicorn, from Debian's packages) and its declaration.
#
#   bg_setup             boot a container with bluegreen installed and the saltbox-api app declared
#   bg_release NAME [MODE]  create release NAME; MODE ok (default), unhealthy (/healthz answers 500),
#                        crash (exits at start-up), slow (healthy after 3 s), sour:N (/healthz answers
#                        500 from N s after start-up, everything else stays fine), dies:N (its main
#                        process is killed N s after start-up); sour and dies log, on stderr, when they
#                        turn: "bluegreen-test: first failing answer|dying monotonic_usec=CLOCK_MONOTONIC"
#   bg_curl URL          curl inside the container, body on stdout
#   bg_live_release      the release nginx serves, as /v answers through nginx
#   bg_mode, bg_route    the switch mode asked for (BG_SWITCH=socket, BG_LIVE_PORT), where the route leads
#   bg_hello_setup       the second example app, examples/hello-c (C, socket mode), declared as shipped
#   bg_hello_release NAME  a release of it: the build's hello-c in NAME/bin

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ct_require_root_and_tools nginx curl gunicorn

BG_BUILD=${BLUEGREEN_BUILD_DIR:?run through meson test, or set BLUEGREEN_BUILD_DIR}
BG_APP=saltbox-api
BG_RELEASES=/srv/saltbox/releases
BG_STATE=/var/lib/bluegreen/$BG_APP

bg_install() {
        DESTDIR=$CT_ROOT meson install -C "$BG_BUILD" --no-rebuild --quiet >/dev/null ||
                fail "meson install into the container failed"
}

# The switch mode the test asked for: BG_SWITCH=socket, or BG_LIVE_PORT (the stable port) for redirect,
# else reload.
bg_mode() {
        if [ "${BG_SWITCH:-}" = socket ]; then
                echo socket
        elif [ -n "${BG_LIVE_PORT:-}" ]; then
                echo redirect
        else
                echo reload
        fi
}

bg_declare() {
        local switch="" bind="127.0.0.1:\${PORT}" ports="ports = { blue = 9011; green = 9012; ${BG_LIVE_PORT:+live = $BG_LIVE_PORT;} };"
        case $(bg_mode) in
        redirect) switch='switch = "redirect";' ;;
        # No switch line: an exec that names ${SOCKET} selects the socket switch, and no port is declared.
        socket) bind="unix:\${SOCKET}" ports="" ;;
        esac
        mkdir -p "$CT_ROOT/etc/bluegreen"
        cat >"$CT_ROOT/etc/bluegreen/$BG_APP.conf" <<CONF
releases = "$BG_RELEASES";
exec = "/usr/bin/gunicorn --workers 2 --worker-class uvicorn.workers.UvicornWorker --bind $bind main:app";
workdir = "app";
user = "saltbox"; group = "saltbox";
$ports
environment = { GREETING = "say \"hi\" at 100% \\\\ \$HOME"; };
health = { path = "/healthz"; timeout_ms = 500; interval_ms = 100; successes = 2; deadline_s = 20; };
smoke = ( { path = "/v"; expect_status = 200; body_contains = "\${RELEASE}"; } );
nginx = { include = "/etc/nginx/conf.d/bluegreen-$BG_APP.conf"; $switch };
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
import asyncio
import os
import signal
import sys
import threading
import time

from fastapi import FastAPI, Response
from fastapi.responses import StreamingResponse

MODE, _, AFTER = open("mode").read().strip().partition(":")
AFTER = float(AFTER or 0)
if MODE == "crash":
    raise RuntimeError("crashing on purpose")
STARTED = time.monotonic()
MASTER = os.getppid()
app = FastAPI()
soured = False


def since_master_start():
    """Seconds since gunicorn's master started: the same for all its workers, so they turn together."""
    ticks = int(open(f"/proc/{MASTER}/stat").read().rsplit(")", 1)[1].split()[19])
    return time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")


def stamp(what):
    """When the release turns bad, on CLOCK_MONOTONIC, as the journal stamps its entries."""
    print(f"bluegreen-test: {what} monotonic_usec={time.monotonic_ns() // 1000}", file=sys.stderr, flush=True)


def die():
    # Each gunicorn worker has this timer; the first one kills the master, the unit's main process.
    if os.getppid() == MASTER:
        stamp("dying")
        os.kill(MASTER, signal.SIGKILL)


if MODE == "dies":
    timer = threading.Timer(max(AFTER - since_master_start(), 0), die)
    timer.daemon = True
    timer.start()


@app.get("/healthz")
def healthz(response: Response):
    global soured
    if MODE == "sour" and since_master_start() >= AFTER:
        if not soured:
            soured = True
            stamp("first failing answer")
        response.status_code = 500
        return {"status": "sour"}
    if MODE == "unhealthy" or (MODE == "slow" and time.monotonic() - STARTED < 3):
        response.status_code = 500
        return {"status": "sick"}
    return {"status": "ok"}


@app.get("/stream")
async def stream(lines: int = 30, every_ms: int = 100):
    """A long-lived response: one line every every_ms, each naming the release that sends it."""
    async def gen():
        for i in range(lines):
            yield f"{os.environ.get('BLUEGREEN_RELEASE')} {i}\n"
            await asyncio.sleep(every_ms / 1000)
    return StreamingResponse(gen(), media_type="text/plain")


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

# The usual start of a failure test: releases r1 and r2 exist, r1 is live, and a snapshot is taken.
bg_setup_r1_live() {
        bg_setup
        bg_release r1
        bg_release r2
        bg_deploy r1
        bg_snapshot
}

# Where the route leads now, whatever the mode: the color of the port in the include, of the port the
# redirect rule sends to, or of the socket the live link leads to; "none" when it leads nowhere.
bg_route() {
        local to
        case $(bg_mode) in
        socket)
                to=$(ct_exec readlink "/run/bluegreen/$BG_APP/live.sock" || true)
                to=${to%/http.sock}
                ;;
        redirect) to=$(ct_exec nft list chain inet "bluegreen-$BG_APP" output 2>/dev/null | sed -n 's/.*redirect to :\([0-9]*\).*/\1/p') ;;
        *) to=$(bg_include | sed -n 's/.*server 127.0.0.1:\([0-9]*\);.*/\1/p') ;;
        esac
        case $to in
        9011 | blue) echo blue ;;
        9012 | green) echo green ;;
        *) echo none ;;
        esac
}

bg_curl() {
        ct_exec curl -sS --max-time 5 "$@"
}

bg_live_release() { # [PORT]: nginx's site for the app, 8080 unless given
        bg_curl "http://127.0.0.1:${1:-8080}/v" | sed -E 's/.*"release":"([^"]*)".*/\1/'
}

# With the redirect and socket switches, a connection nginx pooled before the switch still reaches the
# old color until keepalive_time (1 s by default) recycles it: new requests reach the new release
# within that.
bg_wait_live_release() { # WANT [PORT]
        local got=""
        for _ in $(seq 120); do
                got=$(bg_live_release "${2:-8080}")
                [ "$got" = "$1" ] && { echo "$got"; return 0; }
                sleep 0.1
        done
        echo "$got"
}

# Deploys a release and fails the test, with the deploy's journal, if that does not succeed.
bg_deploy() {
        ct_exec systemctl start "$BG_APP-deploy@$1.service" || {
                ct_exec journalctl -u "$BG_APP-deploy@$1.service" -u "$BG_APP@blue.service" -u "$BG_APP@green.service" \
                        --no-pager -o short-monotonic | tail -n 40
                fail "deploy of $1 failed"
        }
}

bg_active() {
        ct_exec systemctl is-active "$1" 2>/dev/null || true
}

# The nginx include, as it is on disk.
bg_include() {
        cat "$CT_ROOT/etc/nginx/conf.d/bluegreen-$BG_APP.conf"
}

# Records what a failed step must leave alone: the release nginx serves, the live color, the include
# and the pins. bg_assert_untouched then checks them.
bg_snapshot() {
        BG_SNAP_LIVE=$(bg_live_release)
        BG_SNAP_ACTIVE=$(cat "$CT_ROOT$BG_STATE/active")
        BG_SNAP_INCLUDE=$(bg_include)
        BG_SNAP_PINS=$(ct_exec sh -c "readlink $BG_STATE/blue; readlink $BG_STATE/green || true")
}

bg_assert_untouched() {
        assert_eq "$BG_SNAP_LIVE" "$(bg_live_release)" "$1: nginx still serves $BG_SNAP_LIVE"
        assert_eq "$BG_SNAP_ACTIVE" "$(cat "$CT_ROOT$BG_STATE/active")" "$1: the live color is unchanged"
        assert_eq "$BG_SNAP_INCLUDE" "$(bg_include)" "$1: the nginx include is unchanged"
        assert_eq "$BG_SNAP_PINS" "$(ct_exec sh -c "readlink $BG_STATE/blue; readlink $BG_STATE/green || true")" \
                "$1: the pins are as they were"
}

# Runs a deploy that must fail with the given exit status; prints its journal.
bg_deploy_fails() {
        local release=$1 want=$2 rc
        set +e
        ct_exec systemctl start "$BG_APP-deploy@$release.service" 2>/dev/null
        set -e
        rc=$(ct_exec systemctl show -P ExecMainStatus "$BG_APP-deploy@$release.service")
        assert_eq "$want" "$rc" "the deploy of $release exits with status $want"
        BG_FAIL_LOG=$(ct_exec journalctl -u "$BG_APP-deploy@$release.service" --no-pager -o cat)
}

# The color that is not live must be stopped, and stay stopped (no restart loop).
bg_assert_stopped_for_good() {
        local unit="$BG_APP@$1.service"
        sleep 3
        case "$(bg_active "$unit")" in
        active | activating | reloading) fail "$unit is still running after the failed deploy" ;;
        esac
        local restarts
        restarts=$(ct_exec systemctl show -P NRestarts "$unit")
        assert_eq 0 "$restarts" "$unit was not restarted in a loop"
}

# The second example app, examples/hello-c: a small HTTP server in C from this build, socket mode,
# declared by the example's own file and served by its own nginx site (port 8081).
BG_HELLO_RELEASES=/srv/hello/releases
bg_hello_setup() {
        local src=${BLUEGREEN_SOURCE_DIR:-$(dirname "${BASH_SOURCE[0]}")/../..}
        ct_exec useradd --system --home-dir /srv/hello --shell /usr/sbin/nologin hello
        ct_exec install -d -o hello -g hello /srv/hello "$BG_HELLO_RELEASES"
        cp "$src/examples/hello-c/hello-c.conf" "$CT_ROOT/etc/bluegreen/"
        cp "$src/examples/hello-c/nginx-site" "$CT_ROOT/etc/nginx/sites-enabled/hello-c"
}

bg_hello_release() { # NAME [RELEASES-DIR]
        local dir=$CT_ROOT${2:-$BG_HELLO_RELEASES}/$1
        mkdir -p "$dir/bin"
        cp "$BG_BUILD/examples/hello-c" "$dir/bin/hello-c"
        ct_exec chown -R --reference="${2:-$BG_HELLO_RELEASES}" "${2:-$BG_HELLO_RELEASES}/$1"
}

# BG_INSTALL=deb runs any system test against the Debian package instead of "meson install".
[ "${BG_INSTALL:-meson}" = meson ] || . "$(dirname "${BASH_SOURCE[0]}")/deb-lib.sh"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The include writer against a real nginx on loopback, without systemd, in both styles and for IPv4
# and IPv6 backends: nginx -t accepts what it writes, and after a reload traffic reaches the color the
# include names.
#   include.sh WRITE-INCLUDE
set -euo pipefail
writer=$1
here=$(dirname "$(readlink -f "$0")")
tmp=$(mktemp -d)
pids=()
cleanup() {
        [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        sleep 0.2
        rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok - $*"; }
command -v nginx >/dev/null || fail "nginx is not installed"

base=$(( 40000 + ($$ % 10000) ))
blue=$base green=$((base + 1)) front=$((base + 2)) blue6=$((base + 3)) green6=$((base + 4))
python3 "$here/server.py" $blue ok blue-says-hi & pids+=($!)
python3 "$here/server.py" $green ok green-says-hi & pids+=($!)
python3 "$here/server.py" 6:$blue6 ok blue6 & pids+=($!)
python3 "$here/server.py" 6:$green6 ok green6 & pids+=($!)
for p in $blue $green; do
        for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$p/" && break; sleep 0.05; done
done
for p in $blue6 $green6; do
        for _ in $(seq 100); do curl -s -o /dev/null "http://[::1]:$p/" && break; sleep 0.05; done
done

run_nginx_with() { # STYLE
        local style=$1
        mkdir -p "$tmp/logs" "$tmp/conf.d"
        if [ "$style" = upstream ]; then
                cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log;
events {}
http {
        access_log off;
        include $tmp/conf.d/*.conf;
        server {
                listen 127.0.0.1:$front;
                location / { proxy_pass http://demo_up; proxy_http_version 1.1; proxy_set_header Connection ""; }
        }
}
CONF
        else
                cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log;
events {}
http {
        access_log off;
        server {
                listen 127.0.0.1:$front;
                include $tmp/conf.d/*.conf;
                location / { proxy_pass \$demo_up; }
        }
}
CONF
        fi
}

nginx_cmd() { nginx -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/logs/error.log" "$@"; }

expect_body() { # WANT WHAT
        local got=""
        for _ in $(seq 50); do
                got=$(curl -s "http://127.0.0.1:$front/") && [ "$got" = "$1" ] && break
                sleep 0.05
        done
        [ "$got" = "$1" ] || fail "$2: expected '$1' through nginx, got '$got'"
        ok "$2"
}

for style in upstream variable; do
        run_nginx_with $style
        "$writer" $style 127.0.0.1 $blue $green blue "$tmp/conf.d/demo.conf"
        nginx_cmd -t -q || fail "$style: nginx -t rejects the include"
        ok "$style: nginx -t accepts the include"
        nginx_cmd
        expect_body blue-says-hi "$style: traffic reaches blue"
        "$writer" $style 127.0.0.1 $blue $green green "$tmp/conf.d/demo.conf"
        nginx_cmd -s reload
        expect_body green-says-hi "$style: after a reload traffic reaches green"
        "$writer" $style ::1 $blue6 $green6 blue "$tmp/conf.d/demo.conf"
        nginx_cmd -t -q || fail "$style: nginx -t rejects the IPv6 include"
        nginx_cmd -s reload
        expect_body blue6 "$style: an IPv6 loopback backend"
        ls -A "$tmp/conf.d" | grep -v '^demo.conf$' && fail "$style: the writer left temporary files"
        nginx_cmd -s quit
        for _ in $(seq 50); do [ -f "$tmp/nginx.pid" ] || break; sleep 0.05; done
done
# Maintenance (bluegreenctl maintenance APP on): the include keeps the upstream or variable the site
# uses, and nginx answers 503 with Retry-After and the message, escaped as HTML; off puts the color back.
export BLUEGREEN_RUN_DIR=$tmp/run WRITE_INCLUDE_STATE_DIR=$tmp/state
mkdir -p "$tmp/state"
chmod 0755 "$tmp" # nginx's workers run as nobody here, and connect to the maintenance socket below it
expect_maintenance() { # WHAT
        local head="$tmp/head" body="$tmp/body" code=""
        for _ in $(seq 50); do
                code=$(curl -s -D "$head" -o "$body" -w '%{http_code}' "http://127.0.0.1:$front/any/path") && [ "$code" = 503 ] && break
                sleep 0.05
        done
        [ "$code" = 503 ] || fail "$1: expected 503 through nginx, got $code"
        grep -qi '^Retry-After: 120' "$head" || fail "$1: no Retry-After: 120 in $(cat "$head")"
        grep -qi '^Content-Type: text/html' "$head" || fail "$1: not text/html"
        grep -qF 'Back at 5 &#60;b&#62;&#38;&#36;x&#92; &#34;soon&#34; &#39;ok&#39; — café' "$body" || fail "$1: message not escaped as expected: $(cat "$body")"
        grep -q '<b>' "$body" && fail "$1: the message went into the page unescaped"
        ok "$1: 503, Retry-After: 120, the message escaped as HTML"
}
for style in upstream variable; do
        run_nginx_with $style
        rm -f "$tmp/state/maintenance"
        "$writer" $style 127.0.0.1 $blue $green blue "$tmp/conf.d/demo.conf"
        nginx_cmd
        expect_body blue-says-hi "$style, maintenance: traffic reaches blue before"
        printf '%s\n' '# test' 'message=Back at 5 <b>&$x\ "soon" '"'ok'"' — café' >"$tmp/state/maintenance"
        "$writer" $style 127.0.0.1 $blue $green blue "$tmp/conf.d/demo.conf"
        grep -q '^# bluegreen-maintenance: ' "$tmp/conf.d/demo.conf" || fail "$style: no maintenance mark in the include"
        nginx_cmd -t -q || fail "$style: nginx -t rejects the maintenance include"
        nginx_cmd -s reload
        expect_maintenance "$style, maintenance on"
        rm "$tmp/state/maintenance"
        "$writer" $style 127.0.0.1 $blue $green green "$tmp/conf.d/demo.conf"
        nginx_cmd -s reload
        expect_body green-says-hi "$style, maintenance off: traffic reaches the color again"
        [ ! -e "$tmp/run/demo/maintenance.sock" ] || fail "$style: nginx left the maintenance socket behind"
        # nginx killed while in maintenance leaves its socket: the writer removes it, or nginx would not start.
        printf 'message=\n' >"$tmp/state/maintenance"
        in_row=0
        "$writer" $style 127.0.0.1 $blue $green green "$tmp/conf.d/demo.conf"
        nginx_cmd -s reload
        # Five in a row: for a moment after a reload, the old worker still accepts too.
        for _ in $(seq 100); do
                [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$front/")" = 503 ] && in_row=$((in_row + 1)) || in_row=0
                [ "$in_row" -ge 5 ] && break
                sleep 0.05
        done
        if [ $style = upstream ]; then
                master=$(cat "$tmp/nginx.pid")
                kill -9 $(pgrep -P "$master") "$master"
                for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$front/" || break; sleep 0.05; done
                rm -f "$tmp/nginx.pid"
                [ -S "$tmp/run/demo/maintenance.sock" ] || fail "$style: expected the killed nginx's socket to stay"
                "$writer" $style 127.0.0.1 $blue $green green "$tmp/conf.d/demo.conf"
                nginx_cmd || fail "$style: nginx does not start after a kill -9 in maintenance: $(tail -3 "$tmp/logs/error.log")"
                ok "$style: a socket left by a killed nginx is removed, nginx starts again"
        fi
        code=$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$front/") && [ "$code" = 503 ] || fail "$style: no 503 with an empty message: $code, $(tail -3 "$tmp/logs/error.log")"
        grep -q 'down for maintenance' <(curl -s "http://127.0.0.1:$front/") || fail "$style: no default message"
        ok "$style, maintenance with no message: the default page"
        rm "$tmp/state/maintenance"
        nginx_cmd -s quit
        for _ in $(seq 50); do [ -f "$tmp/nginx.pid" ] || break; sleep 0.05; done
done
unset BLUEGREEN_RUN_DIR WRITE_INCLUDE_STATE_DIR
rm -rf "$tmp/run"

# The socket switch: the include names the stable socket, the link moves, nginx is not reloaded.
# Connections nginx pooled (style upstream, keepalive_time 1s) reach the old color until they are
# recycled; a new connection follows the link at once (style variable, which pools none).
sockets=$tmp/run/demo
mkdir -p "$sockets/blue" "$sockets/green"
python3 "$here/server.py" "unix:$sockets/blue/http.sock" ok blue-on-socket & pids+=($!)
python3 "$here/server.py" "unix:$sockets/green/http.sock" ok green-on-socket & pids+=($!)
for c in blue green; do
        for _ in $(seq 100); do curl -s -o /dev/null --unix-socket "$sockets/$c/http.sock" http://x/ && break; sleep 0.05; done
done
# nginx's workers run as nobody here: let them through to the sockets (bluegreen-socket-dir's job on a
# real system, for nginx.group only).
chmod 0755 "$tmp"
chmod 0666 "$sockets"/*/http.sock
for style in upstream variable; do
        run_nginx_with $style
        "$writer" $style "unix:$sockets" 0 0 blue "$tmp/conf.d/demo.conf"
        nginx_cmd -t -q || fail "$style, socket: nginx -t rejects the include"
        grep -q "unix:$sockets/live.sock" "$tmp/conf.d/demo.conf" || fail "$style, socket: the include does not name the live socket"
        [ "$(readlink "$sockets/live.sock")" = blue/http.sock ] || fail "$style, socket: the link does not lead to blue's socket"
        ok "$style, socket: nginx -t accepts the include, the link leads to blue/http.sock"
        nginx_cmd
        expect_body blue-on-socket "$style, socket: traffic reaches blue through the link"
        master=$(cat "$tmp/nginx.pid")
        workers=$(pgrep -P "$master" | sort | tr '\n' ' ')
        "$writer" $style "unix:$sockets" 0 0 green "$tmp/conf.d/demo.conf"
        expect_body green-on-socket "$style, socket: after the link moved, without a reload, traffic reaches green"
        [ "$workers" = "$(pgrep -P "$master" | sort | tr '\n' ' ')" ] || fail "$style, socket: nginx's workers changed"
        ok "$style, socket: the same nginx workers as before the switch"
        ls -A "$sockets" | grep -v -e '^blue$' -e '^green$' -e '^live.sock$' && fail "$style, socket: temporary links left behind"
        nginx_cmd -s quit
        for _ in $(seq 50); do [ -f "$tmp/nginx.pid" ] || break; sleep 0.05; done
done
mkdir "$tmp/elsewhere" && ln -s "$tmp/elsewhere" "$tmp/run/linked"
if "$writer" upstream "unix:$tmp/run/linked" 0 0 blue "$tmp/conf.d/demo.conf" 2>"$tmp/err"; then
        fail "the link was set through a symbolic link planted at its directory"
fi
[ -z "$(ls -A "$tmp/elsewhere")" ] || fail "something was written where the planted link leads"
ok "a symbolic link planted at the live link's directory is refused, nothing is written through it"
chmod 0777 "$sockets"
"$writer" upstream "unix:$sockets" 0 0 blue "$tmp/conf.d/demo.conf" 2>"$tmp/err" &&
        fail "the link was set in a directory everyone can write"
chmod 0755 "$sockets"
ok "a live link's directory anyone can write is refused"

# Root writes the include where nginx reads it: a link planted at its name is replaced, never
# followed, and a directory on its path that someone else could write is refused.
echo "precious" >"$tmp/precious"
ln -sf "$tmp/precious" "$tmp/conf.d/demo.conf"
"$writer" upstream 127.0.0.1 $blue $green blue "$tmp/conf.d/demo.conf" || fail "the writer failed over a planted link"
[ "$(cat "$tmp/precious")" = precious ] || fail "the writer followed the link planted at the include's name"
[ -f "$tmp/conf.d/demo.conf" ] && [ ! -L "$tmp/conf.d/demo.conf" ] || fail "the include is not a regular file"
ok "a link at the include's name is replaced, not followed"
mkfifo "$tmp/conf.d/fifo.conf"
timeout 5 "$writer" upstream 127.0.0.1 $blue $green blue "$tmp/conf.d/fifo.conf" || fail "the writer hung on, or failed over, a FIFO at the include's name"
[ -f "$tmp/conf.d/fifo.conf" ] || fail "the FIFO was not replaced by the include"
ok "a FIFO at the include's name is replaced without blocking"
chmod 0777 "$tmp/conf.d"
if "$writer" upstream 127.0.0.1 $blue $green green "$tmp/conf.d/demo.conf" 2>"$tmp/err"; then
        fail "the writer wrote into a directory everyone can write"
fi
grep -q "Operation not permitted" "$tmp/err" || fail "unexpected refusal: $(cat "$tmp/err")"
chmod 0755 "$tmp/conf.d"
mkdir "$tmp/real" && ln -s "$tmp/real" "$tmp/linked"
if "$writer" upstream 127.0.0.1 $blue $green green "$tmp/linked/demo.conf" 2>"$tmp/err"; then
        fail "the writer followed a symbolic link in the include's directory path"
fi
ok "a directory anyone can write, or a link on the path, is refused"
echo "include: all checks passed"

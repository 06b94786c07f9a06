#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Zero downtime, measured: steady keep-alive load through real nginx while deploys and rollbacks
# alternate, in each switch mode (reload, redirect, socket), in a booted systemd container with the
# example FastAPI/gunicorn app (on 127.0.0.1:PORT, or in socket mode on unix:$SOCKET).
# Three clients at once, in every phase: wrk over plain HTTP (port 8080), wrk over TLS, and
# python-requests sessions (bench/clients/requests-load.py) over TLS, both through the runbook's
# "listen 443 ssl http2" site with a self-signed certificate made at run time. In the same run, for
# contrast: bare "systemctl reload nginx" under the same load (what reload mode cannot do better than),
# the naive way (restarting the single running app in place), and in redirect mode a
# "systemctl restart nftables" (Debian's ruleset begins with "flush ruleset"). Per mode it also prints
# how long the old color kept nginx's pooled connections after the last switch (its tail), and, from
# the deploys' and rollbacks' timelines, the route change of each switch and their whole times.
#
#   bench/load.sh [BUILD-DIR]          as root; default build dir: build
# Knobs (environment): SWITCHES=10 (deploys + rollbacks, alternating, per mode), THREADS=2, CONNS=32
# (plain wrk), TLS_CONNS=16 (TLS wrk), PY_THREADS=8 (requests sessions), PY_MAX=1000000 (requests in
# all, per phase), STEADY_S=5 (steady-state window), MODES="reload redirect socket", BARE_RELOADS=5,
# RESTARTS=3, NFT_RESTARTS=3.
# Every figure is printed with the command that measured it; lines starting "RESULT" are for
# machines (tests/system/40-zero-downtime.sh reads them): label=MODE:_... is plain wrk, label=MODE_tls:_...
# TLS wrk, label=MODE_requests:_... the requests sessions.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
export BLUEGREEN_BUILD_DIR=${1:-$PWD/build}
. bench/build.sh
bench_build "$BLUEGREEN_BUILD_DIR"
switches=${SWITCHES:-10}
threads=${THREADS:-2}
conns=${CONNS:-32}
tls_conns=${TLS_CONNS:-16}
py_threads=${PY_THREADS:-8}
py_max=${PY_MAX:-1000000}
steady=${STEADY_S:-5}
modes=${MODES:-reload redirect socket}
bare_reloads=${BARE_RELOADS:-5}
restarts=${RESTARTS:-3}
nft_restarts=${NFT_RESTARTS:-3}
. tests/system/bluegreen.sh
ct_require_root_and_tools python3 openssl wrk
# The container runs the host's /usr/bin/python3, so Debian's python3-requests, not a pip one.
/usr/bin/python3 -c 'import requests' 2>/dev/null || fail "python3-requests is missing (tools/install-deps.sh)"

url=http://127.0.0.1:8080/v
tls_url=https://127.0.0.1/v
cert=/etc/nginx/bench/cert.pem

# The runbook's TLS site, in upstream style (the include's "upstream saltbox_api"), with a
# certificate for 127.0.0.1 made now; the clients verify it (wrk verifies nothing).
tls_site() {
        ct_exec mkdir -p /etc/nginx/bench
        ct_exec openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
                -addext subjectAltName=IP:127.0.0.1 -keyout /etc/nginx/bench/key.pem -out "$cert" 2>/dev/null
        cat >"$CT_ROOT/etc/nginx/sites-enabled/$BG_APP-tls" <<SITE
server {
        listen 443 ssl http2;
        server_name 127.0.0.1;
        ssl_certificate $cert;
        ssl_certificate_key /etc/nginx/bench/key.pem;
        location / {
                proxy_pass http://saltbox_api;
                proxy_http_version 1.1;
                proxy_set_header Connection "";
                proxy_set_header Host \$host;
                proxy_set_header X-Real-IP \$remote_addr;
                proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
                proxy_set_header X-Forwarded-Proto \$scheme;
                proxy_connect_timeout 3s;
                proxy_read_timeout 60s;
        }
}
SITE
        cp bench/clients/requests-load.py "$CT_ROOT/root/requests-load.py"
}

# Runs CMD in the container with its PID in PIDFILE (so load_stop can end it early), output to FILE.
client_start() { # PIDFILE FILE CMD...
        local pidf=$1 out=$2
        shift 2
        ct_sh 'p=$1; shift; echo $$ >"$p"; exec "$@"' "$pidf" "$@" >"$out" 2>&1 &
        CLIENT_PIDS+=("$!")
}

# Starts the three clients for at most SECONDS, outputs in $CT_DIR/TAG.{wrk,tls,py}.
load_start() { # SECONDS TAG
        CLIENT_PIDS=()
        client_start /run/bench-wrk.pid "$CT_DIR/$2.wrk" wrk -t"$threads" -c"$conns" -d"$1"s --timeout 5s --latency "$url"
        client_start /run/bench-tls.pid "$CT_DIR/$2.tls" wrk -t1 -c"$tls_conns" -d"$1"s --timeout 5s --latency "$tls_url"
        client_start /run/bench-py.pid "$CT_DIR/$2.py" python3 /root/requests-load.py "$tls_url" "$py_threads" "$1" "$py_max" "$cert"
        sleep 1
}
load_running() { ct_sh 'kill -0 $(cat /run/bench-wrk.pid) 2>/dev/null' && echo yes || echo no; }
# SIGINT: wrk and the requests client stop and print what they measured.
load_stop() {
        ct_sh 'kill -INT $(cat /run/bench-wrk.pid /run/bench-tls.pid /run/bench-py.pid) 2>/dev/null' || true
        wait "${CLIENT_PIDS[@]}" || true
}
load_wait() { wait "${CLIENT_PIDS[@]}" || true; }

# From a wrk output: requests, non-2xx, connect/read/write/timeout errors, p50, p99.
wrk_parse() { # FILE -> "requests non2xx connect read write timeout p50 p99 failures"
        awk '
                / requests in / { req = $1 }
                /Non-2xx or 3xx responses:/ { non = $NF }
                /Socket errors:/ { gsub(",", ""); c = $4; r = $6; w = $8; t = $10 }
                $1 == "50%" { p50 = $2 }
                $1 == "99%" { p99 = $2 }
                END { printf "%d %d %d %d %d %d %s %s %d\n", req, non, c, r, w, t, p50, p99, non + c + r + w + t }
        ' "$1"
}

# From the requests client's line: requests, connection errors, non-2xx, timeouts, other, p50, p99.
py_parse() { # FILE -> "requests connerr non2xx timeout other p50 p99 failures"
        sed -n 's/^requests=//p' "$1" | tr '=' ' ' | awk '{ printf "%d %d %d %d %d %sms %sms %d\n",
                $1, $5, $7, $9, $11, $13, $15, $5 + $7 + $9 + $11 }'
        grep -q '^requests=' "$1" || { echo "0 0 0 0 0 - - 1"; sed 's/^/requests-load.py: /' "$1" >&2; }
}

report_wrk() { # LABEL FILE EVENTS
        local f
        read -r -a f <<<"$(wrk_parse "$2")"
        printf '  %-38s %9s req  failed %5s: non-2xx %s, connect/read/write/timeout %s/%s/%s/%s  p50 %-8s p99 %-8s%s\n' \
                "$1" "${f[0]}" "${f[8]}" "${f[1]}" "${f[2]}" "${f[3]}" "${f[4]}" "${f[5]}" "${f[6]}" "${f[7]}" \
                "${3:+ over $3 events}"
        echo "RESULT label=${1// /_} requests=${f[0]} failed=${f[8]} events=${3:-0} p50=${f[6]} p99=${f[7]}"
}

report_py() { # LABEL FILE EVENTS
        local f
        read -r -a f <<<"$(py_parse "$2")"
        printf '  %-38s %9s req  failed %5s: ConnectionError %s, non-2xx %s, timeout %s, other %s  p50 %-8s p99 %-8s%s\n' \
                "$1" "${f[0]}" "${f[7]}" "${f[1]}" "${f[2]}" "${f[3]}" "${f[4]}" "${f[5]}" "${f[6]}" \
                "${3:+ over $3 events}"
        echo "RESULT label=${1// /_} requests=${f[0]} failed=${f[7]} events=${3:-0} connection_error=${f[1]}" \
                "non2xx=${f[2]} timeout=${f[3]} other=${f[4]} p50=${f[5]} p99=${f[6]}"
}

# One line per client. Plain wrk's label is HEAD WHAT, as tests read it since before there were
# other clients ("reload: steady state", "bare nginx reloads"); the others' HEAD gets _tls or
# _requests before its colon ("reload_tls: steady state", "bare_requests nginx reloads").
report() { # HEAD WHAT TAG [EVENTS]
        local base=${1%:}
        local colon=${1#"$base"}
        report_wrk "$1 $2" "$CT_DIR/$3.wrk" "${4:-}"
        report_wrk "${base}_tls$colon $2" "$CT_DIR/$3.tls" "${4:-}"
        report_py "${base}_requests$colon $2" "$CT_DIR/$3.py" "${4:-}"
}

# The connections nginx has open to COLOR now: established TCP connections to its port, or, in socket
# mode, connections accepted on its socket (/proc/net/unix lists them with the listener's path, state
# 03; they belong to nginx's network namespace, the container's).
color_connections() { # MODE COLOR
        if [ "$1" = socket ]; then
                ct_exec awk -v p="/run/bluegreen/$BG_APP/$2/http.sock" '$6 == "03" && $8 == p' /proc/net/unix | wc -l
        else
                ct_exec ss -Htn state established "( sport = :$([ "$2" = blue ] && echo 9011 || echo 9012) )" | wc -l
        fi
}

# How long the old color keeps serving nginx's pooled connections after a switch: until nginx has no
# connection to it left (bounded at 30 s).
old_color_tail_ms() { # MODE COLOR
        local start end
        start=$(date +%s%N)
        for _ in $(seq 1500); do
                [ "$(color_connections "$1" "$2")" -eq 0 ] && break
                sleep 0.02
        done
        end=$(date +%s%N)
        echo $(( (end - start) / 1000000 ))
}

median_max() { sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%d %d", v[int((NR + 1) / 2)], v[NR]; else printf "- -" }'; }

# From the timelines: the route change of each switch ("include+nginx -t" + "reload" + "new workers" in
# reload mode, "redirect" or "link" in the others), and each deploy's and rollback's whole time
# ("total"), as "ROUTE-MEDIAN ROUTE-MAX DEPLOY-MEDIAN DEPLOY-MAX ROLLBACK-MEDIAN ROLLBACK-MAX" in ms.
switch_times() { # TIMELINES-FILE
        local per
        per=$(sed 's/^ *\([a-z]*\)[^:]*: /\1, /; s/; /, /' "$1" | awk -F', ' '{
                route = 0; total = 0
                for (i = 2; i <= NF; i++) {
                        n = split($i, w, " ")
                        name = w[1]
                        for (k = 2; k < n - 1; k++) name = name " " w[k]
                        if (name ~ /^(include\+nginx -t|reload|new workers|redirect|link)$/) route += w[n - 1]
                        if (name == "total") total = w[n - 1]
                }
                print $1, route, total
        }')
        echo "$(awk '{ print $2 }' <<<"$per" | median_max)" \
                "$(awk '$1 == "deploy" { print $3 }' <<<"$per" | median_max)" \
                "$(awk '$1 == "rollback" { print $3 }' <<<"$per" | median_max)"
}

# The journal's position now, and the timeline a unit logged after it (journald may still be writing).
cursor() { ct_exec journalctl -n 0 --show-cursor -q | sed -n 's/^-- cursor: //p'; }
timeline() { # CURSOR UNIT
        local tl=""
        for _ in $(seq 100); do
                tl=$(ct_exec journalctl --after-cursor="$1" -u "$2" -o cat --no-pager | sed -n 's/.*Timeline: //p')
                [ -n "$tl" ] && break
                sleep 0.05
        done
        echo "$tl"
}

# Boots the container for MODE with r1 live on blue, r2 warm on green, and the TLS site.
# A mode is: what bg_declare needs for it, and what else it needs running.
setup_mode() { # MODE
        case "$1" in
        reload) bg_setup >/dev/null ;;
        redirect) BG_LIVE_PORT=9010 bg_setup >/dev/null ;;
        socket) BG_SWITCH=socket bg_setup >/dev/null ;;
        *) fail "unknown switch mode $1" ;;
        esac
        tls_site
        bg_release r1
        bg_release r2
        ct_exec systemctl start "$BG_APP.service"
        ct_exec systemctl reload nginx
        [ "$1" = redirect ] && ct_exec systemctl start nftables.service
        bg_deploy r1 >/dev/null
        bg_deploy r2 >/dev/null
        ct_exec systemctl start "$BG_APP-rollback.service"
}

steady_phase() { # MODE
        load_start "$steady" steady
        load_wait
        report "$1:" "steady state, no switch" steady
}

# Alternate deploys and rollbacks under load, then the old color's tail with the load still on.
switch_phase() { # MODE
        local n=0 next live=r1 c tl t0 took old tail_ms running times
        # The bound only: the load stops when the tail is measured.
        load_start $(( switches * 8 + 30 )) switches
        t0=$(date +%s)
        : >"$CT_DIR/timelines"
        while [ "$n" -lt "$switches" ]; do
                c=$(cursor)
                if [ $((n % 2)) -eq 0 ]; then
                        next=$([ "$live" = r1 ] && echo r2 || echo r1)
                        ct_exec systemctl start "$BG_APP-deploy@$next.service"
                        echo "    deploy $next: $(timeline "$c" "$BG_APP-deploy@$next.service")" >>"$CT_DIR/timelines"
                else
                        ct_exec systemctl start "$BG_APP-rollback.service"
                        echo "    rollback: $(timeline "$c" "$BG_APP-rollback.service")" >>"$CT_DIR/timelines"
                fi
                live=$([ "$live" = r1 ] && echo r2 || echo r1)
                n=$((n + 1))
        done
        took=$(( $(date +%s) - t0 ))
        old=$([ "$(cat "$CT_ROOT$BG_STATE/active")" = blue ] && echo green || echo blue)
        tail_ms=$(old_color_tail_ms "$1" "$old")
        running=$(load_running)
        load_stop
        report "$1:" "$switches switches in ${took}s" switches "$switches"
        echo "  old color's tail after the last switch: ${tail_ms} ms until its last connection from nginx closed" \
                "(load still running then: $running)"
        echo "RESULT label=${1}_tail tail_ms=$tail_ms"
        read -r -a times <<<"$(switch_times "$CT_DIR/timelines")"
        echo "  route change per switch (timeline steps, below): median ${times[0]} ms, largest ${times[1]} ms;" \
                "whole deploy: median ${times[2]} ms, largest ${times[3]} ms; whole rollback: median ${times[4]} ms," \
                "largest ${times[5]} ms"
        echo "RESULT label=${1}_switch_time route_median_ms=${times[0]} route_max_ms=${times[1]}" \
                "deploy_median_ms=${times[2]} deploy_max_ms=${times[3]} rollback_median_ms=${times[4]}" \
                "rollback_max_ms=${times[5]}"
        cat "$CT_DIR/timelines"
}

bare_reload_phase() {
        load_start $(( bare_reloads + 3 )) bare
        for _ in $(seq "$bare_reloads"); do
                ct_exec systemctl reload nginx
                sleep 1
        done
        load_stop
        report bare "nginx reloads, same load" bare "$bare_reloads"
}

naive_phase() {
        local color
        color=$(cat "$CT_ROOT$BG_STATE/active")
        load_start $(( restarts * 3 + 3 )) naive
        for _ in $(seq "$restarts"); do
                # The deploys above used up the color's start limit (StartLimitBurst=3).
                ct_exec systemctl reset-failed "$BG_APP@$color.service"
                ct_exec systemctl restart "$BG_APP@$color.service"
                sleep 1
        done
        load_stop
        report naive: "restart the running app" naive "$restarts"
}

# The generator's drop-in has nftables.service load the rule in the transaction of its own ruleset
# (docs/operations.md, "nftables and the redirect switch"), so no request should fail.
nft_restart_phase() {
        local status
        load_start $(( nft_restarts * 2 + 5 )) nft
        for _ in $(seq "$nft_restarts"); do
                ct_exec systemctl restart nftables.service
                sleep 1
                # nftables.service's own start limit is 5 in 10 s.
                ct_exec systemctl reset-failed nftables.service
        done
        sleep 1
        load_stop
        report redirect: "nftables restarts" nft "$nft_restarts"
        status=$(ct_exec curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$url" || true)
        echo "  after the last nftables restart, nginx answers $status"
        echo "RESULT label=redirect_after_nft status=$status"
}

echo "clients inside the container, keep-alive, all three at once in every phase:"
echo "  wrk -t$threads -c$conns --latency $url"
echo "  wrk -t1 -c$tls_conns --latency $tls_url  (listen 443 ssl http2, self-signed)"
echo "  requests-load.py $tls_url $py_threads sessions (verify=the certificate), at most $py_max requests a phase"
echo "$switches switches per mode"
for mode in $modes; do
        echo
        echo "== switch mode: $mode"
        setup_mode "$mode"
        steady_phase "$mode"
        switch_phase "$mode"
        case "$mode" in
        reload) bare_reload_phase; naive_phase ;;
        redirect) nft_restart_phase ;;
        esac
        ct_teardown >/dev/null 2>&1
done

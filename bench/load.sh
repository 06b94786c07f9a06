#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Zero downtime, measured: steady keep-alive load through real nginx (wrk) while deploys and rollbacks
# alternate, in each switch mode, in a booted systemd container with the example FastAPI/gunicorn app.
# In the same run, for contrast: bare "systemctl reload nginx" under the same load (what reload mode
# cannot do better than), and the naive way, restarting the single running app in place.
#
#   bench/load.sh [BUILD-DIR]          as root; default build dir: build
# Knobs (environment): SWITCHES=10 (deploys + rollbacks, alternating, per mode), THREADS=2, CONNS=32,
# STEADY_S=5 (steady-state window), MODES="reload redirect", BARE_RELOADS=5, RESTARTS=3.
# Every figure is printed with the wrk command that measured it; lines starting "RESULT" are for
# machines (tests/system/40-zero-downtime.sh reads them).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
export BLUEGREEN_BUILD_DIR=${1:-$PWD/build}
switches=${SWITCHES:-10}
threads=${THREADS:-2}
conns=${CONNS:-32}
steady=${STEADY_S:-5}
modes=${MODES:-reload redirect}
bare_reloads=${BARE_RELOADS:-5}
restarts=${RESTARTS:-3}
. tests/system/bluegreen.sh

url=http://127.0.0.1:8080/v

# Runs wrk in the container for SECONDS (keep-alive, the default), output to FILE on the host.
wrk_start() { # SECONDS FILE
        ct_exec wrk -t"$threads" -c"$conns" -d"$1"s --timeout 5s --latency "$url" >"$2" 2>&1 &
        WRK_PID=$!
        sleep 0.5
}
wrk_wait() { wait "$WRK_PID" || true; }

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

report() { # LABEL FILE [EVENTS]
        local f
        read -r -a f <<<"$(wrk_parse "$2")"
        printf '%-38s %9s req  %4s non-2xx  errors c/r/w/t %s/%s/%s/%s  p50 %-8s p99 %-8s failed %s%s\n' \
                "$1" "${f[0]}" "${f[1]}" "${f[2]}" "${f[3]}" "${f[4]}" "${f[5]}" "${f[6]}" "${f[7]}" "${f[8]}" \
                "${3:+ over $3 events}"
        echo "RESULT label=${1// /_} requests=${f[0]} failed=${f[8]} events=${3:-0} p50=${f[6]} p99=${f[7]}"
}

# How long the old color keeps serving nginx's pooled connections after a switch: until no
# established connection is left on its port (bounded at 30 s).
old_color_tail_ms() { # PORT
        local start end
        start=$(date +%s%N)
        for _ in $(seq 1500); do
                [ "$(ct_exec ss -Htn state established "( sport = :$1 )" | wc -l)" -eq 0 ] && break
                sleep 0.02
        done
        end=$(date +%s%N)
        echo $(( (end - start) / 1000000 ))
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

echo "wrk -t$threads -c$conns --latency $url (keep-alive) inside the container; $switches switches per mode"
for mode in $modes; do
        echo
        echo "== switch mode: $mode"
        if [ "$mode" = redirect ]; then BG_LIVE_PORT=9010 bg_setup >/dev/null; else bg_setup >/dev/null; fi
        bg_release r1
        bg_release r2
        ct_exec systemctl start "$BG_APP.service"
        ct_exec systemctl reload nginx
        bg_deploy r1 >/dev/null
        bg_deploy r2 >/dev/null
        ct_exec systemctl start "$BG_APP-rollback.service"

        wrk_start "$steady" "$CT_DIR/steady.txt"
        wrk_wait
        report "$mode: steady state, no switch" "$CT_DIR/steady.txt"

        # Alternate deploys and rollbacks under load. The load must outlast the switches (deploys take
        # longer under load) and the old color's tail measured after the last one.
        budget=$(( switches * 5 + 15 ))
        wrk_start "$budget" "$CT_DIR/switches.txt"
        t0=$(date +%s)
        n=0 next=r1 live=r1
        : >"$CT_DIR/timelines"
        while [ "$n" -lt "$switches" ]; do
                if [ $((n % 2)) -eq 0 ]; then
                        next=$([ "$live" = r1 ] && echo r2 || echo r1)
                        c=$(cursor)
                        ct_exec systemctl start "$BG_APP-deploy@$next.service"
                        tl=$(timeline "$c" "$BG_APP-deploy@$next.service")
                        echo "  deploy $next: $tl" >>"$CT_DIR/timelines"
                        live=$next
                else
                        c=$(cursor)
                        ct_exec systemctl start "$BG_APP-rollback.service"
                        tl=$(timeline "$c" "$BG_APP-rollback.service")
                        echo "  rollback: $tl" >>"$CT_DIR/timelines"
                        live=$([ "$live" = r1 ] && echo r2 || echo r1)
                fi
                n=$((n + 1))
        done
        took=$(( $(date +%s) - t0 ))
        old_port=$([ "$(cat "$CT_ROOT$BG_STATE/active")" = blue ] && echo 9012 || echo 9011)
        tail_ms=$(old_color_tail_ms "$old_port")
        wrk_running=$(kill -0 "$WRK_PID" 2>/dev/null && echo yes || echo no)
        wrk_wait
        report "$mode: $switches switches in ${took}s" "$CT_DIR/switches.txt" "$switches"
        echo "  old color's tail after the last switch: ${tail_ms} ms until its last connection from nginx closed" \
                "(load still running then: $wrk_running)"
        echo "RESULT label=${mode}_tail tail_ms=$tail_ms"
        cat "$CT_DIR/timelines"

        if [ "$mode" = reload ]; then
                wrk_start $(( bare_reloads + 3 )) "$CT_DIR/bare.txt"
                for _ in $(seq "$bare_reloads"); do
                        ct_exec systemctl reload nginx
                        sleep 1
                done
                wrk_wait
                report "bare nginx reloads, same load" "$CT_DIR/bare.txt" "$bare_reloads"

                color=$(cat "$CT_ROOT$BG_STATE/active")
                wrk_start $(( restarts * 3 + 3 )) "$CT_DIR/naive.txt"
                for _ in $(seq "$restarts"); do
                        # The deploys above used up the color's start limit (StartLimitBurst=3).
                        ct_exec systemctl reset-failed "$BG_APP@$color.service"
                        ct_exec systemctl restart "$BG_APP@$color.service"
                        sleep 1
                done
                wrk_wait
                report "naive: restart the running app" "$CT_DIR/naive.txt" "$restarts"
        fi
        ct_teardown >/dev/null 2>&1
done

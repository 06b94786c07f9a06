#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The health gate against real HTTP servers on loopback, without systemd:
#   health.sh BLUEGREEN-HEALTH
set -euo pipefail
gate=$1
here=$(dirname "$(readlink -f "$0")")
pids=()
tmp=$(mktemp -d)
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok - $*"; }

# Ports from a range unlikely to be used, distinct per run.
base=$(( 20000 + ($$ % 20000) ))

serve() { # PORT MODE [BODY]
        python3 "$here/server.py" "$@" &
        pids+=($!)
}
wait_port() {
        for _ in $(seq 100); do
                curl -s -o /dev/null "http://$1/" && return 0
                sleep 0.05
        done
        fail "server on $1 did not come up"
}
wait_socket() {
        for _ in $(seq 100); do
                curl -s -o /dev/null --unix-socket "$1" http://localhost/ && return 0
                sleep 0.05
        done
        fail "server on $1 did not come up"
}

run_gate() { # expected-status VAR=VALUE...; output in $out, duration in $ms
        local want=$1 rc start
        shift
        start=$(date +%s%N)
        set +e
        out=$(env -i PATH=/usr/bin:/bin BLUEGREEN_BIND=127.0.0.1 BLUEGREEN_HEALTH_PATH=/healthz \
                BLUEGREEN_HEALTH_TIMEOUT_MS=300 BLUEGREEN_HEALTH_INTERVAL_MS=50 BLUEGREEN_HEALTH_SUCCESSES=2 \
                BLUEGREEN_HEALTH_DEADLINE_S=2 BLUEGREEN_COLOR=blue "$@" "$gate" 2>&1)
        rc=$?
        set -e
        ms=$(( ($(date +%s%N) - start) / 1000000 ))
        [ "$rc" -eq "$want" ] || fail "expected exit $want, got $rc: $out"
}

serve $base ok healthy
serve $((base + 1)) fail "database down"
serve "6:$((base + 3))" ok v6
serve $((base + 4)) ok "wrong body"
wait_port 127.0.0.1:$base
wait_port 127.0.0.1:$((base + 1))
wait_port "[::1]:$((base + 3))"
wait_port 127.0.0.1:$((base + 4))

run_gate 0 PORT=$base
grep -q "is healthy" <<<"$out" || fail "no success message: $out"
ok "a healthy server passes ($ms ms)"

run_gate 1 PORT=$((base + 1))
grep -q "answered 500, expected 200; body: \"database down\"" <<<"$out" || fail "reason lacks status and body: $out"
ok "a 500 fails after the deadline with status and body in the reason ($ms ms)"

serve $((base + 2)) slow:1
run_gate 0 PORT=$((base + 2)) BLUEGREEN_HEALTH_DEADLINE_S=5
ok "a server that becomes healthy after 1 s passes ($ms ms)"
[ "$ms" -ge 1000 ] || fail "passed before the server was healthy"

run_gate 1 PORT=$((base + 9))
grep -qi "connect" <<<"$out" || fail "no connect error in: $out"
ok "nothing listening fails with the connect error"

run_gate 0 PORT=$((base + 3)) BLUEGREEN_BIND=::1
ok "IPv6 loopback bind"

run_gate 1 PORT=$((base + 4)) BLUEGREEN_HEALTH_BODY_CONTAINS=ready
grep -q 'without "ready"' <<<"$out" || fail "reason lacks the missing text: $out"
ok "body_contains is enforced"

run_gate 0 PORT=$((base + 4)) BLUEGREEN_HEALTH_EXPECT_STATUS=200 BLUEGREEN_HEALTH_BODY_CONTAINS=body
ok "body_contains matches"

# A main process that dies: the gate stops at once instead of waiting out a 30 s deadline.
sleep 0.3 &
dying=$!
run_gate 2 PORT=$((base + 9)) BLUEGREEN_HEALTH_DEADLINE_S=30 MAINPID=$dying
[ "$ms" -lt 5000 ] || fail "the gate took $ms ms to notice the main process died"
grep -q "exited before it was healthy" <<<"$out" || fail "no main-process message: $out"
ok "a dead main process ends the gate in $ms ms (deadline 30 s)"

# health.command, for apps that speak no HTTP.
( sleep 0.5; touch "$tmp/ready" ) &
run_gate 0 PORT=1 BLUEGREEN_HEALTH_PATH= BLUEGREEN_HEALTH_COMMAND="test -e $tmp/ready"
ok "health.command passes once the command succeeds ($ms ms)"
run_gate 1 PORT=1 BLUEGREEN_HEALTH_PATH= BLUEGREEN_HEALTH_COMMAND="exit 7" BLUEGREEN_HEALTH_DEADLINE_S=1
grep -q "exited with status 7" <<<"$out" || fail "no command status in: $out"
ok "a failing health.command reports its exit status"

# Socket mode: the color listens on $SOCKET, a unix socket, and has no port.
serve "unix:$tmp/healthy.sock" ok healthy
serve "unix:$tmp/sick.sock" fail "database down"
wait_socket "$tmp/healthy.sock"
wait_socket "$tmp/sick.sock"
run_gate 0 SOCKET="$tmp/healthy.sock"
grep -q "is healthy" <<<"$out" || fail "no success message: $out"
ok "a healthy server on a unix socket passes ($ms ms)"
run_gate 1 SOCKET="$tmp/sick.sock"
grep -q "http://localhost/healthz over $tmp/sick.sock answered 500, expected 200; body: \"database down\"" <<<"$out" ||
        fail "reason lacks the socket, status and body: $out"
ok "a 500 over a unix socket names the socket in the reason"
run_gate 1 SOCKET="$tmp/none.sock" BLUEGREEN_HEALTH_DEADLINE_S=1
grep -q "over $tmp/none.sock: Couldn't connect" <<<"$out" || fail "no connect error naming the socket in: $out"
ok "no socket at \$SOCKET fails with the connect error"
run_gate 0 SOCKET="$tmp/healthy.sock" PORT=1 BLUEGREEN_HEALTH_BODY_CONTAINS=healthy
ok "\$SOCKET wins over \$PORT, and body_contains is checked over the socket"
run_gate 64 SOCKET=relative.sock
grep -q "not an absolute file name" <<<"$out" || fail "no message for a relative socket: $out"
ok "a relative \$SOCKET is a usage error"

run_gate 64 BLUEGREEN_HEALTH_PATH=/healthz
ok "neither SOCKET nor PORT is a usage error"
echo "health: all checks passed"

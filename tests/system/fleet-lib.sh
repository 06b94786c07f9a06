# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Several containers at once, on top of lib.sh. lib.sh keeps one container per shell (its CT_*
# variables, traps and watchdog), so each container of a fleet gets a shell of its own, its keeper:
# a child of the test that boots it with ct_boot, reports it, and tears it down when the test closes
# the keeper's standard input (fleet_teardown, or the test's exit however it ends, SIGKILL included).
# Source it after lib.sh (or bluegreen.sh).
#
#   fleet_boot N       boot containers 1..N at once; sets FLEET_PID[i] (host PID of its systemd),
#                      FLEET_ROOT[i] (its root, seen from the host), FLEET_NAME[i], and FLEET_TMP,
#                      a scratch directory of the test's, removed at teardown
#   fleet_use I        point CT_PID, CT_ROOT and CT_NAME at container I, so that ct_exec, ct_sh and the
#                      bg_* helpers of bluegreen.sh act on it
#   fleet_teardown     power every container off and wait until each is torn down (runs at exit; on a
#                      failure, each keeper first prints its container's failed units and journal)

FLEET_PID=()
FLEET_ROOT=()
FLEET_NAME=()
_FLEET_FDS=()
_FLEET_KEEPERS=()
FLEET_TMP=
: "${FLEET_TEARDOWN_TIMEOUT:=90}"

# Runs in the keeper, a subshell of the test. The test's stream to every earlier keeper is closed
# first: holding it would keep that keeper from seeing the test go.
_fleet_keeper() { # INDEX
        local i=$1 f line
        for f in "${_FLEET_FDS[@]}"; do
                exec {f}>&-
        done
        if ! ct_boot; then
                echo failed >"$FLEET_TMP/$i"
                exit 1
        fi
        echo "$CT_PID $CT_NAME $CT_ROOT" >"$FLEET_TMP/$i.tmp"
        mv "$FLEET_TMP/$i.tmp" "$FLEET_TMP/$i"
        read -r line || true
        [ "$line" != failed ] || _ct_dump_diagnostics
        ct_teardown
        : >"$FLEET_TMP/$i.down"
        exit 0
}

_fleet_wait_booted() { # INDEX
        local i=$1 info
        while [ ! -s "$FLEET_TMP/$i" ]; do
                [ -e "/proc/${_FLEET_KEEPERS[i]}" ] || fail "the keeper of container $i exited before it booted"
                sleep 0.1
        done
        info=$(cat "$FLEET_TMP/$i")
        [ "$info" != failed ] || fail "container $i did not boot"
        read -r "FLEET_PID[$i]" "FLEET_NAME[$i]" "FLEET_ROOT[$i]" <<<"$info"
}

fleet_boot() { # N
        local i fd
        FLEET_TMP=$(mktemp -d /tmp/bluegreen-fleet.XXXXXX)
        trap '_fleet_on_exit' EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        trap 'exit 129' HUP
        for ((i = 1; i <= $1; i++)); do
                exec {fd}> >(_fleet_keeper "$i")
                _FLEET_FDS[i]=$fd
                _FLEET_KEEPERS[i]=$!
        done
        for ((i = 1; i <= $1; i++)); do
                _fleet_wait_booted "$i"
        done
}

fleet_use() { # INDEX
        CT_PID=${FLEET_PID[$1]:?no container $1}
        CT_ROOT=${FLEET_ROOT[$1]}
        CT_NAME=${FLEET_NAME[$1]}
}

fleet_teardown() { # [failed]
        local i f deadline=$((SECONDS + FLEET_TEARDOWN_TIMEOUT))
        for i in "${!_FLEET_FDS[@]}"; do
                f=${_FLEET_FDS[i]}
                # (a keeper that is gone already must not SIGPIPE the test)
                [ -z "${1:-}" ] || (trap '' PIPE; echo "$1" >&"$f") 2>/dev/null || true
                exec {f}>&-
        done
        _FLEET_FDS=()
        for i in "${!_FLEET_KEEPERS[@]}"; do
                while [ -e "/proc/${_FLEET_KEEPERS[i]}" ] && [ ! -e "$FLEET_TMP/$i.down" ]; do
                        ((SECONDS < deadline)) || { echo "# container $i: no teardown within ${FLEET_TEARDOWN_TIMEOUT}s" >&2; break; }
                        sleep 0.1
                done
        done
        _FLEET_KEEPERS=()
        CT_PID=
        [ -n "$FLEET_TMP" ] && rm -rf "$FLEET_TMP"
        FLEET_TMP=
}

_fleet_on_exit() {
        local rc=$?
        trap - EXIT
        if [ "$rc" = 0 ]; then
                fleet_teardown
        else
                fleet_teardown failed
        fi
        exit "$rc"
}

# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What the watch tests share (50-watch-rollback.sh to 53-failover.sh), on top of crash-lib.sh (and so
# bluegreen.sh): the switch modes, the moments the journal stamps, and waits on units.

. "$(dirname "${BASH_SOURCE[0]}")/crash-lib.sh"

WATCH_MSG_AUTO=958ea6b67234438fbf8a4194fe67e653
WATCH_MSG_ENDED=3df85df6f3b84620bf1b069c7b924e6f
WATCH_MSG_FAILOVER=dd37ba4c3f0e422ebdfe110764b90e6a
WATCH_MSG_LIVE_FAILED=9822916220324248af5feee9c69070dd
WATCH_MSG_SWITCHED=aa54f60ed12c41529111c35fca5523e5

# The declaration's switch for MODE (reload, redirect, socket), as bg_declare reads it; CRASH_MODE for
# crash-lib.sh's checks.
watch_use_mode() { # MODE
        CRASH_MODE=$1 BG_SWITCH="" BG_LIVE_PORT=""
        case $1 in
        redirect) BG_LIVE_PORT=9010 ;;
        socket) BG_SWITCH=socket ;;
        esac
}

# A fresh container with the app declared (BG_EXTRA_DECL holds the watch settings), the include in
# place and nginx reloaded, r1 deployed: the usual start.
watch_setup() {
        bg_setup
        bg_release r1
        ct_exec systemctl start "$BG_APP.service"
        ct_exec systemctl reload nginx
        bg_deploy r1
}

# The earliest CLOCK_MONOTONIC stamp (µs) the app logged in UNIT's journal for WHAT ("first failing
# answer", "dying": see bg_release), or nothing.
watch_app_stamp() { # UNIT WHAT
        ct_exec journalctl -u "$1" -o cat --no-pager |
                sed -n "s/.*bluegreen-test: $2 monotonic_usec=\([0-9]*\).*/\1/p" | sort -n | head -n 1
}

# When the journal received the "switched" entry of the rollback that ran in UNIT (µs, CLOCK_MONOTONIC):
# traffic is back on the other color by then.
watch_switched_back() { # UNIT
        ct_exec journalctl -o json --no-pager "MESSAGE_ID=$WATCH_MSG_SWITCHED" "_SYSTEMD_UNIT=$1" |
                python3 -c 'import json, sys
t = [int(json.loads(l)["__MONOTONIC_TIMESTAMP"]) for l in sys.stdin if l.strip()]
print(min(t) if t else "")'
}

# Waits until UNIT is no longer active or activating, at most SECONDS; prints its state.
watch_wait_ended() { # UNIT SECONDS
        local st
        for _ in $(seq $(($2 * 10))); do
                st=$(bg_active "$1")
                case $st in active | activating | deactivating | reloading) sleep 0.1 ;; *) break ;; esac
        done
        bg_active "$1"
}

# The deploy queues the start of its watch and does not wait for it: waits, at most 5 s, until UNIT is
# active; prints its state.
watch_wait_started() { # UNIT
        for _ in $(seq 50); do
                [ "$(bg_active "$1")" = active ] && break
                sleep 0.1
        done
        bg_active "$1"
}

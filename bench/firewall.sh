#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The redirect switch against the firewall, measured: in a booted systemd container with the example
# app live in redirect mode behind nginx, each of "systemctl restart nftables", "systemctl reload
# nftables" and "systemctl stop nftables; systemctl start nftables" (Debian's nftables.service, whose
# /etc/nftables.conf begins with "flush ruleset"), in three setups:
#   - as-installed: the generator's drop-in has nftables.service load bluegreen's rule files in the
#     transaction of its own ruleset;
#   - own-unit: an nftables.service the admin changed (an ExecStart= of their own), which the generator
#     leaves alone: APP-redirect.service sets the rule again after the firewall;
#   - include: as installed, plus the include of docs/operations.md in /etc/nftables.conf, and a
#     hand-run "nft -f /etc/nftables.conf" measured too.
# Per setup and event:
#   - polled outage: from the first request nginx did not answer 200 to the next 200, polled over one
#     keep-alive connection every 2 ms (bench/gap-poll.py), per event: min / median / max over EVENTS
#     events (0: the poller saw no failure; its connection may survive a short gap it sent nothing in);
#   - journal (own-unit only, where the rule is gone for a while): from nftables.service's "Stopping"
#     or "Reloading" (its flush follows at once) to APP-redirect.service's "Redirect rule of APP set";
#   - failed: requests wrk -t2 -c16 (keep-alive) saw fail over EVENTS events, next to as many bare
#     "systemctl reload nginx" under the same load.
#
#   bench/firewall.sh [BUILD-DIR]      as root; default build dir: build
# Knobs (environment): EVENTS=5. Lines starting "RESULT" are for machines.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
export BLUEGREEN_BUILD_DIR=${1:-$PWD/build}
. bench/build.sh
bench_build "$BLUEGREEN_BUILD_DIR"
events=${EVENTS:-5}
. tests/system/bluegreen.sh
ct_require_root_and_tools nft wrk python3

url=http://127.0.0.1:8080/v
unit=$BG_APP-redirect.service

wrk_failed() { # FILE
        awk '/Non-2xx or 3xx responses:/ { n += $NF }
             /Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 }
             END { print n + 0 }' "$1"
}

# The jobs systemctl did not wait for (the pulled-in APP-redirect.service) done; and nftables.service's
# own start limit (5 in 10 s), which this many restarts would hit, reset.
idle() {
        for _ in $(seq 100); do
                [ -z "$(ct_exec systemctl list-jobs --no-legend)" ] && break
                sleep 0.05
        done
        ct_exec systemctl reset-failed nftables.service
}

# From the journal: the firewall's stop or reload began (its flush follows at once) to the rule set
# again ("Redirect rule of APP set"), in ms. Only where the generator left nftables.service alone:
# otherwise the rule is never gone, and APP-redirect.service's run only sets it once more.
journal_gap() { # SINCE
        ct_exec journalctl --since "@$1" -o short-unix --no-pager -u nftables.service -u "$unit" |
                awk '!t0 && /(Stopping|Reloading) nftables/ { t0 = $1 }
                     t0 && /Redirect rule of .* set/ { printf "%.0f\n", ($1 - t0) * 1000; exit }'
}

stats() { # VALUES... -> "min median max"
        printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[1], v[int((NR + 1) / 2)], v[NR] }'
}

gaps() { # LABEL COMMAND...: EVENTS outages, each polled on its own
        local label=$1 out since polled=() journal=() j
        shift
        for _ in $(seq "$events"); do
                : >"$CT_DIR/gap.txt"
                ct_exec python3 /root/gap-poll.py "$url" 4 2 >"$CT_DIR/gap.txt" &
                until grep -q '^ready' "$CT_DIR/gap.txt"; do sleep 0.02; done
                sleep 0.2
                since=$(ct_exec date +%s.%N)
                ct_exec "$@"
                wait $! || true
                grep -q '^gap_ms=open' "$CT_DIR/gap.txt" && { echo "$label: traffic not back after 4 s" >&2; ct_exec journalctl --since "@$since" -o short-unix --no-pager >&2; exit 1; }
                out=$(sed -n 's/^gap_ms=\([0-9]*\).*/\1/p' "$CT_DIR/gap.txt" | sort -n | tail -n 1)
                polled+=("${out:-0}")
                idle
                [ "$setup" = own-unit ] && j=$(journal_gap "$since") && [ -n "$j" ] && journal+=("$j")
        done
        read -r min med max <<<"$(stats "${polled[@]}")"
        printf '%-26s polled outage, ms: min %s median %s max %s (each: %s)\n' "$label" "$min" "$med" "$max" "${polled[*]}"
        echo "RESULT label=${label// /_} polled_gap_ms_min=$min polled_gap_ms_median=$med polled_gap_ms_max=$max"
        if [ "${#journal[@]}" -gt 0 ]; then
                read -r min med max <<<"$(stats "${journal[@]}")"
                printf '%-26s journal, flush to rule set, ms: min %s median %s max %s (each: %s)\n' "$label" "$min" "$med" "$max" "${journal[*]}"
                echo "RESULT label=${label// /_} journal_gap_ms_min=$min journal_gap_ms_median=$med journal_gap_ms_max=$max"
        fi
}

failures() { # LABEL COMMAND...: EVENTS of COMMAND under wrk
        local label=$1 f=$CT_DIR/wrk.txt
        shift
        ct_exec wrk -t2 -c16 -d$((events + 2))s --timeout 5s "$url" >"$f" 2>&1 &
        local wrk=$!
        sleep 0.5
        for _ in $(seq "$events"); do
                ct_exec "$@"
                sleep 0.8
                ct_exec systemctl reset-failed nftables.service
        done
        wait "$wrk" || true
        idle
        printf '%-26s wrk -t2 -c16: %s failed of %s over %s events\n' "$label" "$(wrk_failed "$f")" \
                "$(awk '/ requests in / { print $1 }' "$f")" "$events"
        echo "RESULT label=${label// /_} failed=$(wrk_failed "$f") requests=$(awk '/ requests in / { print $1 }' "$f") events=$events"
}

BG_LIVE_PORT=9010 bg_setup
bg_release r1
ct_exec systemctl start "$BG_APP.service"
ct_exec systemctl reload nginx
bg_deploy r1
cp bench/gap-poll.py "$CT_ROOT/root/gap-poll.py"
ct_exec systemctl start nftables.service
idle
echo "# $(ct_exec nft --version), $(ct_exec systemctl --version | head -n 1), kernel $(uname -r), $(nproc) CPUs"

failures bare-nginx-reload systemctl reload nginx
dropins=$CT_ROOT/etc/systemd/system/nftables.service.d
for setup in as-installed own-unit include; do
        case $setup in
        own-unit)
                mkdir -p "$dropins"
                printf '[Service]\nExecStart=\nExecStart=/usr/sbin/nft -I /etc -f /etc/nftables.conf\n' >"$dropins/override.conf"
                ct_exec systemctl daemon-reload
                ;;
        include)
                rm "$dropins/override.conf"
                ct_exec systemctl daemon-reload
                echo 'include "/run/bluegreen/*/redirect.nft"' >>"$CT_ROOT/etc/nftables.conf"
                ;;
        esac
        echo "# $setup: nftables.service runs $(ct_exec systemctl show -P ExecStart nftables.service | sed -n 's/.*argv\[\]=\(.*\) ; ignore_errors=.*/\1/p')"
        gaps "$setup restart" systemctl restart nftables.service
        gaps "$setup reload" systemctl reload nftables.service
        gaps "$setup stop+start" sh -c 'systemctl stop nftables.service; systemctl start nftables.service'
        [ "$setup" = include ] && gaps "$setup nft -f" nft -f /etc/nftables.conf
        failures "$setup restart" systemctl restart nftables.service
        failures "$setup reload" systemctl reload nftables.service
        failures "$setup stop+start" sh -c 'systemctl stop nftables.service; systemctl start nftables.service'
        [ "$setup" = include ] && failures "$setup nft -f" nft -f /etc/nftables.conf
done

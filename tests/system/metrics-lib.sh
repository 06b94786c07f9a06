# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What the metrics tests (56-metrics.sh, 57-metrics-auto.sh) share, on top of bluegreen.sh: reading
# bluegreen-APP.prom through a real Prometheus parser, python3-prometheus-client's, and checking samples.
#
#   bg_scrape                     every sample as "NAME{LABEL=VALUE,...} VALUE" (labels sorted), and
#                                 every family as "TYPE NAME TYPE"; fails the test on a file it cannot parse
#   bg_sample SCRAPE NAME LABELS  one sample's value (app= added), or "absent"
#   bg_assert_sample, bg_assert_between, bg_assert_counts, bg_assert_live

. "$(dirname "${BASH_SOURCE[0]}")/bluegreen.sh"
/usr/bin/python3 -c 'import prometheus_client.parser' 2>/dev/null ||
        fail "the scrape needs Debian's python3-prometheus-client (tools/install-deps.sh installs it)"

PROM=/var/lib/prometheus/node-exporter/bluegreen-$BG_APP.prom

# Every sample of the file as "NAME{LABEL=VALUE,...} VALUE", labels sorted, and every family as
# "TYPE NAME TYPE", through prometheus_client's text parser: a file it cannot parse fails the test.
bg_scrape() {
        [ -f "$CT_ROOT$PROM" ] || fail "$PROM was not written"
        /usr/bin/python3 - "$CT_ROOT$PROM" <<'PY' || fail "prometheus_client cannot parse $PROM"
import sys
from prometheus_client.parser import text_string_to_metric_families

for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    print(f"TYPE {family.name} {family.type}")
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        print(f"{s.name}{{{labels}}} {s.value!r}")
PY
}

# The value of one sample (labels as bg_scrape sorts them, app= added), or "absent".
bg_sample() { # SCRAPE NAME LABELS
        local labels="app=$BG_APP${3:+,$3}" line
        # Sorted labels: "app" comes first of the labels used here.
        line=$(grep -F -- "$2{$labels} " <<<"$1" || true)
        [ -n "$line" ] && echo "${line##* }" || echo absent
}

bg_assert_sample() { # SCRAPE NAME LABELS WANT MSG
        assert_eq "$4" "$(bg_sample "$1" "$2" "$3")" "$5"
}

bg_assert_between() { # VALUE LOW HIGH MSG
        /usr/bin/python3 -c 'import sys; v, lo, hi = map(float, sys.argv[1:4]); sys.exit(not lo <= v <= hi)' "$1" "$2" "$3" ||
                fail "$4: $1 is not within [$2, $3]"
        ok "$4"
}

# The counters: deploys by result, successful rollbacks by kind (failover: none), retirements.
bg_assert_counts() { # SCRAPE SUCCESS FAILURE MANUAL AUTO RETIREMENTS WHEN
        local w=$7
        bg_assert_sample "$1" bluegreen_deploys_total result=success "$2.0" "$w: bluegreen_deploys_total{result=\"success\"}"
        bg_assert_sample "$1" bluegreen_deploys_total result=failure "$3.0" "$w: bluegreen_deploys_total{result=\"failure\"}"
        bg_assert_sample "$1" bluegreen_rollbacks_total kind=manual,result=success "$4.0" "$w: manual rollbacks"
        bg_assert_sample "$1" bluegreen_rollbacks_total kind=auto,result=success "$5.0" "$w: automatic rollbacks"
        bg_assert_sample "$1" bluegreen_rollbacks_total kind=failover,result=success 0.0 "$w: no failover"
        for k in manual auto failover; do
                bg_assert_sample "$1" bluegreen_rollbacks_total "kind=$k,result=failure" 0.0 "$w: no failed $k rollback"
        done
        bg_assert_sample "$1" bluegreen_retirements_total "" "$6.0" "$w: bluegreen_retirements_total"
}

bg_assert_live() { # SCRAPE LIVE BLUE-RELEASE GREEN-RELEASE WHEN
        local other=green
        [ "$2" = green ] && other=blue
        bg_assert_sample "$1" bluegreen_live_color "color=$2" 1.0 "$5: bluegreen_live_color{color=\"$2\"} is 1"
        bg_assert_sample "$1" bluegreen_live_color "color=$other" 0.0 "$5: bluegreen_live_color{color=\"$other\"} is 0"
        bg_assert_sample "$1" bluegreen_release_info "color=blue,release=$3" 1.0 "$5: blue is pinned to $3"
        if [ -n "$4" ]; then
                bg_assert_sample "$1" bluegreen_release_info "color=green,release=$4" 1.0 "$5: green is pinned to $4"
        fi
        bg_assert_sample "$1" bluegreen_switch_rule_present "" 1.0 "$5: the route leads to the live color"
}


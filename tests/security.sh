#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The strict color unit must score at most 2.0 under systemd-analyze security, with a declared user
# (the worked example) and with a dynamic user (the defaults).
#   security.sh GENERATOR GOLDEN-CASES-DIR
set -euo pipefail
gen=$1
cases=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

for c in 01-worked-example:saltbox-api 02-defaults:shop; do
        dir=${c%%:*} app=${c##*:}
        mkdir -p "$tmp/$dir/out"
        BLUEGREEN_CONFIG_PATH=$cases/$dir/in/etc/bluegreen "$gen" "$tmp/$dir/out"
        # systemd-analyze rates an instance, so the template is looked at as the blue color.
        cp "$tmp/$dir/out/$app@.service" "$tmp/$dir/$app@blue.service"
        line=$(systemd-analyze security --offline=true "$tmp/$dir/$app@blue.service" | tail -n 1)
        score=$(sed -E 's/.*: ([0-9.]+) .*/\1/' <<<"$line")
        echo "$dir: $line"
        if ! awk -v s="$score" 'BEGIN { exit !(s + 0 <= 2.0) }'; then
                echo "FAIL: $app@blue.service exposure $score is above 2.0"
                fail=1
        fi
        # The same verdict from systemd-analyze's own threshold (its scale is ten times the display).
        systemd-analyze security --offline=true --threshold=20 "$tmp/$dir/$app@blue.service" >/dev/null || {
                echo "FAIL: systemd-analyze --threshold=20 rejects $app@blue.service"
                fail=1
        }
done
[ "$fail" -eq 0 ] && echo "ok - strict color units score at most 2.0"
exit "$fail"

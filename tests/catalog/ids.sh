#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every MESSAGE_ID bluegreen defines has exactly one entry in its journal catalog, and the catalog has
# no entry for an ID that is not defined. Usage: ids.sh LOG_H CATALOG
set -euo pipefail
log_h=$1 catalog=$2
fails=0

ids=$(sed -nE 's/^#define MESSAGE_[A-Z_]+ "([0-9a-f]{32})".*/\1/p' "$log_h")
[ -n "$ids" ] || { echo "FAIL: no MESSAGE_ID found in $log_h"; exit 1; }
entries=$(sed -nE 's/^-- ([0-9a-f]{32})$/\1/p' "$catalog")

for id in $ids; do
        n=$(grep -cx -- "$id" <<<"$entries" || true)
        if [ "$n" != 1 ]; then
                echo "FAIL: $catalog has $n entries for $(grep -m1 "\"$id\"" "$log_h" | awk '{print $2}') ($id)"
                fails=$((fails + 1))
        fi
done
for id in $entries; do
        grep -qx -- "$id" <<<"$ids" || { echo "FAIL: $catalog: entry $id is not a MESSAGE_ID of $log_h"; fails=$((fails + 1)); }
done
# journalctl ignores a malformed "-- " line silently, so any other one is a typo.
if bad=$(grep -nE '^--' "$catalog" | grep -vE '^[0-9]+:-- [0-9a-f]{32}$'); then
        echo "FAIL: $catalog: malformed entry header: $bad"
        fails=$((fails + 1))
fi
# Every entry has a Subject:, and a field name journalctl would leave unreplaced is a typo.
if [ "$(grep -c '^Subject: ' "$catalog")" != "$(wc -w <<<"$entries")" ]; then
        echo "FAIL: $catalog: an entry has no Subject:"
        fails=$((fails + 1))
fi
if bad=$(grep -v '^#' "$catalog" | grep -oE '@[A-Z_]+@' | sort -u | grep -vxE '@BLUEGREEN_(APP|RELEASE|COLOR)@'); then
        echo "FAIL: $catalog: fields bluegreen does not log: $bad"
        fails=$((fails + 1))
fi

[ "$fails" = 0 ] || exit 1
echo "ok - $(wc -w <<<"$ids") MESSAGE_IDs, one catalog entry each"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The example declarations are what users copy: each must generate its units without a word.
#   examples.sh GENERATOR EXAMPLES-DIR
set -euo pipefail
gen=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/etc" "$tmp/out"
cp "$2"/*/*.conf "$tmp/etc/"
BLUEGREEN_CONFIG_PATH=$tmp/etc "$gen" "$tmp/out" 2>"$tmp/err" || { cat "$tmp/err"; echo "FAIL: the generator refused an example"; exit 1; }
[ ! -s "$tmp/err" ] || { cat "$tmp/err"; echo "FAIL: the generator complained about an example"; exit 1; }
for f in "$2"/*/*.conf; do
        app=$(basename "$f" .conf)
        [ -f "$tmp/out/$app@.service" ] || { echo "FAIL: no units for $f"; exit 1; }
        echo "ok - $f generates its units"
done

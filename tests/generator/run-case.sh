#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Golden test of bluegreen-generator, in the manner of systemd's and zram-generator's:
#   run-case.sh GENERATOR LIBEXECDIR CASE-DIR [--update]
# CASE-DIR/in/ holds declarations laid out as on a real system (in/etc/bluegreen/,
# in/run/bluegreen/, in/usr/local/lib/bluegreen/, in/usr/lib/bluegreen/; units in in/etc/systemd/system/,
# in/run/systemd/system/ and in/lib/systemd/system/); CASE-DIR/out-before/, if
# present, what another generator already wrote into the output directory. The generator's output
# tree must equal CASE-DIR/expected/ (diff -ru; absent means "nothing generated"), its exit status
# CASE-DIR/expected-exit (absent: 0) and its stderr CASE-DIR/expected-stderr (absent: empty).
# Paths are written as they would be on a real system: the input root is stripped, the output
# directory reads /run/systemd/generator and helpers live in /usr/local/libexec/bluegreen.
# --update rewrites the expected files from the current output, for review with git diff.
set -euo pipefail

gen=$1
libexecdir=$2
case_dir=$(cd "$3" && pwd)
update=${4:-}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/root" "$tmp/out"
[ -d "$case_dir/in" ] && cp -a "$case_dir/in/." "$tmp/root/"
[ -d "$case_dir/out-before" ] && cp -a "$case_dir/out-before/." "$tmp/out/"

search=
for d in etc/bluegreen run/bluegreen usr/local/lib/bluegreen usr/lib/bluegreen; do
        search+="${search:+:}$tmp/root/$d"
done

set +e
env -i PATH=/usr/bin:/bin BLUEGREEN_CONFIG_PATH="$search" BLUEGREEN_SYSTEM_UNIT_PATH="$tmp/root/lib/systemd/system" \
        BLUEGREEN_UNIT_PATH="$tmp/root/etc/systemd/system:$tmp/root/run/systemd/system:$tmp/root/lib/systemd/system" "$gen" "$tmp/out" >"$tmp/stdout" 2>"$tmp/stderr"
status=$?
set -e

normalise() {
        sed -i -e "s|$tmp/root||g" -e "s|$tmp/out|/run/systemd/generator|g" \
                -e "s|$libexecdir|/usr/local/libexec/bluegreen|g" "$@"
}
find "$tmp/out" -type f -print0 | while IFS= read -r -d '' f; do normalise "$f"; done
normalise "$tmp/stderr"

if [ "$update" = --update ]; then
        rm -rf "$case_dir/expected" "$case_dir/expected-exit" "$case_dir/expected-stderr"
        if [ -n "$(ls -A "$tmp/out")" ]; then
                cp -a "$tmp/out" "$case_dir/expected"
        fi
        [ "$status" -eq 0 ] || echo "$status" >"$case_dir/expected-exit"
        [ -s "$tmp/stderr" ] && cp "$tmp/stderr" "$case_dir/expected-stderr"
        echo "updated $case_dir"
        exit 0
fi

fail=0
expected_status=0
[ -f "$case_dir/expected-exit" ] && expected_status=$(cat "$case_dir/expected-exit")
if [ "$status" -ne "$expected_status" ]; then
        echo "exit status $status, expected $expected_status"
        fail=1
fi

[ -s "$tmp/stdout" ] && { echo "unexpected output on stdout:"; cat "$tmp/stdout"; fail=1; }

if [ -f "$case_dir/expected-stderr" ]; then
        diff -u "$case_dir/expected-stderr" "$tmp/stderr" || fail=1
elif [ -s "$tmp/stderr" ]; then
        echo "unexpected messages on stderr:"
        cat "$tmp/stderr"
        fail=1
fi

expected_tree=$case_dir/expected
if [ ! -d "$expected_tree" ]; then
        expected_tree=$tmp/empty
        mkdir -p "$expected_tree"
fi
diff -ru --no-dereference "$expected_tree" "$tmp/out" || fail=1

[ "$fail" -eq 0 ] && echo "ok - $(basename "$case_dir")"
exit "$fail"

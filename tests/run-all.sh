#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole test suite, as CI runs it: installs what it needs, builds, runs every meson test (unit,
# golden generator tests, security score, system tests under a real systemd in containers), then the
# unit and generator tests and the fuzz corpus replay (tests/fuzz/) again in an ASan+UBSan build.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

tools/install-deps.sh

setup() {
        local dir=$1
        shift
        if [ -f "$dir/build.ninja" ]; then
                meson setup --reconfigure "$dir" "$@" >/dev/null
        else
                meson setup "$dir" "$@" >/dev/null
        fi
}

setup build
meson compile -C build
status=0
meson test -C build --print-errorlogs || status=1

setup build-sanitize -Db_sanitize=address,undefined -Db_lundef=false
meson compile -C build-sanitize
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson test -C build-sanitize --suite unit --suite generator --suite fuzz --print-errorlogs || status=1

# One closing line for all runs: N passed, N failed.
python3 - build/meson-logs/testlog.json build-sanitize/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit "$status"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs each libFuzzer target of tests/fuzz/ for a given time, starting from the committed corpus, and
# prints per target the executions, executions per second and what was found (crash, leak, timeout,
# with the saved input and the report's first lines), then the totals. Builds the targets first, with
# clang, ASan and UBSan, in their own build directory. Runs at nice 19: it takes what the machine
# leaves free. New inputs go to a work corpus in the build directory, never into tests/fuzz/corpus;
# to fold them in, see tests/fuzz/README.md.
#   bench/fuzz.sh [SECONDS-PER-TARGET [TARGET...]]   (default: 60 seconds, every target)
#   BLUEGREEN_FUZZ_BUILD_DIR (default: build-fuzz)
# Exit status: 0 nothing found, 1 something found, 2 the targets could not be built or run.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decl generator envfile trigger-name)
build=${BLUEGREEN_FUZZ_BUILD_DIR:-build-fuzz}

tools/install-deps.sh
if [ ! -f "$build/build.ninja" ]; then
        # -fsanitize=fuzzer-no-link gives the library code under test the coverage libFuzzer steers by.
        CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
                -Dbuildtype=debugoptimized -Dc_args=-fsanitize=fuzzer-no-link >/dev/null || exit 2
fi
ninja -C "$build" "${targets[@]/#/tests/fuzz/fuzz-}" >/dev/null || exit 2

work=$build/fuzz-work
mkdir -p "$work"
export LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

found=0 total=0 total_ns=0
printf '%-14s %12s %10s  %s\n' target executions exec/s result
for t in "${targets[@]}"; do
        mkdir -p "$work/$t" "$work/artifacts"
        log=$work/$t.log
        start=$(date +%s%N)
        set +e
        nice -n 19 "$build/tests/fuzz/fuzz-$t" -max_total_time="$seconds" -timeout=10 -max_len=4096 \
                -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" \
                "$work/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
        status=$?
        set -e
        elapsed_ns=$(($(date +%s%N) - start))
        total_ns=$((total_ns + elapsed_ns))
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        execs=${execs:-0}
        total=$((total + execs))
        if [ "$status" -eq 0 ]; then
                result="nothing found"
        else
                found=1
                artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
                kind=$(grep -m1 -oE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer): [a-z -]+|runtime error: .*|^fuzz-[a-z-]+: .*' "$log" || echo "exit status $status")
                result="FOUND: $kind; input: ${artifact:-none}; log: $log"
        fi
        printf '%-14s %12d %10d  %s\n' "$t" "$execs" "$((execs * 1000000000 / elapsed_ns))" "$result"
done
printf '%-14s %12d %10d\n' total "$total" "$((total * 1000000000 / total_ns))"
exit "$found"

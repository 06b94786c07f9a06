#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# How long bluegreen-generator takes, as a whole process, for 1, 100 and 1000 declarations, next to
# systemd's own systemd-sysv-generator converting 1000 init scripts, measured in the same run: the
# median, per app (or script), per file written (files and symlinks in the output tree) and, with
# strace installed, the system calls per app and per file written.
# Budget (issue 2): one app under 2 ms; 1000 apps under 50 ms.
#   bench/generator.sh [BUILD-DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
build=${1:-build}
gen=$build/generator/bluegreen-generator
. bench/build.sh
bench_build "$build"
runs=${RUNS:-21}
# The output goes where systemd puts it, on a tmpfs (/run); /dev/shm stands in for it here. On a disk,
# creating files costs far more than the generator's own work.
tmp=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT

decl() { # N
        local i=$1
        cat <<CONF
releases = "/srv/app$i/releases";
exec = "venv/bin/gunicorn --bind 127.0.0.1:\${PORT} main:app";
workdir = "app";
user = "app$i";
ports = { blue = $((10000 + 2 * i)); green = $((10001 + 2 * i)); };
environment = { WORKERS = "2"; };
health = { path = "/healthz"; deadline_s = 30; };
smoke = ( { path = "/v"; body_contains = "\${RELEASE}"; } );
hooks = { pre_start = "venv/bin/alembic upgrade head"; };
read_write_paths = [ "/srv/app$i/shared" ];
CONF
}

# Median wall time in microseconds of RUNS runs of a command (output dir emptied before each run).
median_us() { # OUTDIR CMD...
        python3 bench/spawn-time.py "$runs" "$@"
}

# Files and symlinks in the output tree of the last run.
files_written() {
        find "$tmp/out" ! -type d | wc -l
}

row() { # LABEL US UNITS FILES
        printf '%-44s %9.2f ms %11.1f us %7d %9.2f us\n' "$1" "$(echo "$2 / 1000" | bc -l)" "$(echo "$2 / $3" | bc -l)" \
                "$4" "$(echo "$2 / $4" | bc -l)"
}

# System calls of one run of the generator (strace -f -c), from the summary's total line.
syscalls() { # CMD...
        rm -rf "$tmp/out" && mkdir -p "$tmp/out"
        strace -f -c -o "$tmp/strace" "$@" >/dev/null 2>&1 || true
        awk '$NF == "total" { print $(NF - 2) }' "$tmp/strace"
}

floor=$(median_us "$tmp/out" /bin/true)
printf '%-44s %12s %14s %7s %12s\n' "case" "median" "per app/script" "files" "per file"
printf '%-44s %9.2f ms\n' "/bin/true (the cost of any process here)" "$(echo "$floor / 1000" | bc -l)"
for n in 1 100 1000; do
        mkdir -p "$tmp/decl$n"
        for i in $(seq "$n"); do decl "$i" >"$tmp/decl$n/app$i.conf"; done
        us=$(BLUEGREEN_CONFIG_PATH=$tmp/decl$n median_us "$tmp/out" "$gen" "$tmp/out")
        # Check once that it really generated every app.
        rm -rf "$tmp/out" && mkdir -p "$tmp/out"
        BLUEGREEN_CONFIG_PATH=$tmp/decl$n "$gen" "$tmp/out"
        made=$(ls "$tmp/out" | grep -c '@\.service$' || true)
        [ "$made" -ge "$n" ] || { echo "generator made $made color units for $n apps" >&2; exit 1; }
        files=$(files_written)
        row "bluegreen-generator, $n declarations" "$us" "$n" "$files"
        eval "gen_us_$n=$us gen_files_$n=$files"
done

sysv=/lib/systemd/system-generators/systemd-sysv-generator
if [ -x "$sysv" ]; then
        mkdir -p "$tmp/init.d" "$tmp/rc.d"
        for i in $(seq 1000); do
                cat >"$tmp/init.d/svc$i" <<'INIT'
#!/bin/sh
### BEGIN INIT INFO
# Provides:          svc
# Required-Start:    $remote_fs $syslog
# Required-Stop:     $remote_fs $syslog
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: benchmark service
### END INIT INFO
INIT
                chmod +x "$tmp/init.d/svc$i"
        done
        export SYSTEMD_SYSVINIT_PATH=$tmp/init.d SYSTEMD_SYSVRCND_PATH=$tmp/rc.d
        us=$(median_us "$tmp/out" "$sysv" "$tmp/out" "$tmp/out" "$tmp/out")
        rm -rf "$tmp/out" && mkdir -p "$tmp/out"
        "$sysv" "$tmp/out" "$tmp/out" "$tmp/out"
        unset SYSTEMD_SYSVINIT_PATH SYSTEMD_SYSVRCND_PATH
        row "systemd-sysv-generator, 1000 init scripts" "$us" 1000 "$(files_written)"
        printf 'ratio bluegreen(1000) / sysv(1000): %.2f; per file written: %.2f\n' "$(echo "$gen_us_1000 / $us" | bc -l)" \
                "$(echo "($gen_us_1000 / $gen_files_1000) / ($us / $(files_written))" | bc -l)"
fi

if command -v strace >/dev/null; then
        # An app's own calls, without the process's start-up: 1000 apps less one app, over 999.
        one=$(BLUEGREEN_CONFIG_PATH=$tmp/decl1 syscalls "$gen" "$tmp/out")
        all=$(BLUEGREEN_CONFIG_PATH=$tmp/decl1000 syscalls "$gen" "$tmp/out")
        per_app=$(echo "($all - $one) / 999" | bc -l)
        printf 'system calls (strace -f -c): 1 app %d, 1000 apps %d; per app %.1f, per file written %.2f\n' "$one" "$all" \
                "$per_app" "$(echo "$per_app * 1000 / $gen_files_1000" | bc -l)"
fi
echo "budget: 1 app < 2 ms, 1000 apps < 50 ms; runs per case: $runs (median wall time, posix_spawn to exit)"

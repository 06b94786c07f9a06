#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bluegreenctl verify against the generator's golden cases (tests/generator/NN-*/):
#   verify-golden.sh BLUEGREENCTL GENERATOR-CASES-DIR
# For every case, laid out as run-case.sh lays it out:
#   - the whole host: "bluegreenctl verify" prints exactly what the generator printed on stderr, without
#     its "bluegreen-generator: " prefix, and exits 1 when the generator exited 1, else 0;
#   - each declaration of a case where the generator failed, copied to a temporary name the generator
#     would not read and checked as "bluegreenctl verify --name APP TMPFILE" (what Ansible's validate
#     runs): it exits 1 exactly when the generator refused that app or another app because of it, and
#     every message verify prints is one the generator printed (the temporary name read as the file's
#     own), every generator message that names the file among them.
# A case with out-before/ is left out: its errors come from writing the output directory, which
# verify does not do.
set -euo pipefail

ctl=$1
cases=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n_host=0 n_file=0

say_fail() {
        echo "FAIL: $*"
        fail=1
}

for case_dir in "$cases"/[0-9]*/; do
        case_dir=${case_dir%/}
        name=$(basename "$case_dir")
        [ -d "$case_dir/out-before" ] && continue
        rm -rf "$tmp/root"
        mkdir -p "$tmp/root"
        [ -d "$case_dir/in" ] && cp -a "$case_dir/in/." "$tmp/root/"
        search=
        for d in etc/bluegreen run/bluegreen usr/local/lib/bluegreen usr/lib/bluegreen; do
                search+="${search:+:}$tmp/root/$d"
        done
        expected_status=0
        [ -f "$case_dir/expected-exit" ] && expected_status=$(cat "$case_dir/expected-exit")
        if [ -f "$case_dir/expected-stderr" ]; then
                sed 's/^bluegreen-generator: //' "$case_dir/expected-stderr" >"$tmp/expected"
        else
                : >"$tmp/expected"
        fi

        run_verify() { # OUT ARG...
                local out=$1
                shift
                set +e
                env -i PATH=/usr/bin:/bin BLUEGREEN_CONFIG_PATH="$search" \
                        BLUEGREEN_SYSTEM_UNIT_PATH="$tmp/root/lib/systemd/system" \
                        BLUEGREEN_UNIT_PATH="$tmp/root/etc/systemd/system:$tmp/root/run/systemd/system:$tmp/root/lib/systemd/system" \
                        "$ctl" verify "$@" \
                        >"$tmp/stdout" 2>"$out"
                status=$?
                set -e
                sed -i "s|$tmp/root||g" "$out"
                [ -s "$tmp/stdout" ] && say_fail "$name: verify $*: unexpected output on stdout: $(cat "$tmp/stdout")"
                return 0
        }

        # The whole host.
        run_verify "$tmp/host"
        n_host=$((n_host + 1))
        [ "$status" -eq "$expected_status" ] || say_fail "$name: verify exits $status, the generator $expected_status"
        diff -u "$tmp/expected" "$tmp/host" >"$tmp/diff" || say_fail "$name: verify's messages differ: $(cat "$tmp/diff")"

        [ "$expected_status" -eq 0 ] && continue
        # Each declaration the generator read (the first of its name along the search path) on its
        # own, under a temporary name next to it, so that its @include files are found as the
        # generator finds them.
        declare -A seen=()
        for d in etc/bluegreen run/bluegreen usr/local/lib/bluegreen usr/lib/bluegreen; do
                for f in "$tmp/root/$d"/*.conf; do
                        [ -e "$f" ] || [ -L "$f" ] || continue
                        app=$(basename "$f" .conf)
                        [ -n "${seen[$app]:-}" ] && continue
                        seen[$app]=1
                        [ -f "$f" ] && [ -s "$f" ] || continue # masked, or not a file
                        rel=/${f#"$tmp/root/"}
                        tmpfile=$(dirname "$f")/.validate-$RANDOM
                        cp -a "$f" "$tmpfile"
                        run_verify "$tmp/file" --name "$app" "$tmpfile"
                        rm -f "$tmpfile"
                        n_file=$((n_file + 1))
                        sed -i "s|${tmpfile#"$tmp/root"}|$rel|g" "$tmp/file"
                        want_status=0
                        # Every message verify prints is the generator's; an error among them fails it.
                        while IFS= read -r line; do
                                grep -Fxq -- "$line" "$tmp/expected" ||
                                        say_fail "$name: verify --name $app: not the generator's: $line"
                                case $line in
                                *", ignoring." | *"nginx.switch: reload mode"*) ;;
                                *) want_status=1 ;;
                                esac
                        done <"$tmp/file"
                        # Every generator message that names the file is verify's.
                        while IFS= read -r line; do
                                grep -Fxq -- "$line" "$tmp/file" || say_fail "$name: verify --name $app misses: $line"
                        done < <(grep -F -- "$rel" "$tmp/expected" || true)
                        [ "$status" -eq "$want_status" ] ||
                                say_fail "$name: verify --name $app $rel exits $status, expected $want_status"
                done
        done
        unset seen
done

echo "verify matched the generator on $n_host cases and $n_file declarations checked one by one"
exit "$fail"

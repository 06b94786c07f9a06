#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bluegreenctl's verbs that need no running systemd, against an app generated into a temporary
# directory (its state directory moved there too), and the bash completion:
#   offline.sh BLUEGREENCTL GENERATOR COMPLETION-SCRIPT
#   - releases: newest first, each marked by what holds it (pins, an alias, an intent, the trigger file);
#   - prune --dry-run: what it would remove is exactly what nothing holds beyond the newest N, and it
#     removes nothing;
#   - history: newest first, -n, --json;
#   - completion: verbs, options, app names, release names.
set -euo pipefail

ctl=$(readlink -f "$1")
gen=$(readlink -f "$2")
completion=$(readlink -f "$3")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

ok() { echo "ok - $*"; }
check_eq() { # EXPECTED ACTUAL WHAT
        if [ "$1" = "$2" ]; then ok "$3"; else
                echo "FAIL: $3: expected '$1', got '$2'"
                fail=1
        fi
}

mkdir -p "$tmp/etc" "$tmp/out" "$tmp/releases" "$tmp/state"
cat >"$tmp/etc/shop.conf" <<EOF
releases = "$tmp/releases";
exec = "/bin/true \${PORT}";
ports = { blue = 8001; green = 8002; };
EOF
cat >"$tmp/etc/web.conf" <<EOF
releases = "$tmp/releases-web";
exec = "/bin/true \${PORT}";
ports = { blue = 8011; green = 8012; };
EOF
BLUEGREEN_CONFIG_PATH=$tmp/etc "$gen" "$tmp/out" 2>/dev/null
sed -i "s|^BLUEGREEN_STATE_DIR=.*|BLUEGREEN_STATE_DIR=\"$tmp/state\"|" "$tmp/out/bluegreen/shop/app.env"
sed -i "s|^BLUEGREEN_TRIGGER=.*|BLUEGREEN_TRIGGER=\"$tmp/releases/.deploy\"|" "$tmp/out/bluegreen/shop/app.env"
export BLUEGREEN_GENERATOR_DIR=$tmp/out BLUEGREEN_CONFIG_PATH=$tmp/etc
# No systemd to ask, whatever runs on this machine: the verbs say so and go on without it.
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/no-bus

# r1 (oldest) .. r7 (newest)
for i in 1 2 3 4 5 6 7; do
        mkdir -p "$tmp/releases/r$i/app"
        head -c $((i * 10000)) /dev/zero >"$tmp/releases/r$i/app/blob"
        touch -d "@$((1700000000 + i * 3600))" "$tmp/releases/r$i"
done
ln -s r3 "$tmp/releases/latest"                      # alias
ln -s /etc "$tmp/releases/elsewhere"                 # leads outside: no alias, never removed
ln -s "$tmp/releases/r1" "$tmp/state/blue"           # pins
ln -s "$tmp/releases/r2" "$tmp/state/green"
echo green >"$tmp/state/active"
printf 'id=1.2\nevent=deploy\nfrom=green\nto=blue\nrelease=r1\npin.blue=%s\npin.green=%s\nto_was_active=0\nphase=touched\n' \
        "$tmp/releases/r4" "$tmp/releases/r2" >"$tmp/state/intent"
echo r5 >"$tmp/releases/.deploy"                     # trigger file

check_eq "r7 r6 r5 r4 r3 r2 r1" "$("$ctl" releases -q shop | xargs)" "releases -q: every release, newest first"
json=$("$ctl" releases --json shop 2>/dev/null)
check_eq "r2:live r1:pinned_by=blue r3:aliases=latest r4:in_flight r5:in_flight r6: r7:" \
        "$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
out = []
for r in sorted(d["releases"], key=lambda r: (not r["live"], not r["pinned_by"], not r["aliases"], not r["in_flight"], r["release"])):
    why = "live" if r["live"] else "pinned_by=" + ",".join(r["pinned_by"]) if r["pinned_by"] else "aliases=" + ",".join(r["aliases"]) if r["aliases"] else "in_flight" if r["in_flight"] else ""
    out.append(r["release"] + ":" + why)
assert all(r["size_bytes"] > 0 for r in d["releases"])
print(" ".join(out))' "$json")" "releases --json: live, pinned, alias target, in flight (intent, trigger file), sizes"
text=$("$ctl" releases shop 2>/dev/null)
case $text in *"r2 "*"live (green)"*) ok "releases: text names the live color" ;; *)
        echo "FAIL: releases text: $text"
        fail=1
        ;;
esac

before=$(ls "$tmp/releases" | xargs)
out=$("$ctl" prune --keep 1 --dry-run shop 2>/dev/null)
check_eq "r6" "$(echo "$out" | awk '$1 == "remove" { print $2 }' | xargs)" "prune --keep 1 --dry-run: only r6 would go"
check_eq "$before" "$(ls "$tmp/releases" | xargs)" "prune --dry-run removes nothing"
out=$("$ctl" prune --keep 0 --dry-run --json shop 2>/dev/null)
check_eq "r7 r6" "$(python3 -c 'import json,sys; print(" ".join(sorted((r["release"] for r in json.loads(sys.argv[1])["removed"]), reverse=True)))' "$out")" \
        "prune --keep 0 --dry-run --json: r6 and r7 would go"
rm "$tmp/state/intent" "$tmp/releases/.deploy"
check_eq "r6 r5 r4" "$("$ctl" prune --keep 1 --dry-run shop 2>/dev/null | awk '$1 == "remove" { print $2 }' | xargs)" \
        "without the intent and the trigger file, r4 and r5 would go too"
set +e
"$ctl" prune --dry-run shop >/dev/null 2>&1
check_eq 64 $? "prune without --keep is bad usage"
"$ctl" prune --keep 1 --dry-run nosuch >/dev/null 2>&1
check_eq 2 $? "prune of no such app exits 2"
set -e

# history, newest first
cat >"$tmp/state/history" <<'EOF'
2026-04-15T10:05:12+0200 deploy r1 blue txn=1.1
2026-04-15T10:12:05+0200 deploy r2 green txn=2.2
2026-04-15T10:14:02+0200 auto-rollback r1 blue from=r2 reason=3 failed health probes in a row: 500
2026-04-15T10:14:03+0200 rollback r1 blue txn=3.3
2026-04-15T11:00:00+0200 retire r2 green
EOF
check_eq "retire rollback auto-rollback deploy deploy" "$("$ctl" history shop | awk '{ print $2 }' | xargs)" \
        "history: newest first"
check_eq "retire rollback" "$("$ctl" history -n 2 shop | awk '{ print $2 }' | xargs)" "history -n 2: the two newest"
check_eq "3 failed health probes in a row: 500|r2|3.3" \
        "$("$ctl" history --json shop | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[2]["details"]["reason"] + "|" + d[2]["details"]["from"] + "|" + d[1]["details"]["txn"])')" \
        "history --json: details parsed"

# completion
# shellcheck source=/dev/null
. "$completion"
complete_words() { # WORDS...: what completing the last word offers
        COMP_WORDS=("$@")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        _bluegreenctl
        printf '%s\n' "${COMPREPLY[@]}" | sort | xargs
}
mkdir -p "$tmp/bin"
ln -s "$ctl" "$tmp/bin/bluegreenctl"
PATH=$tmp/bin:$PATH
check_eq "deploy" "$(complete_words bluegreenctl dep)" "completion: verbs"
check_eq "shop web" "$(complete_words bluegreenctl status "")" "completion: app names"
check_eq "--dry-run --help --json --keep --wait" "$(complete_words bluegreenctl prune -)" "completion: options of prune"
check_eq "r1 r2 r3 r4 r5 r6 r7" "$(complete_words bluegreenctl deploy shop "")" "completion: release names of the app"
check_eq "" "$(complete_words bluegreenctl prune --keep "")" "completion: nothing after --keep"
check_eq "shop" "$(complete_words bluegreenctl verify --name s)" "completion: --name takes an app"

exit "$fail"

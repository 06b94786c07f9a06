#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bluegreenctl releases and prune, with deploys at the same time:
#   - releases marks what holds each release (live, warm, alias);
#   - while a deploy is paused after its pin (it holds the app's lock), prune refuses (exit 4),
#     prune --dry-run removes nothing and would keep everything the deploy needs, and prune --wait
#     waits for the deploy, then keeps the new live, warm and aliased releases and removes the rest;
#   - after a deploy killed half-way (its intent left, no lock), prune keeps its release and the one
#     its undo puts back, and the undo then works;
#   - nothing outside the releases directory is touched: a link in a release, or in the releases
#     directory, to a root-owned directory is removed as a link, never followed.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/crash-lib.sh"

bg_setup
for r in r0 r1 r2 r3 r4 r5; do
        bg_release "$r"
done
ct_exec systemctl start "$BG_APP.service"
ct_exec systemctl reload nginx
bg_deploy r1
bg_deploy r2
rel=$CT_ROOT$BG_RELEASES
# Root's own files, which a release and the releases directory link to.
mkdir -p "$CT_ROOT/var/tmp/outside"
echo keep >"$CT_ROOT/var/tmp/outside/keep"
ct_exec ln -s /var/tmp/outside "$BG_RELEASES/r0/app/escape"
ct_exec ln -s /var/tmp/outside "$BG_RELEASES/elsewhere"
ct_exec ln -s r3 "$BG_RELEASES/latest"
ct_exec chown -h saltbox:saltbox "$BG_RELEASES/r0/app/escape" "$BG_RELEASES/elsewhere" "$BG_RELEASES/latest"
# What a killed prune left behind.
ct_exec mkdir -p "$BG_RELEASES/.bluegreen-prune-old.1/x"
# r0 the oldest, r5 the newest.
i=0
for r in r0 r1 r2 r3 r4 r5; do
        touch -h -d "@$((1700000000 + i * 3600))" "$rel/$r"
        i=$((i + 1))
done

list=$(ct_exec bluegreenctl releases "$BG_APP")
echo "$list" | sed 's/^/# /'
assert_contains "$(echo "$list" | grep '^r2 ')" "live (green)" "releases: r2 is live on green"
assert_contains "$(echo "$list" | grep '^r1 ')" "warm (blue)" "releases: r1 is warm on blue"
assert_contains "$(echo "$list" | grep '^r3 ')" "alias latest" "releases: r3 is the target of latest"
assert_eq "r5 r4 r3 r2 r1 r0" "$(ct_exec bluegreenctl releases -q "$BG_APP" | xargs)" "releases -q: newest first"
ct_exec bluegreenctl releases --json "$BG_APP" | python3 -c '
import json, sys
d = {r["release"]: r for r in json.load(sys.stdin)["releases"]}
assert d["r2"]["live"] and d["r2"]["pinned_by"] == ["green"], d["r2"]
assert d["r1"]["warm"] and d["r1"]["pinned_by"] == ["blue"], d["r1"]
assert d["r3"]["aliases"] == ["latest"], d["r3"]
assert d["r0"]["size_bytes"] > 0 and d["r0"]["age_s"] > 0' || fail "releases --json"
ok "releases --json: live, warm, alias, size and age"

# A deploy of r4 paused right after its pin: it holds the lock, blue is pinned to r4, and its intent
# names r1, blue's pin before, which an undo would put back.
crash_start_paused "$BG_APP-deploy@r4.service" pinned "prune during a deploy"
before=$(ls -a "$rel" | xargs)
set +e
out=$(ct_exec bluegreenctl prune --keep 0 "$BG_APP" 2>&1)
rc=$?
set -e
assert_eq 4 "$rc" "prune while a deploy holds the lock exits 4"
assert_contains "$out" "is running" "and says a deploy is running"
out=$(ct_exec bluegreenctl prune --keep 0 --dry-run "$BG_APP")
echo "$out" | sed 's/^/# /'
assert_eq "r5 r0" "$(echo "$out" | awk '$1 == "remove" { print $2 }' | xargs)" \
        "prune --dry-run during the deploy: only r0 and r5 would go (r1: its undo, r2: live, r3: alias, r4: it)"
assert_eq "$before" "$(ls -a "$rel" | xargs)" "prune --dry-run removes nothing"

ct_exec bluegreenctl prune --keep 0 --wait "$BG_APP" >"$CT_DIR/prune.out" 2>&1 &
prune=$!
sleep 1
kill -0 "$prune" 2>/dev/null || fail "prune --wait did not wait for the deploy: $(cat "$CT_DIR/prune.out")"
ok "prune --wait waits while the deploy runs"
assert_eq "$before" "$(ls -a "$rel" | xargs)" "nothing is removed meanwhile"
ct_exec pkill -CONT -f 'bluegreen/bluegreen-deploy r4'
wait "$prune" || fail "prune --wait failed: $(cat "$CT_DIR/prune.out")"
sed 's/^/# /' "$CT_DIR/prune.out"
assert_eq 0 "$(ct_exec systemctl show -P ExecMainStatus "$BG_APP-deploy@r4.service")" "the deploy of r4 went through"
assert_eq r4 "$(bg_wait_live_release r4)" "nginx serves r4"
assert_eq ". .. elsewhere latest r2 r3 r4" "$(ls -a "$rel" | LC_ALL=C sort | xargs)" \
        "after the deploy: r4 (live), r2 (warm) and r3 (alias) stay, r0, r1, r5 and the leftover are gone"
assert_eq keep "$(cat "$CT_ROOT/var/tmp/outside/keep")" "a link in a pruned release was not followed"
assert_eq /var/tmp/outside "$(readlink "$rel/elsewhere")" "a link in the releases directory is no release: left alone"
assert_eq active "$(bg_active "$BG_APP@green.service")" "the warm color still runs"

# A deploy killed after its pin leaves its intent and no lock: prune keeps r6 (pinned to green now)
# and r2 (green's pin before, which the undo puts back); r7, held by nothing, goes.
bg_release r6
bg_release r7
ct_exec systemctl set-environment "BLUEGREEN_TEST_CRASH_AT=bluegreen-deploy:pinned"
ct_exec systemctl start "$BG_APP-deploy@r6.service" 2>/dev/null && fail "the deploy of r6 was not killed"
ct_exec systemctl unset-environment BLUEGREEN_TEST_CRASH_AT
[ -e "$CT_ROOT$BG_STATE/intent" ] || fail "the killed deploy left no intent"
out=$(ct_exec bluegreenctl prune --keep 0 "$BG_APP")
echo "$out" | sed 's/^/# /'
assert_eq r7 "$(echo "$out" | awk '$1 == "removed" { print $2 }' | xargs)" "after a killed deploy, prune removes only r7"
assert_contains "$(echo "$out" | grep ' r2 ')" "deploy in flight" "it keeps r2, which the undo needs"
ct_exec systemctl reload "$BG_APP.service"
[ ! -e "$CT_ROOT$BG_STATE/intent" ] || fail "the killed deploy was not settled"
assert_eq r2 "$(crash_pin green)" "the undo put green's pin back to r2"
ct_exec bluegreenctl status "$BG_APP" >/dev/null || fail "bluegreenctl status reports a problem after the undo"
ok "the app is consistent after the undo"
assert_eq r4 "$(bg_live_release)" "nginx still serves r4"
echo "65-prune: all checks passed"

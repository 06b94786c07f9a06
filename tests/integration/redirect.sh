#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The redirect switch against real nftables and real HTTP servers, without systemd, in a network
# namespace of its own (so the host's ruleset is never touched): IPv4 and IPv6 loopback binds, a
# switch moves new connections, another table is left alone.
#   redirect.sh NFT-SWITCH
set -euo pipefail
driver=$(readlink -f "$1")
# The rule files the switch keeps go to a directory of the test's, not the host's /run/bluegreen.
BLUEGREEN_NFT_RULE_DIR=$(mktemp -d)
export BLUEGREEN_NFT_RULE_DIR
trap 'rm -rf "$BLUEGREEN_NFT_RULE_DIR"' EXIT
here=$(dirname "$(readlink -f "$0")")
if [ "$(id -u)" -ne 0 ]; then
        echo "needs root for a network namespace and nftables; skipping"
        exit 77
fi
command -v nft >/dev/null || { echo "FAIL: nft is not installed"; exit 1; }

unshare --net bash -s "$driver" "$here" <<'INNER'
set -euo pipefail
driver=$1 here=$2
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok - $*"; }
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
ip link set lo up
python3 "$here/server.py" 9011 ok blue4 & pids+=($!)
python3 "$here/server.py" 9012 ok green4 & pids+=($!)
python3 "$here/server.py" 6:9021 ok blue6 & pids+=($!)
python3 "$here/server.py" 6:9022 ok green6 & pids+=($!)
for u in 127.0.0.1:9011 127.0.0.1:9012 '[::1]:9021' '[::1]:9022'; do
        for _ in $(seq 100); do curl -s -o /dev/null "http://$u/" && break; sleep 0.05; done
done
nft 'add table inet other; add chain inet other out { type filter hook output priority 0; }; add rule inet other out tcp dport 7777 counter'
other=$(nft list table inet other)

"$driver" app4 127.0.0.1 9010 9011 9012 blue
[ "$(curl -s http://127.0.0.1:9010/)" = blue4 ] || fail "IPv4: the stable port does not reach blue"
ok "IPv4: the stable port reaches blue"
"$driver" app4 127.0.0.1 9010 9011 9012 green
[ "$(curl -s http://127.0.0.1:9010/)" = green4 ] || fail "IPv4: after the switch the stable port does not reach green"
ok "IPv4: after the switch new connections reach green"

"$driver" app6 ::1 9020 9021 9022 blue
[ "$(curl -s 'http://[::1]:9020/')" = blue6 ] || fail "IPv6: the stable port does not reach blue"
"$driver" app6 ::1 9020 9021 9022 green
[ "$(curl -s 'http://[::1]:9020/')" = green6 ] || fail "IPv6: after the switch the stable port does not reach green"
ok "IPv6 loopback bind"

[ "$(curl -s http://127.0.0.1:9010/)" = green4 ] || fail "switching app6 disturbed app4"
ok "each app's rule lives in its own table"
[ "$other" = "$(nft list table inet other)" ] || fail "another table changed"
ok "another table is left alone"
[ "$(nft list chain inet bluegreen-app4 output | grep -c redirect)" -eq 1 ] || fail "more than one rule after two switches"
ok "a switch replaces the rule, it does not add one"
echo "redirect: all checks passed"
INNER

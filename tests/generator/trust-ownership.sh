#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The warnings about settings that hand root to the deploy user, where they depend on who owns what
# (a golden case cannot hold owners: its files are copied as root):
#   trust-ownership.sh GENERATOR
# Builds a tree in a root-only directory, gives parts of it to nobody, and checks each warning, that
# root's own paths give none, and that every app still gets its units. Needs root (exit 77: skipped).
set -euo pipefail

gen=$1
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root to chown"; exit 77; }
nobody=$(id -u nobody)
nogroup=$(id -g nobody)

# Below /run, not /tmp: every directory on the way must be root's for only ours to count.
tree=$(mktemp -d /run/bluegreen-trust.XXXXXX)
tmp=$(mktemp -d)
trap 'rm -rf "$tree" "$tmp"' EXIT
chmod 0755 "$tree"
mkdir -p "$tree/releases" "$tree/secrets" "$tree/shared" "$tree/hooks" "$tmp/etc" "$tmp/out"
chown nobody "$tree/releases"
ln -s releases "$tree/link"
echo "KEY=1" >"$tree/secrets/app.env"
chmod 0700 "$tree/secrets"
chgrp "$nogroup" "$tree/shared"
chmod 0775 "$tree/shared"
printf '#!/bin/sh\n' >"$tree/hooks/migrate"
chown nobody "$tree/hooks/migrate"

decl() {
        printf 'releases = "%s";\nexec = "bin/server --port ${PORT}";\nports = { blue = %d; green = %d; };\nnginx = { switch = "reload"; };\ntrigger = "/run/%s.deploy";\n%s\n' \
                "$2" "$3" "$(($3 + 1))" "$1" "$4" >"$tmp/etc/$1.conf"
}
decl as-root "$tree/releases" 8001 'user = "root";'
decl via-link "$tree/link" 8003 'user = "app"; hardening = "off";'
decl env-files "/usr/lib/env-files" 8005 "environment_files = [ \"$tree/secrets/app.env\", \"-$tree/secrets/missing.env\", \"-$tree/shared/x.env\" ];"
decl hook "/usr/lib/hook" 8007 "user = \"app\"; hooks = { pre_start = \"$tree/hooks/migrate --all\"; };"
decl roots-own "$tree/secrets" 8009 'user = "root";'

set +e
timeout 20 env -i PATH=/usr/bin:/bin BLUEGREEN_CONFIG_PATH="$tmp/etc" BLUEGREEN_SYSTEM_UNIT_PATH="$tmp/none" BLUEGREEN_UNIT_PATH="$tmp/none" \
        "$gen" "$tmp/out" 2>"$tmp/stderr"
status=$?
set -e
sed -i -e "s|$tmp||g" -e "s|$tree|TREE|g" "$tmp/stderr"

fail=0
[ "$status" -eq 0 ] || { echo "exit status $status, expected 0: warnings are not errors"; fail=1; }
diff -u - "$tmp/stderr" <<EOF || fail=1
bluegreen-generator: /etc/as-root.conf: user: "root" runs the code in TREE/releases as root, but TREE/releases is owned by uid $nobody: whoever controls it gets root, ignoring.
bluegreen-generator: /etc/env-files.conf: environment_files[2]: systemd reads TREE/shared/x.env as root, but TREE/shared is writable by group $nogroup: whoever controls it sets the app's environment, or links it to any file root may read, ignoring.
bluegreen-generator: /etc/hook.conf: hooks.pre_start: TREE/hooks/migrate runs at every deploy as app, but TREE/hooks/migrate is owned by uid $nobody: whoever controls it runs code as that user, ignoring.
bluegreen-generator: /etc/via-link.conf: hardening: "off" runs the code in TREE/link without a sandbox, as app, but TREE/releases is owned by uid $nobody: whoever controls it gets all that user may do, ignoring.
EOF
for app in as-root via-link env-files hook roots-own; do
        [ -e "$tmp/out/$app@.service" ] || { echo "missing $app@.service: a warning cost $app its units"; fail=1; }
done

[ "$fail" -eq 0 ] && echo "ok - trust-ownership"
exit "$fail"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The @include cases a golden case cannot hold: git stores no FIFO or socket, and a file over the
# size bound does not belong in it:
#   special-includes.sh GENERATOR
# Each declaration includes one; the generator must refuse it as that app's error with FILE:LINE,
# never block (a FIFO without a writer would hang a plain open()), and still generate the other app.
set -euo pipefail

gen=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
etc=$tmp/etc/bluegreen
mkdir -p "$etc" "$tmp/out"

cat >"$etc/good.conf" <<'EOF'
releases = "/srv/good/releases";
exec = "bin/server --port ${PORT}";
ports = { blue = 8001; green = 8002; };
nginx = { switch = "reload"; };
EOF
mkfifo "$etc/fifo.inc"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$etc/socket.inc"
ln -s fifo.inc "$etc/link-to-fifo.inc"
# Too big for git: 600 kB, included twice, is more than the 1 MiB a declaration may hold in all.
python3 -c 'print("# padding\n" * 60000, end="")' >"$etc/half.inc"
printf '@include "half.inc"\n@include "half.inc"\n' >"$etc/big.inc"
printf 'drain_s = 5;\0\n' >"$etc/nul.inc"
port=8100
for what in fifo socket link-to-fifo big nul; do
        port=$((port + 2))
        printf 'releases = "/srv/%s/releases";\n# the next line is line 3\n@include "%s.inc"\nexec = "bin/server";\nports = { blue = %d; green = %d; };\n' \
                "$what" "$what" "$port" "$((port + 1))" >"$etc/bad-$what.conf"
done

set +e
timeout 20 env -i PATH=/usr/bin:/bin BLUEGREEN_CONFIG_PATH="$etc" BLUEGREEN_SYSTEM_UNIT_PATH="$tmp/none" BLUEGREEN_UNIT_PATH="$tmp/none" \
        "$gen" "$tmp/out" 2>"$tmp/stderr"
status=$?
set -e
sed -i "s|$tmp||g" "$tmp/stderr"

fail=0
if [ "$status" -eq 124 ]; then
        echo "the generator blocked (killed after 20 s)"
        fail=1
elif [ "$status" -ne 1 ]; then
        echo "exit status $status, expected 1"
        fail=1
fi
diff -u - "$tmp/stderr" <<'EOF' || fail=1
bluegreen-generator: /etc/bluegreen/big.inc:2: @include "half.inc": the declaration and its included files exceed 1048576 bytes
bluegreen-generator: /etc/bluegreen/bad-big.conf: no units generated for app "bad-big".
bluegreen-generator: /etc/bluegreen/bad-fifo.conf:3: @include "fifo.inc": /etc/bluegreen/fifo.inc is not a regular file (a FIFO, socket or device)
bluegreen-generator: /etc/bluegreen/bad-fifo.conf: no units generated for app "bad-fifo".
bluegreen-generator: /etc/bluegreen/bad-link-to-fifo.conf:3: @include "link-to-fifo.inc": /etc/bluegreen/link-to-fifo.inc is not a regular file (a FIFO, socket or device)
bluegreen-generator: /etc/bluegreen/bad-link-to-fifo.conf: no units generated for app "bad-link-to-fifo".
bluegreen-generator: /etc/bluegreen/bad-nul.conf:3: @include "nul.inc": /etc/bluegreen/nul.inc contains a NUL byte
bluegreen-generator: /etc/bluegreen/bad-nul.conf: no units generated for app "bad-nul".
bluegreen-generator: /etc/bluegreen/bad-socket.conf:3: @include "socket.inc": /etc/bluegreen/socket.inc is not a regular file (a FIFO, socket or device)
bluegreen-generator: /etc/bluegreen/bad-socket.conf: no units generated for app "bad-socket".
EOF
for f in good.service good@.service bluegreen/good/app.env multi-user.target.wants/good.service; do
        [ -e "$tmp/out/$f" ] || { echo "missing $f: the good app lost its units"; fail=1; }
done
if ls "$tmp/out" | grep -q '^bad'; then
        echo "units generated for a refused app:"
        ls "$tmp/out"
        fail=1
fi

[ "$fail" -eq 0 ] && echo "ok - special-includes"
exit "$fail"

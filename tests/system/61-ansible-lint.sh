#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# contrib/ansible passes ansible-lint (production profile, warnings count as failures), yamllint with
# its own .yamllint, and ansible-playbook --syntax-check of every playbook. Boots no container.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
src=${BLUEGREEN_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
contrib=$src/contrib/ansible

for t in ansible-lint ansible-playbook yamllint; do
        command -v "$t" >/dev/null ||
                { echo "FAIL: $t is missing (Debian: apt-get install ansible ansible-lint)" >&2; exit 1; }
done
# ansible-lint and ansible keep caches in HOME: a scratch one, so a run leaves nothing behind.
home=$(mktemp -d /tmp/bluegreen-ansible-lint.XXXXXX)
trap 'rm -rf "$home"' EXIT
run() {
        (cd "$contrib" && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" LANG=C.UTF-8 NO_COLOR=1 "$@")
}

out=$(run ansible-lint --offline --strict --profile production -p 2>&1) ||
        { echo "$out" >&2; echo "FAIL: ansible-lint reports problems" >&2; exit 1; }
echo "ok - ansible-lint: nothing to report"
out=$(run yamllint -s . 2>&1) || { echo "$out" >&2; echo "FAIL: yamllint reports problems" >&2; exit 1; }
echo "ok - yamllint: nothing to report"
for p in setup ship deploy rollback site; do
        out=$(run ansible-playbook --syntax-check -i localhost, "$p.yml" 2>&1) ||
                { echo "$out" >&2; echo "FAIL: $p.yml: syntax check failed" >&2; exit 1; }
        echo "ok - $p.yml passes ansible-playbook --syntax-check"
done
echo "61-ansible-lint: all checks passed"

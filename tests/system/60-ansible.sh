#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Ansible role and playbooks of contrib/ansible, run by real ansible-playbook against a fleet of
# three booted containers through the community.docker.nsenter connection (no network at all):
# site.yml installs the package, declares the app and rolls r1 out; deploy.yml rolls r2 out host by
# host; site.yml again changes nothing; r3, which fails its health gate on host 2, stops the rollout
# there (host 1 keeps r3, host 2 still serves r2, host 3 never ran a deploy); rollback.yml returns
# host 1 alone; and bluegreenctl verify, as the declaration's validate command, keeps a bad
# declaration from landing. Every check goes through nginx in each container.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
. "$here/bluegreen.sh"
. "$here/fleet-lib.sh"
ct_require_root_and_tools ansible-playbook tar

src=${BLUEGREEN_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
contrib=$src/contrib/ansible
hosts=(host1 host2 host3)

# The package when it can be built, else the build installed by meson. BLUEGREEN_DEB names a .deb
# to use; BLUEGREEN_ANSIBLE_MESON=1 installs the build even when a package could be built.
pick_package() {
        deb=${BLUEGREEN_DEB:-}
        if [ -z "$deb" ] && [ "${BLUEGREEN_ANSIBLE_MESON:-0}" = 1 ]; then
                echo "# BLUEGREEN_ANSIBLE_MESON=1: bluegreen is installed with meson install, not from a package"
        elif [ -z "$deb" ] && [ -x "$src/tools/build-deb.sh" ]; then
                local start=$SECONDS
                deb=$("$src/tools/build-deb.sh") || fail "tools/build-deb.sh failed"
                echo "# package: $deb (tools/build-deb.sh took $((SECONDS - start)) s)"
        elif [ -z "$deb" ]; then
                echo "# no tools/build-deb.sh: bluegreen is installed with meson install, not from a package"
        fi
        [ -z "$deb" ] || [ -f "$deb" ] || fail "no package at $deb"
}

# verify is the declaration's validate command; a bluegreenctl without it says so with exit status 64,
# and the role is then told to install the declaration unchecked.
detect_verify() {
        local out rc=0
        out=$("$BG_BUILD/ctl/bluegreenctl" verify /nonexistent/saltbox-api.conf 2>&1) || rc=$?
        if [ "$rc" = 64 ] && [[ "$out" == *'Unknown command "verify"'* ]]; then
                have_verify=
                no_validate='bluegreen_declaration_validate: ""'
        else
                have_verify=1
                no_validate=
        fi
}

make_release() { # NAME
        # bg_release writes into CT_ROOT and chowns in the container: here it only fills the archive.
        # shellcheck disable=SC2030,SC2317 # CT_ROOT and ct_exec are bg_release's, for it alone
        (
                CT_ROOT=$FLEET_TMP/stage
                ct_exec() { :; }
                bg_release "$1"
        )
        tar -C "$FLEET_TMP/stage$BG_RELEASES/$1" -czf "$FLEET_TMP/$1.tar.gz" .
}

# bluegreen.sh's nginx site, for the role to install
make_site() {
        mkdir -p "$FLEET_TMP/stage/etc/nginx/sites-enabled"
        CT_ROOT=$FLEET_TMP/stage bg_site
}

# The app's variables: bluegreen.sh's declaration and site, as YAML. PORT_GREEN and DRAIN_S vary it.
write_vars() { # FILE [PORT_GREEN [DRAIN_S]]
        cat >"$1" <<VARS
bluegreen_package_deb: "$deb"
bluegreen_app: $BG_APP
bluegreen_user: saltbox
bluegreen_home: /srv/saltbox
bluegreen_app_dirs: [/srv/saltbox/shared]
$no_validate
bluegreen_declaration:
  exec: "/usr/bin/gunicorn --workers 2 --worker-class uvicorn.workers.UvicornWorker --bind 127.0.0.1:\${PORT} main:app"
  workdir: app
  ports: { blue: 9011, green: ${2:-9012} }
  health: { path: /healthz, timeout_ms: 500, interval_ms: 100, successes: 2, deadline_s: 10 }
  smoke:
    - { path: /v, expect_status: 200, body_contains: "\${RELEASE}" }
  nginx: { include: /etc/nginx/conf.d/bluegreen-$BG_APP.conf, switch: reload }
  drain_s: ${3:-600}
  stop: { signal: SIGTERM, timeout_s: 10 }
  hardening: strict
  read_write_paths: [/srv/saltbox/shared]
bluegreen_nginx_site: "{{ lookup('ansible.builtin.file', '$FLEET_TMP/stage/etc/nginx/sites-enabled/$BG_APP') }}"
bluegreen_check_url: http://127.0.0.1:8080/v
VARS
}

write_inventory() {
        local i
        {
                echo "[bluegreen]"
                for i in 1 2 3; do
                        echo "host$i ansible_nsenter_pid=${FLEET_PID[i]}"
                done
                echo "[bluegreen:vars]"
                echo "ansible_connection=community.docker.nsenter"
                echo "ansible_python_interpreter=/usr/bin/python3"
        } >"$FLEET_TMP/hosts.ini"
}

# Runs a playbook of contrib/ansible with a clean environment; its output goes to LOG and, when it
# fails unexpectedly, to stderr. Sets rc and secs.
playbook() { # LOG PLAYBOOK [ANSIBLE-PLAYBOOK ARG...]
        local log=$FLEET_TMP/$1.log start=$SECONDS
        rc=0
        (cd "$FLEET_TMP" && env -i PATH="$CT_PATH" HOME="$FLEET_TMP/home" LANG=C.UTF-8 \
                ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP="$FLEET_TMP/home/tmp" ANSIBLE_REMOTE_TMP=/root/.ansible/tmp \
                ansible-playbook -i hosts.ini -e @vars.yml "$contrib/$2" "${@:3}") >"$log" 2>&1 || rc=$?
        secs=$((SECONDS - start))
        echo "# ansible-playbook $2 ${*:3}: exit status $rc in $secs s"
}

playbook_ok() { # LOG PLAYBOOK [ARG...]
        playbook "$@"
        [ "$rc" = 0 ] || { sed 's/^/#   /' "$FLEET_TMP/$1.log" >&2; fail "$2 failed"; }
}

# A field of a host's line in the PLAY RECAP.
recap() { # LOG HOST FIELD
        awk -v h="$2" -v f="$3" '/^PLAY RECAP/ { r = 1 }
                r && $1 == h { for (i = 3; i <= NF; i++) { split($i, a, "="); if (a[1] == f) print a[2] } }' \
                "$FLEET_TMP/$1.log"
}

assert_live() { # RELEASE HOST-INDEX... (through nginx)
        local want=$1 i
        shift
        for i in "$@"; do
                fleet_use "$i"
                assert_eq "$want" "$(bg_live_release)" "host$i serves $want through nginx"
        done
}

# The journal of a host's deploy unit, each line after its time in seconds since the epoch: the
# clock all containers share, unlike the unit's timestamps, gone once the unit is unloaded.
deploy_journal() { # HOST-INDEX RELEASE
        fleet_use "$1"
        ct_exec journalctl -q --no-pager -o short-unix -u "$BG_APP-deploy@$2.service"
}

test_start=$SECONDS
pick_package
detect_verify
fleet_boot 3
mkdir -p "$FLEET_TMP/home/tmp"
write_inventory
make_site
write_vars "$FLEET_TMP/vars.yml"
for r in r1 r2 r3; do
        make_release "$r"
done
# the options that name a release for the playbooks
r1=(-e bluegreen_release=r1 -e "bluegreen_release_archive=$FLEET_TMP/r1.tar.gz")
r2=(-e bluegreen_release=r2 -e "bluegreen_release_archive=$FLEET_TMP/r2.tar.gz")
r3=(-e bluegreen_release=r3 -e "bluegreen_release_archive=$FLEET_TMP/r3.tar.gz")
if [ -z "$deb" ]; then
        for i in 1 2 3; do
                fleet_use "$i"
                bg_install
        done
fi

# --- site.yml: install, declare, and the first rolling deploy --------------------------------------
playbook_ok site-r1 site.yml "${r1[@]}"
assert_live r1 1 2 3
fleet_use 2
if [ -n "$deb" ]; then
        assert_eq "install ok installed" "$(ct_exec dpkg-query -W -f '${Status}' bluegreen)" "the package is installed"
fi
assert_eq saltbox "$(ct_exec stat -c %U "$BG_RELEASES/r1/app/main.py")" "the release belongs to the app's user"
assert_contains "$(cat "$CT_ROOT/etc/bluegreen/$BG_APP.conf")" 'smoke = ( { path = "/v"; expect_status = 200; body_contains = "${RELEASE}"; } );' \
        "the declaration is rendered from the variables"

# --- deploy.yml: r2, one host after the other ------------------------------------------------------
playbook_ok deploy-r2 deploy.yml "${r2[@]}"
assert_live r2 1 2 3
for i in 1 2; do
        done_at=$(deploy_journal "$i" r2 | awk 'END { print $1 }')
        next_at=$(deploy_journal $((i + 1)) r2 | awk 'NR == 1 { print $1 }')
        awk -v a="$done_at" -v b="$next_at" 'BEGIN { exit !(a > 0 && a < b) }' ||
                fail "host$((i + 1)) started its deploy (at $next_at) before host$i's ended (at $done_at)"
done
ok "each host's deploy started after the one before it had passed"

# --- a second run changes nothing -----------------------------------------------------------------
playbook_ok site-r2-again site.yml "${r2[@]}"
for h in "${hosts[@]}"; do
        assert_eq 0 "$(recap site-r2-again "$h" changed)" "a second site.yml run: $h reports changed=0"
done
assert_live r2 1 2 3

# --- r3 fails its health gate on host 2: the rollout stops there ----------------------------------
playbook_ok ship-r3 ship.yml "${r3[@]}"
echo unhealthy >"${FLEET_ROOT[2]}$BG_RELEASES/r3/app/mode"
playbook deploy-r3 deploy.yml "${r3[@]}"
[ "$rc" != 0 ] || fail "deploy.yml succeeded though r3 fails on host2"
ok "deploy.yml fails (exit status $rc) when a host fails its deploy"
echo "# what it said:"
sed -n '/^fatal:/,/^$/p; /NO MORE HOSTS/p' "$FLEET_TMP/deploy-r3.log" | head -n 30 | sed 's/^/#   /'
assert_live r3 1
assert_live r2 2 3
fleet_use 2
assert_eq 3 "$(ct_exec systemctl show -P ExecMainStatus "$BG_APP-deploy@r3.service")" \
        "host2's deploy failed a check (exit status 3)"
assert_eq "" "$(deploy_journal 3 r3)" "host3 never ran the deploy of r3"
assert_eq 1 "$(recap deploy-r3 host2 failed)" "the recap shows host2 failed"
assert_eq 0 "$(recap deploy-r3 host3 failed)" "host3 did not fail: it was not tried"
assert_contains "$(cat "$FLEET_TMP/deploy-r3.log")" "The deploy of r3 failed; its journal:" \
        "the failure shows the deploy's journal"

# --- rollback.yml returns the host that had switched ---------------------------------------------
playbook_ok rollback-r3 rollback.yml -e bluegreen_release=r3
assert_live r2 1 2 3
assert_eq 1 "$(recap rollback-r3 host1 changed)" "the rollback changed host1"
assert_eq 0 "$(recap rollback-r3 host2 changed)" "the rollback left host2 alone"
assert_eq 0 "$(recap rollback-r3 host3 changed)" "the rollback left host3 alone"

# --- bluegreenctl verify keeps a bad declaration from landing -------------------------------------
if [ -z "$have_verify" ]; then
        echo "# NOT YET TESTABLE: bluegreenctl has no verify verb; the declaration was installed unchecked"
        echo "60-ansible: all checks passed in $((SECONDS - test_start)) s, except verify, not yet testable"
        exit 0
fi
fleet_use 1
before=$(sha256sum <"$CT_ROOT/etc/bluegreen/$BG_APP.conf")
write_vars "$FLEET_TMP/vars.yml" 9011
playbook setup-bad setup.yml
[ "$rc" != 0 ] || fail "setup.yml installed a declaration with blue and green on one port"
assert_contains "$(cat "$FLEET_TMP/setup-bad.log")" "failed to validate" "bluegreenctl verify refuses the declaration"
assert_contains "$(cat "$FLEET_TMP/setup-bad.log")" "ports.green: 9011 is already the port of ports.blue" \
        "with the generator's message"
for i in 1 2 3; do
        assert_eq "$before" "$(sha256sum <"${FLEET_ROOT[i]}/etc/bluegreen/$BG_APP.conf")" \
                "host$i keeps the declaration it had"
done
assert_live r2 1 2 3
write_vars "$FLEET_TMP/vars.yml" 9012 300
playbook_ok setup-drain setup.yml
assert_contains "$(cat "${FLEET_ROOT[1]}/etc/bluegreen/$BG_APP.conf")" "drain_s = 300;" \
        "a valid change to an installed declaration passes verify and lands"
assert_live r2 1 2 3
echo "60-ansible: all checks passed in $((SECONDS - test_start)) s"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# In the runbook's layout the deploy user owns the directory above releases (/srv/saltbox). Replacing
# releases, or a directory above it, by a symbolic link to another app's releases must not make root
# deploy that app's release as this one, nor read or write anything of that app: the deploy, the
# trigger and bluegreen-exec refuse a releases path with a link in it, naming the link, and everything
# else goes through the descriptor of the directory they opened. Without a link, a directory of
# another user's renamed into the place of releases is refused too (the directory above is the deploy
# user's, the one in its place is not). Also when the swap happens in the middle of a deploy. An honest
# replacement of releases by a real directory of the deploy user's keeps working.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/bluegreen.sh"

# The pre_start hook holds a deploy while /srv/saltbox/shared/hold exists, so that the test can swap
# releases between the deploy's check and the color's start.
BG_EXTRA_DECL='hooks = { pre_start = "/bin/sh hold.sh"; };' bg_setup

OTHER=/srv/other/releases
LINK_MSG="is a symbolic link: bluegreen opens the releases directory without following links"
ENV_DIR=/run/systemd/generator/bluegreen/$BG_APP

release() { # NAME
        bg_release "$1"
        cat >"$CT_ROOT$BG_RELEASES/$1/app/hold.sh" <<'SH'
[ -e /srv/saltbox/shared/hold ] || exit 0
: >/srv/saltbox/shared/waiting
i=0
while [ ! -e /srv/saltbox/shared/go ] && [ "$i" -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
SH
        ct_exec chown saltbox:saltbox "$BG_RELEASES/$1/app/hold.sh"
}

# A second app, with its own deploy user, releases (one of them called r2, like one of ours), trigger
# file and status file.
other_setup() {
        ct_exec useradd --system --home-dir /srv/other --shell /usr/sbin/nologin other
        ct_exec mkdir -p "$OTHER/o1" /srv/other/shared
        ct_exec cp -a "$BG_RELEASES/r2" "$OTHER/r2"
        echo other >"$CT_ROOT$OTHER/r2/app/owner"
        echo o1 >"$CT_ROOT$OTHER/.deploy"
        echo "2026-04-14T10:00:00+0000 o1 deployed" >"$CT_ROOT$OTHER/.deploy.status"
        ct_exec chown -R other:other /srv/other
        ct_exec chmod 0644 "$OTHER/.deploy" "$OTHER/.deploy.status"
        touch -d '2026-04-14 10:00:00.123456789' "$CT_ROOT$OTHER/.deploy" "$CT_ROOT$OTHER/.deploy.status"
        cat >"$CT_ROOT/etc/bluegreen/other.conf" <<CONF
releases = "$OTHER";
exec = "/usr/bin/gunicorn --bind 127.0.0.1:\${PORT} main:app";
workdir = "app";
user = "other"; group = "other";
ports = { blue = 9021; green = 9022; };
health = { path = "/healthz"; };
nginx = { include = "/etc/nginx/conf.d/bluegreen-other.conf"; };
CONF
        ct_exec systemctl daemon-reload
}

# Every name, type, size, owner, mtime (to the nanosecond) and content of a releases directory.
snapshot() { # DIR
        ct_sh "cd $1 && find . -printf '%p %y %s %u %T@\n' | sort && cat .deploy .deploy.status"
}
other_snapshot() {
        snapshot "$OTHER"
}

swap_to() { # TARGET: the deploy user replaces releases by a symbolic link
        ct_exec runuser -u saltbox -- sh -c "mv $BG_RELEASES /srv/saltbox/releases.real && ln -s $1 $BG_RELEASES"
}

unswap() {
        ct_exec runuser -u saltbox -- sh -c "rm $BG_RELEASES && mv /srv/saltbox/releases.real $BG_RELEASES"
}

# Runs a unit that must fail with status WANT; sets LOG to its journal. Its start limit is reset first:
# the trigger service is started more often here than it allows.
unit_fails() { # UNIT WANT
        ct_exec systemctl reset-failed "$1" 2>/dev/null || true
        set +e
        ct_exec systemctl start "$1" 2>/dev/null
        set -e
        assert_eq "$2" "$(ct_exec systemctl show -P ExecMainStatus "$1")" "$1 exits with status $2"
        LOG=$(ct_exec journalctl -u "$1" --no-pager -o cat)
}

# A helper run outside its unit with the blue color's environment, some of it changed: COMMAND is run
# by sh, with VAR=VALUE words first if need be.
helper() { # COMMAND
        ct_sh "set -a; . $ENV_DIR/app.env; . $ENV_DIR/blue.env; set +a; exec $1" 2>&1
}
HELPERS=/usr/local/libexec/bluegreen

release r1
release r2
release r3
bg_deploy r1
ct_exec systemctl start "$BG_APP-deploy-trigger.path"
other_setup
bg_snapshot
OTHER_BEFORE=$(other_snapshot)

assert_other_untouched() {
        assert_eq "$OTHER_BEFORE" "$(other_snapshot)" "$1: nothing of the other app was written"
}

# 1. releases is a symbolic link to the other app's releases.
swap_to "$OTHER"
unit_fails "$BG_APP-deploy@o1.service" 2
assert_contains "$LOG" "$BG_RELEASES $LINK_MSG" "the deploy refuses a symlinked releases directory, naming it"
assert_contains "$LOG" "use the real path in the declaration" "and says what to do"
unit_fails "$BG_APP-deploy@r2.service" 2
unit_fails "$BG_APP-deploy-trigger.service" 2
assert_contains "$LOG" "$BG_RELEASES $LINK_MSG" "the trigger refuses it too"
# The other app's deploy user writes its trigger, as it would (our path unit, watching through the
# link, may fire); its time is put back so that the snapshot sees only what someone else wrote.
ct_exec runuser -u other -- sh -c "echo o1 > $OTHER/.deploy"
touch -d '2026-04-14 10:00:00.123456789' "$CT_ROOT$OTHER/.deploy"
sleep 1
unit_fails "$BG_APP-deploy-trigger.service" 2
set +e
out=$(helper "runuser -u saltbox -- $HELPERS/bluegreen-exec -- /bin/pwd")
rc=$?
set -e
assert_eq 66 "$rc" "bluegreen-exec refuses to start the color"
assert_contains "$out" "$BG_RELEASES $LINK_MSG" "and names the link"
assert_other_untouched "symlinked releases"
unswap
bg_assert_untouched "symlinked releases"

# 2. No link: a directory of the other user's next to releases (/srv/saltbox/guest, which the deploy
# user cannot write but can rename, since it can write /srv/saltbox) is renamed into its place.
ct_exec mkdir -p /srv/saltbox/guest/o1
ct_exec cp -a "$OTHER/.deploy" "$OTHER/.deploy.status" /srv/saltbox/guest/
ct_exec chown -R other:other /srv/saltbox/guest
GUEST_BEFORE=$(snapshot /srv/saltbox/guest)
ct_exec runuser -u saltbox -- sh -c "mv $BG_RELEASES /srv/saltbox/releases.real && mv /srv/saltbox/guest $BG_RELEASES"
unit_fails "$BG_APP-deploy@o1.service" 2
assert_contains "$LOG" "/srv/saltbox above it is owned by UID $(ct_exec id -u saltbox), who could replace $BG_RELEASES" \
        "a directory of another user's renamed into place is refused, naming the directory above"
unit_fails "$BG_APP-deploy-trigger.service" 2
assert_contains "$LOG" "/srv/saltbox above it is owned by UID" "the trigger refuses it too"
set +e
out=$(helper "runuser -u saltbox -- $HELPERS/bluegreen-exec -- /bin/pwd")
rc=$?
set -e
assert_eq 66 "$rc" "bluegreen-exec refuses it too"
ct_exec runuser -u saltbox -- sh -c "mv $BG_RELEASES /srv/saltbox/guest && mv /srv/saltbox/releases.real $BG_RELEASES"
assert_eq "$GUEST_BEFORE" "$(snapshot /srv/saltbox/guest)" "renamed directory: nothing in it was written"
bg_assert_untouched "renamed directory"

# 3. A directory further up is the link (releases declared as /srv/saltbox/apps/releases, say).
ct_exec runuser -u saltbox -- ln -s /srv/other /srv/saltbox/apps
set +e
out=$(helper "env BLUEGREEN_RELEASES=/srv/saltbox/apps/releases $HELPERS/bluegreen-deploy o1")
rc=$?
set -e
assert_eq 2 "$rc" "a deploy through a symlinked ancestor is refused"
assert_contains "$out" "/srv/saltbox/apps $LINK_MSG" "naming the ancestor that is the link"
set +e
out=$(helper "env BLUEGREEN_RELEASES=/srv/saltbox/apps/releases BLUEGREEN_TRIGGER=/srv/saltbox/apps/releases/.deploy \
        $HELPERS/bluegreen-trigger")
rc=$?
set -e
assert_eq 2 "$rc" "the trigger through a symlinked ancestor is refused"
assert_contains "$out" "/srv/saltbox/apps $LINK_MSG" "naming the ancestor"
ct_exec rm /srv/saltbox/apps
assert_other_untouched "symlinked ancestor"
bg_assert_untouched "symlinked ancestor"

# 4. The swap happens during a deploy, after its check: the color must not start from the other app.
ct_exec runuser -u saltbox -- touch /srv/saltbox/shared/hold
ct_exec systemctl start --no-block "$BG_APP-deploy@r2.service"
for _ in $(seq 200); do
        [ -e "$CT_ROOT/srv/saltbox/shared/waiting" ] && break
        sleep 0.1
done
[ -e "$CT_ROOT/srv/saltbox/shared/waiting" ] || fail "the deploy of r2 never reached its pre_start hook"
swap_to "$OTHER"
ct_exec runuser -u saltbox -- touch /srv/saltbox/shared/go
for _ in $(seq 600); do
        case "$(bg_active "$BG_APP-deploy@r2.service")" in activating) sleep 0.1 ;; *) break ;; esac
done
assert_eq 3 "$(ct_exec systemctl show -P ExecMainStatus "$BG_APP-deploy@r2.service")" \
        "a deploy whose releases were swapped after its check fails at the color's start"
assert_contains "$(ct_exec journalctl -u "$BG_APP@green.service" --no-pager -o cat)" "$BG_RELEASES $LINK_MSG" \
        "the color refused the swapped releases directory"
assert_other_untouched "swap during a deploy"
unswap
ct_exec rm -f /srv/saltbox/shared/hold /srv/saltbox/shared/go /srv/saltbox/shared/waiting
bg_assert_untouched "swap during a deploy"
assert_eq inactive "$(bg_active "$BG_APP@green.service")" "the target color is stopped"

# 5. The honest use of the same layout: releases replaced by a real directory of the deploy user's.
ct_exec runuser -u saltbox -- sh -c "cp -a $BG_RELEASES /srv/saltbox/releases.new &&
        mv $BG_RELEASES /srv/saltbox/releases.old && mv /srv/saltbox/releases.new $BG_RELEASES"
bg_deploy r3
assert_eq r3 "$(bg_live_release)" "a releases directory replaced by a real one is deployed from"
# The refused triggers above ran the trigger service more often than its start limit allows.
ct_exec systemctl reset-failed "$BG_APP-deploy-trigger.service" "$BG_APP-deploy-trigger.path"
ct_exec systemctl start "$BG_APP-deploy-trigger.path"
ct_exec runuser -u saltbox -- sh -c "echo r2 > $BG_RELEASES/.deploy"
for _ in $(seq 300); do
        grep -q "r2 deployed" "$CT_ROOT$BG_RELEASES/.deploy.status" 2>/dev/null && break
        sleep 0.1
done
assert_contains "$(cat "$CT_ROOT$BG_RELEASES/.deploy.status")" "r2 deployed" "and the trigger works in it"
assert_eq r2 "$(bg_live_release)" "the triggered release is live"
assert_other_untouched "honest replacement"
echo "33-releases-swap: all checks passed"

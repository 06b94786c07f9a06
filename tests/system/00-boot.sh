#!/bin/bash
# System test 00: the container harness itself works.
#   boot a real systemd in a throwaway container, run nginx + curl inside,
#   reboot on the same overlay (state persists), tear down leaving nothing.
set -euo pipefail

. "$(dirname "$(readlink -f "$0")")/lib.sh"

ct_require_root_and_tools nginx curl

t0=$(_ct_now)
# shellcheck disable=SC2119 # no extra nspawn options
ct_boot
t_boot=$(_ct_elapsed "$t0")

# --- systemd is up --------------------------------------------------------
state=$(ct_exec systemctl is-system-running || true)
case "$state" in
    running|degraded) ok "systemd in container is $state" ;;
    *) fail "systemctl is-system-running: '$state'" ;;
esac

assert_eq systemd "$(ct_exec cat /proc/1/comm)" "PID 1 in the container is systemd"
assert_contains "$(ct_exec readlink /proc/1/exe)" "/systemd" "/proc/1/exe points at systemd"
assert_eq "$CT_PID" "$(awk '$1 == "NSpid:" { print $2 }' "/proc/$CT_PID/status")" "CT_PID is a host PID"
assert_eq "systemd-nspawn" "$(ct_exec systemd-detect-virt --container || true)" "systemd-detect-virt says systemd-nspawn"
[[ -d "$CT_ROOT/etc" && -n "$CT_NAME" && -d "$CT_DIR" ]] || fail "CT_ROOT/CT_NAME/CT_DIR not set up"
ok "CT_ROOT=$CT_ROOT CT_NAME=$CT_NAME"

# --- the host can install files into the container through CT_ROOT ----------
token="bluegreen-00-boot-$$-$RANDOM"
mkdir -p "$CT_ROOT/var/www/html"
echo "$token" >"$CT_ROOT/var/www/html/bgtest.txt"
assert_eq "$token" "$(ct_exec cat /var/www/html/bgtest.txt)" "file written to CT_ROOT on the host is visible inside"

# --- nginx + curl inside (private network: only the container's lo) ------
ct_exec systemctl start nginx || fail "systemctl start nginx"
assert_eq active "$(ct_exec systemctl is-active nginx || true)" "nginx is active in the container"
body=$(ct_exec curl -fsS --max-time 10 http://127.0.0.1/bgtest.txt) || fail "curl inside the container"
assert_eq "$token" "$body" "curl http://127.0.0.1/ inside the container answers from the container's nginx"
ct_exec curl -fsS --max-time 10 -o /dev/null http://127.0.0.1/ || fail "curl http://127.0.0.1/"
ok "curl -fsS http://127.0.0.1/ inside the container"

# --- ct_sh, exit status and stdin pass-through ----------------------------
# shellcheck disable=SC2016 # expanded inside the container
assert_eq "a b" "$(ct_sh 'echo "$1 $2"' a b)" "ct_sh passes arguments"
rc=0; ct_sh 'exit 42' || rc=$?
assert_eq 42 "$rc" "ct_exec/ct_sh return the command's exit status"
assert_eq "from-stdin" "$(echo from-stdin | ct_exec cat)" "stdin is passed through"
leak=$(SYSTEMD_LOG_LEVEL=debug DBUS_SESSION_BUS_ADDRESS=x ct_exec env | grep -E '^(SYSTEMD_|DBUS_|NOTIFY_SOCKET)' || true)
assert_eq "" "$leak" "no SYSTEMD_*/DBUS_* variables leak into ct_exec"

# --- reboot on the same overlay -------------------------------------------
ct_exec sh -c "echo '$token' > /var/lib/bgtest-marker && echo volatile > /run/bgtest-volatile"
old_pid=$CT_PID
t1=$(_ct_now)
ct_poweroff_and_boot_again
t_reboot=$(_ct_elapsed "$t1")
[[ "$CT_PID" != "$old_pid" ]] || fail "CT_PID did not change across reboot"
ok "container rebooted (PID 1: host pid $old_pid -> $CT_PID)"
assert_eq "$token" "$(ct_exec cat /var/lib/bgtest-marker)" "marker file in /var survived the reboot"
ct_exec test ! -e /run/bgtest-volatile || fail "/run survived the reboot (was it really rebooted?)"
ok "/run is fresh after the reboot"
state=$(ct_exec systemctl is-system-running || true)
case "$state" in
    running|degraded) ok "systemd is $state again after the reboot" ;;
    *) fail "after reboot: systemctl is-system-running: '$state'" ;;
esac
assert_eq active "$(ct_exec systemctl is-active nginx || true)" "nginx (enabled) is active after the reboot"

# --- teardown leaves nothing behind -----------------------------------------
dir=$CT_DIR name=$CT_NAME nspawn_pid=$CT_NSPAWN_PID pid1=$CT_PID lock=$_CT_LOCK
t2=$(_ct_now)
ct_teardown
t_teardown=$(_ct_elapsed "$t2")
[[ ! -e "$dir" ]] || fail "temp dir $dir still exists"
ok "temp dir removed"
if findmnt -rn -o TARGET | grep -qF "$dir"; then
    fail "mounts left under $dir: $(findmnt -rn -o TARGET | grep -F "$dir")"
fi
ok "no mounts left under $dir"
[[ ! -e "/proc/$nspawn_pid" ]] || [[ "$(cat "/proc/$nspawn_pid/comm" 2>/dev/null)" != systemd-nspawn ]] ||
    fail "systemd-nspawn $nspawn_pid still running"
[[ ! -e "/proc/$pid1" ]] || [[ "$(cat "/proc/$pid1/comm" 2>/dev/null)" != systemd ]] ||
    fail "container PID 1 ($pid1) still running"
ok "no container processes left"
[[ ! -e "/run/systemd/nspawn/propagate/$name" ]] || fail "/run/systemd/nspawn/propagate/$name left behind"
[[ ! -e "$lock" ]] || fail "nspawn lock file $lock left behind"
ok "no nspawn runtime dir or lock file left"
ct_teardown # idempotent
ok "ct_teardown is idempotent"

echo "# timing: boot ${t_boot}s, poweroff+boot ${t_reboot}s, teardown ${t_teardown}s, total $(_ct_elapsed "$t0")s"

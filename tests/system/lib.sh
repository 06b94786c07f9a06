# shellcheck shell=bash
#
# tests/system/lib.sh -- boot a real, throwaway systemd in a container for
# system tests.  Source it from a bash test script:
#
#     #!/bin/bash
#     set -euo pipefail
#     . "$(dirname "$(readlink -f "$0")")/lib.sh"
#     ct_require_root_and_tools nginx curl
#     ct_boot
#     ct_exec systemctl start nginx
#     ...
#
# How it works: the host's own root file system is the (read-only) lower layer
# of an overlayfs whose upper/work dirs live on a tmpfs private to the test
# (falling back to a plain directory if tmpfs cannot be used).  systemd-nspawn
# boots /usr/lib/systemd/systemd as PID 1 on the merged tree, with a private
# network namespace (only "lo").  Everything the test or the container writes
# ends up in the upper layer and vanishes at teardown; the host is not changed.
#
# Public interface (names are stable, other tests rely on them):
#
#   ct_require_root_and_tools [TOOL...]
#       Not root: print why and exit 77 (meson "skipped").  Root but
#       systemd-nspawn/nsenter/overlayfs/... (or one of the extra TOOLs)
#       missing: print why and exit 1 -- a broken CI image must not look like
#       a skip.
#   ct_prepare
#       Optional.  Create the temp dir and the overlay and export CT_DIR,
#       CT_ROOT, CT_NAME without booting, so that files can be installed into
#       CT_ROOT before the *first* boot (e.g. a generator).  Installs the
#       EXIT/INT/TERM/HUP traps.  ct_boot calls it if it has not run yet.
#   ct_boot [NSPAWN_OPTION...]
#       ct_prepare (if needed), start systemd-nspawn in the background (log in
#       $CT_DIR/nspawn.log), find the container's PID 1, wait (bounded by
#       CT_BOOT_TIMEOUT, default 60 s) until "systemctl is-system-running
#       --wait" says running or degraded (degraded is accepted, failed units
#       are printed).  Exports CT_ROOT CT_PID CT_NAME CT_DIR (and CT_LOG,
#       CT_NSPAWN_PID).  On failure prints the nspawn log tail and returns 1.
#       Extra NSPAWN_OPTIONs (e.g. --bind=...) are also used for later reboots.
#   ct_exec CMD [ARG...]
#       Run CMD in all namespaces of the container (nsenter -a) with a clean
#       environment (PATH, LANG=C.UTF-8, HOME, USER, TERM=dumb, PAGER=cat;
#       nothing inherited, in particular no SYSTEMD_* / DBUS_* /
#       NOTIFY_SOCKET).  stdin/stdout/stderr pass through; returns CMD's exit
#       status.  CMD runs in the container but is not a child of its PID 1 nor
#       in one of its cgroups (it stays in the caller's cgroup).  ct_execs
#       still running (e.g. started with &) are SIGKILLed when the container
#       is powered off (see _ct_kill_injected).
#   ct_sh 'SHELL STRING' [ARG...]
#       ct_exec /bin/sh -c 'SHELL STRING' sh ARG...
#   ct_poweroff_and_boot_again
#       Clean "systemctl poweroff" inside, wait for nspawn to exit (bounded),
#       boot again on the same overlay (state persists like a reboot; /run and
#       /tmp are fresh tmpfs).  Updates CT_PID/CT_NSPAWN_PID.
#   ct_power_cut_and_boot_again
#       A power cut: every process of the container is frozen at once
#       (SIGSTOP to each process in its PID namespace, so none runs another
#       instruction), then its PID 1 is SIGKILLed, which ends them all; then
#       boot again on the same overlay.  Unlike a real power cut, data written
#       but not yet synced survives (the overlay lives in the host's page
#       cache); what this tests is that no process gets to finish its step.
#   ct_teardown [fast]
#       Power off (bounded; escalates to SIGTERM then SIGKILL of the nspawn
#       process we started, by PID), unmount overlay and tmpfs, remove CT_DIR.
#       Idempotent, runs automatically from the traps.  CT_DIR/CT_ROOT/CT_NAME
#       keep their (now stale) values so a test can check they are gone.
#       "fast" (used by the INT/TERM/HUP traps) skips the clean poweroff and
#       SIGKILLs the container's PID 1: meson allows only 0.5 s between its
#       SIGTERM and SIGKILL of a timed-out test.  If the test shell is
#       SIGKILLed anyway, a watchdog process (own session, started by
#       ct_prepare) kills the container and removes mounts and dir; and the
#       next ct_prepare removes leftovers of runs whose owner PID (part of the
#       dir name) is gone.
#   fail MSG | ok MSG | assert_eq EXPECTED ACTUAL MSG |
#   assert_contains HAYSTACK NEEDLE MSG
#       "FAIL: MSG" on stderr + exit 1 / "ok - MSG" on stdout.  The asserts
#       print "ok - MSG" when they pass.
#
# Tunables (environment): CT_BOOT_TIMEOUT (60), CT_STOP_TIMEOUT (30),
# CT_TMPFS_SIZE (4G), CT_UPPER_ON_TMPFS (1; 0 = overlay upper/work in a plain
# directory under CT_DIR, on the disk), CT_MASK_UNITS (units masked in the
# container, see below), CT_INIT_ARGS (extra args for the container's systemd,
# e.g. "systemd.log_level=debug"), CT_VERBOSE=1 (more "# " diagnostics),
# TMPDIR (where CT_DIR is created, default /tmp).
#
# Inside the container: its own random /etc/machine-id (the host's is kept
# out), "systemd.firstboot=off", only "lo" as network, /tmp and /run fresh
# tmpfs at every boot, everything else persistent across
# ct_poweroff_and_boot_again.  Units enabled on the host (nginx, ...) start.
# There is no /dev/kmsg in an nspawn container (systemd 252): opening it
# with O_CREAT (shell ">") creates a regular file; and generators' stdout and
# stderr are /dev/null.  Generator messages are visible in the container only
# through the journal socket (not at boot: journald is not up yet) or
# /dev/console (ends up in $CT_LOG).
#
# Diagnostics are printed to stderr prefixed with "# ".

# Units masked inside the container: periodic jobs that would otherwise fire
# at boot (Persistent=yes timers never ran on this root) and make tests
# slower and less deterministic, and PostgreSQL, which some host images have
# enabled and which alone takes ~2.3 of ~2.8 s of container boot.  Set
# CT_MASK_UNITS (space separated, may be empty) to override.
: "${CT_MASK_UNITS=apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer man-db.timer logrotate.timer postgresql.service postgresql@.service}"
: "${CT_BOOT_TIMEOUT:=60}"
: "${CT_STOP_TIMEOUT:=30}"
: "${CT_TMPFS_SIZE:=4G}"
: "${CT_UPPER_ON_TMPFS:=1}"
: "${CT_INIT_ARGS:=}"
: "${CT_VERBOSE:=0}"

CT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

CT_DIR=
CT_ROOT=
CT_NAME=
CT_MACHINE_ID=
CT_PID=
CT_NSPAWN_PID=
CT_LOG=
_CT_PREPARED=
_CT_TORN_DOWN=
_CT_TMPFS=
_CT_DUMPED=
_CT_SHELL_PID=
_CT_PID_START=
_CT_WD_ACTIVE=
_CT_LOCK=
exec {_CT_WD_FD}>/dev/null
_CT_NSPAWN_EXTRA=()

# ---------------------------------------------------------------- helpers --

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

ok() {
    echo "ok - $*"
}

assert_eq() {
    if [[ "$1" == "$2" ]]; then
        ok "$3"
    else
        fail "$3: expected '$1', got '$2'"
    fi
}

assert_contains() {
    if [[ "$1" == *"$2"* ]]; then
        ok "$3"
    else
        fail "$3: '$2' not found in: $1"
    fi
}

_ct_log() {
    echo "# $*" >&2
}

_ct_debug() {
    [[ "$CT_VERBOSE" == 1 ]] && echo "# [${EPOCHREALTIME:-}] $*" >&2
    return 0
}

_ct_now() {
    # seconds with microseconds, as a string
    echo "${EPOCHREALTIME:-$(date +%s.%N)}"
}

_ct_elapsed() {
    # _ct_elapsed START -> "1.234"
    awk -v a="$1" -v b="$(_ct_now)" 'BEGIN { printf "%.3f", b - a }'
}

# ------------------------------------------------------------ requirements --

ct_require_root_and_tools() {
    if [[ "$(id -u)" != 0 ]]; then
        echo "SKIP: system tests need root (overlayfs mount + systemd-nspawn); not root" >&2
        exit 77
    fi
    local missing=() t
    for t in systemd-nspawn nsenter mount umount mountpoint findmnt timeout awk "$@"; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    [[ -x /usr/lib/systemd/systemd || -x /lib/systemd/systemd ]] || missing+=("/usr/lib/systemd/systemd")
    if ! grep -qw overlay /proc/filesystems 2>/dev/null; then
        modprobe overlay >/dev/null 2>&1 || true
        grep -qw overlay /proc/filesystems 2>/dev/null || missing+=("overlayfs (kernel)")
    fi
    if ((${#missing[@]})); then
        echo "FAIL: running as root but required tools are missing: ${missing[*]}" >&2
        echo "FAIL: install them (Debian: apt-get install systemd-container util-linux coreutils ...)" >&2
        exit 1
    fi
}

# ------------------------------------------------------------------ traps --

_ct_on_exit() {
    local rc=$?
    if [[ -n "$CT_DIR" && -z "$_CT_TORN_DOWN" && $rc != 0 ]]; then
        _ct_dump_diagnostics
    fi
    ct_teardown
    exit "$rc"
}

_ct_on_signal() {
    local sig=$1 rc=$2
    trap - EXIT INT TERM HUP
    _ct_log "caught SIG$sig, killing and tearing down container ${CT_NAME:-?}"
    ct_teardown fast
    exit "$rc"
}

_ct_install_traps() {
    trap _ct_on_exit EXIT
    trap '_ct_on_signal INT 130' INT
    trap '_ct_on_signal TERM 143' TERM
    trap '_ct_on_signal HUP 129' HUP
}

_ct_dump_diagnostics() {
    local -
    set +e
    [[ -z "$_CT_DUMPED" ]] || return 0
    _CT_DUMPED=1
    if [[ -n "$CT_LOG" && -f "$CT_LOG" ]]; then
        _ct_log "---- last 40 lines of $CT_LOG ----"
        tail -n 40 "$CT_LOG" | sed 's/^/#   /' >&2
    fi
    if _ct_container_alive; then
        _ct_log "---- systemctl --failed (in container) ----"
        _ct_exec_timeout 10 systemctl --failed --no-legend 2>&1 | sed 's/^/#   /' >&2
        _ct_log "---- journalctl -b -n 40 (in container) ----"
        _ct_exec_timeout 10 journalctl -b --no-pager -n 40 2>&1 | sed 's/^/#   /' >&2
    fi
}

# -------------------------------------------------------------- watchdog --

# If the test shell dies without tearing down (SIGKILL, e.g. meson's 0.5 s
# after its timeout SIGTERM), the container would keep running and the mounts
# would stay.  A watchdog in its own session (so a kill of the test's process
# group does not reach it) reads a pipe the test shell holds open; at EOF
# without a "done" line it kills the container (PIDs, with start times, come
# over the pipe) and removes mounts and dir.  It is a plain bash script.
# shellcheck disable=SC2016 # expanded by the watchdog's bash
_CT_WATCHDOG_SCRIPT='
trap "" PIPE INT TERM HUP QUIT
dir=$1 name=$2 pid1= p1start= nsp= nspstart= lock=
while read -r what a b; do
    case $what in
        pid1) pid1=$a p1start=$b ;;
        nspawn) nsp=$a nspstart=$b ;;
        lock) lock=$a ;;
        done) exit 0 ;;
    esac
done
st() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; set -- $s; echo "${20}"; }
[[ -n $pid1 && "$(st "$pid1")" == "$p1start" ]] && kill -KILL "$pid1"
[[ -n $nsp && "$(st "$nsp")" == "$nspstart" ]] && kill -KILL "$nsp"
sleep 0.2
[[ -n $lock && -f $lock ]] && rm -f "$lock"
findmnt -rn -o TARGET | awk -v d="$dir" "index(\$0, d \"/\") == 1" | sort -r |
    while read -r m; do umount -l "$m"; done
rm -rf --one-file-system "$dir"
[[ -n $name && -d /run/systemd/nspawn/propagate/$name ]] &&
    rm -rf --one-file-system "/run/systemd/nspawn/propagate/$name"
exit 0
'

# _CT_WD_FD is always a valid fd (/dev/null when no watchdog runs): commands
# that must not inherit the pipe are started with {_CT_WD_FD}>&-.
_ct_watchdog_start() {
    _ct_watchdog_stop
    exec {_CT_WD_FD}>&-
    if exec {_CT_WD_FD}> >(exec setsid bash -c "$_CT_WATCHDOG_SCRIPT" bgct-watchdog \
                               "$CT_DIR" "$CT_NAME" >/dev/null 2>&1); then
        _CT_WD_ACTIVE=1
    else
        exec {_CT_WD_FD}>/dev/null
    fi
}

# _ct_watchdog_send LINE: never let a dead watchdog SIGPIPE the test shell
_ct_watchdog_send() {
    [[ -n "$_CT_WD_ACTIVE" ]] || return 0
    (trap '' PIPE; echo "$*" >&"$_CT_WD_FD") 2>/dev/null || true
}

_ct_watchdog_stop() {
    [[ -n "$_CT_WD_ACTIVE" ]] || return 0
    _ct_watchdog_send "done"
    _CT_WD_ACTIVE=
    exec {_CT_WD_FD}>&-
    exec {_CT_WD_FD}>/dev/null
}

# --------------------------------------------------------------- prepare --

# Last line of defence: SIGKILL the PID 1 of any container whose root is our
# overlay (upperdir in DIR, mounted on "/" in its mount namespace), whoever
# started it.  Prints the PIDs killed.  One grep over all mountinfo files
# (grep -s: processes vanish while it runs; mawk would abort on those).
_ct_regex_quote() {
    # shellcheck disable=SC2001 # a bracket expression is clearer in sed
    sed 's/[][\\.*^$+?(){}|]/\\&/g' <<<"$1"
}

_ct_kill_containers_in() {
    local d=$1 f p l
    while read -r f; do
        p=${f#/proc/}
        p=${p%/mountinfo}
        while read -r l; do
            [[ "$l" == NSpid:* ]] || continue
            [[ "${l##*[[:space:]]}" == 1 && "$p" != 1 ]] || break
            _ct_log "killing container PID 1 (host pid $p) still running on $d"
            kill -KILL "$p" 2>/dev/null
            echo "$p"
            break
        done 2>/dev/null <"/proc/$p/status"
    done < <(grep -lsE "^[0-9]+ [0-9]+ [0-9]+:[0-9]+ [^ ]+ / .*upperdir=$(_ct_regex_quote "$d")/" \
                 /proc/[0-9]*/mountinfo)
    return 0
}

# Remove what an earlier test run left behind if both it and its watchdog
# were killed: $base/bluegreen-ct.<owner pid>.* whose owner process is gone.
# A container still running there (recognised by its root mount: the overlay
# with upperdir in that dir mounted on "/") has its PID 1 killed first.
_ct_gc_stale() {
    local -
    set +e
    local base=$1 d owner m
    for d in "$base"/bluegreen-ct.*.*; do
        [[ -d "$d" ]] || continue
        owner=${d#"$base"/bluegreen-ct.}
        owner=${owner%%.*}
        [[ "$owner" =~ ^[0-9]+$ ]] || continue
        [[ -e "/proc/$owner" ]] && continue
        _ct_log "removing stale $d (owner pid $owner is gone)"
        _ct_kill_containers_in "$d"
        while read -r m; do
            [[ -n "$m" ]] && umount -l "$m" 2>/dev/null
        done <<<"$(_ct_mounts_under "$d")"
        [[ -z "$(_ct_mounts_under "$d")" ]] && rm -rf --one-file-system "$d"
    done
    return 0
}

ct_prepare() {
    [[ -n "$_CT_PREPARED" && -z "$_CT_TORN_DOWN" ]] && return 0

    local base=${TMPDIR:-/tmp}
    _ct_gc_stale "$base"
    CT_DIR=$(mktemp -d "$base/bluegreen-ct.$$.XXXXXX") || { echo "FAIL: mktemp failed" >&2; return 1; }
    # Machine names must be valid host names: keep it short and plain.
    local suffix=${CT_DIR##*.}
    CT_NAME="bgct-$$-${suffix,,}"
    CT_ROOT="$CT_DIR/root"
    CT_LOG="$CT_DIR/nspawn.log"
    CT_PID=
    CT_NSPAWN_PID=
    _CT_TORN_DOWN=
    _CT_TMPFS=
    _CT_DUMPED=
    _CT_PREPARED=1
    export CT_DIR CT_ROOT CT_NAME CT_LOG
    _ct_install_traps
    _ct_watchdog_start

    mkdir -p "$CT_ROOT" "$CT_DIR/ovl"
    local layers="$CT_DIR/ovl"
    # Preferred: upper+work on a private tmpfs (fast, never touches the host
    # disk, does not overlap with lowerdir=/).  Fallback: plain directories.
    if [[ "$CT_UPPER_ON_TMPFS" != 1 ]]; then
        _ct_debug "CT_UPPER_ON_TMPFS=$CT_UPPER_ON_TMPFS: overlay upper/work on $CT_DIR"
    elif mount -t tmpfs -o "mode=0755,size=$CT_TMPFS_SIZE" bgct-tmpfs "$CT_DIR/ovl" 2>/dev/null; then
        _CT_TMPFS=1
    else
        _ct_log "tmpfs mount failed, putting overlay upper/work on $CT_DIR"
    fi
    mkdir -p "$layers/upper" "$layers/work"
    if ! mount -t overlay overlay \
            -o "lowerdir=/,upperdir=$layers/upper,workdir=$layers/work" "$CT_ROOT"; then
        echo "FAIL: cannot mount overlayfs (lowerdir=/) on $CT_ROOT" >&2
        return 1
    fi
    if [[ ! -x "$CT_ROOT/usr/lib/systemd/systemd" && ! -x "$CT_ROOT/lib/systemd/systemd" ]]; then
        echo "FAIL: no systemd in the overlay (is /usr a separate mount on the host? only / is overlaid)" >&2
        return 1
    fi

    # nspawn's image lock file for this root; nspawn removes it on a clean
    # exit, we do when nspawn had to be killed.
    _CT_LOCK="/run/systemd/nspawn/locks/inode-$(stat -c %d "$CT_ROOT"):$(stat -c %i "$CT_ROOT")"
    _ct_watchdog_send lock "$_CT_LOCK"

    # The container gets its own machine id (the host's would make nspawn
    # complain and the container's journal would append to the host's journal
    # files in /var/log/journal/<host-id>, copying them up).
    CT_MACHINE_ID=$(tr -d '-' </proc/sys/kernel/random/uuid)
    rm -f "$CT_ROOT/etc/machine-id"
    echo "$CT_MACHINE_ID" >"$CT_ROOT/etc/machine-id"
    chmod 0444 "$CT_ROOT/etc/machine-id"

    local u
    mkdir -p "$CT_ROOT/etc/systemd/system"
    for u in $CT_MASK_UNITS; do
        ln -sfn /dev/null "$CT_ROOT/etc/systemd/system/$u"
    done
    _ct_debug "prepared $CT_NAME in $CT_DIR (tmpfs=${_CT_TMPFS:-0})"
    return 0
}

# ------------------------------------------------------------------ exec --

# Clean environment for commands in the container: nothing inherited from the
# caller (no SYSTEMD_*, DBUS_*, NOTIFY_SOCKET, LC_*, ...).
_CT_ENV=(/usr/bin/env -i "PATH=$CT_PATH" LANG=C.UTF-8 HOME=/root USER=root
         LOGNAME=root TERM=dumb PAGER=cat)

ct_exec() {
    if [[ -z "$CT_PID" ]]; then
        echo "FAIL: ct_exec: no running container (call ct_boot first)" >&2
        return 125
    fi
    # (long-lived children must not hold the watchdog pipe open)
    nsenter -t "$CT_PID" -a -- "${_CT_ENV[@]}" "$@" {_CT_WD_FD}>&-
}

ct_sh() {
    (($#)) || { echo "FAIL: ct_sh: missing shell string" >&2; return 125; }
    local script=$1
    shift
    ct_exec /bin/sh -c "$script" sh "$@"
}

# _ct_exec_timeout SECONDS CMD... : ct_exec bounded by timeout(1)
_ct_exec_timeout() {
    local t=$1
    shift
    [[ -n "$CT_PID" ]] || return 125
    timeout "$t" nsenter -t "$CT_PID" -a -- "${_CT_ENV[@]}" "$@" {_CT_WD_FD}>&-
}

# ------------------------------------------------------------ boot / stop --

# Is the systemd-nspawn we started still running?  (Right after the fork its
# comm is still "bash"/"env", so identify it by PID + parent = our shell.)
_ct_nspawn_alive() {
    [[ -n "$CT_NSPAWN_PID" ]] || return 1
    local stat st ppid
    stat=$(cat "/proc/$CT_NSPAWN_PID/stat" 2>/dev/null) || return 1
    # fields after "(comm)": state ppid ...
    read -r st ppid _ <<<"${stat##*) }"
    [[ -n "$st" && "$st" != Z && "$ppid" == "$_CT_SHELL_PID" ]]
}

_ct_container_alive() {
    [[ -n "$CT_PID" ]] && _ct_nspawn_alive && [[ -e "/proc/$CT_PID" ]]
}

# Print the host PID of the container's PID 1 if it has already exec'd
# systemd (a child of nspawn whose PID in its own namespace is 1).
_ct_find_pid1() {
    local f c
    for f in /proc/"$CT_NSPAWN_PID"/task/*/children; do
        # shellcheck disable=SC2013 # space separated PIDs
        for c in $(cat "$f" 2>/dev/null); do
            [[ "$(cat "/proc/$c/comm" 2>/dev/null)" == systemd ]] || continue
            if awk '$1 == "NSpid:" { exit !($NF == 1) }' "/proc/$c/status" 2>/dev/null; then
                echo "$c"
                return 0
            fi
        done
    done
    return 1
}

_ct_start_nspawn() {
    # --register=no/--keep-unit: the host need not run systemd as PID 1.
    # Clean environment so nothing of the caller (NOTIFY_SOCKET, SYSTEMD_*,
    # colours) leaks into nspawn or the container's PID 1.
    {
        echo "==== $(date '+%F %T') starting systemd-nspawn ($CT_NAME) ===="
    } >>"$CT_LOG"
    # shellcheck disable=SC2086
    env -i PATH="$CT_PATH" TERM=dumb LANG=C.UTF-8 SYSTEMD_COLORS=0 \
        systemd-nspawn --quiet --register=no --keep-unit --private-network \
            -D "$CT_ROOT" -M "$CT_NAME" --uuid="$CT_MACHINE_ID" \
            --console=read-only "${_CT_NSPAWN_EXTRA[@]}" \
            -b -- systemd.firstboot=off $CT_INIT_ARGS \
        </dev/null >>"$CT_LOG" 2>&1 {_CT_WD_FD}>&- &
    CT_NSPAWN_PID=$!
    _CT_SHELL_PID=$BASHPID
    # not a job: no "Killed ..." notice from bash if we ever have to SIGKILL it
    disown "$CT_NSPAWN_PID" 2>/dev/null || true
    _ct_watchdog_send nspawn "$CT_NSPAWN_PID" "$(_ct_starttime "$CT_NSPAWN_PID")"
    export CT_NSPAWN_PID
}

# Wait until the container's systemd is up; return 0 for running/degraded.
_ct_wait_booted() {
    local start=$1 deadline=$((SECONDS + CT_BOOT_TIMEOUT)) state=""

    while :; do
        if ! _ct_nspawn_alive; then
            echo "FAIL: systemd-nspawn ($CT_NAME) exited during boot" >&2
            return 1
        fi
        _ct_set_pid1
        [[ -n "$CT_PID" ]] && break
        if ((SECONDS >= deadline)); then
            echo "FAIL: container PID 1 (systemd) did not appear within ${CT_BOOT_TIMEOUT}s" >&2
            return 1
        fi
        sleep 0.05
    done
    _ct_debug "container $CT_NAME: nspawn pid $CT_NSPAWN_PID, PID 1 = host pid $CT_PID"

    while :; do
        if ((SECONDS >= deadline)); then
            echo "FAIL: container did not finish booting within ${CT_BOOT_TIMEOUT}s (state: ${state:-?})" >&2
            ct_exec systemctl list-jobs --no-legend 2>&1 | sed 's/^/#   job: /' >&2 || true
            return 1
        fi
        if ! _ct_container_alive; then
            echo "FAIL: container ($CT_NAME) died during boot" >&2
            return 1
        fi
        # Poll rather than "is-system-running --wait": a short-lived
        # command per try keeps this bounded and interruptible (timeout(1)
        # runs in its own process group, out of reach of a signal to ours).
        # Early in boot PID 1 may not listen yet ("offline"): just retry.
        state=$(_ct_exec_timeout 5 systemctl is-system-running 2>/dev/null) || true
        case "$state" in
            running)
                break ;;
            degraded)
                _ct_log "container $CT_NAME is degraded; failed units:"
                ct_exec systemctl --failed --no-legend --plain 2>&1 | sed 's/^/#   /' >&2 || true
                break ;;
            maintenance|stopping)
                echo "FAIL: container entered state '$state' during boot" >&2
                return 1 ;;
        esac
        sleep 0.05
    done
    _ct_log "container $CT_NAME up ($state) in $(_ct_elapsed "$start")s"
    return 0
}

ct_boot() {
    local start
    start=$(_ct_now)
    ct_prepare || { _ct_boot_failed; return 1; }
    if _ct_nspawn_alive; then
        echo "FAIL: ct_boot: container $CT_NAME is already running" >&2
        return 1
    fi
    _CT_NSPAWN_EXTRA=("$@")
    _ct_start_nspawn
    if ! _ct_wait_booted "$start"; then
        _ct_boot_failed
        return 1
    fi
    return 0
}

_ct_boot_failed() {
    [[ -z "$_CT_DUMPED" ]] || return 0
    _CT_DUMPED=1
    if [[ -n "$CT_LOG" && -f "$CT_LOG" ]]; then
        echo "# ---- last 40 lines of $CT_LOG ----" >&2
        tail -n 40 "$CT_LOG" | sed 's/^/#   /' >&2
    fi
}

# Stop the running container; bounded.  Returns 0 if it went down cleanly via
# poweroff, 1 if it had to be killed.  _ct_stop fast: no clean poweroff, just
# SIGKILL the container (used when the test was interrupted: meson gives a
# test only 0.5 s between SIGTERM and SIGKILL).
_ct_stop() {
    local -
    set +e
    local mode=${1:-clean} timeout=$CT_STOP_TIMEOUT clean=0

    if ! _ct_nspawn_alive; then
        _ct_kill_pid1
        _ct_reap
        return 0
    fi
    [[ -n "$CT_PID" ]] || _ct_set_pid1

    if [[ "$mode" == fast ]]; then
        # Do not wait for the kernel to finish tearing the namespaces down
        # (that can take >1 s); both are dead for good after SIGKILL.
        _ct_debug "fast stop: SIGKILL container PID 1 ($CT_PID) and nspawn ($CT_NSPAWN_PID)"
        _ct_kill_pid1
        kill -KILL "$CT_NSPAWN_PID" 2>/dev/null
        _ct_wait_nspawn_exit 1
        _ct_debug "fast stop: nspawn gone"
    # 1. clean poweroff from inside (if PID 1 is there at all).  ct_execs
    # still running (e.g. started with &) would be killed by the shutdown
    # anyway; kill them now (see _ct_kill_injected for why).
    elif [[ -n "$CT_PID" ]] && _ct_kill_injected "$CT_PID" &&
         _ct_exec_timeout 10 systemctl --no-block poweroff >/dev/null 2>&1 &&
         _ct_wait_nspawn_exit "$timeout"; then
        clean=1
    else
        # 2. nspawn forwards SIGTERM to the container as SIGRTMIN+3 (= poweroff)
        _ct_log "container $CT_NAME did not power off (within ${timeout}s), sending SIGTERM to nspawn $CT_NSPAWN_PID"
        kill -TERM "$CT_NSPAWN_PID" 2>/dev/null
        if ! _ct_wait_nspawn_exit 10; then
            # 3. hard kill: the container's PID 1 (which takes the whole
            # container PID namespace with it) and our nspawn.
            _ct_log "still running, sending SIGKILL to container PID 1 ($CT_PID) and nspawn $CT_NSPAWN_PID"
            _ct_kill_pid1
            kill -KILL "$CT_NSPAWN_PID" 2>/dev/null
            _ct_wait_nspawn_exit 10
        fi
    fi
    # Normally gone together with nspawn; make sure.
    _ct_kill_pid1
    _ct_wake_stopped_nsenters "$CT_PID"
    _ct_reap
    ((clean))
}

# Processes started in the container from the host (ct_exec, or any nsenter)
# that are still running when the container shuts down are trouble: they are
# not children of the container's PID 1 but of nsenter, on the host (or, once
# that is gone, of the host's init).  systemd-shutdown SIGTERMs them in its
# kill spree but gets no SIGCHLD for them, so it notices their death only at
# its 10 s timeout; and nsenter mirrors the spree's SIGSTOP onto itself and
# then stays stopped forever.  So, before a poweroff, SIGKILL every process
# in the container's PID namespace (except PID 1) whose parent is outside it,
# and wait (bounded) until each is gone or a zombie; stopped nsenter parents
# are SIGCONTed so they can reap.  Builtins only (-ef compares the namespace
# inodes), no fork per process.
_ct_kill_injected() {
    local pid1=$1 ns p st ppid victims=() deadline c
    [[ -n "$pid1" && -e "/proc/$pid1/ns/pid" ]] || return 0
    ns=/proc/$pid1/ns/pid
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [[ "$p" != "$pid1" && /proc/$p/ns/pid -ef $ns ]] || continue
        read -r st 2>/dev/null <"/proc/$p/stat" || continue
        read -r st ppid _ <<<"${st##*) }"
        [[ "$st" != Z && ! /proc/$ppid/ns/pid -ef $ns ]] || continue
        _ct_debug "killing $p ($(cat "/proc/$p/comm" 2>/dev/null)), started in the container from the host (parent $ppid)"
        kill -KILL "$p" 2>/dev/null
        victims+=("$p:$ppid")
    done
    ((${#victims[@]})) || return 0
    deadline=$((SECONDS + 3))
    for p in "${victims[@]}"; do
        ppid=${p#*:}
        p=${p%%:*}
        while read -r st 2>/dev/null <"/proc/$p/stat"; do
            read -r st _ <<<"${st##*) }"
            [[ "$st" == Z ]] && break
            ((SECONDS >= deadline)) && break
            read -r c 2>/dev/null <"/proc/$ppid/comm" && [[ "$c" == nsenter ]] &&
                kill -CONT "$ppid" 2>/dev/null
            sleep 0.02
        done
    done
    return 0
}

# While waiting for a poweroff: SIGCONT the nsenters that ct_exec started for
# this container and that mirrored the kill spree's SIGSTOP (see above).
_ct_wake_stopped_nsenters() {
    local pid1=$1 p c st cmd
    [[ -n "$pid1" ]] || return 0
    for p in /proc/[0-9]*; do
        read -r c 2>/dev/null <"$p/comm" || continue
        [[ "$c" == nsenter ]] || continue
        read -r st 2>/dev/null <"$p/stat" || continue
        read -r st _ <<<"${st##*) }"
        [[ "$st" == T ]] || continue
        read -r -d '' cmd < <(tr '\0' ' ' 2>/dev/null <"$p/cmdline")
        [[ "$cmd" == "nsenter -t $pid1 -a -- "* ]] || continue
        _ct_debug "waking stopped ct_exec nsenter ${p#/proc/}"
        kill -CONT "${p#/proc/}" 2>/dev/null
    done
    return 0
}

# Remember PID 1 of the container (and its start time, to never kill a
# recycled PID).
_ct_set_pid1() {
    CT_PID=$(_ct_find_pid1) || CT_PID=
    _CT_PID_START=
    if [[ -n "$CT_PID" ]]; then
        _CT_PID_START=$(_ct_starttime "$CT_PID")
        _ct_watchdog_send pid1 "$CT_PID" "$_CT_PID_START"
    fi
    export CT_PID
}

_ct_starttime() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    # field 22 overall = field 20 after "(comm) "
    awk '{ print $20 }' <<<"${stat##*) }"
}

_ct_kill_pid1() {
    [[ -n "$CT_PID" && -n "$_CT_PID_START" ]] || return 0
    [[ "$(_ct_starttime "$CT_PID")" == "$_CT_PID_START" ]] || return 0
    kill -KILL "$CT_PID" 2>/dev/null
    return 0
}

_ct_wait_nspawn_exit() {
    local deadline=$((SECONDS + $1))
    while _ct_nspawn_alive; do
        ((SECONDS >= deadline)) && return 1
        _ct_wake_stopped_nsenters "$CT_PID"
        sleep 0.05
    done
    return 0
}

_ct_reap() {
    if [[ -n "$CT_NSPAWN_PID" ]]; then
        # never block: only collect the status of an already dead child
        if [[ ! -e "/proc/$CT_NSPAWN_PID" ]] ||
           [[ "$(awk '{ print $3 }' "/proc/$CT_NSPAWN_PID/stat" 2>/dev/null)" == Z ]]; then
            wait "$CT_NSPAWN_PID" 2>/dev/null
        fi
        CT_NSPAWN_PID=
    fi
    CT_PID=
    _CT_PID_START=
    return 0
}

ct_poweroff_and_boot_again() {
    local start
    start=$(_ct_now)
    if [[ -z "$_CT_PREPARED" || -n "$_CT_TORN_DOWN" ]]; then
        echo "FAIL: ct_poweroff_and_boot_again: no container (call ct_boot first)" >&2
        return 1
    fi
    if ! _ct_stop clean; then
        echo "FAIL: container $CT_NAME did not power off cleanly" >&2
        _ct_boot_failed
        return 1
    fi
    _ct_log "container $CT_NAME powered off in $(_ct_elapsed "$start")s, booting again"
    _ct_start_nspawn
    if ! _ct_wait_booted "$start"; then
        _ct_boot_failed
        return 1
    fi
    return 0
}

ct_power_cut_and_boot_again() {
    local start ns p pids=()
    start=$(_ct_now)
    [[ -n "$CT_PID" && -e "/proc/$CT_PID/ns/pid" ]] || { echo "FAIL: ct_power_cut_and_boot_again: no container" >&2; return 1; }
    ns=$(readlink "/proc/$CT_PID/ns/pid")
    for p in /proc/[0-9]*; do
        [[ "$(readlink "$p/ns/pid" 2>/dev/null)" == "$ns" ]] && pids+=("${p#/proc/}")
    done
    kill -STOP "${pids[@]}" 2>/dev/null
    kill -KILL "$CT_PID" 2>/dev/null
    _ct_wait_nspawn_exit 10 || kill -KILL "$CT_NSPAWN_PID" 2>/dev/null
    _ct_kill_pid1
    _ct_wake_stopped_nsenters "$CT_PID"
    _ct_reap
    _ct_log "container $CT_NAME power cut (${#pids[@]} processes frozen, then PID 1 killed), booting again"
    _ct_start_nspawn
    if ! _ct_wait_booted "$start"; then
        _ct_boot_failed
        return 1
    fi
    return 0
}

# ------------------------------------------------------------- teardown --

_ct_mounts_under() {
    # all mount points at or below $1 (deepest first)
    findmnt -rn -o TARGET 2>/dev/null | awk -v d="$1" 'index($0, d "/") == 1 || $0 == d' | sort -r
}

ct_teardown() {
    local -
    set +e
    [[ -n "$_CT_PREPARED" && -z "$_CT_TORN_DOWN" ]] || return 0
    local start m
    start=$(_ct_now)

    _ct_stop "${1:-clean}"
    # Whatever happened above: no container may outlive its overlay.
    [[ -n "$CT_DIR" && -n "$(_ct_kill_containers_in "$CT_DIR")" ]] && sleep 0.2
    # nspawn's lock file, named after the overlay's device:inode: remove it
    # while the overlay is still mounted (nobody else can have that device).
    [[ -n "$_CT_LOCK" && -f "$_CT_LOCK" ]] && rm -f "$_CT_LOCK"

    if [[ -n "$CT_DIR" && -d "$CT_DIR" && "${1:-}" == fast ]]; then
        # detach right away; the dying container's copies go with it
        while read -r m; do
            [[ -n "$m" ]] && umount -l "$m" 2>/dev/null
        done <<<"$(_ct_mounts_under "$CT_DIR")"
    fi
    if [[ -n "$CT_DIR" && -d "$CT_DIR" ]]; then
        m=$(_ct_mounts_under "$CT_DIR")
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            [[ -z "$m" ]] && break
            while read -r m; do
                [[ -n "$m" ]] && umount "$m" 2>/dev/null
            done <<<"$m"
            m=$(_ct_mounts_under "$CT_DIR")
            [[ -z "$m" ]] && break
            sleep 0.1
            m=$(_ct_mounts_under "$CT_DIR")
        done
        m=$(_ct_mounts_under "$CT_DIR")
        if [[ -n "$m" ]]; then
            _ct_log "mounts still busy, detaching lazily: ${m//$'\n'/ }"
            while read -r m; do
                [[ -n "$m" ]] && umount -l "$m" 2>/dev/null
            done <<<"$m"
        fi
        m=$(_ct_mounts_under "$CT_DIR")
        _ct_debug "unmounted"
        if [[ -n "$m" ]]; then
            _ct_log "WARNING: cannot unmount ${m//$'\n'/ }; leaving $CT_DIR in place"
        else
            rm -rf --one-file-system "$CT_DIR"
        fi
    fi
    # nspawn normally removes this itself, but not always (it refuses to
    # rm -rf outside tmpfs); it is ours, keyed by our unique machine name.
    [[ -n "$CT_NAME" && -d "/run/systemd/nspawn/propagate/$CT_NAME" ]] &&
        rm -rf --one-file-system "/run/systemd/nspawn/propagate/$CT_NAME"

    _ct_watchdog_stop
    _CT_TORN_DOWN=1
    CT_PID=
    _ct_log "container $CT_NAME torn down in $(_ct_elapsed "$start")s"
    return 0
}

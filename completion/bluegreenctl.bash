# bash completion for bluegreenctl(1)                      -*- shell-script -*-
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Commands, their options, app names (the declarations along bluegreen's search path, as the generator
# finds them) and, for deploy, the release names of the app (bluegreenctl releases -q APP).

_bluegreenctl_apps() {
        local IFS=: dir f
        for dir in ${BLUEGREEN_CONFIG_PATH:-/etc/bluegreen:/run/bluegreen:/usr/local/lib/bluegreen:/usr/lib/bluegreen}; do
                for f in "$dir"/*.conf; do
                        [[ -e $f ]] || continue
                        f=${f##*/}
                        printf '%s\n' "${f%.conf}"
                done
        done
}

_bluegreenctl_releases() {
        bluegreenctl releases -q "$1" 2>/dev/null
}

_bluegreenctl() {
        local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
        local verbs="status verify deploy rollback releases prune history maintenance"
        local -A opts=(
                [-]="--json --help"
                [status]="--json --help"
                [verify]="--name --json --help"
                [deploy]="--no-block --help"
                [rollback]="--no-block --help"
                [releases]="--quiet --json --help"
                [prune]="--keep --dry-run --wait --json --help"
                [history]="--lines --json --help"
                [maintenance]="--message --json --help"
        )
        local verb="" w i
        local -a args=()

        # The verb, and the words after it that are neither options nor their arguments.
        for ((i = 1; i < COMP_CWORD; i++)); do
                w=${COMP_WORDS[i]}
                case $w in
                --name | --keep | --lines | -n | --message | -m) ((i++)) ;;
                -*) ;;
                *) if [[ -z $verb ]]; then verb=$w; else args+=("$w"); fi ;;
                esac
        done

        case $prev in
        --name)
                mapfile -t COMPREPLY < <(compgen -W "$(_bluegreenctl_apps)" -- "$cur")
                return
                ;;
        --keep | --lines | -n | --message | -m)
                COMPREPLY=()
                return
                ;;
        esac

        if [[ $cur == -* ]]; then
                mapfile -t COMPREPLY < <(compgen -W "${opts[${verb:--}]:-}" -- "$cur")
                return
        fi
        case $verb in
        "") mapfile -t COMPREPLY < <(compgen -W "$verbs" -- "$cur") ;;
        status) mapfile -t COMPREPLY < <(compgen -W "$(_bluegreenctl_apps)" -- "$cur") ;;
        verify)
                mapfile -t COMPREPLY < <(compgen -W "$(_bluegreenctl_apps)" -- "$cur"; compgen -f -- "$cur")
                type compopt &>/dev/null && compopt -o filenames
                ;;
        deploy)
                if ((${#args[@]} == 0)); then
                        mapfile -t COMPREPLY < <(compgen -W "$(_bluegreenctl_apps)" -- "$cur")
                elif ((${#args[@]} == 1)); then
                        mapfile -t COMPREPLY < <(compgen -W "$(_bluegreenctl_releases "${args[0]}")" -- "$cur")
                fi
                ;;
        maintenance)
                if ((${#args[@]} == 0)); then
                        mapfile -t COMPREPLY < <(compgen -W "$(_bluegreenctl_apps)" -- "$cur")
                elif ((${#args[@]} == 1)); then
                        mapfile -t COMPREPLY < <(compgen -W "on off" -- "$cur")
                fi
                ;;
        rollback | releases | prune | history)
                ((${#args[@]} == 0)) && mapfile -t COMPREPLY < <(compgen -W "$(_bluegreenctl_apps)" -- "$cur")
                ;;
        esac
}

complete -F _bluegreenctl bluegreenctl

#!/usr/bin/env bash
# Removes what install.sh installed into a prefix: exactly the files listed
# in PREFIX/share/aegis/manifest.txt, the manifest, then each directory that
# install.sh created, if it is empty (a directory holding anything else
# stays).
#
#   ./uninstall.sh [--prefix DIR]
#
# The default prefix is the one this copy was installed into
# (PREFIX/share/aegis/uninstall.sh), otherwise the installer's default:
# /usr/local when run as root, ~/.local for anyone else.
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

# Refuses a manifest path that could leave the prefix.
check_path() {
    case "/$1/" in
        //* | */../*) echo "uninstall.sh: refusing manifest entry '$1'" >&2; exit 1 ;;
    esac
}

main() {
    local prefix="" here
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    while [ $# -gt 0 ]; do
        case "$1" in
            --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
            --prefix=*) prefix="${1#*=}"; shift ;;
            -h | --help) usage; exit 0 ;;
            *) echo "uninstall.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
        esac
    done
    if [ -z "$prefix" ]; then
        if [ -f "$here/manifest.txt" ] && [ "$(basename "$here")" = aegis ]; then
            prefix="$(cd "$here/../.." && pwd)"
        elif [ "$(id -u)" = 0 ]; then
            prefix=/usr/local
        else
            prefix="${HOME:?HOME is not set}/.local"
        fi
    fi
    prefix="$(realpath -m -- "$prefix")"
    local manifest="$prefix/share/aegis/manifest.txt"
    if [ ! -f "$manifest" ]; then
        echo "uninstall.sh: no libaegis install in $prefix ($manifest is missing)" >&2
        exit 1
    fi
    local lines=() dirs=() line i
    mapfile -t lines <"$manifest"
    for line in "${lines[@]}"; do check_path "${line#? }"; done
    echo "removing libaegis from $prefix"
    for line in "${lines[@]}"; do
        case "$line" in
            "f "*)
                if [ -e "$prefix/${line#f }" ] || [ -L "$prefix/${line#f }" ]; then
                    rm -f "$prefix/${line#f }"
                    echo "  remove  $prefix/${line#f }"
                fi
                ;;
            "d "*) dirs+=("${line#d }") ;;
        esac
    done
    rm -f "$manifest"
    echo "  remove  $manifest"
    # Deepest first: the manifest lists a parent before its children.
    for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
        local dir="$prefix/${dirs[i]}"
        [ "${dirs[i]}" = . ] && dir="$prefix"
        if rmdir "$dir" 2>/dev/null; then echo "  rmdir   $dir"
        elif [ -d "$dir" ]; then echo "  keep    $dir (not empty)"; fi
    done
    if [ "$(id -u)" = 0 ] && command -v ldconfig >/dev/null 2>&1 &&
        ldconfig -v -N -X 2>/dev/null | grep -q "^$prefix/lib:"; then
        echo "  run     ldconfig"
        ldconfig
    fi
}

# The whole script is read before it runs: it may delete itself (the copy
# in PREFIX/share/aegis).
main "$@"
exit

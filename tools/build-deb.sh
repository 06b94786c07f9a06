#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the Debian package (debian/) out of a clean copy of this tree and prints the path of the .deb.
#   tools/build-deb.sh [OUTDIR]        OUTDIR: where the packages go (default: build-deb/ in the tree)
# The copy holds the files git tracks or would track (no build directories, no debhelper leftovers),
# edits not yet committed included. The packages land in OUTDIR/<hash of that copy>/ with their
# .changes (for lintian) and build log; a second run on the same tree only prints the path again, and
# a run on a changed tree removes the packages of the old one. The build needs no network: as root it
# runs in a network namespace of its own, so that a step that tried to download would fail here.
# Exit status: 0 built (or already built), 1 the build failed (its log's tail on stderr).
set -euo pipefail

case ${1:-} in
-h | --help)
        sed -n '3,10s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
esac

src=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
out=$(mkdir -p "${1:-$src/build-deb}" && cd "${1:-$src/build-deb}" && pwd)

"$src/tools/install-deps.sh" >&2

# What "git archive" of the working tree would hold: tracked and new files, less the ignored ones,
# the deleted ones and what an in-tree dpkg-buildpackage leaves behind.
tree_files() {
        git -C "$src" ls-files -z --cached --others --exclude-standard |
                while IFS= read -r -d '' f; do
                        case $f in
                        debian/bluegreen/* | debian/.debhelper/* | debian/files | debian/*.substvars | \
                                debian/debhelper-build-stamp | debian/tmp/* | obj-*/*) continue ;;
                        esac
                        [ -e "$src/$f" ] || [ -L "$src/$f" ] || continue
                        printf '%s\0' "$f"
                done
}

# The copy as one tar stream: the same bytes for the same tree (symbolic links stored as links, as
# tests/generator holds some to /dev/zero; times and owners left out), so its hash names the tree.
tree_tar() {
        (cd "$src" && tree_files | LC_ALL=C sort -z |
                tar --null --no-recursion --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - -T -)
}

version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
hash=$(tree_tar | sha256sum | cut -c1-16)
dest=$out/$hash
deb=$dest/bluegreen_${version}_${arch}.deb

if [ -f "$deb" ] && [ -f "$dest/bluegreen_${version}_${arch}.changes" ]; then
        echo "$deb"
        exit 0
fi

tmp=$(mktemp -d /tmp/bluegreen-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bluegreen-$version"
tree_tar | tar -C "$tmp/bluegreen-$version" -xmf -

offline=()
if [ "$(id -u)" -eq 0 ] && unshare --net true 2>/dev/null; then
        offline=(unshare --net)
fi
start=$(date +%s)
if ! (cd "$tmp/bluegreen-$version" &&
        DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
                "${offline[@]}" dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
        tail -n 60 "$tmp/build.log" >&2
        echo "build-deb: dpkg-buildpackage failed (log above)" >&2
        exit 1
fi

# Only now replace what an older tree left: a failed build keeps the last good package.
for old in "$out"/*/; do
        old=${old%/}
        [[ ${old##*/} =~ ^[0-9a-f]{16}$ && ${old##*/} != "$hash" ]] || continue
        compgen -G "$old/bluegreen_*.changes" >/dev/null && rm -rf "$old"
done
rm -rf "$dest"
mkdir -p "$dest"
mv "$tmp"/*.deb "$tmp"/*.changes "$tmp"/*.buildinfo "$tmp/build.log" "$dest/"
echo "build-deb: built in $(($(date +%s) - start)) s" >&2
echo "$deb"

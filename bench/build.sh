# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the bench scripts, from the top of the source tree: builds what they measure first, as
# ./demo.sh does, so that each runs from a fresh clone with one command.
bench_build() { # BUILD-DIR
        bash tools/install-deps.sh
        [ -f "$1/build.ninja" ] || meson setup "$1" >/dev/null
        meson compile -C "$1" >/dev/null
}

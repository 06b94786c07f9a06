#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what bluegreen needs to build, and what its tests and demo run, from Debian's archive.
# Idempotent: when everything is there already it changes nothing and needs no network.
set -euo pipefail

packages=(
        # build
        gcc meson ninja-build pkg-config python3 scdoc
        clang libclang-rt-14-dev
        libsystemd-dev libconfig-dev libcurl4-openssl-dev libnftables-dev libacl1-dev
        # the Debian package (tools/build-deb.sh) and its check
        debhelper dpkg-dev fakeroot lintian
        # the real parts the tests and the demo run
        systemd systemd-container nginx nftables curl wrk iproute2 procps
        python3-fastapi python3-uvicorn gunicorn python3-requests openssl
        # the fleet test (contrib/ansible) and the metrics scrape
        ansible ansible-lint yamllint python3-apt python3-prometheus-client
)

# firewalld is downloaded, not installed: installed on the machine it would run in every test
# container (they boot over an overlay of /). tests/system/48-firewalld.sh installs these .debs with
# dpkg -i inside its own container. --download-only fetches firewalld and what of its dependencies this
# machine lacks, which is what the container, a copy of this machine, lacks too.
firewalld_debs=/var/cache/bluegreen/firewalld-debs

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
have_firewalld_debs() { compgen -G "$firewalld_debs/firewalld_*.deb" >/dev/null; }
if [ ${#missing[@]} -eq 0 ] && have_firewalld_debs; then
        exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
        if [ ${#missing[@]} -eq 0 ]; then
                # Only one system test needs them; it says so itself.
                echo "install-deps: firewalld's .debs are not in $firewalld_debs: run as root to download them" >&2
                exit 0
        fi
        echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
        exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
        echo "install-deps: installing ${missing[*]}"
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! have_firewalld_debs; then
        echo "install-deps: downloading firewalld's packages to $firewalld_debs"
        mkdir -p "$firewalld_debs/partial"
        apt-get install -y -qq --no-install-recommends --download-only \
                -o Dir::Cache::archives="$firewalld_debs" firewalld >/dev/null
fi

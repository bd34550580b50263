#!/usr/bin/env bash
# Installs the Debian packages that building and testing mimrest needs.
# Safe to run again: apt-get is only called when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang-format
  libpugixml-dev rapidjson-dev libssl-dev libidn-dev
  libcpprest-dev libboost-dev libboost-system-dev libexpat1-dev
  catch2 openssl curl
  libsqlite3-dev libpq-dev postgresql
  chromium chromium-driver python3-selenium
  prosody ejabberd python3-slixmpp
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# The tests run their own PostgreSQL, Prosody and ejabberd on free ports:
# the packages' system services must not start on install. Unless the
# machine has a policy of its own, one that refuses every start is in place
# while installing.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# cmake/install-deps.sh: no service starts while installing\nexit 101\n' |
    $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

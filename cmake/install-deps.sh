#!/usr/bin/env bash
# Installs the Debian packages that building and testing mimrest needs.
# Safe to run again: apt-get is only called when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libpugixml-dev rapidjson-dev libssl-dev libidn-dev
  libcpprest-dev libboost-dev libboost-system-dev libexpat1-dev
  catch2 openssl curl
  libsqlite3-dev libpq-dev postgresql
  chromium chromium-driver python3-selenium
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
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

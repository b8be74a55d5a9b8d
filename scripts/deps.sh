#!/usr/bin/env bash
# Install what building and testing libirllrec needs on Debian 12, if missing.
# Needs root (or sudo) only when something is missing.
set -eu
pkgs="build-essential cmake pkg-config libopenblas-dev libsodium-dev check doxygen abigail-tools python3-numpy gnuplot-nox time libdnnl-dev libopenmpi-dev openmpi-bin"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

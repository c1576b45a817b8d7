#!/usr/bin/env bash
# Installs what cryo's build and tests need beyond the .NET SDK, only where it is missing:
# gcc and make (test programs), node and npm (the Kaitai Struct cross-check of the format spec),
# python3 (an unmodified Python HTTP server is one of the programs the tests checkpoint),
# and the pinned npm packages of that cross-check.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v gcc  >/dev/null || missing+=(gcc libc6-dev)
command -v make >/dev/null || missing+=(make)
command -v node >/dev/null || missing+=(nodejs)
command -v npm  >/dev/null || missing+=(npm)
command -v python3 >/dev/null || missing+=(python3)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "cryo: missing ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "cryo: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

kaitai=tests/Format/Kaitai
if [[ -f $kaitai/package-lock.json && ! -d $kaitai/node_modules ]]; then
  npm ci --prefix "$kaitai" --no-audit --no-fund --loglevel=error
fi
make -s -C testprogs

#!/usr/bin/env bash
# Builds the NativeAOT `cryo` (no JIT: start-up in milliseconds and no compilation while a target
# is frozen) into artifacts/aot/. Needs clang, lld and zlib1g-dev, installed here if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v clang >/dev/null || missing+=(clang)
command -v ld.lld >/dev/null || missing+=(lld)
[[ -e /usr/include/zlib.h ]] || missing+=(zlib1g-dev)
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || { echo "publish-aot: missing ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2; exit 1; }
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
dotnet publish src/Cryo -c Release -r linux-x64 -p:PublishAot=true -o artifacts/aot --nologo -v q
dotnet publish src/Cryo.Dump -c Release -r linux-x64 -p:PublishAot=true -o artifacts/aot --nologo -v q
echo "artifacts/aot/cryo and artifacts/aot/cryo-dump are ready"

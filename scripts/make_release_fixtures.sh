#!/usr/bin/env bash
# Files written by a walloc release, kept so that later builds must decode
# them to identical output (tests/fixtures/release-0.1, checked by
# crates/walloc/tests/release_files.rs and the CLI tests).
# Usage: scripts/make_release_fixtures.sh PATH/TO/walloc
set -euo pipefail
walloc=${1:?the walloc binary of the release}
cd "$(dirname "$0")/../tests/fixtures/release-0.1"
# name input model extra-flags output-extension
cases=(
  "rgb-16x rgb.png rgb-16x - png"
  "rgb-16x-png rgb.png rgb-16x --coder=png png"
  "rgb-4x-neural rgb.png rgb-4x-neural - png"
  "gray-16x gray.png gray-16x - png"
  "stereo-5x stereo.wav stereo-5x - wav"
  "stereo-20x-neural stereo.wav stereo-20x-neural - wav"
  "three-stereo-5x three.wav stereo-5x - wav"
)
for line in "${cases[@]}"; do
  read -r name input model flags ext <<<"$line"
  extra=()
  [ "$flags" = - ] || extra=("$flags")
  "$walloc" encode "$input" -o "$name.wal" --model "$model" "${extra[@]}"
  "$walloc" decode "$name.wal" -o "$name.decoded.$ext"
done
ls -l

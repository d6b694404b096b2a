#!/usr/bin/env bash
# docs/LEARNING.md, the image case: Fashion-MNIST (Debian's
# dataset-fashion-mnist), a gray linear walloc model at J = 2 with 4 latent
# channels fitted on the training images only, its latent dataset, and one
# classifier (walloc-learn classify) trained on the latents (4×7×7 = 196
# values), on pixels downsampled to 14×14 (196) and on full 28×28 pixels
# (784). Figures go to $WORK/results.jsonl, one JSON line per run.
#
#   scripts/learning-fashion-mnist.sh            # release build (default)
#   PROFILE=debug scripts/learning-fashion-mnist.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-data/fashion-mnist}
. scripts/learning-common.sh

if [ ! -d "$WORK/png/test" ]; then
  deb dataset-fashion-mnist
  mkdir -p "$WORK/idx"
  for f in "$WORK"/deb/usr/share/datasets/fashion-mnist/*.gz; do
    gunzip -c "$f" > "$WORK/idx/$(basename "${f%.gz}")"
  done
  "$BIN/walloc-learn" fashion-mnist --idx "$WORK/idx" -o "$WORK/png"
fi

# The codec sees the training images only.
if [ ! -f "$WORK/fmnist-4.safetensors" ]; then
  rm -rf "$WORK/fit" && mkdir -p "$WORK/fit"
  find "$WORK/png/train" -name '*.png' -print0 | xargs -0 ln -sf -t "$WORK/fit"
  "$BIN/walloc" fit-linear --data "$WORK/fit" --channels 1 --levels 2 --latent-dim 4 \
    --crop 28 --crops-per-image 1 -o "$WORK/fmnist-4.safetensors"
fi
"$BIN/walloc" dataset --data "$WORK/png" --split folders --model "$WORK/fmnist-4.safetensors" -o "$WORK/latents"

: > "$WORK/results.jsonl"
"$BIN/walloc-learn" classify --latents "$WORK/latents" --epochs "$EPOCHS" | tee -a "$WORK/results.jsonl"
"$BIN/walloc-learn" classify --pixels "$WORK/png" --downscale 2 --epochs "$EPOCHS" | tee -a "$WORK/results.jsonl"
"$BIN/walloc-learn" classify --pixels "$WORK/png" --epochs "$EPOCHS" | tee -a "$WORK/results.jsonl"

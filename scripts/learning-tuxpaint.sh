#!/usr/bin/env bash
# docs/LEARNING.md, the audio case: spoken-language identification on the
# voice clips of Debian's tuxpaint-stamps-default (NAME_desc_LANG.ogg, the
# six languages with about 900 clips each). Clips are split by stamp, so no
# word of the test split is heard in training in any language. A mono
# linear walloc model (J = 6, LATENT_DIM latent channels) is fitted on the
# training clips only; one 1-D convolutional classifier (walloc-learn
# classify --net conv) is trained on the latents, on the clips resampled
# to as many values, and on the clips at 44.1 kHz, each cut or padded to
# SECONDS_KEPT (1 s). Figures go to $WORK/results-$LATENT_DIM.jsonl, one
# JSON line per run.
#
#   scripts/learning-tuxpaint.sh            # release build (default)
#   PROFILE=debug LATENT_DIM=8 scripts/learning-tuxpaint.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-data/tuxpaint}
. scripts/learning-common.sh
LEVELS=6
LATENT_DIM=${LATENT_DIM:-4}
SECONDS_KEPT=${SECONDS_KEPT:-1}
RATE=44100

if [ ! -d "$WORK/clips/test" ]; then
  deb tuxpaint-stamps-default
  rm -rf "$WORK/clips.part"
  (cd "$WORK/deb/usr/share/tuxpaint/stamps" && find . -name '*_desc_*.ogg' | sort) | while read -r clip; do
    clip=${clip#./}
    lang=${clip##*_desc_}; lang=${lang%.ogg}
    case "$lang" in fr|ro|ru|ca|bg|es) ;; *) continue ;; esac
    stamp=${clip%_desc_*}
    # The split by stamp: a stable hash of its path, 3 of 16 to test.
    case "$(printf %s "$stamp" | md5sum | cut -c1)" in 0|1|2) split=test ;; *) split=train ;; esac
    mkdir -p "$WORK/clips.part/$split/$lang"
    ln -s "$WORK/deb/usr/share/tuxpaint/stamps/$clip" "$WORK/clips.part/$split/$lang/${stamp//\//_}.ogg"
  done
  mv "$WORK/clips.part" "$WORK/clips"
fi

# The codec hears the training clips only (fit-linear-audio takes the mono ones).
MODEL="$WORK/voice-$LATENT_DIM.safetensors"
if [ ! -f "$MODEL" ]; then
  rm -rf "$WORK/fit" && mkdir -p "$WORK/fit"
  find "$WORK/clips/train" -name '*.ogg' | while read -r f; do
    ln -s "$(readlink "$f")" "$WORK/fit/$(basename "$(dirname "$f")")_$(basename "$f")"
  done
  "$BIN/walloc" fit-linear-audio --data "$WORK/fit" --channels 1 --levels $LEVELS --latent-dim "$LATENT_DIM" \
    --segment 16384 --segments-per-file 4 -o "$MODEL"
fi
"$BIN/walloc" dataset --data "$WORK/clips" --split folders --model "$MODEL" -o "$WORK/latents-$LATENT_DIM"

# Every input cut or padded to the same span of time.
POSITIONS=$(( RATE * SECONDS_KEPT >> LEVELS ))
REDUCED=$(( RATE * SECONDS_KEPT * LATENT_DIM >> LEVELS ))
: > "$WORK/results-$LATENT_DIM.jsonl"
run() { "$BIN/walloc-learn" classify --net conv --epochs "$EPOCHS" "$@" | tee -a "$WORK/results-$LATENT_DIM.jsonl"; }
run --latents "$WORK/latents-$LATENT_DIM" --length "$POSITIONS"
run --audio "$WORK/clips" --downscale $(( (1 << LEVELS) / LATENT_DIM )) --length "$REDUCED"
run --audio "$WORK/clips" --length $(( RATE * SECONDS_KEPT ))

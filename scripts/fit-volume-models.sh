#!/usr/bin/env bash
# The shipped volume models (models/volume-*.safetensors): linear walloc
# fitted on two real T1 MRI templates of Debian's mricron-data
# (ch2better.nii.gz, 301×370×316 uint8 at 0.5 mm; inia19-t1-brain.nii.gz,
# 168×206×128 float32), and measured on scans never used to fit them: the
# head CT of Debian's invesalius-examples (Cranium.inv3: matrix.dat, raw
# int16 HU, 108×256×256, made a .npy here), mricron's ch2.nii.gz (181×217×
# 181 uint8; the same subject as ch2better at another resolution) and
# nibabel's anatomical.nii (33×41×25 big-endian int16, another subject).
# They hold no step decoders: fitted on the two templates, those lost up
# to 0.26 dB on the held-out scans at some qualities (docs/BENCHMARKS.md).
#
#   scripts/fit-volume-models.sh            # release build (default)
#   PROFILE=debug scripts/fit-volume-models.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-data/volumes}
PROFILE=${PROFILE:-release}
if [ "$PROFILE" = release ]; then cargo build --release -p walloc-cli; else cargo build -p walloc-cli; fi
BIN="target/$PROFILE"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

unpack() { # DEB-PACKAGE FOLDER
  if [ ! -d "$WORK/$2" ]; then
    (cd "$WORK" && apt-get download "$1" && dpkg-deb -x "$1"_*.deb "$2")
  fi
}
unpack mricron-data mri
unpack invesalius-examples inv
if [ ! -f "$WORK/nibabel/anatomical.nii" ]; then
  (cd "$WORK" && pip download --no-deps -d . nibabel==5.4.2 &&
    mkdir -p nibabel && unzip -j -o -q nibabel-5.4.2-py3-none-any.whl 'nibabel/tests/data/anatomical.nii' -d nibabel)
fi

# Cranium.inv3 is a tar.gz whose matrix.dat holds the CT as raw int16 (HU).
npy_of_raw() { # RAW DTYPE-DESCR SHAPE-TUPLE OUT
  local dict="{'descr': '$2', 'fortran_order': False, 'shape': ($3), }"
  local len=$(( (10 + ${#dict} + 1 + 63) / 64 * 64 - 10 ))
  { printf '\x93NUMPY\x01\x00'; printf "\\x$(printf %02x $((len % 256)))\\x$(printf %02x $((len / 256)))";
    printf '%-*s\n' $((len - 1)) "$dict"; cat "$1"; } > "$4"
}
mkdir -p "$WORK/train" "$WORK/val"
if [ ! -f "$WORK/val/cranium-ct.npy" ]; then
  rm -rf "$WORK/cranium" && mkdir -p "$WORK/cranium"
  tar xzf "$WORK/inv/usr/share/doc/invesalius-examples/examples/Cranium.inv3" -C "$WORK/cranium"
  npy_of_raw "$(find "$WORK/cranium" -name matrix.dat)" '<i2' '108, 256, 256' "$WORK/val/cranium-ct.npy"
fi
T="$WORK/mri/usr/share/mricron/templates"
ln -sf "$T/ch2better.nii.gz" "$T/inia19-t1-brain.nii.gz" "$WORK/train/"
ln -sf "$T/ch2.nii.gz" "$WORK/nibabel/anatomical.nii" "$WORK/val/"

fit() { # NAME LEVELS LATENT-DIM BRICK
  "$BIN/walloc" fit-linear-volume --data "$WORK/train" --levels "$2" --latent-dim "$3" \
    --brick "$4" --bricks-per-volume 512 --native-decoder-only --val "$WORK/val" --val-name "held-out CT and MRI" \
    --name "$1" -o "models/$1.safetensors"
}
fit volume-4x 2 16 32
fit volume-16x 2 4 32
fit volume-64x 3 8 64

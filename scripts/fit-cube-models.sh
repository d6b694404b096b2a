#!/usr/bin/env bash
# The shipped spectral-cube models (models/landsat-*.safetensors, linear
# walloc with 2-D packets over the 6 bands as channels; models/cube-16x,
# 2-D packets over each band on its own), fitted on the northern half of
# the one real multispectral scene packaged here (Debian r-cran-stars:
# L7_ETMs.tif, Landsat 7 ETM+, 6 bands of 352×349 uint8,
# UTM 25S) and measured on its southern half, which the fit never sees.
# The halves are cut with tifffile (PyPI) in a throwaway venv; the
# southern one is written band-sequential (planar), to exercise that path.
#
#   scripts/fit-cube-models.sh            # release build (default)
#   PROFILE=debug scripts/fit-cube-models.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-data/cubes}
PROFILE=${PROFILE:-release}
if [ "$PROFILE" = release ]; then cargo build --release -p walloc-cli; else cargo build -p walloc-cli; fi
BIN="target/$PROFILE"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

if [ ! -f "$WORK/L7_ETMs.tif" ]; then
  (cd "$WORK" && apt-get download r-cran-stars && dpkg-deb -x r-cran-stars_*.deb stars &&
    cp stars/usr/lib/R/site-library/stars/tif/L7_ETMs.tif .)
fi
if [ ! -f "$WORK/south/l7-south.tif" ]; then
  python3 -m venv "$WORK/venv" && "$WORK/venv/bin/pip" install -q tifffile numpy
  mkdir -p "$WORK/north" "$WORK/south"
  "$WORK/venv/bin/python" - "$WORK" <<'PY'
import sys, tifffile
work = sys.argv[1]
scene = tifffile.imread(f"{work}/L7_ETMs.tif")  # (352, 349, 6)
tifffile.imwrite(f"{work}/north/l7-north.tif", scene[:176], photometric="minisblack",
                 planarconfig="contig", compression="zlib")
tifffile.imwrite(f"{work}/south/l7-south.tif", scene[176:].transpose(2, 0, 1),
                 photometric="minisblack", planarconfig="separate", compression="zlib")
PY
fi

fit() { # NAME BANDS LEVELS LATENT-DIM BRICK
  "$BIN/walloc" fit-linear-volume --data "$WORK/north" --dims 2 --bands "$2" --levels "$3" --latent-dim "$4" \
    --brick "$5" --bricks-per-volume 1024 --val "$WORK/south" --val-name "Landsat 7 ETM+ scene, southern half" \
    --name "$1" -o "models/$1.safetensors"
}
# The 6 bands as channels: models for ETM+ scenes.
fit landsat-8x channels 2 12 32
fit landsat-16x channels 2 6 32
# One band at a time (bands as depth, 2-D packets): a cube of any band count.
fit cube-16x depth 3 4 40

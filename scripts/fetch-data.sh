#!/usr/bin/env bash
# Fetch real photographs from the package registries (see docs/DATA.md) into
# data/ (git-ignored). Training photos: Debian wallpaper packages (JPEG;
# `walloc fit-linear --downscale 2` removes their blocking artifacts).
# Validation photos, never used for fitting: scikit-image's lossless PNGs.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p data/train data/val data/.cache
cd data/.cache
if ! ls ./*.deb >/dev/null 2>&1; then
  apt-get download lomiri-wallpapers-16.04 mate-backgrounds palapeli-data 2>/dev/null \
    || { apt-get update -qq && apt-get download lomiri-wallpapers-16.04 mate-backgrounds palapeli-data; }
fi
for deb in ./*.deb; do dpkg -x "$deb" root; done
find root/usr/share/backgrounds root/usr/share/palapeli -iname '*.jpg' -size +100k \
  -exec cp -n {} ../train/ \;
if ! ls ./scikit_image-*.whl >/dev/null 2>&1; then
  python3 -m pip download --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d . scikit-image==0.25.2 >/dev/null
fi
python3 - <<'PY'
import glob, zipfile
whl = glob.glob("scikit_image-*.whl")[0]
names = ["astronaut", "coffee", "chelsea", "motorcycle_left", "motorcycle_right",
         "rocket", "hubble_deep_field", "immunohistochemistry", "camera", "moon", "brick", "grass", "gravel"]
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        stem = n.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if n.startswith("skimage/data/") and stem in names and n.endswith((".png", ".jpg")):
            open("../val/" + n.rsplit("/", 1)[-1], "wb").write(z.read(n))
PY
echo "train: $(ls ../train | wc -l) photos in data/train; val: $(ls ../val | wc -l) images in data/val"

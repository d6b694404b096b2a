#!/usr/bin/env bash
# Fetch real photographs from the package registries (see docs/DATA.md) into
# data/ (git-ignored). Training photos: Debian wallpaper packages (JPEG;
# `walloc fit-linear --downscale 2` removes their blocking artifacts).
# Validation photos, never used for fitting: scikit-image's lossless PNGs.
# `scripts/fetch-data.sh --music` also fetches music, `--photos` a second
# held-out set of natural photographs (both below).
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

# Music (with --music): Wesnoth's orchestral soundtrack, 41 Vorbis tracks at
# 44.1 kHz stereo (GPL-2+), about 150 MB. Every eighth track (in name order)
# goes to data/music/val, never used for training.
if [ "${1:-}" = "--music" ]; then
  mkdir -p ../music/train ../music/val
  if ! ls ./wesnoth-1.16-music_*.deb >/dev/null 2>&1; then
    apt-get download wesnoth-1.16-music 2>/dev/null \
      || { apt-get update -qq && apt-get download wesnoth-1.16-music; }
  fi
  dpkg -x ./wesnoth-1.16-music_*.deb music-root
  i=0
  for track in $(find music-root -name '*.ogg' | sort); do
    if [ $((i % 8)) -eq 7 ]; then split=val; else split=train; fi
    cp -n "$track" "../music/$split/"
    i=$((i + 1))
  done
  echo "music: $(ls ../music/train | wc -l) tracks in data/music/train; $(ls ../music/val | wc -l) in data/music/val"
fi

# Held-out photographs (with --photos): natural photos that no model has
# seen, for rate–distortion on the kind of picture a camera takes (data/val
# is half textures and scientific images). Twelve photographs among Plasma's
# wallpapers (plasma-workspace-wallpapers, CC-BY-SA/LGPL per file), two of
# Lomiri's 20.04 wallpapers, scikit-learn's two sample photos; all JPEG, so
# downscaled (Lanczos) to about a megapixel to remove their blocking, and
# written as PNG to data/photos. Needs Pillow (installed into a venv under
# data/.cache when python3 lacks it).
if [ "${1:-}" = "--photos" ]; then
  # Their own cache folder: the training photos above come from every .deb
  # in this one, and none of these may reach data/train.
  mkdir -p ../photos photos && cd photos
  for package in plasma-workspace-wallpapers lomiri-wallpapers-20.04; do
    if ! ls ./"$package"_*.deb >/dev/null 2>&1; then
      apt-get download "$package" 2>/dev/null || { apt-get update -qq && apt-get download "$package"; }
    fi
    dpkg -x ./"$package"_*.deb photos-root
  done
  if ! ls ./scikit_learn-*.whl >/dev/null 2>&1; then
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.11 \
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d . scikit-learn==1.7.2 >/dev/null
  fi
  python=python3
  if ! python3 -c "import PIL" 2>/dev/null; then
    [ -x venv/bin/python ] || { python3 -m venv venv && venv/bin/python -m pip install --quiet pillow; }
    python=venv/bin/python
  fi
  "$python" - <<'PY'
import glob, io, zipfile
from PIL import Image

plasma = ["BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf",
          "Grey", "Kite", "OneStandsOut", "Path", "Volna", "summer_1am"]
sources = []
for name in plasma:
    images = glob.glob(f"photos-root/usr/share/wallpapers/{name}/contents/images/*.jpg")
    largest = max(images, key=lambda f: [int(v) for v in f.rsplit("/", 1)[-1][:-4].split("x")])
    sources.append((name, Image.open(largest)))
for name in ["Infinite-Sea_by_Aury88", "Kleiber_by_Lukas_Baubkus"]:
    sources.append((name.split("_by_")[0], Image.open(f"photos-root/usr/share/backgrounds/{name}.jpg")))
whl = glob.glob("scikit_learn-*.whl")[0]
with zipfile.ZipFile(whl) as z:
    for name in ["china", "flower"]:
        sources.append((name, Image.open(io.BytesIO(z.read(f"sklearn/datasets/images/{name}.jpg")))))
for name, image in sources:
    # The smallest power-of-two factor (at least 2) that brings it to 1.3 MP or less.
    factor = 2
    while image.width * image.height / factor**2 > 1.3e6:
        factor *= 2
    size = (image.width // factor, image.height // factor)
    image.convert("RGB" if image.mode != "L" else "L").resize(size, Image.LANCZOS).save(f"../../photos/{name}.png")
PY
  echo "photos: $(ls ../../photos | wc -l) held-out photographs in data/photos"
fi

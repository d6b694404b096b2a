#!/usr/bin/env python3
"""Rate-distortion of cwebp on a folder's color images (mean bpp, mean PSNR
on 8-bit RGB), for comparison with `walloc models` figures measured on the
same images. Needs cwebp/dwebp, numpy and Pillow.

    python3 scripts/rd_webp.py data/val
"""
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

folder = sys.argv[1] if len(sys.argv) > 1 else "data/val"
files = [f for f in sorted(glob.glob(os.path.join(folder, "*"))) if Image.open(f).mode == "RGB"]
tmp = tempfile.mkdtemp()
webp, png = os.path.join(tmp, "v.webp"), os.path.join(tmp, "v.png")
for q in [1, 5, 10, 20, 40, 60, 80]:
    bpp, psnr = [], []
    for f in files:
        ref = np.asarray(Image.open(f).convert("RGB")).astype(float)
        subprocess.run(["cwebp", "-quiet", "-q", str(q), f, "-o", webp], check=True, stderr=subprocess.DEVNULL)
        subprocess.run(["dwebp", "-quiet", webp, "-o", png], check=True)
        out = np.asarray(Image.open(png).convert("RGB")).astype(float)
        bpp.append(os.path.getsize(webp) * 8 / (ref.shape[0] * ref.shape[1]))
        psnr.append(10 * np.log10(255**2 / np.mean((ref - out) ** 2)))
    print(f"cwebp -q {q:3d}: {np.mean(bpp):.4f} bpp, {np.mean(psnr):.2f} dB ({len(files)} images)")

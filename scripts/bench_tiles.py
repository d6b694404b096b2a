#!/usr/bin/env python3
"""Tiled neural decoding: its seam error against whole-image decoding, and
a 3840x2160 decode in bounded memory, with `walloc decode --tile`.

Needs data/bench/codec2d_768.{pth,json} (scripts/bench_decode.py: the
RGB_16x architecture, Nd 768, seeded random weights) and
data/bench/frame1080.png (scripts/make_bench_frame.py). Prints, for a
1024x1024 crop, PSNR and largest difference of tiled against whole
decoding, and for each run the wall time and peak memory (GNU time).

    python3 scripts/bench_tiles.py [--skip-4k]
"""
import os
import re
import subprocess
import sys

import numpy as np
from PIL import Image

WALLOC = os.environ.get("WALLOC", "target/release/walloc")
B = "data/bench/"


def run(*args):
    out = subprocess.run(["/usr/bin/time", "-v", WALLOC, *args], capture_output=True, text=True, check=True)
    seconds = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", out.stderr)
    h, m, s = seconds.groups()
    wall = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1)) / 1024
    return wall, rss


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


model = B + "codec2d_768.safetensors"
if not os.path.exists(model):
    subprocess.run([WALLOC, "import", "--config", B + "codec2d_768.json", "--checkpoint", B + "codec2d_768.pth",
                    "-o", model], check=True)
frame = Image.open(B + "frame1080.png").convert("RGB")
frame.crop((448, 28, 1472, 1052)).save(B + "tile_1024.png")
subprocess.run([WALLOC, "encode", B + "tile_1024.png", "-o", B + "tile_1024.wal", "--model", model], check=True)
results = {}
for tile in (0, 128, 64, 32):
    out = B + f"tile_1024_t{tile}.png"
    wall, rss = run("decode", B + "tile_1024.wal", "-o", out, "--model", model, "--tile", str(tile))
    results[tile] = np.asarray(Image.open(out).convert("RGB"))
    line = f"1024x1024 --tile {tile:>2}: {wall:6.1f} s, peak {rss:6.0f} MiB"
    if tile:
        diff = np.abs(results[tile].astype(int) - results[0].astype(int))
        line += f", vs whole: PSNR {psnr(results[tile], results[0]):.2f} dB, max diff {diff.max()}, " \
                f"{np.mean(diff > 2) * 100:.2f}% of samples off by more than 2"
    print(line, flush=True)

if "--skip-4k" not in sys.argv:
    frame.resize((3840, 2160), Image.LANCZOS).save(B + "frame4k.png")
    subprocess.run([WALLOC, "encode", B + "frame4k.png", "-o", B + "frame4k.wal", "--model", model], check=True)
    for tile in (96, 320):
        wall, rss = run("decode", B + "frame4k.wal", "-o", B + f"frame4k_t{tile}.png", "--model", model,
                        "--tile", str(tile))
        print(f"3840x2160 --tile {tile} ({'whole' if tile == 320 else 'tiled'}): {wall:.1f} s "
              f"({3840 * 2160 / 1e6 / wall:.3f} MP/s), peak {rss:.0f} MiB", flush=True)
    a, b = (np.asarray(Image.open(B + f"frame4k_t{t}.png").convert("RGB")) for t in (96, 320))
    print(f"3840x2160 tiled vs whole: PSNR {psnr(a, b):.2f} dB")

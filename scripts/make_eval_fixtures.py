#!/usr/bin/env python3
"""Make tests/fixtures/eval.json: the oracle figures walloc-eval's metrics
and BD-rate must reproduce.

- SSIM and MS-SSIM from pytorch_msssim 1.0.0 (data_range 255) and PSNR, on a
  200×170 crop of assets/chelsea.png (x 100.., y 60..) and on that crop with
  a fixed pattern added: sample i (row-major, interleaved) gets
  ((i * 37) % 21) - 10, clamped to 0..255; RGB and its first channel.
- BD-rate from the `bjontegaard` package 1.3.0, method "pchip", on curves
  drawn from a seeded generator (uneven spacing, curvature of both signs).

Set-up: pip install torch pytorch_msssim==1.0.0 bjontegaard==1.3.0 pillow numpy scipy;
run from the repository root.
"""
import json

import bjontegaard as bd
import numpy as np
import torch
from PIL import Image
from pytorch_msssim import ms_ssim, ssim

crop = np.asarray(Image.open("assets/chelsea.png").convert("RGB"))[60:230, 100:300].copy()
index = np.arange(crop.size).reshape(crop.shape)
noisy = np.clip(crop.astype(np.int64) + (index * 37) % 21 - 10, 0, 255).astype(np.uint8)


def figures(a, b):
    x = torch.from_numpy(a.astype(np.float32)).permute(2, 0, 1)[None]
    y = torch.from_numpy(b.astype(np.float32)).permute(2, 0, 1)[None]
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return {
        "psnr": 10 * np.log10(255.0**2 / mse),
        "ssim": ssim(x.double(), y.double(), data_range=255).item(),
        "ms_ssim": ms_ssim(x.double(), y.double(), data_range=255).item(),
    }


out = {
    "image": {"x": 100, "y": 60, "width": 200, "height": 170, "multiplier": 37, "modulus": 21, "offset": 10},
    "rgb": figures(crop, noisy),
    "gray": figures(crop[..., :1], noisy[..., :1]),
    "bd_rate": [],
}
rng = np.random.default_rng(11)
case = 0
while len(out["bd_rate"]) < 6:
    case += 1
    n_anchor, n_test = rng.integers(2, 7), rng.integers(2, 7)
    anchor_q = np.sort(rng.uniform(24, 40, n_anchor))
    test_q = np.sort(rng.uniform(24, 40, n_test))
    # log-rate roughly linear in quality with wiggles
    anchor_r = 10 ** (0.09 * (anchor_q - 30) + rng.normal(0, 0.05, n_anchor).cumsum() * (case % 2))
    test_r = 10 ** (0.08 * (test_q - 30) - 0.1 + rng.normal(0, 0.05, n_test).cumsum() * (case % 3 == 0))
    order_a, order_t = np.argsort(anchor_q), np.argsort(test_q)
    value = bd.bd_rate(anchor_r, anchor_q, test_r, test_q, method="pchip", require_matching_points=False, min_overlap=0)
    if not np.isfinite(value):  # the curves do not overlap
        continue
    out["bd_rate"].append({
        "anchor": [[float(r), float(q)] for r, q in zip(anchor_r[order_a], anchor_q[order_a])],
        "test": [[float(r), float(q)] for r, q in zip(test_r[order_t], test_q[order_t])],
        "percent": float(value),
    })
with open("tests/fixtures/eval.json", "w") as f:
    json.dump(out, f, indent=1)
print(json.dumps({k: out[k] for k in ("rgb", "gray")}), [c["percent"] for c in out["bd_rate"]])

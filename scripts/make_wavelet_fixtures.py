#!/usr/bin/env python3
"""Make tests/fixtures/wavelet.safetensors from the reference packages.

The oracle is the reference itself: walloc 1.2.1's own wavelet_analysis /
wavelet_synthesis (pytorch_wavelets underneath) for 1D and 2D, tft's
WPT3D / IWPT3D for 3D, and PyWavelets for a single-level cross-check.

Set-up (outside the repository):
    python3 -m venv ref && ref/bin/pip install torch pytorch_wavelets==1.3.0 \
        PyWavelets einops pillow diffusers torchvision tft walloc==1.2.1 \
        safetensors "setuptools<81"
    ref/bin/python scripts/make_wavelet_fixtures.py
"""
import json
import sys

import numpy as np
import pywt
import torch
from safetensors.numpy import save_file
from tft.wavelet import DWT3DForward, DWT3DInverse, IWPT3D, WPT3D
from walloc.walloc import Codec1D, LinearCodec2D

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/wavelet.safetensors"
rng = np.random.default_rng(20251124)
tensors, cases = {}, []


def add(name, dim, levels, x, fwd, inv):
    tensors[f"{name}/input"] = np.ascontiguousarray(x, dtype=np.float32)
    tensors[f"{name}/forward"] = np.ascontiguousarray(fwd, dtype=np.float32)
    tensors[f"{name}/inverse"] = np.ascontiguousarray(inv, dtype=np.float32)
    cases.append({"name": name, "dim": dim, "levels": levels})


with torch.no_grad():
    for c, n, j in [(2, 64, 3), (1, 20, 2), (1, 13, 2), (3, 7, 1), (1, 4, 1), (2, 256, 6)]:
        codec = Codec1D(c, j, None, 4, 2, 8, True, False).eval()
        x = torch.from_numpy(rng.standard_normal((1, c, n)).astype(np.float32))
        X = codec.wavelet_analysis(x, J=j)
        add(f"wpt1d_c{c}_n{n}_j{j}", 1, j, x[0].numpy(), X[0].numpy(),
            codec.wavelet_synthesis(X, J=j)[0].numpy())

    for c, h, w, j in [(3, 32, 48, 3), (1, 24, 40, 2), (2, 6, 10, 1), (1, 15, 9, 1), (3, 16, 16, 4)]:
        codec = LinearCodec2D(c, j, 4, 8).eval()
        x = torch.from_numpy(rng.uniform(-0.5, 0.5, (1, c, h, w)).astype(np.float32))
        X = codec.wavelet_analysis(x, J=j)
        add(f"wpt2d_c{c}_{h}x{w}_j{j}", 2, j, x[0].numpy(), X[0].numpy(),
            codec.wavelet_synthesis(X, J=j)[0].numpy())

    for c, d, h, w, j in [(1, 16, 16, 16, 1), (2, 10, 12, 20, 1), (1, 20, 20, 20, 2), (3, 12, 10, 14, 1)]:
        wpt = WPT3D(wt=DWT3DForward(wave="bior4.4"), J=j)
        iwpt = IWPT3D(iwt=DWT3DInverse(wave="bior4.4"), J=j)
        x = torch.from_numpy(rng.standard_normal((1, c, d, h, w)).astype(np.float32))
        X = wpt(x)
        add(f"wpt3d_c{c}_{d}x{h}x{w}_j{j}", 3, j, x[0].numpy(), X[0].numpy(), iwpt(X)[0].numpy())

# PyWavelets, one level, for lengths where the single fold equals true periodization.
for n in (10, 64):
    x = rng.standard_normal(n)
    ca, cd = pywt.dwt(x, "bior4.4", mode="periodization")
    add(f"pywt1d_n{n}", 1, 1, x[None], np.stack([ca, cd]),
        pywt.idwt(ca, cd, "bior4.4", mode="periodization")[None])

meta = {"cases": json.dumps(cases), "source": "scripts/make_wavelet_fixtures.py",
        "packages": json.dumps({"walloc": "1.2.1", "tft": "0.13.0", "torch": torch.__version__,
                                "pywt": pywt.__version__})}
save_file(tensors, OUT, metadata=meta)
print(f"wrote {OUT}: {len(cases)} cases")

#!/usr/bin/env python3
"""Decode throughput of the reference Codec2D in PyTorch (CPU), for
comparison with `walloc decode` on the same architecture and weights.

Builds the RGB_16x architecture (channels 3, J 3, Nd 768, latent_dim 12,
lightweight encoder) with seeded random weights, saves it as a reference
checkpoint (data/bench/codec2d_768.pth + .json) for `walloc import`, writes
a test image (data/bench/decode_256.png), and times the reference's decoder
+ inverse wavelet packets on its latent, on 1 thread and on all threads.

    python3 scripts/bench_decode.py   # then the walloc commands in docs/BENCHMARKS.md
"""
import json
import os
import time

import numpy as np
import torch
from PIL import Image
from walloc import walloc

os.makedirs("data/bench", exist_ok=True)
torch.manual_seed(0)
config = dict(channels=3, J=3, Ne=None, Nd=768, latent_dim=12, latent_bits=8, lightweight_encode=True)
codec = walloc.Codec2D(**config).eval()
torch.save({"model_state_dict": codec.state_dict()}, "data/bench/codec2d_768.pth")
json.dump(config, open("data/bench/codec2d_768.json", "w"))
img = Image.open("data/bench/frame1080.png").convert("RGB").crop((800, 400, 1056, 656))
img.save("data/bench/decode_256.png")
x = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)[None].float() / 255 - 0.5
with torch.no_grad():
    latent = codec.encoder(codec.wavelet_analysis(x, J=3))
    for threads in (1, os.cpu_count()):
        torch.set_num_threads(threads)
        codec.wavelet_synthesis(codec.decoder(latent), J=3)  # warm-up
        times = []
        for _ in range(3):
            t = time.perf_counter()
            codec.wavelet_synthesis(codec.decoder(latent), J=3)
            times.append(time.perf_counter() - t)
        best = min(times)
        print(f"torch {torch.__version__}, {threads} thread(s): {best:.3f} s per 256x256 decode, "
              f"{256 * 256 / 1e6 / best:.4f} MP/s")

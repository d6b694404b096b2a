#!/usr/bin/env python3
"""Training throughput of the reference LinearCodec2D (PyPI walloc 1.2.1) on
the CPU, for comparison with `walloc train` (docs/BENCHMARKS.md): RGB,
J = 3, 12 latent channels, 8-bit latents, batch 8 of 128² crops, AdamW at
1e-3, the coefficient-domain MSE (the model's `tf_loss`) through the noisy
bottleneck. Crops are cut from data/train beforehand (as walloc's worker
thread does them beside the optimiser); the wavelet transform is part of the
model's forward pass, as in the reference.

    python3 scripts/bench_train.py [STEPS]
"""
import glob
import sys
import time

import numpy as np
import torch
from PIL import Image
from walloc.walloc import LinearCodec2D

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 300
rng = np.random.default_rng(0)
images = [np.asarray(Image.open(p).convert("RGB").reduce(2)) for p in sorted(glob.glob("data/train/*.jpg"))]
def batch():
    crops = []
    for _ in range(8):
        im = images[rng.integers(len(images))]
        y, x = rng.integers(im.shape[0] - 128), rng.integers(im.shape[1] - 128)
        crops.append(im[y:y + 128, x:x + 128])
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255 - 0.5
batches = [batch() for _ in range(steps)]
for threads in (1, 2):
    torch.set_num_threads(threads)
    model = LinearCodec2D(channels=3, J=3, latent_dim=12, latent_bits=8).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    start = time.perf_counter()
    for x in batches:
        _, _, loss = model(x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    print(f"PyTorch {torch.__version__}, {threads} thread(s): {steps} steps in {seconds:.2f} s, {steps * 8 / seconds:.1f} crops/s")

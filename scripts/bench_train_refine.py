#!/usr/bin/env python3
"""Training throughput of walloc's `refine` architecture written in PyTorch,
for comparison with `walloc train` (docs/BENCHMARKS.md), as
configs/train-neural-rgb-16x.json trains it: RGB, J = 3, 12 latent channels,
8-bit latents; the reference's LinearCodec2D encoder and bottleneck
(ToUniform, rounding, ToNormal), frozen; its 1×1 decoder plus a refiner
(3×3 conv 12→96, six residual blocks `x + conv(silu(conv(silu(x))))`,
SiLU, 3×3 conv 96→192) trained with AdamW at 1e-3 on the coefficient MSE;
batch 4 of 256² crops. The wavelet analysis (the reference's) is done when
the batches are made, outside the timed loop, as walloc's worker thread does
it beside the optimiser.

    python3 scripts/bench_train_refine.py [STEPS]
"""
import glob
import sys
import time

import numpy as np
import torch
from PIL import Image
from torch import nn
from walloc.walloc import LinearCodec2D

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
batch_size, side, hidden, blocks = 4, 256, 96, 6


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(hidden, hidden, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden, hidden, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(nn.functional.silu(self.conv1(nn.functional.silu(x))))


class Refiner(nn.Module):
    def __init__(self, latent, output):
        super().__init__()
        self.conv_in = nn.Conv2d(latent, hidden, 3, padding=1)
        self.blocks = nn.Sequential(*[Block() for _ in range(blocks)])
        self.conv_out = nn.Conv2d(hidden, output, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, z):
        return self.conv_out(nn.functional.silu(self.blocks(self.conv_in(z))))


rng = np.random.default_rng(0)
images = [np.asarray(Image.open(p).convert("RGB").reduce(2)) for p in sorted(glob.glob("data/train/*.jpg"))]
codec = LinearCodec2D(channels=3, J=3, latent_dim=12, latent_bits=8).eval()
for p in codec.encoder.parameters():
    p.requires_grad_(False)


def batch():
    crops = []
    for _ in range(batch_size):
        im = images[rng.integers(len(images))]
        y, x = rng.integers(im.shape[0] - side), rng.integers(im.shape[1] - side)
        crops.append(im[y:y + side, x:x + side])
    x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255 - 0.5
    with torch.no_grad():
        return codec.wavelet_analysis(x, J=3)


batches = [batch() for _ in range(steps)]
for threads in (1, 2):
    torch.set_num_threads(threads)
    decoder = nn.Conv2d(12, 192, 1)
    refiner = Refiner(12, 192)
    params = list(decoder.parameters()) + list(refiner.parameters())
    optimizer = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.0)
    start = time.perf_counter()
    for X in batches:
        with torch.no_grad():
            z = codec.decoder[0](codec.encoder(X))  # frozen encoder, rounding, ToNormal
        loss = nn.functional.mse_loss(decoder(z) + refiner(z), X)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    rate = steps * batch_size / seconds
    print(f"PyTorch {torch.__version__}, {threads} thread(s): {steps} steps in {seconds:.2f} s, {rate:.1f} crops/s")

#!/usr/bin/env python3
"""Time the job of `cargo bench --bench packet` in PyWavelets on this machine:
a 2D wavelet packet transform, J=3, bior4.4, periodization, forward and
inverse, of a 1920x1080 RGB frame (each channel), single thread.

    python3 -m pip install PyWavelets numpy && python3 scripts/bench_pywavelets.py
"""
import time

import numpy as np
import pywt

rng = np.random.default_rng(0)
frame = rng.uniform(-0.5, 0.5, (3, 1080, 1920)).astype(np.float32)


def forward(x):
    return [pywt.WaveletPacket2D(c, "bior4.4", mode="periodization", maxlevel=3) for c in x]


def transform(x):
    packets = forward(x)
    for p in packets:  # compute every node of the full packet tree
        p.get_level(3, order="natural")
    return packets


def inverse(packets):
    return [p.reconstruct(update=False) for p in packets]


def best_of(fn, repeats=5):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1000, float(np.median(times)) * 1000


packets = transform(frame)
fwd = best_of(lambda: transform(frame))
inv = best_of(lambda: inverse(transform(frame)))
back = np.stack(inverse(packets))
print(f"pywt {pywt.__version__}: forward best {fwd[0]:.1f} ms median {fwd[1]:.1f} ms")
print(f"forward+inverse best {inv[0]:.1f} ms median {inv[1]:.1f} ms; max error {np.abs(back - frame).max():.2e}")

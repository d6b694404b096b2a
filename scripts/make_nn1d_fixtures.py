#!/usr/bin/env python3
"""Make tests/fixtures/nn_codec1d.safetensors (and the same weights as a
checkpoint, tests/fixtures/nn_codec1d.pth): a small random reference
Codec1D (PyPI walloc 1.2.1, diffusers' Oobleck decoder, post filter).

The model: 2 channels (stereo), J 3, lightweight encoder (its 1x1 conv has
padding=1, so the latent is 2 samples longer), Nd 24, latent_dim 6, 8 bits,
post filter on; every parameter is perturbed. Input: 128 samples of
seeded noise. Stored: the state_dict under its reference names (prefix
"model."), the config, and the input, integer latent, decoder output (wavelet
domain) and the post-filtered reconstruction (before the clamp).

Set-up: see scripts/make_wavelet_fixtures.py (diffusers is needed too).
"""
import json

import numpy as np
import torch
from safetensors.numpy import save_file
from walloc import walloc

torch.manual_seed(5)
config = dict(channels=2, J=3, Ne=None, Nd=24, latent_dim=6, latent_bits=8, lightweight_encode=True, post_filter=True)
codec = walloc.Codec1D(**config).eval()
with torch.no_grad():
    for name, p in codec.named_parameters():
        p.add_(0.05 * torch.randn_like(p))
    x = 0.2 * torch.randn(1, 2, 128)
    X = codec.wavelet_analysis(x, J=config["J"])
    latent = codec.encoder(X)
    X_hat = codec.decoder(latent)
    y = codec.post(codec.wavelet_synthesis(X_hat, J=config["J"]))

tensors = {f"model.{k}": v.detach().numpy() for k, v in codec.state_dict().items()}
tensors.update({
    "io.input": x[0].numpy(),
    "io.latent": latent[0].numpy(),
    "io.decoded_coefficients": X_hat[0].numpy(),
    "io.output": y[0].numpy(),
})
save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, "tests/fixtures/nn_codec1d.safetensors",
          metadata={"config": json.dumps(config), "source": "scripts/make_nn1d_fixtures.py",
                    "walloc": "1.2.1", "torch": torch.__version__})
# The same weights as a reference checkpoint (as the published ones: a
# torch.save'd dict with the weights under "model_state_dict").
torch.save({"model_state_dict": codec.state_dict(), "config": config}, "tests/fixtures/nn_codec1d.pth")
print("wrote tests/fixtures/nn_codec1d.safetensors", sum(v.size for v in tensors.values()), "values")

#!/usr/bin/env python3
"""Make tests/fixtures/nn_codec2d.safetensors: a small random reference
Codec2D (PyPI walloc 1.2.1, diffusers' KL decoder) and its behaviour.

The model: channels 3, J 2, lightweight encoder, Nd 32 (GroupNorm needs
multiples of 32), latent_dim 12, 8 bits; every parameter is perturbed so
that norms and biases matter. Input: a 32x32 crop of assets/chelsea.png.
Stored: the full state_dict under the reference's names (prefix
"model."), the config as metadata, and the input, integer latent, decoder
output (wavelet domain, before synthesis) and clamped reconstruction.

Set-up: see scripts/make_wavelet_fixtures.py (diffusers is needed too).
"""
import json

import numpy as np
import torch
from PIL import Image
from safetensors.numpy import save_file
from walloc import walloc

torch.manual_seed(3)
config = dict(channels=3, J=2, Ne=None, Nd=32, latent_dim=12, latent_bits=8, lightweight_encode=True)
codec = walloc.Codec2D(**config).eval()
with torch.no_grad():
    for name, p in codec.named_parameters():
        p.add_(0.05 * torch.randn_like(p))
    crop = np.asarray(Image.open("assets/chelsea.png").convert("RGB"))[120:152, 200:232]
    x = torch.from_numpy(crop.copy()).permute(2, 0, 1)[None].float() / 255 - 0.5
    X = codec.wavelet_analysis(x, J=config["J"])
    latent = codec.encoder(X)
    X_hat = codec.decoder(latent)
    x_hat = codec.clamp(codec.wavelet_synthesis(X_hat, J=config["J"]))

tensors = {f"model.{k}": v.detach().numpy() for k, v in codec.state_dict().items()}
tensors.update({
    "io.image": crop.astype(np.uint8),
    "io.latent": latent[0].numpy(),
    "io.decoded_coefficients": X_hat[0].numpy(),
    "io.output": (x_hat[0] + 0.5).numpy(),
})
save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, "tests/fixtures/nn_codec2d.safetensors",
          metadata={"config": json.dumps(config), "source": "scripts/make_nn_fixtures.py",
                    "walloc": "1.2.1", "torch": torch.__version__})
# The same weights as a reference checkpoint, weights under "model_state_dict".
torch.save({"model_state_dict": codec.state_dict(), "config": config}, "tests/fixtures/nn_codec2d.pth")
print("wrote tests/fixtures/nn_codec2d.safetensors", sum(v.size for v in tensors.values()), "values")

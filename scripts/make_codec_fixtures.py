#!/usr/bin/env python3
"""Make tests/fixtures/codec.safetensors from the reference package walloc 1.2.1.

- bottleneck: ToUniform + Round (eval) on random z, ToNormal on every value;
- packing: latent_to_pil's tiled layout for C=3 and C=1;
- linear: our shipped models/rgb-16x.safetensors loaded into the reference's
  own LinearCodec2D (the tensor names are its state_dict), run on a crop of
  assets/chelsea.png padded with walloc.pad: its integer latent and output.

Set-up: see scripts/make_wavelet_fixtures.py; run from the repository root.
"""
import hashlib

import numpy as np
import torch
from PIL import Image
from safetensors.numpy import save_file
from safetensors.torch import load_file
from walloc import walloc

rng = np.random.default_rng(7)
t = {}
with torch.no_grad():
    bits = 8
    half = 2 ** (bits - 1)
    latent_max = half - 1 + 0.5 - 1e-3
    scale = (half - 1) / 1.85
    to_uniform, to_normal, rounding = walloc.ToUniform(scale, latent_max), walloc.ToNormal(scale, latent_max), walloc.Round().eval()
    z = torch.from_numpy((rng.standard_normal(4096) * 80).astype(np.float32))
    t["bottleneck/z"] = z.numpy()
    t["bottleneck/latent"] = rounding(to_uniform(z)).numpy()
    values = torch.arange(-half, half, dtype=torch.float32)
    t["bottleneck/values"] = values.numpy()
    t["bottleneck/to_normal"] = to_normal(values).numpy()

    for name, k, c in [("packing_rgb", 12, 3), ("packing_gray", 16, 1)]:
        latent = torch.from_numpy(rng.integers(-128, 128, (1, k, 5, 7)).astype(np.float32))
        img = walloc.latent_to_pil(latent, bits, c)[0]
        t[f"{name}/latent"] = latent[0].numpy()
        t[f"{name}/pixels"] = np.asarray(img).astype(np.uint8).reshape(img.size[1], img.size[0], c)

    state = {k: v for k, v in load_file("models/rgb-16x.safetensors").items() if not k.startswith("entropy.")}
    codec = walloc.LinearCodec2D(channels=3, J=3, latent_dim=12, latent_bits=8).eval()
    # The reference also stores its filter buffers (wt.*, iwt.*); ours are the same constants.
    missing, unexpected = codec.load_state_dict(state, strict=False)
    assert not unexpected and all(k.startswith(("wt.", "iwt.")) for k in missing), (missing, unexpected)
    crop = np.asarray(Image.open("assets/chelsea.png").convert("RGB"))[100:130, 200:245]
    x = torch.from_numpy(crop.copy()).permute(2, 0, 1)[None].float() / 255 - 0.5
    xp = walloc.pad(x, p=8)
    latent = codec.encoder(codec.wavelet_analysis(xp, J=3))
    y = codec.wavelet_synthesis(codec.decoder(latent), J=3)
    y = walloc.crop(codec.clamp(y), (x.shape[2], x.shape[3]))
    t["linear/image"] = crop.astype(np.uint8)
    t["linear/latent"] = latent[0].numpy()
    t["linear/output"] = (y[0] + 0.5).permute(1, 2, 0).numpy()

save_file({k: np.ascontiguousarray(v) for k, v in t.items()}, "tests/fixtures/codec.safetensors",
          metadata={"source": "scripts/make_codec_fixtures.py", "walloc": "1.2.1",
                    "torch": torch.__version__, "model": "models/rgb-16x.safetensors",
                    "model_sha256": hashlib.sha256(open("models/rgb-16x.safetensors", "rb").read()).hexdigest()})
print("wrote tests/fixtures/codec.safetensors")

#!/usr/bin/env python3
"""Make the fixtures of the `walloc import` end-to-end tests: reference
checkpoints as a user holds them (.pth + JSON config) and what the
reference does with them (PyPI walloc 1.2.1 + diffusers).

- import_full2d.{pth,json}: a random Codec2D with the *full* KL encoder
  (J 2, Ne 32, Nd 32, latent_dim 12), weights stored as float16 to keep the
  fixture small (the reference below runs on the same rounded weights).
  import_full2d_io.safetensors: a 32x32 crop of assets/chelsea.png, the
  reference's integer latent and its 8-bit reconstruction (rounded).
- nn_codec1d.json: the config of tests/fixtures/nn_codec1d.pth (made by
  make_nn1d_fixtures.py). stereo.wav: 3000 frames of 16-bit stereo at
  22050 Hz. codec1d_io.safetensors: the reference's integer latent of it
  (normalized as the reference does: minus the mean, over max|x| + 1e-8,
  halved; zero-padded to 2^16) and its reconstruction at the original
  level, as floats.

- import_linear.{pth,json} and import_residual.{pth,json}: a random
  LinearCodec2D (J 2, latent_dim 12) and ResidualCodec2D (J 2, 3 stages of
  latent_dim 4); import_linear_io.safetensors: for each (prefix "linear."
  and "residual."), the reference's integer latent of the chelsea crop
  (stages' channels in order), the decoded wavelet coefficients and the
  8-bit reconstruction (rounded).

- stereo.flac, stereo.ogg: stereo.wav through `flac` and `oggenc -q 2`
  (Debian packages flac, vorbis-tools).

Set-up: see scripts/make_wavelet_fixtures.py (diffusers is needed too).
"""
import json
import wave

import numpy as np
import torch
from PIL import Image
from safetensors.numpy import save_file
from walloc import walloc

F = "tests/fixtures/"

# --- Codec2D with the full encoder -------------------------------------
torch.manual_seed(11)
config = dict(channels=3, J=2, Ne=32, Nd=32, latent_dim=12, latent_bits=8, lightweight_encode=False)
codec = walloc.Codec2D(**config).eval()
with torch.no_grad():
    for name, p in codec.named_parameters():
        p.add_(0.05 * torch.randn_like(p))
        p.copy_(p.half().float())
    crop = np.asarray(Image.open("assets/chelsea.png").convert("RGB"))[100:132, 180:212]
    x = torch.from_numpy(crop.copy()).permute(2, 0, 1)[None].float() / 255 - 0.5
    latent = codec.encoder(codec.wavelet_analysis(x, J=config["J"]))
    x_hat = codec.clamp(codec.wavelet_synthesis(codec.decoder(latent), J=config["J"]))
state = {k: (v.half() if v.is_floating_point() else v) for k, v in codec.state_dict().items()}
torch.save({"model_state_dict": state}, F + "import_full2d.pth")
json.dump(config, open(F + "import_full2d.json", "w"))
save_file({
    "image": np.ascontiguousarray(crop.astype(np.uint8)),
    "latent": latent[0].numpy().astype(np.int8),
    "output": np.ascontiguousarray(((x_hat[0] + 0.5) * 255).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()),
}, F + "import_full2d_io.safetensors")

# --- Codec1D on a WAV file ----------------------------------------------
config1d = dict(channels=2, J=3, Ne=None, Nd=24, latent_dim=6, latent_bits=8, lightweight_encode=True, post_filter=True)
json.dump(config1d, open(F + "nn_codec1d.json", "w"))
codec1d = walloc.Codec1D(**config1d).eval()
codec1d.load_state_dict(torch.load(F + "nn_codec1d.pth")["model_state_dict"])
rng = np.random.default_rng(7)
frames, rate = 3000, 22050
t = np.arange(frames) / rate
left = 0.4 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(frames) + 0.1
right = 0.3 * np.sin(2 * np.pi * 660 * t + 1) + 0.05 * rng.standard_normal(frames)
pcm = np.clip(np.round(np.stack([left, right], 1) * 32768), -32768, 32767).astype(np.int16)
with wave.open(F + "stereo.wav", "wb") as w:
    w.setnchannels(2)
    w.setsampwidth(2)
    w.setframerate(rate)
    w.writeframes(pcm.tobytes())
x = pcm.T.astype(np.float32) / np.float32(32768)
mean = np.float32(x.astype(np.float64).mean())
x = x - mean
scale = np.float32(np.abs(x).max() + np.float32(1e-8))
x = x / scale / np.float32(2)
padded = np.zeros((2, 1 << 16), np.float32)
padded[:, :frames] = x
with torch.no_grad():
    xt = torch.from_numpy(padded)[None]
    latent1d = codec1d.encoder(codec1d.wavelet_analysis(xt, J=config1d["J"]))
    y = codec1d.post(codec1d.wavelet_synthesis(codec1d.decoder(latent1d), J=config1d["J"]))
    y = codec1d.clamp(y)[0, :, :frames].numpy()
save_file({
    "latent": latent1d[0].numpy().astype(np.int8),
    "output": np.ascontiguousarray(y * 2 * scale + mean),
}, F + "codec1d_io.safetensors")
# --- LinearCodec2D and ResidualCodec2D -----------------------------------
linear_io = {}
x = torch.from_numpy(crop.copy()).permute(2, 0, 1)[None].float() / 255 - 0.5
for stem, cls, cfg in [
    ("linear", walloc.LinearCodec2D, dict(channels=3, J=2, latent_dim=12, latent_bits=8)),
    ("residual", walloc.ResidualCodec2D, dict(channels=3, J=2, latent_dim=4, latent_bits=8, num_stages=3)),
]:
    torch.manual_seed(13)
    codec = cls(**cfg).eval()
    with torch.no_grad():
        for name, p in codec.named_parameters():
            p.add_(0.05 * torch.randn_like(p))
        if stem == "linear":
            X = codec.wavelet_analysis(x, J=2)
            latent = codec.encoder(X)
            X_hat = codec.decoder(latent)
            out = codec.clamp(codec.wavelet_synthesis(X_hat, J=2))
        else:
            out, latent = codec.rae_encode(x)
            parts = torch.split(latent, cfg["latent_dim"], dim=1)
            X_hat = sum(codec.decoders[i](codec.to_normal(z)) for i, z in enumerate(parts))
    torch.save({"model_state_dict": codec.state_dict()}, F + f"import_{stem}.pth")
    json.dump(cfg, open(F + f"import_{stem}.json", "w"))
    linear_io[f"{stem}.latent"] = latent[0].numpy().astype(np.int8)
    linear_io[f"{stem}.coefficients"] = X_hat[0].numpy()
    linear_io[f"{stem}.output"] = np.ascontiguousarray(
        ((out[0] + 0.5) * 255).round().clamp(0, 255).byte().permute(1, 2, 0).numpy())
save_file(linear_io, F + "import_linear_io.safetensors")
# The same sound as FLAC (lossless) and Ogg Vorbis, for the readers.
import subprocess
subprocess.run(["flac", "-f", "-s", "-o", F + "stereo.flac", F + "stereo.wav"], check=True)
subprocess.run(["oggenc", "-Q", "-q", "2", "-o", F + "stereo.ogg", F + "stereo.wav"], check=True)
print("wrote import fixtures")

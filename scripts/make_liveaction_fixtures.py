#!/usr/bin/env python3
"""Make the LiVeAction parity fixtures from PyPI livecodec 0.0.1.

Small random `AutoCodecND` models (lightweight encoder, EfficientViT
decoder) for dim 1, 2 and 3, and what the reference does with them:

- liveaction_CASE.pth for each case of CASES: the checkpoint as livecodec saves it, a
  `torch.save` dict with `config` (a pickled SimpleNamespace of the
  AutoCodecND arguments) and `state_dict`;
- liveaction_CASE.json: the same config as JSON (what `walloc import`
  reads beside a .pth);
- liveaction_CASE.safetensors: the state_dict as float32 tensors
  under the reference's names (what walloc-codec's tests load);
- liveaction_io.safetensors: for each case, `CASE/input` (the signal in
  the reference's range), `CASE/companded` (LaplaceCompand of the encoder's
  output, before rounding), `CASE/latent` (its round-half-even: the
  integers the reference stores) and `CASE/decoded` (the decoder's output
  on those integers); and `2d_u8/*`, the same for an 8-bit RGB image
  (`2d_u8/image`, its pixels; the model's input is `x/127.5 − 1`), which
  the CLI tests code from a PNG.

Every parameter the reference initializes to a constant (GroupNorm's
affine pair, LaplaceCompand's σ) is drawn at random, so a test that
ignored one of them would fail.

Set-up (outside the repository):
    python3 -m venv ref && ref/bin/pip install torch einops timm torchvision \
        pillow tft livecodec==0.0.1 pillow_jpls pytorch_wavelets PyWavelets \
        safetensors "setuptools<81"
    ref/bin/python scripts/make_liveaction_fixtures.py
"""
import json
from types import SimpleNamespace

import numpy as np
import torch
from safetensors.numpy import save_file
from livecodec.codec import AutoCodecND

F = "tests/fixtures/"

# name: AutoCodecND arguments, input shape (channels, axes...)
CASES = {
    "1d": (dict(dim=1, input_channels=2, J=4, latent_dim=8, encoder_depth=2,
                encoder_kernel_size=3, decoder_depth=1, decoder_kernel_size=3,
                lightweight_encode=True, lightweight_decode=False), (2, 256)),
    "2d": (dict(dim=2, input_channels=3, J=2, latent_dim=12, encoder_depth=2,
                encoder_kernel_size=3, decoder_depth=1, decoder_kernel_size=3,
                lightweight_encode=True, lightweight_decode=False), (3, 24, 40)),
    "3d": (dict(dim=3, input_channels=1, J=2, latent_dim=8, encoder_depth=1,
                encoder_kernel_size=3, decoder_depth=1, decoder_kernel_size=3,
                lightweight_encode=True, lightweight_decode=False), (1, 24, 24, 24)),
    # The other halves of AutoCodecND: an EfficientViT encoder with a
    # factorized decoder (kernel 5), and a two-channel volume (tft's 3-D
    # channel order) with factorized blocks on both sides.
    "2d_swapped": (dict(dim=2, input_channels=3, J=2, latent_dim=12, encoder_depth=1,
                        encoder_kernel_size=3, decoder_depth=2, decoder_kernel_size=5,
                        lightweight_encode=False, lightweight_decode=True), (3, 16, 24)),
    "3d_two_channels": (dict(dim=3, input_channels=2, J=1, latent_dim=4, encoder_depth=1,
                             encoder_kernel_size=1, decoder_depth=1, decoder_kernel_size=3,
                             lightweight_encode=True, lightweight_decode=True), (2, 16, 16, 16)),
    # Deeper and wider than the cases above: five levels of a mono line
    # with three encoder blocks of kernel 5, and EfficientViT on both
    # sides of an image model.
    "1d_deep": (dict(dim=1, input_channels=1, J=5, latent_dim=16, encoder_depth=3,
                     encoder_kernel_size=5, decoder_depth=2, decoder_kernel_size=5,
                     lightweight_encode=True, lightweight_decode=False), (1, 512)),
    "2d_efficientvit": (dict(dim=2, input_channels=3, J=2, latent_dim=6, encoder_depth=2,
                             encoder_kernel_size=3, decoder_depth=2, decoder_kernel_size=3,
                             lightweight_encode=False, lightweight_decode=False), (3, 24, 24)),
}


def randomize(model, generator):
    """Draw the parameters the reference starts at constants."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("sigma"):
                p.copy_(2.0 + 10.0 * torch.rand(p.shape, generator=generator))
            elif ".gn" in name or "norm" in name:
                if name.endswith("weight"):
                    p.copy_(0.5 + torch.rand(p.shape, generator=generator))
                else:
                    p.copy_(0.2 * torch.randn(p.shape, generator=generator))


def main():
    torch.manual_seed(20261204)
    generator = torch.Generator().manual_seed(16)
    io, models = {}, {}
    for name, (config, shape) in CASES.items():
        model = AutoCodecND(**config).eval()
        randomize(model, generator)
        models[name] = model
        x = (torch.rand((1,) + shape, generator=generator) * 2 - 1).float()
        with torch.no_grad():
            z = model.encode(x)
            companded = model.quantize.compand(z)
            latent = companded.round()
            decoded = model.decode(latent)
        io[f"{name}/input"] = x[0].numpy()
        io[f"{name}/companded"] = companded[0].numpy()
        io[f"{name}/latent"] = latent[0].numpy()
        io[f"{name}/decoded"] = decoded[0].numpy()
        state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
        save_file({k: v.numpy() for k, v in state.items()}, F + f"liveaction_{name}.safetensors")
        torch.save({"config": SimpleNamespace(**config), "state_dict": state}, F + f"liveaction_{name}.pth")
        with open(F + f"liveaction_{name}.json", "w") as f:
            json.dump(config, f, indent=2)
            f.write("\n")
        margin = (companded - companded.floor() - 0.5).abs().min().item()
        print(name, tuple(latent.shape[1:]), "latent range", latent.min().item(), latent.max().item(),
              "closest to a rounding tie", round(margin, 6))
    pixels = torch.randint(0, 256, (1, 3, 24, 40), generator=torch.Generator().manual_seed(99)).float()
    with torch.no_grad():
        companded = models["2d"].quantize.compand(models["2d"].encode(pixels / 127.5 - 1))
        latent = companded.round()
        decoded = models["2d"].decode(latent)
    margin = (companded - companded.floor() - 0.5).abs().min().item()
    print("2d_u8 closest to a rounding tie", round(margin, 6))
    io["2d_u8/image"] = pixels[0].numpy()
    io["2d_u8/latent"] = latent[0].numpy()
    io["2d_u8/decoded"] = decoded[0].numpy()
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in io.items()}, F + "liveaction_io.safetensors")


if __name__ == "__main__":
    main()

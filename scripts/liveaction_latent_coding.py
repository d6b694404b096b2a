#!/usr/bin/env python3
"""Bits per latent value of a LiVeAction model's latents: walloc's own
container (`walloc encode`, adaptive and rANS coders, header and CRCs
included) against the reference's packing (livecodec's `latent_to_pil`
tiling, saved as JPEG-LS with pillow_jpls, and as deflated TIFF).

The latents are the reference's own: the walloc model file holds the
livecodec state_dict under its own names, so it loads into livecodec's
`AutoCodecND`, which encodes each image (cropped to a multiple of 2^J, as
saved for walloc too). walloc's encoder gives the same integers
(crates/walloc-codec/tests/liveaction.rs).

Usage (the reference venv of scripts/make_liveaction_fixtures.py):
    ref/bin/python scripts/liveaction_latent_coding.py MODEL.safetensors \
        target/release/walloc data/val
"""
import io
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pillow_jpls  # noqa: F401  (registers the JPEG-LS plugin)
import torch
from PIL import Image
from safetensors import safe_open
from livecodec.codec import AutoCodecND, latent_to_pil


def load(model_path):
    with safe_open(model_path, "pt") as f:
        config = json.loads(f.metadata()["walloc.config"])
        state = {k: f.get_tensor(k) for k in f.keys() if not k.startswith("entropy.")}
    codec = AutoCodecND(**config["liveaction"]).eval()
    missing, unexpected = codec.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    assert all(k.split(".")[0] in ("wt", "wpt", "iwt", "iwpt") for k in missing), missing
    return codec, config


def main():
    model_path, walloc, folder = sys.argv[1:4]
    codec, config = load(model_path)
    block = 2 ** config["levels"]
    rows, totals = [], {"values": 0, "jpeg-ls": 0, "tiff": 0, "adaptive": 0, "rans": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(os.listdir(folder)):
            rgb = Image.open(os.path.join(folder, name)).convert("RGB")
            w, h = rgb.width // block * block, rgb.height // block * block
            rgb = rgb.crop((0, 0, w, h))
            png = os.path.join(tmp, name + ".png")
            rgb.save(png)
            x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 127.5 - 1
            with torch.no_grad():
                latent = codec.quantize.compand(codec.encode(x)).round()
            jls, tif = io.BytesIO(), io.BytesIO()
            tiled = latent_to_pil(latent, 8, 3)[0]
            tiled.save(jls, format="JPEG-LS")
            tiled.save(tif, format="TIFF", compression="tiff_adobe_deflate")
            row = {"image": name, "values": latent.numel(), "jpeg-ls": len(jls.getvalue()), "tiff": len(tif.getvalue())}
            for coder in ("adaptive", "rans"):
                out = os.path.join(tmp, f"{name}.{coder}.wal")
                subprocess.run([walloc, "encode", png, "-m", model_path, "--coder", coder, "-o", out], check=True)
                row[coder] = os.path.getsize(out)
            rows.append(row)
            for key in totals:
                totals[key] += row[key]
    for row in rows:
        print(json.dumps(row))
    values = totals["values"]
    print("bits per latent value over", len(rows), "images:",
          ", ".join(f"{k} {8 * totals[k] / values:.4f}" for k in ("adaptive", "rans", "jpeg-ls", "tiff")))


if __name__ == "__main__":
    main()

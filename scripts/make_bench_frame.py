#!/usr/bin/env python3
"""Make data/bench/frame1080.png, the 1920x1080 benchmark frame: the largest
photo fetched by scripts/fetch-data.sh (mate-backgrounds' Elephants,
5640x3172), downscaled 2x (Lanczos) and centre-cropped. Needs Pillow."""
import os

from PIL import Image

SRC = "data/.cache/root/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg"
os.makedirs("data/bench", exist_ok=True)
im = Image.open(SRC).convert("RGB")
im = im.resize((im.width // 2, im.height // 2), Image.LANCZOS)
left, top = (im.width - 1920) // 2, (im.height - 1080) // 2
im.crop((left, top, left + 1920, top + 1080)).save("data/bench/frame1080.png")
print("wrote data/bench/frame1080.png")

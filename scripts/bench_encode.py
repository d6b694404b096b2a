#!/usr/bin/env python3
"""Encode throughput of `walloc encode` against `cwebp` at the same bits per
pixel, whole path (PNG file in, compressed file out), in one run.

For each image and walloc model: walloc's median time over --repeats runs on
one thread (RAYON_NUM_THREADS=1) and on all threads; then the cwebp quality
whose bpp is closest to walloc's, timed the same way (single-threaded, and
with -mt). Needs only Python's standard library, cwebp and a release build:

    cargo build --release && apt-get install webp
    python3 scripts/bench_encode.py IMAGE.png [...] [--models rgb-16x,rgb-4x]
"""
import argparse
import os
import statistics
import struct
import subprocess
import tempfile
import time

WALLOC = os.environ.get("WALLOC", os.path.join(os.path.dirname(__file__), "..", "target", "release", "walloc"))


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: PNG inputs only (size is read from the header)")
    return struct.unpack(">II", head[16:24])


def timed(cmd, repeats, env=None):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("images", nargs="+")
    ap.add_argument("--models", default="rgb-16x,rgb-4x")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    one = dict(os.environ, RAYON_NUM_THREADS="1")
    out = tempfile.mkdtemp()
    wal, webp = os.path.join(out, "x.wal"), os.path.join(out, "x.webp")
    print(f"{'image':<22} {'model':<9} {'bpp':>6} {'MP/s 1T':>8} {'cwebp q':>7} {'bpp':>6} {'MP/s 1T':>8} "
          f"{'ratio 1T':>8} {'MP/s mt':>8} {'cwebp mt':>8} {'ratio mt':>8}")
    for image in args.images:
        w, h = png_size(image)
        mp = w * h / 1e6
        for model in args.models.split(","):
            cmd = [WALLOC, "encode", image, "-o", wal, "--model", model]
            t1 = timed(cmd, args.repeats, one)
            tmt = timed(cmd, args.repeats)
            bpp = os.path.getsize(wal) * 8 / (w * h)

            def webp_bpp(q):
                subprocess.run(["cwebp", "-quiet", "-q", str(q), image, "-o", webp], check=True, stderr=subprocess.DEVNULL)
                return os.path.getsize(webp) * 8 / (w * h)

            q = min(range(0, 101, 2), key=lambda q: abs(webp_bpp(q) - bpp))
            wbpp = webp_bpp(q)
            c1 = timed(["cwebp", "-quiet", "-q", str(q), image, "-o", webp], args.repeats)
            cmt = timed(["cwebp", "-quiet", "-mt", "-q", str(q), image, "-o", webp], args.repeats)
            print(f"{os.path.basename(image):<22} {model:<9} {bpp:6.3f} {mp / t1:8.2f} {q:7d} {wbpp:6.3f} "
                  f"{mp / c1:8.2f} {c1 / t1:7.2f}x {mp / tmt:8.2f} {mp / cmt:8.2f} {cmt / tmt:7.2f}x")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes centre crops of training-set (external) photos for studies that must be told apart from the held-out
set: `python3 scripts/make-train-crops.py OUT [SIDE] [EVERY] [FIRST]` takes every EVERY-th photo of data/external
(sorted names; default 4) from the FIRST-th on (default 0; 1, 2 and 3 give further disjoint sets) and writes its
SIDE x SIDE centre crop (default 384) to OUT as PNG."""
import os
import sys

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXTERNAL = os.path.join(ROOT, "data", "external")


def main():
    out = sys.argv[1]
    side = int(sys.argv[2]) if len(sys.argv) > 2 else 384
    every = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    os.makedirs(out, exist_ok=True)
    names = sorted(f for f in os.listdir(EXTERNAL) if f.endswith(".png"))[first::every]
    for name in names:
        image = Image.open(os.path.join(EXTERNAL, name)).convert("RGB")
        w, h = image.size
        left, top = (w - side) // 2, (h - side) // 2
        image.crop((left, top, left + side, top + side)).save(os.path.join(out, name))
    print(f"{len(names)} crops of {side}x{side} in {out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Scores mixes of outputs kept by `onsr-video eval --keep-outputs DIR` (a study tool, not part of the product).

For every photo that has all three kept outputs, the Y-PSNR against the kept HR photo (as `Quality.psnrY`: RGB clamped
to [0, 1] and rounded to 8 bits, BT.601 luma, `--shave` pixels off each border) of

    (1 - c) * MAIN + c * SECOND       for each share c of --shares,

and its gain over REFERENCE: mean, worst and how many photos end below the reference, per share.

    python3 scripts/study-kept-mix.py DIR --main 'onsr_two-phase__fast-x4-g___400_steps__blend_0.5' \
        --second 'pretrained__fast-x4-cond_' --reference 'pretrained__fast-x4-g_' \
        --shave 4 --shares 0 0.25 0.5 0.75 1

Labels are the file names' parts after `NAME--` without `.f32` (eval writes them with every character other than a
letter, digit, '.' or '-' replaced by '_'). `--json FILE` writes the per-photo numbers.
"""
import argparse
import json
import os
import sys

import numpy as np


def read(path):
    with open(path, "rb") as f:
        height, width = np.frombuffer(f.read(8), dtype="<i4")
        pixels = np.frombuffer(f.read(), dtype="<f4")
    return pixels.reshape(3, height, width)


def luma(planes):
    q = np.round(np.clip(planes.astype(np.float64), 0, 1) * 255) / 255
    return 16 + 65.481 * q[0] + 128.553 * q[1] + 24.966 * q[2]


def psnr_y(a, b, shave):
    ya, yb = luma(a), luma(b)
    if shave:
        ya, yb = ya[shave:-shave, shave:-shave], yb[shave:-shave, shave:-shave]
    mse = np.mean((ya - yb) ** 2)
    return 100.0 if mse == 0 else 10 * np.log10(255 * 255 / mse)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    parser.add_argument("--main", required=True)
    parser.add_argument("--second", required=True)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--shave", type=int, required=True)
    parser.add_argument("--shares", type=float, nargs="+", default=[0, 0.25, 0.5, 0.75, 1])
    parser.add_argument("--json")
    args = parser.parse_args()

    names = sorted({f.split("--")[0] for f in os.listdir(args.folder) if f.endswith("--hr.f32")})
    rows = {}
    for name in names:
        paths = [os.path.join(args.folder, f"{name}--{label}.f32") for label in ("hr", args.main, args.second, args.reference)]
        if not all(os.path.exists(p) for p in paths):
            continue
        hr, main_out, second, reference = (read(p) for p in paths)
        base = psnr_y(reference, hr, args.shave)
        rows[name] = {"reference": base,
                      "gains": [psnr_y((1 - c) * main_out + c * second, hr, args.shave) - base for c in args.shares]}
    if not rows:
        sys.exit("study-kept-mix: no photo has all of hr, main, second and reference kept in " + args.folder)
    print(f"{len(rows)} photos from {args.folder}; gain over {args.reference} (dB)")
    print("| share | mean | worst | below |")
    print("| --- | --- | --- | --- |")
    for i, c in enumerate(args.shares):
        gains = [r["gains"][i] for r in rows.values()]
        print(f"| {c:g} | {np.mean(gains):+.3f} | {min(gains):+.2f} | {sum(g < 0 for g in gains)} |")
    for name, r in rows.items():
        print(name, " ".join(f"{g:+.2f}" for g in r["gains"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"shares": args.shares, "photos": rows}, f, indent=1)


if __name__ == "__main__":
    main()

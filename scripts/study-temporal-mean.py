#!/usr/bin/env python3
"""How much could averaging over frames add to the real model's output on coded video? (docs/onsr-study.md, "Cleaning
coded input before Gr", the temporal bound). bench-codec's clips, kernels and codings (`ONSR_BENCH_CLIPSET=tuning`,
`ONSR_BENCH_VARIANTS` as there); each coded clip is upscaled by TM_MODEL (`--method pretrained`) and its Y-PSNR
compared with that of the same output where pixels are replaced by their mean over the clip's frames:
  oracle T: where the ground truth itself is still (its standard deviation over the frames below T, luma in [0, 1]),
            so the mean cannot smear motion: a bound on what any temporal fusion of these outputs adds there;
  output T: the same, the still pixels told by the output's own deviation (no ground truth);
  neighbours: each frame averaged with the previous and next where they differ by less than 0.02 (no motion model).
Usage: ONSR_BENCH_VARIANTS="h264 crf28" TM_MODEL=fast-x2-real python3 scripts/study-temporal-mean.py"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402

import bench_codec as bc  # noqa: E402
from bench_video import luma  # noqa: E402

THRESHOLDS = (0.005, 0.01, 0.02)


def psnr(a, b, shave=2):
    return float(10 * np.log10(1 / np.mean((a[:, shave:-shave, shave:-shave] - b[:, shave:-shave, shave:-shave]) ** 2)))


def neighbour_mean(frames, agree=0.02):
    fused = frames.copy()
    for t in range(len(frames)):
        total, count = frames[t].copy(), np.ones_like(frames[t])
        for u in (t - 1, t + 1):
            if 0 <= u < len(frames):
                close = np.abs(frames[u] - frames[t]) < agree
                total += np.where(close, frames[u], 0)
                count += close
        fused[t] = total / count
    return fused


def main():
    model = os.environ.get("TM_MODEL", "fast-x2-real")
    tuning = os.environ.get("ONSR_BENCH_CLIPSET") == "tuning"
    with tempfile.TemporaryDirectory() as work:
        for index, (name, package, inner) in enumerate(bc.TUNING_CLIPS if tuning else bc.CLIPS):
            truth = bc.ground_truth(bc.clip_source(name, package, inner), 12)
            lr, _ = bc.degrade(truth, index, tuning)
            for variant, arguments, noise in bc.VARIANTS:
                coded = os.path.join(work, "coded.mkv")
                bc.code(lr, coded, arguments, noise, seed=index)
                output, _, _ = bc.upscale(coded, ["--method", "pretrained", "--model", model], work)
                true_y, out_y = luma(truth), luma(output)
                base = psnr(out_y, true_y)
                mean = out_y.mean(axis=0, keepdims=True)
                cells = [f"{name:12s} {variant:20s} {model} {base:.3f}"]
                for label, spread in (("oracle", true_y.std(axis=0, keepdims=True)), ("output", out_y.std(axis=0, keepdims=True))):
                    for threshold in THRESHOLDS:
                        still = spread < threshold
                        gain = psnr(np.where(still, mean, out_y), true_y) - base
                        cells.append(f"{label} {threshold}: {gain:+.3f} ({still.mean() * 100:.0f}% still)")
                cells.append(f"neighbours: {psnr(neighbour_mean(out_y), true_y) - base:+.3f}")
                print("  ".join(cells), flush=True)


if __name__ == "__main__":
    main()

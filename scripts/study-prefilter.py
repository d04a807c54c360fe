#!/usr/bin/env python3
"""Does a libavfilter clean-up of the coded LR clip before upscaling help the fixed models? (docs/onsr-study.md,
"Cleaning coded input before Gr"). bench-codec's clips, kernels and codings (`ONSR_BENCH_CLIPSET=tuning` for the
tuning clips, `ONSR_BENCH_VARIANTS` to pick codings, as there); each coded clip is run through every filter chain of
PF_FILTERS (";"-separated ffmpeg -vf chains, "none" for the clip as coded), then upscaled by every model of PF_MODELS
(`--method pretrained`), and scored by bench-codec's clip Y-PSNR against the ground truth.
Usage: ONSR_BENCH_CLIPSET=tuning ONSR_BENCH_VARIANTS="h264 crf28,mpeg2 q8" \
       PF_FILTERS="none;hqdn3d=0:0:4:4" PF_MODELS="fast-x2-g,fast-x2-real" python3 scripts/study-prefilter.py"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402

import bench_codec as bc  # noqa: E402
from bench_video import BIN, read_frames  # noqa: E402


def main():
    filters = os.environ.get("PF_FILTERS", "none").split(";")
    models = os.environ.get("PF_MODELS", "fast-x2-g,fast-x2-real").split(",")
    tuning = os.environ.get("ONSR_BENCH_CLIPSET") == "tuning"
    scores = {}
    with tempfile.TemporaryDirectory() as work:
        for index, (name, package, inner) in enumerate(bc.TUNING_CLIPS if tuning else bc.CLIPS):
            truth = bc.ground_truth(bc.clip_source(name, package, inner), 12)
            lr, _ = bc.degrade(truth, index, tuning)  # bench-codec's kernel for this clip
            for variant, arguments, noise in bc.VARIANTS:
                coded = os.path.join(work, "coded.mkv")
                bc.code(lr, coded, arguments, noise, seed=index)
                for chain in filters:
                    source = coded
                    if chain != "none":
                        source = os.path.join(work, "filtered.mkv")
                        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", coded, "-vf", chain,
                                        "-c:v", "ffv1", source], check=True)
                    for model in models:
                        out = os.path.join(work, "out.mkv")
                        subprocess.run([BIN, source, out, "--codec", "ffv1", "--overwrite", "-q", "--method",
                                        "pretrained", "--model", model], check=True)
                        psnr = bc.psnr_y(read_frames(out), truth)
                        scores.setdefault((variant, chain, model), []).append(psnr)
                        print(f"{name:12s} {variant:20s} {chain:32s} {model:12s} {psnr:.3f}", flush=True)
    print()
    for (variant, chain, model), values in scores.items():
        print(f"{variant:20s} {chain:32s} {model:12s} {np.mean(values):.3f}")


if __name__ == "__main__":
    main()

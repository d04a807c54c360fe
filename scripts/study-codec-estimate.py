#!/usr/bin/env python3
"""The blur estimator on coded video (docs/onsr-study.md, "Coded video"): bench-codec's five clips, blurred with
their seeded kernels and halved as `scripts/bench-codec` makes them, then stored lossless, as H.264 CRF 16 and as
H.264 CRF 28; for each, the true kernel's total variance and the estimator's reading of the longest scene (the scene
report's `blurEstimate`, from `--method onsr --steps 1`).
With `--default`: instead, for H.264 CRF 16 / 23 and MPEG-2 qscale 4, the Y-PSNR of `onsr-video in out` without
`--model` against `--model fast-x2-g`, and the method the default picked.
Usage: python3 scripts/study-codec-estimate.py [--default]   (after scripts/setup and scripts/setup-data)"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_codec as bc  # noqa: E402
from bench_video import BIN, write_lossless  # noqa: E402


def main():
    default = "--default" in sys.argv[1:]
    with tempfile.TemporaryDirectory() as work:
        for index, (name, package, inner) in enumerate(bc.CLIPS):
            truth = bc.ground_truth(bc.clip_source(name, package, inner), 12)
            lr, (l1, l2, _) = bc.degrade(truth, index)  # bench-codec's kernel for this clip
            variants = [bc.VARIANTS_ALL[i] for i in (0, 1, 4)] if default else [bc.VARIANTS_ALL[0], bc.VARIANTS_ALL[2], ("lossless", None, 0)]
            for variant, arguments, noise in variants:
                path = os.path.join(work, "coded.mkv")
                if arguments is None:
                    write_lossless(lr, path)
                else:
                    bc.code(lr, path, arguments, noise, seed=index)
                if default:
                    cells = []
                    for label, extra in [("default", []), ("fast-x2-g", ["--model", "fast-x2-g"])]:
                        output, _, report = bc.upscale(path, extra, work)
                        cells.append(f"{label} {bc.psnr_y(output, truth):.3f} ({report['settings']['method']})")
                    print(name, variant, *cells, flush=True)
                    continue
                report = os.path.join(work, "report.json")
                subprocess.run([BIN, path, os.path.join(work, "out.mkv"), "--codec", "ffv1", "--overwrite", "-q", "--report", report,
                                "--method", "onsr", "--model", "fast-x2-g", "--steps", "1", "--no-codec-aware"], check=True)
                scenes = [s for s in json.load(open(report))["scenes"] if s.get("blurEstimate")]
                reading = max(scenes, key=lambda s: s["lastFrame"] - s["firstFrame"])["blurEstimate"]
                print(f"{name:10s} {variant:12s} true tr {l1 + l2:.2f}  read tr {reading['yy'] + reading['xx']:.2f}  "
                      f"P(no blur) {reading['noBlurProbability']:.2f}", flush=True)


if __name__ == "__main__":
    main()

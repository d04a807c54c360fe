#!/usr/bin/env python3
"""Video that was only downscaled, then coded (docs/onsr-study.md, "Video that was only downscaled, then coded").

Each clip of scripts/bench-codec's set (ONSR_BENCH_CLIPSET=tuning for the tuning clips) is bicubic-downscaled
(MATLAB imresize, as scripts/bench-video's ONSR_BENCH_DEGRADATION=bicubic) instead of blurred, then coded as
bench-codec codes it; the Y-PSNR of bicubic interpolation, the fixed models and the default (`onsr-video in out`,
which picks its model itself) against the ground truth. ONSR_BENCH_SCALE=4 runs x4 (the x4 models; no x4 model is
trained on bicubic downscaling alone).

  python3 scripts/study-downscaled-coded.py [--model PATH ...]
      the table above at H.264 CRF 23, CRF 28, CRF 33 + noise 3 and MPEG-2 qscale 8; each --model adds a column.
  python3 scripts/study-downscaled-coded.py --compare OLD NEW [--seeds 0,1000,2000] [--crf 20,23,26] [--mpeg2 3,4,5] [--mpeg4 3,4,5]
      two models (`--method pretrained --model`; `default`: the model the tool picks itself) at the heavy codings
      (or H.264 at these CRFs and / or MPEG-2 or MPEG-4 part 2 at these qscales) on the clips only downscaled and on their blurred
      versions, one per kernel seed
      (bench-codec's kernels, ONSR_BENCH_KERNEL_SEED), with x264's mean QP and the first model's choice per case: the
      fifth fast-x2-real run's rule (its card), the QP thresholds' (docs/onsr-study.md, "x4: the real model's QP
      threshold", "x2: the real model where the estimator reads blur", "MPEG-2: the real model's qscale threshold").
Needs scripts/setup (and the clips bench-codec fetches)."""
import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import bench_codec as bc  # noqa: E402
from bench_video import bicubic_downscale  # noqa: E402

HEAVY = [bc.VARIANTS_ALL[2], bc.VARIANTS_ALL[3], bc.VARIANTS_ALL[5]]
TABLE = [bc.VARIANTS_ALL[1]] + HEAVY


def clips():
    tuning = os.environ.get("ONSR_BENCH_CLIPSET") == "tuning"
    for index, (name, package, inner) in enumerate(bc.TUNING_CLIPS if tuning else bc.CLIPS):
        yield index, name, bc.ground_truth(bc.clip_source(name, package, inner), 12), tuning


def score(coded, arguments, truth, work, start=None):
    output, _, report = bc.upscale(coded, arguments, work)
    if start is not None:
        start.update(report.get("start") or {})
    return bc.psnr_y(output, truth), (report.get("settings") or {}).get("method")


def table(models, work):
    shipped = [f"fast-x{bc.SCALE}-{kind}" for kind in (["g", "bicubic", "real"] if bc.SCALE == 2 else ["g", "real"])]
    methods = [("bicubic", ["--method", "bicubic"])] + [(m, ["--method", "pretrained", "--model", m])
                                                         for m in shipped + models] + [("default", [])]
    results = {}
    for index, name, truth, _ in clips():
        for variant, arguments, noise in TABLE:
            coded = os.path.join(work, "coded.mkv")
            quantiser = bc.code(bicubic_downscale(truth, bc.SCALE), coded, arguments, noise, seed=index)
            row = {m: score(coded, a, truth, work) for m, a in methods}
            results.setdefault(variant, {})[name] = row
            print(f"{name:12s} {variant:22s} q {quantiser or 0:5.1f}  " + "  ".join(f"{m} {v[0]:.3f}" for m, v in row.items())
                  + f"  (default: {row['default'][1]})", flush=True)
    print("\n| coding | " + " | ".join(m for m, _ in methods) + " |\n| --- |" + " --- |" * len(methods))
    for variant, _, _ in TABLE:
        rows = results[variant].values()
        print(f"| {variant} | " + " | ".join(f"{np.mean([r[m][0] for r in rows]):.3f}" for m, _ in methods) + " |")
    return results


def compare(old, new, seeds, codings, work):
    results = []
    for index, name, truth, tuning in clips():
        cases = [("downscaled", bicubic_downscale(truth, bc.SCALE))]
        for seed in seeds:
            os.environ["ONSR_BENCH_KERNEL_SEED"] = str(seed)
            cases.append((f"blurred, seed {seed}", bc.degrade(truth, index, tuning)[0]))
        for case, lr in cases:
            for variant, arguments, noise in codings:
                coded = os.path.join(work, "coded.mkv")
                quantiser = bc.code(lr, coded, arguments, noise, seed=index)
                start = {}
                (a, used), (b, _) = (score(coded, ["--method", "pretrained"] + ([] if m == "default" else ["--model", m]),
                                           truth, work, start if m == old else None) for m in (old, new))
                results.append({"clip": name, "case": case, "variant": variant, "quantiser": quantiser, "old": a, "new": b,
                                "old_method": used, "old_start": start})
                print(f"{name:12s} {case:18s} {variant:22s} q {quantiser or 0:5.1f}  {a:.3f} -> {b:.3f}  {b - a:+.3f}  ({used}"
                      + (f", no blur {start['noBlurProbability']:.2f}" if "noBlurProbability" in start else "") + ")",
                      flush=True)
    for group in ("downscaled", "blurred"):
        changes = [r["new"] - r["old"] for r in results if r["case"].startswith(group)]
        print(f"{group}: {len(changes)} cases, mean {np.mean(changes):+.3f}, worst {min(changes):+.3f}, best {max(changes):+.3f}")
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", action="append", default=[])
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"))
    parser.add_argument("--seeds", default="0,1000,2000")
    parser.add_argument("--crf", help="with --compare: H.264 at these CRFs instead of the heavy codings")
    parser.add_argument("--mpeg2", help="with --compare: MPEG-2 at these qscales (after any --crf codings)")
    parser.add_argument("--mpeg4", help="with --compare: MPEG-4 part 2 at these qscales (after the others)")
    parser.add_argument("--json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        if args.compare:
            codings = [(f"h264 crf{c}", ["-c:v", "libx264", "-crf", c], 0) for c in (args.crf or "").split(",") if c] \
                + [(f"mpeg2 q{q}", ["-c:v", "mpeg2video", "-qscale:v", q], 0) for q in (args.mpeg2 or "").split(",") if q] \
                + [(f"mpeg4 q{q}", ["-c:v", "mpeg4", "-qscale:v", q], 0) for q in (args.mpeg4 or "").split(",") if q]
            codings = codings or HEAVY
            results = compare(*args.compare, [int(s) for s in args.seeds.split(",") if s], codings, work)
        else:
            results = table(args.model, work)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""`onsr-video image` on JPEG stills (docs/onsr-study.md, "JPEG stills"): the 12 held-out photos blurred with seeded
blind kernels (λ1, λ2 ~ U(0.6, 5), any angle; the blind benchmark's range) and halved, then stored as PNG and as
JPEG (ffmpeg's mjpeg, 4:2:0, at each qscale given); for each, the Y-PSNR against the photo of the default `image`
(ONSR, 200 steps, blend 0.5, no `--model`: the blur estimate picks the starting Gr) and of `--method pretrained`
(fast-x2-g), and the Gr the default started from. The kernels are this script's own (seed 1), not `eval`'s.
Usage: python3 scripts/study-jpeg-stills.py [QSCALE ...]   (default 3 8; after scripts/setup and scripts/setup-data;
ONSR_STUDY_PHOTOS=home,flower runs only the photos whose names contain one of those; the kernels stay each photo's)
With `--calls FOLDER [QSCALE ...]`: instead, the blur estimator's reading (no-blur probability, total variance) of
each photo in FOLDER (e.g. training-set crops, `scripts/make-train-crops.py`) blurred with 3 seeded kernels and only
bicubic-downscaled, as PNG and JPEG: what tells "no blur" apart on coded stills, chosen on crops, not held-out photos.
With `--bicubic-starts FOLDER [QSCALE]`: each photo in FOLDER only bicubic-downscaled and stored as JPEG (qscale 3),
the Y-PSNR of bicubic interpolation and of fast-x2-g and fast-x2-bicubic unadapted: what the wrong start costs there.
With `--mixes FOLDER [QSCALE]`: each photo in FOLDER blurred with 3 seeded kernels and only bicubic-downscaled, as JPEG;
the two models' outputs mixed in quarters, and which band of the no-blur probability to mix across.
The main study runs `image` as a user would (with its self-ensemble since 2026-11-30); the model studies
(`--bicubic-starts`, `--mixes`) score single passes (`--no-self-ensemble`), as they were measured."""
import glob
import json
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402

from bench_video import BIN, ROOT, read_frames, gaussian_kernel, blur_subsample, bicubic_downscale, psnr_y  # noqa: E402


def write_image(frame, path, qscale=None):
    h, w, _ = frame.shape
    data = (np.clip(frame, 0, 1) * 255 + 0.5).astype(np.uint8).tobytes()
    codec = ["-c:v", "png"] if qscale is None else ["-c:v", "mjpeg", "-q:v", str(qscale), "-pix_fmt", os.environ.get("ONSR_STUDY_JPEG_PIX_FMT", "yuvj420p")]
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                    "-i", "-", "-frames:v", "1"] + codec + [path], input=data, check=True)


def upscale(source, output, extra):
    report = output + ".json"
    subprocess.run([BIN, "image", source, output, "--overwrite", "--quiet", "--report", report] + extra, check=True)
    with open(report) as handle:
        method = json.load(handle)["method"]
    return read_frames(output)[0], method


def crop_inputs(photo, rng):
    """A crop (cut to even size) and its LR versions: 3 blurred with seeded blind kernels, labelled by the
    kernel's total variance, and one only bicubic-downscaled, labelled "bicubic"."""
    hr = read_frames(photo)[0]
    hr = hr[:hr.shape[0] // 2 * 2, :hr.shape[1] // 2 * 2]
    inputs = []
    for _ in range(3):
        l1, l2, theta = rng.uniform(0.6, 5), rng.uniform(0.6, 5), rng.uniform(0, math.pi)
        inputs.append((f"tr {l1 + l2:5.2f}", blur_subsample(hr[None], gaussian_kernel(l1, l2, theta, size=16), s=2)[0]))
    inputs.append(("bicubic ", bicubic_downscale(hr[None], 2)[0]))
    return hr, inputs


def calls(folder, qscales):
    rng = np.random.default_rng(2)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for photo in sorted(glob.glob(os.path.join(folder, "*.png"))):
            _, inputs = crop_inputs(photo, rng)
            for label, lr in inputs:
                cells = []
                for q in [None] + qscales:
                    source = os.path.join(work, "in.png" if q is None else "in.jpg")
                    write_image(lr, source, q)
                    report = os.path.join(work, "r.json")
                    subprocess.run([BIN, "image", source, os.path.join(work, "o.png"), "--steps", "0", "--overwrite", "--quiet",
                                    "--report", report], check=True)
                    with open(report) as handle:
                        estimate = json.load(handle)["blurEstimate"]
                    cells.append((estimate["noBlurProbability"], estimate["xx"] + estimate["yy"]))
                rows.append((label.startswith("bicubic"), cells))
                print(f"{os.path.basename(photo):40s} {label}  " + "  ".join(
                    f"{name} P {p:.2f} tr {t:5.2f}" for name, (p, t) in zip(["png"] + [f"q{q}" for q in qscales], cells)), flush=True)
    for k, name in enumerate(["png"] + [f"jpeg q{q}" for q in qscales]):
        blurred = sorted(c[k][0] for b, c in rows if not b)
        bicubic = sorted(c[k][0] for b, c in rows if b)
        print(f"{name:8s} blurred P: max {blurred[-1]:.2f}, above 0.7: {sum(p > 0.7 for p in blurred)} of {len(blurred)};"
              f" bicubic P: min {bicubic[0]:.2f}, above 0.7: {sum(p > 0.7 for p in bicubic)} of {len(bicubic)};"
              f" bicubic sorted {' '.join(f'{p:.2f}' for p in bicubic)}; blurred top {' '.join(f'{p:.2f}' for p in blurred[-6:])}")


def bicubic_start_costs(folder, qscale):
    totals = {"bicubic": [], "fast-x2-g": [], "fast-x2-bicubic": []}
    with tempfile.TemporaryDirectory() as work:
        source, output = os.path.join(work, "in.jpg"), os.path.join(work, "out.png")
        for photo in sorted(glob.glob(os.path.join(folder, "*.png"))):
            hr = read_frames(photo)[0]
            hr = hr[:hr.shape[0] // 2 * 2, :hr.shape[1] // 2 * 2]
            write_image(bicubic_downscale(hr[None], 2)[0], source, qscale)
            cells = []
            for method, values in totals.items():
                arguments = ["--method", "bicubic"] if method == "bicubic" else ["--method", "pretrained", "--model", method,
                                                                                  "--no-self-ensemble"]
                subprocess.run([BIN, "image", source, output, "--overwrite", "--quiet"] + arguments, check=True)
                values.append(psnr_y(read_frames(output)[0][None], hr[None]))
                cells.append(f"{method} {values[-1]:.3f}")
            print(f"{os.path.basename(photo):40s} " + "  ".join(cells), flush=True)
    print("mean " + "  ".join(f"{method} {np.mean(values):.3f}" for method, values in totals.items()))


def mixes(folder, qscale):
    """Each crop blurred with 3 seeded kernels and only bicubic-downscaled, stored as JPEG: the no-blur probability
    and the Y-PSNR of fast-x2-g and fast-x2-bicubic (unadapted) mixed by each share W, and which band of the
    probability, mixing linearly across it, does best (the picture band's evidence for coded stills)."""
    rng = np.random.default_rng(2)
    shares = np.array([0, 0.25, 0.5, 0.75, 1])
    cases = []
    with tempfile.TemporaryDirectory() as work:
        source, output, report = os.path.join(work, "in.jpg"), os.path.join(work, "out.png"), os.path.join(work, "r.json")
        for photo in sorted(glob.glob(os.path.join(folder, "*.png"))):
            hr, inputs = crop_inputs(photo, rng)
            for label, lr in inputs:
                unblurred = label.startswith("bicubic")
                write_image(lr, source, qscale)
                subprocess.run([BIN, "image", source, output, "--steps", "0", "--overwrite", "--quiet", "--report", report], check=True)
                with open(report) as handle:
                    probability = json.load(handle)["blurEstimate"]["noBlurProbability"]
                outputs = []
                for model in ("fast-x2-g", "fast-x2-bicubic"):
                    subprocess.run([BIN, "image", source, output, "--overwrite", "--quiet", "--method", "pretrained", "--model", model,
                                    "--no-self-ensemble"], check=True)
                    outputs.append(read_frames(output)[0])
                curve = np.array([psnr_y(((1 - w) * outputs[0] + w * outputs[1])[None], hr[None]) for w in shares])
                cases.append((unblurred, probability, curve - curve[0]))
                print(f"{os.path.basename(photo):40s} {'bicubic' if unblurred else 'blurred'}  P {probability:.2f}  "
                      + " ".join(f"{g:+.2f}" for g in curve - curve[0]), flush=True)

    def score(weight):
        gains = [(unblurred, np.interp(weight(p), shares, curve)) for unblurred, p, curve in cases]
        blurred, bicubic = [g for u, g in gains if not u], [g for u, g in gains if u]
        return f"blurred {np.mean(blurred):+.3f} (worst {min(blurred):+.2f})  bicubic {np.mean(bicubic):+.3f} (worst {min(bicubic):+.2f})  all {np.mean([g for _, g in gains]):+.3f}"
    print(f"hard call at 0.7: {score(lambda p: float(p > 0.7))}")
    for low, high in [(0.6, 0.8), (0.6, 0.9), (0.6, 1.0), (0.5, 1.0), (0.7, 1.0)]:
        print(f"band {low}-{high}: {score(lambda p: float(np.clip((p - low) / (high - low), 0, 1)))}")
    for cap in (0.5, 0.75):
        print(f"band 0.6-0.8, share at most {cap}: {score(lambda p: min(cap, float(np.clip((p - 0.6) / 0.2, 0, 1))))}")


def main():
    if sys.argv[1:2] == ["--mixes"]:
        return mixes(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 3)
    if sys.argv[1:2] == ["--bicubic-starts"]:
        return bicubic_start_costs(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 3)
    if sys.argv[1:2] == ["--calls"]:
        return calls(sys.argv[2], [int(q) for q in sys.argv[3:]] or [3, 8])
    qscales = [int(q) for q in sys.argv[1:]] or [3, 8]
    photos = sorted(glob.glob(os.path.join(ROOT, "data/eval/*.png")))
    rng = np.random.default_rng(1)
    rows = {}
    with tempfile.TemporaryDirectory() as work:
        only = [p for p in os.environ.get("ONSR_STUDY_PHOTOS", "").split(",") if p]
        for photo in photos:
            name = os.path.basename(photo)
            l1, l2, theta = rng.uniform(0.6, 5), rng.uniform(0.6, 5), rng.uniform(0, math.pi)
            if only and not any(p in name for p in only):
                continue
            hr = read_frames(photo)[0]
            hr = hr[:hr.shape[0] // 2 * 2, :hr.shape[1] // 2 * 2]
            lr = blur_subsample(hr[None], gaussian_kernel(l1, l2, theta, size=16), s=2)[0]
            for label, q in [("png", None)] + [(f"jpeg q{q}", q) for q in qscales]:
                source = os.path.join(work, "in.png" if q is None else "in.jpg")
                write_image(lr, source, q)
                default, started = upscale(source, os.path.join(work, "default.png"), [])
                fixed, _ = upscale(source, os.path.join(work, "fixed.png"), ["--method", "pretrained", "--model", "fast-x2-g"])
                cells = (psnr_y(fixed[None], hr[None]), psnr_y(default[None], hr[None]), started.split(":")[-1])
                rows.setdefault(label, []).append(cells)
                print(f"{name:28s} {label:9s} tr {l1 + l2:5.2f}  fast-x2-g {cells[0]:.3f}  image default {cells[1]:.3f}"
                      f" ({cells[1] - cells[0]:+.2f}, from {cells[2]})", flush=True)
    for label, cells in rows.items():
        gains = [d - f for f, d, _ in cells]
        bicubic_starts = sum(1 for *_, m in cells if m == "fast-x2-bicubic")
        print(f"{label:9s} fast-x2-g {np.mean([c[0] for c in cells]):.3f}  default {np.mean([c[1] for c in cells]):.3f}"
              f"  gain {np.mean(gains):+.2f} (worst {min(gains):+.2f})  started from fast-x2-bicubic: {bicubic_starts} of {len(cells)}")


if __name__ == "__main__":
    main()

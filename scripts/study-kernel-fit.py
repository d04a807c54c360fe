"""Can a kernel be read off the pretrained Gr's output? A study for docs/onsr-study.md.

Two-phase ONSR fits Gd so that Gd(Gr(y)) = y through the fixed pretrained Gr. This script asks how much of
the true kernel that output still carries, without Gd's optimisation in the way: it blurs and subsamples
crops of external (training-set) photos with seeded anisotropic Gaussians (as `onsr-video eval` does), runs
`onsr-video image --method pretrained`, then fits the kernel k minimising |y - (k * x)↓2|² in closed form
(17 x 17 taps, sum 1), once with x = the true HR crop and once with x = Gr(y). It prints, per crop, the NCC
of each fit with the true kernel and the eigenvalue ratios (elongation) of the kernels' second moments.

Usage: python3 scripts/study-kernel-fit.py [MODEL] [CROPS]   (needs numpy, ffmpeg and a release build)
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, ".build", "release", "onsr-video")
EXTERNAL = os.path.join(ROOT, "data", "external")
RADIUS = 8
SIZE = 2 * RADIUS + 1


def read_png(path):
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                            "-of", "csv=p=0", path], capture_output=True, text=True, check=True).stdout.strip()
    w, h = map(int, probe.split(",")[:2])
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3).astype(np.float64) / 255


def write_png(image, path):
    h, w, _ = image.shape
    data = np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8).tobytes()
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                    "-i", "-", path], input=data, check=True)


def random_kernel(rng, size=11, scale=2):
    """BlurKernel.random at x2: λ ~ U(0.6, 5), θ ~ U(-π, π), taps x (1 + U(-0.25, 0.25)), mean at 5 + 0.5."""
    l1, l2 = rng.uniform(0.6, 5, 2)
    theta = rng.uniform(-np.pi, np.pi)
    c, s = np.cos(theta), np.sin(theta)
    a, b, d = c * c * l1 + s * s * l2, c * s * (l1 - l2), s * s * l1 + c * c * l2
    centre = size // 2 + (scale - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size]
    dx, dy = xx - centre, yy - centre
    k = np.exp(-0.5 * (d * dx * dx - 2 * b * dx * dy + a * dy * dy) / (a * d - b * b))
    k *= 1 + rng.uniform(-0.25, 0.25, k.shape)
    return k / k.sum()


def blur_subsample(hr, k, scale=2):
    """Degrade.blurSubsample: output (y, x) reads HR (s·y + p − r, s·x + q − r), borders reflected."""
    r = k.shape[0] // 2
    pad = np.pad(hr, ((r, r), (r, r), (0, 0)), mode="reflect")
    h, w, _ = hr.shape
    out = np.zeros((h // scale, w // scale, 3))
    for p in range(k.shape[0]):
        for q in range(k.shape[1]):
            out += k[p, q] * pad[p:p + h:scale, q:q + w:scale]
    return out


def fit_kernel(x, y, scale=2, border=4):
    """Least squares k (SIZE x SIZE, same convention as blur_subsample) with y ≈ (k * x)↓s, sum pinned to 1."""
    h, w, _ = y.shape
    pad = np.pad(x, ((RADIUS, RADIUS), (RADIUS, RADIUS), (0, 0)), mode="reflect")
    columns = [pad[p:p + scale * h:scale, q:q + scale * w:scale][border:h - border, border:w - border].reshape(-1)
               for p in range(SIZE) for q in range(SIZE)]
    a = np.stack(columns, 1)
    target = y[border:h - border, border:w - border].reshape(-1)
    gram, rhs = a.T @ a, a.T @ target
    mean_diagonal = np.trace(gram) / len(gram)
    # A small ridge, and a heavy penalty on (sum - 1)²: the sum constraint without a Lagrangian.
    pin = 1e3 * mean_diagonal
    system = gram + 1e-4 * mean_diagonal * np.eye(len(gram)) + pin * np.ones_like(gram)
    return np.linalg.solve(system, rhs + pin).reshape(SIZE, SIZE)


def ncc(a, b):
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def elongation(k):
    """Ratio of the larger to the smaller eigenvalue of the kernel's second moments (1: isotropic)."""
    n = k.shape[0]
    yy, xx = np.mgrid[0:n, 0:n]
    t = k.sum()
    cy, cx = (k * yy).sum() / t, (k * xx).sum() / t
    m = np.array([[(k * (yy - cy) ** 2).sum(), (k * (yy - cy) * (xx - cx)).sum()],
                  [(k * (yy - cy) * (xx - cx)).sum(), (k * (xx - cx) ** 2).sum()]]) / t
    low, high = np.linalg.eigvalsh(m)
    return high / max(low, 1e-6)


def main():
    model = sys.argv[1] if len(sys.argv) > 1 else "fast-x2-g"
    crops = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    files = sorted(f for f in os.listdir(EXTERNAL) if f.endswith(".png"))[::7][:crops]
    rng = np.random.default_rng(5)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for i, name in enumerate(files):
            image = read_png(os.path.join(EXTERNAL, name))
            h, w, _ = image.shape
            top, left = (h - 512) // 2, (w - 512) // 2
            hr = image[top:top + 512, left:left + 512]
            kernel = random_kernel(rng)
            lr_path, sr_path = os.path.join(work, f"lr{i}.png"), os.path.join(work, f"sr{i}.png")
            write_png(blur_subsample(hr, kernel), lr_path)
            subprocess.run([TOOL, "image", lr_path, sr_path, "--method", "pretrained", "--model", model, "--no-self-ensemble"],
                           check=True, capture_output=True)
            y, sr = read_png(lr_path), read_png(sr_path)
            truth = np.zeros((SIZE, SIZE))
            truth[RADIUS - 5:RADIUS + 6, RADIUS - 5:RADIUS + 6] = kernel
            from_hr, from_sr = fit_kernel(hr, y), fit_kernel(sr, y)
            rows.append((ncc(from_hr, truth), ncc(from_sr, truth), elongation(truth), elongation(from_hr),
                         elongation(from_sr)))
            print(f"{name[:32]:32s}  NCC from HR {rows[-1][0]:.3f}  from Gr(y) {rows[-1][1]:.3f}  "
                  f"elongation true {rows[-1][2]:.2f}  from HR {rows[-1][3]:.2f}  from Gr(y) {rows[-1][4]:.2f}")
    mean = np.mean(np.array(rows), 0)
    print(f"mean: NCC from HR {mean[0]:.3f}, from Gr(y) {mean[1]:.3f}; elongation true {mean[2]:.2f}, "
          f"from HR {mean[3]:.2f}, from Gr(y) {mean[4]:.2f}")


if __name__ == "__main__":
    main()

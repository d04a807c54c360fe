"""How well does the LR input's power spectrum show the blur? A study for docs/onsr-study.md (SpectralBlur).

Takes the centre 384 x 384 crop of every third external (training-set) photo, blurs it with three seeded kernels
of the blind x2 range each (as `onsr-video eval` does: λ ~ U(0.6, 5), any angle, taps x (1 + U(-0.25, 0.25))),
subsamples by 2, and fits the blur's covariance from the LR luma alone with the model of
Sources/ONSR/SpectralBlur.swift, as scripts/make-spectral-fixture.py implements it (Welch periodogram of 32 x 32 Hann tiles; log P = a(angle bin) - α log|ω| -
ωᵀΣω over 0.25π..0.95π). Prints the error of the long axis against the true kernel's (by elongation), and how
the eigenvalue difference and the total size compare; and the agreement of the four quadrants on the long axis
(SpectralBlur.Estimate.agreement: length of the mean unit vector at twice each quadrant's angle).

Usage: .venv/bin/python scripts/study-spectral-direction.py   (needs numpy and ffmpeg)
"""
import glob
import importlib.util
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("kernel_fit", os.path.join(ROOT, "scripts", "study-kernel-fit.py"))
kernel_fit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kernel_fit)
spec = importlib.util.spec_from_file_location("reference", os.path.join(ROOT, "scripts", "make-spectral-fixture.py"))
reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reference)


def luma(image):
    return image @ np.array([0.299, 0.587, 0.114])


def spectral_covariance(lr):
    """Σ (x, y order) in HR pixels² at x2, by the reference fit of scripts/make-spectral-fixture.py."""
    yy, yx, xx = reference.fit(reference.periodogram(luma(lr))) * 4
    return np.array([[xx, yx], [yx, yy]])


def kernel_covariance(k):
    n = k.shape[0]
    yy, xx = np.mgrid[0:n, 0:n]
    my, mx = (k * yy).sum(), (k * xx).sum()
    sxy = (k * (xx - mx) * (yy - my)).sum()
    return np.array([[(k * (xx - mx) ** 2).sum(), sxy], [sxy, (k * (yy - my) ** 2).sum()]])


def agreement(lr):
    h, w = lr.shape[:2]
    total = np.zeros(2)
    for part in [lr[:h // 2, :w // 2], lr[:h // 2, w // 2:], lr[h // 2:, :w // 2], lr[h // 2:, w // 2:]]:
        s = spectral_covariance(part)
        v = np.array([(s[0, 0] - s[1, 1]) / 2, s[0, 1]])
        total += v / (np.linalg.norm(v) + 1e-12)
    return np.linalg.norm(total) / 4


def main():
    rng = np.random.default_rng(5)
    rows = []
    for path in sorted(glob.glob(os.path.join(ROOT, "data", "external", "*.png")))[::3]:
        hr = kernel_fit.read_png(path)
        h, w, _ = hr.shape
        hr = hr[h // 2 - 192:h // 2 + 192, w // 2 - 192:w // 2 + 192]
        for _ in range(3):
            k = kernel_fit.random_kernel(rng)
            true_values, true_vectors = np.linalg.eigh(kernel_covariance(k))
            lr = kernel_fit.blur_subsample(hr, k)
            values, vectors = np.linalg.eigh(spectral_covariance(lr))
            error = np.degrees(np.arccos(min(1, abs(vectors[:, 1] @ true_vectors[:, 1]))))
            rows.append((true_values[1] / true_values[0], error, true_values[1] - true_values[0], values[1] - values[0],
                         true_values.sum(), values.sum(), agreement(lr)))
    a = np.array(rows)
    print(f"{len(a)} crops x kernels")
    for low in [1, 1.5, 2, 3]:
        chosen = a[a[:, 0] >= low]
        print(f"elongation >= {low}: n {len(chosen)}, long-axis error median {np.median(chosen[:, 1]):.1f} deg, "
              f"mean {chosen[:, 1].mean():.1f} (random directions: 45)")
    print(f"eigenvalue difference: correlation {np.corrcoef(a[:, 2], a[:, 3])[0, 1]:.2f}, "
          f"least-squares slope true/estimate {np.sum(a[:, 2] * a[:, 3]) / np.sum(a[:, 3] ** 2):.2f}")
    print(f"total size (trace): correlation {np.corrcoef(a[:, 4], a[:, 5])[0, 1]:.2f}")
    print(f"quadrant agreement: lowest with elongation >= 1.8: {a[a[:, 0] >= 1.8, 6].min():.2f}")
    for low, high in [(0, 0.6), (0.6, 0.9), (0.9, 1.01)]:
        chosen = a[(a[:, 6] >= low) & (a[:, 6] < high)]
        if len(chosen):
            print(f"  agreement {low}..{min(high, 1)}: n {len(chosen)}, long-axis error median {np.median(chosen[:, 1]):.1f} deg, "
                  f"elongation median {np.median(chosen[:, 0]):.2f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes Tests/ONSRTests/Fixtures/spectral_blur.safetensors: a reference for `SpectralBlur` made with numpy's
FFT and least squares, independent of the Swift code.

The LR luma is seeded noise smoothed into a 1/f-like image, blurred with an anisotropic Gaussian (λ 4 and 1 HR
pixels², θ 0.6) and subsampled by 2. Welch's periodogram (32 x 32 Hann tiles, half overlap, mean removed) is fitted
with log P = a(angle bin of 12) − α log|ω| − ωᵀΣω over 0.25π < |ω| < 0.95π; the fixture holds the luma, Σ in HR
pixels² (yy, yx, xx) and the periodogram.

    .venv/bin/python scripts/make-spectral-fixture.py      (needs numpy and safetensors)
"""
import os

import numpy as np
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "ONSRTests", "Fixtures", "spectral_blur.safetensors")
T = 32


def make_luma(size=192, scale=2):
    rng = np.random.default_rng(7)
    noise = rng.standard_normal((size, size))
    f = np.fft.fftfreq(size)
    radius = np.hypot(*np.meshgrid(f, f, indexing="ij"))
    radius[0, 0] = 1
    hr = np.real(np.fft.ifft2(np.fft.fft2(noise) / radius))
    hr = (hr - hr.mean()) / hr.std() * 0.15 + 0.5
    l1, l2, theta = 4.0, 1.0, 0.6
    c, s = np.cos(theta), np.sin(theta)
    sxx, sxy, syy = c * c * l1 + s * s * l2, c * s * (l1 - l2), s * s * l1 + c * c * l2
    # Blur in the frequency domain (circular), then keep every second pixel.
    fy, fx = np.meshgrid(2 * np.pi * f, 2 * np.pi * f, indexing="ij")
    response = np.exp(-0.5 * (sxx * fx * fx + 2 * sxy * fx * fy + syy * fy * fy))
    blurred = np.real(np.fft.ifft2(np.fft.fft2(hr) * response))
    return blurred[::scale, ::scale].astype(np.float32)


def periodogram(g):
    h, w = g.shape
    window = np.outer(np.hanning(T), np.hanning(T))
    total, count = np.zeros((T, T)), 0
    for y in range(0, h - T + 1, T // 2):
        for x in range(0, w - T + 1, T // 2):
            tile = g[y:y + T, x:x + T].astype(np.float64)
            total += np.abs(np.fft.fft2((tile - tile.mean()) * window)) ** 2
            count += 1
    return total / count


def fit(power, bins=12):
    """Σ in the periodogram's (LR) pixels, as (yy, yx, xx)."""
    f = np.fft.fftfreq(T) * 2 * np.pi
    fy, fx = np.meshgrid(f, f, indexing="ij")
    r = np.hypot(fx, fy)
    phi = np.mod(np.arctan2(fy, fx), np.pi)
    keep = (r > 0.25 * np.pi) & (r < 0.95 * np.pi)
    r, phi, fx, fy, lp = r[keep], phi[keep], fx[keep], fy[keep], np.log(power[keep] + 1e-12)
    index = np.minimum((phi / np.pi * bins).astype(int), bins - 1)
    columns = [(index == b).astype(float) for b in range(bins)] + [np.log(r), -fx * fx, -2 * fx * fy, -fy * fy]
    coefficients, *_ = np.linalg.lstsq(np.stack(columns, 1), lp, rcond=None)
    xx, xy, yy = coefficients[-3:]
    return np.array([yy, xy, xx])


def main():
    luma = make_luma()
    power = periodogram(luma)
    covariance = fit(power) * 4
    save_file({"luma": luma, "periodogram": power.astype(np.float32), "covariance": covariance.astype(np.float32)}, OUT)
    print("wrote", OUT, "covariance (yy, yx, xx) HR px²:", covariance)


if __name__ == "__main__":
    main()

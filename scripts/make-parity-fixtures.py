#!/usr/bin/env python3
"""Writes PyTorch reference fixtures for the Swift engine (Tests/EngineTests/Fixtures and Tests/ONSRTests/Fixtures).

Independent of the Swift code: RRDBNet is BasicSR's architecture (basicsr/archs/rrdbnet_arch.py), the
bicubic layer follows MATLAB's imresize `contributions` algorithm, Gd and Dl follow the project's design.
Each fixture holds the input, target, output, loss, every parameter, its gradient after one backward pass
(L1, or BCE-with-logits for Dl), the input gradient, and the parameters after one Adam step.

Run with the CPU build of PyTorch (a tool only, never a runtime dependency of onsr-video):
    python3 -m venv .venv && .venv/bin/pip install "torch==2.13.0+cpu" safetensors numpy
    .venv/bin/python scripts/make-parity-fixtures.py
"""
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

# RRDBNet's fixtures serve the engine's tests; Gd's and Dl's the method's (ONSR).
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "EngineTests", "Fixtures")
OUT_ONSR = os.path.join(os.path.dirname(__file__), "..", "Tests", "ONSRTests", "Fixtures")
LR = 1e-3


class ResidualDenseBlock(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, gc, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf + gc, gc, 3, 1, 1)
        self.conv3 = nn.Conv2d(nf + 2 * gc, gc, 3, 1, 1)
        self.conv4 = nn.Conv2d(nf + 3 * gc, gc, 3, 1, 1)
        self.conv5 = nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, x):
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(nf, gc)
        self.rdb2 = ResidualDenseBlock(nf, gc)
        self.rdb3 = ResidualDenseBlock(nf, gc)

    def forward(self, x):
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    def __init__(self, num_in_ch=3, num_out_ch=3, scale=4, num_feat=64, num_block=23, num_grow_ch=32):
        super().__init__()
        self.scale = scale
        if scale == 2:
            num_in_ch = num_in_ch * 4
        elif scale == 1:
            num_in_ch = num_in_ch * 16
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, x):
        if self.scale == 2:
            feat = F.pixel_unshuffle(x, 2)
        elif self.scale == 1:
            feat = F.pixel_unshuffle(x, 4)
        else:
            feat = x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


def cubic(x):
    ax = x.abs()
    return ((1.5 * ax ** 3 - 2.5 * ax ** 2 + 1) * (ax <= 1)
            + (-0.5 * ax ** 3 + 2.5 * ax ** 2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


def imresize_matrix(in_len, out_len):
    """MATLAB imresize's bicubic `contributions` (1-based there) as a dense out_len x in_len matrix."""
    scale = out_len / in_len
    width = 4.0
    kernel = cubic
    if scale < 1:
        kernel = lambda x: scale * cubic(scale * x)
        width = width / scale
    x = torch.arange(1, out_len + 1, dtype=torch.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = torch.floor(u - width / 2)
    p = int(math.ceil(width)) + 2
    ind = left[:, None] + torch.arange(p, dtype=torch.float64)[None, :]
    weights = kernel(u[:, None] - ind)
    weights = weights / weights.sum(1, keepdim=True)
    mirror = torch.cat([torch.arange(in_len), torch.arange(in_len - 1, -1, -1)])
    ind = mirror[((ind - 1).long()) % (2 * in_len)]
    matrix = torch.zeros(out_len, in_len, dtype=torch.float64)
    for o in range(out_len):
        for t in range(p):
            matrix[o, ind[o, t]] += weights[o, t]
    return matrix.float()


class DegradationNet(nn.Module):
    """Gd: three channel-shared kernels k = w / sum(w) with reflect padding, then bicubic /scale."""

    def __init__(self, scale):
        super().__init__()
        self.scale = scale
        sizes = [3, 7, 9] if scale == 2 else [9, 15, 17]
        gen = torch.Generator().manual_seed(7)
        for i, size in enumerate(sizes):
            c = (size - 1) / 2
            yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64), indexing="ij")
            g = torch.exp(-((yy - c) ** 2 + (xx - c) ** 2) / 2)
            g = g / g.sum()
            # Raw weights that do not sum to 1, so the normalisation's gradient is exercised.
            w = g * (1 + 0.3 * torch.rand(size, size, generator=gen, dtype=torch.float64)) * 1.7
            setattr(self, f"conv{i + 1}", nn.Module())
            getattr(self, f"conv{i + 1}").weight = nn.Parameter(w.float().reshape(1, 1, size, size))

    def forward(self, x):
        n, c, h, w = x.shape
        y = x.reshape(n * c, 1, h, w)
        for i in range(3):
            k = getattr(self, f"conv{i + 1}").weight
            k = k / k.sum()
            p = k.shape[-1] // 2
            y = F.conv2d(F.pad(y, (p, p, p, p), mode="reflect"), k)
        rows, cols = imresize_matrix(h, h // self.scale), imresize_matrix(w, w // self.scale)
        y = rows @ y @ cols.T
        return y.reshape(n, c, h // self.scale, w // self.scale)


class Discriminator(nn.Module):
    def __init__(self, nf):
        super().__init__()
        chans = 3
        for stage in range(3):
            out = nf << stage
            setattr(self, f"conv{stage}_0", nn.Conv2d(chans, out, 3, 1, 1))
            setattr(self, f"conv{stage}_1", nn.Conv2d(out, out, 4, 2, 1))
            chans = out
        self.linear = nn.Linear(chans * 16, 1)

    def forward(self, x):
        for stage in range(3):
            x = F.leaky_relu(getattr(self, f"conv{stage}_0")(x), 0.2)
            x = F.leaky_relu(getattr(self, f"conv{stage}_1")(x), 0.2)
        return self.linear(x.flatten(1))


def fixture(name, net, x, loss_fn):
    x = x.clone().requires_grad_(True)
    out = net(x)
    loss, extra = loss_fn(out)
    loss.backward()
    tensors = {"input": x.detach(), "output": out.detach(), "loss": loss.detach().reshape(1), "grad_input": x.grad}
    tensors.update(extra)
    for key, p in net.named_parameters():
        tensors["param." + key] = p.detach().clone()
        tensors["grad." + key] = p.grad.clone()
    torch.optim.Adam(net.parameters(), lr=LR, betas=(0.9, 0.999)).step()
    for key, p in net.named_parameters():
        tensors["adam." + key] = p.detach().clone()
    path = os.path.join(OUT if name.startswith("rrdbnet") else OUT_ONSR, name + ".safetensors")
    save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata={"lr": str(LR)})
    print(f"{path}: {os.path.getsize(path)} bytes, loss {loss.item():.6f}")


def l1_against(target):
    return lambda out: (F.l1_loss(out, target), {"target": target})


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(OUT_ONSR, exist_ok=True)
    for scale, size in [(2, 8), (4, 6)]:
        net = RRDBNet(scale=scale, num_feat=8, num_block=1, num_grow_ch=4)
        x = torch.rand(2, 3, size, size)
        target = torch.rand(2, 3, size * scale, size * scale)
        fixture(f"rrdbnet_x{scale}", net, x, l1_against(target))
    for scale, size in [(2, 20), (4, 40)]:
        net = DegradationNet(scale)
        x = torch.rand(2, 3, size, size)
        target = torch.rand(2, 3, size // scale, size // scale)
        fixture(f"gd_x{scale}", net, x, l1_against(target))
    net = Discriminator(8)
    x = torch.rand(3, 3, 32, 32)
    fixture("dl", net, x, lambda out: (F.binary_cross_entropy_with_logits(out, torch.ones_like(out)), {}))
    # Channel counts in whole 16-channel blocks: the shapes the engine trains with Winograd kernels.
    net = RRDBNet(scale=2, num_feat=16, num_block=1, num_grow_ch=16)
    x = torch.rand(2, 3, 12, 12)
    fixture("rrdbnet_x2_blocked", net, x, l1_against(torch.rand(2, 3, 24, 24)))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The PyTorch side of scripts/bench-engine: the same workloads as onsr-bench, one time (ms) per run.
usage: bench_engine_torch.py training|forward|forward-bf16 runs warmup nchw|channels_last
forward-bf16 runs the forward under torch.autocast("cpu", dtype=torch.bfloat16)."""
import importlib.util
import os
import sys
import time

import torch
import torch.nn.functional as F

spec = importlib.util.spec_from_file_location("fixtures", os.path.join(os.path.dirname(__file__), "make-parity-fixtures.py"))
fixtures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixtures)

mode, runs, warmup, layout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(os.cpu_count())
torch.manual_seed(1)
fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
net = fixtures.RRDBNet(scale=2, num_feat=64, num_block=3, num_grow_ch=32).to(memory_format=fmt)
if mode == "training":
    x = torch.rand(10, 3, 32, 32).to(memory_format=fmt)
    target = torch.rand(10, 3, 64, 64).to(memory_format=fmt)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)

    def work():
        opt.zero_grad()
        F.l1_loss(net(x), target).backward()
        opt.step()
elif mode == "forward-bf16":
    x = torch.rand(1, 3, 180, 320).to(memory_format=fmt)

    def work():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            net(x)
else:
    x = torch.rand(1, 3, 180, 320).to(memory_format=fmt)

    def work():
        with torch.no_grad():
            net(x)

for _ in range(warmup):
    work()
for _ in range(runs):
    start = time.perf_counter()
    work()
    print(f"{(time.perf_counter() - start) * 1000:.1f}", flush=True)

"""Longer scheduler check for the README: 240 frames of the sample (forward, backward, forward) with the
bench-video blur; --adapt none, per-scene, and live mode through a pipe. Usage: python3 scripts/bench-video-long.py"""
import sys, os, json, subprocess, tempfile
sys.path.insert(0, "scripts")
import bench_video as b
import numpy as np
work = tempfile.mkdtemp()
truth = b.read_frames(b.SAMPLE)
truth = np.concatenate([truth, truth[::-1], truth])  # 240 frames, continuous motion back and forth
lr = os.path.join(work, "lr.mkv")
b.write_lossless(b.blur_subsample(truth, b.gaussian_kernel(2.6, 0.9, 0.6)), lr)
rows = []
for name, args, piped in [("none", ["--method", "onsr", "--adapt", "none"], False),
                          ("per-scene", ["--method", "onsr"], False),
                          ("live piped", ["--method", "onsr", "--format", "matroska"], True)]:
    out = os.path.join(work, "o.mkv"); rep = os.path.join(work, "r.json")
    cmd = [b.BIN, "-" if piped else lr, out] + args + ["--codec", "ffv1", "--pix-fmt", "bgr0", "--overwrite", "-q", "--report", rep]
    with open(lr, "rb") as f:
        subprocess.run(cmd, stdin=f if piped else None, check=True)
    r = json.load(open(rep))
    rows.append((name, b.psnr_y(b.read_frames(out), truth), r.get("modelSwitches")))
for row in rows: print(row[0], round(row[1], 3), row[2])

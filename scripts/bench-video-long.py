"""Long-clip scheduler and stream benchmark (README, issue acceptance: a streamed result within 0.3 dB of
the file-mode per-scene result). The sample clip is played forward, backward, forward, ... to FRAMES frames
(continuous motion, 20 fps), blurred with bench-video's known kernel and subsampled x2 (the original frames are
the ground truth); then it is upscaled with --adapt none, --adapt per-scene (file mode) and in live mode
through a pipe (`onsr-video - OUT --format matroska`, background adaptation). Prints mean Y-PSNR, the
adaptations of each scene, and when the live mode's adapted model took over.

Usage: python3 scripts/bench-video-long.py [FRAMES (default 720)]"""
import json, os, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_video as b
import numpy as np

frames = int(sys.argv[1]) if len(sys.argv) > 1 else 720
work = tempfile.mkdtemp()
clip = b.read_frames(b.SAMPLE)
truth = np.concatenate([clip if i % 2 == 0 else clip[::-1] for i in range(-(-frames // len(clip)))])[:frames]
lr = os.path.join(work, "lr.mkv")
b.write_lossless(b.blur_subsample(truth, b.gaussian_kernel(2.6, 0.9, 0.6)), lr)
rows = []
for name, args, piped in [("--adapt none", ["--method", "onsr", "--adapt", "none"], False),
                          ("--adapt per-scene (file)", ["--method", "onsr"], False),
                          ("live, through a pipe", ["--method", "onsr", "--format", "matroska"], True)]:
    out = os.path.join(work, "o.mkv"); rep = os.path.join(work, "r.json")
    cmd = [b.BIN, "-" if piped else lr, out] + args + ["--codec", "ffv1", "--pix-fmt", "bgr0", "--overwrite", "-q", "--report", rep]
    start = time.time()
    with open(lr, "rb") as f:
        subprocess.run(cmd, stdin=f if piped else None, check=True)
    wall = time.time() - start
    r = json.load(open(rep))
    kinds = " ".join(f"{s['firstFrame']}:{s['adaptation']['kind']}" for s in r["scenes"] if s.get("adaptation"))
    took = ", ".join(f"frame {s['tookOverAtFrame']} ({s['how']})" for s in r.get("modelSwitches", []))
    rows.append((name, b.psnr_y(b.read_frames(out), truth), r["seconds"].get("adapt", 0), wall, kinds or "-", took or "-"))
print(f"{frames} frames of {os.path.basename(b.SAMPLE)} (forward/backward), blur 2.6/0.9/0.6, x2\n")
print("| run | Y-PSNR (dB) | adaptation s | wall s | adaptations (first frame: kind) | adapted model took over |")
print("| --- | --- | --- | --- | --- | --- |")
for name, psnr, adapt, wall, kinds, took in rows:
    print(f"| {name} | {psnr:.3f} | {adapt:.1f} | {wall:.1f} | {kinds} | {took} |")
print(f"\nlive - per-scene: {rows[2][1] - rows[1][1]:+.3f} dB; per-scene - none: {rows[1][1] - rows[0][1]:+.3f} dB")

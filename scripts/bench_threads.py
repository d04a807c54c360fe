#!/usr/bin/env python3
"""How idle OpenMP threads should wait (`OpenMPWaiting`): one ONSR adaptation (`onsr-video image` on a crop of the
shipped sample, STEPS steps, single pass) timed under each libgomp setting of SETTINGS, three ways, runs alternating
between the settings:
  alone    the job has the machine to itself;
  pair     two such jobs at once, both with the setting (two users, or two jobs of one user);
  beside   the job beside a busy loop on every core (any other program that keeps the CPU busy).
Prints min / median seconds and each setting's ratio of medians against libgomp's own default (GOMP_SPINCOUNT=300000,
what it uses when neither variable is set), with the CPU model.

usage: bench_threads.py [runs=3] [steps=60]"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_speed import BIN, SAMPLE, cpu_model  # noqa: E402

# libgomp's default is stated explicitly: left unset, onsr-video would start again with its own choice.
SETTINGS = [("libgomp default", {"GOMP_SPINCOUNT": "300000"}), ("spin 30000", {"GOMP_SPINCOUNT": "30000"}),
            ("spin 10000", {"GOMP_SPINCOUNT": "10000"}), ("spin 1000 (onsr-video)", {"GOMP_SPINCOUNT": "1000"}),
            ("passive", {"OMP_WAIT_POLICY": "passive"})]


def job(picture, work, extra, steps):
    environment = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    environment.update(extra)
    return subprocess.Popen([BIN, "image", picture, os.path.join(work, f"out-{time.perf_counter_ns()}.png"), "--steps", str(steps),
                             "--no-self-ensemble", "--overwrite", "-q"], env=environment)


def timed(processes):
    start = time.perf_counter()
    for process in processes:
        if process.wait() != 0:
            raise SystemExit("bench-threads: onsr-video failed")
    return time.perf_counter() - start


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    cores = os.cpu_count()
    print(f"{cpu_model()}, {cores} cores; ONSR image adaptation, {steps} steps, {runs} runs")
    times = {(name, way): [] for name, _ in SETTINGS for way in ("alone", "pair", "beside")}
    with tempfile.TemporaryDirectory() as work:
        picture = os.path.join(work, "crop.png")
        subprocess.run(["ffmpeg", "-v", "error", "-i", SAMPLE, "-vf", "select=eq(n\\,30),crop=160:128:60:20", "-frames:v", "1",
                        picture], check=True)
        for _ in range(runs):
            for name, extra in SETTINGS:
                times[(name, "alone")].append(timed([job(picture, work, extra, steps)]))
                times[(name, "pair")].append(timed([job(picture, work, extra, steps), job(picture, work, extra, steps)]))
                hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
                try:
                    times[(name, "beside")].append(timed([job(picture, work, extra, steps)]))
                finally:
                    for hog in hogs:
                        hog.kill()
                        hog.wait()
    print("| setting | alone: min / median s | ratio | pair: min / median s | ratio | beside busy loops: min / median s | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    base = {way: statistics.median(times[(SETTINGS[0][0], way)]) for way in ("alone", "pair", "beside")}
    for name, _ in SETTINGS:
        cells = []
        for way in ("alone", "pair", "beside"):
            values = times[(name, way)]
            cells.append(f"{min(values):.2f} / {statistics.median(values):.2f} | {statistics.median(values) / base[way]:.2f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

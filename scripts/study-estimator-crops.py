#!/usr/bin/env python3
"""The blur estimator's error on the training-set crop sets, the measure the estimator studies fix their first rule on
(docs/onsr-study.md: "Two more readings of the estimate", "A kernel corrector"): for every crop set, seed and
degradation, `onsr-video eval --photos CROPS_i --methods estimator --seed N [--degradation D] --json J`, then per
degradation over all crop-kernel pairs the mean |log(estimated / true total variance)|, its mean (the bias), the mean
kernel NCC and how many sizes were read over 20% small and over 25% large; for bicubic-only input, how many crops were
called "no blur".

    python3 scripts/study-estimator-crops.py [--sets 0 1 2 3] [--blind-seeds 9 10 11 12] [--wide-seeds 9 10]
        [--bicubic-seeds 1] [--crops DIR] [-- EXTRA EVAL OPTIONS, e.g. --corrector C.safetensors or --estimator E]

The crop sets are made by `scripts/make-train-crops.py DIR/set-i 384 4 i` where missing (after scripts/setup-data);
`--crops` picks where they live (default: $TMPDIR/onsr-train-crops). Runs take about a second each on two cores.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("ONSR_VIDEO_BIN", os.path.join(ROOT, ".build/release/onsr-video"))


def crop_set(folder, index):
    """The folder of crop set `index`, made where it is missing or empty."""
    path = os.path.join(folder, f"set-{index}")
    if not (os.path.isdir(path) and os.listdir(path)):
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make-train-crops.py"), path, "384", "4", str(index)],
                       check=True, stdout=subprocess.DEVNULL)
    return path


def readings(photos, seed, degradation, extra, work):
    """The estimator report's items for one crop set, seed and degradation."""
    stem = os.path.join(work, "report")
    command = [BIN, "eval", "--photos", photos, "--methods", "estimator", "--seed", str(seed),
               "--degradation", degradation, "--json", stem, *extra]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    with open(stem + ".estimator.json") as f:
        return json.load(f)["items"]


def summary(items):
    """One line of statistics over blurred cases, or the no-blur calls over bicubic-only ones."""
    blurred = [i for i in items if i.get("trueTrace")]
    if not blurred:
        called = sum(1 for i in items if i["noBlurProbability"] > 0.7)
        return f"n={len(items)} called no-blur {called}"
    errors = [math.log(i["estimatedTrace"] / i["trueTrace"]) for i in blurred]
    mean = lambda values: sum(values) / len(values)
    small = sum(1 for i in blurred if i["estimatedTrace"] < 0.8 * i["trueTrace"])
    large = sum(1 for i in blurred if i["estimatedTrace"] > 1.25 * i["trueTrace"])
    return (f"n={len(blurred)} |log size error| {mean([abs(e) for e in errors]):.4f} bias {mean(errors):+.4f} "
            f"NCC {mean([i['ncc'] for i in blurred]):.4f} read >20% small {small} >25% large {large}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--blind-seeds", type=int, nargs="*", default=[9, 10, 11, 12])
    parser.add_argument("--wide-seeds", type=int, nargs="*", default=[9, 10])
    parser.add_argument("--bicubic-seeds", type=int, nargs="*", default=[1])
    parser.add_argument("--crops", default=os.path.join(tempfile.gettempdir(), "onsr-train-crops"))
    arguments, extra = parser.parse_known_args()
    extra = [a for a in extra if a != "--"]
    if not os.access(BIN, os.X_OK):
        sys.exit(f"study-estimator-crops: {BIN} is missing: run scripts/setup first")
    folders = {index: crop_set(arguments.crops, index) for index in arguments.sets}
    with tempfile.TemporaryDirectory() as work:
        for degradation, seeds in [("blind", arguments.blind_seeds), ("wide", arguments.wide_seeds),
                                   ("bicubic", arguments.bicubic_seeds)]:
            items = [item for index in arguments.sets for seed in seeds
                     for item in readings(folders[index], seed, degradation, extra, work)]
            if items:
                print(f"{degradation:8s} {summary(items)}", flush=True)


if __name__ == "__main__":
    main()

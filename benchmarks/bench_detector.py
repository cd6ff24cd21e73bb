"""Speed and memory of the learned defect detector on a CPU.

Prints a markdown table: megapixels per second on a 2048 x 2048 RGB image
(torch limited to ``--threads`` threads, best of ``--repeats`` runs after a
warm-up) and the peak resident memory of a fresh process that scores an
8192 x 8192 RGB image: through ``learned_scores`` on a float32 plane (float32
scores, and scores written into a float16 ``out``) and through the public
``napari_mend.detect`` on a uint8 image.

    python benchmarks/bench_detector.py [--model detector] [--threads 2] [--skip-memory]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time

import numpy as np

MEMORY_CHILD = r"""
import json, resource, sys, time
import numpy as np
import torch
torch.set_num_threads({threads})
side, how, model = {side}, {how!r}, {model!r}
rng = np.random.default_rng(0)
image = (rng.random((side // 64, side // 64, 3)) * 255).astype(np.uint8)
image = np.kron(image, np.ones((64, 64, 1), np.uint8))  # blocky, cheap to make
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if how.startswith("learned_scores"):
    from napari_mend.detection.learned import learned_scores
    plane = image.astype(np.float32) / 255
    del image
    out = np.empty((6, side, side), np.float16) if how.endswith("float16") else None
    learned_scores(plane, model=model, out=out)
else:
    import napari_mend as nm
    nm.detect(image, channel_axis=-1, model=model)
print(json.dumps({{"seconds": time.perf_counter() - start,
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "start_kib": base}}))
"""


def test_image(side: int) -> np.ndarray:
    """A natural-looking float32 RGB plane: astronaut tiled to ``side`` x ``side``."""
    from skimage import data

    tile = data.astronaut().astype(np.float32) / 255
    reps = -(-side // tile.shape[0])
    return np.ascontiguousarray(np.tile(tile, (reps, reps, 1))[:side, :side])


def speed(model: str, threads: int, repeats: int, side: int = 2048) -> dict:
    import torch

    from napari_mend.detection.learned import learned_scores

    torch.set_num_threads(threads)
    plane = test_image(side)
    learned_scores(plane[:512, :512], model=model)  # load, fuse, warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        learned_scores(plane, model=model)
        times.append(time.perf_counter() - start)
    best = min(times)
    return {"side": side, "seconds_best": best, "seconds_all": times,
            "megapixels_per_s": side * side / best / 1e6}


def memory(model: str, threads: int, how: str, side: int = 8192) -> dict:
    code = MEMORY_CHILD.format(threads=threads, side=side, how=how, model=model)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"side": side, "how": how, "seconds": result["seconds"],
            "peak_mib": result["peak_kib"] / 1024, "before_image_mib": result["start_kib"] / 1024}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="detector")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args(argv)
    import torch

    print(f"python {platform.python_version()}, torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, threads={args.threads}, model={args.model}\n")
    print("| measurement | value |\n|---|---|")
    if not args.skip_speed:
        s = speed(args.model, args.threads, args.repeats)
        print(f"| 2048x2048 RGB, learned_scores, best of {args.repeats} (s) | {s['seconds_best']:.2f} |")
        print(f"| 2048x2048 RGB, megapixels per second | {s['megapixels_per_s']:.2f} |")
    if not args.skip_memory:
        for how in ("learned_scores", "learned_scores out=float16", "detect"):
            m = memory(args.model, args.threads, how)
            print(f"| 8192x8192 RGB, {how}, peak resident memory (MiB) | {m['peak_mib']:.0f} |")
            print(f"| 8192x8192 RGB, {how}, seconds | {m['seconds']:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

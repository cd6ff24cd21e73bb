"""Speed and memory of the fills on large images; prints markdown tables.

    python benchmarks/bench_inpainter.py            # all cases
    python benchmarks/bench_inpainter.py --quick    # smaller images, for a smoke test

Cases (targets from the learned-inpainting issue):

1. 4096x4096 RGB with 0.5% of its area in thin scratches (1-3 px): ``auto``
   and ``learned`` against OpenCV Telea on the same input (target: ``auto``
   within 3x Telea's time).
2. 2048x2048 RGB with one 10% hole: ``learned`` and ``auto`` (target: under
   10 s).
3. 8192x8192 RGB uint8 through ``napari_mend.inpaint(method='auto')`` with
   thin scratches and a blotch: peak resident memory of a fresh process
   (target: under 1.5 GB), next to the memory of the process holding only
   the input and mask.

Times are wall clock, best of ``--repeat`` runs, with the torch threads
that the machine offers (``torch.get_num_threads()``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np


def test_image(size: int) -> np.ndarray:
    """A corpus photograph scaled to ``size`` x ``size`` RGB float32 in [0, 1]."""
    import cv2

    from napari_mend.synthesis import load_corpus_image

    image = load_corpus_image("astronaut")
    return np.clip(cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC), 0, 1)


def thin_scratches(size: int, coverage: float, seed: int = 0) -> np.ndarray:
    """Random gently curved scratches 1-3 px wide until ``coverage`` of the area is masked."""
    import cv2

    rng = np.random.default_rng(seed)
    mask = np.zeros((size, size), np.uint8)
    while mask.mean() < coverage:
        start = rng.uniform(0, size, 2)
        angle = rng.uniform(0, np.pi)
        length = rng.uniform(0.1, 0.6) * size
        t = np.linspace(0, 1, 64)[:, None]
        direction = np.array([np.cos(angle), np.sin(angle)])
        normal = np.array([-direction[1], direction[0]])
        bend = rng.uniform(-0.05, 0.05) * length * np.sin(np.pi * t)
        points = start + t * length * direction + bend * normal
        cv2.polylines(mask, [np.round(points).astype(np.int32)], False, 1,
                      thickness=int(rng.integers(1, 4)))
    return mask.astype(bool)


def one_hole(size: int, fraction: float) -> np.ndarray:
    """A single irregular hole of ``fraction`` of the area, in the middle."""
    yy, xx = np.mgrid[:size, :size]
    radius = np.sqrt(fraction * size * size / np.pi)
    angle = np.arctan2(yy - size / 2, xx - size / 2)
    edge = radius * (1 + 0.15 * np.sin(3 * angle) + 0.08 * np.sin(7 * angle + 1))
    return np.hypot(yy - size / 2, xx - size / 2) < edge


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def speed(size_scratch: int, size_hole: int, repeat: int) -> list[tuple]:
    from napari_mend.inpainting.auto import fill_auto
    from napari_mend.inpainting.classical import fill_telea
    from napari_mend.inpainting.learned import fill_learned

    rows = []
    image = test_image(size_scratch)
    mask = thin_scratches(size_scratch, 0.005)
    fill_learned(image[:256, :256], mask[:256, :256])  # load the model
    telea = best_time(lambda: fill_telea(image, mask), repeat)
    case = f"{size_scratch}x{size_scratch} RGB, {100 * mask.mean():.2f}% thin scratches"
    rows.append((case, "telea", telea, 1.0))
    for name, fn in (("auto", fill_auto), ("learned", fill_learned)):
        t = best_time(lambda: fn(image, mask), repeat)
        rows.append((case, name, t, t / telea))
    image = test_image(size_hole)
    mask = one_hole(size_hole, 0.10)
    case = f"{size_hole}x{size_hole} RGB, one {100 * mask.mean():.1f}% hole"
    telea = best_time(lambda: fill_telea(image, mask), repeat)
    rows.append((case, "telea", telea, 1.0))
    for name, fn in (("auto", fill_auto), ("learned", fill_learned)):
        t = best_time(lambda: fn(image, mask), repeat)
        rows.append((case, name, t, t / telea))
    return rows


_MEMORY_CHILD = r"""
import json, resource, sys
import numpy as np
sys.path[:0] = {path!r}
size, run = {size}, {run}
from bench_inpainter import one_hole, thin_scratches
rng = np.random.default_rng(0)
image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
mask = thin_scratches(size, 0.005)
mask[:size // 4, :size // 4] |= one_hole(size // 4, 0.1)
if run:
    import napari_mend
    napari_mend.inpaint(image, mask, channel_axis=-1, method="auto")
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20))
"""


def memory(size: int) -> list[tuple]:
    from pathlib import Path

    import napari_mend

    path = [str(Path(__file__).parent), str(Path(napari_mend.__file__).parent.parent)]
    peaks = []
    for run in (0, 1):
        code = _MEMORY_CHILD.format(path=path, size=size, run=run)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        peaks.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return [(f"{size}x{size} RGB uint8, inputs only", peaks[0]),
            (f"{size}x{size} RGB uint8, inpaint(method='auto')", peaks[1])]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    import torch

    sizes = (1024, 512, 1024) if args.quick else (4096, 2048, 8192)
    print(f"torch threads: {torch.get_num_threads()}\n")
    print("| case | method | seconds | x Telea |\n|---|---|---|---|")
    for case, name, t, ratio in speed(sizes[0], sizes[1], args.repeat):
        print(f"| {case} | {name} | {t:.2f} | {ratio:.2f} |")
    print("\n| case | peak resident memory (GB) |\n|---|---|")
    for case, peak in memory(sizes[2]):
        print(f"| {case} | {peak:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Speed and memory of the fills on large images; prints markdown tables.

    python benchmarks/bench_inpainter.py            # all cases
    python benchmarks/bench_inpainter.py --quick    # smaller images, for a smoke test
    python benchmarks/bench_inpainter.py --skip-speed   # the memory table only

Cases (targets from the learned-inpainting issue):

1. 4096x4096 RGB with 0.5% of its area in thin scratches (1-3 px): ``auto``
   and ``learned`` against OpenCV Telea on the same input (target: ``auto``
   within 3x Telea's time).
2. 2048x2048 RGB with one 10% hole: ``learned`` and ``auto`` (target: under
   10 s).
3. 8192x8192 RGB with thin scratches and a blotch: peak resident memory of
   a fresh process (target: under 1.5 GB) through ``napari_mend.inpaint``
   (uint8 input) and through ``fill_auto`` filling a float32 plane in place,
   next to the memory of a process holding only the uint8 input and mask.

Times are wall clock, best of ``--repeat`` runs, with the torch threads
that the machine offers (``torch.get_num_threads()``) or ``--threads``. The
speed rows also give the PSNR of the fill inside the holes (data range 1).
``--image`` names the corpus image enlarged to the test size (default
``astronaut``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from functools import partial

import numpy as np


def test_image(size: int, name: str = "astronaut") -> np.ndarray:
    """A corpus image scaled to ``size`` x ``size`` RGB float32 in [0, 1]."""
    import cv2

    from napari_mend.synthesis import load_corpus_image

    image = load_corpus_image(name)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
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


def best_time(fn, repeat: int) -> tuple:
    """The least wall-clock time of ``repeat`` calls of ``fn``, and its last result."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def hole_psnr(filled: np.ndarray, image: np.ndarray, mask: np.ndarray) -> float:
    error = np.mean((np.clip(filled[mask], 0, 1) - image[mask]) ** 2, dtype=np.float64)
    return float(10 * np.log10(1 / max(error, 1e-12)))


def speed(size_scratch: int, size_hole: int, repeat: int, model: str = "inpainter",
          image_name: str = "astronaut"):
    """Yield ``(case, method, seconds, ratio to Telea, PSNR in the holes)`` rows as measured."""
    from napari_mend.inpainting.auto import fill_auto
    from napari_mend.inpainting.classical import fill_telea
    from napari_mend.inpainting.learned import fill_learned

    # the learned fill alone is left out on thin scratches: it runs the network along every
    # scratch (minutes at 4096 px on 2 cores), which is why auto fills them classically
    cases = ((size_scratch, thin_scratches(size_scratch, 0.005), "thin scratches", ("auto",)),
             (size_hole, one_hole(size_hole, 0.10), "hole", ("auto", "learned")))
    fills = {"auto": partial(fill_auto, model=model), "learned": partial(fill_learned, model=model)}
    for size, mask, what, methods in cases:
        image = test_image(size, image_name)
        fills["learned"](image[:256, :256], mask[:256, :256])  # load the model
        case = f"{size}x{size} RGB, {100 * mask.mean():.2f}% {what}"
        telea, filled = best_time(lambda: fill_telea(image, mask), repeat)
        yield case, "telea", telea, 1.0, hole_psnr(filled, image, mask)
        for name in methods:
            t, filled = best_time(lambda: fills[name](image, mask), repeat)
            yield case, name, t, t / telea, hole_psnr(filled, image, mask)


_MEMORY_CHILD = r"""
import json, resource, sys
import numpy as np
sys.path[:0] = {path!r}
size, run = {size}, {run!r}
from bench_inpainter import one_hole, thin_scratches
rng = np.random.default_rng(0)
if run == "plane":
    image = rng.random((size, size, 3), dtype=np.float32)
else:
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
mask = thin_scratches(size, 0.005)
mask[:size // 4, :size // 4] |= one_hole(size // 4, 0.1)
if run == "api":
    import napari_mend
    napari_mend.inpaint(image, mask, channel_axis=-1, method="auto")
if run == "plane":
    from napari_mend.inpainting.auto import fill_auto
    fill_auto(image, mask, out=image)
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20))
"""


def memory(size: int) -> list[tuple]:
    from pathlib import Path

    import napari_mend

    path = [str(Path(__file__).parent), str(Path(napari_mend.__file__).parent.parent)]
    rows = []
    for run, case in (("none", "RGB uint8 image and mask only"),
                      ("api", "RGB uint8, napari_mend.inpaint(method='auto')"),
                      ("plane", "float32 plane, fill_auto(plane, mask, out=plane)")):
        code = _MEMORY_CHILD.format(path=path, size=size, run=run)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        rows.append((f"{size}x{size} {case}", json.loads(out.stdout.strip().splitlines()[-1])))
    return rows


def main(argv=None) -> int:
    """Print the speed and memory tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's choice); on a machine busy with "
                             "other jobs, 1 thread is much faster than oversubscribed cores")
    parser.add_argument("--image", default="astronaut",
                        help="corpus image enlarged for the speed rows")
    parser.add_argument("--model", default="inpainter",
                        help="inpainter model of the speed rows (name or card path)")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args(argv)
    import os

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    sizes = (1024, 512, 1024) if args.quick else (4096, 2048, 8192)
    print(f"torch threads: {torch.get_num_threads()}, load average before: "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    if not args.skip_speed:
        print(f"image: {args.image}\n\n| case | method | seconds | x Telea | PSNR in the holes |\n"
              "|---|---|---|---|---|", flush=True)
        for case, name, t, ratio, psnr in speed(sizes[0], sizes[1], args.repeat, args.model,
                                                args.image):
            print(f"| {case} | {name} | {t:.2f} | {ratio:.2f} | {psnr:.2f} |", flush=True)
    if args.skip_memory:
        return 0
    print("\n| case | peak resident memory (GiB) |\n|---|---|")
    for case, peak in memory(sizes[2]):
        print(f"| {case} | {peak:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

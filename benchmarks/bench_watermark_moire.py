"""Speed of the watermark and moire removers; prints a markdown table.

    python benchmarks/bench_watermark_moire.py           # 512, 1024 and 2048 px
    python benchmarks/bench_watermark_moire.py --quick   # 256 px only, a smoke test
    python benchmarks/bench_watermark_moire.py --cases "one image" --sizes 2048

Cases, on a corpus photograph (``astronaut``) resized to ``size`` x ``size``
RGB float32:

* ``remove_watermark`` of one image, true mask given (a diagonal text mark,
  ``synthesis.add_watermark``, opacity 0.4; OpenCV installed), and of one
  image with a single logo (``layout='single'``) covering part of it, and
  of the first given a rough hint (the mark's region grown by 6 px), and of
  one image with a tiled logo (``layout='tiled'``: its copies are used too);
* ``remove_watermark`` of a collection of 8 such images sharing the mark,
  mark found from the images (``max_shift=0`` and ``max_shift=4``);
* ``demoire`` with ``'notch'`` and ``'learned'`` on the image with moire
  (``synthesis.add_moire``, whole image).

Times are wall clock, best of ``--repeat`` runs, in seconds and in seconds
per megapixel (per image for the collection), with the torch threads the
machine offers.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def photo(size: int) -> np.ndarray:
    from skimage.transform import resize

    from napari_mend.synthesis import load_corpus_image

    image = load_corpus_image("astronaut")
    return resize(image, (size, size), order=1, anti_aliasing=True).astype(np.float32)


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def cases(size: int):
    import napari_mend as nm
    from napari_mend.evaluation.cross import grow
    from napari_mend.synthesis import add_moire, add_watermark

    clean = photo(size)
    rng = np.random.default_rng(0)
    marked, mask, info = add_watermark(clean, rng, layout="diagonal", opacity=0.4)
    alpha, colour = info["alpha"][..., None], info["mark"]
    stack = np.stack([alpha * colour + (1 - alpha) * np.roll(clean, 37 * k, axis=1)
                      for k in range(8)]).astype(np.float32)
    logo, logo_mask, _ = add_watermark(clean, np.random.default_rng(2), layout="single",
                                       opacity=0.4)
    tiled, tiled_mask, _ = add_watermark(clean, np.random.default_rng(3), layout="tiled",
                                         opacity=0.4)
    moire, _ = add_moire(clean, np.random.default_rng(1), region=False)
    yield "remove_watermark, one image (mask given)", 1, lambda: nm.remove_watermark(
        marked, mask=mask, channel_axis=-1, fill="telea")
    yield "remove_watermark, one image, one logo (mask given)", 1, lambda: nm.remove_watermark(
        logo, mask=logo_mask, channel_axis=-1, fill="telea")
    yield "remove_watermark, one image, tiled logo (mask given)", 1, lambda: nm.remove_watermark(
        tiled, mask=tiled_mask, channel_axis=-1, fill="telea")
    hint = grow(mask, 6)  # the mark's region grown by 6 px
    yield "remove_watermark, one image (hint: mask grown by 6 px)", 1, lambda: nm.remove_watermark(
        marked, mask=hint, channel_axis=-1, fill="telea")
    yield "remove_watermark, 8 images, max_shift=0", 8, lambda: nm.remove_watermark(
        stack, channel_axis=-1, fill="telea", max_shift=0)
    yield "remove_watermark, 8 images, max_shift=4", 8, lambda: nm.remove_watermark(
        stack, channel_axis=-1, fill="telea", max_shift=4)
    yield "demoire notch", 1, lambda: nm.demoire(moire, channel_axis=-1, method="notch")
    yield "demoire learned", 1, lambda: nm.demoire(moire, channel_axis=-1, method="learned")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default="512,1024,2048")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--cases", default="",
                        help="only the cases whose name contains this text")
    args = parser.parse_args(argv)
    sizes = [256] if args.quick else [int(s) for s in args.sizes.split(",")]
    import torch

    print(f"torch threads: {torch.get_num_threads()}\n")
    print("| case | size | seconds | s / megapixel / image |")
    print("|---|---|---|---|")
    for size in sizes:
        for name, images, fn in cases(size):
            if args.cases not in name:
                continue
            seconds = best_time(fn, args.repeat)
            per = seconds / (images * size * size / 1e6)
            print(f"| {name} | {size} | {seconds:.2f} | {per:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

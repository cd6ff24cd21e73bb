"""Picture grid of the independent validation generator's samples.

    python benchmarks/independent_examples.py                 # docs/images/independent_examples.png
    python benchmarks/independent_examples.py --seed 7 --out /tmp/grid.png

One row per defect class (scratch, dust, blotch, text, watermark, moire).
Each row shows ``--columns`` damaged samples from
``napari_mend.evaluation.independent.dataset``; the second tile of every row
is the label map of the first sample (class pixels white on black).  The
image is palette-quantised to stay small.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from napari_mend.evaluation.independent import CLASSES, dataset


def _rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def grid(seed: int, size: int, columns: int) -> Image.Image:
    """Build the example grid.

    Parameters
    ----------
    seed : int
        Seed passed to ``dataset``.
    size : int
        Side of each tile in pixels.
    columns : int
        Damaged samples per row (a label tile is added after the first).

    Returns
    -------
    PIL.Image.Image
    """
    per_class: dict[int, list] = {c: [] for c in CLASSES}
    for sample in dataset(seed, columns, size):
        per_class[sample.cls].append(sample)
    gap, head = 3, 16
    width = (columns + 1) * (size + gap) + gap
    height = len(CLASSES) * (size + gap + head) + gap
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    for row, cls in enumerate(sorted(CLASSES)):
        y = gap + row * (size + gap + head)
        draw.text((gap, y + 2), f"{cls} {CLASSES[cls]}", fill=(0, 0, 0), font=font)
        samples = per_class[cls]
        tiles = [_rgb(samples[0].damaged), _rgb((samples[0].labels == cls).astype(np.float32))]
        tiles += [_rgb(s.damaged) for s in samples[1:]]
        for col, tile in enumerate(tiles):
            canvas.paste(Image.fromarray(tile), (gap + col * (size + gap), y + head))
    return canvas


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--size", type=int, default=144)
    parser.add_argument("--columns", type=int, default=3)
    parser.add_argument("--colours", type=int, default=192, help="palette size of the PNG")
    parser.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(__file__), "..", "docs", "images", "independent_examples.png"),
    )
    args = parser.parse_args(argv)
    image = grid(args.seed, args.size, args.columns)
    image = image.quantize(colors=args.colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(args.out, optimize=True)
    print(f"wrote {os.path.normpath(args.out)} ({os.path.getsize(args.out) / 1024:.0f} KB)")


if __name__ == "__main__":
    main()

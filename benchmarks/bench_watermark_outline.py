"""Single-image watermark removal with and without the outline estimate, on the OWN marks only.

The outline estimate (``napari_mend.watermark.single.outline_mark``) and its share in the
result (``OUTLINE_SHARE``) were chosen with this script, on the project's own validation
images and watermarks (``synthesis.add_watermark``), never on the independent generator:

* ``own``: the 20 single-image cases of ``napari-mend evaluate watermark``;
* ``own, two colours``: the same marks' opacity maps with the left half of the mark in one
  colour and the right half in another (random, seeded), to see marks of several colours;
* ``--soft``: also the same marks with their opacity blurred (Gaussian, sigma 1.5 and 3 px:
  soft-edged marks), the region being every pixel the mark changed by more than 1/255.

Prints the mean PSNR gain (dB) in the mark region, given the exact region, the region grown
by 6 px (a rough hint) and the region's bounding box grown by 4 px (a rectangle drawn round
the mark), for the fill-based estimate alone and for shares 0.5, 0.7 (the default) and 1 of
the outline estimate.

With ``--ghost`` it compares instead the ratio at which a mark whose inversion leaves its
outline standing out is filled (``GHOST_RATIO``, :func:`napari_mend.watermark.single.ghosted`;
the outline estimate at its default share): no such test, then 1.5 to 5.

    python benchmarks/bench_watermark_outline.py [--repeats 4] [--soft] [--ghost]
"""

from __future__ import annotations

import argparse

import numpy as np

SHARES = (None, 0.5, 0.7, 1.0)
"""``None``: the fill-based estimate alone (no outline estimate)."""

GHOST_RATIOS = (float("inf"), 1.5, 2.0, 3.0, 4.0, 5.0)
"""``--ghost``: ratios compared; ``inf``: no ghost test."""


def cases(repeats: int, kind: str):
    """``(clean, marked, region)`` of the own cases of ``kind`` (a key of :data:`KINDS`)."""
    from scipy import ndimage as ndi

    from napari_mend.evaluation.cross import validation_planes
    from napari_mend.synthesis.watermarks import add_watermark

    for i, (_, clean) in enumerate(validation_planes(64)):
        for r in range(repeats):  # the marks of own_cases (same seeds)
            rng = np.random.default_rng([5, i, r])
            marked, region, layer = add_watermark(clean, rng, opacity=rng.uniform(0.15, 0.5))
            if kind == "own":
                yield clean, marked, region
                continue
            alpha, colour = layer["alpha"], layer["mark"]
            colour = colour if colour.ndim == 3 else colour[..., None]
            if kind == "own, two colours":
                colours = np.random.default_rng([9, i, r]).uniform(0, 1, (2, clean.shape[-1]))
                columns = np.nonzero(region.any(axis=0))[0]
                left = np.arange(region.shape[1]) < (columns.min() + columns.max()) / 2
                colour = np.where(left[None, :, None], colours[0], colours[1])
            else:
                alpha = ndi.gaussian_filter(alpha, KINDS[kind])
            alpha = alpha[..., None]
            marked = (alpha * colour + (1 - alpha) * clean).astype(np.float32)
            if kind != "own, two colours":
                region = np.abs(marked - clean).max(axis=-1) > 1 / 255
            yield clean, marked, region


KINDS = {"own": None, "own, two colours": None, "own, soft (sigma 1.5)": 1.5,
         "own, soft (sigma 3)": 3.0}
"""Case families; the soft ones' value is the sigma (px) of the opacity's blur."""


def box(region: np.ndarray, margin: int = 4) -> np.ndarray:
    """The bounding box of ``region`` grown by ``margin`` px (clipped to the image)."""
    from napari_mend.watermark.matting import around

    out = np.zeros_like(region)
    out[around(region, margin)] = True
    return out


MASKS = ("exact region", "grown by 6 px", "bounding box + 4 px")


def gains(repeats: int, kind: str, share="default",
          ghost_ratio=None) -> tuple[float, float, float]:
    """Mean gains (exact, grown, box) with the outline estimate's ``share`` (``None``: no
    outline estimate; ``'default'``: the shipped share) and the ghost test's ``ghost_ratio``
    (``None``: the shipped one)."""
    import napari_mend as nm
    from napari_mend.evaluation.cross import grow, region_psnr
    from napari_mend.watermark import single

    saved = single.OUTLINE_SHARE, single.OUTLINE_MIN_PAIRS, single.GHOST_RATIO
    if share is None:
        single.OUTLINE_MIN_PAIRS = 1 << 62
    elif share != "default":
        single.OUTLINE_SHARE = share
    if ghost_ratio is not None:
        single.GHOST_RATIO = ghost_ratio
    exact, hinted, boxed = [], [], []
    try:
        for clean, marked, region in cases(repeats, kind):
            before = region_psnr(clean, marked, region)
            for mask, out in ((region, exact), (grow(region, 6), hinted), (box(region), boxed)):
                removed = nm.remove_watermark(marked, mask=mask, channel_axis=-1,
                                              method="single", fill="telea")
                out.append(region_psnr(clean, removed, region) - before)
    finally:
        single.OUTLINE_SHARE, single.OUTLINE_MIN_PAIRS, single.GHOST_RATIO = saved
    return float(np.mean(exact)), float(np.mean(hinted)), float(np.mean(boxed))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=4, help="marks per validation image")
    parser.add_argument("--soft", action="store_true", help="also soft-edged marks")
    parser.add_argument("--ghost", action="store_true",
                        help="compare the ghost test's ratios instead of the outline's shares")
    args = parser.parse_args(argv)
    print("\nMean PSNR gain (dB) in the mark region, own validation images:\n")
    if args.ghost:
        columns = [{"ghost_ratio": r} for r in GHOST_RATIOS]
        names = ["no ghost test" if r == float("inf") else f"ghost ratio {r:g}"
                 for r in GHOST_RATIOS]
    else:
        columns = [{"share": s} for s in SHARES]
        names = ["fill-based only" if s is None else f"outline share {s:g}" for s in SHARES]
    print("| cases | mask | " + " | ".join(names) + " |")
    print("|---|---|" + "---:|" * len(columns))
    kinds = list(KINDS) if args.soft else list(KINDS)[:2]
    for kind in kinds:
        results = [gains(args.repeats, kind, **column) for column in columns]
        for k, mask in enumerate(MASKS):
            print(f"| {kind} | {mask} | " + " | ".join(f"{r[k]:+.2f}" for r in results) + " |")


if __name__ == "__main__":
    main()

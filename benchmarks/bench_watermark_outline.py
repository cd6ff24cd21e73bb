"""Single-image watermark removal with and without the outline estimate, on the OWN marks only.

The outline estimate (``napari_mend.watermark.single.outline_mark``) and its share in the
result (``OUTLINE_SHARE``) were chosen with this script, on the project's own validation
images and watermarks (``synthesis.add_watermark``), never on the independent generator:

* ``own``: the 20 single-image cases of ``napari-mend evaluate watermark``;
* ``own, two colours``: the same marks' opacity maps with the left half of the mark in one
  colour and the right half in another (random, seeded), to see marks of several colours.

Prints the mean PSNR gain (dB) in the mark region, given the exact region and given the
region grown by 6 px (a rough hint), for the fill-based estimate alone and for shares 0.5,
0.7 (the default) and 1 of the outline estimate.

    python benchmarks/bench_watermark_outline.py [--repeats 4]
"""

from __future__ import annotations

import argparse

import numpy as np

SHARES = (None, 0.5, 0.7, 1.0)
"""``None``: the fill-based estimate alone (no outline estimate)."""


def cases(repeats: int, two_colours: bool):
    from napari_mend.evaluation.watermark_experiments import own_cases
    from napari_mend.synthesis.watermarks import add_watermark

    if not two_colours:
        for _, _, _, clean, marked, region in own_cases(repeats=repeats):
            yield clean, marked, region
        return
    from napari_mend.evaluation.cross import validation_planes

    for i, (_, clean) in enumerate(validation_planes(64)):
        for r in range(repeats):  # the marks of own_cases (same seeds), recoloured
            rng = np.random.default_rng([5, i, r])
            _, region, layer = add_watermark(clean, rng, opacity=rng.uniform(0.15, 0.5))
            colours = np.random.default_rng([9, i, r]).uniform(0, 1, (2, clean.shape[-1]))
            columns = np.nonzero(region.any(axis=0))[0]
            left = np.arange(region.shape[1]) < (columns.min() + columns.max()) / 2
            colour = np.where(left[None, :, None], colours[0], colours[1])
            alpha = layer["alpha"][..., None]
            yield clean, (alpha * colour + (1 - alpha) * clean).astype(np.float32), region


def gains(repeats: int, two_colours: bool, share) -> tuple[float, float]:
    import napari_mend as nm
    from napari_mend.evaluation.cross import grow, region_psnr
    from napari_mend.watermark import single

    saved = single.OUTLINE_SHARE, single.OUTLINE_MIN_PAIRS
    if share is None:
        single.OUTLINE_MIN_PAIRS = 1 << 62
    else:
        single.OUTLINE_SHARE = share
    exact, hinted = [], []
    try:
        for clean, marked, region in cases(repeats, two_colours):
            before = region_psnr(clean, marked, region)
            for mask, out in ((region, exact), (grow(region, 6), hinted)):
                removed = nm.remove_watermark(marked, mask=mask, channel_axis=-1,
                                              method="single", fill="telea")
                out.append(region_psnr(clean, removed, region) - before)
    finally:
        single.OUTLINE_SHARE, single.OUTLINE_MIN_PAIRS = saved
    return float(np.mean(exact)), float(np.mean(hinted))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=4, help="marks per validation image")
    args = parser.parse_args(argv)
    print("\nMean PSNR gain (dB) in the mark region, own validation images:\n")
    print("| cases | mask | " + " | ".join(
        "fill-based only" if s is None else f"outline share {s:g}" for s in SHARES) + " |")
    print("|---|---|" + "---:|" * len(SHARES))
    for two_colours in (False, True):
        results = [gains(args.repeats, two_colours, s) for s in SHARES]
        name = "own, two colours" if two_colours else "own"
        for k, mask in enumerate(("exact region", "grown by 6 px")):
            print(f"| {name} | {mask} | " + " | ".join(f"{r[k]:+.2f}" for r in results) + " |")


if __name__ == "__main__":
    main()

"""Single-image watermark removal with and without a repeated mark's copies, on the OWN marks.

The estimate from a mark's copies (``napari_mend.watermark.repeats``) and its share in the
result (``REPEAT_SHARE``) were chosen with this script, on the project's own validation
images and watermarks (``synthesis.add_watermark``), never on the independent generator:

* ``own, tiled``: 3 tiled marks (``layout='tiled'``: a logo on a lattice, maybe staggered
  and rotated) on each validation image of at least 64 px, seeds ``[77, image, k]``;
* ``own, any layout``: the 20 single-image cases of ``napari-mend evaluate watermark``
  (single logos, tiled logos and diagonal words; most do not repeat);

each given the exact region, the region grown by 6 px (a rough hint) as ``mask=``. Prints the
mean PSNR gain (dB) in the mark region for shares 0 (the copies not used), 0.5, 0.7 and 1,
and how many cases were found to repeat. The result is linear in the share, so each case
is removed twice (share 0 and 1) and the mixes are computed from those.

    python benchmarks/bench_watermark_repeats.py [--tiled 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

SHARES = (0.0, 0.5, 0.7, 1.0)
MASKS = ("exact region", "grown by 6 px")


def cases(kind: str, tiled: int):
    """``(clean, marked, region)`` of the own cases of ``kind``."""
    from napari_mend.evaluation.cross import validation_planes
    from napari_mend.evaluation.watermark_experiments import own_cases
    from napari_mend.synthesis.watermarks import add_watermark

    if kind == "own, any layout":
        for _, _, _, clean, marked, region in own_cases():
            yield clean, marked, region
        return
    for i, (_, clean) in enumerate(validation_planes(64)):
        for k in range(tiled):
            rng = np.random.default_rng([77, i, k])
            marked, region, _ = add_watermark(clean, rng, opacity=rng.uniform(0.15, 0.5),
                                              layout="tiled")
            yield clean, marked, region


def removed(marked, mask, share):
    import napari_mend as nm
    from napari_mend.watermark import api

    saved = api.REPEAT_SHARE
    api.REPEAT_SHARE = share
    try:
        out, provenance = nm.remove_watermark(marked, mask=mask, channel_axis=-1, method="single",
                                              fill="telea", return_provenance=True)
    finally:
        api.REPEAT_SHARE = saved
    return out, bool(provenance["parameters"]["repeated_mark_planes"])


def gains(kind: str, tiled: int):
    """Per mask: mean gains per share, and the count of cases found to repeat."""
    from napari_mend.evaluation.cross import grow, region_psnr

    rows = {m: [] for m in MASKS}
    found = {m: 0 for m in MASKS}
    n = 0
    for clean, marked, region in cases(kind, tiled):
        n += 1
        before = region_psnr(clean, marked, region)
        for name, mask in zip(MASKS, (region, grow(region, 6))):
            alone, _ = removed(marked, mask, 0.0)
            copies, repeats = removed(marked, mask, 1.0)
            found[name] += repeats
            rows[name].append([region_psnr(clean, s * copies + (1 - s) * alone, region) - before
                               for s in SHARES])
    return {m: np.mean(rows[m], axis=0) for m in MASKS}, found, n


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiled", type=int, default=3, help="tiled marks per validation image")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print("\nMean PSNR gain (dB) in the mark region, own validation images:\n")
    print("| cases | mask | found to repeat | "
          + " | ".join(f"copies' share {s:g}" for s in SHARES) + " |")
    print("|---|---|---:|" + "---:|" * len(SHARES))
    for kind in ("own, tiled", "own, any layout"):
        means, found, n = gains(kind, args.tiled)
        for mask in MASKS:
            print(f"| {kind} | {mask} | {found[mask]} of {n} | "
                  + " | ".join(f"{v:+.2f}" for v in means[mask]) + " |")
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

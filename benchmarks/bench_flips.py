"""Flip averaging of the learned detector: quality against network time (an experiment).

The detector is run on the plane as it is and on flipped copies (``--flips 2``: also turned
by 180 degrees; ``4``: also flipped up-down and left-right alone); each copy's scores are
flipped back and the calibrated scores averaged, then thresholded at 0.5 as usual. Measured
like ``napari-mend evaluate detector --methods learned --independent-per-class 16``: the own
validation images (2 damaged versions each and the clean images) and the independent
generator (16 samples per class and 16 clean images, 256 px).

    python benchmarks/bench_flips.py [--flips 1 2 4] [--independent-per-class 16]
"""

from __future__ import annotations

import argparse

import numpy as np

FLIPS = {1: [(False, False)], 2: [(False, False), (True, True)],
         4: [(False, False), (True, True), (True, False), (False, True)]}
"""Copies scored per plane: (flip rows, flip columns)."""


def flip_averaged(flips):
    """``score(plane) -> (6, M, N)``: the detector's scores averaged over ``flips``."""
    from napari_mend.detection.learned import learned_scores

    def score(plane):
        total = None
        for rows, cols in flips:
            piece = plane[::-1 if rows else 1, ::-1 if cols else 1]
            scores = learned_scores(np.ascontiguousarray(piece))
            scores = scores[:, ::-1 if rows else 1, ::-1 if cols else 1]
            total = scores.copy() if total is None else total + scores
        return total / len(flips)

    return score


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flips", type=int, nargs="+", choices=sorted(FLIPS), default=[1, 2, 4])
    parser.add_argument("--independent-per-class", type=int, default=16)
    args = parser.parse_args(argv)
    from napari_mend.evaluation.detector import comparison_table, evaluate

    scorers = {f"{n} flips" if n > 1 else "as it is": flip_averaged(FLIPS[n]) for n in args.flips}
    results = evaluate(scorers=scorers, independent_per_class=args.independent_per_class)
    print(comparison_table(results))
    print("\nseconds per megapixel (own images): " + ", ".join(
        f"{name} {r['seconds_per_megapixel']}" for name, r in results["methods"].items()))


if __name__ == "__main__":
    main()

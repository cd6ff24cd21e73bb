"""Detector thresholds calibrated on whole own images instead of crops (an experiment).

Training calibrates the card's per-class ``thresholds`` on 256-pixel validation crops. Whole
images are scored otherwise (overlapping tiles, the coarse passes, the moire check, clean
areas far larger than a crop's), so the thresholds of best F1 on the crops need not be the
ones on whole images. Here each class's threshold is chosen as the one of best pixel F1 on the
whole own validation images (each clean once, every pixel flagged there a false positive, and
damaged ``--repeats`` times by the own synthesiser with seed ``--seed``, 7: not the 2024 of the
evaluation tables), counted as ``napari-mend evaluate detector`` counts a class (its score
reaching the threshold). The choice is a threshold ``u`` on the card's calibrated scores; the
card's raw threshold becomes the probability that reaches it, ``sigmoid(logit(u) +
logit(t))``. A copy of the detector with those thresholds (the same weights) is then measured
like ``napari-mend evaluate detector --methods learned --independent-per-class 16`` beside
the detector as it is: the own images with seed 2024 and the independent generator (reporting
only: nothing here is chosen on it).

    python benchmarks/bench_whole_image_thresholds.py [--model detector] [--seed 7]
                                                      [--repeats 4] [--independent-per-class 16]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

GRID = np.round(np.concatenate([[0.01, 0.02, 0.03, 0.05], np.arange(0.1, 0.91, 0.05),
                                [0.95, 0.97, 0.98, 0.99]]), 3)
"""Thresholds tried on the calibrated scores (0.5 keeps the card's threshold)."""


def count_by_threshold(cases, score, grid=GRID) -> np.ndarray:
    """Pixel counts ``(6, T, 3)``: true positives, false positives (clean images included) and
    false negatives of each class, counted on its own, at each threshold of ``grid`` (as the
    training's crop calibration counts them, ``counts_at_thresholds``)."""
    from napari_mend.evaluation.cross import as_plane
    from napari_mend.training.detector import counts_at_thresholds

    counts = 0
    for _, plane, truth in cases:
        scores = np.asarray(score(as_plane(plane)), np.float64)
        if truth is None:  # a clean image: every pixel flagged is a false positive
            truth = np.zeros(scores.shape, bool)
        counts = counts + counts_at_thresholds(scores[None], truth[None], grid)
    return counts


def best_thresholds(counts, grid=GRID) -> dict:
    """Per class: the threshold of best F1 (the one nearest 0.5 among equals; 0.5 where no
    threshold finds anything), with its F1 and the F1 at 0.5."""
    from napari_mend.classes import SCORED_CLASSES
    from napari_mend.evaluation.cross import prf_iou

    f1 = prf_iou(*np.moveaxis(counts, -1, 0))[2]
    middle = int(np.argmin(np.abs(grid - 0.5)))
    choice = {}
    for k, name in enumerate(SCORED_CLASSES.values()):
        ties = np.flatnonzero(f1[k] >= f1[k].max() - 1e-12)
        i = int(ties[np.argmin(np.abs(grid[ties] - 0.5))]) if f1[k].max() > 0 else middle
        choice[name] = (float(grid[i]), float(f1[k, i]), float(f1[k, middle]))
    return choice


def shifted(card: dict, choice: dict) -> dict:
    """The card's raw thresholds moved so that its calibrated scores reaching ``u`` (the
    choice's) now score 0.5: ``sigmoid(logit(t) + logit(u))``, with the detector's own logits
    (``calibration_offsets``)."""
    from napari_mend.detection.learned import calibration_offsets

    logits = calibration_offsets(card) + calibration_offsets(
        {"thresholds": {name: u for name, (u, _, _) in choice.items()}})
    return {name: round(float(1 / (1 + np.exp(-logit))), 6)
            for name, logit in zip(choice, logits.astype(np.float64))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="detector")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--independent-per-class", type=int, default=16)
    args = parser.parse_args(argv)

    from napari_mend.detection.learned import learned_scores
    from napari_mend.evaluation.detection_cases import own_cases
    from napari_mend.evaluation.detector import evaluate
    from napari_mend.models.networks import card_path
    from napari_mend.models.registry import model_card

    card = model_card(args.model)
    counts = count_by_threshold(own_cases(repeats=args.repeats, seed=args.seed),
                                lambda plane: learned_scores(plane, model=args.model))
    choice = best_thresholds(counts)
    print(f"Thresholds of best F1 on the whole own validation images ({args.repeats} damaged "
          f"versions each, seed {args.seed}, and the clean images):\n")
    print("| class | threshold on the scores | raw threshold, card -> whole images | "
          "F1 at 0.5 | F1 at the threshold |")
    print("|---|---:|---|---:|---:|")
    thresholds = shifted(card, choice)
    for name, (u, f1, f1_middle) in choice.items():
        print(f"| {name} | {u:.2f} | {card['thresholds'][name]:.4g} -> {thresholds[name]:.4g} "
              f"| {f1_middle:.3f} | {f1:.3f} |")

    source = card_path(args.model)
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "detector_whole_image.json"
        shutil.copy(source.with_suffix(".pt"), copy.with_suffix(".pt"))
        copy.write_text(json.dumps(dict(card, thresholds=thresholds)))
        results = {label: evaluate(methods=("learned",), model=model,
                                   independent_per_class=args.independent_per_class)
                   for label, model in (("crops", args.model), ("whole images", str(copy)))}

    print(f"\nMeasured at 0.5 (own: the validation images, 2 damaged versions each, seed 2024, "
          f"and the clean images; independent: {args.independent_per_class} samples per class "
          "and as many clean images, 256 px), P / R / F1 (thresholds calibrated on crops, as "
          "shipped -> on whole images):\n")
    print("| class | own | independent |")
    print("|---|---|---|")

    def cell(per_class):
        return f"{per_class['precision']:.3f} / {per_class['recall']:.3f} / {per_class['f1']:.3f}"

    def methods(result, where):
        return (result if where == "own" else result["independent"])["methods"]["learned"]

    for name in choice:
        row = [" -> ".join(cell(methods(results[label], where)["per_class"][name])
                           for label in results) for where in ("own", "independent")]
        print(f"| {name} | {row[0]} | {row[1]} |")
    row = [" -> ".join(f"{100 * methods(results[r], where)['clean_false_alarm']:.2f}"
                       for r in results) for where in ("own", "independent")]
    print(f"| clean pixels flagged (%) | {row[0]} | {row[1]} |")
    print("\nClean pixels flagged per class (%), own / independent:\n")
    print("| class | own | independent |")
    print("|---|---|---|")
    for name in choice:
        row = [" -> ".join(
            f"{100 * methods(results[r], where)['per_class'][name]['clean_false_alarm']:.3f}"
            for r in results) for where in ("own", "independent")]
        print(f"| {name} | {row[0]} | {row[1]} |")


if __name__ == "__main__":
    main()

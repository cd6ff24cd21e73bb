"""Which classes :func:`napari_mend.restore` mends unattended, and at which thresholds.

An unattended restore changes pixels nobody looks at, so a class is mended
by default only where its detections are nearly always right:

1. each class's threshold is calibrated on the project's own validation
   images and defects: the lowest threshold at which the class's pixel
   precision reaches :data:`OWN_PRECISION` (false alarms on clean images
   count against it); a class that never reaches it gets the threshold of
   its highest precision;
2. at that threshold the class is measured on the independent generator
   (:mod:`napari_mend.evaluation.independent`: other images, other
   defects, never used for training or calibration); the class is mended
   unattended only if its precision there is at least :data:`MIN_PRECISION`.

``napari-mend evaluate detector --unattended --write-card`` stores the
result in the detector's card (``inference.restore_thresholds``,
``inference.restore_classes`` and the measured ``unattended`` record).
"""

from __future__ import annotations

import numpy as np

from ..classes import N_SCORED, SCORED_CLASSES
from .cross import INDEPENDENT_SEED, as_plane, prf_iou
from .detection_cases import independent_cases, own_cases

OWN_PRECISION = 0.95
"""Pixel precision a class must reach on the own validation images (its threshold)."""
MIN_PRECISION = 0.8
"""Pixel precision a class must keep on the independent generator to be mended unattended."""
THRESHOLDS = (*(round(float(t), 2) for t in np.arange(0.30, 0.91, 0.05)), 0.92, 0.94, 0.96, 0.98)
"""Thresholds tried (finer near 1, where the most certain detections are told apart)."""


def count_detections(cases, score, thresholds=THRESHOLDS) -> np.ndarray:
    """Pixel counts ``(T, 6, 3)``: true positives, false positives (clean images included) and
    false negatives of each class at each threshold.

    ``cases`` yields ``(name, plane, truth)`` (:mod:`.detection_cases`): truth bool
    ``(6, M, N)``, or None for a clean image; ``score(plane) -> (6, M, N)`` scores. A pixel is labelled as
    :func:`napari_mend.detection.scores.scores_to_labels` does with one threshold: its
    best class, where that class's score reaches the threshold.
    """
    counts = np.zeros((len(thresholds), N_SCORED, 3), np.int64)
    for _, plane, truth in cases:
        scores = score(as_plane(plane))
        best, top = scores.argmax(axis=0), scores.max(axis=0)
        for i, t in enumerate(thresholds):
            hit = top >= max(t, 1e-6)
            for k in range(N_SCORED):
                found = hit & (best == k)
                if truth is None:
                    counts[i, k, 1] += found.sum()
                    continue
                counts[i, k, 0] += (found & truth[k]).sum()
                counts[i, k, 1] += (found & ~truth[k]).sum()
                counts[i, k, 2] += (~found & truth[k]).sum()
    return counts


def choose(own: np.ndarray, independent: np.ndarray, thresholds=THRESHOLDS, *,
           own_precision: float = OWN_PRECISION, min_precision: float = MIN_PRECISION) -> dict:
    """Per class: the threshold chosen on ``own`` counts, and whether the ``independent``
    counts at that threshold allow unattended mending (see the module notes).

    Returns
    -------
    choice : dict
        ``{class: {'threshold', 'own_precision', 'own_recall', 'independent_precision',
        'independent_recall', 'mended'}}``.
    """
    own_p, own_r = prf_iou(*np.moveaxis(own, -1, 0))[:2]
    ind_p, ind_r = prf_iou(*np.moveaxis(independent, -1, 0))[:2]
    choice = {}
    for k, name in enumerate(SCORED_CLASSES.values()):
        reached = np.flatnonzero(own_p[:, k] >= own_precision)
        i = int(reached[0]) if reached.size else int(np.argmax(own_p[:, k]))
        choice[name] = {
            "threshold": float(thresholds[i]),
            "own_precision": round(float(own_p[i, k]), 3),
            "own_recall": round(float(own_r[i, k]), 3),
            "independent_precision": round(float(ind_p[i, k]), 3),
            "independent_recall": round(float(ind_r[i, k]), 3),
            "mended": bool(reached.size) and float(ind_p[i, k]) >= min_precision,
        }
    return choice


def unattended_settings(score, *, repeats: int = 2, seed: int = 2024, n_per_class: int = 8,
                        n_clean: int = 8, size: int = 256,
                        independent_seed: int = INDEPENDENT_SEED) -> dict:
    """Measure and choose the unattended settings of a detector ``score(plane)``.

    Returns
    -------
    settings : dict
        ``{'classes': {...}}`` as from :func:`choose`, ``'restore_classes'`` (the
        classes mended unattended), ``'restore_thresholds'`` (every class's
        threshold), and the rules and data: ``'own_precision'``,
        ``'min_precision'``, ``'own': {'repeats', 'seed'}``, ``'independent':
        {'per_class', 'clean', 'size', 'seed'}``.
    """
    own = count_detections(own_cases(repeats=repeats, seed=seed), score)
    independent = count_detections(independent_cases(
        n_per_class=n_per_class, n_clean=n_clean, size=size, seed=independent_seed), score)
    classes = choose(own, independent)
    return {"classes": classes,
            "restore_classes": [c for c, v in classes.items() if v["mended"]],
            "restore_thresholds": {c: v["threshold"] for c, v in classes.items()},
            "own_precision": OWN_PRECISION, "min_precision": MIN_PRECISION,
            "own": {"repeats": repeats, "seed": seed},
            "independent": {"per_class": n_per_class, "clean": n_clean, "size": size,
                            "seed": independent_seed}}


def settings_table(settings: dict) -> str:
    """Markdown table of :func:`unattended_settings`."""
    rows = ["| class | threshold (own) | precision own | recall own | precision independent "
            "| recall independent | mended unattended |",
            "|---|---|---|---|---|---|---|"]
    for name, v in settings["classes"].items():
        rows.append(f"| {name} | {v['threshold']:.2f} | {v['own_precision']:.2f} | "
                    f"{v['own_recall']:.2f} | {v['independent_precision']:.2f} | "
                    f"{v['independent_recall']:.2f} | {'yes' if v['mended'] else 'no'} |")
    return "\n".join(rows)

"""Burned-in text on larger scans: the detector's text F1 as the text grows.

The detector was trained on text 7 to 18 px high. Each validation image of at least 128 px a
side (``napari_mend.synthesis.corpus_images('val')``, never trained on) is damaged three times
with text by the training synthesiser, then the damaged image is enlarged ``S`` times
(bilinear; its text labels by nearest neighbour), as a scan at ``S`` times the resolution shows
it: text ``7 S`` to ``18 S`` px high. The clean images are enlarged alike and scored for the
pixels they flag as text. Pixel counts are pooled over the images.

    python benchmarks/bench_large_text.py [--scales 1 2 3] [--cards detector other.json ...]
                                          [--complete]

``--cards`` are detector model names or card paths (a copy of the shipped card with other
``inference`` settings, beside a copy of its weights, compares those settings). With
``--complete`` each card's rows are followed by the same detections after text completion
(:func:`napari_mend.complete_text`, as ``restore`` and ``deidentify`` run it).
"""

from __future__ import annotations

import argparse

import numpy as np

TEXT = 3
"""Index of text among the detector's scores (``DEFECT_CLASSES`` order)."""


def enlarged(plane, scale, order):
    """``plane`` (M, N, C) in [0, 1] enlarged ``scale`` times (``order`` 1 bilinear, 0 nearest)."""
    from skimage.transform import rescale

    if scale == 1:
        return plane
    return np.clip(rescale(plane, scale, order=order, channel_axis=-1, preserve_range=True,
                           anti_aliasing=False), 0, 1).astype(np.float32)


def cases(scale):
    """``(damaged plane, text truth)`` pairs and clean planes, enlarged ``scale`` times."""
    from napari_mend.synthesis import corpus_images, synthesize_defects

    damaged, clean = [], []
    for name, image in corpus_images("val"):
        if min(image.shape[:2]) < 128:
            continue
        image = np.asarray(image, np.float32)
        for repeat in range(3):
            made = synthesize_defects(image, rng=np.random.default_rng([7, repeat, len(name)]),
                                      classes=["text"],
                                      channel_axis=None if image.ndim == 2 else -1)
            marked = np.asarray(made.image, np.float32)
            truth = (np.asarray(made.labels) == TEXT + 1)[..., None].astype(np.float32)
            damaged.append((enlarged(marked[..., None] if marked.ndim == 2 else marked, scale, 1),
                            enlarged(truth, scale, 0)[..., 0] > 0.5))
        clean.append(enlarged(image[..., None] if image.ndim == 2 else image, scale, 1))
    return damaged, clean


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 2, 3])
    parser.add_argument("--cards", nargs="+", default=["detector"])
    parser.add_argument("--complete", action="store_true",
                        help="also the detections after text completion")
    args = parser.parse_args(argv)
    from napari_mend import complete_text
    from napari_mend.detection.learned import learned_scores
    from napari_mend.evaluation.cross import prf_iou

    print("| text enlarged | card | precision | recall | F1 | clean pixels flagged as text |")
    print("|---:|---|---:|---:|---:|---:|")
    for scale in args.scales:
        damaged, clean = cases(scale)
        clean_pixels = sum(c.shape[0] * c.shape[1] for c in clean)
        for card in args.cards:
            counts = {}  # kind of detection -> pooled true positives, false ones, misses
            for plane, truth in damaged:
                found = learned_scores(plane, model=card)[TEXT] >= 0.5
                kinds = {card: found}
                if args.complete:
                    labels = found.astype(np.uint8) * np.uint8(TEXT + 1)
                    kinds[f"{card}, completed"] = complete_text(plane, labels,
                                                                channel_axis=-1) == TEXT + 1
                for kind, f in kinds.items():
                    counts[kind] = counts.get(kind, 0) + np.array(
                        [(f & truth).sum(), (f & ~truth).sum(), (~f & truth).sum()])
            flagged = sum(int((learned_scores(c, model=card)[TEXT] >= 0.5).sum()) for c in clean)
            for kind, pooled in counts.items():
                p, r, f1, _ = prf_iou(*pooled)
                alarms = f"{100 * flagged / clean_pixels:.3f} %" if kind == card else "-"
                print(f"| {scale:g} x | {kind} | {p:.3f} | {r:.3f} | {f1:.3f} | {alarms} |",
                      flush=True)


if __name__ == "__main__":
    main()

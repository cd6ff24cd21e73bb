"""Evaluation of the defect detectors on held-out validation images.

Each validation image (:data:`napari_mend.synthesis.VAL_IMAGES`, never trained
on) is damaged ``repeats`` times by
:func:`napari_mend.synthesis.synthesize_defects` with a fixed seed; every
method scores the damaged image and a class counts as detected where its score
is ``>= 0.5`` (each method's operating point). Pixel counts are pooled over
all images, giving per-class precision, recall, F1 and IoU. The undamaged
images give the false-alarm rate: the share of their pixels where any class
is detected.

Run ``python -m napari_mend.evaluation.detector`` to print the table.
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np

from ..classes import DEFECT_CLASSES

METHOD_NAMES = ("learned", "classical")


def prf_iou(tp, fp, fn):
    """Precision, recall, F1 and IoU from pixel counts (arrays broadcast; 0/0 -> 0)."""
    tp, fp, fn = (np.asarray(v, np.float64) for v in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(tp > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        iou = np.where(tp > 0, tp / (tp + fp + fn), 0.0)
    return precision, recall, f1, iou


def _scorer(method: str, model: str):
    if method == "learned":
        from ..detection.learned import learned_scores

        return lambda plane: learned_scores(plane, model=model)
    if method == "classical":
        from ..detection.classical import classical_scores

        return classical_scores
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHOD_NAMES)}")


def _plane(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, np.float32)
    return image[..., None] if image.ndim == 2 else image


def evaluate(*, methods=METHOD_NAMES, model: str = "detector", images=None, repeats: int = 2,
             seed: int = 2024, threshold: float = 0.5, progress=None) -> dict:
    """Per-class precision, recall, F1 and IoU and clean false alarms of each method.

    Parameters
    ----------
    methods : sequence of {'learned', 'classical'}
        Detectors to evaluate.
    model : str
        Learned detector model name or path.
    images : list of (str, ndarray), optional
        Named images in [0, 1], (M, N) or (M, N, 3); default the validation
        split ``napari_mend.synthesis.corpus_images('val')``.
    repeats : int
        Damaged versions of every image (different defect draws).
    seed : int
        Seed of the defect draws.
    threshold : float
        Detection threshold on the scores.
    progress : callable, optional
        ``progress(done, total)`` after every scored image.

    Returns
    -------
    results : dict
        ``{'methods': {method: {'per_class': {class: {'precision', 'recall',
        'f1', 'iou', 'positive_pixels'}}, 'clean_false_alarm': float,
        'clean_false_alarm_by_image': {image: float},
        'seconds_per_megapixel': float}}, 'images': [...], 'repeats',
        'seed', 'threshold', 'pixels'}``.
    """
    from ..synthesis import corpus_images, synthesize_defects

    if images is None:
        images = corpus_images("val")
    scorers = {m: _scorer(m, model) for m in methods}
    n_classes = len(DEFECT_CLASSES)
    counts = {m: np.zeros((n_classes, 3), np.int64) for m in methods}
    alarms = dict.fromkeys(methods, 0)
    class_alarms = {m: np.zeros(n_classes, np.int64) for m in methods}
    alarms_by_image = {m: {} for m in methods}
    seconds = dict.fromkeys(methods, 0.0)
    damaged_pixels = clean_pixels = 0
    total = len(images) * (repeats + 1) * len(methods)
    done = 0
    for i, (name, image) in enumerate(images):
        image = np.asarray(image, np.float32)
        cases = [(image, None)]
        for r in range(repeats):
            rng = np.random.default_rng([seed, i, r])
            damage = synthesize_defects(image, rng=rng,
                                        channel_axis=-1 if image.ndim == 3 else None)
            cases.append((np.asarray(damage.image, np.float32), np.asarray(damage.masks, bool)))
        for plane, truth in cases:
            plane = _plane(plane)
            if truth is None:
                clean_pixels += plane.shape[0] * plane.shape[1]
            else:
                damaged_pixels += plane.shape[0] * plane.shape[1]
            for m, score in scorers.items():
                start = time.perf_counter()
                detected = score(plane) >= threshold
                seconds[m] += time.perf_counter() - start
                if truth is None:
                    flagged = int(detected.any(axis=0).sum())
                    alarms[m] += flagged
                    class_alarms[m] += detected.sum(axis=(1, 2))
                    alarms_by_image[m][name] = round(flagged / detected[0].size, 6)
                else:
                    counts[m][:, 0] += (detected & truth).sum(axis=(1, 2))
                    counts[m][:, 1] += (detected & ~truth).sum(axis=(1, 2))
                    counts[m][:, 2] += (~detected & truth).sum(axis=(1, 2))
                done += 1
                if progress is not None:
                    progress(done, total)
    results = {}
    for m in methods:
        precision, recall, f1, iou = prf_iou(*counts[m].T)
        per_class = {
            name: {"precision": round(float(precision[k]), 4), "recall": round(float(recall[k]), 4),
                   "f1": round(float(f1[k]), 4), "iou": round(float(iou[k]), 4),
                   "positive_pixels": int(counts[m][k, 0] + counts[m][k, 2]),
                   "clean_false_alarm": round(float(class_alarms[m][k]) / max(clean_pixels, 1),
                                              6)}
            for k, name in enumerate(DEFECT_CLASSES.values())
        }
        results[m] = {
            "per_class": per_class,
            "clean_false_alarm": round(alarms[m] / max(clean_pixels, 1), 6),
            "clean_false_alarm_by_image": alarms_by_image[m],
            "seconds_per_megapixel": round(seconds[m] / ((damaged_pixels + clean_pixels) / 1e6), 3),
        }
    return {"methods": results, "images": [name for name, _ in images], "repeats": repeats,
            "seed": seed, "threshold": threshold,
            "pixels": {"damaged": damaged_pixels, "clean": clean_pixels}}


def restore_ablation(*, model: str = "detector", images=None, split: str = "val",
                     repeats: int = 4, seed: int = 41, min_side: int = 128,
                     thresholds=(0.3, 0.5, 0.7, 0.9), progress=None) -> dict:
    """Whole-image PSNR of unattended restores, to choose what they mend and at which threshold.

    Every image of ``split`` (or ``images``) at least ``min_side`` px on a
    side is kept clean once and damaged ``repeats`` times by
    :func:`synthesize_defects` (all classes); the learned detector ``model`` finds the defects, and
    :func:`napari_mend.restore.mend_labels` mends them as :func:`napari_mend.restore`
    does (text completed). First at threshold 0.5, once with every class and
    once without each class: a class whose leaving out lowers the damaged
    images' mean PSNR helps an unattended restore. Then the classes that
    help, at each of ``thresholds``: the one with the highest damaged-image
    PSNR is the unattended threshold.

    Returns
    -------
    results : dict
        ``{'psnr': {config: {'damaged': dB, 'clean': dB}}`` with configs
        ``'input'``, ``'all'``, ``'-scratch'``, ... (mean PSNR over the
        cases, each capped at 100 dB), ``'restore_classes'`` (the classes
        that help), ``'threshold_psnr': {threshold: {'damaged', 'clean'}}``,
        ``'restore_threshold'``, ``'images'``, ``'repeats'``, ``'seed'``.
    """
    from ..detection.api import detect_scores
    from ..synthesis import corpus_images, synthesize_defects

    if images is None:
        images = [(n, im) for n, im in corpus_images(split) if min(im.shape[:2]) >= min_side]
    cases = []  # (kind, truth, damaged, scores, channel axis)
    for i, (_, image) in enumerate(images):
        image = np.asarray(image, np.float32)
        axis = -1 if image.ndim == 3 else None
        for r in range(repeats + 1):
            damaged = image if r == 0 else np.asarray(synthesize_defects(
                image, rng=np.random.default_rng([seed, i, r]), channel_axis=axis).image,
                np.float32)
            scores = detect_scores(damaged, channel_axis=axis, model=model)
            cases.append(("clean" if r == 0 else "damaged", image, damaged, scores, axis))
            if progress is not None:
                progress(len(cases), len(images) * (repeats + 1))
    names = list(DEFECT_CLASSES.values())
    configs = {"all": names, **{f"-{c}": [k for k in names if k != c] for c in names}}
    psnr = {"input": _mean_psnr(cases, lambda case: case[2])}
    for key, classes in configs.items():
        psnr[key] = _mean_psnr(cases, partial(_restored, classes=classes, threshold=0.5))
    helps = [c for c in names if psnr[f"-{c}"]["damaged"] < psnr["all"]["damaged"]]
    by_threshold = {t: _mean_psnr(cases, partial(_restored, classes=helps, threshold=t))
                    for t in thresholds}
    best = max(thresholds, key=lambda t: by_threshold[t]["damaged"])
    return {"psnr": psnr, "restore_classes": helps, "threshold_psnr": by_threshold,
            "restore_threshold": best, "images": [n for n, _ in images], "repeats": repeats,
            "seed": seed}


def _restored(case, *, classes, threshold):
    """A case's damaged image restored from its scores as ``restore`` would."""
    from ..detection.text_completion import complete_text
    from ..restore import mend_labels

    _, _, damaged, scores, axis = case
    labels = scores.labels(classes=classes, threshold=threshold)
    if "text" in classes:
        labels = complete_text(damaged, labels, channel_axis=axis)
    return mend_labels(damaged, labels, channel_axis=axis, classes=classes)


def _mean_psnr(cases, result) -> dict:
    """Mean PSNR of ``result(case)`` against each case's truth, per kind of case."""
    values = {"damaged": [], "clean": []}
    for case in cases:
        values[case[0]].append(_psnr(case[1], result(case)))
    return {kind: round(float(np.mean(v)), 3) for kind, v in values.items() if v}


def _psnr(truth: np.ndarray, image: np.ndarray) -> float:
    error = float(np.mean((np.clip(image, 0, 1) - truth) ** 2))
    return min(100.0, 10 * np.log10(1 / error)) if error > 0 else 100.0


def ablation_table(results: dict) -> str:
    """The :func:`restore_ablation` results as two markdown tables."""
    lines = ["| classes mended (threshold 0.5) | PSNR damaged images | PSNR clean images |",
             "|---|---|---|"]
    for key, v in results["psnr"].items():
        label = {"input": "none (the input)", "all": "all"}.get(key, f"all but {key[1:]}")
        lines.append(f"| {label} | {v['damaged']:.2f} | {v['clean']:.2f} |")
    lines += ["", f"| threshold ({', '.join(results['restore_classes'])}) | PSNR damaged images "
                  "| PSNR clean images |", "|---|---|---|"]
    for t, v in results["threshold_psnr"].items():
        lines.append(f"| {t} | {v['damaged']:.2f} | {v['clean']:.2f} |")
    return "\n".join(lines)


def markdown_table(results: dict) -> str:
    """The per-class metrics of :func:`evaluate` as a markdown table."""
    methods = list(results["methods"])
    head = ["class"] + [f"{m} {k}" for m in methods for k in ("P", "R", "F1", "IoU", "clean %")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in DEFECT_CLASSES.values():
        row = [name]
        for m in methods:
            c = results["methods"][m]["per_class"][name]
            row += [f"{c['precision']:.3f}", f"{c['recall']:.3f}", f"{c['f1']:.3f}",
                    f"{c['iou']:.3f}", f"{100 * c['clean_false_alarm']:.3f}"]
        lines.append("| " + " | ".join(row) + " |")
    fa = ["clean false alarms (% px)"]
    speed = ["seconds per megapixel"]
    for m in methods:
        fa += [f"{100 * results['methods'][m]['clean_false_alarm']:.4f}", "", "", "", ""]
        speed += [f"{results['methods'][m]['seconds_per_megapixel']:.3f}", "", "", "", ""]
    lines += ["| " + " | ".join(fa) + " |", "| " + " | ".join(speed) + " |", "",
              "| clean image: % pixels flagged | " + " | ".join(methods) + " |",
              "|---|" + "---|" * len(methods)]
    by_image = [results["methods"][m]["clean_false_alarm_by_image"] for m in methods]
    for name in by_image[0]:
        if not name.startswith("lfw_subset:"):
            lines.append(f"| {name} | " + " | ".join(f"{100 * b[name]:.3f}" for b in by_image) + " |")
    faces = [[v for k, v in b.items() if k.startswith("lfw_subset:")] for b in by_image]
    if faces[0]:
        lines.append(f"| lfw_subset ({len(faces[0])} faces, mean) | "
                     + " | ".join(f"{100 * np.mean(f):.3f}" for f in faces) + " |")
    return "\n".join(lines)


def main(argv=None, prog=None) -> int:
    """Print the evaluation table (``--json FILE`` also writes the raw results)."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog=prog or "python -m napari_mend.evaluation.detector",
                                     description="Evaluate the defect detectors.")
    parser.add_argument("--model", default="detector")
    parser.add_argument("--methods", default=",".join(METHOD_NAMES))
    parser.add_argument("--repeats", type=int, default=None,
                        help="damaged versions of each image (default 2; 4 with "
                             "--restore-classes)")
    parser.add_argument("--split", choices=["val", "train"], default="val",
                        help="images of --restore-classes (train: a cross-check only)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--restore-classes", action="store_true",
                        help="instead, measure which classes an unattended restore should mend "
                             "and at which threshold (restore_ablation); with --write-card "
                             "store them in the card's inference.restore_classes and "
                             "restore_threshold")
    parser.add_argument("--write-card", action="store_true")
    args = parser.parse_args(argv)
    if args.restore_classes:
        from ..models.registry import model_card, update_card

        if args.write_card and args.split != "val":
            parser.error("--write-card stores what the validation images show; drop --split")
        ablation = restore_ablation(model=args.model, split=args.split,
                                    repeats=args.repeats or 4)
        print(ablation_table(ablation))
        print(f"classes that help: {', '.join(ablation['restore_classes'])}; "
              f"threshold {ablation['restore_threshold']}")
        if args.write_card:
            inference = {**model_card(args.model).get("inference", {}),
                         "restore_classes": ablation["restore_classes"],
                         "restore_threshold": ablation["restore_threshold"]}
            update_card(args.model, inference=inference, restore_ablation=ablation)
        return 0
    results = evaluate(methods=tuple(args.methods.split(",")), model=args.model,
                       repeats=args.repeats or 2, seed=args.seed)
    print(markdown_table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

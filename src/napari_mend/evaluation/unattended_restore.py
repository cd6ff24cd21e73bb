"""Whole-image PSNR of unattended restores: which classes they mend, at which threshold.

:func:`restore_ablation` chooses, on the own validation images damaged by
:func:`napari_mend.synthesis.synthesize_defects`, the classes an unattended
:func:`napari_mend.restore` mends and its threshold (stored in the detector's
model card by ``napari-mend evaluate detector --restore-classes --write-card``);
:func:`independent_restore` reports that choice on the independent
generator's images (never chosen from them).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ..classes import N_SCORED, SCORED_CLASSES
from ..detection.api import detect_scores
from ..detection.text_completion import complete_text
from ..restore import mend_labels
from ..synthesis import corpus_images, synthesize_defects
from .cross import (
    INDEPENDENT_SEED,
    independent_clean,
    independent_samples,
    region_psnr,
    side_by_side,
)


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
    images, cases = _own_cases(model=model, images=images, split=split, repeats=repeats,
                               seed=seed, min_side=min_side, progress=progress)
    names = list(SCORED_CLASSES.values())
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


def _own_cases(*, model, images, split, repeats, seed, min_side, progress=None):
    """``(images, cases)``: the own images, each clean once and damaged ``repeats`` times, as
    ``(kind, truth, damaged, scores, channel axis)``."""
    if images is None:
        images = [(n, im) for n, im in corpus_images(split) if min(im.shape[:2]) >= min_side]
    cases = []
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
    return images, cases


def own_restore(*, model: str = "detector", classes, threshold, images=None, split: str = "val",
                repeats: int = 4, seed: int = 41, min_side: int = 128) -> dict:
    """Whole-image PSNR of unattended restores of ``classes`` at ``threshold`` (one, or one
    per class) on the own validation images, as :func:`restore_ablation` measures them.

    Returns
    -------
    results : dict
        ``{'psnr': {'input': {'damaged', 'clean'}, 'restored': {...}}, 'classes',
        'threshold', 'images', 'repeats', 'seed'}``.
    """
    images, cases = _own_cases(model=model, images=images, split=split, repeats=repeats,
                               seed=seed, min_side=min_side)
    restored = partial(_restored, classes=list(classes), threshold=threshold)
    return {"psnr": {"input": _mean_psnr(cases, lambda case: case[2]),
                     "restored": _mean_psnr(cases, restored)},
            "classes": list(classes), "threshold": threshold,
            "images": [n for n, _ in images], "repeats": repeats, "seed": seed}


def independent_restore(*, model: str = "detector", classes, threshold: float = 0.5,
                        n_per_class: int = 8, n_clean: int = 8, size: int = 256,
                        seed: int = INDEPENDENT_SEED, progress=None) -> dict:
    """Whole-image PSNR of unattended restores on the independent generator's images.

    The restore mends ``classes`` at ``threshold`` (chosen by
    :func:`restore_ablation` on the own validation images, never here) as
    ``napari_mend.restore`` does, on ``n_per_class`` damaged samples per
    class and on ``n_clean`` clean images (how much a clean image loses).

    Returns
    -------
    results : dict
        ``{'psnr': {'input': {'damaged', 'clean'}, 'restored': {...}}``
        (mean dB, each capped at 100), ``'per_class': {class: {'input',
        'restored'}}``, ``'classes'``, ``'threshold'``, ``'per_class_samples'``,
        ``'clean_images'``, ``'size'``, ``'seed'``.
    """
    total = n_per_class * N_SCORED + n_clean
    cases, names = [], []  # restore_ablation's (kind, truth, damaged, scores, axis)
    samples = [(c.name, c.clean, c.damaged) for c in independent_samples(
        n_per_class, size=size, seed=seed, layout="image")]
    samples += [("clean", im, im) for im in independent_clean(
        n_clean, size=size, seed=seed, layout="image")]
    for name, clean, damaged in samples:
        axis = -1 if damaged.ndim == 3 else None
        cases.append(("clean" if name == "clean" else "damaged", clean, damaged,
                      detect_scores(damaged, channel_axis=axis, model=model), axis))
        names.append(name)
        if progress is not None:
            progress(len(cases), total)
    restored = partial(_restored, classes=list(classes), threshold=threshold)
    outputs = [restored(case) for case in cases]
    by_case = dict(zip(map(id, cases), outputs))

    def psnr(subset):
        return {"input": _mean_psnr(subset, lambda case: case[2]),
                "restored": _mean_psnr(subset, lambda case: by_case[id(case)])}

    both = psnr(cases)
    per_class = {}
    for name in SCORED_CLASSES.values():
        subset = [c for c, n in zip(cases, names) if n == name]
        if subset:
            per_class[name] = {k: v["damaged"] for k, v in psnr(subset).items()}
    return {"psnr": both, "per_class": per_class, "classes": list(classes),
            "threshold": threshold, "per_class_samples": n_per_class, "clean_images": n_clean,
            "size": size, "seed": seed}


def restore_table(own: dict, independent: dict) -> str:
    """Own beside independent: whole-image PSNR of the unattended restore (``own`` from
    :func:`own_restore`)."""
    best, own_in, ind = own["psnr"]["restored"], own["psnr"]["input"], independent["psnr"]
    rows = [("damaged images, input", own_in["damaged"], ind["input"]["damaged"]),
            ("damaged images, restored", best["damaged"], ind["restored"]["damaged"]),
            ("damaged images, gain", f"{best['damaged'] - own_in['damaged']:+.2f}",
             f"{ind['restored']['damaged'] - ind['input']['damaged']:+.2f}"),
            ("clean images, restored (100 = untouched)", best["clean"],
             ind["restored"]["clean"])]
    rows += [(f"{name} samples, input -> restored", None,
              f"{v['input']:.2f} -> {v['restored']:.2f}")
             for name, v in independent["per_class"].items()]
    classes = ", ".join(independent["classes"]) or "none"
    threshold = independent["threshold"]
    if isinstance(threshold, dict):
        threshold = ", ".join(f"{c} {t}" for c, t in threshold.items()
                              if c in independent["classes"]) or "-"
    return side_by_side(
        f"Unattended restore ({classes}; threshold {threshold}), whole-image "
        f"PSNR (dB): own validation images ({own['repeats']} damaged versions each) | "
        f"independent generator ({independent['per_class_samples']} per class and "
        f"{independent['clean_images']} clean, {independent['size']} px, seed "
        f"{independent['seed']}):", rows)


def _restored(case, *, classes, threshold):
    """A case's damaged image restored from its scores as ``restore`` would."""
    _, _, damaged, scores, axis = case
    labels = scores.labels(classes=classes, threshold=threshold)
    if "text" in classes:
        labels = complete_text(damaged, labels, channel_axis=axis)
    return mend_labels(damaged, labels, channel_axis=axis, classes=classes)


def _mean_psnr(cases, result) -> dict:
    """Mean PSNR of ``result(case)`` against each case's truth, per kind of case."""
    values = {"damaged": [], "clean": []}
    for case in cases:
        values[case[0]].append(region_psnr(case[1], result(case)))
    return {kind: round(float(np.mean(v)), 3) for kind, v in values.items() if v}


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

"""Evaluation of the defect detectors on held-out validation images.

Each validation image (:data:`napari_mend.synthesis.VAL_IMAGES`, never trained
on) is damaged ``repeats`` times by
:func:`napari_mend.synthesis.synthesize_defects` with a fixed seed; every
method scores the damaged image and a class counts as detected where its score
is ``>= 0.5`` (each method's operating point). Pixel counts are pooled over
all images, giving per-class precision, recall, F1 and IoU. The undamaged
images give the false-alarm rate: the share of their pixels where any class
is detected.

The same metrics are reported beside these ("own") on the independent
generator (:mod:`napari_mend.evaluation.independent`, through
:mod:`napari_mend.evaluation.cross`): its damaged samples, whose labels mark
exactly the changed pixels, and its clean images ("independent"). The
unattended-restore ablation (``--restore-classes``,
:mod:`napari_mend.evaluation.unattended_restore`) reports its chosen restore
on the independent images too. Reporting only: nothing is chosen from the
independent images.

Run ``python -m napari_mend.evaluation.detector`` to print the table.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from skimage.transform import rescale

from ..classes import N_SCORED, SCORED_CLASSES
from ..detection.classical import classical_scores
from ..detection.learned import learned_scores
from ..models.registry import model_card, update_card
from ..synthesis import corpus_images
from .cross import (
    INDEPENDENT,
    INDEPENDENT_SEED,
    OWN,
    add_independent_options,
    as_plane,
    confusion,
    prf_iou,
    side_by_side,
)
from .detection_cases import independent_cases, own_cases
from .unattended_precision import (
    MIN_PRECISION,
    OWN_PRECISION,
    settings_table,
    unattended_settings,
)
from .unattended_restore import (
    ablation_table,
    independent_restore,
    own_restore,
    restore_ablation,
    restore_table,
)

METHOD_NAMES = ("learned", "classical")


def _scorer(method: str, model: str):
    if method == "learned":
        return lambda plane: learned_scores(plane, model=model)
    if method == "classical":
        return classical_scores
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHOD_NAMES)}")


def _score_cases(cases, scorers, threshold, tick=None) -> dict:
    """Detect on ``cases`` (``(name, plane, truth)``, truth bool ``(K, M, N)`` or None if clean).

    Returns pooled counts per method: ``counts`` (K, 3) true/false positives
    and false negatives, clean pixels flagged (any class and per class, and
    per clean image), seconds, and the damaged and clean pixel totals.
    """
    n_classes = N_SCORED
    acc = {"counts": {m: np.zeros((n_classes, 3), np.int64) for m in scorers},
           "alarms": dict.fromkeys(scorers, 0),
           "class_alarms": {m: np.zeros(n_classes, np.int64) for m in scorers},
           "alarms_by_image": {m: {} for m in scorers},
           "seconds": dict.fromkeys(scorers, 0.0), "damaged_pixels": 0, "clean_pixels": 0}
    for name, plane, truth in cases:
        plane = as_plane(plane)
        pixels = plane.shape[0] * plane.shape[1]
        acc["clean_pixels" if truth is None else "damaged_pixels"] += pixels
        for m, score in scorers.items():
            start = time.perf_counter()
            detected = score(plane) >= threshold
            acc["seconds"][m] += time.perf_counter() - start
            if truth is None:
                flagged = int(detected.any(axis=0).sum())
                acc["alarms"][m] += flagged
                acc["class_alarms"][m] += detected.sum(axis=(1, 2))
                acc["alarms_by_image"][m][name] = round(flagged / detected[0].size, 6)
            else:
                acc["counts"][m] += confusion(detected, truth)
            if tick is not None:
                tick()
    return acc


def _method_results(acc: dict) -> dict:
    """Per method: per-class metrics, clean false alarms and speed from :func:`_score_cases`."""
    clean_pixels = max(acc["clean_pixels"], 1)
    all_pixels = max(acc["damaged_pixels"] + acc["clean_pixels"], 1)
    results = {}
    for m, counts in acc["counts"].items():
        precision, recall, f1, iou = prf_iou(*counts.T)
        per_class = {
            name: {"precision": round(float(precision[k]), 4), "recall": round(float(recall[k]), 4),
                   "f1": round(float(f1[k]), 4), "iou": round(float(iou[k]), 4),
                   "positive_pixels": int(counts[k, 0] + counts[k, 2]),
                   "clean_false_alarm": round(float(acc["class_alarms"][m][k]) / clean_pixels,
                                              6)}
            for k, name in enumerate(SCORED_CLASSES.values())
        }
        results[m] = {
            "per_class": per_class,
            "clean_false_alarm": round(acc["alarms"][m] / clean_pixels, 6),
            "clean_false_alarm_by_image": acc["alarms_by_image"][m],
            "seconds_per_megapixel": round(acc["seconds"][m] / (all_pixels / 1e6), 3),
        }
    return results


def _progress(progress, total):
    state = {"done": 0}

    def tick():
        state["done"] += 1
        if progress is not None:
            progress(state["done"], total)

    return tick


def enlarged(images, scale: float) -> list:
    """Named images enlarged ``scale`` times (bilinear): the same scenes as a larger scan
    shows them, with the defects then drawn at their usual pixel sizes, so relatively smaller
    details and larger surroundings (``napari-mend evaluate detector --own-scale``)."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    return [(name, np.clip(rescale(np.asarray(image, np.float32), scale, order=1,
                                   channel_axis=-1 if np.ndim(image) == 3 else None,
                                   anti_aliasing=scale < 1), 0, 1).astype(np.float32))
            for name, image in images]


def evaluate(*, methods=METHOD_NAMES, model: str = "detector", images=None, repeats: int = 2,
             seed: int = 2024, threshold: float = 0.5, progress=None,
             independent_per_class: int = 0, independent_clean: int | None = None,
             independent_size: int = 256, independent_seed: int = INDEPENDENT_SEED,
             scorers=None, degraded: bool = False) -> dict:
    """Per-class precision, recall, F1 and IoU and clean false alarms of each method.

    Parameters
    ----------
    methods : sequence of {'learned', 'classical'}
        Detectors to evaluate.
    scorers : dict, optional
        Instead of ``methods``: named ``score(plane) -> (6, M, N)`` callables, e.g. a
        detector run another way (``benchmarks/bench_flips.py``).
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
    independent_per_class : int
        Also score this many samples per class of the independent generator
        (:mod:`napari_mend.evaluation.independent`; 0: none), and
        ``independent_clean`` clean independent images (default as many as
        ``independent_per_class``), ``independent_size`` px square, from
        ``independent_seed``: ``results['independent']``.
    degraded : bool
        Pass the own images, clean and damaged, through
        :func:`~napari_mend.synthesis.degrade` before scoring (blur, resampling, noise and
        JPEG as capture and storage add them; the independent samples are left as they are).

    Returns
    -------
    results : dict
        ``{'methods': {method: {'per_class': {class: {'precision', 'recall',
        'f1', 'iou', 'positive_pixels'}}, 'clean_false_alarm': float,
        'clean_false_alarm_by_image': {image: float},
        'seconds_per_megapixel': float}}, 'images': [...], 'repeats',
        'seed', 'threshold', 'pixels'}``, and with ``independent_per_class``,
        ``'independent'``: ``{'methods': {...}`` (the same per method),
        ``'per_class', 'clean_images', 'size', 'seed', 'pixels'}``.
    """
    if images is None:
        images = corpus_images("val")
    if scorers is None:
        scorers = {m: _scorer(m, model) for m in methods}
    n_clean = independent_per_class if independent_clean is None else independent_clean
    n_independent = (independent_per_class * N_SCORED + n_clean
                     if independent_per_class else 0)
    tick = _progress(progress, (len(images) * (repeats + 1) + n_independent) * len(scorers))
    acc = _score_cases(own_cases(images, repeats=repeats, seed=seed, degraded=degraded),
                       scorers, threshold, tick)
    results = {"methods": _method_results(acc), "images": [name for name, _ in images],
               "repeats": repeats, "seed": seed, "threshold": threshold, "own_degraded": degraded,
               "pixels": {"damaged": acc["damaged_pixels"], "clean": acc["clean_pixels"]}}
    if independent_per_class:
        results["independent"] = evaluate_independent(
            scorers, n_per_class=independent_per_class, n_clean=n_clean, size=independent_size,
            seed=independent_seed, threshold=threshold, tick=tick)
    return results


def evaluate_independent(scorers, *, n_per_class: int = 8, n_clean: int = 8, size: int = 256,
                         seed: int = INDEPENDENT_SEED, threshold: float = 0.5, tick=None) -> dict:
    """The metrics of :func:`evaluate` on the independent generator's samples and clean images.

    ``scorers`` maps method names to ``score(plane) -> (K, M, N)`` (see
    :func:`evaluate`). For reporting only: never choose a threshold from it.
    """
    cases = independent_cases(n_per_class=n_per_class, n_clean=n_clean, size=size, seed=seed)
    acc = _score_cases(cases, scorers, threshold, tick)
    return {"methods": _method_results(acc), "per_class": n_per_class, "clean_images": n_clean,
            "size": size, "seed": seed,
            "pixels": {"damaged": acc["damaged_pixels"], "clean": acc["clean_pixels"]}}


def comparison_table(results: dict) -> str:
    """Own beside independent: per-class precision / recall / F1 and clean pixels flagged."""
    ind = results.get("independent", {}).get("methods", {})
    methods = list(results["methods"])
    head = ["class"]
    for m in methods:
        head += [f"{m} {OWN} P / R / F1", f"{m} {INDEPENDENT} P / R / F1"]

    def prf(entry):
        return None if entry is None else (
            f"{entry['precision']:.3f} / {entry['recall']:.3f} / {entry['f1']:.3f}")

    rows = []
    for name in SCORED_CLASSES.values():
        row = [name]
        for m in methods:
            row += [prf(results["methods"][m]["per_class"][name]),
                    prf(ind[m]["per_class"][name]) if m in ind else None]
        rows.append(row)
    flagged = ["clean pixels flagged (%)"]
    for m in methods:
        flagged += [f"{100 * results['methods'][m]['clean_false_alarm']:.3f}",
                    f"{100 * ind[m]['clean_false_alarm']:.3f}" if m in ind else None]
    rows.append(flagged)
    scale = results.get("own_scale", 1.0)
    own = (f"own: {len(results['images'])} validation images"
           f"{f' enlarged {scale:g} times' if scale != 1 else ''} x {results['repeats']} "
           "damaged versions + the clean images"
           f"{', all degraded' if results.get('own_degraded') else ''}")
    if "independent" in results:
        i = results["independent"]
        other = (f"independent: {i['per_class']} samples per class + {i['clean_images']} clean "
                 f"images, {i['size']} px, seed {i['seed']}")
    else:
        other = "independent: not measured"
    return side_by_side(f"Detection at threshold {results['threshold']} ({own}; {other}):",
                        rows, head=head)


def markdown_table(results: dict) -> str:
    """The per-class metrics of :func:`evaluate` as a markdown table."""
    methods = list(results["methods"])
    head = ["class"] + [f"{m} {k}" for m in methods for k in ("P", "R", "F1", "IoU", "clean %")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in SCORED_CLASSES.values():
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


def write_json(path, body) -> None:
    """Write ``body`` to ``path`` as indented JSON (the ``--json`` output of the evaluations)."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(body, fh, indent=2)


def main(argv=None, prog=None) -> int:
    """Print the evaluation table (``--json FILE`` also writes the raw results)."""
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
                        help="instead, measure how mending each class changes the whole-image "
                             "PSNR of an unattended restore (restore_ablation); with "
                             "--write-card store it in the card")
    parser.add_argument("--unattended", action="store_true",
                        help="instead, choose which classes an unattended restore mends and "
                             "at which thresholds: each class's threshold reaches precision "
                             f"{OWN_PRECISION} on the own images; it is mended if its precision "
                             f"on the independent generator is at least {MIN_PRECISION}; with "
                             "--write-card store them in the card's inference")
    parser.add_argument("--write-card", action="store_true")
    parser.add_argument("--own-scale", type=float, default=1.0,
                        help="enlarge the own validation images this many times before "
                             "damaging them (bilinear): larger scans, larger scenes around the "
                             "same defects (default 1; the per-class table only)")
    parser.add_argument("--own-degraded", action="store_true",
                        help="pass every own image, clean or damaged, through "
                             "napari_mend.synthesis.degrade (blur, resampling, noise, JPEG) "
                             "before scoring: the detector on images as cameras, scanners and "
                             "their storage leave them (the per-class table only)")
    add_independent_options(parser, "--independent-per-class", default=8,
                            help="samples per class of the independent generator reported "
                                 "beside the own images (0: none; reporting only, never "
                                 "calibration)")
    parser.add_argument("--independent-clean", type=int, default=None,
                        help="clean independent images (default: --independent-per-class)")
    args = parser.parse_args(argv)
    if args.own_scale != 1 and (args.restore_classes or args.unattended):
        parser.error("--own-scale applies to the per-class table only")
    if args.own_degraded and (args.restore_classes or args.unattended):
        parser.error("--own-degraded applies to the per-class table only")
    if not args.own_scale > 0:
        parser.error(f"--own-scale must be positive, got {args.own_scale}")
    n_clean = (args.independent_per_class if args.independent_clean is None
               else args.independent_clean)
    if args.restore_classes:
        if args.write_card and args.split != "val":
            parser.error("--write-card stores what the validation images show; drop --split")
        ablation = restore_ablation(model=args.model, split=args.split,
                                    repeats=args.repeats or 4)
        print(ablation_table(ablation))
        print(f"classes that help: {', '.join(ablation['restore_classes'])}; "
              f"threshold {ablation['restore_threshold']}")
        independent = None
        if args.independent_per_class:
            # reported with the classes and threshold chosen above, never chosen from it
            independent = independent_restore(
                model=args.model, classes=ablation["restore_classes"],
                threshold=ablation["restore_threshold"], n_per_class=args.independent_per_class,
                n_clean=n_clean, size=args.independent_size, seed=args.independent_seed)
            own = {"psnr": {"input": ablation["psnr"]["input"],
                            "restored": ablation["threshold_psnr"][ablation["restore_threshold"]]},
                   "repeats": ablation["repeats"]}
            print()
            print(restore_table(own, independent))
        if args.json:
            write_json(args.json, {"own": ablation, "independent": independent})
        if args.write_card:
            update_card(args.model, restore_ablation=ablation)
        return 0
    if args.unattended:
        if args.write_card and args.split != "val":
            parser.error("--write-card stores what the validation images show; drop --split")
        settings = unattended_settings(
            _scorer("learned", args.model), repeats=args.repeats or 2, seed=args.seed,
            n_per_class=args.independent_per_class, n_clean=n_clean,
            size=args.independent_size, independent_seed=args.independent_seed)
        print(settings_table(settings))
        chosen = {"classes": settings["restore_classes"],
                  "threshold": settings["restore_thresholds"]}
        settings["restore"] = {
            "own": own_restore(model=args.model, **chosen),
            "independent": independent_restore(
                model=args.model, **chosen, n_per_class=args.independent_per_class,
                n_clean=n_clean, size=args.independent_size, seed=args.independent_seed)}
        print()
        print(restore_table(settings["restore"]["own"], settings["restore"]["independent"]))
        if args.json:
            write_json(args.json, settings)
        if args.write_card:
            inference = {k: v for k, v in model_card(args.model).get("inference", {}).items()
                         if k != "restore_threshold"}
            inference.update(restore_classes=settings["restore_classes"],
                             restore_thresholds=settings["restore_thresholds"])
            update_card(args.model, inference=inference, unattended=settings)
        return 0
    images = corpus_images("val")
    if args.own_scale != 1:
        images = enlarged(images, args.own_scale)
    results = evaluate(methods=tuple(args.methods.split(",")), model=args.model, images=images,
                       repeats=args.repeats or 2, seed=args.seed,
                       independent_per_class=args.independent_per_class,
                       independent_clean=n_clean, independent_size=args.independent_size,
                       independent_seed=args.independent_seed, degraded=args.own_degraded)
    results["own_scale"] = args.own_scale
    print(comparison_table(results))
    print()
    print("Own validation images, details:")
    print()
    print(markdown_table(results))
    if args.json:
        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

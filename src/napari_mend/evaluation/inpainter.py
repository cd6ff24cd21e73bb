"""Evaluation of the fills (learned, auto, Telea, NS, biharmonic) on held-out validation images.

Cases are crops of the validation images (:data:`napari_mend.synthesis.VAL_IMAGES`,
never trained on; those smaller than a crop, the 25x25 ``lfw_subset`` faces,
are left out), gray images kept gray, each with a hole from
:func:`napari_mend.synthesis.inpainting_mask` of one family (thin scratches,
dust, text boxes, logos, blotches, large free-form holes), all from a fixed
seed. Every method fills every case; reported per family:

* PSNR (dB, data range 1) and SSIM inside the hole, and on the hole's
  bounding box (SSIM from scikit-image with a 7x7 window, its map averaged
  over those pixels);
* seconds per megapixel of crop (wall clock of the fill on this machine).

``calibrate_auto`` chooses the rule of the ``auto`` fill (a classical fill
up to a hole radius, the learned model above) and the width of the learned
fills' rim that is mixed with the biharmonic fill, from a separate set of
cases (another seed), comparing the fills group by group of holes.

Beside these ("own"), the same fills are measured on the independent
generator (:mod:`napari_mend.evaluation.independent`, through
:mod:`napari_mend.evaluation.cross`; "independent"): the hole is a sample's
true defect labels (the pixels the defect visibly changed) and the truth its
clean image; PSNR in the hole per class. Moire is left out: its label is a
region (up to the whole frame), mended by ``demoire``, not by a fill.
Reporting only: ``calibrate_auto`` never sees these cases.

The cases, fills, metrics and tables are in
:mod:`napari_mend.evaluation.fill_cases`. Run
``python -m napari_mend.evaluation.inpainter --help``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..inpainting.auto import (
    DEFAULT_SETTINGS,
    blend_rim,
    choose,
    fill_smooth_group,
    surroundings_roughness,
)
from ..inpainting.classical import opencv_available
from ..inpainting.learned import hole_groups, hole_radius, robust_range
from ..models.registry import update_card
from .cross import INDEPENDENT_SEED, add_independent_options
from .fill_cases import (
    FIGURE_METHODS,
    METHOD_NAMES,
    comparison_figure,
    comparison_table,
    evaluation_cases,
    independent_cases,
    markdown_table,
    run_methods,
    summarize,
)

RIM_WIDTHS = (0.0, 2.0, 4.0)
"""Rim widths (px) ``calibrate_auto`` tries for mixing learned fills with the biharmonic fill.

Wider rims do better on the calibration cases, whose masks cover each hole exactly, but where a
mask misses part of a defect (a detection's faint edge) the biharmonic rim carries the leftover
pixels inwards: on damaged validation images mended from their detected labels a 10 px rim cost
0.16 dB of PSNR, a 4 px rim 0.03 dB (``docs/models/inpainter.md``)."""
CHEAPER_WITHIN = 0.01
"""``calibrate_auto`` takes the rule with the most classical fills among those whose error is
within this share of the least error."""


def choose_rule(radii, errors, candidates, widths):
    """The ``auto`` rule from per-group errors (see :func:`calibrate_auto`).

    Parameters
    ----------
    radii : (G,) ndarray
        Radius of each group of holes.
    errors : (G, len(widths) + len(candidates)) ndarray
        Error of each group filled by the learned model with each rim width,
        then by each classical fill.
    candidates : list of str
        Classical fills, in the order of their columns.
    widths : list of float
        Rim widths, in the order of their columns.

    Returns
    -------
    total, rules, rim_width
        Summed error of the choice, its rules (``[[max_radius, method]]`` or
        ``[]``) and its rim width.
    """
    n_widths = len(widths)
    choices = []  # (summed error, largest classical radius, rules, rim width)
    for w in range(n_widths):
        choices.append((errors[:, w].sum(), -np.inf, [], widths[w]))
        for k, name in enumerate(candidates, start=n_widths):
            for cut in np.unique(radii):
                total = np.where(radii <= cut, errors[:, k], errors[:, w]).sum()
                choices.append((total, float(cut), [[float(cut), name]], widths[w]))
    least = min(c[0] for c in choices)
    # the classical fills cost a tenth of the network or less: among the choices within
    # CHEAPER_WITHIN of the least error, the one sending most groups to a classical fill
    near = [c for c in choices if c[0] <= least * (1 + CHEAPER_WITHIN)]
    best = max(near, key=lambda c: (c[1], -c[0]))
    return float(best[0]), best[2], best[3]


def choose_smooth_max(roughness, learned_errors, smooth_errors):
    """The ``auto`` fill's ``smooth_max`` from the errors of the groups sent to the network.

    Parameters
    ----------
    roughness : (G,) ndarray
        Context roughness of each group the rules send to the network
        (:func:`~napari_mend.inpainting.auto.context_roughness`).
    learned_errors, smooth_errors : (G,) ndarray
        Error of each of these groups filled by the network (with the chosen
        rim) and by :data:`~napari_mend.inpainting.auto.SMOOTH_FILL`.

    Returns
    -------
    change, smooth_max
        Change of the summed error (negative: a gain) and the threshold of
        least summed error: groups with a roughness at most ``smooth_max`` go
        to the smooth fill; ``None`` (no change) when no threshold pays.

    Notes
    -----
    Unlike the rules (:func:`choose_rule`), no error is traded for speed here:
    few groups have smooth surroundings, and a tolerance of ``CHEAPER_WITHIN``
    of the summed error would let a threshold through that loses on them.
    """
    roughness = np.asarray(roughness, float)
    gain = np.asarray(smooth_errors, float) - np.asarray(learned_errors, float)
    finite = np.isfinite(roughness)  # no known pixels around: nothing tells it is smooth
    order = np.argsort(roughness[finite], kind="stable")
    cuts = roughness[finite][order]
    changes = np.cumsum(gain[finite][order])
    # a cut sends every group up to it; equal roughness values go together
    last = np.r_[cuts[1:] != cuts[:-1], True] if cuts.size else np.zeros(0, bool)
    cuts, changes = cuts[last], changes[last]
    if not cuts.size or changes.min() >= 0:
        return 0.0, None
    pick = np.flatnonzero(changes == changes.min())[-1]
    return float(changes[pick]), float(cuts[pick])


def calibrate_auto(*, model: str = "inpainter", crop: int = 256, per_family: int = 8,
                   seed: int = 7, rim_widths=RIM_WIDTHS, log=None) -> dict:
    """Choose the ``auto`` fill's rule and rim width on validation cases.

    Every group of holes of the cases is filled by the learned model, by the
    learned model with its rim mixed with the biharmonic fill
    (:func:`~napari_mend.inpainting.auto.blend_rim`) for each of
    ``rim_widths``, and by each classical fill (biharmonic, and Telea with
    OpenCV). The rule, one classical fill for groups up to a radius and the
    learned model (with the rim width) above it, is chosen by the mean squared
    error summed over cases (each case's hole weighs the same, as in the
    per-family PSNR means): of the choices within ``CHEAPER_WITHIN`` (1 %)
    of the least error, the one with the largest classical radius, since
    the classical fills are far cheaper than the network. Then, among the
    groups this rule sends to the network, those whose surroundings are
    smooth enough go to the biharmonic fill: ``smooth_max`` is chosen on
    their errors by :func:`choose_smooth_max`.

    Returns
    -------
    calibration : dict
        ``rules`` (``[[max_radius, method]]``, or ``[]`` for learned only),
        ``rim_width`` (px, 0 for none), ``smooth_max`` (or None),
        ``case_mse`` (summed per-case MSE) of the choice and of each single
        fill (``rules only``: the choice without ``smooth_max``), ``groups``
        (count), ``thick_groups`` (those the rule sends to the network),
        ``smooth_groups`` (those of them ``smooth_max`` sends to the smooth
        fill), ``seed``, ``per_family`` and ``rim_widths`` (those tried).
    """
    cases = evaluation_cases(crop=crop, per_family=per_family, seed=seed)
    candidates = ["biharmonic", "telea"] if opencv_available() else ["biharmonic"]
    outputs = run_methods(cases, ["learned", *candidates], model=model, log=log)
    widths = [float(w) for w in rim_widths]
    # errors[g]: squared error / case size of group g, for the learned fill with each rim
    # width, then for each classical fill; smooth_errors[g]: for the fill of smooth surroundings
    radii, errors, roughness, smooth_errors = [], [], [], []
    for i, case in enumerate(cases):
        size = case["mask"].sum() * case["clean"].shape[-1]
        groups = hole_groups(case["mask"], merge_distance=DEFAULT_SETTINGS["merge_distance"])
        scale = robust_range(case["clean"], case["mask"])[1]  # of the known pixels
        fills = []
        for width in widths:
            blended = outputs["learned"][i].copy()
            for box, pixels in groups:
                blend_rim(blended, box, pixels, width)
            fills.append(blended)
        fills += [outputs[n][i] for n in candidates]
        damaged = np.where(case["mask"][..., None], 0, case["clean"]).astype(np.float32)
        for box, pixels in groups:
            truth = case["clean"][box][pixels]
            radii.append(hole_radius(pixels))
            roughness.append(surroundings_roughness(case["clean"], case["mask"], box, pixels,
                                                    radii[-1], scale=scale))
            smooth = damaged.copy()
            fill_smooth_group(smooth, case["mask"].copy(), box, pixels, radii[-1])
            errors.append([float(np.sum((np.clip(f[box][pixels], 0, 1) - truth) ** 2)) / size
                           for f in fills])
            smooth_errors.append(float(np.sum((np.clip(smooth[box][pixels], 0, 1) - truth) ** 2))
                                 / size)
    radii, roughness = np.array(radii), np.array(roughness)
    errors, smooth_errors = np.array(errors), np.array(smooth_errors)
    n_widths = len(widths)
    best = choose_rule(radii, errors, candidates, widths)
    thick = np.array([choose(r, best[1]) == "learned" for r in radii], bool)
    change, smooth = choose_smooth_max(roughness[thick], errors[thick, widths.index(best[2])],
                                       smooth_errors[thick])
    plain = widths.index(0.0) if 0.0 in widths else None
    single = {n: float(errors[:, n_widths + k].sum()) for k, n in enumerate(candidates)}
    if plain is not None:
        single = {"learned": float(errors[:, plain].sum()), **single}
    smooth_groups = 0 if smooth is None else int(np.sum(roughness[thick] <= smooth))
    return {"rules": best[1], "rim_width": best[2], "smooth_max": smooth,
            "case_mse": {"auto": float(best[0]) + change, "rules only": float(best[0]),
                         **single},
            "groups": int(radii.size), "thick_groups": int(thick.sum()),
            "smooth_groups": smooth_groups, "seed": seed, "per_family": per_family,
            "rim_widths": widths}

def evaluate(*, model: str = "inpainter", methods=METHOD_NAMES, crop: int = 256,
             per_family: int = 6, seed: int = 2026, split: str = "val", figure=None,
             log=None) -> dict:
    """Evaluate the fills on fixed validation cases.

    Parameters
    ----------
    model : str, optional
        Inpainter model used by ``learned`` and ``auto``.
    methods : sequence of str, optional
        Among :data:`METHOD_NAMES`.
    crop : int, optional
        Side of the square crops.
    per_family : int, optional
        Cases per mask family.
    seed : int, optional
        Seed of crops and masks.
    split : {'val', 'train'}, optional
        Images of the cases (see
        :func:`~napari_mend.evaluation.fill_cases.evaluation_cases`).
    figure : path-like, optional
        Where to save the side-by-side comparison figure.
    log : callable, optional
        Progress messages.

    Returns
    -------
    results : dict
        ``results[family][method]`` -> ``psnr_mask``, ``ssim_mask``,
        ``psnr_bbox``, ``ssim_bbox``, ``s_per_mp``, ``coverage``.
    """
    cases = evaluation_cases(crop=crop, per_family=per_family, seed=seed, split=split)
    outputs = run_methods(cases, methods, model=model, log=log)
    if figure is not None:
        comparison_figure(cases, outputs, figure, [m for m in FIGURE_METHODS if m in methods])
    return summarize(cases, outputs, methods)


def evaluate_independent(*, model: str = "inpainter", methods=METHOD_NAMES, per_class: int = 4,
                         size: int = 256, seed: int = INDEPENDENT_SEED, log=None) -> dict:
    """:func:`evaluate` on the independent cases: ``results[class][method]``.

    The cases are :func:`~napari_mend.evaluation.fill_cases.independent_cases`.
    """
    cases = independent_cases(per_class=per_class, size=size, seed=seed)
    return summarize(cases, run_methods(cases, methods, model=model, log=log), methods)


def main(argv=None, prog=None) -> int:
    """``python -m napari_mend.evaluation.inpainter``: print (and store) the table."""
    parser = argparse.ArgumentParser(prog=prog or "python -m napari_mend.evaluation.inpainter",
                                     description="Evaluate the inpainting fills.")
    parser.add_argument("--model", default="inpainter")
    parser.add_argument("--per-family", type=int, default=6)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--methods", default=",".join(METHOD_NAMES))
    parser.add_argument("--split", choices=("val", "train"), default="val",
                        help="cases from the validation images (default) or, as a cross-check, "
                             "from the training images")
    parser.add_argument("--figure", default=None, help="save the comparison figure here")
    parser.add_argument("--calibrate", action="store_true",
                        help="calibrate auto first and store it in the model card (a file path)")
    parser.add_argument("--write-card", action="store_true",
                        help="store the results in the model card (the card must be a file path "
                             "or a writable shipped card)")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    add_independent_options(parser, "--independent-per-class", default=4,
                            help="samples per class of the independent generator, holes = "
                                 "their true labels, reported beside the own families (0: none)")
    args = parser.parse_args(argv)
    if args.split != "val" and (args.write_card or args.calibrate):
        parser.error("--write-card and --calibrate take the validation images; "
                     "leave out --split train")
    methods = tuple(args.methods.split(","))
    unknown = sorted(set(methods) - set(METHOD_NAMES))
    if unknown:
        parser.error(f"unknown methods {', '.join(unknown)}; choose among "
                     f"{', '.join(METHOD_NAMES)}")
    if args.calibrate:
        calibration = calibrate_auto(model=args.model, crop=args.crop, log=print)
        print(json.dumps(calibration))
        update_card(args.model, auto=calibration)
    results = evaluate(model=args.model, methods=methods, crop=args.crop,
                       per_family=args.per_family, seed=args.seed, split=args.split,
                       figure=args.figure, log=print)
    print(markdown_table(results, methods))
    independent = None
    if args.independent_per_class:
        independent = evaluate_independent(model=args.model, methods=methods,
                                           per_class=args.independent_per_class,
                                           size=args.independent_size,
                                           seed=args.independent_seed, log=print)
        print()
        print(comparison_table(results, independent, methods, title=(
            f"PSNR in the hole (dB): own mask family ({args.per_family} cases, {args.crop} px) | "
            f"independent generator, hole = true defect labels ({args.independent_per_class} "
            f"per class, {args.independent_size} px, seed {args.independent_seed}):")))
        print()
        print("Independent generator, details:")
        print()
        print(markdown_table(independent, methods))
    if args.json:
        Path(args.json).write_text(json.dumps({"own": results, "independent": independent},
                                              indent=2) + "\n", encoding="utf-8")
    if args.write_card:
        update_card(args.model, metrics={
            "evaluation": "napari_mend.evaluation.inpainter "
                          f"(crop {args.crop}, {args.per_family} cases per family, "
                          f"seed {args.seed})", "results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

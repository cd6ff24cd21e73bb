"""Evaluation of watermark removal on held-out validation images.

Two experiments, both on the validation images (``synthesis.VAL_IMAGES``
with a side of at least ``min_side`` px; never trained on), with fixed seeds:

* **single image**: each image gets ``repeats`` watermarks from
  :func:`napari_mend.synthesis.add_watermark` (any layout and style) with a
  peak opacity drawn in ``[0.15, max_opacity]``. Compared on the whole image
  (PSNR, SSIM): the input, the baseline (the true mask filled by Telea) and
  :func:`napari_mend.remove_watermark` given the true mask.
* **collection**: a mark of ``crop`` x ``crop`` px (peak opacity in
  ``[0.2, 0.5]``) is laid over ``max(sizes)`` random crops of the validation
  images. For each collection size K the first K images are cleaned together
  (one image: the single-image method) with the true mask ("mask given") and,
  from 4 images on, with the mark found from the images ("mark found"); the
  mean PSNR over the K images gives the curve. ``--shift`` also moves the mark
  by up to that many pixels between images.

* **own | independent** (``--independent N``): single images, PSNR in the mark
  region (the pixels the mark visibly changed) of ``remove_watermark``'s
  output minus the input's, (a) unattended (``mask=None``: the learned
  detector finds the mark) and (b) given the true region grown by
  :data:`~napari_mend.evaluation.watermark_experiments.HINT_PX` px as a
  rough hint, on the own watermarked validation images
  (as in the single-image experiment) beside ``N`` watermark samples of the
  independent generator (:mod:`napari_mend.evaluation.independent`, through
  :mod:`napari_mend.evaluation.cross`); the single-image whole-image table on
  the same samples; and the collection curve (unshifted) on the independent
  generator's collections: its images sharing one of its marks (multi-coloured
  logos, tiled text) at one place. Reporting only.

The experiments are in :mod:`napari_mend.evaluation.watermark_experiments`.
Run ``napari-mend evaluate watermark [--figure PATH] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..inpainting.auto import classical_fill
from ..synthesis import add_watermark, load_corpus_image
from ..watermark.api import remove_watermark
from .cross import (
    INDEPENDENT,
    INDEPENDENT_SEED,
    OWN,
    add_independent_options,
    as_plane,
    side_by_side,
)
from .figures import pyplot, save_figure
from .watermark_experiments import (
    collection,
    independent_collection,
    independent_single_image,
    metrics,
    region_gains,
    single_image,
    text_recall,
)


def region_table(results: dict) -> str:
    """Own beside independent: the :func:`region_gains` summary."""
    own, ind = results[OWN], results[INDEPENDENT]
    a, b = own["summary"], ind["summary"]

    def gain(v):
        return None if v is None else f"{v:+.2f}"

    rows = [("cases", str(a["cases"]), str(b["cases"])),
            ("mark region, % of the image", a["region_fraction"] and 100 * a["region_fraction"],
             b["region_fraction"] and 100 * b["region_fraction"]),
            ("input PSNR in the mark region", a["input"], b["input"]),
            ("gain, unattended (mask=None)", gain(a["unattended"]), gain(b["unattended"])),
            (f"gain, mask = true region grown by {own['hint_px']:g} px", gain(a["hinted"]),
             gain(b["hinted"])),
            ("for reference: gain, mask = the exact true region", gain(a["exact"]),
             gain(b["exact"])),
            ("worst gain, unattended", gain(a["unattended_worst"]), gain(b["unattended_worst"])),
            (f"worst gain, grown by {own['hint_px']:g} px", gain(a["hinted_worst"]),
             gain(b["hinted_worst"])),
            ("whole image: gain, unattended (mask=None)", gain(a["unattended_whole"]),
             gain(b["unattended_whole"])),
            ("whole image: worst gain, unattended", gain(a["unattended_whole_worst"]),
             gain(b["unattended_whole_worst"])),
            (f"whole image: gain, grown by {own['hint_px']:g} px", gain(a["hinted_whole"]),
             gain(b["hinted_whole"]))]
    return side_by_side(
        "Single image, remove_watermark: PSNR (dB) in the mark region and its gain (and the "
        "whole image's gain), own "
        f"validation images | independent generator ({b['cases']} watermark samples, "
        f"{ind['size']} px, seed {ind['seed']}):", rows)

def markdown(results: dict) -> str:
    """Tables of :func:`evaluate`'s results."""
    lines = []
    if results.get("region"):
        lines += [region_table(results["region"]), ""]
    single = results.get("single")
    if single:
        theirs = results.get("single_independent")
        names = {"input": "watermarked input", "telea_true_mask": "true mask + Telea",
                 "remove_watermark": "remove_watermark (true mask)"}
        title = (f"Single image, whole-image PSNR (dB) / SSIM with the true mask, own: peak "
                 f"opacity <= {results['max_opacity']} ({len(single['rows'])} cases)")
        if theirs:
            title += (f" | independent generator ({len(theirs['rows'])} watermark samples, "
                      f"{theirs['size']} px, seed {theirs['seed']})")
        lines += [title + ":", ""]
        sources = [("own", single["summary"])] + ([("independent", theirs["summary"])]
                                                   if theirs else [])
        lines += ["| method | " + " | ".join(f"{n} mean PSNR | {n} worst PSNR | {n} mean SSIM"
                                             for n, _ in sources) + " |",
                  "|---|" + "---|---|---|" * len(sources)]
        for key, label in names.items():
            lines.append(f"| {label} | " + " | ".join(
                f"{s[key]['psnr']:.2f} | {s[key]['psnr_min']:.2f} | {s[key]['ssim']:.4f}"
                for _, s in sources) + " |")
        lines.append("")
    text = results.get("text")
    if text:
        t = text["summary"]
        lines += [f"Burned-in annotations, restore(classes=['text']), {t['cases']} cases, "
                  f"threshold {text['threshold']}:", "",
                  "| cases with every annotation pixel detected | same, detection grown by "
                  f"{text['grow']} px | mean pixel recall | PSNR input | PSNR restored |",
                  "|---|---|---|---|---|",
                  f"| {100 * t['strict_recall']:.0f}% | {100 * t['grown_recall']:.0f}% | "
                  f"{100 * t['pixel_recall']:.1f}% | {t['psnr_input']:.2f} | "
                  f"{t['psnr_restored']:.2f} |", ""]
    theirs = results.get("collection_independent")
    for coll in results.get("collections", []):
        curves = [("", coll["curve"])]
        title = (f"Collection, mean PSNR (dB) over the images, {coll['crop']} px crops, "
                 f"mark shifted by up to {coll['shift']} px")
        if theirs and coll["shift"] == theirs["shift"]:  # the independent marks do not move
            curves.append((", independent", theirs["curve"]))
            title += (f"; own validation images and marks | independent generator (its "
                      f"scenes and marks, {len(theirs['rows'])} collections, "
                      f"{theirs['crop']} px, seed {theirs['seed']})")
        sizes = list(coll["curve"]["input"])
        lines += [title + ":", "",
                  "| images | " + " | ".join(str(k) for k in sizes) + " |",
                  "|---|" + "---|" * len(sizes)]
        for suffix, c in curves:
            for key, label in (("input", "input"), ("mask_given", "mask given"),
                               ("mark_found", "mark found")):
                cells = [("-" if c[key].get(k) is None else f"{c[key][k]:.2f}") for k in sizes]
                lines.append(f"| {label}{suffix} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def curve_figure(results: dict, path) -> Path:
    """Plot the collection curves (PSNR against the number of images)."""
    fig, ax = pyplot().subplots(figsize=(5, 3.4), dpi=120)
    for coll in results.get("collections", []):
        c = coll["curve"]
        for key, style in (("input", ":"), ("mask_given", "-o"), ("mark_found", "--s")):
            ks = [k for k in c[key] if c[key][k] is not None]
            if ks:
                ax.plot(ks, [c[key][k] for k in ks], style,
                        label=f"{key.replace('_', ' ')} (shift {coll['shift']})")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("images in the collection")
    ax.set_ylabel("mean PSNR (dB)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def example_figure(path, *, image: str = "chelsea", seed: int = 2, opacity: float = 0.4,
                   layout: str | None = None) -> Path:
    """One validation image: watermarked, true mask + Telea, ``remove_watermark``, clean."""
    clean = as_plane(load_corpus_image(image))
    marked, mask, _ = add_watermark(clean, np.random.default_rng(seed), opacity=opacity,
                                    layout=layout)
    panels = [("watermarked", marked), ("true mask + Telea", classical_fill("telea")(marked, mask)),
              ("remove_watermark", remove_watermark(marked, mask=mask, channel_axis=-1)),
              ("clean", clean)]
    fig, axes = pyplot().subplots(1, 4, figsize=(11, 2.9), dpi=110)
    for ax, (label, shown) in zip(axes, panels):
        shown = np.clip(shown, 0, 1)
        ax.imshow(shown[..., 0] if shown.shape[-1] == 1 else shown, cmap="gray", vmin=0, vmax=1)
        psnr = "" if label == "clean" else f" ({metrics(clean, shown)[0]:.1f} dB)"
        ax.set_title(label + psnr, fontsize=8)
        ax.axis("off")
    return save_figure(fig, path)


def evaluate(*, repeats: int = 4, trials: int = 4, max_opacity: float = 0.5, shifts=(0, 3),
             fill: str = "telea", independent: int = 0, independent_size: int = 256,
             independent_seed: int = INDEPENDENT_SEED) -> dict:
    """Run the experiments; see the module docstring (``independent``: samples, 0 for none)."""
    results = {"max_opacity": max_opacity, "fill": fill,
               "single": single_image(repeats=repeats, max_opacity=max_opacity, fill=fill),
               "collections": [collection(trials=trials, shift=s, fill=fill) for s in shifts]}
    if independent:
        results["region"] = region_gains(repeats=repeats, max_opacity=max_opacity,
                                         independent=independent, size=independent_size,
                                         independent_seed=independent_seed, fill=fill)
        results["single_independent"] = independent_single_image(
            independent=independent, size=independent_size, seed=independent_seed, fill=fill)
        if shifts:
            results["collection_independent"] = independent_collection(
                trials=trials, seed=independent_seed, fill=fill)
    return results


def main(argv=None, prog=None) -> int:
    """Print the tables; optionally write the JSON results and the curve figure."""
    parser = argparse.ArgumentParser(prog=prog or "napari-mend evaluate watermark",
                                     description="Evaluate watermark removal on the "
                                                 "validation images.")
    parser.add_argument("--repeats", type=int, default=4, help="watermarks per image (single)")
    parser.add_argument("--trials", type=int, default=4, help="collections per curve")
    parser.add_argument("--max-opacity", type=float, default=0.5)
    parser.add_argument("--shifts", default="0,3",
                        help="comma-separated largest mark shifts to evaluate collections with")
    parser.add_argument("--fill", default="telea", help="fill for opaque pixels")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--figure", default=None, help="also plot the collection curve here")
    parser.add_argument("--text", action="store_true",
                        help="also measure burned-in annotation recall (learned detector)")
    parser.add_argument("--no-complete-text", dest="complete_text", action="store_false",
                        help="with --text: mend the text as detected, without completing it")
    parser.add_argument("--example", default=None,
                        help="also save a single-image example figure here")
    add_independent_options(parser, "--independent", default=8,
                            help="watermark samples of the independent generator: single-image "
                                 "gain in the mark region, unattended and with a rough hint, and "
                                 "whole-image PSNR with the true mask, beside the own images; "
                                 "with --shifts, also collections of its images sharing one of "
                                 "its marks (0: none)")
    args = parser.parse_args(argv)
    if args.example:
        example_figure(args.example)
    results = evaluate(repeats=args.repeats, trials=args.trials, max_opacity=args.max_opacity,
                       shifts=tuple(int(s) for s in args.shifts.split(",") if s != ""),
                       fill=args.fill, independent=args.independent,
                       independent_size=args.independent_size,
                       independent_seed=args.independent_seed)
    if args.text:
        results["text"] = text_recall(repeats=args.repeats, complete_text=args.complete_text)
    print(markdown(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.figure:
        curve_figure(results, args.figure)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

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
  :data:`HINT_PX` px as a rough hint, on the own watermarked validation images
  (as in the single-image experiment) beside ``N`` watermark samples of the
  independent generator (:mod:`napari_mend.evaluation.independent`, through
  :mod:`napari_mend.evaluation.cross`). Reporting only.

Run ``napari-mend evaluate watermark [--figure PATH] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .cross import (INDEPENDENT, INDEPENDENT_SEED, OWN, grow, independent_samples, mean,
                    region_psnr, side_by_side)

SIZES = (1, 2, 4, 8, 16)
HINT_PX = 6
"""The rough hint of :func:`region_gain`: the true mark region grown by this many pixels."""


def _rgb(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 3 else image[..., None]


def metrics(clean: np.ndarray, out: np.ndarray) -> tuple[float, float]:
    """Whole-image PSNR (dB) and SSIM of ``out`` against ``clean`` (``(M, N, C)``, unit range)."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    out = np.clip(out, 0, 1)
    psnr = peak_signal_noise_ratio(clean, out, data_range=1.0)
    ssim = structural_similarity(clean, out, data_range=1.0, channel_axis=-1)
    return float(min(psnr, 99.0)), float(ssim)


def _images(min_side: int, *, colour: bool = False):
    from ..synthesis import corpus_images

    out = [(n, _rgb(im).astype(np.float32)) for n, im in corpus_images("val")
           if min(im.shape[:2]) >= min_side]
    if colour:
        out = [(n, np.repeat(im, 3, axis=-1) if im.shape[-1] == 1 else im) for n, im in out]
    return out


def own_cases(*, repeats: int = 4, max_opacity: float = 0.5, seed: int = 5, min_side: int = 64,
              images=None):
    """Yield ``(name, repeat, opacity, clean, marked, mask)`` of the single-image experiment.

    ``images``: named ``(M, N, C)`` images instead of the validation images.
    """
    from ..synthesis import add_watermark

    for i, (name, clean) in enumerate(_images(min_side) if images is None else images):
        for r in range(repeats):
            rng = np.random.default_rng([seed, i, r])
            opacity = rng.uniform(0.15, max_opacity)
            marked, mask, _ = add_watermark(clean, rng, opacity=opacity)
            yield name, r, opacity, clean, marked, mask


def single_image(*, repeats: int = 4, max_opacity: float = 0.5, seed: int = 5, min_side: int = 64,
                 fill: str = "telea") -> dict:
    """PSNR/SSIM of input, true-mask Telea and ``remove_watermark`` per validation image."""
    from ..inpainting.auto import classical_fill
    from ..special import remove_watermark

    telea = classical_fill("telea")
    rows = []
    for name, r, opacity, clean, marked, mask in own_cases(
            repeats=repeats, max_opacity=max_opacity, seed=seed, min_side=min_side):
        removed = remove_watermark(marked, mask=mask, channel_axis=-1, method="single", fill=fill)
        rows.append({"image": name, "repeat": r, "opacity": round(opacity, 3),
                     "mask_fraction": round(float(mask.mean()), 4),
                     "input": metrics(clean, marked),
                     "telea_true_mask": metrics(clean, telea(marked, mask)),
                     "remove_watermark": metrics(clean, removed)})
    keys = ("input", "telea_true_mask", "remove_watermark")
    return {"rows": rows, "summary": _summary(rows, keys)}


def region_gain(cases, *, fill: str = "telea", hint_px: float = HINT_PX) -> dict:
    """PSNR gain of single-image ``remove_watermark`` in the mark region, unattended and hinted.

    Parameters
    ----------
    cases : iterable of (name, clean, marked, region)
        Images ``(M, N, C)`` in [0, 1] and the bool region ``(M, N)`` the mark
        visibly changed.
    fill : str
        Fill for opaque pixels.
    hint_px : float
        The hint is ``region`` grown by this many pixels.

    Returns
    -------
    results : dict
        ``rows`` (per case: ``region_fraction``, ``input`` region PSNR,
        ``unattended``, ``hinted`` and, for reference, ``exact`` (the true
        region as the mask) gains in dB) and ``summary`` (means, worst gains,
        ``cases``).
    """
    from ..special import remove_watermark

    rows = []
    for name, clean, marked, region in cases:
        before = region_psnr(clean, marked, region)
        unattended = remove_watermark(marked, channel_axis=-1, method="single", fill=fill)
        hinted = remove_watermark(marked, mask=grow(region, hint_px), channel_axis=-1,
                                  method="single", fill=fill)
        exact = remove_watermark(marked, mask=region, channel_axis=-1, method="single", fill=fill)
        rows.append({"image": name, "region_fraction": round(float(region.mean()), 4),
                     "input": before,
                     "unattended": region_psnr(clean, unattended, region) - before,
                     "hinted": region_psnr(clean, hinted, region) - before,
                     "exact": region_psnr(clean, exact, region) - before})
    summary = {"cases": len(rows), "input": mean(r["input"] for r in rows),
               "unattended": mean(r["unattended"] for r in rows),
               "hinted": mean(r["hinted"] for r in rows),
               "exact": mean(r["exact"] for r in rows),
               "unattended_worst": _worst(r["unattended"] for r in rows),
               "hinted_worst": _worst(r["hinted"] for r in rows),
               "region_fraction": mean((r["region_fraction"] for r in rows), 4)}
    return {"rows": rows, "summary": summary, "hint_px": hint_px, "fill": fill}


def _worst(values):
    values = list(values)
    return round(float(min(values)), 2) if values else None


def region_gains(*, repeats: int = 4, max_opacity: float = 0.5, seed: int = 5,
                 independent: int = 8, size: int = 256, independent_seed: int = INDEPENDENT_SEED,
                 fill: str = "telea", hint_px: float = HINT_PX, images=None) -> dict:
    """:func:`region_gain` on the own single-image cases and on ``independent`` independent ones.

    ``images``: named ``(M, N, C)`` images instead of the validation images.
    """
    own = ((name, clean, marked, mask) for name, _, _, clean, marked, mask in own_cases(
        repeats=repeats, max_opacity=max_opacity, seed=seed, images=images))
    theirs = ((f"independent:watermark:{c.index}", c.clean, c.damaged, c.mask)
              for c in independent_samples(independent, size=size, seed=independent_seed,
                                           classes=["watermark"]))
    return {OWN: region_gain(own, fill=fill, hint_px=hint_px),
            INDEPENDENT: {**region_gain(theirs, fill=fill, hint_px=hint_px), "size": size,
                          "seed": independent_seed}}


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
             gain(b["hinted_worst"]))]
    return side_by_side(
        "Single image, remove_watermark: PSNR (dB) in the mark region and its gain, own "
        f"validation images | independent generator ({b['cases']} watermark samples, "
        f"{ind['size']} px, seed {ind['seed']}):", rows)


def _summary(rows, keys) -> dict:
    return {k: {"psnr": round(float(np.mean([r[k][0] for r in rows])), 2),
                "psnr_min": round(float(np.min([r[k][0] for r in rows])), 2),
                "ssim": round(float(np.mean([r[k][1] for r in rows])), 4)} for k in keys}


def shared_mark(rng: np.random.Generator, size: int, opacity: float):
    """Opacity ``(S, S)`` and colour ``(S, S, 3)`` of one synthetic watermark.

    Drawn twice with one seed, over black and over white (the draw does not
    depend on the image), so no part of the mark is lost where it would not
    show on one of them.
    """
    from ..synthesis import add_watermark

    seed = int(rng.integers(2**31))
    dark = add_watermark(np.zeros((size, size, 3), np.float32), seed, opacity=opacity)[2]
    light = add_watermark(np.ones((size, size, 3), np.float32), seed, opacity=opacity)[2]
    return np.maximum(dark["alpha"], light["alpha"]), dark["mark"]


def collection(*, trials: int = 4, crop: int = 160, sizes=SIZES, seed: int = 11, shift: int = 0,
               fill: str = "telea") -> dict:
    """Mean PSNR over the images of collections of growing size (see the module docstring)."""
    from ..special import remove_watermark
    from ..watermark import NoCommonMark

    images = _images(crop + 2 * shift, colour=True)
    rows = []
    for t in range(trials):
        rng = np.random.default_rng([seed, t])
        alpha, colour = shared_mark(rng, crop, rng.uniform(0.2, 0.5))
        marked, clean, masks = [], [], []
        for _ in range(max(sizes)):
            _, image = images[int(rng.integers(len(images)))]
            r = int(rng.integers(0, image.shape[0] - crop + 1))
            c = int(rng.integers(0, image.shape[1] - crop + 1))
            content = image[r:r + crop, c:c + crop]
            dy, dx = (rng.integers(-shift, shift + 1, 2) if shift else (0, 0))
            a = np.roll(alpha, (dy, dx), axis=(0, 1))[..., None]
            w = np.roll(colour, (dy, dx), axis=(0, 1))
            marked.append((a * w + (1 - a) * content).astype(np.float32))
            clean.append(content)
            masks.append(a[..., 0] > 0.02)
        mask = alpha > 0.02
        row = {"trial": t, "mask_fraction": round(float(mask.mean()), 4),
               "input": {}, "mask_given": {}, "mark_found": {}}
        for k in sizes:
            stack = np.stack(marked[:k])
            given = np.stack(masks[:k]) if k > 1 else masks[0]  # each image's own mark
            row["input"][k] = float(np.mean([metrics(clean[i], stack[i])[0] for i in range(k)]))
            out = remove_watermark(stack if k > 1 else stack[0], mask=given, channel_axis=-1,
                                   fill=fill, max_shift=shift)
            out = out if k > 1 else out[None]
            row["mask_given"][k] = float(np.mean([metrics(clean[i], out[i])[0] for i in range(k)]))
            if k >= 4:
                try:
                    out = remove_watermark(stack, channel_axis=-1, fill=fill, max_shift=shift)
                    row["mark_found"][k] = float(np.mean([metrics(clean[i], out[i])[0]
                                                          for i in range(k)]))
                except NoCommonMark:
                    row["mark_found"][k] = None
        rows.append(row)
    curve = {}
    for key in ("input", "mask_given", "mark_found"):
        curve[key] = {}
        for k in sizes:
            values = [r[key][k] for r in rows if r[key].get(k) is not None]
            curve[key][k] = round(float(np.mean(values)), 2) if values else None
    return {"rows": rows, "curve": curve, "crop": crop, "shift": shift}


def text_recall(*, repeats: int = 4, seed: int = 7, min_side: int = 64, threshold: float = 0.5,
                grow: int = 2, complete_text: bool = True) -> dict:
    """Burned-in annotations: how often the learned detector finds every annotation pixel.

    Each validation image gets ``repeats`` annotation sets from
    :func:`napari_mend.synthesis.add_text`; :func:`napari_mend.restore` with
    ``classes=['text']`` detects and fills them. A case is recalled when every
    annotation pixel is inside the detected text (``strict``), or inside it
    grown by ``grow`` px (``grown``: faint anti-aliased rims). ``complete_text``
    is passed to ``restore``.
    """
    from scipy import ndimage as ndi

    from ..classes import CLASS_IDS
    from ..restore import restore
    from ..synthesis import add_text

    rows = []
    for i, (name, clean) in enumerate(_images(min_side)):
        for r in range(repeats):
            rng = np.random.default_rng([seed, i, r])
            marked, mask = add_text(clean, rng)
            mended, labels = restore(marked, channel_axis=-1, classes=["text"],
                                     threshold=threshold, complete_text=complete_text)
            found = labels == CLASS_IDS["text"]
            grown = ndi.binary_dilation(found, iterations=grow) if grow else found
            rows.append({"image": name, "repeat": r, "pixels": int(mask.sum()),
                         "pixel_recall": float(found[mask].mean()) if mask.any() else 1.0,
                         "strict": bool(found[mask].all()), "grown": bool(grown[mask].all()),
                         "psnr_input": metrics(clean, marked)[0],
                         "psnr_restored": metrics(clean, mended)[0]})
    n = len(rows)
    return {"rows": rows, "threshold": threshold, "grow": grow,
            "summary": {"cases": n,
                        "strict_recall": round(sum(r["strict"] for r in rows) / n, 3),
                        "grown_recall": round(sum(r["grown"] for r in rows) / n, 3),
                        "pixel_recall": round(float(np.mean([r["pixel_recall"] for r in rows])), 4),
                        "psnr_input": round(float(np.mean([r["psnr_input"] for r in rows])), 2),
                        "psnr_restored": round(float(np.mean([r["psnr_restored"] for r in rows])),
                                               2)}}


def markdown(results: dict) -> str:
    """Tables of :func:`evaluate`'s results."""
    lines = []
    if results.get("region"):
        lines += [region_table(results["region"]), ""]
    single = results.get("single")
    if single:
        s = single["summary"]
        lines += ["Single image, whole-image PSNR (dB) / SSIM, peak opacity <= "
                  f"{results['max_opacity']} ({len(single['rows'])} cases):", "",
                  "| method | mean PSNR | worst PSNR | mean SSIM |", "|---|---|---|---|"]
        names = {"input": "watermarked input", "telea_true_mask": "true mask + Telea",
                 "remove_watermark": "remove_watermark (true mask)"}
        for key, label in names.items():
            lines.append(f"| {label} | {s[key]['psnr']:.2f} | {s[key]['psnr_min']:.2f} | "
                         f"{s[key]['ssim']:.4f} |")
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
    for coll in results.get("collections", []):
        c = coll["curve"]
        sizes = list(c["input"])
        lines += [f"Collection, mean PSNR (dB) over the images, {coll['crop']} px crops, "
                  f"mark shifted by up to {coll['shift']} px:", "",
                  "| images | " + " | ".join(str(k) for k in sizes) + " |",
                  "|---|" + "---|" * len(sizes)]
        for key, label in (("input", "input"), ("mask_given", "mask given"),
                           ("mark_found", "mark found")):
            cells = [("-" if c[key][k] is None else f"{c[key][k]:.2f}") for k in sizes]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def curve_figure(results: dict, path) -> Path:
    """Plot the collection curves (PSNR against the number of images)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4), dpi=120)
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
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def example_figure(path, *, image: str = "chelsea", seed: int = 2, opacity: float = 0.4,
                   layout: str | None = None) -> Path:
    """One validation image: watermarked, true mask + Telea, ``remove_watermark``, clean."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..inpainting.auto import classical_fill
    from ..special import remove_watermark
    from ..synthesis import add_watermark, load_corpus_image

    clean = _rgb(load_corpus_image(image)).astype(np.float32)
    marked, mask, _ = add_watermark(clean, np.random.default_rng(seed), opacity=opacity,
                                    layout=layout)
    panels = [("watermarked", marked), ("true mask + Telea", classical_fill("telea")(marked, mask)),
              ("remove_watermark", remove_watermark(marked, mask=mask, channel_axis=-1)),
              ("clean", clean)]
    fig, axes = plt.subplots(1, 4, figsize=(11, 2.9), dpi=110)
    for ax, (label, shown) in zip(axes, panels):
        shown = np.clip(shown, 0, 1)
        ax.imshow(shown[..., 0] if shown.shape[-1] == 1 else shown, cmap="gray", vmin=0, vmax=1)
        psnr = "" if label == "clean" else f" ({metrics(clean, shown)[0]:.1f} dB)"
        ax.set_title(label + psnr, fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


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
    parser.add_argument("--independent", type=int, default=8,
                        help="watermark samples of the independent generator: single-image gain "
                             "in the mark region, unattended and with a rough hint, beside the "
                             "own images (0: none)")
    parser.add_argument("--independent-size", type=int, default=256)
    parser.add_argument("--independent-seed", type=int, default=INDEPENDENT_SEED)
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

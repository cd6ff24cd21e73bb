"""Evaluation of moire removal on held-out validation images.

Each validation image (``synthesis.VAL_IMAGES`` with a side of at least
``min_side`` px; never trained on) gets ``repeats`` moire patterns from
:func:`napari_mend.synthesis.add_moire` (LCD subpixel grid or halftone,
whole image or a region) with a fixed seed. Compared by whole-image PSNR and
SSIM against the clean image: the input, a Gaussian blur (the best of
sigma 0.5, 1, 1.5 and 2 px for each image: an oracle, so a generous
baseline), a plain notch filter (:func:`plain_notch`: the whole image's
spectral peaks zeroed), :func:`napari_mend.demoire` with ``'notch'``, ``'learned'`` (when
the model is installed) and ``'auto'``. The undamaged images measure what
each method does to images without moire (PSNR of the output against the
input; ``inf`` = unchanged).

Beside these ("own"), the same methods run on the independent generator's
moire samples (:mod:`napari_mend.evaluation.independent`: halftone screens and
display grids aliased by a sensor, through :mod:`napari_mend.evaluation.cross`;
"independent") and on its clean images. Reporting only.

Run ``napari-mend evaluate moire [--json PATH] [--figure PATH]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from skimage.metrics import structural_similarity

from ..models.registry import card_or_none
from ..moire.api import demoire
from ..synthesis import add_moire
from .cross import (
    INDEPENDENT,
    INDEPENDENT_SEED,
    OWN,
    add_independent_options,
    independent_clean,
    independent_samples,
    side_by_side,
    validation_planes,
)
from .figures import pyplot, save_figure

BLUR_SIGMAS = (0.5, 1.0, 1.5, 2.0)

def metrics(clean: np.ndarray, out: np.ndarray) -> tuple[float, float]:
    """Whole-image PSNR (dB, ``inf`` when identical) and SSIM, unit range ``(M, N, C)``."""
    out = np.clip(out, 0, 1)
    mse = float(np.mean((clean.astype(np.float64) - out) ** 2))
    psnr = float("inf") if mse == 0 else 10 * np.log10(1 / mse)
    return psnr, float(structural_similarity(clean, out, data_range=1.0, channel_axis=-1))


def _methods(include_learned: bool):
    methods = ["notch"]
    if include_learned and card_or_none("demoire") is not None:
        methods.append("learned")
    return methods + ["auto"]


def best_blur(image: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """The Gaussian blur of ``image`` (sigma from :data:`BLUR_SIGMAS`) closest to ``clean``."""
    blurred = [ndi.gaussian_filter(image, (s, s, 0)) for s in BLUR_SIGMAS]
    return min(blurred, key=lambda b: float(np.mean((b - clean) ** 2)))


def plain_notch(image: np.ndarray) -> np.ndarray:
    """The textbook baseline: zero the spectral peaks of the whole image (no windows, no region).

    Per channel, on the log of the unit-range image: the 2-D FFT of the whole
    plane, peaks standing 12 times above the median of their 9 x 9
    neighbourhood and above 0.05 cycles/px, zeroed with a 2-bin margin.
    """
    out = np.empty_like(image)
    m, n = image.shape[:2]
    radius = np.hypot(np.fft.fftfreq(m)[:, None], np.fft.fftfreq(n)[None, :])
    for c in range(image.shape[-1]):
        lo, hi = np.percentile(image[..., c], (0.1, 99.9))
        scale = float(hi - lo) if hi > lo else 1.0
        g = np.log(np.clip((image[..., c] - lo) / scale, 0, None) + 0.05)
        spec = np.fft.fft2(g)
        power = np.abs(spec) ** 2
        background = ndi.median_filter(power, size=9, mode="wrap") / np.log(2)
        peaks = (power > 12 * background) & (radius >= 0.05)
        spec[ndi.binary_dilation(peaks, iterations=2)] = 0
        filtered = np.fft.ifft2(spec).real
        out[..., c] = (np.exp(filtered) - 0.05) * scale + lo
    return out


def _outputs(clean: np.ndarray, damaged: np.ndarray, methods) -> dict:
    """Every method's output for one damaged image (``(M, N, C)`` float32)."""
    outputs = {"input": damaged, "gaussian_blur": best_blur(damaged, clean),
               "plain_notch": plain_notch(damaged)}
    for m in methods:
        outputs[m] = demoire(damaged, channel_axis=-1, method=m)
    return outputs


def _clean_row(name: str, clean: np.ndarray, methods) -> dict:
    """PSNR of each method's output on an image without moire against that image."""
    return {"image": name, **{m: metrics(clean, demoire(clean, channel_axis=-1, method=m))[0]
                              for m in methods}}


def _summary(rows, clean_rows, methods) -> tuple[dict, dict]:
    """Mean PSNR, gain and SSIM per method; worst clean-image PSNR per method."""
    keys = ["input", "gaussian_blur", "plain_notch"] + list(methods)
    summary = {k: {"psnr": round(float(np.mean([r[k][0] for r in rows])), 2),
                   "gain": round(float(np.mean([r[k][0] - r["input"][0] for r in rows])), 2),
                   "ssim": round(float(np.mean([r[k][1] for r in rows])), 4)} for k in keys}
    clean_summary = {m: round(float(min(r[m] for r in clean_rows)), 2) for m in methods}
    return summary, clean_summary


def evaluate(*, repeats: int = 4, seed: int = 3, min_side: int = 128,
             include_learned: bool = True, keep_examples: bool = False) -> dict:
    """Run the evaluation (see the module docstring)."""
    methods = _methods(include_learned)
    images = validation_planes(min_side)
    rows, clean_rows, examples = [], [], []
    for i, (name, clean) in enumerate(images):
        clean_rows.append(_clean_row(name, clean, methods))
        for r in range(repeats):
            rng = np.random.default_rng([seed, i, r])
            damaged, region = add_moire(clean, rng)
            outputs = _outputs(clean, damaged.astype(np.float32), methods)
            row = {"image": name, "repeat": r, "region_fraction": round(float(region.mean()), 3)}
            row.update({k: metrics(clean, v) for k, v in outputs.items()})
            rows.append(row)
            if keep_examples:
                examples.append((name, clean, outputs))
    summary, clean_summary = _summary(rows, clean_rows, methods)
    results = {"rows": rows, "clean": clean_rows, "summary": summary,
               "clean_worst_psnr": clean_summary, "methods": methods, "repeats": repeats,
               "seed": seed, "images": [n for n, _ in images]}
    if keep_examples:
        results["_examples"] = examples
    return results


def evaluate_independent(*, samples: int = 8, clean_images: int = 8, size: int = 256,
                         seed: int = INDEPENDENT_SEED, include_learned: bool = True) -> dict:
    """The same measures on the independent generator's moire samples and clean images.

    Returns the keys of :func:`evaluate` (``rows``, ``clean``, ``summary``,
    ``clean_worst_psnr``, ``methods``), plus ``samples``, ``clean_images``,
    ``size`` and ``seed``.
    """
    methods = _methods(include_learned)
    rows = []
    for case in independent_samples(samples, size=size, seed=seed, classes=["moire"]):
        outputs = _outputs(case.clean, case.damaged, methods)
        rows.append({"image": f"independent:moire:{case.index}",
                     "region_fraction": round(float(case.mask.mean()), 3),
                     **{k: metrics(case.clean, v) for k, v in outputs.items()}})
    clean_rows = [_clean_row(f"independent:clean:{k}", im, methods)
                  for k, im in enumerate(independent_clean(clean_images, size=size, seed=seed))]
    summary, clean_summary = _summary(rows, clean_rows, methods)
    return {"rows": rows, "clean": clean_rows, "summary": summary,
            "clean_worst_psnr": clean_summary, "methods": methods, "samples": samples,
            "clean_images": clean_images, "size": size, "seed": seed}


def comparison(results: dict, independent: dict) -> str:
    """Own beside independent: mean dB gain on moire images, worst PSNR on clean images."""
    labels = {"input": "moire input", "gaussian_blur": "Gaussian blur (best sigma)",
              "plain_notch": "plain notch (whole-image FFT)",
              "notch": "demoire notch", "learned": "demoire learned", "auto": "demoire auto"}
    rows = []
    for key, s in results["summary"].items():
        other = independent["summary"].get(key)
        rows.append((labels.get(key, key), s["psnr"], None if other is None else other["psnr"],
                     f"{s['gain']:+.2f}", None if other is None else f"{other['gain']:+.2f}",
                     results["clean_worst_psnr"].get(key),
                     independent["clean_worst_psnr"].get(key)))
    return side_by_side(
        f"Moire, whole-image PSNR (dB): own ({len(results['rows'])} cases) | independent "
        f"generator ({len(independent['rows'])} moire samples and {len(independent['clean'])} "
        f"clean images, {independent['size']} px, seed {independent['seed']}); clean images: "
        "worst PSNR of the output against the unchanged input:", rows,
        head=("method", f"{OWN} PSNR", f"{INDEPENDENT} PSNR", f"{OWN} gain",
              f"{INDEPENDENT} gain", f"{OWN} clean worst", f"{INDEPENDENT} clean worst"))


def markdown(results: dict) -> str:
    """The summary table of :func:`evaluate`."""
    labels = {"input": "moire input", "gaussian_blur": "Gaussian blur (best sigma)",
              "plain_notch": "plain notch (whole-image FFT)",
              "notch": "demoire notch", "learned": "demoire learned", "auto": "demoire auto"}
    lines = [f"Moire, whole-image PSNR (dB) and SSIM, {len(results['rows'])} cases:", "",
             "| method | mean PSNR | mean gain (dB) | mean SSIM "
             "| clean images: worst PSNR vs input |",
             "|---|---|---|---|---|"]
    for key, s in results["summary"].items():
        clean = results["clean_worst_psnr"].get(key)
        clean_cell = ("-" if clean is None
                      else "unchanged" if clean == float("inf") else f"{clean:.2f}")
        lines.append(f"| {labels.get(key, key)} | {s['psnr']:.2f} | {s['gain']:+.2f} | "
                     f"{s['ssim']:.4f} | {clean_cell} |")
    return "\n".join(lines)


def example_figure(results: dict, path, *, index: int = 0) -> Path:
    """A crop of one case: clean, moire, blur and each demoire method."""
    name, clean, outputs = results["_examples"][index]
    panels = [("clean", clean)] + list(outputs.items())
    h, w = clean.shape[:2]
    size = min(h, w, 192)
    crop = (slice((h - size) // 2, (h + size) // 2), slice((w - size) // 2, (w + size) // 2))
    fig, axes = pyplot().subplots(1, len(panels), figsize=(2.2 * len(panels), 2.5), dpi=110)
    for ax, (label, image) in zip(axes, panels):
        shown = np.clip(image[crop], 0, 1)
        ax.imshow(shown[..., 0] if shown.shape[-1] == 1 else shown, cmap="gray", vmin=0, vmax=1)
        psnr = "" if label == "clean" else f"\n{metrics(clean, image)[0]:.1f} dB"
        ax.set_title(f"{label.replace('_', ' ')}{psnr}", fontsize=8)
        ax.axis("off")
    fig.suptitle(f"{name} (validation image)", fontsize=9)
    return save_figure(fig, path)


def main(argv=None, prog=None) -> int:
    """Print the table; optionally write the JSON results and an example figure."""
    parser = argparse.ArgumentParser(prog=prog or "napari-mend evaluate moire",
                                     description="Evaluate moire removal on the validation images.")
    parser.add_argument("--repeats", type=int, default=4, help="moire patterns per image")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--no-learned", action="store_true", help="skip the learned method")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--figure", default=None, help="also save an example figure here")
    parser.add_argument("--figure-case", type=int, default=0, help="which case the figure shows")
    add_independent_options(parser, "--independent", default=8,
                            help="moire samples (and as many clean images) of the independent "
                                 "generator reported beside the own images (0: none)")
    args = parser.parse_args(argv)
    results = evaluate(repeats=args.repeats, seed=args.seed, include_learned=not args.no_learned,
                       keep_examples=bool(args.figure))
    print(markdown(results))
    if args.independent:
        independent = evaluate_independent(samples=args.independent,
                                           clean_images=args.independent,
                                           size=args.independent_size,
                                           seed=args.independent_seed,
                                           include_learned=not args.no_learned)
        results["independent"] = independent
        print()
        print(comparison(results, independent))
    if args.figure:
        example_figure(results, args.figure, index=args.figure_case)
    if args.json:
        body = {k: v for k, v in results.items() if not k.startswith("_")}
        Path(args.json).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

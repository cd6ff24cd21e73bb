"""The inpainter evaluation's cases, the fills run on them, their metrics, tables and figure.

See :mod:`napari_mend.evaluation.inpainter` for what is measured and how.
"""

from __future__ import annotations

import time

import numpy as np
from skimage.metrics import structural_similarity

from ..inpainting.api import plane_fill
from ..synthesis import MASK_FAMILIES, corpus_images, inpainting_mask
from .cross import (
    INDEPENDENT,
    INDEPENDENT_SEED,
    OWN,
    as_plane,
    independent_samples,
    side_by_side,
)
from .figures import pyplot, save_figure

METHOD_NAMES = ("learned", "auto", "telea", "ns", "biharmonic")
FIGURE_METHODS = ("learned", "auto", "telea", "biharmonic")


def evaluation_cases(*, crop: int = 256, per_family: int = 6, seed: int = 2026,
                     split: str = "val"):
    """Fixed evaluation cases, from the validation images by default.

    Parameters
    ----------
    crop : int, optional
        Side of the square crops; only images at least this large are used.
    per_family : int, optional
        Cases per mask family.
    seed : int, optional
        Seed of crops and masks.
    split : {'val', 'train'}, optional
        The images: the validation images (never trained on), or the training images for a
        cross-check.

    Returns
    -------
    cases : list of dict
        Keys ``family``, ``image`` (name), ``clean`` (float32 ``(crop, crop, C)``
        in ``[0, 1]``, C = 1 or 3) and ``mask`` (bool ``(crop, crop)``).
    """
    images = [(n, im) for n, im in corpus_images(split) if min(im.shape[:2]) >= crop]
    rng = np.random.default_rng(seed)
    cases = []
    for family in MASK_FAMILIES:
        for k in range(per_family):
            name, image = images[k % len(images)]
            plane = as_plane(image)
            r = rng.integers(0, plane.shape[0] - crop + 1)
            c = rng.integers(0, plane.shape[1] - crop + 1)
            mask = np.asarray(inpainting_mask((crop, crop), rng, family=family), bool)
            cases.append({"family": family, "image": name, "mask": mask,
                          "clean": np.ascontiguousarray(plane[r:r + crop, c:c + crop], np.float32)})
    return cases


INDEPENDENT_CLASSES = ("scratch", "dust", "blotch", "text", "watermark")
"""Classes of the independent generator whose labels make holes (moire is a region)."""
FAMILY_OF_CLASS = {"scratch": "thin", "dust": "dust", "blotch": "blotch", "text": "text",
                   "watermark": "logo"}
"""The own mask family shown beside each independent class."""


def independent_cases(*, per_class: int = 4, size: int = 256, seed: int = INDEPENDENT_SEED,
                      classes=INDEPENDENT_CLASSES):
    """Cases like :func:`evaluation_cases` from the independent generator.

    ``family`` is the class name, ``mask`` the sample's defect labels (every
    visibly changed pixel) and ``clean`` its clean image, float32 ``(size,
    size, C)``. For reporting only.
    """
    return [{"family": c.name, "image": f"independent:{c.name}:{c.index}", "mask": c.mask,
             "clean": c.clean}
            for c in independent_samples(per_class, size=size, seed=seed, classes=classes)]


def _bbox(mask: np.ndarray):
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    err = float(np.mean((np.asarray(a, np.float64) - b) ** 2))
    return 10 * np.log10(1.0 / max(err, 1e-12))


def case_metrics(clean: np.ndarray, filled: np.ndarray, mask: np.ndarray) -> dict:
    """PSNR and SSIM inside the hole and on its bounding box."""
    filled = np.clip(filled, 0, 1)
    _, smap = structural_similarity(clean, filled, data_range=1.0, channel_axis=-1, full=True,
                                    win_size=7)
    smap = smap.mean(axis=-1)
    box = _bbox(mask)
    return {"psnr_mask": _psnr(clean[mask], filled[mask]),
            "ssim_mask": float(smap[mask].mean()),
            "psnr_bbox": _psnr(clean[box], filled[box]),
            "ssim_bbox": float(smap[box].mean())}


def run_methods(cases, methods=METHOD_NAMES, *, model: str = "inpainter", log=None):
    """Fill every case with every method.

    Returns
    -------
    outputs : dict
        ``outputs[method][i]`` is the filled case ``i``; ``outputs['_seconds'][method][i]``
        its wall-clock time.
    """
    outputs: dict = {"_seconds": {}}
    for method in methods:
        fill = plane_fill(method, model)  # a registered fill (inpainting.fills.FILLS)
        fill(cases[0]["clean"], cases[0]["mask"])  # warm up: model load, first call
        outputs[method], outputs["_seconds"][method] = [], []
        for case in cases:
            damaged = np.where(case["mask"][..., None], 0.0, case["clean"]).astype(np.float32)
            t0 = time.perf_counter()
            filled = fill(damaged, case["mask"])
            outputs["_seconds"][method].append(time.perf_counter() - t0)
            outputs[method].append(filled)
        if log is not None:
            log(f"{method}: {sum(outputs['_seconds'][method]):.1f} s for {len(cases)} cases")
    return outputs


def summarize(cases, outputs, methods=METHOD_NAMES) -> dict:
    """Per family and method: mean metrics and seconds per megapixel."""
    results: dict = {}
    for family in dict.fromkeys(c["family"] for c in cases):
        idx = [i for i, c in enumerate(cases) if c["family"] == family]
        results[family] = {}
        for method in methods:
            rows = [case_metrics(cases[i]["clean"], outputs[method][i], cases[i]["mask"])
                    for i in idx]
            entry = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
            mp = sum(cases[i]["mask"].size for i in idx) / 1e6
            entry["s_per_mp"] = float(sum(outputs["_seconds"][method][i] for i in idx) / mp)
            entry["coverage"] = float(np.mean([cases[i]["mask"].mean() for i in idx]))
            results[family][method] = entry
    return results


def markdown_table(results: dict, methods=METHOD_NAMES) -> str:
    """Markdown table: one row per family and method.

    Bracketed after the PSNR of ``learned`` and ``auto``: the difference to the best classical
    fill among ``methods`` (none when no classical fill was evaluated).
    """
    lines = ["| family | coverage | method | PSNR hole | SSIM hole | PSNR bbox | SSIM bbox | s/MP |",
             "|---|---|---|---|---|---|---|---|"]
    classical = [m for m in methods if m not in ("learned", "auto")]
    for family, per_method in results.items():
        best = max((per_method[m]["psnr_mask"] for m in classical), default=None)
        for method in methods:
            e = per_method[method]
            psnr = f"{e['psnr_mask']:.2f}"
            if method in ("learned", "auto") and best is not None:
                psnr += f" ({e['psnr_mask'] - best:+.2f})"
            lines.append(f"| {family} | {100 * e['coverage']:.1f}% | {method} | {psnr} | "
                         f"{e['ssim_mask']:.3f} | {e['psnr_bbox']:.2f} | {e['ssim_bbox']:.3f} | "
                         f"{e['s_per_mp']:.2f} |")
    return "\n".join(lines)


def comparison_table(own: dict, independent: dict, methods=METHOD_NAMES, *,
                     title: str = "") -> str:
    """Own beside independent: PSNR in the hole (dB) per defect class and method.

    ``own`` and ``independent`` are :func:`summarize` results, keyed by mask
    family and by independent class; each class is shown beside its own
    family (:data:`FAMILY_OF_CLASS`).
    """
    rows = []
    for name, per_method in independent.items():
        family = FAMILY_OF_CLASS.get(name)
        for method in methods:
            mine = own.get(family, {}).get(method)
            theirs = per_method[method]
            coverage = (("-" if mine is None else f"{100 * mine['coverage']:.1f}%")
                        + f" / {100 * theirs['coverage']:.1f}%")
            rows.append((name, family or "-", method, None if mine is None else mine["psnr_mask"],
                         theirs["psnr_mask"], coverage))
    return side_by_side(title or "PSNR in the hole (dB), own mask family | independent "
                        "generator's true defect labels:", rows,
                        head=("class", "own family", "method", f"{OWN} PSNR hole",
                              f"{INDEPENDENT} PSNR hole", "hole coverage own / independent"))


def comparison_figure(cases, outputs, path, methods=FIGURE_METHODS):
    """Side-by-side crops (input, each method, truth), one row per family; saved to ``path``."""
    plt = pyplot()
    rows, seen = [], set()
    for i, case in enumerate(cases):
        if case["family"] not in seen:
            seen.add(case["family"])
            rows.append(i)
    cols = ["input", *methods, "truth"]
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(1.6 * len(cols), 1.6 * len(rows)))
    for r, i in enumerate(rows):
        case = cases[i]
        box = _bbox(case["mask"])
        pad = 12
        h, w = case["mask"].shape
        view = (slice(max(box[0].start - pad, 0), min(box[0].stop + pad, h)),
                slice(max(box[1].start - pad, 0), min(box[1].stop + pad, w)))
        shown = np.where(case["mask"][..., None], np.array([1.0, 0.0, 1.0]), case["clean"])
        panels = [shown, *[outputs[m][i] for m in methods], case["clean"]]
        for c, panel in enumerate(panels):
            ax = axes[r, c]
            crop = np.clip(panel[view], 0, 1)
            ax.imshow(crop[..., 0] if crop.shape[-1] == 1 else crop, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(cols[c], fontsize=8)
            if c == 0:
                ax.set_ylabel(case["family"], fontsize=8)
    return save_figure(fig, path, dpi=110)

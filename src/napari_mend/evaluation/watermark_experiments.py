"""The experiments of the watermark evaluation: single image, mark region, collections, text.

See :mod:`napari_mend.evaluation.watermark` for what each measures; that
module prints their tables.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ..classes import CLASS_IDS
from ..inpainting.auto import classical_fill
from ..restore import restore
from ..synthesis import add_text, add_watermark
from ..watermark import NoCommonMark
from ..watermark.api import remove_watermark
from .cross import (
    INDEPENDENT,
    INDEPENDENT_SEED,
    OWN,
    grow,
    independent_samples,
    independent_watermark_collection,
    mean,
    region_psnr,
    validation_planes,
)

SIZES = (1, 2, 4, 8, 16)
HINT_PX = 6
"""The rough hint of :func:`region_gain`: the true mark region grown by this many pixels."""

def metrics(clean: np.ndarray, out: np.ndarray) -> tuple[float, float]:
    """Whole-image PSNR (dB) and SSIM of ``out`` against ``clean`` (``(M, N, C)``, unit range)."""
    out = np.clip(out, 0, 1)
    psnr = peak_signal_noise_ratio(clean, out, data_range=1.0)
    ssim = structural_similarity(clean, out, data_range=1.0, channel_axis=-1)
    return float(min(psnr, 99.0)), float(ssim)

def own_cases(*, repeats: int = 4, max_opacity: float = 0.5, seed: int = 5, min_side: int = 64,
              images=None):
    """Yield ``(name, repeat, opacity, clean, marked, mask)`` of the single-image experiment.

    ``images``: named ``(M, N, C)`` images instead of the validation images.
    """
    for i, (name, clean) in enumerate(validation_planes(min_side) if images is None else images):
        for r in range(repeats):
            rng = np.random.default_rng([seed, i, r])
            opacity = rng.uniform(0.15, max_opacity)
            marked, mask, _ = add_watermark(clean, rng, opacity=opacity)
            yield name, r, opacity, clean, marked, mask


def single_image(*, repeats: int = 4, max_opacity: float = 0.5, seed: int = 5, min_side: int = 64,
                 fill: str = "telea") -> dict:
    """PSNR/SSIM of input, true-mask Telea and ``remove_watermark`` per validation image."""
    return _single_image(own_cases(repeats=repeats, max_opacity=max_opacity, seed=seed,
                                   min_side=min_side), fill=fill)


def independent_single_image(*, independent: int = 8, size: int = 256,
                             seed: int = INDEPENDENT_SEED, fill: str = "telea") -> dict:
    """:func:`single_image` on ``independent`` watermark samples of the independent generator
    (their true mask: the pixels the mark visibly changed)."""
    cases = ((name, 0, None, clean, marked, region)
             for name, clean, marked, region in _independent_marks(independent, size, seed))
    return {**_single_image(cases, fill=fill), "size": size, "seed": seed}


def _independent_marks(n: int, size: int, seed: int):
    """Yield ``(name, clean, marked, region)`` of ``n`` watermark samples of the independent
    generator (region: the pixels the mark visibly changed)."""
    for c in independent_samples(n, size=size, seed=seed, classes=["watermark"]):
        yield f"independent:watermark:{c.index}", c.clean, c.damaged, c.mask


def _single_image(cases, *, fill: str) -> dict:
    telea = classical_fill("telea")
    rows = []
    for name, r, opacity, clean, marked, mask in cases:
        removed = remove_watermark(marked, mask=mask, channel_axis=-1, method="single", fill=fill)
        rows.append({"image": name, "repeat": r,
                     "opacity": None if opacity is None else round(opacity, 3),
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
        region as the mask) gains in dB, and the whole image's PSNR gains
        ``unattended_whole`` and ``hinted_whole``: pixels changed outside the
        mark count there) and ``summary`` (means, worst gains, ``cases``).
    """
    rows = []
    for name, clean, marked, region in cases:
        before = region_psnr(clean, marked, region)
        unattended = remove_watermark(marked, channel_axis=-1, method="single", fill=fill)
        hinted = remove_watermark(marked, mask=grow(region, hint_px), channel_axis=-1,
                                  method="single", fill=fill)
        exact = remove_watermark(marked, mask=region, channel_axis=-1, method="single", fill=fill)
        whole = region_psnr(clean, marked)
        rows.append({"image": name, "region_fraction": round(float(region.mean()), 4),
                     "input": before,
                     "unattended": region_psnr(clean, unattended, region) - before,
                     "hinted": region_psnr(clean, hinted, region) - before,
                     "exact": region_psnr(clean, exact, region) - before,
                     "unattended_whole": region_psnr(clean, unattended) - whole,
                     "hinted_whole": region_psnr(clean, hinted) - whole})
    summary = {"cases": len(rows), "input": mean(r["input"] for r in rows),
               "unattended": mean(r["unattended"] for r in rows),
               "hinted": mean(r["hinted"] for r in rows),
               "exact": mean(r["exact"] for r in rows),
               "unattended_whole": mean(r["unattended_whole"] for r in rows),
               "hinted_whole": mean(r["hinted_whole"] for r in rows),
               "unattended_whole_worst": _worst(r["unattended_whole"] for r in rows),
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
    theirs = _independent_marks(independent, size, independent_seed)
    return {OWN: region_gain(own, fill=fill, hint_px=hint_px),
            INDEPENDENT: {**region_gain(theirs, fill=fill, hint_px=hint_px), "size": size,
                          "seed": independent_seed}}

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
    seed = int(rng.integers(2**31))
    dark = add_watermark(np.zeros((size, size, 3), np.float32), seed, opacity=opacity)[2]
    light = add_watermark(np.ones((size, size, 3), np.float32), seed, opacity=opacity)[2]
    return np.maximum(dark["alpha"], light["alpha"]), dark["mark"]


def collection(*, trials: int = 4, crop: int = 160, sizes=SIZES, seed: int = 11, shift: int = 0,
               fill: str = "telea") -> dict:
    """Mean PSNR over the images of collections of growing size.

    See :mod:`napari_mend.evaluation.watermark`.
    """
    images = validation_planes(crop + 2 * shift, colour=True)
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
        rows.append(_collection_row(t, clean, marked, masks, alpha > 0.02, sizes=sizes,
                                    fill=fill, shift=shift))
    return {"rows": rows, "curve": _curve(rows, sizes), "crop": crop, "shift": shift}


def independent_collection(*, trials: int = 4, crop: int = 160, sizes=SIZES,
                           seed: int = INDEPENDENT_SEED, fill: str = "telea") -> dict:
    """:func:`collection`'s curves on the independent generator's collections: images of its
    scenes sharing one of its watermarks (multi-coloured logos, tiled text) at one place."""
    rows = []
    for t in range(trials):
        clean, marked, region = independent_watermark_collection(t, max(sizes), size=crop,
                                                                 seed=seed)
        rows.append(_collection_row(t, clean, marked, [region] * len(marked), region,
                                    sizes=sizes, fill=fill, shift=0))
    return {"rows": rows, "curve": _curve(rows, sizes), "crop": crop, "shift": 0, "seed": seed}


def _collection_row(t, clean, marked, masks, mask, *, sizes, fill, shift) -> dict:
    """PSNR of the first K images of one collection, for each K of ``sizes``: the input, the
    mark removed with each image's true mask, and (K >= 4) with the mark found from them."""
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
    return row


def _curve(rows, sizes) -> dict:
    """Mean over the collections of each row key and size (None where no collection has one)."""
    curve = {}
    for key in ("input", "mask_given", "mark_found"):
        curve[key] = {}
        for k in sizes:
            values = [r[key][k] for r in rows if r[key].get(k) is not None]
            curve[key][k] = round(float(np.mean(values)), 2) if values else None
    return curve


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
    rows = []
    for i, (name, clean) in enumerate(validation_planes(min_side)):
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


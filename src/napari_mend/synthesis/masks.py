"""Inpainting masks in the spirit of LaMa's mask generators.

Families cover the footprints the inpainter meets: thin scratch strokes, dust,
burned-in text, logos, blotches, and LaMa's wide free-form strokes and boxes.
The footprints come from the same generators as the synthetic defects.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ._draw import Canvas, random_walk
from .annotations import text_layers
from .blotches import blotch_coverages
from .dust import dust_coverages
from .scratches import scratch_coverages
from .watermarks import watermark_coverage

MASK_FAMILIES = ("thin", "dust", "text", "logo", "blotch", "large")
"""Names of the mask families of :func:`inpainting_mask`."""

MAX_COVERAGE = 0.4
"""Largest fraction of the image a mask covers (the ``'large'`` family)."""

_THRESHOLD = 0.3


def _union(coverages, shape):
    out = np.zeros(shape, bool)
    for cov in coverages:
        out |= cov > _THRESHOLD
    return out


def _thin(rng, shape):
    count = 1 + int(rng.integers(0, 8) * min(1.0, min(shape) / 128))
    return _union(scratch_coverages(rng, shape, count=count).values(), shape)


def _dust(rng, shape):
    return _union(dust_coverages(rng, shape).values(), shape)


def _text(rng, shape):
    mask = _union((cov for cov, _ in text_layers(rng, shape)), shape)
    grow = int(rng.integers(0, 3))  # a halo, as a text-removal mask would have
    return ndi.binary_dilation(mask, iterations=grow) if grow else mask


def _logo(rng, shape):
    mask = watermark_coverage(rng, shape, layout=rng.choice(["single", "single", "tiled", "diagonal"])) > _THRESHOLD
    grow = int(rng.integers(0, 3))
    return ndi.binary_dilation(mask, iterations=grow) if grow else mask


def _blotch(rng, shape):
    return _union((cov for _, cov in blotch_coverages(rng, shape)), shape)


def _large(rng, shape):
    """Wide free-form strokes and boxes (LaMa 'thick' and 'box' masks)."""
    H, W = shape
    m = min(H, W)
    target = rng.uniform(0.05, MAX_COVERAGE)
    cv = Canvas(shape, scale=1)
    for _ in range(12):
        if rng.random() < 0.65:
            pts = random_walk(
                rng, (rng.uniform(0, W), rng.uniform(0, H)), length=rng.uniform(0.2, 0.8) * m,
                step=max(2.0, m / 20), turn=rng.uniform(0.1, 0.5),
            )
            cv.polyline(pts, width=rng.uniform(0.04, 0.15) * m)
        else:
            h, w = rng.uniform(0.1, 0.4) * H, rng.uniform(0.1, 0.4) * W
            y, x = rng.uniform(-0.1 * H, H - 0.9 * h), rng.uniform(-0.1 * W, W - 0.9 * w)
            cv.polygon([(x, y), (x + w, y), (x + w, y + h), (x, y + h)])
        if (cv.coverage() > 0.5).mean() >= target:
            break
    return cv.coverage() > 0.5


_FAMILIES = {
    "thin": _thin,
    "dust": _dust,
    "text": _text,
    "logo": _logo,
    "blotch": _blotch,
    "large": _large,
}


def inpainting_mask(shape, rng, *, family=None):
    """A random inpainting mask.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)``.
    rng : numpy.random.Generator or int
        Random source (or seed).
    family : str, optional
        One of :data:`MASK_FAMILIES`; default random. ``'thin'``: scratch-like
        strokes 1-5 px; ``'dust'``: specks, fibres, hairs; ``'text'``: burned-in
        text fields, scale bars, boxes (maybe grown by 1-2 px); ``'logo'``:
        emblem and text shapes; ``'blotch'``: soft irregular stains;
        ``'large'``: wide free-form strokes and boxes.

    Returns
    -------
    mask : ndarray of bool, shape (H, W)
        True where to inpaint; never empty, at most :data:`MAX_COVERAGE` of
        the image (from under 1% for thin and dust masks up to that).
    """
    rng = np.random.default_rng(rng)
    shape = (int(shape[0]), int(shape[1]))
    if family is None:
        family = MASK_FAMILIES[int(rng.integers(len(MASK_FAMILIES)))]
    if family not in _FAMILIES:
        raise ValueError(f"family must be one of {MASK_FAMILIES}, got {family!r}")
    limit = int(MAX_COVERAGE * shape[0] * shape[1])
    for _ in range(8):
        mask = _FAMILIES[family](rng, shape)
        if 0 < mask.sum() <= limit:
            return mask
    if not mask.any():  # tiny images: fall back to one pixel-wide stroke
        mask = np.zeros(shape, bool)
        mask[shape[0] // 2, :] = True
    return _trim(mask, limit)


def _trim(mask, limit):
    """Drop connected components (largest last) until coverage <= limit."""
    lab, n = ndi.label(mask)
    sizes = np.bincount(lab.ravel())[1:]
    keep = np.zeros(n + 1, bool)
    total = 0
    for k in np.argsort(sizes):
        if total + sizes[k] <= limit:
            keep[k + 1] = True
            total += sizes[k]
    out = keep[lab]
    if not out.any():  # one component larger than the limit: cut it
        rows = np.flatnonzero(mask.any(axis=1))
        out = mask.copy()
        out[rows[0] + max(1, int(len(rows) * limit / max(mask.sum(), 1))) :] = False
    return out

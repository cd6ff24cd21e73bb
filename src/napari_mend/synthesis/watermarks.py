"""Semi-transparent watermarks: procedural logos, tiled logos and diagonal text."""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from ._draw import paste_max, place, smooth_field, soften
from .layers import composite, draw_on, finish, gray_or_colour, named_colour
from .logos import procedural_logo, watermark_text
from .text import pick_font, render_text


def _as_l(coverage):
    return Image.fromarray(np.round(np.clip(coverage, 0, 1) * 255).astype(np.uint8), mode="L")


def _from_l(img):
    return np.asarray(img, dtype=np.float32) / 255.0


def _resize(coverage, scale):
    """Resize a coverage map by ``scale`` (8-bit internally: fast)."""
    h, w = coverage.shape
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    resample = Image.BILINEAR if scale >= 1 else Image.BOX
    return _from_l(_as_l(coverage).resize(size, resample))


def _rotate(coverage, angle):
    """Rotate a coverage map counter-clockwise by ``angle`` degrees, expanding it."""
    return _from_l(_as_l(coverage).rotate(angle, resample=Image.BILINEAR, expand=True))


def watermark_coverage(rng, shape, *, layout=None):
    """Coverage (H, W) of a watermark: one logo, a tiled logo or diagonal text."""
    H, W = shape
    layout = layout or rng.choice(["single", "tiled", "diagonal"], p=[0.4, 0.3, 0.3])
    cov = np.zeros(shape, np.float32)
    if layout == "single":
        logo = procedural_logo(rng, height=max(8, rng.uniform(0.1, 0.35) * H))
        logo = _resize(logo, min(1.0, 0.9 * W / logo.shape[1]))
        where = rng.choice(["center", "corner", "anywhere"], p=[0.45, 0.35, 0.2])
        if where == "center":
            pos = ((H - logo.shape[0]) / 2, (W - logo.shape[1]) / 2)
        else:
            pos = place(rng, shape, logo.shape, where)
        return paste_max(cov, logo, pos)
    if layout == "tiled":
        unit = procedural_logo(rng, height=max(6, rng.uniform(0.04, 0.14) * min(H, W)))
        unit = _resize(unit, min(1.0, 0.45 * W / unit.shape[1]))
        gy = int(unit.shape[0] * rng.uniform(1.5, 4.0))
        gx = int(unit.shape[1] * rng.uniform(1.1, 2.0))
        angle = rng.uniform(-45, 45) if rng.random() < 0.6 else 0.0
        side = int(np.hypot(H, W)) + max(gy, gx) * 2
        big = np.zeros((side, side), np.float32)
        stagger = rng.random() < 0.5
        for i, r in enumerate(range(0, side - unit.shape[0], gy)):
            off = (gx // 2) * (i % 2) if stagger else 0
            for c in range(off, side - unit.shape[1], gx):
                big[r : r + unit.shape[0], c : c + unit.shape[1]] = unit
        if angle:
            big = _rotate(big, angle)
        r0 = (big.shape[0] - H) // 2 + int(rng.integers(0, gy))
        c0 = (big.shape[1] - W) // 2 + int(rng.integers(0, gx))
        return np.ascontiguousarray(big[r0 : r0 + H, c0 : c0 + W])
    # diagonal text, maybe repeated in parallel rows
    text = watermark_text(rng)
    angle = rng.choice([-1, 1]) * rng.uniform(15, 50)
    patch = render_text(text, size=64, font=pick_font(rng))
    target = rng.uniform(0.5, 1.0) * np.hypot(H, W)
    patch = _rotate(_resize(patch, target / patch.shape[1]), angle)
    if rng.random() < 0.3:
        step = patch.shape[0] * rng.uniform(0.6, 1.2)
        for k in range(-2, 3):
            paste_max(cov, patch, ((H - patch.shape[0]) / 2 + k * step * 0.5, (W - patch.shape[1]) / 2 + k * step))
        return cov
    return paste_max(cov, patch, ((H - patch.shape[0]) / 2, (W - patch.shape[1]) / 2))


def draw_watermark(img, rng, *, layout=None, opacity=None):
    C = img.shape[-1]
    cov = soften(watermark_coverage(rng, img.shape[:2], layout=layout), rng.uniform(0, 1.0) ** 2)
    opacity = rng.uniform(0.15, 0.7) if opacity is None else float(opacity)
    mark = named_colour(rng, C) if rng.random() < 0.4 else gray_or_colour(
        rng, C, rng.choice([1.0, 0.0, rng.uniform(0.3, 0.8)], p=[0.6, 0.25, 0.15])
    )
    style = rng.choice(["flat", "outlined", "embossed"], p=[0.65, 0.2, 0.15])
    if style == "flat":
        shape_cov, mark_map = cov, np.broadcast_to(mark, img.shape)
    else:
        if style == "outlined":  # fill colour inside a contrasting rim
            outer = ndi.grey_dilation(cov, size=int(rng.choice([3, 5])))
            inner = cov
        else:  # bevel: light on one side of the strokes, dark on the other
            shift = tuple(int(v) for v in rng.choice([-1, 1], 2) * rng.integers(1, 3, 2))
            moved = np.roll(cov, shift, axis=(0, 1))
            outer, inner = np.maximum(cov, moved), np.clip(cov - moved, 0, 1)
            mark = np.full(C, 1.0, np.float32)
        weight = np.divide(inner, outer, out=np.zeros_like(cov), where=outer > 0)[..., None]
        rim = 1 - mark if style == "outlined" else np.zeros(C, np.float32)
        shape_cov, mark_map = outer, weight * mark + (1 - weight) * rim
    alpha = shape_cov * opacity
    if rng.random() < 0.3:  # uneven opacity
        alpha = alpha * (0.6 + 0.4 * smooth_field(rng, img.shape[:2], cells=3))
    mark_map = np.ascontiguousarray(mark_map, dtype=np.float32)
    return finish(img, composite(img, alpha, mark_map), alpha)._replace(mark=mark_map)


def add_watermark(image, rng, **opts):
    """Add a semi-transparent watermark: ``J = a * M + (1 - a) * I``.

    The mark is a procedural logo (emblem shapes and a made-up brand name),
    placed once, tiled (maybe rotated), or a text across the diagonal; flat,
    outlined with a contrasting rim, or embossed (light and dark edges).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Float image in [0, 1].
    rng : numpy.random.Generator or int
        Random source (or seed).
    layout : {'single', 'tiled', 'diagonal'}, optional
        Default: random.
    opacity : float, optional
        Peak opacity; default random in [0.15, 0.7].

    Returns
    -------
    damaged : ndarray
        New image, same shape and dtype.
    mask : ndarray of bool, shape (H, W)
        Pixels the watermark visibly changed.
    info : dict
        ``'alpha'``: float32 (H, W) opacity map ``a`` (0 outside ``mask``) and
        ``'mark'``: float32 (H, W[, C]) mark colour ``M``, such that
        ``damaged = alpha * mark + (1 - alpha) * image`` (up to rounding).
    """
    damaged, mask, layer = draw_on(draw_watermark, image, rng, opts)
    mark = layer.mark[..., 0] if np.ndim(image) == 2 else layer.mark
    return damaged, mask, {"alpha": layer.cover, "mark": mark}

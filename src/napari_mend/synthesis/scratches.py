"""Film scratches: long thin curves and vertical lines, bright or dark."""

from __future__ import annotations

import numpy as np

from ._draw import Canvas, random_walk, smooth_field, soften
from .layers import composite, draw_on, finish, gray_or_colour


def scratch_coverages(rng, shape, *, count=None, width=None):
    """Coverage of bright and dark scratches: dict polarity -> (H, W)."""
    H, W = shape
    diag = float(np.hypot(H, W))
    small = min(1.0, min(H, W) / 128)  # fewer, thinner scratches on small images
    n = int(count) if count is not None else 1 + int(rng.integers(0, 6) * small)
    canvases = {}
    for _ in range(n):
        polarity = "bright" if rng.random() < 0.55 else "dark"
        cv = canvases.setdefault(polarity, Canvas(shape))
        w = float(width) if width is not None else 1.0 + 4.0 * small * rng.random() ** 2
        kind = rng.choice(["vertical", "curve", "straight"], p=[0.4, 0.45, 0.15])
        if kind == "vertical":  # film line: nearly vertical, slow wander
            full = rng.random() < 0.6
            y0 = -2.0 if full else rng.uniform(0, H * 0.6)
            length = (H + 4.0) if full else rng.uniform(0.3, 1.0) * (H - y0)
            pts = random_walk(
                rng, (rng.uniform(0, W - 1), y0), length=length, step=2.0,
                angle=np.pi / 2 + rng.normal(0, 0.01), turn=0.002,
            )
        elif kind == "curve":
            pts = random_walk(
                rng, (rng.uniform(0, W), rng.uniform(0, H)), length=rng.uniform(0.2, 1.0) * diag,
                step=2.0, turn=rng.uniform(0.005, 0.05), drift=rng.normal(0, 0.004),
            )
        else:
            pts = random_walk(
                rng, (rng.uniform(0, W), rng.uniform(0, H)), length=rng.uniform(0.2, 1.0) * diag,
                step=4.0, turn=0.0,
            )
        cv.polyline(pts, width=w, value=rng.uniform(0.55, 1.0))
    out = {}
    for polarity, cv in canvases.items():
        cov = cv.coverage()
        if rng.random() < 0.7:  # partly faded, with gaps
            fade = smooth_field(rng, shape, cells=int(rng.integers(2, 9)))
            lo = rng.uniform(-0.6, 0.4)
            cov *= np.clip((fade - lo) / 0.3, 0, 1)
        out[polarity] = soften(cov, rng.uniform(0, 0.7))
    return out


def draw_scratches(img, rng, *, count=None, width=None):
    out = img
    cover = np.zeros(img.shape[:2], np.float32)
    for polarity, cov in scratch_coverages(rng, img.shape[:2], count=count, width=width).items():
        sign = 1.0 if polarity == "bright" else -1.0
        if rng.random() < 0.5:  # absolute colour
            level = rng.uniform(0.8, 1.0) if sign > 0 else rng.uniform(0.0, 0.2)
            colour = gray_or_colour(rng, img.shape[-1], level, saturation=rng.uniform(0, 0.1))
        else:  # relative to the image
            delta = sign * rng.uniform(0.2, 0.6)

            def colour(px, delta=delta):
                return np.clip(px + delta, 0, 1)

        out = composite(out, cov, colour)
        np.maximum(cover, cov, out=cover)
    return finish(img, out, cover)


def add_scratches(image, rng, **opts):
    """Add film scratches: long thin curves and vertical lines, 1-5 px.

    Scratches are bright or dark, anti-aliased, often partly faded, sometimes
    slightly blurred; their colour is absolute or relative to the image.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Float image in [0, 1].
    rng : numpy.random.Generator or int
        Random source (or seed).
    count : int, optional
        Number of scratches (default: random, 1 to 6).
    width : float, optional
        Width in pixels (default: random per scratch, 1 to 5).

    Returns
    -------
    damaged : ndarray
        New image, same shape and dtype.
    mask : ndarray of bool, shape (H, W)
        Pixels the scratches visibly changed.
    """
    return draw_on(draw_scratches, image, rng, opts)[:2]

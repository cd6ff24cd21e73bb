"""Dust: specks, fibres and hairs, dark or bright."""

from __future__ import annotations

import numpy as np

from ._draw import Canvas, random_walk, soften
from .layers import composite, draw_on, finish, gray_or_colour


def dust_coverages(rng, shape, *, count=None):
    """Coverage of dark and bright dust (specks, fibres, hairs): polarity -> (H, W)."""
    H, W = shape
    area = max(H * W / 256.0**2, 0.05)
    n = int(count) if count is not None else max(1, int(rng.integers(3, 25) * np.sqrt(area)))
    main = "dark" if rng.random() < 0.5 else "bright"
    canvases = {}
    kinds = rng.choice(["speck", "fibre", "hair"], size=n, p=[0.75, 0.18, 0.07])
    for kind in kinds:
        polarity = main if rng.random() < 0.85 else ({"dark": "bright", "bright": "dark"}[main])
        cv = canvases.setdefault(polarity, Canvas(shape))
        value = rng.uniform(0.6, 1.0)
        start = (rng.uniform(0, W), rng.uniform(0, H))
        if kind == "speck":
            r = 0.5 + 7.0 * rng.random() ** 2.5  # diameter 1-15 px, mostly small
            k = int(rng.integers(5, 11))
            t = np.sort(rng.uniform(0, 2 * np.pi, k))
            rr = r * rng.uniform(0.55, 1.0, k)
            pts = np.stack([start[0] + rr * np.cos(t), start[1] + rr * np.sin(t)], axis=1)
            cv.polygon(pts, value=value)
        elif kind == "fibre":
            pts = random_walk(rng, start, length=rng.uniform(5, 40), step=1.5, turn=rng.uniform(0.1, 0.35))
            cv.polyline(pts, width=rng.uniform(1.0, 2.2), value=value)
        else:
            pts = random_walk(
                rng, start, length=rng.uniform(20, 120), step=2.0,
                turn=rng.uniform(0.03, 0.12), drift=rng.normal(0, 0.02),
            )
            cv.polyline(pts, width=rng.uniform(0.8, 1.6), value=value)
    return {p: soften(cv.coverage(), rng.uniform(0, 1.0) ** 2) for p, cv in canvases.items()}


def draw_dust(img, rng, *, count=None):
    out = img
    cover = np.zeros(img.shape[:2], np.float32)
    for polarity, cov in dust_coverages(rng, img.shape[:2], count=count).items():
        level = rng.uniform(0.0, 0.25) if polarity == "dark" else rng.uniform(0.8, 1.0)
        out = composite(out, cov, gray_or_colour(rng, img.shape[-1], level, saturation=rng.uniform(0, 0.08)))
        np.maximum(cover, cov, out=cover)
    return finish(img, out, cover)


def add_dust(image, rng, **opts):
    """Add dust: specks (1-15 px), fibres and hairs, dark or bright.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Float image in [0, 1].
    rng : numpy.random.Generator or int
        Random source (or seed).
    count : int, optional
        Number of particles (default: random, scaled with the image area).

    Returns
    -------
    damaged : ndarray
        New image, same shape and dtype.
    mask : ndarray of bool, shape (H, W)
        Pixels the dust visibly changed.
    """
    return draw_on(draw_dust, image, rng, opts)[:2]

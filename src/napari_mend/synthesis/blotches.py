"""Blotches: stains and water marks, bleached spots, paint, torn areas."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ._draw import blob, paste_max, smooth_field
from .layers import composite, draw_on, finish, gray_or_colour, named_colour

BLOTCH_KINDS = ("stain", "light", "opaque", "missing")


def blotch_coverages(rng, shape, *, count=None):
    """Soft irregular blotch shapes: list of (kind, coverage (H, W))."""
    H, W = shape
    n = int(count) if count is not None else int(rng.integers(1, 4))
    out = []
    for _ in range(n):
        kind = BLOTCH_KINDS[int(rng.integers(len(BLOTCH_KINDS)))]
        size = max(5.0, rng.uniform(0.06, 0.4) * min(H, W))
        roughness = rng.uniform(0.3, 0.9) if kind != "missing" else rng.uniform(0.8, 1.6)
        softness = {"stain": rng.uniform(0.2, 0.8), "light": rng.uniform(0.3, 0.9)}.get(
            kind, rng.uniform(0.02, 0.12)
        )
        b = blob(rng, size, roughness=roughness, softness=softness)
        aspect = np.exp(rng.normal(0, 0.35))
        b = np.asarray(
            Image.fromarray(b, mode="F").resize(
                (max(3, int(size * aspect)), max(3, int(size / aspect))), Image.BILINEAR
            ),
            dtype=np.float32,
        )
        if kind == "missing" and rng.random() < 0.6:  # torn at an edge or corner
            r0 = rng.choice([-b.shape[0] / 2, H - b.shape[0] / 2, rng.uniform(-b.shape[0] / 2, H - b.shape[0] / 2)])
            c0 = rng.choice([-b.shape[1] / 2, W - b.shape[1] / 2]) if rng.random() < 0.7 else rng.uniform(0, W) - b.shape[1] / 2
        else:
            r0 = rng.uniform(-b.shape[0] / 3, H - 2 * b.shape[0] / 3)
            c0 = rng.uniform(-b.shape[1] / 3, W - 2 * b.shape[1] / 3)
        cov = paste_max(np.zeros(shape, np.float32), b, (r0, c0))
        out.append((kind, cov))
    return out


def draw_blotches(img, rng, *, count=None):
    out = img
    C = img.shape[-1]
    cover = np.zeros(img.shape[:2], np.float32)
    for kind, cov in blotch_coverages(rng, img.shape[:2], count=count):
        if kind == "stain":  # tinted, darker rim like a water mark
            tint = np.array([0.8, 0.62, 0.38], np.float32) if rng.random() < 0.6 else rng.uniform(0.3, 0.9, 3)
            tint = tint * rng.uniform(0.6, 1.0)
            tint = (tint if C == 3 else np.full(C, tint.mean())).astype(np.float32)

            def colour(px, tint=tint):
                return px * tint

            rim = 4 * cov * (1 - cov) * rng.uniform(0, 0.6)
            alpha = np.clip(cov * rng.uniform(0.5, 1.0) + rim, 0, 1)
        elif kind == "light":  # bleached or faded spot
            k = rng.uniform(0.3, 0.8)

            def colour(px, k=k):
                return px + (1 - px) * k

            alpha = cov * rng.uniform(0.5, 1.0)
        elif kind == "opaque":  # paint, ink, glue: opaque or tinted with texture
            base = named_colour(rng, C) if rng.random() < 0.5 else gray_or_colour(rng, C, rng.uniform(0, 1), saturation=0.3)
            texture = (smooth_field(rng, img.shape[:2], cells=int(rng.integers(4, 16))) - 0.5) * rng.uniform(0, 0.2)
            colour = np.clip(base + texture[..., None], 0, 1)
            alpha = cov * rng.uniform(0.75, 1.0)
        else:  # missing, torn: paper or backing colour, hard edge
            level = rng.choice([rng.uniform(0.85, 1.0), rng.uniform(0.0, 0.1), rng.uniform(0.4, 0.7)])
            colour = gray_or_colour(rng, C, level, saturation=rng.uniform(0, 0.1))
            alpha = cov
        out = composite(out, alpha, colour)
        np.maximum(cover, alpha, out=cover)
    return finish(img, out, cover)


def add_blotches(image, rng, **opts):
    """Add blotches: stains and water marks, bleached spots, paint, torn areas.

    Soft-edged tinted stains (with a darker rim), light faded spots, opaque
    blobs, and missing (torn) areas with hard irregular edges, often at an
    image edge or corner.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Float image in [0, 1].
    rng : numpy.random.Generator or int
        Random source (or seed).
    count : int, optional
        Number of blotches (default: random, 1 to 3).

    Returns
    -------
    damaged : ndarray
        New image, same shape and dtype.
    mask : ndarray of bool, shape (H, W)
        Pixels the blotches visibly changed.
    """
    return draw_on(draw_blotches, image, rng, opts)[:2]



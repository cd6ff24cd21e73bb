"""Moire: a screen's subpixel grid or a halftone screen resampled by a camera."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ._draw import blob, paste_max, smooth_field
from .layers import ALPHA_TOL, Layer, draw_on


def moire_region(rng, shape, region):
    """Weight map (H, W) in [0, 1] of where the moire is."""
    H, W = shape
    if region is None:
        region = rng.random() < 0.5
    if not region:
        return np.ones(shape, np.float32)
    kind = rng.choice(["rect", "blob"])
    if kind == "rect":
        h, w = rng.uniform(0.25, 0.8) * H, rng.uniform(0.25, 0.8) * W
        y, x = rng.uniform(0, H - h), rng.uniform(0, W - w)
        yy, xx = np.ogrid[0:H, 0:W]
        soft = max(1.0, rng.uniform(0.0, 0.15) * min(h, w))
        d = np.minimum(np.minimum(yy - y, y + h - yy), np.minimum(xx - x, x + w - xx))
        weight = np.clip(d / soft, 0, 1).astype(np.float32)
    else:
        b = blob(rng, rng.uniform(0.3, 0.9) * min(H, W), roughness=0.4, softness=rng.uniform(0.1, 0.5))
        weight = paste_max(
            np.zeros(shape, np.float32), b, (rng.uniform(-0.2, 0.8) * H - b.shape[0] / 4, rng.uniform(-0.2, 0.8) * W - b.shape[1] / 4)
        )
    return weight


def moire_pattern(rng, shape, channels, *, kind=None):
    """Relative modulation (H, W, C) of a screen grid or halftone seen by a camera.

    The grid (pitch P camera pixels, slightly rotated and warped) is written
    as a few harmonics attenuated by a Gaussian camera blur; sampling them at
    the pixel centres aliases them into low-frequency moire fringes.
    """
    H, W = shape
    kind = kind or rng.choice(["lcd", "halftone"])
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    theta = np.deg2rad(rng.normal(0, 4) if rng.random() < 0.7 else rng.uniform(-45, 45))
    # a pitch near 1 or 2 camera pixels aliases into wide fringes; coarser
    # pitches also leave the grid itself visible
    pitch = float(rng.choice([rng.uniform(0.85, 1.2), rng.uniform(1.8, 2.3), rng.uniform(1.2, 4.0)], p=[0.5, 0.25, 0.25]))
    amp = rng.uniform(0, 3.0)
    wu = amp * (smooth_field(rng, shape, cells=2) - 0.5)
    wv = amp * (smooth_field(rng, shape, cells=2) - 0.5)
    c, s = float(np.cos(theta)), float(np.sin(theta))  # Python floats keep float32 arrays
    u = (c * xx + s * yy + wu) / pitch
    v = (-s * xx + c * yy + wv) / (pitch * rng.uniform(0.9, 1.1))
    sigma = rng.uniform(0.1, 0.4)

    def mtf(n):
        return float(np.exp(-2 * (np.pi * sigma * n / pitch) ** 2))

    if kind == "lcd":  # RGB subpixel stripes along u, dark rows (black matrix) along v
        duty = rng.uniform(0.5, 0.9)
        rows = 1 - (1 - duty) * (1 + mtf(1) * np.cos(2 * np.pi * v))
        harmonics = [(np.cos(2 * np.pi * n * u), np.sin(2 * np.pi * n * u)) for n in (1, 2)]
        stripes = []
        for k in range(3):  # cos(x - p) = cos x cos p + sin x sin p
            t = np.full(shape, 1 / 3, np.float32)
            for n, (cos_nu, sin_nu) in zip((1, 2), harmonics):
                a = 2 / (np.pi * n) * np.sin(np.pi * n / 3) * mtf(n)
                phase = 2 * np.pi * n * (k / 3 + 1 / 6)
                t += a * np.cos(phase) * cos_nu + a * np.sin(phase) * sin_nu
            stripes.append(t * 3 * rows)
        pattern = np.stack(stripes, axis=-1)
        if channels != 3:
            pattern = (pattern @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    else:  # halftone dots at one screen angle
        p = 1 + mtf(1) * np.cos(2 * np.pi * u) * np.cos(2 * np.pi * v) + 0.5 * mtf(2) * np.cos(4 * np.pi * u)
        pattern = p[..., None]
    pattern = pattern / pattern.mean() - 1
    pattern = pattern / (pattern.std() + 1e-6)  # unit contrast
    if pattern.shape[-1] != channels:
        pattern = np.broadcast_to(pattern[..., :1], (H, W, channels))
    return pattern.astype(np.float32)


def draw_moire(img, rng, *, region=None, kind=None, strength=None):
    shape = img.shape[:2]
    weight = moire_region(rng, shape, region)
    weight = np.where(weight > ALPHA_TOL, weight, 0).astype(np.float32)
    pattern = moire_pattern(rng, shape, img.shape[-1], kind=kind)
    m = rng.uniform(0.07, 0.3) if strength is None else float(strength)
    moire = np.clip(img * (1 + m * pattern), 0, 1)
    if rng.random() < 0.3:  # slight softening, as through a lens
        s = rng.uniform(0.3, 0.7)
        moire = ndi.gaussian_filter(moire, (s, s, 0), truncate=3.0)
    out = img + weight[..., None] * (moire - img)  # exactly img where weight is 0
    return Layer(out.astype(np.float32, copy=False), weight > 0, np.zeros(shape, np.float32))


def add_moire(image, rng, **opts):
    """Add moire: a screen's subpixel grid or a halftone screen resampled by a camera.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Float image in [0, 1].
    rng : numpy.random.Generator or int
        Random source (or seed).
    region : bool, optional
        True: a soft-edged part of the image; False: the whole image;
        default random.
    kind : {'lcd', 'halftone'}, optional
        Default random.
    strength : float, optional
        Standard deviation of the relative modulation ``J / I - 1``; default
        random in [0.07, 0.3].

    Returns
    -------
    damaged : ndarray
        New image, same shape and dtype.
    mask : ndarray of bool, shape (H, W)
        The affected region.
    """
    return draw_on(draw_moire, image, rng, opts)[:2]

"""Film-scan scratches.

A scratch on motion-picture or roll film runs along the transport direction
(vertical in a normally scanned frame), so the long scratches here are nearly
vertical lines that may bow gently and wander by a pixel or two.  The scanner
images the groove as a blurred line: its cross-section is a Gaussian or a
Lorentzian (long tails from scattered light) 1-4 px wide.  Scratches in the
base of a negative print bright, scratches on a print look dark; a groove
through one emulsion layer of a colour film is tinted.  The depth of the
groove, and so the contrast, flickers along the length and the scratch breaks
where the film lifted off the guide.  Short hairline scratches from handling
are added at random angles.
"""

import numpy as np

from .compositing import confine, over
from .geometry import curve_distance, densify, wandering_path
from .random_fields import smooth_1d

_FLOOR = 0.05


def _profile(style, d):
    """Cross-section of a scanned groove as a function of distance ``d`` (px)."""
    if style.random() < 0.6:
        sigma = style.uniform(0.45, 1.5)
        p = np.exp(-0.5 * (d / sigma) ** 2)
    else:
        gamma = style.uniform(0.35, 0.8)
        p = 1.0 / (1.0 + (d / gamma) ** 2)
    # The groove has walls: beyond them no light is scattered, so the
    # profile reaches zero a few px out instead of trailing off forever.
    return np.clip((p - _FLOOR) / (1 - _FLOOR), 0, 1)


def _gaps(rng, n, step):
    """Multiplicative envelope (0 in breaks) for a curve sampled every ``step`` px."""
    env = np.ones(n)
    for _ in range(rng.integers(0, 4)):
        length = int(rng.uniform(4, 40) / step)
        start = int(rng.integers(0, max(n - length, 1)))
        taper = max(int(2 / step), 1)
        gap = np.zeros(length + 2 * taper)
        gap[:taper] = np.linspace(1, 0, taper)
        gap[-taper:] = np.linspace(0, 1, taper)
        seg = env[start:start + gap.size]
        env[start:start + gap.size] = np.minimum(seg, gap[: seg.size])
    return env


def long_scratch_path(rng, shape):
    """Centre line of one nearly vertical, possibly bowed, scratch.

    Parameters
    ----------
    rng : numpy.random.Generator
    shape : tuple of int
        ``(H, W)`` of the frame.

    Returns
    -------
    ndarray, shape (N, 2)
        ``(row, col)`` vertices, densely sampled.
    """
    h, w = shape
    y0 = 0.0 if rng.random() < 0.5 else rng.uniform(0, 0.35 * h)
    y1 = float(h - 1) if rng.random() < 0.5 else rng.uniform(0.6 * h, h - 1)
    rows = np.arange(y0, y1, 0.5)
    t = (rows - y0) / max(y1 - y0, 1.0)
    x0 = rng.uniform(0.04 * w, 0.96 * w)
    slope = rng.normal(0, 0.02) * (y1 - y0)
    bow = rng.normal(0, 0.04 * w) if rng.random() < 0.4 else 0.0
    wander = smooth_1d(rng, rows.size, rng.uniform(30, 120), -1, 1) * rng.uniform(0.3, 2.0)
    cols = x0 + slope * t + bow * 4 * t * (1 - t) + wander
    return densify(np.stack([rows, cols], axis=1), 0.5)[0]


def scratch_alpha(rng, shape, points, amplitude, step, style=None):
    """Opacity map of one scratch along ``points``.

    Parameters
    ----------
    rng : numpy.random.Generator
    shape : tuple of int
    points : ndarray, shape (N, 2)
        Densely sampled centre line.
    amplitude : float
        Peak contrast of the scratch.
    step : float
        Spacing of ``points`` in px.
    style : numpy.random.Generator, optional
        Source of the groove's cross-section (the scanner's optics); ``rng``
        by default.

    Returns
    -------
    ndarray of float32, shape (H, W)
    """
    n = len(points)
    flicker = smooth_1d(rng, n, rng.uniform(2, 12) / step, rng.uniform(0.3, 0.7), 1.0)
    ends = np.minimum(np.arange(n), np.arange(n)[::-1]) * step
    taper = np.clip(ends / rng.uniform(2, 8), 0, 1)  # grooves start and end shallow
    strength = amplitude * flicker * _gaps(rng, n, step) * taper
    d, nearest = curve_distance(points, shape, radius=7.0)
    ok = nearest >= 0
    alpha = np.zeros(shape, np.float32)
    alpha[ok] = strength[nearest[ok]] * _profile(rng if style is None else style, d[ok])
    return alpha


def add_scratches(image, rng, style=None):
    """Add film-scan scratches to an image.

    Parameters
    ----------
    image : ndarray of float32, shape (H, W) or (H, W, 3)
        Clean image in [0, 1].
    rng : numpy.random.Generator
        Source of where the scratches run.
    style : numpy.random.Generator, optional
        Source of how they look: the scan direction, bright or dark, the
        grooves' cross-sections, contrasts and tints (what the scratches of
        one film and scanner share, see :func:`.generator.damaged_sample`);
        ``rng`` by default.

    Returns
    -------
    damaged : ndarray of float32
        Same shape as ``image``.
    footprint : ndarray of bool, shape (H, W)
        Pixels that the scratches may have changed.
    """
    style = rng if style is None else style
    transpose = style.random() < 0.15  # frame scanned sideways
    img = np.swapaxes(image, 0, 1) if transpose else image
    shape = img.shape[:2]
    bright = style.random() < 0.5
    out = img
    footprint = np.zeros(shape, bool)

    def paint(alpha, colour):
        nonlocal out
        out = over(out, alpha, colour)
        footprint[...] |= alpha > 1e-4

    for _ in range(rng.integers(1, 4)):
        alpha = scratch_alpha(rng, shape, long_scratch_path(rng, shape), style.uniform(0.3, 0.85), 0.5,
                              style)
        if bright:
            colour = np.ones(3)
            if img.ndim == 3 and style.random() < 0.3:  # groove through one dye layer
                colour = np.ones(3)
                colour[style.integers(3)] = style.uniform(0.4, 0.75)
        else:
            colour = np.full(3, style.uniform(0.0, 0.12))
        paint(alpha, colour)

    if rng.random() < 0.6:
        h, w = shape
        for _ in range(rng.integers(1, 7)):
            start = (rng.uniform(0, h), rng.uniform(0, w))
            path = wandering_path(rng, start, rng.uniform(0, 2 * np.pi), rng.uniform(12, 80), rng.uniform(0.01, 0.05))
            dense = densify(path, 0.5)[0]
            alpha = scratch_alpha(rng, shape, dense, style.uniform(0.2, 0.5), 0.5, style)
            hair_bright = bright if style.random() < 0.8 else not bright
            paint(alpha, np.ones(3) if hair_bright else np.full(3, style.uniform(0.0, 0.15)))

    out = confine(img, out, footprint)
    if transpose:
        out, footprint = np.swapaxes(out, 0, 1), footprint.T
    return np.ascontiguousarray(out), np.ascontiguousarray(footprint)

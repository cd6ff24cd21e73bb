"""Liquid stains with tide lines (coffee-ring effect).

A drop spreads from where it landed until its front pins on the paper or
emulsion fibres; the front is rough because the medium's permeability varies.
Here the wetted area is a smoothed random field grown from a seed: a
stretched radial distance from the seed, lowered by fractal noise, is
thresholded, and only the part connected to the seed is kept.  While the
liquid dries, capillary flow carries pigment to the pinned edge, which leaves
a dark tide line; a second, fainter tide line marks where the front stopped
once more on the way in.  The interior is a partly transparent dye layer that
multiplies the picture by a tinted transmission (Beer-Lambert), so the image
detail stays visible through it.
"""

import numpy as np
from scipy import ndimage as ndi

from .compositing import confine, multiply
from .random_fields import power_law_field, smooth_noise

STAIN_TINTS = np.array([
    [0.78, 0.56, 0.30],  # tea / coffee
    [0.82, 0.47, 0.26],  # rust
    [0.90, 0.84, 0.58],  # water with sizing, yellowed
    [0.68, 0.50, 0.36],  # foxing brown
    [0.55, 0.58, 0.72],  # diluted blue-black ink
    [0.62, 0.66, 0.42],  # mould, olive
], dtype=np.float32)
"""ndarray: transmitted colour of a unit thickness of each stain kind."""


def wetted_region(rng, side, diameter):
    """Irregular wetted area of a stain grown from the patch centre.

    Parameters
    ----------
    rng : numpy.random.Generator
    side : int
        Side of the square patch.
    diameter : float
        Nominal stain diameter in pixels.

    Returns
    -------
    mask : ndarray of bool, shape (side, side)
        Wetted pixels, connected to the seed.
    level : ndarray of float32, shape (side, side)
        The grown field (``< 1`` inside); its level sets are earlier fronts.
    """
    yy, xx = np.mgrid[0:side, 0:side] - side / 2.0
    theta = rng.uniform(0, np.pi)
    stretch = rng.uniform(1.0, 1.6)
    u = np.cos(theta) * xx + np.sin(theta) * yy
    v = -np.sin(theta) * xx + np.cos(theta) * yy
    r = np.hypot(u / stretch, v) / (diameter / 2)
    rough = power_law_field(rng, (side, side), rng.uniform(2.4, 3.2)) - 0.5
    lobes = smooth_noise(rng, (side, side), diameter / 5)
    # Noise fades out beyond 1.5 radii so that the stain always fits its patch.
    fade = np.clip(1.6 - r, 0, 1)
    level = (r - fade * (rng.uniform(0.5, 1.0) * rough + rng.uniform(0.1, 0.25) * lobes)).astype(np.float32)
    mask = level < 1.0
    lab, _ = ndi.label(mask)
    seed_label = lab[side // 2, side // 2]
    if seed_label == 0:
        mask = r < 0.6
    else:
        mask = lab == seed_label
    mask = ndi.binary_fill_holes(mask)
    return mask, level


def stain_density(rng, side, diameter, style=None):
    """Optical density maps of one stain: tinted interior and tide lines.

    Parameters
    ----------
    rng : numpy.random.Generator
    side : int
    diameter : float
    style : numpy.random.Generator, optional
        Source of the dye's density, the tide lines' width and strength and
        the edge's softness (what stains of one liquid on one paper share);
        ``rng`` by default.

    Returns
    -------
    interior : ndarray of float32, shape (side, side)
        Density of the dye layer, >= 0 (0 outside the stain).
    rim : ndarray of float32, shape (side, side)
        Density of the tide lines (pigment and dirt piled up at the fronts).
    """
    style = rng if style is None else style
    mask, level = wetted_region(rng, side, diameter)
    inside = ndi.distance_transform_edt(mask)
    interior = style.uniform(0.25, 0.8) * (1 + 0.25 * smooth_noise(rng, (side, side), diameter / 8))
    # Pigment drifts outward while drying: the interior thins toward the centre.
    drift = 1 - style.uniform(0.0, 0.5) * np.exp(-inside / (0.25 * diameter))
    density = mask * np.clip(interior * drift, 0.05, None)
    ring_width = style.uniform(0.8, 2.5)
    ring = np.exp(-((inside - 0.5) / ring_width) ** 2) * mask
    ring_strength = style.uniform(0.5, 1.5) * (1 + 0.3 * smooth_noise(rng, (side, side), 4))
    rim = ring * np.clip(ring_strength, 0.2, None)
    if rng.random() < 0.45:  # the front paused once more while receding
        inner = mask & (level < rng.uniform(0.55, 0.8))
        if inner.sum() > 20:
            d2 = ndi.distance_transform_edt(inner)
            rim = rim + 0.5 * rng.uniform(0.4, 1.0) * np.exp(-((d2 - 0.5) / ring_width) ** 2) * inner
    sigma = style.uniform(0.5, 1.0)
    return (ndi.gaussian_filter(density.astype(np.float32), sigma),
            ndi.gaussian_filter(rim.astype(np.float32), sigma))


def add_blotches(image, rng, style=None):
    """Add one to three liquid stains.

    Parameters
    ----------
    image : ndarray of float32, shape (H, W) or (H, W, 3)
        Clean image in [0, 1].
    rng : numpy.random.Generator
        Source of the stains' number, sizes, shapes and places.
    style : numpy.random.Generator, optional
        Source of their liquid: tint, strength and tide lines (see
        :func:`stain_density` and :func:`.generator.damaged_sample`); ``rng``
        by default.

    Returns
    -------
    damaged : ndarray of float32
        Same shape as ``image``.
    footprint : ndarray of bool, shape (H, W)
        Pixels that the stains may have changed.
    """
    style = rng if style is None else style
    h, w = image.shape[:2]
    total = np.zeros((h, w, 3), np.float32)
    count = int(rng.choice([1, 1, 1, 2, 2, 3]))
    for _ in range(count):
        diameter = float(np.clip(rng.uniform(20, 150), 12, 0.6 * min(h, w)))
        side = int(diameter * 2.6) + 8
        interior, rim = stain_density(rng, side, diameter, style)
        tint = np.clip(STAIN_TINTS[style.integers(len(STAIN_TINTS))] + style.normal(0, 0.04, 3), 0.2, 0.98)
        absorb = -np.log(tint) * style.uniform(0.6, 1.4)
        # The tide line holds dirt as well as dye: it absorbs more neutrally.
        rim_absorb = 0.5 * absorb + 0.5 * absorb.mean()
        density = interior[..., None] * absorb + rim[..., None] * rim_absorb
        r0 = int(rng.integers(-side // 2, h - side // 2 + 1))
        c0 = int(rng.integers(-side // 2, w - side // 2 + 1))
        rs, cs = slice(max(r0, 0), min(r0 + side, h)), slice(max(c0, 0), min(c0 + side, w))
        total[rs, cs] += density[rs.start - r0:rs.stop - r0, cs.start - c0:cs.stop - c0]
    footprint = total.max(axis=2) > 1e-4
    transmission = np.exp(-total).astype(np.float32)
    return confine(image, multiply(image, transmission), footprint), footprint

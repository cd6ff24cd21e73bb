"""Dust and lint on a scanned print or negative.

Particles are irregular: lumps are thresholded smoothed-noise blobs, flakes
are random star-shaped polygons, lint fibres are thin curved worms.  Sizes
follow a power law between 2 and 25 px (many specks, few large lumps).  The
particles lie slightly out of the focal plane, so their edges are soft.  They
are opaque and dark on a print; on a scanned negative they block light and
end up bright.  Their density varies across the frame (dust settles in
patches), modelled by a log-normal intensity field from which positions are
drawn.
"""

import numpy as np
from scipy import ndimage as ndi

from .compositing import confine, over
from .geometry import curve_distance, densify, polygon_coverage, wandering_path
from .random_fields import smooth_noise

_SS = 4  # supersampling of particle masks


def _blob(rng, size):
    """Coverage of a lumpy blob of diameter ``size`` in a square patch."""
    side = int(np.ceil(size * 1.5)) + 4
    n = side * _SS
    yy, xx = (np.mgrid[0:n, 0:n] + 0.5) / _SS - side / 2
    r = np.hypot(yy, xx) / (size / 2)
    noise = smooth_noise(rng, (n, n), max(size * _SS / 5, 1.0))
    inside = (1 - r + rng.uniform(0.25, 0.5) * noise) > 0
    lab, count = ndi.label(inside)
    if count > 1:  # keep the main lump plus nearby crumbs only
        sizes = ndi.sum(inside, lab, range(1, count + 1))
        keep = np.flatnonzero(sizes >= 0.1 * sizes.max()) + 1
        inside = np.isin(lab, keep)
    return inside.reshape(side, _SS, side, _SS).mean(axis=(1, 3)).astype(np.float32)


def _flake(rng, size):
    """Coverage of a star-shaped random polygon of diameter ``size``."""
    side = int(np.ceil(size * 1.3)) + 4
    k = int(rng.integers(5, 13))
    angles = np.sort(rng.uniform(0, 2 * np.pi, k))
    radii = size / 2 * rng.uniform(0.45, 1.0, k)
    verts = np.stack([side / 2 - 0.5 + radii * np.sin(angles), side / 2 - 0.5 + radii * np.cos(angles)], axis=1)
    return polygon_coverage(verts, (side, side), _SS)


def _fibre(rng, size):
    """Coverage of a thin curved lint fibre about ``size`` to ``3 * size`` long."""
    length = min(size * rng.uniform(1.5, 3.0), 45.0)
    path = wandering_path(rng, (0.0, 0.0), rng.uniform(0, 2 * np.pi), length, rng.uniform(0.05, 0.15))
    path -= path.min(axis=0) - 3
    side = int(np.ceil(path.max())) + 4
    dense = densify(path, 0.25)[0]
    d, _ = curve_distance(dense, (side, side), radius=3.0)
    width = rng.uniform(0.6, 1.5)
    return np.clip(width / 2 + 0.5 - d, 0, 1).astype(np.float32)


def particle_coverage(rng, size, style=None):
    """Coverage patch of one particle of nominal size ``size`` px.

    Parameters
    ----------
    rng : numpy.random.Generator
    size : float
        Nominal diameter (or length scale for fibres) in pixels.
    style : numpy.random.Generator, optional
        Source of the defocus blur (the scanner's optics); ``rng`` by default.

    Returns
    -------
    ndarray of float32, shape (S, S)
        Soft coverage in [0, 1], already defocused.
    """
    kind = rng.choice(3, p=[0.45, 0.3, 0.25])
    cov = (_blob, _flake, _fibre)[kind](rng, size)
    cov = np.pad(cov, 3)
    blurred = ndi.gaussian_filter(cov, (rng if style is None else style).uniform(0.3, 0.9))
    # Cut the far tail of the defocus blur: a particle has a finite halo.
    return np.clip((blurred - 0.03) / 0.97, 0, 1)


def particle_sizes(rng, n, low=2.0, high=25.0, exponent=1.7):
    """Power-law (Pareto) particle sizes truncated to ``[low, high]``.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
    low, high : float
    exponent : float

    Returns
    -------
    ndarray of float64
    """
    u = rng.uniform(0, 1, n)
    a = 1 - (low / high) ** exponent
    return low * (1 - u * a) ** (-1 / exponent)


def add_dust(image, rng, style=None):
    """Sprinkle dust and fibres over an image.

    Parameters
    ----------
    image : ndarray of float32, shape (H, W) or (H, W, 3)
        Clean image in [0, 1].
    rng : numpy.random.Generator
        Source of where the particles lie, how many and how large.
    style : numpy.random.Generator, optional
        Source of how they look: bright (a negative) or dark (a print), the
        defocus, opacity and colour (what the dust of one scanner and
        material shares, see :func:`.generator.damaged_sample`); ``rng`` by
        default.

    Returns
    -------
    damaged : ndarray of float32
        Same shape as ``image``.
    footprint : ndarray of bool, shape (H, W)
        Pixels that the particles may have changed.
    """
    h, w = image.shape[:2]
    density = np.exp(rng.uniform(0.8, 2.0) * smooth_noise(rng, (h, w), max(h, w) / 6))
    p = (density / density.sum()).ravel()
    n = int(rng.integers(10, 60) * h * w / 256**2) + 3
    where = rng.choice(h * w, size=n, p=p)
    sizes = particle_sizes(rng, n)
    style = rng if style is None else style
    bright = style.random() < 0.35
    out = image
    footprint = np.zeros((h, w), bool)
    for idx, size in zip(where, sizes):
        cov = particle_coverage(rng, size, style)
        side = cov.shape[0]
        r0, c0 = idx // w - side // 2, idx % w - side // 2
        rs, cs = slice(max(r0, 0), min(r0 + side, h)), slice(max(c0, 0), min(c0 + side, w))
        patch = cov[rs.start - r0:rs.stop - r0, cs.start - c0:cs.stop - c0]
        if patch.size == 0:
            continue
        alpha = patch * style.uniform(0.75, 1.0) if style.random() < 0.8 else patch * style.uniform(0.4, 0.75)
        is_bright = bright if style.random() < 0.9 else not bright
        if is_bright:
            colour = np.full(3, style.uniform(0.85, 1.0))
        else:
            colour = np.array([0.10, 0.08, 0.06]) * style.uniform(0.2, 1.5)
        region = out[rs, cs]
        out = out.copy() if out is image else out
        out[rs, cs] = over(region, alpha.astype(np.float32), colour)
        footprint[rs, cs] |= alpha > 1e-4
    return confine(image, out, footprint), footprint

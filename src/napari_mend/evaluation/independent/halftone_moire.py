"""Moire from re-scanning a printed halftone or photographing a fine grid.

The clean picture is first "printed" at four times the scan resolution:
either through an AM halftone screen (round dots on a rotated square lattice,
one screen per ink at the classic 15/75/0 degree angles for colour, 45 degrees
for grey) or multiplied by a fine periodic grid (a mesh, or the RGB stripes of
a display).  It is then "scanned" by averaging 4 x 4 blocks (the area of a
sensor pixel) with no anti-alias filter.  The screen's frequency lies near or
above the scan's Nyquist limit, so it aliases into low-frequency beats: moire.
Moire is a property of a region rather than of single pixels, so its label is
the whole affected rectangle (often the full frame).
"""

from functools import lru_cache

import numpy as np
from scipy import ndimage as ndi
from skimage.transform import resize

_SS = 4  # print resolution / scan resolution


@lru_cache(maxsize=1)
def _spot_cdf():
    """Cumulative distribution of the round-dot spot function over one cell."""
    u = (np.arange(512) + 0.5) / 512
    a, b = np.meshgrid(u, u)
    levels = np.sort(_spot(a, b).ravel())
    grid = np.linspace(0.0, 1.0, 2049)
    cdf = np.searchsorted(levels, grid) / levels.size
    return grid, cdf


def _spot(u, v):
    return 0.5 - (np.cos(2 * np.pi * u) + np.cos(2 * np.pi * v)) / 4


def screen_thresholds(shape, period, angle, phase):
    """Uniformised threshold array of a rotated round-dot halftone screen.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` of the print raster.
    period : float
        Screen period in print-raster pixels.
    angle : float
        Screen angle in radians.
    phase : tuple of float
        Offset of the lattice, in cells.

    Returns
    -------
    ndarray of float32, shape (H, W)
        Thresholds in [0, 1]: a pixel is inked when its ink coverage exceeds
        the threshold, so a flat tone ``c`` inks a fraction ``c`` of each cell.
    """
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    u = (np.cos(angle) * xx + np.sin(angle) * yy) / period + phase[0]
    v = (-np.sin(angle) * xx + np.cos(angle) * yy) / period + phase[1]
    grid, cdf = _spot_cdf()
    return np.interp(_spot(u, v), grid, cdf).astype(np.float32)


def halftone_print(rng, hires, period):
    """Print an image (at print resolution) with AM halftone screens.

    Parameters
    ----------
    rng : numpy.random.Generator
    hires : ndarray of float32, shape (H, W) or (H, W, 3)
        Image at print resolution, values in [0, 1].
    period : float
        Screen period in print-raster pixels.

    Returns
    -------
    ndarray of float32
        Printed reflectance, same shape as ``hires``.
    """
    shape = hires.shape[:2]
    base = rng.uniform(0, np.pi / 2)
    if hires.ndim == 2:
        angles = [np.deg2rad(45) + base]
    else:
        angles = [np.deg2rad(a) + base for a in (15, 75, 0)]  # C, M, Y
    channels = hires[..., None] if hires.ndim == 2 else hires
    out = np.empty_like(channels)
    for c, angle in enumerate(angles):
        coverage = 1.0 - channels[..., c]  # ink needed to absorb this channel
        thr = screen_thresholds(shape, period * rng.uniform(0.97, 1.03), angle, rng.uniform(0, 1, 2))
        inked = (coverage > thr).astype(np.float32)
        # Dot gain and ink spread: dots are soft-edged, not ideal squares.
        inked = ndi.gaussian_filter(inked, rng.uniform(0.3, 0.7))
        out[..., c] = 1.0 - inked * rng.uniform(0.85, 1.0)
    return out[..., 0] if hires.ndim == 2 else out


def grid_print(rng, hires, period):
    """Multiply an image (at print resolution) by a fine periodic grid.

    Parameters
    ----------
    rng : numpy.random.Generator
    hires : ndarray of float32, shape (H, W) or (H, W, 3)
    period : float
        Grid period in print-raster pixels.

    Returns
    -------
    ndarray of float32
    """
    h, w = hires.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.normal(0, np.deg2rad(6)) if rng.random() < 0.7 else rng.uniform(0, np.pi)
    u = (np.cos(angle) * xx + np.sin(angle) * yy) / period
    v = (-np.sin(angle) * xx + np.cos(angle) * yy) / (period * rng.uniform(0.9, 1.1))
    depth = rng.uniform(0.35, 0.8)
    duty = rng.uniform(0.2, 0.45)
    if hires.ndim == 3 and rng.random() < 0.6:  # display sub-pixel stripes
        gains = [(((u + c / 3.0) % 1.0) < 1 / 3).astype(np.float32) for c in range(3)]
        mask = np.stack(gains, axis=-1) * 2.2
        rows = (((v % 1.0) > duty * 0.5)).astype(np.float32)[..., None]
        grid = (1 - depth) + depth * mask * rows
        grid = grid / grid.mean(axis=(0, 1))  # exposure set for the display's mean
        return np.clip(hires * grid, 0, 1)
    wires = np.maximum(((u % 1.0) < duty), ((v % 1.0) < duty)).astype(np.float32)
    wires = ndi.gaussian_filter(wires, 0.4)
    grid = 1 - depth * wires
    grid = grid / grid.mean()  # exposure compensates the light the mesh blocks
    return np.clip(hires * (grid[..., None] if hires.ndim == 3 else grid), 0, 1)


def box_scan(printed, fill=_SS):
    """Sensor sampling with no anti-alias filter.

    Each output pixel averages the central ``fill x fill`` print samples of
    its ``4 x 4`` block: ``fill = 4`` is a sensor with a 100 % fill factor,
    smaller values model photosites that cover only part of the pixel pitch
    (weaker integration, stronger aliasing).

    Parameters
    ----------
    printed : ndarray, shape (H * 4, W * 4) or (H * 4, W * 4, 3)
    fill : int
        Side of the light-sensitive area in print samples, 1 to 4.

    Returns
    -------
    ndarray of float32, shape (H, W) or (H, W, 3)
    """
    h, w = printed.shape[0] // _SS, printed.shape[1] // _SS
    blocks = printed[: h * _SS, : w * _SS].reshape(h, _SS, w, _SS, *printed.shape[2:])
    lo = (_SS - fill) // 2
    return blocks[:, lo:lo + fill, :, lo:lo + fill].mean(axis=(1, 3)).astype(np.float32)


def moire_region(rng, shape):
    """Rectangle affected by moire: the whole frame or a large part of it.

    Parameters
    ----------
    rng : numpy.random.Generator
    shape : tuple of int

    Returns
    -------
    tuple of slice
    """
    h, w = shape
    if rng.random() < 0.5:
        return slice(0, h), slice(0, w)
    rh, rw = int(h * rng.uniform(0.45, 1.0)), int(w * rng.uniform(0.45, 1.0))
    r0, c0 = int(rng.integers(0, h - rh + 1)), int(rng.integers(0, w - rw + 1))
    return slice(r0, r0 + rh), slice(c0, c0 + rw)


def add_moire(image, rng, style=None):
    """Re-scan (part of) an image through a halftone or grid print.

    Parameters
    ----------
    image : ndarray of float32, shape (H, W) or (H, W, 3)
        Clean image in [0, 1].
    rng : numpy.random.Generator
        Source of the affected rectangle.
    style : numpy.random.Generator, optional
        Source of the print and the scan: screen or grid, its period, angle
        and dots, the photosites and the optics (what the moire of one print
        process and scanner shares, see :func:`.generator.damaged_sample`);
        ``rng`` by default.

    Returns
    -------
    damaged : ndarray of float32
        Same shape as ``image``.
    footprint : ndarray of bool, shape (H, W)
        The affected rectangle (the moire label region).
    """
    style = rng if style is None else style
    rs, cs = moire_region(rng, image.shape[:2])
    region = image[rs, cs]
    hh, ww = region.shape[0] * _SS, region.shape[1] * _SS
    hires = resize(region, (hh, ww) + region.shape[2:], order=1, anti_aliasing=False).astype(np.float32)
    # Screen periods near one scan pixel alias into slow beats; periods near
    # two pixels give a visible screen texture that beats with the pixel grid.
    # A full-pitch photosite averages a one-pixel period away, so near-one
    # periods go with photosites that cover only part of the pitch.
    if style.random() < 0.45:
        period = style.uniform(0.82, 1.22)
        fill = int(style.choice([2, 3]))
    else:
        period = style.uniform(1.3, 2.4)
        fill = int(style.choice([2, 3, 4], p=[0.3, 0.3, 0.4]))
    if style.random() < 0.6:
        printed = halftone_print(style, hires, period=_SS * period)
    else:
        printed = grid_print(style, hires, period=_SS * period)
    scanned = box_scan(printed, fill=fill)
    # Scanners differ in optics: some soften the result a little.
    if style.random() < 0.5:
        sigma = style.uniform(0.2, 0.45)
        scanned = ndi.gaussian_filter(scanned, (sigma, sigma) + (0,) * (scanned.ndim - 2))
    mix = style.uniform(0.7, 1.0)
    out = image.copy()
    out[rs, cs] = np.clip((1 - mix) * region + mix * scanned, 0, 1)
    footprint = np.zeros(image.shape[:2], bool)
    footprint[rs, cs] = True
    return out.astype(np.float32), footprint

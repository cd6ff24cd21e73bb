"""Watermark removal from one image given a rough hint: the mark's region grown by a margin.

A hint drawn a few pixels around the mark (or the mark's region grown by a
safety margin) holds a ring of unmarked pixels between its border and the
mark. Inverting those pixels as if they were marked damages them, and the
mark's colour and opacity estimated over them come out wrong (see
``docs/watermark_moire.md``). When the hint is the mark grown by a margin,
the mark's outline runs parallel to the hint's border at a constant
distance: the image steps there, in one direction (towards the mark's
colour), all along the border. :func:`margin` finds that distance from the
mean step across each one-pixel band of distance to the hint's border; the
mark is taken to be the hint shrunk by it (when the hint is its own opening
by a disc of that radius, as a grown region is, :func:`mark_in_hint`), and
removed as in :func:`napari_mend.watermark.single.remove_single`. A hint with no such band
(a rectangle, a hand-drawn outline, the mark's exact region) is used as it is.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .matting import around, unit_range

MAX_MARGIN = 12
"""Largest margin (px) between a hint's border and the mark that is looked for."""

STEP_RATIO = 3.0
"""A band holds the mark's outline when its mean step is this many times any band's before it."""

MIN_STEP = 1e-3
"""Smallest mean step (unit range, summed over channels) taken as an outline."""

MIN_BAND = 20
"""Fewest pixels a band needs to count."""

MIN_OPENED = 0.95
"""Share of a hint that its opening by a disc of the margin's radius must keep."""

ALONG_SIGMA = 16.0
"""Width (px) of the Gaussian windows along a band over which the steps are averaged."""


def _normal_steps(unit: np.ndarray, hint: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Per pixel and channel, the image's derivative along the inward normal of the hint."""
    ny, nx = np.gradient(ndi.gaussian_filter(depth, 1.0))
    gy, gx = np.gradient(unit, axis=(0, 1))
    return gy * ny[..., None] + gx * nx[..., None]


def margin(unit: np.ndarray, hint: np.ndarray, *, max_margin: int = MAX_MARGIN) -> int:
    """Distance (px) from the hint's border to the mark's outline; 0 when none is found.

    Pixels are grouped in one-pixel bands by their distance to the hint's
    border (outside bands too, as the reference of unmarked content). In
    each band the image's derivative along the border's normal is averaged
    per channel: content averages out, a mark's outline parallel to the
    border does not. The first band (from 2 px in) whose mean step exceeds
    :data:`STEP_RATIO` times every band's before it holds the outline.

    Parameters
    ----------
    unit : (M, N, C) float ndarray
        The image, about in ``[0, 1]``.
    hint : (M, N) bool ndarray
        The rough region.
    max_margin : int
        Largest margin looked for.

    Returns
    -------
    margin : int
        The mark is about ``distance to the hint's border > margin``.
    """
    if not hint.any():
        return 0
    # only the bands near the hint's border count: work on the hint's bounding box grown by
    # the reach of the filters, which gives the same values as the whole image
    box = around(hint, max_margin + int(4 * ALONG_SIGMA + 0.5) + 8)
    unit, hint = unit[box], hint[box]
    depth = ndi.distance_transform_edt(hint) - ndi.distance_transform_edt(~hint)
    steps = _normal_steps(unit, hint, depth)
    over_band = _first_outline(steps, depth, max_margin, None)
    # the windowed means (the costly part) only matter for an earlier band than that one
    along = _first_outline(steps, depth, over_band - 1 if over_band else max_margin, ALONG_SIGMA)
    return min(k for k in (over_band, along) if k) if over_band or along else 0


def _first_outline(steps, depth, max_margin, sigma):
    """The first band whose mean step stands out; means over the band or along it (``sigma``)."""
    before = 0.0
    for k in (-2, -1, *range(1, max_margin + 1)):
        band = (depth > k - 1) & (depth <= k)
        if band.sum() < MIN_BAND:
            value = 0.0
        elif sigma is None:
            value = float(np.abs(steps[band].mean(axis=0)).sum())
        else:  # local means along the band: outlines of different colours do not cancel
            weight = ndi.gaussian_filter(band.astype(np.float32), sigma)
            local = ndi.gaussian_filter(steps * band[..., None], (sigma, sigma, 0))
            value = float(np.abs(local[band] / weight[band, None]).sum(-1).mean())
        if k >= 2 and value > STEP_RATIO * before and value > MIN_STEP:
            return k
        before = max(before, value)
    return 0


def mark_in_hint(plane: np.ndarray, hint: np.ndarray) -> np.ndarray:
    """The part of a rough hint that the mark covers (the hint itself when no margin is found).

    Parameters
    ----------
    plane : (M, N, C) float ndarray
        One image plane in any value range.
    hint : (M, N) bool ndarray

    Returns
    -------
    mark : (M, N) bool ndarray
        A subset of ``hint``.
    """
    hint = np.asarray(hint, bool)
    if not hint.any() or hint.all():
        return hint.copy()
    lo, scale = unit_range(plane, ~hint)
    unit = (plane - lo) / scale
    k = margin(unit, hint)
    if k == 0:
        return hint.copy()
    inner = ndi.distance_transform_edt(hint) > k
    if not inner.any():
        return hint.copy()
    # a region grown by k px is its own opening by a disc of radius k; a hint that is not
    # (thin strokes, the mark's exact region) has no such margin
    opened = ndi.distance_transform_edt(~inner) <= k
    if (opened & hint).sum() < MIN_OPENED * hint.sum():
        return hint.copy()
    return inner


"""A mark repeated across one image: its copies taken as a collection.

Stock-photo and proofing watermarks are often tiled: one logo or word laid
on a lattice over the whole picture. Each copy lies over other content, so to
the mark the copies of one image are what the images of a collection are.
The mark's region repeats with the lattice: shifted by a lattice vector,
nearly all of it lands on itself again (:func:`lattice`; by chance only its
density would). The image shifted by each of the nearest lattice vectors
(:func:`copy_shifts`, each shift refined to the fraction of a pixel at which
the shifted gradients best match the image's own) then puts another copy of
the mark over each copy, over other content; where the shifted pixel lies in
the mark too, that shifted image is one more image of the same mark. The
collection's estimate (:func:`.collection.estimate_collection`: median
gradients, closed form, joint matting) gives the mark's opacity and matte,
with no guess of the content under it.

Copies whose opacity differs (a mark fading across the picture) or that sit
at fractions of a pixel from one another (a rotated tiling) agree less well,
so :func:`napari_mend.remove_watermark` mixes this result with the
single-image one (:data:`REPEAT_SHARE` of this one's).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy.fft import irfft2, rfft2

from ..tiling import tile_starts
from .collection import CollectionMark, best_shift, estimate_collection, gradients
from .matting import around, background_fill, unit_range
from .single import flat_surroundings

MIN_PERIOD = 16
"""Shortest lattice vector (px): shorter shifts of a region mostly land on itself anyway."""

LATTICE_OVERLAP = 0.85
"""Share of the way from chance (the region's density) to all of the region that a shift
must put back on the region to be a lattice vector."""

MIN_SHARED = 0.25
"""Least share of the region whose shift stays inside the image, for a lattice vector."""

MIN_COPY_SHARE = 0.3
"""Least share of the region that a shifted copy must cover with the mark to be used."""

MIN_COPIES = 3
"""Fewest shifted copies (besides the image itself) for an estimate: with the image, the
collection's colour estimate needs four."""

MAX_COPIES = 8
"""Most shifted copies used (the nearest lattice vectors): memory grows with them."""

REFINE = 2
"""Each shifted copy is re-aligned by up to this many pixels (rounding of the lattice)."""

COPY_RIM = 3
"""The copies cover the mark grown by this many pixels: its anti-aliased rim, and a ring
round it in which the collection's estimate measures the content's spread."""

BOX_MARGIN = 8
"""Pixels round the mark's bounding box that :func:`remove_repeated` reads (fills, rings)."""

WINDOW = 1024
"""A mark's box larger than this (px a side) is treated in windows of at most this size, each
with its own lattice and estimate: the memory of the copies (at most ``MAX_COPIES + 1``
windows) and of the lattice's transforms stays bounded on large images."""

REPEAT_SHARE = 0.7
"""Share of :func:`remove_repeated`'s result where a mark repeats (the single-image result
has the rest): chosen on the own validation marks with
``benchmarks/bench_watermark_repeats.py``."""


def _correlate(a: np.ndarray, b: np.ndarray, shape) -> np.ndarray:
    """``out[v] = sum_x a(x + v) b(x)`` for all shifts ``v``, centred (``fftshift``)."""
    spectrum = rfft2(a, s=shape) * np.conj(rfft2(b, s=shape))
    return np.fft.fftshift(irfft2(spectrum, s=shape))


def lattice(region: np.ndarray) -> list[tuple[int, int]]:
    """Basis ``[(dy, dx), ...]`` (none, one or two vectors) of the lattice a region repeats on.

    Parameters
    ----------
    region : (M, N) bool ndarray
        The mark's pixels (or a hint grown round them).

    Returns
    -------
    basis : list of (int, int)
        The shortest shift that puts the region back on itself (beyond
        :data:`LATTICE_OVERLAP`), and the shortest such shift at more than
        20 degrees from it; empty when the region does not repeat.
    """
    m, n = region.shape
    count = float(region.sum())
    if count == 0 or region.all():
        return []
    ones = region.astype(np.float32)  # float32 transforms: rounding far below the thresholds
    shape = (2 * m, 2 * n)
    hits = _correlate(ones, ones, shape)  # region pixels that a shift lands on the region
    inside = _correlate(np.ones_like(ones), ones, shape)  # region pixels a shift keeps inside
    share = hits / np.maximum(inside, 1.0)
    density = count / region.size
    yy, xx = np.ogrid[-m:m, -n:n]
    eligible = (np.hypot(yy, xx) >= MIN_PERIOD) & (inside >= MIN_SHARED * count)
    level = density + LATTICE_OVERLAP * (1 - density)
    if not (eligible & (share >= level)).any():  # most marks: no shift comes near
        return []
    score = np.where(eligible, share, -np.inf)
    peaks = (score == ndi.maximum_filter(score, 5)) & (score >= level)
    ys, xs = np.nonzero(peaks)
    vy, vx = ys - m, xs - n
    # a period has a gap half-way: shifted by half of it the copies fall between one
    # another (a solid region shifted a little lands mostly on itself at every shift)
    halfway = share[np.round(vy / 2).astype(int) + m, np.round(vx / 2).astype(int) + n]
    gap = halfway < level
    found = sorted(zip(vy[gap].tolist(), vx[gap].tolist()), key=lambda v: np.hypot(*v))
    if not found:
        return []
    first = found[0]
    for v in found[1:]:
        sine = abs(v[0] * first[1] - v[1] * first[0]) / (np.hypot(*first) * np.hypot(*v))
        if sine > np.sin(np.radians(20)):
            return [first, v]
    return [first]


def copy_shifts(basis, shape) -> list[tuple[int, int]]:
    """Shifts to the copies nearest each copy: the lattice vectors of up to two steps
    along each basis vector, shortest first, each within ``shape``."""
    steps = range(-2, 3)
    combos = [(a, b) for a in steps for b in (steps if len(basis) > 1 else [0]) if (a, b) != (0, 0)]
    vy = [a * basis[0][0] + (b * basis[1][0] if b else 0) for a, b in combos]
    vx = [a * basis[0][1] + (b * basis[1][1] if b else 0) for a, b in combos]
    shifts = [(y, x) for y, x in zip(vy, vx) if abs(y) < shape[0] and abs(x) < shape[1]]
    return sorted(set(shifts), key=lambda v: (np.hypot(*v), v))


def _shifted(unit, dy, dx):
    """``unit[y + dy, x + dx]`` (edge pixels repeated) and where that pixel is in the image."""
    m, n = unit.shape[:2]
    ys = np.arange(m) + dy
    xs = np.arange(n) + dx
    inside = ((ys >= 0) & (ys < m))[:, None] & ((xs >= 0) & (xs < n))[None, :]
    return unit[np.ix_(np.clip(ys, 0, m - 1), np.clip(xs, 0, n - 1))], inside


def _fraction(gy, gx, ys, xs, dy, dx):
    """Fraction of a pixel (each axis, within +-0.5) to add to the shift ``(dy, dx)``: the
    vertex of a parabola through the gradients' correlation, over the pixels ``(ys, xs)``,
    at the shift and its neighbours (a rotated tiling puts its copies at fractions of a pixel
    from one another)."""
    m, n = gy.shape[:2]
    score = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            ty = np.clip(ys + dy + i - 1, 0, m - 1)
            tx = np.clip(xs + dx + j - 1, 0, n - 1)
            score[i, j] = (gy[ty, tx] * gy[ys, xs]).sum() + (gx[ty, tx] * gx[ys, xs]).sum()
    return parabola_vertex(score)


def parabola_vertex(score: np.ndarray) -> tuple[float, float]:
    """Fraction of a pixel (each axis, within +-0.5) at which a correlation peaks, from its
    ``(3, 3)`` values at a whole-pixel peak (the centre) and its neighbours: the vertex of a
    parabola through the centre row and column (0 where they do not bend down)."""
    out = []
    for before, at, after in (score[:, 1], score[1, :]):
        bend = before - 2 * at + after
        out.append(float(np.clip(0.5 * (before - after) / bend, -0.5, 0.5)) if bend < 0 else 0.0)
    return tuple(out)


def repeated_copies(unit: np.ndarray, mask: np.ndarray, shifts) -> np.ndarray:
    """The image and its shifted copies that bring another copy of the mark onto the mask.

    Parameters
    ----------
    unit : (M, N, C) float ndarray
    mask : (M, N) bool ndarray
        The mark (slightly grown, so that its rim is covered).
    shifts : list of (int, int)
        From :func:`copy_shifts`.

    Returns
    -------
    stack : (K, M, N, C) float32 ndarray
        ``stack[0]`` is ``unit``; in the others, mask pixels whose shifted
        pixel also lies in the mask take it (each shift refined first, see
        :func:`_fraction`; read by cubic splines), every other pixel is
        ``unit``'s.
    """
    gy, gx = (g[0] for g in gradients(unit[None]))
    stack = [unit.astype(np.float32)]
    splines = None  # cubic-spline coefficients of each channel, made once when first needed
    for dy, dx in shifts:
        if len(stack) > MAX_COPIES:
            break
        valid = _landing(mask, dy, dx)
        if valid.sum() < MIN_COPY_SHARE * mask.sum():
            continue
        ey, ex = best_shift(_shifted(gy, dy, dx)[0], _shifted(gx, dy, dx)[0], gy, gx, valid,
                            REFINE)
        dy, dx = dy + ey, dx + ex
        valid = _landing(mask, dy, dx)
        if valid.sum() < MIN_COPY_SHARE * mask.sum():
            continue
        ys, xs = np.nonzero(valid)
        fy, fx = _fraction(gy, gx, ys, xs, dy, dx)
        copy = unit.astype(np.float32, copy=True)
        if fy or fx:  # copy[y, x] = unit[y + dy + fy, x + dx + fx]
            if splines is None:
                splines = [ndi.spline_filter(unit[..., c], order=3, mode="nearest")
                           for c in range(unit.shape[-1])]
            where = np.stack([ys + dy + fy, xs + dx + fx])
            for c, coefficients in enumerate(splines):
                copy[ys, xs, c] = ndi.map_coordinates(coefficients, where, order=3,
                                                      mode="nearest", prefilter=False)
        else:
            copy[ys, xs] = unit[ys + dy, xs + dx]
        stack.append(copy)
    return np.stack(stack)


def _landing(mask, dy, dx):
    """Mask pixels whose pixel shifted by ``(dy, dx)`` is in the image and in the mask."""
    moved, inside = _shifted(mask[..., None], dy, dx)
    return inside & moved[..., 0] & mask


def repeated_mark(unit: np.ndarray, mask: np.ndarray):
    """Opacity and matte of a mark that repeats across one image, from its copies.

    Parameters
    ----------
    unit : (M, N, C) float ndarray
        One plane, values about in ``[0, 1]``.
    mask : (M, N) bool ndarray
        The mark's pixels.

    Returns
    -------
    estimate : tuple of (M, N) and (M, N, C) float32 ndarrays, or None
        ``(alpha, matte)`` (0 outside ``mask``), or None when the mark does
        not repeat (fewer than :data:`MIN_COPIES` usable copies).
    """
    basis = lattice(mask)
    if not basis:
        return None
    grown = ndi.binary_dilation(mask, iterations=COPY_RIM)
    stack = repeated_copies(unit, grown, copy_shifts(basis, mask.shape))
    if len(stack) - 1 < MIN_COPIES:
        return None
    matte, alpha, _, _ = estimate_collection(stack, mask=mask, max_shift=0)
    alpha = (alpha * mask).astype(np.float32)
    return alpha, (matte * mask[..., None]).astype(np.float32)


def remove_repeated(plane: np.ndarray, mask: np.ndarray, *, fill: str = "auto"):
    """Remove a mark that repeats across one plane, estimated from its copies.

    Parameters
    ----------
    plane : (M, N, C) float32 ndarray
        One image plane in any value range.
    mask : (M, N) bool ndarray
        The mark's pixels.
    fill : str, optional
        Inpainting method for pixels too opaque to invert.

    Returns
    -------
    clean : (M, N, C) float32 ndarray or None
        New array; pixels outside ``mask``, and in windows (:data:`WINDOW`)
        where the mark does not repeat, are the input's. None when the mark
        repeats nowhere. Parts of the mark whose surroundings are flat are
        filled, as on a single image (:func:`.single.flat_surroundings`).
    """
    mask = np.asarray(mask, bool)
    if not mask.any():
        return None
    lo, scale = unit_range(plane, ~mask)
    clean, repeats = plane.astype(np.float32, copy=True), False
    box = around(mask, BOX_MARGIN)  # the copies lie within the mark's own bounding box
    for window in _windows(box, WINDOW):
        part, where = plane[window], mask[window]
        if not where.any():
            continue
        unit = (part - lo) / scale
        found = repeated_mark(unit, where)
        if found is None:
            continue
        alpha, matte = found
        mark = CollectionMark(matte, alpha, where, lo, scale, template=None, max_shift=0)
        mended, _ = mark.remove(part, shift=(0, 0), fill=fill)
        flat = flat_surroundings(unit, where)
        if flat.any():
            mended[flat] = background_fill(unit, where)[flat] * scale + lo
        clean[window][where] = mended[where]
        repeats = True
    return clean if repeats else None


def _windows(box, side):
    """``box`` (two slices) covered by windows of at most ``side`` px a side (where they
    overlap, the later window's result is kept)."""
    axes = []
    for part in box:
        length = part.stop - part.start
        size = min(side, length)
        axes.append([slice(part.start + s, part.start + s + size)
                     for s in tile_starts(length, tile=size, overlap=0)])
    return [(rows, cols) for rows in axes[0] for cols in axes[1]]

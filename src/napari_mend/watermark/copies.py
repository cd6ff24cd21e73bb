"""One painted copy of a mark that is stamped or tiled over a plane: where the others lie.

A curator who paints one copy of a logo stamped several times, or of a tiled
mark, gives one copy only: it does not repeat inside the mask, so it has no
lattice (:mod:`.repeats`). A semi-transparent mark adds the same steps to the
image wherever it lies, while the content under it differs. The painted copy's
own contribution is its difference from a fill of its surroundings (zero
outside it); the other copies are where the image's gradients match the
gradients of that difference (:func:`find_copies`: normalised cross-correlation
by FFT, the plane window by window, peaks that stand out both in score and
against the spread of the scores over the plane). Each copy is aligned to the
painted one (whole pixels by :func:`.collection.best_shift`, then the fraction
of a pixel, :func:`.repeats.parabola_vertex`), and the copies together are a
collection of images of one mark (:func:`.collection.estimate_collection`);
the mark so estimated is removed at every copy (:func:`remove_copies`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy.fft import irfft2, next_fast_len, rfft2

from ..tiling import tile_starts
from .collection import CollectionMark, best_shift, estimate_collection, gradients
from .matting import around, background_fill, unit_range
from .repeats import BOX_MARGIN, parabola_vertex

MIN_SCORE = 0.25
"""Least normalised correlation (0 to 1) of a place's gradients with the painted copy's for a
copy. Chosen with :data:`MIN_SPREADS` on the own generator's stamped and tiled marks only
(``benchmarks/bench_watermark_copies.py``'s cases with seeds ``[5, image, k]``, 256 px): of
the pairs tried, the one with the fewest copies found in the wrong place for the most found
right (see ``docs/watermark_moire.md``)."""

MIN_SPREADS = 10.0
"""A copy's score must also be this many times the robust spread (1.4826 median absolute
deviation) of the scores over the plane: a small mark's scores scatter more by chance."""

MAX_FOUND = 64
"""Most copies found besides the painted one (the strongest): time grows with them."""

MAX_ESTIMATE = 8
"""Most copies (the best scoring) whose boxes, with the painted copy's, the mark is estimated
from: the estimate's memory grows with them."""

EDGE = 2
"""The painted copy grown by this many px (its anti-aliased rim) is the template."""

MAX_OVERLAP = 0.1
"""Largest share of the mark that a copy may share with the painted copy or another copy."""

MIN_ENERGY_SHARE = 0.1
"""A place is scored against at least this share of the painted copy's gradient energy: a copy
brings its edges' energy wherever it lies, and flat content (energy about 0) would otherwise
give scores of the FFTs' rounding divided by about zero."""

SEARCH_WINDOW = 1024
"""Places are scored in windows of the plane of at most this side (or twice the mark's box),
so the memory of the transforms stays bounded on large planes."""

REFINE = 2
"""A copy found is re-aligned by up to this many pixels."""

PEAK = 7
"""Side (px) of the neighbourhood whose best score a candidate copy must have."""

SPLINE_PAD = 3
"""Pixels read round a copy's box to resample it at a fraction of a pixel."""


def _correlation(fields, templates, shape):
    """``out[p] = sum_k sum_x fields[k](p + x) templates[k](x)`` for the places ``p`` at which
    the ``(h, w)`` templates lie inside the ``shape`` fields."""
    h, w = templates[0].shape
    size = (next_fast_len(shape[0]), next_fast_len(shape[1]))
    spectrum = 0
    for field, template in zip(fields, templates):
        spectrum = spectrum + rfft2(field, s=size) * np.conj(rfft2(template, s=size))
    return irfft2(spectrum, s=size)[:shape[0] - h + 1, :shape[1] - w + 1]


def _scores(unit, ty, tx, weight):
    """Normalised correlation ``(M - h + 1, N - w + 1)`` of the plane's gradients with the
    template's ``(ty, tx)`` (``(h, w, C)``, 0 off ``weight``), for the template's top-left corner
    at every place: windows of at most :data:`SEARCH_WINDOW` px a side."""
    m, n = unit.shape[:2]
    h, w = weight.shape
    norm = np.sqrt((ty ** 2).sum() + (tx ** 2).sum())
    templates = [t[..., k] for t in (ty, tx) for k in range(t.shape[-1])]
    out = np.zeros((m - h + 1, n - w + 1), np.float32)
    sides = [min(length, max(SEARCH_WINDOW, 2 * t)) for length, t in ((m, h), (n, w))]
    for r in tile_starts(m, tile=sides[0], overlap=h - 1):
        for c in tile_starts(n, tile=sides[1], overlap=w - 1):
            part = unit[r:r + sides[0], c:c + sides[1]]
            gy, gx = (g[0] for g in gradients(part[None]))
            fields = [g[..., k] for g in (gy, gx) for k in range(g.shape[-1])]
            dot = _correlation(fields, templates, part.shape[:2])
            energy = _correlation([(gy ** 2 + gx ** 2).sum(-1)], [weight], part.shape[:2])
            # a place whose gradients hold a small share of the mark's own cannot hold a copy
            # (its edges would bring about as much): the floor also keeps the FFTs' rounding
            # on flat content from dividing by about zero
            floor = MIN_ENERGY_SHARE * norm ** 2
            out[r:r + dot.shape[0], c:c + dot.shape[1]] = dot / (
                norm * np.sqrt(np.maximum(energy, floor)))
    return out


def _overlap(mark: np.ndarray, dy: int, dx: int) -> int:
    """Pixels of ``mark`` (its box) that also lie in it shifted by ``(dy, dx)``."""
    h, w = mark.shape
    if abs(dy) >= h or abs(dx) >= w:
        return 0
    a = mark[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)]
    b = mark[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return int((a & b).sum())


def find_copies(plane: np.ndarray, mark: np.ndarray):
    """Where else in a plane the mark painted at ``mark`` lies.

    Parameters
    ----------
    plane : (M, N, C) float ndarray
        One image plane in any value range.
    mark : (M, N) bool ndarray
        The painted copy's pixels: the mark itself or a region close round it
        (from a hint grown round it, :func:`.hint.mark_in_hint` finds it).

    Returns
    -------
    copies : list of ((float, float), float)
        Per copy, best first (at most :data:`MAX_FOUND`), the shift
        ``(dy, dx)`` (to a fraction of a pixel) that puts the mark's pixel
        ``(y, x)`` on the copy's ``(y + dy, x + dx)``, and its score: the
        normalised correlation (0 to 1) of the place's gradients with the
        painted copy's, at least :data:`MIN_SCORE` and :data:`MIN_SPREADS`
        times the scores' spread over the plane. Copies lie wholly inside the
        plane and share at most :data:`MAX_OVERLAP` of the mark with the
        painted copy and with one another.
    """
    mark = np.asarray(mark, bool)
    if not mark.any() or mark.all():
        return []
    lo, scale = unit_range(plane, ~mark)
    unit = ((plane - lo) / scale).astype(np.float32)
    box = around(mark, EDGE + 1)
    grown = ndi.binary_dilation(mark[box], iterations=EDGE)
    # the painted copy's own contribution: zero outside it, no content of its surroundings
    part = unit[box]
    contribution = (part - background_fill(part, grown)) * grown[..., None]
    ty, tx = (g[0] * grown[..., None] for g in gradients(contribution[None]))
    if not (ty.any() or tx.any()):
        return []
    scores = _scores(unit, ty, tx, grown.astype(np.float32))
    spread = 1.4826 * float(np.median(np.abs(scores - np.median(scores))))
    level = max(MIN_SCORE, MIN_SPREADS * spread)
    peaks = (scores == ndi.maximum_filter(scores, PEAK)) & (scores >= level)
    ys, xs = np.nonzero(peaks)
    order = np.argsort(-scores[ys, xs], kind="stable")
    inner = mark[box]
    limit = MAX_OVERLAP * inner.sum()
    taken = [(0, 0)]  # the painted copy
    found = []
    for y, x in zip(ys[order], xs[order]):
        dy, dx = int(y) - box[0].start, int(x) - box[1].start
        if any(_overlap(inner, dy - py, dx - px) > limit for py, px in taken):
            continue
        taken.append((dy, dx))
        found.append((_refined(unit, ty, tx, grown, box, (dy, dx)), float(scores[y, x])))
        if len(found) == MAX_FOUND:
            break
    return found


def _refined(unit, ty, tx, weight, box, shift):
    """The whole-pixel ``shift`` re-aligned by :func:`.collection.best_shift` (signed
    correlation with the template) and refined to a fraction of a pixel (the vertex of a
    parabola through that correlation at the shift and its neighbours)."""
    pad = REFINE + 1
    near = _crop(unit, box, *shift, pad)
    gy, gx = (g[0] for g in gradients(near[None]))
    h, w = weight.shape
    inner = (slice(pad, pad + h), slice(pad, pad + w))
    ey, ex = best_shift(gy[inner], gx[inner], ty, tx, weight > 0, REFINE)
    score = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            at = (slice(pad + ey + i - 1, pad + ey + i - 1 + h),
                  slice(pad + ex + j - 1, pad + ex + j - 1 + w))
            score[i, j] = (gy[at] * ty).sum() + (gx[at] * tx).sum()
    fy, fx = parabola_vertex(score)
    return float(shift[0] + ey + fy), float(shift[1] + ex + fx)


def _crop(unit, box, dy, dx, pad):
    """``unit`` over ``box`` moved by whole pixels ``(dy, dx)`` and grown by ``pad`` px
    (pixels beyond the plane repeat its edge)."""
    m, n = unit.shape[:2]
    ys = np.clip(np.arange(box[0].start + dy - pad, box[0].stop + dy + pad), 0, m - 1)
    xs = np.clip(np.arange(box[1].start + dx - pad, box[1].stop + dx + pad), 0, n - 1)
    return unit[np.ix_(ys, xs)]


def _moved(unit, box, shift):
    """``out[y, x] = unit[y + dy, x + dx]`` over ``box`` for a shift in fractions of a pixel
    (cubic splines)."""
    iy, ix = (int(np.floor(v)) for v in shift)
    fy, fx = shift[0] - iy, shift[1] - ix
    near = _crop(unit, box, iy, ix, SPLINE_PAD)
    if fy or fx:
        near = ndi.shift(near, (-fy, -fx, 0), order=3, mode="nearest")
    return near[SPLINE_PAD:-SPLINE_PAD, SPLINE_PAD:-SPLINE_PAD]


def remove_copies(plane: np.ndarray, mark: np.ndarray, copies, *, fill: str = "auto"):
    """Remove a mark at the painted copy and at every copy found, estimated from them all.

    The painted copy's box and the best copies' boxes, moved onto it, are a
    collection of images of one mark over different content; its estimate (median gradients,
    closed form, joint matting: :func:`.collection.estimate_collection`) is
    moved back onto each copy and inverted there.

    Parameters
    ----------
    plane : (M, N, C) float32 ndarray
        One image plane in any value range.
    mark : (M, N) bool ndarray
        The painted copy's pixels.
    copies : list of ((float, float), float)
        From :func:`find_copies`, best first; the mark is estimated from the
        painted copy and the first :data:`MAX_ESTIMATE`.
    fill : str, optional
        Inpainting method for pixels too opaque to invert.

    Returns
    -------
    clean : (M, N, C) float32 ndarray
        New array; pixels outside ``changed`` are the input's.
    changed : (M, N) bool ndarray
        The changed pixels of every copy.
    """
    mark = np.asarray(mark, bool)
    lo, scale = unit_range(plane, ~mark)
    unit = (plane - lo) / scale
    box = around(mark, BOX_MARGIN)
    shifts = [(0.0, 0.0)] + [shift for shift, _ in copies]
    stack = np.stack([_moved(unit, box, s) for s in shifts[:MAX_ESTIMATE + 1]])
    matte, alpha, support, _ = estimate_collection(stack, mask=mark[box], max_shift=0)
    clean = plane.astype(np.float32, copy=True)
    changed = np.zeros(mark.shape, bool)
    for shift in shifts:
        iy, ix = (round(v) for v in shift)
        fy, fx = shift[0] - iy, shift[1] - ix
        maps = [alpha, matte, support.astype(np.float32)]
        if fy or fx:  # the estimate onto the copy's pixels
            maps = [ndi.shift(v, (fy, fx) + (0,) * (v.ndim - 2), order=1) for v in maps]
        rows, cols, inside = _placed(box, iy, ix, mark.shape)
        a, w, s = (v[inside] for v in maps)
        copy = CollectionMark(w, a, s > 0.5, lo, scale, template=None, max_shift=0)
        mended, where = copy.remove(plane[rows, cols], shift=(0, 0), fill=fill)
        clean[rows, cols][where] = mended[where]
        changed[rows, cols] |= where
    return clean, changed


def _placed(box, dy, dx, shape):
    """``box`` moved by ``(dy, dx)`` and cut to ``shape``: its rows and columns in the plane,
    and the part of the box they are."""
    m, n = shape
    rows = slice(max(box[0].start + dy, 0), min(box[0].stop + dy, m))
    cols = slice(max(box[1].start + dx, 0), min(box[1].stop + dx, n))
    inside = (slice(rows.start - box[0].start - dy, rows.stop - box[0].start - dy),
              slice(cols.start - box[1].start - dx, cols.stop - box[1].start - dx))
    return rows, cols, inside

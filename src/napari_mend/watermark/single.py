"""Watermark removal from one image: estimate the mark's colour and opacity, invert.

Inside the mark's mask the content ``I`` is first guessed by a quick
classical fill ``I0`` from the surrounding pixels. The mark's colour ``W``
is then found by regressing ``J`` on ``I0`` over the mask's interior, where
the opacity is about constant: ``J = (1 - a) * I0 + a * W`` has slope
``1 - a`` and intercept ``a * W``. The opacity is refined locally (Gaussian
windows over the interior, so a slowly varying opacity is followed), and at
the mask's anti-aliased rim per pixel. Inverting ``J`` with that smooth
opacity brings back the real texture under the mark, which no fill can;
pixels whose opacity is too high to invert are inpainted.

Over busy content a fill is a poor guess of what lies under a wide mark, and
the regression above misjudges both colour and opacity. A mark wide enough to
have a core is therefore also estimated from its outline alone
(:func:`outline_mark`): the content's gradients inside are scaled by ``1 - a``,
and the image steps by ``a (W - I)`` across the outline, stretch by stretch (a
logo of several colours). The result mixes the two inversions,
``OUTLINE_SHARE`` of the outline's.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree

from .matting import (
    MAX_INVERTIBLE_ALPHA,
    around,
    background_fill,
    fill_opaque,
    invert,
    unit_range,
)

MIN_CONTENT_SPREAD = 0.2
"""Standard deviation of the content under a mark below which its colour is not regressed."""

SPLIT_SHIFT = 0.03
SPLIT_SHARE = 0.15
"""A mark is taken as two-coloured when at least this share of its pixels is
brightened and as much darkened, each by more than ``SPLIT_SHIFT``."""

SEAM_STEP = 0.03
SEAM_SCALES = tuple(np.round(np.linspace(0.0, 1.5, 16), 3))

FLAT_TEXTURE = 0.045
"""Mean absolute gradient (unit range, summed over channels) below which a ring is flat
(:func:`flat_surroundings`, :func:`outline_mark`)."""

GHOST_RATIO = 3.0
"""A mark whose inversion leaves its outline standing out (the result's mean absolute gradient
along the outline at least this many times that of the known pixels round it) was misjudged
(colour or opacity): it is filled instead (:func:`ghosted`). Chosen on the own validation marks
(``benchmarks/bench_watermark_outline.py --ghost``): 2 and 3 gave the same mean gains given the
exact region or a hint, 4 lost the gain on bounding boxes; the higher of the two fills fewer
marks (an inversion can leave a faint outline, a ratio about 2, and still beat the fill:
``tests/watermark/test_watermark.py``'s 'H')."""

RESIDUAL_SIGMA = 6.0
"""Width (px) of the windows in which a residue of the mark is fitted (:func:`remove_residual`)."""

LOCAL_SIGMA = 12.0
"""Width (px) of the Gaussian windows over which the opacity is taken as constant."""

REACH = int(4 * LOCAL_SIGMA) + 16
"""Pixels beyond the mask that removing it reads (the Gaussian windows' 4 sigma and the rings
and fills round the mask): :func:`remove_single` works on the mask's bounding box grown by it."""

OUTLINE_MIN_PAIRS = 50
"""Fewest pixels of a mark's core, of its ring and of pairs across its outline for
:func:`outline_mark` to estimate it."""
OUTLINE_RADIUS = 32.0
"""Radius (px) of the stretch of outline whose pairs give one colour (:func:`outline_mark`)."""
OUTLINE_MIN_NEIGHBOURS = 24
"""Fewest pairs within ``OUTLINE_RADIUS`` for a local colour; fewer: the whole outline's."""
OUTLINE_SHARE = 0.7
"""Share of the outline estimate in the result where a mark has a core (the fill-based
estimate has the rest): on the own validation marks 1 gained at most 0.23 dB more than 0.7,
and 0.5 about 0.5 dB less (``benchmarks/bench_watermark_outline.py``); the fill-based
estimate is kept as a hedge against marks whose opacity the outline misjudges."""


def _weighted_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted least-squares slope and intercept of ``y = s * x + b``."""
    sw = w.sum()
    mx, my = (w * x).sum() / sw, (w * y).sum() / sw
    var = (w * (x - mx) ** 2).sum()
    if var <= 1e-12:
        return 1.0, 0.0
    slope = (w * (x - mx) * (y - my)).sum() / var
    return float(slope), float(my - slope * mx)


def _regressed_colour(J: np.ndarray, I0: np.ndarray) -> np.ndarray:
    """Colour from the robust regression ``J = (1 - a) * I0 + a * W`` (one ``a``)."""
    w = np.ones(len(J))
    for _ in range(3):
        fits = [_weighted_line(I0[:, c], J[:, c], w) for c in range(J.shape[1])]
        slopes, intercepts = np.array(fits).T
        resid = J - (slopes * I0 + intercepts)
        scale = np.median(np.abs(resid), axis=0) * 1.4826 + 1e-4
        w = 1.0 / (1.0 + (resid / (2 * scale)) ** 2).prod(axis=1)
    a = float(np.clip(1 - np.median(slopes), 0.05, 0.95))
    return np.clip(intercepts / a, np.minimum(J.min(axis=0), 0), np.maximum(J.max(axis=0), 1))


def _mark_colour(J: np.ndarray, I0: np.ndarray) -> np.ndarray:
    """The colour of a part of a mark (pixels ``J``, content guesses ``I0``, both (K, C)).

    The regression needs content of varied brightness under the mark; over
    flat content it cannot tell a faint light mark from a strong gray one,
    and the mark is taken to be of the extreme colour it pushes the pixels
    towards (most marks are white or black).
    """
    if float(I0.std(axis=0).max()) >= MIN_CONTENT_SPREAD:
        return _regressed_colour(J, I0)
    lighter = np.mean(J - I0, axis=0) > 0
    return np.where(lighter, np.maximum(J.max(axis=0), 1), np.minimum(J.min(axis=0), 0))


def _local_alpha(plane, background, core, colour, fallback):
    """Opacity over Gaussian windows: ``J - W = (1 - a)(I0 - W)`` through the origin."""
    dj, di = plane - colour, background - colour
    num = ndi.gaussian_filter((dj * di).sum(-1) * core, LOCAL_SIGMA)
    den = ndi.gaussian_filter((di * di).sum(-1) * core, LOCAL_SIGMA)
    weight = ndi.gaussian_filter(core.astype(np.float32), LOCAL_SIGMA)
    ok = (weight > 1e-3) & (den > 1e-3 * weight)
    local = np.where(ok, 1 - num / np.where(ok, den, 1.0), fallback)
    return np.clip(local, 0.0, 0.98)


def _pixel_opacity(plane, background, colour):
    """Each pixel's own opacity ``(M, N)`` against the fill: ``J - I0 = a (W - I0)``, least
    squares over the channels (unclipped)."""
    di = background - colour
    return ((plane - background) * -di).sum(-1) / np.maximum((di * di).sum(-1), 1e-6)


def _group_alpha(plane, background, group, colour):
    """Opacity (M, N) of the mark pixels ``group`` for a mark colour."""
    core = ndi.binary_erosion(group, iterations=1)
    if core.sum() < 16:
        core = group
    local = _local_alpha(plane, background, core, colour, 0.0)
    alpha = np.where(core, local, np.clip(_pixel_opacity(plane, background, colour), 0, local))
    return np.where(group, alpha, 0).astype(np.float32)


def _parts(mask: np.ndarray, shift: np.ndarray) -> list[np.ndarray]:
    """The whole mask, or its brightened and darkened parts when both are substantial."""
    bright = (shift > SPLIT_SHIFT) & mask
    dark = (shift < -SPLIT_SHIFT) & mask
    if min(bright.sum(), dark.sum()) < SPLIT_SHARE * mask.sum():
        return [mask]
    side = ndi.gaussian_filter(shift, 1.0) >= 0
    return [mask & side, mask & ~side]


def estimate_mark(plane: np.ndarray, mask: np.ndarray, background: np.ndarray):
    """Opacity ``a`` (M, N) and matte ``a * W`` (M, N, C) of a mark in one image.

    The mask is split into the pixels the mark brightens and those it darkens
    (a white mark with a dark outline, an embossed mark); each part gets its
    own colour (see :func:`_mark_colour`).

    Parameters
    ----------
    plane : (M, N, C) float ndarray
        Watermarked image, values about in ``[0, 1]``.
    mask : (M, N) bool ndarray
        Where the mark is.
    background : (M, N, C) float ndarray
        A guess of the content under the mask (e.g. a classical fill).

    Returns
    -------
    alpha : (M, N) float32 ndarray
        Opacity, 0 outside ``mask``.
    matte : (M, N, C) float32 ndarray
        ``alpha * W``.
    """
    def opacity_and_colour(part):
        colour = _mark_colour(plane[part], background[part])
        return _group_alpha(plane, background, part, colour)[part], colour

    return _part_by_part(plane, mask, background, opacity_and_colour)


def per_pixel_mark(plane: np.ndarray, mask: np.ndarray, background: np.ndarray, *,
                   opacity_hint: np.ndarray | None = None):
    """Opacity and matte of a mark over a well-known background, pixel by pixel.

    For a background known to within noise (the median content of a
    collection, say), ``J - I = a (W - I)`` gives the opacity of every pixel
    once the colour ``W`` is known. The colour of each part of the mask (see
    :func:`estimate_mark`) is the median of ``I + (J - I) / a`` over pixels
    where a rough, independent opacity estimate ``opacity_hint`` is
    reliable; without a hint it is found as in :func:`estimate_mark`.

    Returns
    -------
    alpha : (M, N) float32 ndarray
    matte : (M, N, C) float32 ndarray
    """
    def opacity_and_colour(part):
        J, I = plane[part], background[part]
        hint = None if opacity_hint is None else opacity_hint[part]
        if hint is not None and ((hint > 0.1) & (hint < 0.95)).sum() >= 16:
            ok = (hint > 0.1) & (hint < 0.95)
            colour = np.clip(np.median(I[ok] + (J[ok] - I[ok]) / hint[ok, None], axis=0), 0, 1)
        else:
            colour = _mark_colour(J, I)
        di = colour - I
        a = ((J - I) * di).sum(-1) / np.maximum((di * di).sum(-1), 1e-4)
        return np.clip(a, 0, 0.99), colour

    return _part_by_part(plane, mask, background, opacity_and_colour)


def _outline_estimate(plane, mask, background):
    """Opacity ``(M, N)`` and matte ``(M, N, C)`` from :func:`outline_mark`, or None.

    The outline's constant opacity holds over the mask's core; its one-pixel
    rim (anti-aliased) gets each pixel's own opacity against the fill, at most
    the core's.
    """
    found = outline_mark(plane, mask)
    if found is None:
        return None
    a, colour = found
    core = ndi.binary_erosion(mask, iterations=1)
    per_pixel = _pixel_opacity(plane, background, colour)
    alpha = (np.where(core, a, np.clip(per_pixel, 0, a)) * mask).astype(np.float32)
    return alpha, (alpha[..., None] * colour).astype(np.float32)


def _part_by_part(plane, mask, background, opacity_and_colour):
    """Opacity ``(M, N)`` and matte ``(M, N, C)`` over the parts of ``mask`` the mark
    brightens and darkens (:func:`_parts`; parts under 4 px left out), each from
    ``opacity_and_colour(part) -> (opacity of the part's pixels, colour)``."""
    alpha = np.zeros(mask.shape, np.float32)
    matte = np.zeros(plane.shape, np.float32)
    for part in _parts(mask, (plane - background).mean(-1)):
        if part.sum() < 4:
            continue
        opacity, colour = opacity_and_colour(part)
        alpha[part] = opacity
        matte[part] = alpha[part, None] * colour
    return alpha, matte


def _seam(image: np.ndarray, edges_y: np.ndarray, edges_x: np.ndarray) -> float:
    """Mean absolute step of ``image`` across the given neighbour pairs."""
    dy = np.abs(np.diff(image, axis=0)).sum(-1)[edges_y]
    dx = np.abs(np.diff(image, axis=1)).sum(-1)[edges_x]
    return float(np.concatenate([dy, dx]).mean())


def seam_scale(plane: np.ndarray, alpha: np.ndarray, matte: np.ndarray) -> float:
    """Scale of the estimated mark (0 to 1.5) that leaves the weakest seams along its edges.

    A mark removed with too low an opacity still shows its outline; too high
    an opacity shows it inverted. The content's own edges do not follow the
    mark's outline, so the steps across the outline are smallest at about the
    right strength. Guards against estimates thrown off by busy content.
    Only edges between invertible pixels count (opaque ones are inpainted).
    """
    clear = alpha <= MAX_INVERTIBLE_ALPHA
    edges_y = (np.abs(np.diff(alpha, axis=0)) > SEAM_STEP) & clear[1:] & clear[:-1]
    edges_x = (np.abs(np.diff(alpha, axis=1)) > SEAM_STEP) & clear[:, 1:] & clear[:, :-1]
    if edges_y.sum() + edges_x.sum() < 8:
        return 1.0
    costs = [(_seam(invert(plane, alpha * s, matte * s), edges_y, edges_x), abs(s - 1), s)
             for s in SEAM_SCALES]
    return min(costs)[2]


def remove_residual(inverted: np.ndarray, background: np.ndarray, alpha: np.ndarray,
                    mask: np.ndarray) -> np.ndarray:
    """Take out what of the mark an imperfect opacity left behind.

    The inversion differs from the quick fill by the content's detail (which
    the fill cannot know) and by a residue of the mark where the opacity or
    colour is a little off; that residue follows the mark's opacity map. The
    part of the difference that locally follows ``alpha`` (least squares in
    Gaussian windows, per channel) is removed; what remains is the detail.
    """
    detail = inverted - background
    a = np.where(mask, alpha, 0)[..., None]
    num = ndi.gaussian_filter(detail * a, (RESIDUAL_SIGMA, RESIDUAL_SIGMA, 0))
    den = ndi.gaussian_filter(a * a, (RESIDUAL_SIGMA, RESIDUAL_SIGMA, 0))
    beta = np.where(den > 1e-6, num / np.maximum(den, 1e-6), 0)
    out = inverted.copy()
    out[mask] = (background + detail - beta * a)[mask]
    return out


def _abs_gradient(plane: np.ndarray) -> np.ndarray:
    """Absolute forward differences down and across, summed over channels: ``(M, N)``."""
    return (np.abs(np.diff(plane, axis=0, append=plane[-1:]))
            + np.abs(np.diff(plane, axis=1, append=plane[:, -1:]))).sum(-1)


def flat_surroundings(plane: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mark pixels whose surroundings are flat: there a fill is already about exact.

    Parts of the mask (joined within 2 px) whose ring of known pixels has a
    mean absolute gradient below ``FLAT_TEXTURE`` are taken from the fill:
    content under them is as flat, and inverting only risks a residue.
    """
    groups, n = ndi.label(ndi.binary_dilation(mask, iterations=2))
    if n == 0:
        return np.zeros_like(mask)
    grad = _abs_gradient(plane)
    ring = ndi.binary_dilation(groups > 0, iterations=4) & ~ndi.binary_dilation(mask, iterations=2)
    near = ndi.grey_dilation(groups, size=9) * ring  # each ring pixel's group
    index = np.arange(1, n + 1)
    with np.errstate(invalid="ignore"):  # a group with no ring pixel: nan, not flat
        texture = ndi.mean(grad, labels=near, index=index)
    flat_groups = index[np.nan_to_num(texture, nan=np.inf) < FLAT_TEXTURE]
    return mask & np.isin(groups, flat_groups)


def ghosted(result: np.ndarray, mask: np.ndarray) -> bool:
    """Whether the inversion of a mark left a ghost of its outline in ``result``.

    Right content has no edge along the mark's outline beyond those of the
    content round it; a wrong colour or opacity leaves the outline in the
    result. True when the mean absolute gradient of ``result`` over the pixels
    within 1 px of the outline is at least ``GHOST_RATIO`` times that over the
    known pixels 2 to 4 px outside the mask.
    """
    grad = _abs_gradient(result)
    outline = ndi.binary_dilation(mask & ~ndi.binary_erosion(mask))
    ring = ndi.binary_dilation(mask, iterations=4) & ~ndi.binary_dilation(mask, iterations=2)
    if not outline.any() or not ring.any():
        return False
    return bool(grad[outline].mean() >= GHOST_RATIO * max(grad[ring].mean(), 1e-6))


def _outline_pairs(mask: np.ndarray, depth: float = 3.0, reach: int = 2):
    """Pixel pairs across the mask's outline: ``depth`` px inside, ``reach`` px outside.

    Returns ``(inside, outside)``, each a pair of index arrays, or None when the
    outline is too short to tell anything.
    """
    inside_depth, (near_y, near_x) = ndi.distance_transform_edt(mask, return_indices=True)
    chosen = mask & (np.abs(inside_depth - depth) <= 0.5)
    ys, xs = np.nonzero(chosen)
    oy, ox = near_y[ys, xs], near_x[ys, xs]  # the nearest unmasked pixel
    vy, vx = oy - ys, ox - xs
    norm = np.maximum(np.hypot(vy, vx), 1e-6)
    qy = np.clip(np.round(oy + reach * vy / norm).astype(int), 0, mask.shape[0] - 1)
    qx = np.clip(np.round(ox + reach * vx / norm).astype(int), 0, mask.shape[1] - 1)
    ok = ~mask[qy, qx]
    if ok.sum() < OUTLINE_MIN_PAIRS:
        return None
    return (ys[ok], xs[ok]), (qy[ok], qx[ok])


def outline_mark(plane: np.ndarray, mask: np.ndarray):
    """Opacity and colour map of a mark of constant opacity, from its outline alone.

    Inside such a mark every gradient of the content is scaled by ``1 - a``,
    so ``a`` follows from the median gradient inside against that of a ring
    around it (the content's texture is taken to be alike on both sides).
    Across the outline the image steps by ``a (W - I)``, so each pair of pixels
    a few pixels either side of it gives ``W = J_out + (J_in - J_out) / a``;
    the colour of a stretch of outline is the median of the pairs within
    ``OUTLINE_RADIUS`` px (a logo of several colours, a word's letters of
    their own), and every mark pixel takes the colour of its nearest stretch.
    Needs no guess of the content under the mark, which over busy content a
    fill cannot give.

    Returns
    -------
    (a, colour) or None
        ``a`` a float, ``colour`` an ``(M, N, C)`` float ndarray (meaningful
        inside ``mask``); None when the mark is too thin to have a core or its
        outline too short.
    """
    inner = ndi.binary_erosion(mask, iterations=3)
    ring = ndi.binary_dilation(mask, iterations=8) & ~ndi.binary_dilation(mask, iterations=2)
    pairs = _outline_pairs(mask)
    if inner.sum() < OUTLINE_MIN_PAIRS or ring.sum() < OUTLINE_MIN_PAIRS or pairs is None:
        return None
    if _abs_gradient(plane)[ring].mean() < FLAT_TEXTURE:
        return None  # smooth content: no texture to compare, and a fill is about right there
    grad = np.zeros(mask.shape, np.float64)
    for c in range(plane.shape[-1]):
        gy, gx = np.gradient(plane[..., c].astype(np.float64))
        grad += gy * gy + gx * gx
    outside = float(np.median(np.sqrt(grad[ring])))
    if outside <= 1e-6:
        return None
    a = float(np.clip(1 - np.median(np.sqrt(grad[inner])) / outside, 0.02, 0.95))
    j_in, j_out = plane[pairs[0]], plane[pairs[1]]
    colours = j_out + (j_in - j_out) / a
    where = np.column_stack(pairs[0])
    tree = cKDTree(where)
    local = np.array([np.median(colours[near], axis=0) if len(near) >= OUTLINE_MIN_NEIGHBOURS
                      else np.median(colours, axis=0)
                      for near in tree.query_ball_point(where, OUTLINE_RADIUS)])
    seeds = np.full(mask.shape, -1, np.int64)
    seeds[pairs[0]] = np.arange(len(local))
    nearest = ndi.distance_transform_edt(seeds < 0, return_distances=False, return_indices=True)
    return a, local[seeds[nearest[0], nearest[1]]]


def remove_single(plane: np.ndarray, mask: np.ndarray, *, fill: str = "auto"):
    """Remove a mark from one plane.

    Parameters
    ----------
    plane : (M, N, C) float32 ndarray
        One image plane in any value range.
    mask : (M, N) bool ndarray
        Where the mark is.
    fill : str, optional
        Inpainting method for pixels too opaque to invert.

    Returns
    -------
    clean : (M, N, C) float32 ndarray
        New array; pixels outside ``mask`` are the input's.
    alpha : (M, N) float32 ndarray
        The estimated opacity.
    """
    lo, scale = unit_range(plane, ~mask)
    unit = (plane - lo) / scale
    keep = ~mask
    lo_k, hi_k = unit[keep].min(initial=0.0), unit[keep].max(initial=1.0)
    out, alpha = unit.copy(), np.zeros(mask.shape, np.float32)
    if mask.any():
        # every step reads at most REACH px beyond the mask: work on its surroundings only
        box = around(mask, REACH)
        out[box], alpha[box] = _removed(unit[box], mask[box])
    out = np.clip(out, min(lo_k, 0.0), max(hi_k, 1.0))
    out = fill_opaque(out, mask & (alpha > MAX_INVERTIBLE_ALPHA), fill)
    result = (out * scale + lo).astype(np.float32)
    result[keep] = plane[keep]
    return result, alpha


def _removed(unit: np.ndarray, mask: np.ndarray):
    """The steps of :func:`remove_single` that estimate and invert the mark, on the unit-range
    ``unit``: the plane with the mark taken out (unmasked pixels unchanged, not yet clipped) and
    the opacity."""
    # the guess avoids the rim: fill a slightly dilated mask
    grown = ndi.binary_dilation(mask, iterations=1)
    background = background_fill(unit, grown)
    alpha, matte = estimate_mark(unit, mask, background)
    scaled = alpha <= MAX_INVERTIBLE_ALPHA  # opaque pixels stay opaque (inpainted)
    strength = np.where(scaled, seam_scale(unit, alpha, matte), 1.0)
    alpha, matte = alpha * strength, matte * strength[..., None]
    out = invert(unit, alpha, matte)
    out = remove_residual(out, background, alpha, mask)
    outline = _outline_estimate(unit, mask, background)
    if outline is not None:  # a mark wide enough to have a core: its outline tells most
        # (the fill-based estimate above leans on a guess of the content, poor over texture)
        out = OUTLINE_SHARE * invert(unit, *outline) + (1 - OUTLINE_SHARE) * out
        alpha = np.maximum(alpha, outline[0])
    flat = flat_surroundings(unit, mask)
    if flat.any():  # the fill of the exact mask (the guess above skipped its rim)
        out[flat] = background_fill(unit, mask)[flat]
    if ghosted(out, mask):  # misjudged: the outline stands out of the result; fill the mark
        out[mask] = background_fill(unit, mask)[mask]
    keep = ~mask
    out[keep] = unit[keep]
    return out, alpha

"""``auto`` fill: per group of holes, a classical or the learned fill, whichever fills it better.

Classical fills are as good as the network on thin holes and much cheaper;
on thicker holes the network wins. The choice is made per group of nearby
holes (see :func:`~napari_mend.inpainting.learned.hole_groups`) by its
thickness, the radius of its largest inscribed disc, through an ordered list
of rules ``[[max_radius, method], ...]``: the first rule whose ``max_radius``
is at least the group's radius names its fill (``'biharmonic'``, ``'telea'``
or ``'ns'``); thicker groups go to the learned model.

Near the known pixels a smooth continuation of them is often closer to the
truth than the network's texture, deep inside the hole the network is: the
learned groups' rim, the hole pixels within ``rim_width`` px of the known
pixels, is filled again by the biharmonic fill from its surroundings (the
network's fill inside included) and the two are mixed, the network's share
growing linearly with the depth, from ``1 / rim_width`` next to the known
pixels to all of it at ``rim_width`` px (:func:`blend_rim`).

Where the known pixels around a thick group are smooth (a colour gradient, a
flat background, a sky), a smooth continuation fills the hole better than
the network, which brings texture and loses saturated colours: a group the
rules send to the network goes to the biharmonic fill instead when the
roughness of its surroundings at the scale of the hole
(:func:`surroundings_roughness`) is at most ``smooth_max``. It is also far
cheaper. Groups thicker than :data:`COARSE_ABOVE` are then filled coarse to
fine: biharmonic on the shrunk crop, enlarged, and a rim of twice the
shrink factor mixed with the biharmonic fill at full resolution.

The rules, the rim width and ``smooth_max`` are calibrated on validation images by
:func:`napari_mend.evaluation.inpainter.calibrate_auto` and stored in the
inpainter's model card (``card['auto']['rules']``, ``card['auto']['rim_width']``,
``card['auto']['smooth_max']``; no rim width: no mixing; no ``smooth_max``: thick
groups always go to the network). Without OpenCV, rules naming an OpenCV fill use the
biharmonic fill.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..models.networks import network_card as model_card
from .classical import fill_biharmonic
from .fills import FILLS, Fill, register_fill
from .learned import (
    DEFAULT_SETTINGS,
    check_plane,
    fill_learned,
    group_crop,
    grow_box,
    hole_groups,
    hole_radius,
    resize_plane,
    robust_range,
    shrink_known,
    tiles,
)
from .unit_plane import store

"""Classical fills ``auto`` may choose, by name."""

DEFAULT_RULES = [[2.0, "telea"]]
"""Used when the model card has no calibrated rules."""

CLASSICAL_MARGIN = 8  # context (px) around a group for a classical fill
CLASSICAL_REACH = 6  # other holes this close (px) to a group are solved with it (Telea's radius 5)
CLASSICAL_TILE = 512  # a classical fill runs on tiles of at most this side plus the margin
ROUGHNESS_BAND = 8  # known pixels up to this distance (px) from a group measure its context
SMOOTH_FILL = "biharmonic"  # the fill of thick groups in smooth surroundings
COARSE_ABOVE = DEFAULT_SETTINGS["native_radius"]
"""Groups thicker than this (px) are judged and, in smooth surroundings, filled at a coarser
scale, ``radius / COARSE_ABOVE`` times smaller, as the network fills them (an enlarged
photograph is smooth at the pixel scale, not at the scale of a large hole)."""


def classical_fill(name: str):
    """The classical fill called ``name`` (:data:`~.fills.FILLS`); biharmonic when what it
    needs (OpenCV) is missing."""
    fill = FILLS[name]
    return fill.function if fill.available() else fill_biharmonic


def _calibration(model: str) -> dict:
    """The ``auto`` entry of the model's card (empty if it has none)."""
    return model_card(model).get("auto", {})


def auto_rules(model: str = "inpainter") -> list:
    """Calibrated rules ``[[max_radius, method], ...]`` stored in the model card."""
    rules = _calibration(model).get("rules", DEFAULT_RULES)
    return sorted(([float(r), str(m)] for r, m in rules), key=lambda rule: rule[0])


def rim_width(model: str = "inpainter") -> float:
    """Calibrated width (px) of the rim of learned fills mixed with the biharmonic fill (0: none)."""
    return float(_calibration(model).get("rim_width", 0.0))


def smooth_max(model: str = "inpainter"):
    """Calibrated largest context roughness of a thick group filled classically (None: none)."""
    value = _calibration(model).get("smooth_max")
    return None if value is None else float(value)


def choose(radius: float, rules) -> str:
    """Fill for a group of holes of this thickness: a classical name or ``'learned'``."""
    for max_radius, method in rules:
        if radius <= max_radius:
            return method
    return "learned"


def _fill_classical(out, remaining, box, pixels, method: str) -> None:
    """Fill one group in place, tile by tile over its bounding box (bounded memory).

    Each tile's fill solves for the group's pixels and for the unfilled holes
    of its crop within :data:`CLASSICAL_REACH` px of them (the fills read no
    farther); the crop's other holes, parts of a large hole filled later
    for instance, are left out of the solve, which they would only slow down
    and swell.
    """
    fill = classical_fill(method)
    for tile in tiles(box, CLASSICAL_TILE):
        part = _pixels_in(tile, box, pixels)
        if not part.any():
            continue
        crop, group = group_crop(tile, part, CLASSICAL_MARGIN, remaining.shape)
        holes = remaining[crop]
        near = ndi.binary_dilation(group, np.ones((3, 3), bool), iterations=CLASSICAL_REACH)
        filled = fill(out[crop], holes & near)
        store(out, crop, group, filled[group])
    remaining[box] &= ~pixels


def _pixels_in(crop, box, pixels: np.ndarray) -> np.ndarray:
    """The pixels of a group (``pixels`` inside ``box``) inside another region ``crop``."""
    out = np.zeros((crop[0].stop - crop[0].start, crop[1].stop - crop[1].start), bool)
    r0, r1 = max(crop[0].start, box[0].start), min(crop[0].stop, box[0].stop)
    c0, c1 = max(crop[1].start, box[1].start), min(crop[1].stop, box[1].stop)
    if r0 < r1 and c0 < c1:
        out[r0 - crop[0].start:r1 - crop[0].start, c0 - crop[1].start:c1 - crop[1].start] = \
            pixels[r0 - box[0].start:r1 - box[0].start, c0 - box[1].start:c1 - box[1].start]
    return out


def context_roughness(plane, mask: np.ndarray, box, pixels: np.ndarray, *, scale: float,
                      width: int = ROUGHNESS_BAND) -> float:
    """How far the known pixels around a group of holes are from a smooth surface.

    Parameters
    ----------
    plane : (M, N, C) ndarray of float32 or UnitPlane
        The plane; only pixels outside ``mask`` are read.
    mask : (M, N) ndarray of bool
        Every hole of the plane (none of them is context).
    box, pixels
        The group (as from :func:`~napari_mend.inpainting.learned.hole_groups`).
    scale : float
        The plane's value range (e.g. from
        :func:`~napari_mend.inpainting.learned.robust_range`): the result is
        relative to it.
    width : int, optional
        Known pixels up to this distance from the group are measured.

    Returns
    -------
    roughness : float
        Root mean square of the discrete Laplacian, over the channels and the
        known pixels within ``width`` px of the group whose eight neighbours
        are known too, divided by ``scale``: 0 on a linear ramp, small on
        gradients and flat backgrounds, large on texture and noise; ``inf``
        when no such pixel exists.

    Notes
    -----
    Tile by tile over the group's box (bounded memory); each measured pixel
    is counted once, at its exact distance.
    """
    shape = mask.shape
    reach = width + 2
    squares, count = 0.0, 0
    for tile in tiles(grow_box(box, width, shape), CLASSICAL_TILE):
        crop = grow_box(tile, reach, shape)
        group = _pixels_in(crop, box, pixels)
        if not group.any():
            continue
        inside = tuple(slice(t.start - c.start, t.stop - c.start) for t, c in zip(tile, crop))
        clear = ndi.binary_erosion(~mask[crop], np.ones((3, 3), bool))  # its Laplacian sees no hole
        band = np.zeros_like(group)
        band[inside] = (clear & (ndi.distance_transform_edt(~group) <= width))[inside]
        if not band.any():
            continue
        values = plane[crop]
        for channel in range(values.shape[-1]):
            laplacian = ndi.laplace(np.asarray(values[..., channel], np.float64))
            squares += float(np.sum(laplacian[band] ** 2))
        count += int(band.sum()) * values.shape[-1]
    if count == 0:
        return float("inf")
    return float(np.sqrt(squares / count)) / scale


def _coarse_view(plane, mask: np.ndarray, box, pixels: np.ndarray, factor: float):
    """A thick group's crop, shrunk ``factor`` times from its known pixels.

    Returns ``crop`` (the crop of the plane), ``group`` (the group in it),
    ``shrunk`` (the crop shrunk), ``hole`` (every hole of the shrunk crop) and
    ``shrunk_group`` (the group there).
    """
    margin = int(np.ceil(factor * (ROUGHNESS_BAND + 2)))
    crop, group = group_crop(box, pixels, margin, mask.shape)
    m, n = group.shape
    small = (max(1, round(m / factor)), max(1, round(n / factor)))
    shrunk, cover = shrink_known(np.asarray(plane[crop], np.float32), mask[crop], small)
    shrunk_group = resize_plane(group[..., None].astype(np.float32), small, mode="area")[..., 0] > 0
    return crop, group, shrunk, cover > 0, shrunk_group


def surroundings_roughness(plane, mask: np.ndarray, box, pixels: np.ndarray, radius: float, *,
                           scale: float) -> float:
    """:func:`context_roughness` at the scale a group of this radius is filled at.

    Groups up to :data:`COARSE_ABOVE` px thick are measured as they are,
    thicker ones on their crop shrunk ``radius / COARSE_ABOVE`` times.
    """
    if radius <= COARSE_ABOVE:
        return context_roughness(plane, mask, box, pixels, scale=scale)
    _, _, shrunk, hole, group = _coarse_view(plane, mask, box, pixels, radius / COARSE_ABOVE)
    whole = (slice(0, group.shape[0]), slice(0, group.shape[1]))
    return context_roughness(shrunk, hole, whole, group, scale=scale)


def fill_smooth_group(out, remaining: np.ndarray, box, pixels: np.ndarray,
                      radius: float) -> None:
    """Fill a group in smooth surroundings with :data:`SMOOTH_FILL`, in place.

    Parameters
    ----------
    out : (M, N, C) ndarray of float32 or UnitPlane
        The plane.
    remaining : (M, N) ndarray of bool
        The holes not filled yet, the group's among them; its pixels are taken
        out of it.
    box, pixels
        The group (as from :func:`~napari_mend.inpainting.learned.hole_groups`).
    radius : float
        Its radius: up to :data:`COARSE_ABOVE` the fill runs at full
        resolution, tile by tile; above, coarse to fine.
    """
    if radius <= COARSE_ABOVE:
        _fill_classical(out, remaining, box, pixels, SMOOTH_FILL)
        return
    factor = radius / COARSE_ABOVE
    crop, group, shrunk, hole, _ = _coarse_view(out, remaining, box, pixels, factor)
    coarse = classical_fill(SMOOTH_FILL)(shrunk, hole)
    store(out, crop, group, resize_plane(coarse, group.shape, mode="bilinear")[group])
    blend_rim(out, box, pixels, 2 * factor, SMOOTH_FILL)
    remaining[box] &= ~pixels


def blend_rim(out, box, pixels: np.ndarray, width: float, method: str = "biharmonic") -> None:
    """Mix the rim of a filled group of holes with a classical fill of the rim, in place.

    Parameters
    ----------
    out : (M, N, C) ndarray of float32 or UnitPlane
        The plane, the group already filled.
    box, pixels
        The group (as from :func:`~napari_mend.inpainting.learned.hole_groups`).
    width : float
        Rim width (px). A pixel at distance ``d`` from the nearest pixel
        outside the group (``1 <= d <= width``) becomes ``d / width`` of its
        present value and ``1 - d / width`` of ``method``'s fill of the rim;
        deeper pixels are left alone. ``0`` leaves the group unchanged.
    method : str, optional
        The classical fill of the rim.

    Notes
    -----
    Works tile by tile (bounded memory for long holes). Each tile's depth is
    measured in a crop reaching more than ``width + 2`` px beyond it, which
    gives the exact depth wherever it is at most ``width``; the crop is also
    the classical fill's context.
    """
    if width <= 0:
        return
    fill = classical_fill(method)
    reach = int(np.ceil(width)) + 2 + CLASSICAL_MARGIN
    shape = out.shape[:2]
    for tile in tiles(box, CLASSICAL_TILE):
        crop = grow_box(tile, reach, shape)
        group = _pixels_in(crop, box, pixels)
        if group.all():  # deep inside a large hole: no rim here
            continue
        depth = ndi.distance_transform_edt(group)
        inside = tuple(slice(t.start - c.start, t.stop - c.start) for t, c in zip(tile, crop))
        rim = np.zeros_like(group)
        rim[inside] = group[inside] & (depth[inside] <= width)
        if not rim.any():
            continue
        values = out[crop]
        classical = fill(values, rim)
        share = (depth[rim] / width)[:, None]
        store(out, crop, rim, share * values[rim] + (1 - share) * classical[rim])


def fill_auto(image: np.ndarray, mask: np.ndarray, *, model: str = "inpainter",
              progress=None, out=None) -> np.ndarray:
    """Fill each group of holes with the fill its thickness and surroundings call for.

    Thin groups get the classical fill of their rule, thick ones the learned
    fill, its rim mixed with the biharmonic fill, unless their surroundings
    are smooth: then the biharmonic fill (see the module docstring).

    Parameters
    ----------
    image : (M, N, C) ndarray of float32
        One plane, ``C`` = 1 (gray) or 3 (RGB), any value range.
    mask : (M, N) ndarray of bool
        Pixels to fill.
    model : str, optional
        Inpainter model (its card holds the calibrated rules).
    progress : callable, optional
        Called as ``progress(done, total)`` as groups are filled.
    out : (M, N, C) ndarray of float32 or UnitPlane, optional
        Where to write the result; may be ``image`` itself (filled in place),
        also as a :class:`~napari_mend.inpainting.unit_plane.UnitPlane`.

    Returns
    -------
    filled : (M, N, C) ndarray of float32 or UnitPlane
        ``out``, or a new array; pixels outside ``mask`` equal the input's
        exactly.
    """
    image, mask, out = check_plane(image, mask, out)
    if not mask.any():
        return out
    rules, smooth = auto_rules(model), smooth_max(model)
    groups = hole_groups(mask, merge_distance=DEFAULT_SETTINGS["merge_distance"])
    remaining = mask.copy()
    learned = np.zeros_like(mask)
    learned_groups = []
    done = 0
    thick = []
    for box, pixels in groups:  # thin groups first: the thick ones' fills see them filled
        radius = hole_radius(pixels)
        method = choose(radius, rules)
        if method == "learned":
            thick.append((box, pixels, radius))
            continue
        _fill_classical(out, remaining, box, pixels, method)
        done += 1
        if progress is not None:
            progress(done, len(groups))
    scale = robust_range(out, mask)[1] if thick and smooth is not None else None
    for box, pixels, radius in thick:
        if smooth is None or surroundings_roughness(out, mask, box, pixels, radius,
                                                    scale=scale) > smooth:
            learned[box] |= pixels
            learned_groups.append((box, pixels))
            continue
        fill_smooth_group(out, remaining, box, pixels, radius)
        done += 1
        if progress is not None:
            progress(done, len(groups))
    del remaining
    if learned.any():
        def learned_progress(k, _total):
            if progress is not None:
                progress(done + k, len(groups))

        fill_learned(out, learned, model=model, progress=learned_progress, out=out)
        del learned
        width = rim_width(model)
        for box, pixels in learned_groups:
            blend_rim(out, box, pixels, width)
    return out


register_fill(Fill("auto", fill_auto, uses_model=True,
                   summary="per hole: a classical fill for thin holes, the network for thick "
                           "ones, biharmonic for thick ones in smooth surroundings"))

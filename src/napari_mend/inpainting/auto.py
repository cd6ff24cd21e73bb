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

The rules and the rim width are calibrated on validation images by
:func:`napari_mend.evaluation.inpainter.calibrate_auto` and stored in the
inpainter's model card (``card['auto']['rules']``, ``card['auto']['rim_width']``;
no rim width: no mixing). Without OpenCV, rules naming an OpenCV fill use the
biharmonic fill.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .classical import fill_biharmonic, fill_ns, fill_telea, opencv_available
from .learned import (DEFAULT_SETTINGS, check_plane, fill_learned, group_crop, hole_groups,
                      hole_radius, tiles)
from .unit_plane import store

CLASSICAL_FILLS = {"biharmonic": fill_biharmonic, "telea": fill_telea, "ns": fill_ns}
"""Classical fills ``auto`` may choose, by name."""

DEFAULT_RULES = [[2.0, "telea"]]
"""Used when the model card has no calibrated rules."""

CLASSICAL_MARGIN = 8  # context (px) around a group for a classical fill
CLASSICAL_TILE = 512  # a classical fill runs on tiles of at most this side plus the margin


def classical_fill(name: str):
    """The classical fill called ``name``; biharmonic when OpenCV is missing."""
    if name != "biharmonic" and not opencv_available():
        return fill_biharmonic
    return CLASSICAL_FILLS[name]


def auto_rules(model: str = "inpainter") -> list:
    """Calibrated rules ``[[max_radius, method], ...]`` stored in the model card."""
    from ..models.registry import model_card

    rules = model_card(model).get("auto", {}).get("rules", DEFAULT_RULES)
    return sorted(([float(r), str(m)] for r, m in rules), key=lambda rule: rule[0])


def rim_width(model: str = "inpainter") -> float:
    """Calibrated width (px) of the rim of learned fills mixed with the biharmonic fill (0: none)."""
    from ..models.registry import model_card

    return float(model_card(model).get("auto", {}).get("rim_width", 0.0))


def choose(radius: float, rules) -> str:
    """Fill for a group of holes of this thickness: a classical name or ``'learned'``."""
    for max_radius, method in rules:
        if radius <= max_radius:
            return method
    return "learned"


def _fill_classical(out, remaining, box, pixels, method: str) -> None:
    """Fill one group in place, tile by tile over its bounding box (bounded memory)."""
    fill = classical_fill(method)
    for tile in tiles(box, CLASSICAL_TILE):
        part = _pixels_in(tile, box, pixels)
        if not part.any():
            continue
        crop, group = group_crop(tile, part, CLASSICAL_MARGIN, remaining.shape)
        filled = fill(out[crop], remaining[crop])
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
        crop = tuple(slice(max(t.start - reach, 0), min(t.stop + reach, n))
                     for t, n in zip(tile, shape))
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
    """Fill each group of holes with the fill its thickness calls for.

    Thin groups get the classical fill of their rule, thick ones the learned
    fill, its rim mixed with the biharmonic fill (see the module docstring).

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
    rules = auto_rules(model)
    groups = hole_groups(mask, merge_distance=DEFAULT_SETTINGS["merge_distance"])
    remaining = mask.copy()
    learned = np.zeros_like(mask)
    learned_groups = []
    done = 0
    for box, pixels in groups:
        method = choose(hole_radius(pixels), rules)
        if method == "learned":
            learned[box] |= pixels
            learned_groups.append((box, pixels))
            continue
        _fill_classical(out, remaining, box, pixels, method)
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

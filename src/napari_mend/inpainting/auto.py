"""``auto`` fill: per group of holes, a classical or the learned fill, whichever fills it better.

Classical fills are as good as the network on thin holes and much cheaper;
on thicker holes the network wins. The choice is made per group of nearby
holes (see :func:`~napari_mend.inpainting.learned.hole_groups`) by its
thickness, the radius of its largest inscribed disc, through an ordered list
of rules ``[[max_radius, method], ...]``: the first rule whose ``max_radius``
is at least the group's radius names its fill (``'biharmonic'``, ``'telea'``
or ``'ns'``); thicker groups go to the learned model. The rules are
calibrated on validation images by
:func:`napari_mend.evaluation.inpainter.calibrate_auto` and stored in the
inpainter's model card (``card['auto']['rules']``). Without OpenCV, rules
naming an OpenCV fill use the biharmonic fill.
"""

from __future__ import annotations

import numpy as np

from .classical import fill_biharmonic, fill_ns, fill_telea, opencv_available
from .learned import (DEFAULT_SETTINGS, check_plane, fill_learned, group_crop, hole_groups,
                      hole_radius)
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


def choose(radius: float, rules) -> str:
    """Fill for a group of holes of this thickness: a classical name or ``'learned'``."""
    for max_radius, method in rules:
        if radius <= max_radius:
            return method
    return "learned"


def _fill_classical(out, remaining, box, pixels, method: str) -> None:
    """Fill one group in place, tile by tile over its bounding box (bounded memory)."""
    fill = classical_fill(method)
    for r in range(box[0].start, box[0].stop, CLASSICAL_TILE):
        for c in range(box[1].start, box[1].stop, CLASSICAL_TILE):
            tile = (slice(r, min(r + CLASSICAL_TILE, box[0].stop)),
                    slice(c, min(c + CLASSICAL_TILE, box[1].stop)))
            part = pixels[tile[0].start - box[0].start:tile[0].stop - box[0].start,
                          tile[1].start - box[1].start:tile[1].stop - box[1].start]
            if not part.any():
                continue
            crop, group = group_crop(tile, part, CLASSICAL_MARGIN, remaining.shape)
            filled = fill(out[crop], remaining[crop])
            store(out, crop, group, filled[group])
    remaining[box] &= ~pixels


def fill_auto(image: np.ndarray, mask: np.ndarray, *, model: str = "inpainter",
              progress=None, out=None) -> np.ndarray:
    """Fill each group of holes with the fill its thickness calls for.

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
    done = 0
    for box, pixels in groups:
        method = choose(hole_radius(pixels), rules)
        if method == "learned":
            learned[box] |= pixels
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
    return out

"""Damage a clean image with several defect classes at once."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

import numpy as np

from ..classes import DEFECT_CLASSES, N_SCORED, class_ids
from ._dtype import from_unit, to_unit
from .defects import DRAWERS
from .layers import redraw

OPAQUE = 0.98
"""Opacity above which a later defect hides an earlier one (clears its mask)."""


@dataclass
class Damage:
    """A damaged image with its ground truth.

    Attributes
    ----------
    image : ndarray
        The damaged image, same shape and dtype as the input.
    labels : ndarray of uint8, shape (H, W)
        Class id per pixel (0 = clean); where classes overlap, the class drawn
        later wins.
    masks : ndarray of bool, shape (6, H, W)
        One mask per class id 1..6 (``masks[k - 1]`` for class ``k``); masks may
        overlap. A pixel leaves an earlier class's mask when a later opaque
        defect hides it.
    clean : ndarray
        An unmodified copy of the input.
    """

    image: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    clean: np.ndarray


def _probabilities(ids, p):
    if p is None:
        return dict.fromkeys(ids, 1.0)
    if isinstance(p, Real):
        return dict.fromkeys(ids, float(p))
    by_id = {class_ids(k)[0]: float(v) for k, v in dict(p).items()}
    return {i: by_id.get(i, 1.0) for i in ids}


def synthesize_defects(image, *, rng, classes=None, channel_axis=None, p=None):
    """Damage an image with synthetic defects and return it with its masks.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C) with ``channel_axis``
        Clean image: uint8, uint16 (or other integer types, full type range)
        or float. Floats within [0, 1] are used as they are; other float
        ranges are mapped from their finite min..max to [0, 1] and back.
        NaN and infinite pixels are left as they are, outside every mask.
    rng : numpy.random.Generator or int
        Random source (or seed); the result is reproducible from it.
    classes : iterable of str or int, optional
        Defect classes (names or ids, see ``napari_mend.DEFECT_CLASSES``);
        default all six.
    channel_axis : int, optional
        Axis of the colour channels; None for a grayscale image.
    p : float or dict, optional
        Probability that each requested class is drawn (default 1.0), or a
        ``{class: probability}`` dict (classes missing from it get 1.0).

    Returns
    -------
    damage : Damage
        Damaged image (same shape and dtype), labels, per-class masks and a
        copy of the clean input. Pixels outside the union of the masks are
        bit-identical to the input. A class drawn with probability 1 has a
        non-empty mask unless a later opaque defect hides it completely.

    Notes
    -----
    Moire, when drawn, comes first (it lies under everything else); the other
    classes are drawn in random order. See :mod:`napari_mend.synthesis.defects`
    for each class and :mod:`napari_mend.synthesis.layers` for the mask rule.
    """
    rng = np.random.default_rng(rng)
    clean = np.array(image, copy=True)
    if channel_axis is None:
        if clean.ndim != 2:
            raise ValueError(f"a grayscale image must be 2D, got shape {clean.shape}; pass channel_axis for colour")
        work = clean[..., None]
    else:
        if clean.ndim != 3:
            raise ValueError(f"a colour image must be 3D (H, W, C), got shape {clean.shape}")
        work = np.moveaxis(clean, channel_axis, -1)
    unit, offset_scale = to_unit(work)
    missing = ~np.isfinite(unit)
    if missing.any():
        unit = np.where(missing, 0, unit)

    ids = class_ids(classes)
    prob = _probabilities(ids, p)
    chosen = [i for i in ids if rng.random() < prob[i]]
    moire = [i for i in chosen if DEFECT_CLASSES[i] == "moire"]
    rest = [i for i in chosen if DEFECT_CLASSES[i] != "moire"]
    order = moire + [rest[k] for k in rng.permutation(len(rest))]

    H, W = unit.shape[:2]
    masks = np.zeros((N_SCORED, H, W), bool)
    labels = np.zeros((H, W), np.uint8)
    for cid in order:
        layer = redraw(DRAWERS[DEFECT_CLASSES[cid]], unit, rng)
        hidden = layer.mask & (layer.cover >= OPAQUE)
        masks &= ~hidden
        masks[cid - 1] = layer.mask
        labels[layer.mask] = cid
        unit = layer.image

    if missing.any():  # NaN and inf pixels stay as they are, outside every mask
        hole = missing.any(axis=-1)
        masks[:, hole] = False
        labels[hole] = 0
    union = masks.any(axis=0)
    damaged = from_unit(unit, work.dtype, offset_scale)
    damaged = np.where(union[..., None], damaged, work)
    damaged = damaged[..., 0] if channel_axis is None else np.moveaxis(damaged, -1, channel_axis)
    return Damage(image=np.ascontiguousarray(damaged), labels=labels, masks=masks, clean=clean)

"""``auto`` fill: per group of holes, the classical or the learned fill, whichever fills it better.

Classical fills (Telea when OpenCV is installed, else biharmonic) are as good
as the network on hair-thin holes and much cheaper; on anything thicker the
network wins. The choice is made per group of nearby holes (see
:func:`~napari_mend.inpainting.learned.hole_groups`) by its thickness: a
group whose largest inscribed disc has a radius up to ``max_classical_radius``
pixels is filled classically. The threshold is calibrated on the validation
images by ``napari_mend.evaluation.inpainter`` and stored in the inpainter's
model card (``card['auto']``).
"""

from __future__ import annotations

import numpy as np

from .classical import fill_biharmonic, fill_telea, opencv_available
from .learned import DEFAULT_SETTINGS, fill_learned, hole_groups, hole_radius

DEFAULT_MAX_CLASSICAL_RADIUS = 2.0
"""Used when the model card has no calibrated threshold."""

CLASSICAL_MARGIN = 8  # context (px) around a group for the classical fill


def classical_fill():
    """The classical fill ``auto`` uses: Telea with OpenCV, else biharmonic."""
    return fill_telea if opencv_available() else fill_biharmonic


def max_classical_radius(model: str = "inpainter") -> float:
    """Calibrated thickness threshold (px) stored in the model card."""
    from ..models.registry import model_card

    auto = model_card(model).get("auto", {})
    return float(auto.get("max_classical_radius", DEFAULT_MAX_CLASSICAL_RADIUS))


def fill_auto(image: np.ndarray, mask: np.ndarray, *, model: str = "inpainter",
              progress=None) -> np.ndarray:
    """Fill each group of holes classically or with the learned model.

    Parameters
    ----------
    image : (M, N, C) ndarray of float32
        One plane, ``C`` = 1 (gray) or 3 (RGB), any value range.
    mask : (M, N) ndarray of bool
        Pixels to fill.
    model : str, optional
        Inpainter model (its card holds the calibrated threshold).
    progress : callable, optional
        Called as ``progress(done, total)`` as groups are filled.

    Returns
    -------
    filled : (M, N, C) ndarray of float32
        A new array; pixels outside ``mask`` equal the input's exactly.
    """
    image = np.asarray(image)
    mask = np.asarray(mask)
    if image.ndim != 3 or image.shape[-1] not in (1, 3):
        raise ValueError(f"image must be (M, N, 1) or (M, N, 3), got shape {image.shape}")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} does not match image shape {image.shape[:2]}")
    mask = mask.astype(bool)
    out = image.astype(np.float32, copy=True)
    if not mask.any():
        return out
    threshold = max_classical_radius(model)
    classical = classical_fill()
    groups = hole_groups(mask, merge_distance=DEFAULT_SETTINGS["merge_distance"])
    remaining = mask.copy()
    learned = np.zeros_like(mask)
    m_img, n_img = mask.shape
    done = 0
    for box, pixels in groups:
        if hole_radius(pixels) > threshold:
            learned[box] |= pixels
            continue
        r0, r1 = max(box[0].start - CLASSICAL_MARGIN, 0), min(box[0].stop + CLASSICAL_MARGIN, m_img)
        c0, c1 = max(box[1].start - CLASSICAL_MARGIN, 0), min(box[1].stop + CLASSICAL_MARGIN, n_img)
        crop = (slice(r0, r1), slice(c0, c1))
        group = np.zeros((r1 - r0, c1 - c0), bool)
        group[box[0].start - r0:box[0].stop - r0, box[1].start - c0:box[1].stop - c0] = pixels
        filled = classical(out[crop], remaining[crop])
        out[crop][group] = filled[group]
        remaining[crop] &= ~group
        done += 1
        if progress is not None:
            progress(done, len(groups))
    if learned.any():
        def learned_progress(k, _total):
            if progress is not None:
                progress(done + k, len(groups))

        out = fill_learned(out, learned, model=model, progress=learned_progress)
    return out

"""``restore``: detect defects and mend each class with the right remover."""

from __future__ import annotations

import numpy as np

from .classes import CLASS_IDS, class_ids
from .detection.api import detect
from .inpainting.api import inpaint
from .progress import scaled

FILLED_CLASSES = ("scratch", "dust", "blotch", "text", "watermark")
"""Classes whose pixels ``restore`` fills by inpainting (moire needs :func:`demoire`)."""


def restore(image, *, channel_axis=None, detector="learned", fill="auto", threshold=0.5,
            classes=None, progress=None):
    """Detect defects and mend them.

    Parameters
    ----------
    image : (M, N[, ..., P][, C]) ndarray
        Image or stack with leading plane axes.
    channel_axis : int or None, optional
        Colour axis; ``None`` means gray.
    detector : {'learned', 'classical'}, optional
        Detection method (see :func:`napari_mend.detect`).
    fill : str, optional
        Inpainting method (see :func:`napari_mend.inpaint`).
    threshold : float, optional
        Detection threshold in ``[0, 1]``.
    classes : iterable of str or int, optional
        Classes to detect and mend; default all.
    progress : callable, optional
        ``progress(done, total)``.

    Returns
    -------
    mended : ndarray
        Same shape and dtype as ``image``.
    labels : uint8 ndarray
        The detected defects (0 = clean), as from :func:`napari_mend.detect`.

    Notes
    -----
    Scratches, dust, blotches, burned-in text and watermarks are filled by
    inpainting; moire is detected and labelled but left unchanged here
    (use :func:`napari_mend.demoire`).
    """
    labels = detect(image, channel_axis=channel_axis, method=detector, threshold=threshold,
                    classes=classes, progress=scaled(progress, 0, 2))
    fillable = [CLASS_IDS[c] for c in FILLED_CLASSES if CLASS_IDS[c] in class_ids(classes)]
    mask = np.isin(labels, fillable)
    if not mask.any():
        view_dtype = np.float32 if np.asarray(image).dtype == np.float16 else None
        return np.array(image, dtype=view_dtype, copy=True), labels
    mended = inpaint(image, mask, channel_axis=channel_axis, method=fill,
                     progress=scaled(progress, 1, 2))
    return mended, labels

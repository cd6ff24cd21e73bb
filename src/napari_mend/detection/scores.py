"""Cached defect scores and their conversion to a Labels array."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from ..classes import DEFECT_CLASSES, class_ids

STRIP_ROWS = 256
"""Rows of scores turned into labels at a time."""


def scores_to_labels(scores: np.ndarray, *, threshold: float = 0.5, classes=None,
                     min_size: int = 2) -> np.ndarray:
    """Turn per-class scores into one label value per pixel.

    Parameters
    ----------
    scores : (..., 6, M, N) ndarray
        Scores in ``[0, 1]`` in :data:`DEFECT_CLASSES` order.
    threshold : float
        A class is detected where its score is ``>= threshold``; where
        several are, the highest score wins.
    classes : iterable of str or int, optional
        Only these classes (default: all).
    min_size : int
        Connected pieces of a class smaller than this many pixels are dropped.

    Returns
    -------
    labels : (..., M, N) uint8 ndarray
        0 = no defect, else the class's label value.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    wanted = np.zeros(len(DEFECT_CLASSES), bool)
    wanted[np.asarray(class_ids(classes)) - 1] = True
    lead = scores.shape[:-3]
    flat = scores.reshape((-1,) + scores.shape[-3:])
    out = np.zeros((flat.shape[0],) + scores.shape[-2:], np.uint8)
    for i, plane_scores in enumerate(flat):
        lab = out[i]
        for top in range(0, lab.shape[0], STRIP_ROWS):  # strips: no full-size temporaries
            s = np.where(wanted[:, None, None], plane_scores[:, top:top + STRIP_ROWS], -1)
            best = s.argmax(axis=0)
            hit = np.take_along_axis(s, best[None], axis=0)[0] >= max(threshold, 1e-6)
            lab[top:top + STRIP_ROWS] = np.where(hit, best + 1, 0)
        if min_size > 1 and lab.any():
            for value in np.unique(lab[lab > 0]):
                comp, n = ndi.label(lab == value, structure=np.ones((3, 3)))
                sizes = np.bincount(comp.ravel())
                small = sizes < min_size
                small[0] = False
                lab[small[comp]] = 0
    return out.reshape(lead + scores.shape[-2:])


@dataclass
class DefectScores:
    """Per-class defect scores of an image, kept so thresholds can change cheaply.

    Attributes
    ----------
    scores : (..., 6, M, N) float ndarray
        Scores in ``[0, 1]``; leading axes are the image's plane axes.
    method : str
        ``'learned'`` or ``'classical'``.
    model : dict or None
        Model card of the learned detector used (None for classical).
    """

    scores: np.ndarray
    method: str
    model: dict | None = None
    parameters: dict = field(default_factory=dict)

    def labels(self, *, threshold: float = 0.5, classes=None, min_size: int = 2) -> np.ndarray:
        """Labels at ``threshold`` (see :func:`scores_to_labels`); no recomputation."""
        return scores_to_labels(self.scores, threshold=threshold, classes=classes,
                                min_size=min_size)

"""Cached defect scores and their conversion to a Labels array."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from ..blocks import overlapped, trimmed
from ..classes import DEFECT_CLASSES, N_SCORED, class_ids
from ..io.provenance import make_provenance

STRIP_ROWS = 256
"""Rows of scores turned into labels at a time."""


def class_thresholds(threshold) -> np.ndarray:
    """The threshold of each scored class, ``(6,)``: one number for all, or a mapping of class
    names or values to numbers (a class it leaves out is never detected).

    Raises
    ------
    ValueError
        A threshold outside ``[0, 1]``, or an unknown class.
    """
    if isinstance(threshold, dict):
        out = np.full(N_SCORED, np.inf)
        for name, value in threshold.items():
            (k,) = class_ids(name)
            if k <= N_SCORED:
                out[k - 1] = _checked_threshold(value, f" of {DEFECT_CLASSES[k]!r}")
        return out
    return np.full(N_SCORED, _checked_threshold(threshold))


def _checked_threshold(value, what: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not 0.0 <= value <= 1.0:
        raise ValueError(f"threshold{what} must be a number in [0, 1], got {value!r}")
    return max(float(value), 1e-6)  # a score of 0 is never a defect


def scores_to_labels(scores: np.ndarray, *, threshold: float = 0.5, classes=None,
                     min_size: int = 2) -> np.ndarray:
    """Turn per-class scores into one label value per pixel.

    Parameters
    ----------
    scores : (..., 6, M, N) ndarray
        Scores in ``[0, 1]`` in :data:`DEFECT_CLASSES` order.
    threshold : float or dict
        A class is detected where its score is ``>= threshold``; where
        several are, the highest score wins. A dict gives each class its own
        (class name or value -> threshold; classes it leaves out are not
        detected), e.g. the model card's ``inference.restore_thresholds``.
    classes : iterable of str or int, optional
        Only these classes (default: all).
    min_size : int
        Connected pieces of a class smaller than this many pixels are dropped.

    Returns
    -------
    labels : (..., M, N) uint8 ndarray
        0 = no defect, else the class's label value.
    """
    limits = class_thresholds(threshold)
    wanted = np.zeros(N_SCORED, bool)  # classes registered later have no score channel
    wanted[[v - 1 for v in class_ids(classes) if v <= N_SCORED]] = True
    limits = np.where(wanted, limits, np.inf)[:, None, None]
    lead = scores.shape[:-3]
    flat = scores.reshape((-1,) + scores.shape[-3:])
    out = np.zeros((flat.shape[0],) + scores.shape[-2:], np.uint8)
    for i, plane_scores in enumerate(flat):
        lab = out[i]
        for top in range(0, lab.shape[0], STRIP_ROWS):  # strips: no full-size temporaries
            strip = plane_scores[:, top:top + STRIP_ROWS]
            s = np.where(strip >= limits, strip, -1)  # classes past their own threshold
            best = s.argmax(axis=0)
            hit = np.take_along_axis(s, best[None], axis=0)[0] >= 0
            lab[top:top + STRIP_ROWS] = np.where(hit, best + 1, 0)
        if min_size > 1:
            drop_small_pieces(lab, min_size)
    return out.reshape(lead + scores.shape[-2:])


def drop_small_pieces(labels: np.ndarray, min_size: int, *, rows: int = STRIP_ROWS) -> None:
    """Zero the 8-connected pieces of one label value smaller than ``min_size`` pixels, in place.

    Works on strips of ``rows`` rows, each labelled with ``min_size`` rows of
    its neighbours above and below, so no full-size component image is made.
    The result is exact: a piece small enough to drop spans fewer than
    ``min_size`` rows, so it lies wholly inside the strip's window; a piece
    that reaches the window's cut edges from the strip is large enough to keep.

    Parameters
    ----------
    labels : (M, N) integer ndarray
        Changed in place.
    min_size : int
        Pieces with fewer pixels than this are set to 0.
    rows : int, optional
        Rows labelled at a time (memory, not the result, depends on it).
    """
    height = labels.shape[0]
    structure = np.ones((3, 3), bool)
    for top in range(0, height, rows):
        stop = min(top + rows, height)
        first, last = max(top - min_size, 0), min(stop + min_size, height)
        window = labels[first:last]
        core = window[top - first:stop - first]  # a view: writes go to ``labels``
        for value in np.unique(core[core > 0]):
            pieces, n = ndi.label(window == value, structure=structure)
            small = np.bincount(pieces.ravel(), minlength=n + 1) < min_size
            small[0] = False
            if first > 0:  # pieces cut by the window's edges continue beyond it
                small[pieces[0]] = False
            if last < height:
                small[pieces[-1]] = False
            core[small[pieces[top - first:stop - first]]] = 0


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

    def labels(self, *, threshold=0.5, classes=None, min_size: int = 2) -> np.ndarray:
        """Labels at ``threshold`` (one, or one per class; see :func:`scores_to_labels`); no
        recomputation."""
        return scores_to_labels(self.scores, threshold=threshold, classes=classes,
                                min_size=min_size)

    def provenance(self, image, labels, **parameters) -> dict:
        """Provenance record of ``labels`` made from these scores of ``image`` (operation
        ``'detect'``: the method, the detector's card, the image's and labels' digests);
        ``parameters`` (the threshold, classes, source...) are recorded with the model's."""
        return make_provenance(operation="detect", method=self.method,
                               parameters={**self.parameters, **parameters}, image=image,
                               mask=labels, model=self.model)


@dataclass
class LazyDefectScores(DefectScores):
    """:class:`DefectScores` holding a dask array; ``labels()`` stays lazy."""

    def labels(self, *, threshold=0.5, classes=None, min_size: int = 2):
        """Lazy Labels at ``threshold`` (see :func:`scores_to_labels`); nothing is computed."""
        class_ids(classes)
        class_thresholds(threshold)
        nd = self.scores.ndim
        depth = dict.fromkeys((nd - 2, nd - 1), 1)  # components of min_size across block edges
        labels = overlapped(self.scores, depth).map_blocks(
            scores_to_labels, threshold=threshold, classes=classes, min_size=min_size,
            drop_axis=nd - 3, dtype=np.uint8)
        return trimmed(labels, dict.fromkeys((nd - 3, nd - 2), 1))

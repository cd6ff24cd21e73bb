"""Public ``detect``: per-class defect scores and Labels for any supported image."""

from __future__ import annotations

import numpy as np

from .._validation import plane_view
from ..progress import report, scaled
from ..scale.lazy import is_lazy
from .scores import DefectScores

METHODS = ("learned", "classical")
DEFAULT_DETECTOR = "detector"


def method_model(method: str, model: str | None = None) -> str | None:
    """Name of the model a detection method uses (None for the classical detector)."""
    return (model or DEFAULT_DETECTOR) if method == "learned" else None


def restore_defaults(method: str, *, classes=None, threshold=None) -> tuple:
    """``(classes, threshold)`` that :func:`napari_mend.restore` uses: those given, else the
    detector card's ``inference.restore_classes`` and ``inference.restore_threshold``, else
    all classes (``None``) and 0.5.

    A learned detector's card holds what was measured for unattended mending (see
    ``napari-mend evaluate detector --restore-classes``): the classes whose mending raised
    the whole-image PSNR of held-out images, and the threshold that restored them best.
    Detection for review (:func:`detect`, the widget) keeps every class at 0.5.
    """
    name = method_model(method)
    settings = {}
    if name is not None and (classes is None or threshold is None):
        from ..models.registry import model_card

        settings = model_card(name).get("inference", {})
    if classes is None:
        classes = settings.get("restore_classes")
    if threshold is None:
        threshold = settings.get("restore_threshold", 0.5)
    return classes, threshold


def detect_scores(image, *, channel_axis=None, method="learned", model=None,
                  progress=None) -> DefectScores:
    """Compute per-class defect scores, to threshold later without recomputing.

    Parameters
    ----------
    image : (M, N[, ..., P][, C]) ndarray
        Image or stack (leading plane axes); see :func:`napari_mend.inpaint`.
    channel_axis : int or None, optional
        Colour axis (RGBA: alpha is ignored). ``None`` means gray.
    method : {'learned', 'classical'}, optional
        The trained network (default) or the classical detector, which
        only finds scratches, dust and blotches.
    model : str, optional
        Name or path of a detector model (``method='learned'``); default
        the shipped ``'detector'``.
    progress : callable, optional
        ``progress(done, total)``; may raise
        :class:`napari_mend.progress.Cancelled`.

    Returns
    -------
    scores : DefectScores
        ``scores.scores`` has shape ``(..., 6, M, N)`` (float16: half the
        memory of float32, and finer than any threshold needs);
        ``scores.labels()`` thresholds it. For a dask or zarr ``image`` both are lazy dask
        arrays (see :mod:`napari_mend.scale.lazy`).
    """
    if is_lazy(image):
        from ..scale import lazy

        return lazy.detect_scores(image, channel_axis=channel_axis, method=method, model=model)
    view = plane_view(image, channel_axis=channel_axis)
    name = method_model(method, model)
    if method == "classical":
        from .classical import classical_scores

        card = None
    elif method == "learned":
        from ..models.registry import get_model
        from .learned import learned_scores

        card = get_model(name).card
    else:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    spatial = view.spatial_shape
    out = np.empty((view.n_planes, 6) + spatial[-2:], np.float16)
    for i in range(view.n_planes):
        report(progress, i, view.n_planes)
        if method == "learned":  # the network converts tile by tile; scores go straight to out
            learned_scores(view.raw_plane(i), model=name,
                           progress=scaled(progress, i, view.n_planes), out=out[i])
        else:
            out[i] = classical_scores(view.plane(i))
    report(progress, view.n_planes, view.n_planes)
    scores = out.reshape(spatial[:-2] + out.shape[1:])
    return DefectScores(scores=scores, method=method, model=card,
                        parameters={"model": name} if card else {})


def detect(image, *, channel_axis=None, method="learned", threshold=0.5, classes=None,
           model=None, progress=None) -> np.ndarray:
    """Find defects and return a Labels array, one label value per defect class.

    Parameters
    ----------
    image : (M, N[, ..., P][, C]) ndarray
        Image or stack with leading plane axes.
    channel_axis : int or None, optional
        Colour axis; ``None`` means gray.
    method : {'learned', 'classical'}, optional
        Detector to use.
    threshold : float, optional
        Score in ``[0, 1]`` above which a pixel is a defect; lower finds more.
    classes : iterable of str or int, optional
        Classes to look for (names or values of :data:`DEFECT_CLASSES`);
        default all.
    model : str, optional
        Detector model name or path (learned method).
    progress : callable, optional
        ``progress(done, total)``.

    Returns
    -------
    labels : uint8 ndarray
        The image's shape without the channel axis; 0 = clean, else the
        class's label value (see :data:`napari_mend.DEFECT_CLASSES`); a lazy
        dask array for a dask or zarr ``image``.
    """
    if is_lazy(image):
        from ..scale import lazy

        return lazy.detect(image, channel_axis=channel_axis, method=method,
                           threshold=threshold, classes=classes, model=model)
    from ..classes import class_ids

    class_ids(classes)  # validate before heavy work
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    scores = detect_scores(image, channel_axis=channel_axis, method=method, model=model,
                           progress=progress)
    return scores.labels(threshold=threshold, classes=classes)

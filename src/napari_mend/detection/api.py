"""Public ``detect``: per-class defect scores and Labels for any supported image."""

from __future__ import annotations

import os

import numpy as np

from .._validation import plane_view
from ..progress import report, scaled
from ..scale.lazy import is_lazy
from .scores import DefectScores

METHODS = ("learned", "classical")
DEFAULT_DETECTOR = "detector"


def taught_model(model):
    """The :class:`~napari_mend.teach.TaughtModel` that ``model`` is or names, else None.

    ``model`` names one when it is the name of an installed taught model or the path of a
    ``.mendmodel`` file written by :meth:`TaughtModel.save <napari_mend.teach.TaughtModel.save>`
    (found by the registry, :func:`napari_mend.models.registry.taught_or_none`, and checked
    by :func:`napari_mend.teach.load`); networks and unknown names give None.
    """
    if model is None or isinstance(model, str) and model in METHODS:
        return None
    from ..teach.model import TaughtModel

    if isinstance(model, TaughtModel):
        return model
    if isinstance(model, (str, os.PathLike)):
        from ..models.registry import taught_or_none

        return taught_or_none(model)
    return None


def resolve_detector(detector) -> tuple:
    """``(method, model)`` of :func:`napari_mend.restore`'s ``detector``: a method name gives
    ``(detector, None)``; a taught model, or the path of its file, ``('learned', model)``.

    Raises
    ------
    ValueError
        Neither a method nor a taught model.
    """
    if isinstance(detector, str) and detector in METHODS:
        return detector, None
    taught = taught_model(detector)
    if taught is None:
        raise ValueError(f"unknown method {str(detector)[:200]!r}; choose one of "
                         f"{', '.join(METHODS)}, a taught model or its .mendmodel file")
    return "learned", taught


def _refuse_lazy(image, taught) -> None:
    if taught is not None and is_lazy(image):
        raise ValueError("a taught model scores images in memory; read the image whole "
                         "(numpy.asarray) or use a shipped detector for images too large "
                         "for memory")


def method_model(method: str, model: str | None = None) -> str | None:
    """Name of the model a detection method uses (None for the classical detector)."""
    return (model or DEFAULT_DETECTOR) if method == "learned" else None


def restore_defaults(method: str, *, classes=None, threshold=None) -> tuple:
    """``(classes, threshold)`` that :func:`napari_mend.restore` uses: those given, else the
    detector card's ``inference.restore_classes`` and ``inference.restore_threshold``, else
    all classes (``None``) and 0.5.

    A taught model (``method`` is a :class:`~napari_mend.teach.TaughtModel` or the path
    of its file) gives the classes it was taught and 0.5.

    A learned detector's card holds what was measured for unattended mending (see
    ``napari-mend evaluate detector --restore-classes``): the classes whose mending raised
    the whole-image PSNR of held-out images, and the threshold that restored them best.
    Detection for review (:func:`detect`, the widget) keeps every class at 0.5.
    """
    taught = taught_model(method)
    if taught is not None:
        return (taught.classes if classes is None else classes,
                0.5 if threshold is None else threshold)
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
    model : str or TaughtModel, optional
        Name or path of a detector model (``method='learned'``); default
        the shipped ``'detector'``. A model taught by example
        (:func:`napari_mend.teach`) or the path of its ``.mendmodel`` file
        replaces the learned detector (in-memory images only); the classes
        it was not taught score 0.
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
    taught = taught_model(model)
    _refuse_lazy(image, taught)
    if taught is not None:
        if method != "learned":
            raise ValueError(f"a taught model replaces the learned detector; pass "
                             f"method='learned', not {method!r}")
        return taught.detect_scores(image, channel_axis=channel_axis, progress=progress)
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
    model : str or TaughtModel, optional
        Detector model name or path (learned method), or a model taught by
        example (:func:`napari_mend.teach`) or its ``.mendmodel`` file.
    progress : callable, optional
        ``progress(done, total)``.

    Returns
    -------
    labels : uint8 ndarray
        The image's shape without the channel axis; 0 = clean, else the
        class's label value (see :data:`napari_mend.DEFECT_CLASSES`); a lazy
        dask array for a dask or zarr ``image``.
    """
    taught = taught_model(model)
    _refuse_lazy(image, taught)
    model = taught or model
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

"""Public ``detect``: per-class defect scores and Labels for any supported image.

In-memory images are scored plane by plane; dask and zarr images lazily, block by
block through :func:`napari_mend.blocks.map_planes`:

``'learned'``
    blocks go through the network tile by tile
    (:func:`napari_mend.tiling.tiled_map`), normalised by the *plane's*
    robust intensity range, taken once from the same regular subsample the
    in-memory path uses; blocks therefore agree with each other, and with
    the in-memory result up to the blending of network tiles near block
    edges. ``depth`` is the model's tile overlap.
``'classical'``
    each block with its margin is scored on its own, so the detector's
    plane-level statistics (intensity percentiles, noise floor, blotch
    background, the length that makes a scratch) are those of the block:
    pick ``chunk`` of the size of the images the detector was tuned on (the
    default is 1024).
"""

from __future__ import annotations

import os
from functools import partial

import numpy as np

from .._validation import plane_view, to_unit_float
from ..arrays import is_lazy, materialize
from ..blocks import DEFAULT_CHUNK, layout, map_planes
from ..classes import DEFECT_CLASSES, N_SCORED, class_ids
from ..models.networks import get_network as get_model
from ..models.networks import network_card as model_card
from ..models.registry import taught_or_none
from ..progress import report, scaled
from ..teaching.model import TaughtModel
from .classical import classical_scores
from .learned import inference_settings, intensity_range, learned_scores
from .scores import DefectScores, LazyDefectScores, class_thresholds, scores_to_labels

METHODS = ("learned", "classical")
DEFAULT_DETECTOR = "detector"
CLASSICAL_DEPTH = 64
"""Margin of a block for the classical detector (its largest filters are ~40 px)."""
TAUGHT_DEPTH = 64
"""Margin of a block for a taught model (its Gaussians reach 4 sigma = 32 px, the network's
tiles overlap 32 px)."""
N_SCORES = N_SCORED


def taught_model(model):
    """The :class:`~napari_mend.teaching.TaughtModel` that ``model`` is or names, else None.

    ``model`` names one when it is the name of an installed taught model or the path of a
    ``.mendmodel`` file written by :meth:`TaughtModel.save <napari_mend.teaching.TaughtModel.save>`
    (found by the registry, :func:`napari_mend.models.registry.taught_or_none`, and checked
    by :func:`napari_mend.teaching.load`); networks and unknown names give None.
    """
    if model is None or isinstance(model, str) and model in METHODS:
        return None
    if isinstance(model, TaughtModel):
        return model
    if isinstance(model, (str, os.PathLike)):
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


def method_model(method: str, model: str | None = None) -> str | None:
    """Name of the model a detection method uses (None for the classical detector)."""
    return (model or DEFAULT_DETECTOR) if method == "learned" else None


def restore_defaults(method: str, *, classes=None, threshold=None) -> tuple:
    """``(classes, threshold)`` that :func:`napari_mend.restore` uses: those given, else the
    detector card's unattended settings, else all classes (``None``) and 0.5.

    A learned detector's card holds what was measured for unattended mending
    (``napari-mend evaluate detector --unattended``): ``inference.restore_thresholds``,
    each class's threshold, set where the class reached the precision
    :data:`napari_mend.evaluation.unattended_precision.OWN_PRECISION` on the own
    validation images, and ``inference.restore_classes``, the classes whose precision at
    that threshold was at least
    :data:`~napari_mend.evaluation.unattended_precision.MIN_PRECISION` on images and
    defects of the independent generator: the others are not mended unattended unless
    asked for. A card with one ``inference.restore_threshold`` gives it to every class.
    Detection for review (:func:`detect`, the widget) keeps every class at 0.5.

    A taught model (``method`` is a :class:`~napari_mend.teaching.TaughtModel` or the path
    of its file) gives the classes it was taught and 0.5.
    """
    taught = taught_model(method)
    if taught is not None:
        return (taught.classes if classes is None else classes,
                0.5 if threshold is None else threshold)
    name = method_model(method)
    settings = {}
    if name is not None and (classes is None or threshold is None):
        settings = model_card(name).get("inference", {})
    if classes is None:
        classes = settings.get("restore_classes")
    if threshold is None:
        threshold = settings.get("restore_thresholds") or settings.get("restore_threshold", 0.5)
        if isinstance(threshold, dict):  # every class asked for gets one (0.5 if uncalibrated)
            threshold = {DEFECT_CLASSES[k]: threshold.get(DEFECT_CLASSES[k], 0.5)
                         for k in class_ids(classes)}
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
        replaces the learned detector; the classes it was not taught score 0.
    progress : callable, optional
        ``progress(done, total)``; may raise
        :class:`napari_mend.progress.Cancelled`.

    Returns
    -------
    scores : DefectScores
        ``scores.scores`` has shape ``(..., 6, M, N)`` (float16: half the
        memory of float32, and finer than any threshold needs);
        ``scores.labels()`` thresholds it. For a dask or zarr ``image`` both are lazy dask
        arrays (see the module notes).
    """
    taught = taught_model(model)
    if taught is not None and method != "learned":
        raise ValueError(f"a taught model replaces the learned detector; pass "
                         f"method='learned', not {method!r}")
    if is_lazy(image):
        return lazy_scores(image, channel_axis=channel_axis, method=method, model=taught or model)
    if taught is not None:
        return taught.detect_scores(image, channel_axis=channel_axis, progress=progress)
    view = plane_view(image, channel_axis=channel_axis)
    name = method_model(method, model)
    _check_method(method)
    card = get_model(name).card if method == "learned" else None
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
    threshold : float or dict, optional
        Score in ``[0, 1]`` above which a pixel is a defect; lower finds more.
        A dict gives each class its own (class -> threshold).
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
    model = taught_model(model) or model
    class_ids(classes)  # validate before heavy work
    class_thresholds(threshold)
    if is_lazy(image):
        return lazy_labels(image, channel_axis=channel_axis, method=method,
                           threshold=threshold, classes=classes, model=model)
    scores = detect_scores(image, channel_axis=channel_axis, method=method, model=model,
                           progress=progress)
    return scores.labels(threshold=threshold, classes=classes)


def _check_method(method) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


def _classical_kernel(plane, *, plane_info=None):
    return classical_scores(plane)


def _taught_kernel(plane, *, plane_info, model):
    """A taught model's scores of a block (in the image's own values, as it was taught) with
    the plane's intensity range."""
    return model.plane_scores(plane, intensity=plane_info)


def _learned_kernel(plane, *, plane_info, model: str):
    """Learned scores of a block with the plane's intensity range ``plane_info`` (low, high)."""
    return learned_scores(plane, model=model, intensity=plane_info)


def _labels_kernel(plane, *, plane_info, score, threshold, classes):
    """Labels of a block: scores rounded to float16 first, as in-memory detection stores
    them, so a score just under the threshold that rounds onto it is labelled alike."""
    scores = score(plane, plane_info=plane_info).astype(np.float16)
    return scores_to_labels(scores, threshold=threshold, classes=classes)


def _plane_intensity(image, channel_axis, chunk, *, unit: bool = True) -> np.ndarray:
    """Robust intensity range of every plane, ``(..., 2)``, from one strided read (in unit
    scale, else in the image's own values)."""
    work = layout(image, channel_axis=channel_axis, chunk=chunk)
    m, n = work.work.shape[-3:-1]
    step = max(1, int(np.ceil(np.sqrt(m * n / (1 << 20)))))
    sample = materialize(work.work[..., ::step, ::step, : work.view.n_color])
    ranges = np.empty(work.work.shape[:-3] + (2,), np.float64)
    for idx in np.ndindex(work.work.shape[:-3]):
        ranges[idx] = intensity_range(to_unit_float(sample[idx]) if unit else sample[idx])
    return ranges


def _scoring(image, channel_axis, method: str, model, chunk):
    """``(kernel, plane_info, depth, card)`` of a detection method on a lazy image."""
    _check_method(method)
    if isinstance(model, TaughtModel):  # features in the plane's own values and range
        return (partial(_taught_kernel, model=model),
                _plane_intensity(image, channel_axis, chunk, unit=False), TAUGHT_DEPTH,
                model.card)
    if method == "classical":
        return _classical_kernel, None, CLASSICAL_DEPTH, None
    name = model or DEFAULT_DETECTOR
    card = get_model(name).card
    depth = inference_settings(card)["overlap"]
    return (partial(_learned_kernel, model=name), _plane_intensity(image, channel_axis, chunk),
            depth, card)


def lazy_scores(image, *, channel_axis=None, method="learned", model=None,
                chunk: int = DEFAULT_CHUNK, depth: int | None = None) -> LazyDefectScores:
    """Lazy per-class defect scores of a dask or zarr image.

    Parameters are those of :func:`detect_scores`, plus ``chunk``, the block
    side in pixels, and ``depth``, the margin of context around each block
    (default: the method's, see the module notes).

    Returns
    -------
    scores : LazyDefectScores
        ``scores.scores`` is a float16 dask array ``(..., 6, M, N)`` (as in memory);
        ``scores.labels()`` is a lazy uint8 Labels array.
    """
    kernel, info, default_depth, card = _scoring(image, channel_axis, method, model, chunk)
    scores = map_planes(kernel, image, channel_axis=channel_axis, out=N_SCORES,
                        dtype=np.float16, unit=not isinstance(model, TaughtModel),
                        depth=default_depth if depth is None else depth, chunk=chunk,
                        plane_info=info)
    if isinstance(model, TaughtModel):
        return LazyDefectScores(scores=scores, method="taught", model=card,
                                parameters={"model": model.name})
    return LazyDefectScores(scores=scores, method=method, model=card,
                            parameters={"model": model or "detector"} if card else {})


def lazy_labels(image, *, channel_axis=None, method="learned", threshold=0.5, classes=None,
                model=None, chunk: int = DEFAULT_CHUNK, depth: int | None = None):
    """Lazy Labels of a dask or zarr image: scores and thresholds fused per block.

    Parameters are those of :func:`detect`, plus ``chunk`` and ``depth``
    (see :func:`lazy_scores`).

    Returns
    -------
    labels : dask.array.Array of uint8
        The image's shape without the channel axis.
    """
    kernel, info, default_depth, _ = _scoring(image, channel_axis, method, model, chunk)
    labels = partial(_labels_kernel, score=kernel, threshold=threshold, classes=classes)
    depth = max(default_depth if depth is None else depth, 1)  # min_size sees edge neighbours
    return map_planes(labels, image, channel_axis=channel_axis, out="plane", dtype=np.uint8,
                      unit=not isinstance(model, TaughtModel), depth=depth, chunk=chunk,
                      plane_info=info)

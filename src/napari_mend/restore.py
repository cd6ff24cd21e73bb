"""``restore``: detect defects and mend each class with its remover, in memory or block by block.

Scratches, dust, blotches and burned-in text are holes: they are inpainted.
Watermarks and moire leave the content underneath: watermarks are inverted
(:func:`napari_mend.remove_watermark`), moire filtered out
(:func:`napari_mend.demoire`), each only inside its detected pixels. Which
remover a class gets is part of its registration (:mod:`napari_mend.classes`).

Dask and zarr images are mended lazily through the block executor
(:func:`napari_mend.blocks.map_planes`); :func:`restore_to_zarr` stores both
results of a large image in two passes, with their provenance.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from .arrays import as_dask, is_lazy
from .blocks import DEFAULT_CHUNK, compute, map_planes
from .classes import CLASSES, class_ids
from .detection.api import (
    detect_scores,
    lazy_labels,
    resolve_detector,
    restore_defaults,
)
from .detection.api import method_model as detection_model
from .detection.scores import class_thresholds
from .detection.text_completion import complete_text as complete_detected_text
from .detection.text_completion import may_find_text
from .inpainting.api import INPAINT_DEPTH, inpaint
from .inpainting.api import method_model as fill_model
from .io.atomic import atomic_path
from .io.provenance import make_provenance
from .io.zarr_store import check_targets, zarr_write
from .models.registry import card_or_none
from .moire.api import demoire
from .progress import scaled
from .regions import regions_report
from .watermark.api import remove_watermark


def restore_provenance(image, labels, *, detector, fill, threshold, classes, source,
                       channel_axis=None, complete_text=True, chunk=None) -> dict:
    """Provenance record of a :func:`restore` run (models of both steps included).

    ``chunk``: the block side of a run made block by block (:func:`restore_to_zarr`),
    which decides a few pixels near block edges; not recorded when None.
    """
    classes, threshold = restore_defaults(detector, classes=classes, threshold=threshold)
    method, taught = resolve_detector(detector)
    detector_card = card_or_none(detection_model(method)) if taught is None else taught.card
    if taught is not None:  # a JSON value: the file's path, else the model's name
        detector = detector if isinstance(detector, str) else f"taught:{taught.name}"
    parameters = {"detector": detector, "fill": fill, "threshold": threshold, "classes": classes,
                  "complete_text": complete_text, "source": source, "channel_axis": channel_axis}
    if chunk is not None:
        parameters["chunk"] = chunk
    return make_provenance(
        operation="restore", method=f"{detector}+{fill}", parameters=parameters,
        image=image, mask=labels,
        model=[detector_card, card_or_none(fill_model(fill))])


def restore(image, *, channel_axis=None, detector="learned", fill="auto", threshold=None,
            classes=None, complete_text=True, progress=None, return_report=False,
            return_provenance=False, source=None, chunk: int = DEFAULT_CHUNK,
            depth: int = INPAINT_DEPTH):
    """Detect defects and mend them.

    Parameters
    ----------
    image : (M, N[, ..., P][, C]) ndarray
        Image or stack with leading plane axes.
    channel_axis : int or None, optional
        Colour axis; ``None`` means gray.
    detector : {'learned', 'classical'} or TaughtModel, optional
        Detection method (see :func:`napari_mend.detect`), or a model taught
        by example (:func:`napari_mend.teach`) or the path of its
        ``.mendmodel`` file (in-memory images).
    fill : str, optional
        Inpainting method (see :func:`napari_mend.inpaint`), also used for
        watermark pixels too opaque to invert.
    threshold : float or dict, optional
        Detection threshold in ``[0, 1]``, one for every class or a dict of
        class -> threshold. Default: the detector's model card's threshold of
        each class for unattended mending (where it reached precision 0.95 on
        the own validation images; the shipped detector: text 0.96), else 0.5
        (taught models too).
    classes : iterable of str or int, optional
        Classes to detect and mend. Default: those the detector's model card
        lists for unattended mending, whose precision stayed at least 0.8 on
        the independent generator (the shipped learned detector: ``'text'``
        only), or all; a taught model's taught classes. See
        :func:`napari_mend.detection.api.restore_defaults`.
    complete_text : bool, optional
        Grow detected burned-in text to whole annotations by colour before
        mending (:func:`napari_mend.complete_text`): missed glyphs
        next to found ones, anti-aliased rims, label backgrounds.
    progress : callable, optional
        ``progress(done, total)``.
    return_report : bool, optional
        Also return the :func:`~napari_mend.regions.regions_report` of what was removed.
    return_provenance : bool, optional
        Also return the provenance record of the run (:func:`restore_provenance`:
        the image's and labels' digests, the models, the parameters), for in-memory
        images (:func:`restore_to_zarr` records it for lazy ones).
    source : str, optional
        Where the image came from, for the provenance record.
    chunk, depth : int, optional
        For a dask or zarr image: block side and the context (pixels) each block
        is mended with (:func:`napari_mend.blocks.map_planes`).

    Returns
    -------
    mended : ndarray
        Same shape and dtype as ``image`` (float16 gives float32); pixels
        outside the detected defects are bit-identical to the input's.
    labels : uint8 ndarray
        The detected defects (0 = clean), as from :func:`napari_mend.detect`.
    report : dict, optional
        With ``return_report``: every removed region (class, bounding box,
        pixels, detector score).
    provenance : dict, optional
        With ``return_provenance``: the run's provenance record.

    Results are lazy dask arrays for a dask or zarr ``image``: the detection is
    fused with thresholding block by block, and runs again for each result
    computed separately; compute or store them together
    (:func:`napari_mend.io.zarr_store.store`), or use :func:`restore_to_zarr`.

    Notes
    -----
    Scratches, dust, blotches and burned-in text are filled by inpainting;
    watermarks are removed by :func:`napari_mend.remove_watermark` (inverted
    where their opacity allows) and moire by :func:`napari_mend.demoire`,
    each within its detected pixels.
    """
    if is_lazy(image) and return_provenance:
        raise ValueError("the provenance of a dask or zarr image digests the stored results: "
                         "use napari_mend.restore.restore_to_zarr, which records it")
    classes, threshold, labels, scores = _restore_labels(
        image, channel_axis=channel_axis, detector=detector, threshold=threshold,
        classes=classes, complete_text=complete_text, chunk=chunk,
        progress=scaled(progress, 0, 4), keep_scores=return_report)
    mended = mend_labels(image, labels, channel_axis=channel_axis, fill=fill, classes=classes,
                         progress=scaled(progress, 1, 4, span=3), chunk=chunk, depth=depth)
    results = [mended, labels]
    if return_report:
        results.append(regions_report(labels, scores.scores, classes=classes))
    if return_provenance:
        results.append(restore_provenance(
            image, labels, detector=detector, fill=fill, threshold=threshold, classes=classes,
            source=source, channel_axis=channel_axis, complete_text=complete_text))
    return tuple(results)


def mend_labels(image, labels, *, channel_axis=None, fill="auto", model=None, classes=None,
                progress=None, chunk: int = DEFAULT_CHUNK, depth: int = INPAINT_DEPTH,
                return_provenance=False):
    """Mend the defects of a Labels array, each class with its remover.

    Each class's remover is that of its registration
    (:class:`napari_mend.classes.DefectClass`): scratches, dust, blotches and
    burned-in text are inpainted with ``fill``; watermark pixels go to
    :func:`napari_mend.remove_watermark` (inverted where their opacity allows,
    ``fill`` elsewhere) and moire pixels are replaced by
    :func:`napari_mend.demoire`'s output; a registered class with a remover
    function is mended by it, last.

    Parameters
    ----------
    image : (M, N[, ..., P][, C]) ndarray
        Image or stack with leading plane axes.
    labels : (M, N[, ..., P]) integer ndarray
        Defect labels as from :func:`napari_mend.detect` (0 = clean), for
        example after the curator corrected them (or one plane's Labels for
        every plane). A dask or zarr ``image`` or ``labels`` is mended lazily,
        each block with ``depth`` px of context.
    channel_axis : int or None, optional
        Colour axis; ``None`` means gray.
    fill : str, optional
        Inpainting method (see :func:`napari_mend.inpaint`).
    model : str, optional
        Inpainter model name or path for ``fill`` (default the shipped one).
    classes : iterable of str or int, optional
        Only these classes are mended (default all).
    progress : callable, optional
        ``progress(done, total)``.
    chunk, depth : int, optional
        Block side and context (pixels) for lazy images.
    return_provenance : bool, optional
        Also return the provenance record (operation ``'mend_labels'``: the
        image's and labels' digests, the fill and its model, the parameters;
        lazy inputs are read once to digest them).

    Returns
    -------
    mended : ndarray or dask.array.Array
        Same shape and dtype as ``image`` (float16 gives float32); pixels
        outside the mended labels are bit-identical to the input's.
    provenance : dict, optional
        With ``return_provenance``.
    """
    wanted = class_ids(classes)
    if is_lazy(image) or is_lazy(labels):
        if not np.issubdtype(as_dask(labels).dtype, np.integer):
            raise TypeError(f"labels have dtype {as_dask(labels).dtype}; pass an integer Labels "
                            "array (values of napari_mend.DEFECT_CLASSES)")
        kernel = partial(_mend_kernel, fill=fill, model=model, classes=wanted)
        mended = map_planes(kernel, image, labels, channel_axis=channel_axis, unit=False,
                            depth=depth, chunk=chunk, names=["labels"])
    else:
        mended = _mend_in_memory(image, labels, channel_axis=channel_axis, fill=fill,
                                 model=model, wanted=wanted, progress=progress)
    if not return_provenance:
        return mended
    parameters = {"channel_axis": channel_axis, "fill": fill, "model": model, "classes": classes}
    return mended, make_provenance(operation="mend_labels", method=fill, parameters=parameters,
                                   image=image, mask=labels,
                                   model=card_or_none(fill_model(fill, model)))


def _mend_in_memory(image, labels, *, channel_axis, fill, model, wanted, progress):
    """:func:`mend_labels` of NumPy inputs: each remover over its classes' pixels in turn."""
    labels = np.asarray(labels)
    view_dtype = np.float32 if np.asarray(image).dtype == np.float16 else None
    mended = np.array(image, dtype=view_dtype, copy=True)
    steps = _removal_steps(labels, wanted)
    for k, (remover, where) in enumerate(steps):
        mended = remover(mended, where, channel_axis=channel_axis, fill=fill, model=model,
                         progress=scaled(progress, k, len(steps)))
    if progress is not None:
        progress(len(steps), len(steps))
    return mended


def _inpaint_remover(image, where, *, channel_axis, fill, model, progress):
    return inpaint(image, where, channel_axis=channel_axis, method=fill, model=model,
                   progress=progress)


def _watermark_remover(image, where, *, channel_axis, fill, model, progress):
    return remove_watermark(image, mask=where, channel_axis=channel_axis, method="single",
                            fill=fill, progress=progress)


def _moire_remover(image, where, *, channel_axis, fill, model, progress):
    filtered = demoire(image, channel_axis=channel_axis, progress=progress)
    inside = where if channel_axis is None else np.expand_dims(where, channel_axis)
    return np.where(inside, filtered, image)


_REMOVERS = {"inpaint": _inpaint_remover, "watermark": _watermark_remover,
             "moire": _moire_remover}


def _removal_steps(labels: np.ndarray, wanted) -> list:
    """``[(remover, where), ...]``: one step per named remover (its classes' pixels
    together), in the order of :data:`napari_mend.classes.REMOVERS`, then one per class
    with a remover function; steps with no pixels left out."""
    named, custom = {}, []
    for value in wanted:
        remover = CLASSES[value].remover
        if callable(remover):
            custom.append((remover, [value]))
        else:
            named.setdefault(remover, []).append(value)
    steps = [(_REMOVERS[name], values) for name, values in sorted(
        named.items(), key=lambda item: list(_REMOVERS).index(item[0]))] + custom
    return [(remover, where) for remover, values in steps
            if (where := np.isin(labels, values)).any()]


def _mend_kernel(raw, labels, *, plane_info=None, fill, model, classes):
    """:func:`mend_labels` of one block plane ``(m, n, C)`` in its own dtype."""
    return mend_labels(raw, labels, channel_axis=-1, fill=fill, model=model, classes=classes)


def _restore_labels(image, *, channel_axis, detector, threshold, classes, complete_text, chunk,
                    progress=None, keep_scores=False):
    """``(classes, threshold, labels, scores)`` of a restore: the defaults resolved
    (:func:`napari_mend.detection.api.restore_defaults`), the detection, text completed.

    For a dask or zarr image, scores and thresholds are fused block by block (``scores`` is
    None) unless ``keep_scores``.
    """
    method, taught = resolve_detector(detector)
    classes, threshold = restore_defaults(taught or detector, classes=classes,
                                          threshold=threshold)
    class_thresholds(threshold)  # validated before heavy work
    scores = None
    if is_lazy(image) and not keep_scores:
        labels = lazy_labels(image, channel_axis=channel_axis, method=method, threshold=threshold,
                             classes=classes, model=taught, chunk=chunk)
    else:
        scores = detect_scores(image, channel_axis=channel_axis, method=method, model=taught,
                               progress=progress)
        labels = scores.labels(threshold=threshold, classes=classes)
    if complete_text and may_find_text(method, classes):
        labels = complete_detected_text(image, labels, channel_axis=channel_axis, chunk=chunk)
    return classes, threshold, labels, scores


def restore_to_zarr(image, mended_path, labels_path, *, channel_axis=None, detector="learned",
                    fill="auto", threshold=None, classes=None, complete_text: bool = True,
                    chunk: int = DEFAULT_CHUNK, depth: int = INPAINT_DEPTH, source=None,
                    progress=None, overwrite=False, scheduler="threads",
                    num_workers=None) -> tuple[Path, Path]:
    """Detect and mend a dask or zarr image into two zarr arrays, in two passes.

    :func:`restore` gives lazy results whose detection runs with the
    mending of each block; this stores the labels first and mends from the
    stored labels, so the two steps never hold each other's blocks (less
    memory, see ``docs/scale.md``). Both arrays are moved into place only
    when both are complete; each carries the provenance record of the run
    in its ``provenance`` attribute (the image's and labels' digests, the
    models, the parameters).

    Parameters
    ----------
    image : dask.array.Array, zarr.Array or ndarray
        Image or stack, any size.
    mended_path, labels_path : str or os.PathLike
        Zarr folders for the mended image (the image's shape and dtype;
        float16 gives float32) and the defect Labels (uint8, the image's
        shape without the channel axis).
    channel_axis, detector, fill, threshold, classes, complete_text
        As for :func:`napari_mend.restore`.
    chunk, depth : int, optional
        Block side and mending margin (see :func:`restore`).
    source : str, optional
        Where the image came from, for the provenance.
    progress : callable, optional
        ``progress(done, total)`` over both passes; may raise
        :class:`napari_mend.progress.Cancelled` (nothing is left on disk).
    overwrite : bool, optional
        Replace existing zarr arrays at the two paths.
    scheduler, num_workers
        Dask scheduler and thread count.

    Returns
    -------
    mended_path, labels_path : pathlib.Path
    """
    import dask.array as da  # deferred: dask is imported only for lazy images
    import zarr  # deferred: zarr is imported only for lazy images

    mended_path, labels_path = check_targets([mended_path, labels_path], overwrite)
    classes, threshold, labels, _ = _restore_labels(
        image, channel_axis=channel_axis, detector=detector, threshold=threshold,
        classes=classes, complete_text=complete_text, chunk=chunk)
    run = {"scheduler": scheduler, "num_workers": num_workers}
    with atomic_path(labels_path, overwrite=overwrite) as labels_tmp, \
            atomic_path(mended_path, overwrite=overwrite) as mended_tmp:
        compute(zarr_write(labels, labels_tmp), progress=scaled(progress, 0, 2), **run)
        stored = da.from_zarr(str(labels_tmp))
        provenance = {"provenance": restore_provenance(
            image, stored, detector=detector, fill=fill, threshold=threshold, classes=classes,
            source=source, channel_axis=channel_axis, complete_text=complete_text, chunk=chunk)}
        zarr.open_array(str(labels_tmp), mode="r+").attrs.update(provenance)
        mended = mend_labels(image, stored, channel_axis=channel_axis, fill=fill, classes=classes,
                             chunk=chunk, depth=depth)
        compute(zarr_write(mended, mended_tmp, provenance), progress=scaled(progress, 1, 2),
                **run)
    return mended_path, labels_path

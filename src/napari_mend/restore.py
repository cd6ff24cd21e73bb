"""``restore``: detect defects and mend each class with the right remover.

Scratches, dust, blotches and burned-in text are holes: they are inpainted.
Watermarks and moire leave the content underneath: watermarks are inverted
(:func:`napari_mend.remove_watermark`), moire filtered out
(:func:`napari_mend.demoire`), each only inside its detected pixels.

:func:`regions_report` lists every removed region (class, bounding box,
size, detector score): a de-identification record of which burned-in
annotations were found and removed, which :func:`write_regions_report`
stores as JSON next to the mended file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .classes import CLASS_IDS, DEFECT_CLASSES, class_ids
from .detection.api import detect_scores, resolve_detector, restore_defaults
from .detection.text_completion import complete_text as complete_detected_text
from .detection.text_completion import may_find_text
from .inpainting.api import inpaint
from .progress import scaled
from .scale.lazy import is_lazy

FILLED_CLASSES = ("scratch", "dust", "blotch", "text", "watermark")
"""Classes that inpainting alone can mend (:func:`mend_labels` inverts watermarks
instead, where their opacity allows)."""

REPORT_VERSION = 1


def regions_report(labels, scores=None, *, classes=None) -> dict:
    """Every connected region of every class in a Labels array.

    Parameters
    ----------
    labels : (..., M, N) integer array-like
        Labels as from :func:`napari_mend.detect` (0 = clean): NumPy, or a
        zarr or dask array of any size, read a strip of rows at a time
        (:func:`napari_mend.regions.plane_regions`).
    scores : (..., 6, M, N) array-like, optional
        The detector's per-class scores; each region then gets its mean and
        highest score.
    classes : iterable of str or int, optional
        Only these classes (default all).

    Returns
    -------
    report : dict
        ``{'version', 'shape', 'counts': {class: regions}, 'regions': [...]}``
        with one entry per region (8-connected): ``plane`` (index of the
        plane in the leading axes, ``[]`` for a single image), ``class``,
        ``label``, ``bbox`` (``[top, left, bottom, right]``, bottom/right
        exclusive), ``pixels`` and, with scores, ``score`` and ``max_score``.
    """
    from .regions import plane_regions

    if not hasattr(labels, "shape"):
        labels = np.asarray(labels)
    lead = tuple(labels.shape[:-2])
    wanted = class_ids(classes)
    regions = []
    for plane_index in np.ndindex(*lead):
        plane = labels[plane_index] if lead else labels
        for value in wanted:
            plane_scores = None if scores is None else scores[plane_index + (value - 1,)]
            for region in plane_regions(plane, value, scores=plane_scores):
                entry = {"plane": [int(v) for v in plane_index], "class": DEFECT_CLASSES[value],
                         "label": value, "bbox": [int(v) for v in region["bbox"]],
                         "pixels": int(region["pixels"])}
                if scores is not None:
                    entry["score"] = round(region["score_sum"] / region["pixels"], 4)
                    entry["max_score"] = round(float(region["max_score"]), 4)
                regions.append(entry)
    counts = {DEFECT_CLASSES[v]: sum(r["label"] == v for r in regions) for v in wanted}
    return {"version": REPORT_VERSION, "shape": list(labels.shape), "counts": counts,
            "regions": regions}


def report_path(output) -> Path:
    """Where the regions report of ``output`` goes: ``<output>.regions.json``."""
    output = Path(output)
    return output.with_name(output.name + ".regions.json")


def write_regions_report(path, report: dict, *, provenance: dict | None = None,
                         overwrite: bool = False) -> Path:
    """Write a :func:`regions_report` (and optionally a provenance record) as JSON.

    Returns
    -------
    path : Path
        The file written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is false.
    """
    from .io.atomic import atomic_path

    path = Path(path)
    body = dict(report, provenance=provenance) if provenance is not None else report
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    return path


def restore_provenance(image, labels, *, detector, fill, threshold, classes, source,
                       channel_axis=None, complete_text=True, chunk=None) -> dict:
    """Provenance record of a :func:`restore` run (models of both steps included).

    ``chunk``: the block side of a run made block by block
    (:func:`napari_mend.scale.lazy.restore_to_zarr`), which decides a few
    pixels near block edges; not recorded when None.
    """
    from .detection.api import method_model as detection_model
    from .inpainting.api import method_model as fill_model
    from .io.provenance import make_provenance
    from .models.registry import card_or_none

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
            classes=None, complete_text=True, progress=None, return_report=False):
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
    threshold : float, optional
        Detection threshold in ``[0, 1]``. Default: the detector's model card's
        threshold for unattended mending (the shipped learned detector: 0.7,
        which restored the held-out images best), else 0.5 (taught models too).
    classes : iterable of str or int, optional
        Classes to detect and mend. Default: those the detector's model card
        lists for unattended mending (the shipped learned detector: all but
        ``'watermark'``, whose detections, mended, lowered the held-out
        images' PSNR), or all; a taught model's taught classes. See
        :func:`napari_mend.detection.api.restore_defaults`.
    complete_text : bool, optional
        Grow detected burned-in text to whole annotations by colour before
        mending (:func:`napari_mend.complete_text`): missed glyphs
        next to found ones, anti-aliased rims, label backgrounds.
    progress : callable, optional
        ``progress(done, total)``.
    return_report : bool, optional
        Also return the :func:`regions_report` of what was removed.

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

    Notes
    -----
    Scratches, dust, blotches and burned-in text are filled by inpainting;
    watermarks are removed by :func:`napari_mend.remove_watermark` (inverted
    where their opacity allows) and moire by :func:`napari_mend.demoire`,
    each within its detected pixels.
    """
    method, taught = resolve_detector(detector)
    classes, threshold = restore_defaults(taught or detector, classes=classes,
                                          threshold=threshold)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    scores = detect_scores(image, channel_axis=channel_axis, method=method, model=taught,
                           progress=scaled(progress, 0, 4))
    labels = scores.labels(threshold=threshold, classes=classes)
    if complete_text and may_find_text(method, classes):
        labels = complete_detected_text(image, labels, channel_axis=channel_axis)
    mended = mend_labels(image, labels, channel_axis=channel_axis, fill=fill, classes=classes,
                         progress=scaled(progress, 1, 4, span=3))
    if return_report:
        return mended, labels, regions_report(labels, scores.scores, classes=classes)
    return mended, labels


def mend_labels(image, labels, *, channel_axis=None, fill="auto", model=None, classes=None,
                progress=None):
    """Mend the defects of a Labels array, each class with its remover.

    Scratches, dust, blotches and burned-in text are inpainted with ``fill``;
    watermark pixels go to :func:`napari_mend.remove_watermark` (inverted
    where their opacity allows, ``fill`` elsewhere) and moire pixels are
    replaced by :func:`napari_mend.demoire`'s output.

    Parameters
    ----------
    image : (M, N[, ..., P][, C]) ndarray
        Image or stack with leading plane axes.
    labels : (M, N[, ..., P]) integer ndarray
        Defect labels as from :func:`napari_mend.detect` (0 = clean), for
        example after the curator corrected them. A dask or zarr ``image``
        is mended lazily (:func:`napari_mend.scale.lazy.mend_labels`).
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

    Returns
    -------
    mended : ndarray or dask.array.Array
        Same shape and dtype as ``image`` (float16 gives float32); pixels
        outside the mended labels are bit-identical to the input's.
    """
    from .special import demoire, remove_watermark

    if is_lazy(image):
        from .scale import lazy

        return lazy.mend_labels(image, labels, channel_axis=channel_axis, fill=fill, model=model,
                                classes=classes)
    wanted = class_ids(classes)
    labels = np.asarray(labels)
    view_dtype = np.float32 if np.asarray(image).dtype == np.float16 else None
    mended = np.array(image, dtype=view_dtype, copy=True)
    fillable = [CLASS_IDS[c] for c in FILLED_CLASSES if c != "watermark" and CLASS_IDS[c] in wanted]
    holes = np.isin(labels, fillable)
    if holes.any():
        mended = inpaint(mended, holes, channel_axis=channel_axis, method=fill, model=model,
                         progress=scaled(progress, 0, 3))
    marks = labels == CLASS_IDS["watermark"]
    if marks.any() and CLASS_IDS["watermark"] in wanted:
        mended = remove_watermark(mended, mask=marks, channel_axis=channel_axis, method="single",
                                  fill=fill, progress=scaled(progress, 1, 3))
    moire = labels == CLASS_IDS["moire"]
    if moire.any() and CLASS_IDS["moire"] in wanted:
        filtered = demoire(mended, channel_axis=channel_axis, progress=scaled(progress, 2, 3))
        where = moire if channel_axis is None else np.expand_dims(moire, channel_axis)
        mended = np.where(where, filtered, mended)
    if progress is not None:
        progress(3, 3)
    return mended

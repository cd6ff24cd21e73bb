"""Connected regions of a Labels array, and the report of what :func:`napari_mend.restore`
removed.

A plane of any size (NumPy, zarr or dask) is read ``rows`` rows at a time;
the regions of neighbouring strips that touch are joined, so the result is
the same as labelling the whole plane at once, in bounded memory.

:func:`regions_report` lists every removed region (class, bounding box,
size, detector score): a de-identification record of which burned-in
annotations were found and removed, which :func:`write_regions_report`
stores as JSON next to the mended file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from .arrays import materialize
from .classes import DEFECT_CLASSES, class_ids
from .io.atomic import atomic_path

REGION_ROWS = 1024
"""Rows of a plane read at a time."""

_EIGHT = np.ones((3, 3), int)


def plane_regions(plane, value: int, *, scores=None, rows: int = REGION_ROWS) -> list[dict]:
    """The 8-connected regions of the pixels of ``plane`` equal to ``value``.

    Parameters
    ----------
    plane : (M, N) array-like of int
        A Labels plane: NumPy, or a zarr or dask array (read ``rows`` rows at
        a time).
    value : int
        The label value.
    scores : (M, N) array-like of float, optional
        Scores of the pixels (read like ``plane``); each region then gets the
        sum and the highest score of its pixels.
    rows : int, optional
        Rows read at a time.

    Returns
    -------
    regions : list of dict
        In the raster order of each region's first pixel (the order of
        :func:`scipy.ndimage.label` on the whole plane): ``bbox`` (``[top,
        left, bottom, right]``, bottom and right exclusive), ``pixels`` and,
        with ``scores``, ``score_sum`` and ``max_score``.
    """
    height, width = plane.shape
    boxes, pixels, sums, maxima, parent = [], [], [], [], []

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    above = None  # ids of the regions in the previous strip's last row (-1: none)
    for top in range(0, height, rows):
        comp, n = ndi.label(materialize(plane[top:top + rows]) == value, structure=_EIGHT)
        base = len(parent)
        ids = np.where(comp > 0, comp - 1 + base, -1)
        if n:
            for box in ndi.find_objects(comp):
                boxes.append([box[0].start + top, box[1].start, box[0].stop + top, box[1].stop])
            pixels.extend(np.bincount(comp.ravel(), minlength=n + 1)[1:].tolist())
            if scores is not None:
                strip_scores = materialize(scores[top:top + rows]).astype(np.float64)
                index = np.arange(1, n + 1)
                sums.extend(np.atleast_1d(ndi.sum_labels(strip_scores, comp, index)).tolist())
                maxima.extend(np.atleast_1d(ndi.maximum(strip_scores, comp, index)).tolist())
            parent.extend(range(base, base + n))
            if above is not None:  # join the regions that touch across the strips' seam
                below = ids[0]
                for a, b in ((above, below), (above[1:], below[:-1]), (above[:-1], below[1:])):
                    for i, j in zip(*(x[(a >= 0) & (b >= 0)] for x in (a, b))):
                        ri, rj = root(int(i)), root(int(j))
                        if ri != rj:  # the smaller id, the earlier first pixel, stays the root
                            parent[max(ri, rj)] = min(ri, rj)
        above = ids[-1]
    merged: dict[int, dict] = {}
    for i in range(len(parent)):
        r = root(i)
        entry = merged.get(r)
        if entry is None:
            entry = merged[r] = {"bbox": list(boxes[i]), "pixels": pixels[i]}
            if scores is not None:
                entry.update(score_sum=sums[i], max_score=maxima[i])
            continue
        box = entry["bbox"]
        entry["bbox"] = [min(box[0], boxes[i][0]), min(box[1], boxes[i][1]),
                         max(box[2], boxes[i][2]), max(box[3], boxes[i][3])]
        entry["pixels"] += pixels[i]
        if scores is not None:
            entry["score_sum"] += sums[i]
            entry["max_score"] = max(entry["max_score"], maxima[i])
    return [merged[r] for r in sorted(merged)]


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
    path = Path(path)
    body = dict(report, provenance=provenance) if provenance is not None else report
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    return path

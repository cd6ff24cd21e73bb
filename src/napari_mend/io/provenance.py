"""Provenance records: what napari-mend changed in an image, how, and with what.

A provenance record is a plain JSON-serialisable ``dict`` stored beside every
output (in TIFF metadata, in bundles, in ``layer.metadata['provenance']``), so
a curator can prove which pixels were altered and reproduce the step.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import datetime, timezone

import numpy as np

from .._version import __version__
from ..arrays import materialize
from ..classes import DEFECT_CLASSES
from ..inpainting.learned import inference_settings
from ..models.device import default_device, inference_precision

OPERATIONS = ("detect", "inpaint", "mend_labels", "restore", "remove_watermark", "demoire")
"""Values accepted for ``operation``."""

_HASH_SLAB_BYTES = 64 * 2**20


def array_sha256(a) -> str:
    """SHA-256 of an array's values in C order and little-endian byte order.

    The digest depends only on the values and their dtype's item size, not on
    memory layout, byte order or chunking: a NumPy array, its Fortran-ordered
    copy and a dask or zarr array with the same values give the same digest.
    Large arrays are hashed in slabs along the leading axes, so memory stays
    bounded.

    Parameters
    ----------
    a : array-like
        Any array that supports ``shape``, ``dtype`` and basic slicing
        (NumPy, dask, zarr), or anything :func:`numpy.asarray` accepts.

    Returns
    -------
    digest : str
        Hexadecimal SHA-256 digest.
    """
    if not hasattr(a, "shape") or not hasattr(a, "dtype"):
        a = np.asarray(a)
    digest = hashlib.sha256()
    _hash_slabs(digest, a)
    return digest.hexdigest()


def _hash_slabs(digest, a) -> None:
    itemsize = np.dtype(a.dtype).itemsize
    if len(a.shape) == 0 or math.prod(a.shape) * itemsize <= _HASH_SLAB_BYTES:
        digest.update(_le_bytes(a))
        return
    row_bytes = math.prod(a.shape[1:]) * itemsize
    if row_bytes > _HASH_SLAB_BYTES:
        for i in range(a.shape[0]):
            _hash_slabs(digest, a[i])
        return
    rows = _HASH_SLAB_BYTES // row_bytes
    for start in range(0, a.shape[0], rows):
        digest.update(_le_bytes(a[start : start + rows]))


def _le_bytes(a) -> memoryview:
    a = materialize(a)
    a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
    return memoryview(a).cast("B")


def make_provenance(*, operation, method, parameters, image=None, mask=None, model=None) -> dict:
    """Describe one napari-mend step as a JSON-serialisable record.

    Parameters
    ----------
    operation : {'detect', 'inpaint', 'mend_labels', 'restore', 'remove_watermark', 'demoire'}
        The public function that made the output.
    method : str
        The method used (e.g. ``'biharmonic'``, ``'learned'``).
    parameters : mapping
        Options of the call. NumPy scalars and arrays are converted to plain
        numbers and lists; anything else must already be JSON-serialisable.
    image : array-like, optional
        The input image; its SHA-256 (see :func:`array_sha256`), shape and
        dtype are recorded.
    mask : array-like of bool or int, optional
        The pixels that changed (non-zero). Recorded as a summary: count,
        fraction of the mask's pixels, bounding box, SHA-256 of the packed
        bits, and for integer (Labels) masks the pixel count per label.
    model : mapping or str or object with a ``card`` attribute, or a list of them, optional
        The model(s) used: a model card (``name`` and ``sha256`` are
        recorded), a model name, or a loaded model
        (``models.registry.LoadedModel``); its inference settings (for an
        inpainter, the code's defaults with the card's overrides), the
        arithmetic its network ran in (``precision``, see
        :func:`napari_mend.models.device.inference_precision`) and an
        inpainter's calibrated ``auto`` rules, rim width and ``smooth_max``
        are recorded with it; a list records each (e.g. the detector and the
        inpainter of ``restore``).

    Returns
    -------
    record : dict
        Keys ``napari_mend_version``, ``created`` (UTC, ISO 8601),
        ``operation``, ``method``, ``parameters``, ``model``, ``input``,
        ``mask``; the last three are ``None`` when not given.

    Raises
    ------
    ValueError
        If ``operation`` is unknown.
    TypeError
        If ``parameters`` is not a mapping or holds values that cannot be
        stored as JSON.
    """
    if operation not in OPERATIONS:
        raise ValueError(
            f"unknown operation {operation!r}; choose from {', '.join(map(repr, OPERATIONS))}"
        )
    if not isinstance(parameters, Mapping):
        raise TypeError(f"parameters must be a mapping, got {type(parameters).__name__}")
    return {
        "napari_mend_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "operation": operation,
        "method": str(method),
        "parameters": _to_json_value(dict(parameters)),
        "model": _models_summary(model),
        "input": None if image is None else _array_summary(image),
        "mask": None if mask is None else mask_summary(mask),
    }


def _to_json_value(value):
    def default(obj):
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if isinstance(obj, (set, frozenset)):
            return sorted(obj)
        raise TypeError(
            f"provenance parameter of type {type(obj).__name__} cannot be stored as JSON"
        )

    return json.loads(json.dumps(value, default=default))


def _models_summary(model):
    if model is None:
        return None
    if isinstance(model, (list, tuple)):
        summaries = [_model_summary(m) for m in model if m is not None]
        return summaries or None
    return _model_summary(model)


def _model_summary(model) -> dict:
    if isinstance(model, str):
        return {"name": model, "sha256": None}
    card = getattr(model, "card", model)
    if not isinstance(card, Mapping) or "name" not in card:
        raise TypeError(
            "model must be a model card (a mapping with 'name'), a name or a loaded model"
        )
    summary = {"name": str(card["name"]), "sha256": card.get("sha256")}
    auto = card.get("auto")
    if isinstance(auto, Mapping):  # an inpainter's calibrated choice of fills, part of its output
        summary["auto"] = {k: _to_json_value(auto[k]) for k in ("rules", "rim_width", "smooth_max")
                           if k in auto}
    if card.get("kind") == "inpainter":  # the settings its fills ran with, defaults included
        summary["inference"] = _to_json_value(inference_settings(card))
    elif isinstance(card.get("inference"), Mapping):
        summary["inference"] = _to_json_value(dict(card["inference"]))
    if card.get("kind") in ("detector", "inpainter", "demoire"):  # the arithmetic it ran in
        device = getattr(model, "device", None)
        summary["precision"] = inference_precision(device if device is not None
                                                   else default_device(), card)
    return summary


def _array_summary(a) -> dict:
    return {
        "sha256": array_sha256(a),
        "shape": [int(n) for n in a.shape],
        "dtype": np.dtype(a.dtype).name,
    }


def mask_summary(mask) -> dict:
    """Summarise which pixels a mask marks (non-zero values).

    Parameters
    ----------
    mask : array-like of bool or int
        Boolean mask or Labels array; NumPy, or dask and zarr arrays, which
        are read in slabs along the first axis (bounded memory).

    Returns
    -------
    summary : dict
        ``shape``, ``changed_pixels``, ``fraction`` (of all mask pixels),
        ``bbox`` (``[start, stop]`` per axis, ``None`` when nothing is
        marked), ``sha256`` (of ``np.packbits(mask != 0)``) and, for integer
        masks, ``label_counts`` (class name, or the value as a string for
        values outside :data:`napari_mend.classes.DEFECT_CLASSES`, -> pixel count).
    """
    if not hasattr(mask, "shape") or not hasattr(mask, "dtype"):
        mask = np.asarray(mask)
    dtype = np.dtype(mask.dtype)
    if dtype != bool and not np.issubdtype(dtype, np.integer):
        raise TypeError(f"mask must be bool or integer, got dtype {dtype}")
    if len(mask.shape) == 0:
        mask = np.asarray(mask).reshape(1)
    shape = tuple(int(n) for n in mask.shape)
    count = 0
    hit_along = [np.zeros(n, bool) for n in shape]  # axis k: indices holding a marked pixel
    labels: dict[int, int] = {}
    digest = hashlib.sha256()
    carry = np.zeros(0, bool)  # bits not yet packed (packbits works in bytes of 8)
    rows = max(1, _HASH_SLAB_BYTES // max(1, math.prod(shape[1:]) * dtype.itemsize))
    for start in range(0, shape[0], rows):
        slab = materialize(mask[start:start + rows])
        changed = slab != 0
        count += int(np.count_nonzero(changed))
        for axis in range(len(shape)):
            hits = changed.any(axis=tuple(i for i in range(len(shape)) if i != axis))
            if axis == 0:
                hit_along[0][start:start + len(hits)] = hits
            else:
                hit_along[axis] |= hits
        bits = np.concatenate([carry, changed.ravel()])
        whole = len(bits) // 8 * 8
        digest.update(np.packbits(bits[:whole]).tobytes())
        carry = bits[whole:]
        if dtype != bool:
            for v, c in zip(*np.unique(slab[changed], return_counts=True), strict=True):
                labels[int(v)] = labels.get(int(v), 0) + int(c)
    digest.update(np.packbits(carry).tobytes())
    bbox = None
    if count:
        bbox = [[int(h[0]), int(h[-1]) + 1] for h in (np.flatnonzero(a) for a in hit_along)]
    summary = {
        "shape": list(shape),
        "changed_pixels": count,
        "fraction": count / math.prod(shape) if math.prod(shape) else 0.0,
        "bbox": bbox,
        "sha256": digest.hexdigest(),
    }
    if dtype != bool:
        summary["label_counts"] = {DEFECT_CLASSES.get(v, str(v)): c
                                   for v, c in sorted(labels.items())}
    return summary

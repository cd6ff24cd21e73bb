"""Lossless TIFF files for images and defect Labels, with provenance in their metadata.

napari-mend writes its metadata as JSON in the TIFF ImageDescription (tifffile's
"shaped" description, which also keeps the array shape of nD stacks), under the
key ``'napari_mend'``: the file kind (``'image'`` or ``'labels'``), the
channel axis, the class names of Labels, the provenance record and the SHA-256
of the stored values, checked on every read. Other TIFF readers see an
ordinary image (RGB as ``photometric='rgb'``, stacks as pages).

Lazy arrays (dask, zarr) are written as tiled TIFFs a band of tiles at a time,
so an image of any size is written in bounded memory.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import tifffile

from napari_mend.arrays import as_dask, is_lazy, materialize
from napari_mend.io.atomic import atomic_path
from napari_mend.io.provenance import array_sha256
from napari_mend.limits import check_image_size

TILE = 512
"""Side of the tiles of TIFFs written from lazy arrays."""
BAND = 2 * TILE
"""Rows of a lazy array computed at a time while writing it."""
TIFF_FORMAT = "napari-mend-tiff"
TIFF_FORMAT_VERSION = 1
_KEY = "napari_mend"


def write_image_tiff(path, data, *, provenance=None, channel_axis=None, overwrite=False) -> Path:
    """Write an image to a TIFF file, losslessly, with its provenance.

    Parameters
    ----------
    path : str or os.PathLike
        Output file.
    data : array-like, shape (M, N[, ..., P]) or (M, N[, ..., P], C)
        Image of integer or floating dtype; stored with its dtype and shape.
        A dask or zarr array is computed and written a band of tiles at a
        time.
    provenance : dict, optional
        JSON-serialisable record (see :func:`napari_mend.io.make_provenance`).
    channel_axis : int or None, optional
        Axis of ``data`` holding colour channels; ``None`` for grayscale.
        Three or four channels are stored as an RGB(A) TIFF.
    overwrite : bool, optional
        Replace an existing file.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is false.
    TypeError
        If the dtype is not integer or floating, or ``provenance`` is not JSON.
    ValueError
        If ``data`` has fewer than two spatial axes or ``channel_axis`` is out
        of range.
    """
    data = array_or_lazy(data)
    if data.dtype.kind not in "uif":
        raise TypeError(
            f"cannot store an image of dtype {data.dtype}; use an integer or float dtype"
        )
    return _write(
        path,
        data,
        kind="image",
        compression=None,
        provenance=provenance,
        channel_axis=channel_axis,
        overwrite=overwrite,
    )


def write_labels_tiff(path, labels, *, class_names, provenance=None, overwrite=False) -> Path:
    """Write a Labels array to a TIFF file, losslessly, with its class names.

    Parameters
    ----------
    path : str or os.PathLike
        Output file.
    labels : array-like of int, shape (M, N[, ..., P])
        Label values; 0 is background. Stored zlib-compressed. A dask or
        zarr array is computed and written a band of tiles at a time.
    class_names : dict of int to str
        Name of each label value (e.g. :data:`napari_mend.classes.DEFECT_CLASSES`).
    provenance : dict, optional
        JSON-serialisable record (see :func:`napari_mend.io.make_provenance`).
    overwrite : bool, optional
        Replace an existing file.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is false.
    TypeError
        If ``labels`` is not of integer dtype or ``class_names`` is not a
        mapping of int to str.
    ValueError
        If ``labels`` has fewer than two axes.
    """
    labels = array_or_lazy(labels)
    if labels.dtype.kind not in "ui":
        raise TypeError(f"labels must have an integer dtype, got {labels.dtype}")
    names = _class_names_to_json(class_names)
    return _write(
        path,
        labels,
        kind="labels",
        compression="zlib",
        provenance=provenance,
        channel_axis=None,
        overwrite=overwrite,
        class_names=names,
    )


def read_image_tiff(path) -> tuple[np.ndarray, dict | None]:
    """Read an image TIFF; the provenance is returned when napari-mend wrote it.

    Parameters
    ----------
    path : str or os.PathLike
        TIFF file, written by napari-mend or any other program.

    Returns
    -------
    data : numpy.ndarray
        The stored values with the shape, dtype and channel axis they were
        written with.
    provenance : dict or None
        The stored provenance record; ``None`` for files from other programs
        or written without one.

    Raises
    ------
    ValueError
        If the file is not a readable TIFF, is truncated or corrupt, or its
        values do not match the checksum napari-mend stored.
    """
    data, meta = _read(path)
    return data, (meta or {}).get("provenance")


def read_labels_tiff(path) -> tuple[np.ndarray, dict[int, str], dict | None]:
    """Read a Labels TIFF with its class names and provenance.

    Parameters
    ----------
    path : str or os.PathLike
        TIFF file of integer dtype.

    Returns
    -------
    labels : numpy.ndarray
        The stored label values, same shape and dtype as written.
    class_names : dict of int to str
        Label value -> class name; empty for files from other programs.
    provenance : dict or None
        The stored provenance record, if any.

    Raises
    ------
    ValueError
        If the file cannot be read (see :func:`read_image_tiff`), is a
        napari-mend image rather than Labels, or is not of integer dtype.
    """
    labels, meta = _read(path)
    if meta is not None and meta.get("kind") != "labels":
        raise ValueError(f"{path} is a napari-mend {meta.get('kind')} file, not Labels")
    if labels.dtype.kind not in "ui":
        raise ValueError(f"{path} cannot be Labels: its dtype is {labels.dtype}, not integer")
    meta = meta or {}
    names = {int(k): str(v) for k, v in (meta.get("class_names") or {}).items()}
    return labels, names, meta.get("provenance")


def read_tiff_metadata(path) -> dict | None:
    """Return napari-mend's metadata of a TIFF without reading its pixels.

    Parameters
    ----------
    path : str or os.PathLike
        TIFF file.

    Returns
    -------
    meta : dict or None
        Keys ``format``, ``version``, ``kind`` (``'image'`` or ``'labels'``),
        ``channel_axis``, ``sha256``, ``provenance`` and, for Labels,
        ``class_names`` (JSON form: string keys); ``None`` if another program
        wrote the file.

    Raises
    ------
    ValueError
        If the file is not a readable TIFF.
    """
    with _open_tiff(path) as tif:
        return _own_metadata(tif, path)


def array_or_lazy(data):
    """``data`` as a NumPy array, or as a dask array when it is lazy (dask, zarr)."""
    return as_dask(data) if is_lazy(data) else np.asarray(data)


def _tiles(stored, *, contig_channels: bool):
    """The ``TILE`` x ``TILE`` tiles of a lazy array in TIFF order, a band of rows at a time.

    ``stored`` is ``(..., M, N)``, or ``(..., M, N, C)`` with ``contig_channels``;
    every leading index is a page.
    """
    spatial = stored.ndim - (3 if contig_channels else 2)
    rows, cols = stored.shape[spatial:spatial + 2]
    for page in np.ndindex(*stored.shape[:spatial]):
        for top in range(0, rows, BAND):
            band = materialize(stored[page + (slice(top, top + BAND),)])
            for y in range(0, band.shape[0], TILE):
                for x in range(0, cols, TILE):
                    tile = band[y:y + TILE, x:x + TILE]
                    pad = [(0, TILE - tile.shape[0]), (0, TILE - tile.shape[1])]
                    yield np.pad(tile, pad + [(0, 0)] * (tile.ndim - 2))


def _open_tiff(path):
    try:
        return tifffile.TiffFile(path)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as err:  # the message may quote the file's first bytes: name its type only
        raise ValueError(f"cannot read {path}: not a valid TIFF file "
                         f"({type(err).__name__})") from None


def _write(path, data, *, kind, compression, provenance, channel_axis, overwrite, class_names=None):
    if data.ndim < 2 + (channel_axis is not None):
        raise ValueError(f"cannot store {data.ndim}D data: an image needs two spatial axes")
    if data.size == 0:
        raise ValueError(f"cannot store an empty array of shape {data.shape}")
    stored, photometric, stored_axis = data, "minisblack", None
    if channel_axis is not None:
        if not -data.ndim <= channel_axis < data.ndim:
            raise ValueError(f"channel_axis={channel_axis} is out of range for {data.ndim}D data")
        channel_axis = int(channel_axis) % data.ndim - data.ndim
        if data.shape[channel_axis] in (3, 4):
            photometric, stored_axis = "rgb", -1
        else:  # separate channel pages, in ImageJ's (..., C, Y, X) order
            stored_axis = -3
        stored = np.moveaxis(data, channel_axis, stored_axis)
    meta = {
        "format": TIFF_FORMAT,
        "version": TIFF_FORMAT_VERSION,
        "kind": kind,
        "channel_axis": channel_axis,
        "stored_channel_axis": stored_axis,
        "shape": [int(n) for n in data.shape],
        "dtype": data.dtype.name,
        "sha256": array_sha256(data),
        "provenance": provenance,
    }
    if class_names is not None:
        meta["class_names"] = class_names
    try:
        json.dumps(meta)
    except (TypeError, ValueError) as err:
        raise TypeError(f"provenance must be JSON-serialisable: {err}") from err
    options = {"photometric": photometric, "compression": compression, "metadata": {_KEY: meta}}
    with atomic_path(path, overwrite=overwrite) as tmp:
        if isinstance(stored, np.ndarray):
            tifffile.imwrite(tmp, stored, **options)
        else:
            tifffile.imwrite(tmp, _tiles(stored, contig_channels=photometric == "rgb"),
                             shape=stored.shape, dtype=stored.dtype, tile=(TILE, TILE),
                             bigtiff=stored.nbytes > 2**31, **options)
    return Path(path)


def _read(path):
    with _open_tiff(path) as tif:
        meta = _own_metadata(tif, path)
        warn_other_series(tif, path)
        _check_declared_size(tif, path)
        try:
            data = tif.asarray()
        except Exception as err:  # tifffile's messages may quote the file: name the type only
            raise ValueError(f"cannot read {path}: truncated or corrupt TIFF file "
                             f"({type(err).__name__})") from None
    if meta is None:
        return data, None
    if meta.get("stored_channel_axis") is not None:
        data = np.ascontiguousarray(
            np.moveaxis(data, meta["stored_channel_axis"], meta["channel_axis"])
        )
    if (
        list(data.shape) != meta.get("shape")
        or data.dtype.name != meta.get("dtype")
        or array_sha256(data) != meta.get("sha256")
    ):
        raise ValueError(
            f"cannot read {path}: its values do not match the shape, dtype and checksum "
            "napari-mend stored when writing it; the file is corrupt or was changed by "
            "another program"
        )
    return data, meta


def warn_other_series(tif, path) -> None:
    """Warn when a TIFF holds several images (series) of different shapes: napari-mend reads
    the first one only."""
    try:
        shapes = [tuple(s.shape) for s in tif.series]
    except Exception:  # noqa: BLE001 - a damaged file: the read that follows reports it
        return
    if len(set(shapes)) > 1:
        others = ", ".join("x".join(map(str, s)) for s in shapes[1:4])
        warnings.warn(f"{path} holds {len(shapes)} images of different sizes; napari-mend reads "
                      f"the first ({'x'.join(map(str, shapes[0]))}) and not the others ({others}"
                      f"{', ...' if len(shapes) > 4 else ''}); save each as a file of its own to "
                      "mend them", UserWarning, stacklevel=3)


def _check_declared_size(tif, path) -> None:
    """Refuse a TIFF whose first series is too large to read into memory (before reading it)."""
    try:
        series = tif.series[0]
        shape, axes, itemsize = tuple(int(n) for n in series.shape), series.axes, \
            series.dtype.itemsize
    except Exception as err:  # tifffile's messages may quote the file: name the type only
        raise ValueError(f"cannot read {path}: truncated or corrupt TIFF file "
                         f"({type(err).__name__})") from None
    if "Y" in axes and "X" in axes:
        plane = shape[axes.index("Y")] * shape[axes.index("X")]
    else:
        plane = math.prod(shape[-2:])
    check_image_size(plane_pixels=plane, nbytes=math.prod(shape) * itemsize, source=path)


_META_TYPES = {
    "version": (int,),
    "kind": (str,),
    "channel_axis": (int, type(None)),
    "stored_channel_axis": (int, type(None)),
    "shape": (list,),
    "dtype": (str,),
    "sha256": (str,),
    "class_names": (dict, type(None)),
}
"""Types of the entries of napari-mend's TIFF metadata that the readers use."""


def _own_metadata(tif, path) -> dict | None:
    try:
        shaped = tif.shaped_metadata
    except RecursionError:  # a description nested too deeply for the JSON parser
        raise ValueError(f"cannot read {path}: its ImageDescription is nested too deeply") from None
    meta = shaped[0].get(_KEY) if shaped and isinstance(shaped[0], dict) else None
    if not isinstance(meta, dict) or meta.get("format") != TIFF_FORMAT:
        return None
    for key, types in _META_TYPES.items():
        value = meta.get(key)
        if not isinstance(value, types) or isinstance(value, bool):
            raise ValueError(f"cannot read {path}: its napari-mend metadata has an invalid "
                             f"{key!r}; the file is corrupt or was changed by another program")
    axis, ndim = meta["channel_axis"], len(meta["shape"])
    if axis is not None and not -ndim <= axis < ndim:
        raise ValueError(f"cannot read {path}: its napari-mend metadata has an invalid "
                         "'channel_axis'; the file is corrupt or was changed by another program")
    if meta["version"] > TIFF_FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by a newer napari-mend (TIFF format version "
            f"{meta['version']}); upgrade napari-mend to read it"
        )
    return meta


def _class_names_to_json(class_names) -> dict[str, str]:
    try:
        items = class_names.items()
    except AttributeError:
        raise TypeError("class_names must be a dict of label value -> name") from None
    names = {}
    for value, name in items:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or not isinstance(name, str)
        ):
            raise TypeError(f"class_names must map int -> str, got {value!r}: {name!r}")
        names[str(int(value))] = name
    return names

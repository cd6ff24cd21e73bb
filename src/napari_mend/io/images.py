"""Reading image files: the one reader and the one list of image suffixes.

:func:`read_image` reads any image file into memory: TIFFs through
:mod:`napari_mend.io.tiff` (napari-mend's own with their kind, class names,
channel axis and provenance), other formats through scikit-image after their
header's size is checked (:func:`napari_mend.limits.check_image_file`).
:func:`open_image_lazily` and :func:`open_lazy` open TIFFs and zarr arrays as
dask arrays without reading their pixels, for images of any size. The
commands, the batch, the napari reader and fine-tuning all read through here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile
from skimage.io import imread

from napari_mend.arrays import as_dask
from napari_mend.blocks import DEFAULT_CHUNK
from napari_mend.io.tiff import (
    read_image_tiff,
    read_labels_tiff,
    read_tiff_metadata,
    warn_other_series,
)
from napari_mend.limits import LimitError, check_image_file

TIFF_SUFFIXES = (".tif", ".tiff")
"""Suffixes of TIFF files (read by :mod:`napari_mend.io.tiff`)."""
IMAGE_SUFFIXES = (*TIFF_SUFFIXES, ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
"""Suffixes of the image files taken from folders (a file named explicitly is always tried)."""
LAZY_SUFFIXES = (*TIFF_SUFFIXES, ".zarr")
"""Suffixes of the inputs that can be read block by block (:func:`open_lazy`)."""


class ImageFileError(ValueError):
    """An image file that is missing, unreadable, too large or empty; the message names it."""


@dataclass(frozen=True)
class ImageFile:
    """What :func:`read_image` read from one file."""

    data: np.ndarray
    """The values, with the shape and dtype stored."""
    channel_axis: int | None
    """The colour axis (see :func:`channel_axis_of`); ``None`` for gray."""
    provenance: dict | None = None
    """The provenance record napari-mend stored in the file, if any."""
    kind: str = "image"
    """``'labels'`` for a Labels TIFF napari-mend wrote, else ``'image'``."""
    class_names: dict = field(default_factory=dict)
    """Label value -> class name of a Labels TIFF (empty otherwise)."""


def channel_axis_of(shape: tuple, channel_axis="auto", stored=None):
    """The colour axis of an image of ``shape``.

    Parameters
    ----------
    shape : tuple of int
        The image's shape.
    channel_axis : str or int
        ``'auto'`` (a last axis of length 3 or 4 is colour), ``'none'``
        (gray), ``'stored'`` (the axis napari-mend recorded in the file,
        ``stored``) or an integer (also as text, as ``--channel-axis`` gives it).
    stored : int or None
        The axis recorded in the file.

    Returns
    -------
    axis : int or None
    """
    if channel_axis == "auto":
        return -1 if len(shape) >= 3 and shape[-1] in (3, 4) else None
    if channel_axis == "stored":
        return stored
    if channel_axis == "none":
        return None
    return int(channel_axis)


def read_image(path, channel_axis="auto") -> ImageFile:
    """Read an image file into memory.

    Parameters
    ----------
    path : str or os.PathLike
        A TIFF (napari-mend's own, or any other program's) or any file
        scikit-image reads (PNG, JPEG, BMP, ...).
    channel_axis : str or int, optional
        How the colour axis is found (see :func:`channel_axis_of`).

    Returns
    -------
    image : ImageFile

    Raises
    ------
    ImageFileError
        The file is missing, is not a readable image (corrupt, truncated),
        exceeds a size limit (:mod:`napari_mend.limits`) or holds no pixels.
    """
    path = Path(path)
    if not path.exists():
        raise ImageFileError(f"{path}: no such file")
    meta, provenance, class_names = {}, None, {}
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            meta = read_tiff_metadata(path) or {}
            if meta.get("kind") == "labels":
                data, class_names, provenance = read_labels_tiff(path)
            else:
                data, provenance = read_image_tiff(path)
        else:
            check_image_file(path)  # the header's size, before decoding
            data = imread(path)
    except LimitError as err:
        raise ImageFileError(str(err)) from None
    except Exception as err:  # corrupt, truncated or not an image
        raise ImageFileError(f"{path}: cannot read it as an image ({err}); is the file "
                             "complete?") from None
    data = np.asarray(data)
    if data.ndim < 2 or data.size == 0:
        raise ImageFileError(f"{path}: holds no image data (shape {data.shape}); is the file "
                             "complete?")
    axis = channel_axis_of(data.shape, channel_axis, meta.get("channel_axis"))
    return ImageFile(data, axis, provenance, meta.get("kind", "image"), class_names)


def open_image_lazily(path, channel_axis="auto"):
    """``(data, axis)``: a TIFF or zarr input as a dask array read block by block (see
    :func:`open_lazy`); other files are read into memory (:func:`read_image`) and wrapped.

    Raises
    ------
    ImageFileError
        As :func:`read_image`; or a TIFF or zarr array that cannot be opened.
    """
    path = Path(path)
    if path.suffix.lower() not in LAZY_SUFFIXES:
        image = read_image(path, channel_axis)
        return as_dask(image.data), image.channel_axis
    if not path.exists():
        raise ImageFileError(f"{path}: no such file")
    try:
        data = open_lazy(path)
    except Exception as err:  # corrupt, truncated, or a folder that is not a zarr array
        raise ImageFileError(f"{path}: cannot open it as an image ({err}); is it complete?") \
            from None
    if data.ndim < 2 or data.size == 0:
        raise ImageFileError(f"{path}: holds no image data (shape {data.shape})")
    return data, channel_axis_of(data.shape, channel_axis)


def open_lazy(path, *, chunk: int = DEFAULT_CHUNK):
    """Open an image file or zarr array on disk as a dask array, without reading its pixels.

    Parameters
    ----------
    path : str or os.PathLike
        A zarr array (folder), or a TIFF: uncompressed contiguous TIFFs are
        memory-mapped, tiled or striped ones are read tile by tile through
        tifffile's zarr interface (the first image of a pyramid).
    chunk : int, optional
        Chunk side along the image axes when the file imposes none.

    Returns
    -------
    data : dask.array.Array
    """
    import dask.array as da  # deferred: dask is imported only when an image is opened lazily

    path = Path(path)
    if path.suffix.lower() in TIFF_SUFFIXES:
        with tifffile.TiffFile(path) as tif:
            warn_other_series(tif, path)
        try:
            mapped = tifffile.memmap(path, mode="r")
        except ValueError:  # compressed, tiled or striped: not one contiguous block
            import zarr  # deferred: zarr (optional) only for TIFFs read tile by tile

            node = zarr.open(tifffile.imread(path, aszarr=True), mode="r")
            array = node if isinstance(node, zarr.Array) else node[sorted(node.array_keys())[0]]
            return da.from_array(_NamedReads(array, path), chunks=array.chunks,
                                 meta=np.empty((0,) * array.ndim, array.dtype))
        colour = mapped.ndim >= 3 and mapped.shape[-1] <= 4
        image_axes = (chunk, chunk, -1) if colour else (chunk, chunk)
        return da.from_array(mapped, chunks=(1,) * (mapped.ndim - len(image_axes)) + image_axes)
    return da.from_zarr(str(path))


class _NamedReads:
    """A TIFF's zarr view whose failed reads (a damaged or truncated tile) raise an OSError
    naming the file, instead of the codec's own error from deep inside a dask task."""

    def __init__(self, array, path: Path):
        self.array, self.path = array, path
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim

    def __getitem__(self, key):
        try:
            return self.array[key]
        except Exception as err:  # noqa: BLE001 - zlib, imagecodecs, struct... all mean damage
            raise OSError(f"{self.path}: part of the image cannot be decoded "
                          f"({type(err).__name__}: {err}); the file is damaged or "
                          "truncated") from None


def open_zarr(path):
    """A zarr array on disk, read-only (its pixels are read only when indexed)."""
    import zarr  # deferred: zarr is an optional dependency (the cluster extra)

    return zarr.open_array(str(path), mode="r")

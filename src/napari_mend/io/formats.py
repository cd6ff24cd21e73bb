"""Output file formats chosen by suffix, checked before any work, written atomically.

The commands write what the output's suffix names: ``.tif``/``.tiff``
(lossless, any dtype, shape and size, with napari-mend's metadata; see
:mod:`napari_mend.io.tiff`), ``.png`` (lossless; one plane of 8-bit gray,
gray with alpha, RGB or RGBA, or 16-bit gray) and ``.jpg``/``.jpeg`` (one
plane of 8-bit gray or RGB; lossy, so pixels outside the mended ones are not
kept bit-identical). PNG and JPEG files carry the provenance record as JSON
(a PNG ``iTXt`` chunk or the JPEG comment, keyword :data:`PROVENANCE_KEY`).
:func:`check_storable` refuses what a suffix cannot hold, with a message
that says which suffix can, before anything is computed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from napari_mend.io.atomic import atomic_path
from napari_mend.io.tiff import write_image_tiff, write_labels_tiff

IMAGE_FORMATS = {".tif": "tiff", ".tiff": "tiff", ".png": "png", ".jpg": "jpeg",
                 ".jpeg": "jpeg"}
"""Suffix -> format of an image written by :func:`write_image`."""
LABELS_FORMATS = {".tif": "tiff", ".tiff": "tiff", ".png": "png"}
"""Suffix -> format of Labels written by :func:`write_labels` (lossless only)."""
LOSSY_FORMATS = frozenset({"jpeg"})
PROVENANCE_KEY = "napari-mend"


class FormatError(ValueError):
    """An output suffix that is unknown, or that cannot hold this image."""


def output_format(path, formats=IMAGE_FORMATS, *, what="image", extra=()) -> str:
    """The format named by ``path``'s suffix in ``formats``, or ``extra`` suffixes as such.

    Raises
    ------
    FormatError
        The suffix is none of them; the message lists those it could be.
    """
    suffix = Path(path).suffix.lower()
    if suffix in formats:
        return formats[suffix]
    if suffix in extra:
        return suffix
    known = ", ".join(sorted({*formats, *extra}))
    raise FormatError(f"{path}: cannot write the {what} as '{suffix or 'no suffix'}'; "
                      f"give an output name ending in {known}")


def check_storable(fmt: str, dtype, shape, channel_axis, *, lazy=False, path="output") -> None:
    """Raise :class:`FormatError` if ``fmt`` cannot hold an image of this dtype and shape.

    Parameters
    ----------
    fmt : str
        From :func:`output_format`.
    dtype, shape : numpy dtype and tuple
        Of the image to be written.
    channel_axis : int or None
        Its colour axis.
    lazy : bool
        The image is computed block by block (PNG and JPEG need it whole).
    path : str
        The output's name, for the message.
    """
    if fmt not in ("png", "jpeg"):
        return
    name = "PNG" if fmt == "png" else "JPEG"
    dtype = np.dtype(dtype)
    plane_ndim = len(shape) - (channel_axis is not None)
    channels = 1 if channel_axis is None else shape[channel_axis]
    allowed = {"png": {np.dtype(np.uint8): (1, 2, 3, 4), np.dtype(np.uint16): (1,)},
               "jpeg": {np.dtype(np.uint8): (1, 3)}}[fmt]
    if lazy:
        problem = "is restored block by block and a " + name + " must be written whole"
    elif plane_ndim != 2:
        problem = f"has {plane_ndim} spatial axes and a {name} holds one plane"
    elif dtype not in allowed:
        problem = f"is {dtype} and a {name} holds " + " or ".join(
            f"{d}" for d in allowed) + " values"
    elif channels not in allowed[dtype]:
        problem = f"has {channels} channels of {dtype}, which a {name} cannot hold"
    else:
        return
    raise FormatError(f"{path}: the image {problem}; write it as .tif (lossless, any image)"
                      + ("" if lazy else " or convert it first"))


def write_image(path, data, *, provenance=None, channel_axis=None, overwrite=False) -> Path:
    """Write an image in the format its suffix names (see the module docstring).

    Returns
    -------
    path : Path
        The file written.
    """
    fmt = output_format(path)
    if fmt == "tiff":
        return write_image_tiff(path, data, provenance=provenance, channel_axis=channel_axis,
                                overwrite=overwrite)
    data = np.asarray(data)
    check_storable(fmt, data.dtype, data.shape, channel_axis, path=path)
    if channel_axis is not None:
        data = np.moveaxis(data, channel_axis, -1)
    return _write_pillow(path, data, fmt, provenance, overwrite)


def write_labels(path, labels, *, class_names, provenance=None, overwrite=False) -> Path:
    """Write Labels as a TIFF (with class names) or an 8-bit PNG (values up to 255)."""
    fmt = output_format(path, LABELS_FORMATS, what="Labels")
    if fmt == "tiff":
        return write_labels_tiff(path, labels, class_names=class_names, provenance=provenance,
                                 overwrite=overwrite)
    labels = np.asarray(labels)
    if labels.ndim != 2 or (labels.size and (labels.min() < 0 or labels.max() > 255)):
        raise FormatError(f"{path}: a PNG holds one plane of Labels 0..255; write .tif")
    record = {"class_names": {str(k): v for k, v in class_names.items()},
              "provenance": provenance}
    return _write_pillow(path, labels.astype(np.uint8), "png", record, overwrite)


def _write_pillow(path, data, fmt, record, overwrite) -> Path:
    if data.ndim == 3 and data.shape[-1] == 1:
        data = data[..., 0]
    image = Image.fromarray(np.ascontiguousarray(data))
    text = json.dumps(record) if record is not None else None
    with atomic_path(path, overwrite=overwrite) as tmp:
        if fmt == "png":
            info = PngImagePlugin.PngInfo()
            if text is not None:
                info.add_itxt(PROVENANCE_KEY, text, zip=True)
            image.save(tmp, format="PNG", pnginfo=info)
        else:
            options = {"comment": f"{PROVENANCE_KEY}:{text}"} if text is not None else {}
            image.save(tmp, format="JPEG", quality=95, **options)
    return Path(path)

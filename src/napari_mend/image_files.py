"""Image files for the commands: reading inputs, checking outputs, restoring a file.

Shared by ``napari-mend`` (:mod:`napari_mend.cli`) and ``napari-mend batch``
(:mod:`napari_mend.scale.batch`). :func:`restore_file` restores one image
and writes a bundle (``NAME.mend``), a zarr array (``NAME.zarr``, Labels in
``NAME.labels.zarr``) or an image TIFF. Zarr inputs, zarr outputs and TIFFs of
more than :data:`IN_BLOCKS_ABOVE` pixels go block by block
(:func:`napari_mend.scale.lazy.restore_to_zarr`) in bounded memory; other
images are restored in memory.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .io.atomic import remove_stale
from .limits import LimitError

IN_BLOCKS_ABOVE = 8192 * 8192
"""TIFF inputs with more pixels than this (per channel) are restored block by block."""
LAZY_SUFFIXES = (".tif", ".tiff", ".zarr")
"""Inputs that can be read block by block."""


class CLIError(Exception):
    """A problem the user can fix; printed without a traceback, exit code 2."""


def read_image(path: Path, channel_axis: str):
    """Read an image file; return ``(data, channel_axis, provenance_or_None)``.

    ``channel_axis`` is ``'auto'`` (last axis of length 3 or 4 is colour),
    ``'none'`` or an integer as text.
    """
    if not path.exists():
        raise CLIError(f"{path}: no such file")
    provenance = None
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            from .io.tiff import read_image_tiff

            data, provenance = read_image_tiff(path)
        else:
            from skimage.io import imread

            from .limits import check_image_file

            check_image_file(path)  # the header's size, before decoding
            data = imread(path)
    except LimitError as err:
        raise CLIError(str(err)) from None
    except Exception as err:  # corrupt, truncated or not an image
        raise CLIError(f"{path}: cannot read it as an image ({err}); is the file complete?") from None
    data = np.asarray(data)
    if data.ndim < 2 or data.size == 0:
        raise CLIError(f"{path}: holds no image data (shape {data.shape}); is the file complete?")
    return data, channel_axis_of(data.shape, channel_axis), provenance


def channel_axis_of(shape: tuple, channel_axis: str):
    """The colour axis from ``--channel-axis`` (``'auto'``: a last axis of length 3 or 4)."""
    if channel_axis == "auto":
        return -1 if len(shape) >= 3 and shape[-1] in (3, 4) else None
    if channel_axis == "none":
        return None
    return int(channel_axis)


def open_lazily(path: Path, channel_axis: str):
    """``(data, axis, source)``: a TIFF or zarr input as a dask array read block by block;
    other files are read into memory and wrapped."""
    from .scale.lazy import as_dask, open_lazy

    if path.suffix.lower() not in LAZY_SUFFIXES:
        data, axis, _ = read_image(path, channel_axis)
        return as_dask(data), axis, str(path)
    if not path.exists():
        raise CLIError(f"{path}: no such file")
    try:
        data = open_lazy(path)
    except Exception as err:  # corrupt, truncated, or a folder that is not a zarr array
        raise CLIError(f"{path}: cannot open it as an image ({err}); is it complete?") from None
    if data.ndim < 2 or data.size == 0:
        raise CLIError(f"{path}: holds no image data (shape {data.shape})")
    return data, channel_axis_of(data.shape, channel_axis), str(path)


def open_for_restore(path: Path, channel_axis: str):
    """``(data, axis, source, in_blocks)``: zarr arrays, and TIFFs of more than
    :data:`IN_BLOCKS_ABOVE` pixels, are opened lazily to be restored block by block;
    other images are read into memory."""
    suffix = path.suffix.lower()
    if suffix == ".zarr":
        return (*open_lazily(path, channel_axis), True)
    if suffix in (".tif", ".tiff") and path.exists():
        try:
            data, axis, source = open_lazily(path, channel_axis)
        except CLIError:  # unreadable: reading it into memory reports why
            data = None
        if data is not None and data.size // (data.shape[axis] if axis is not None else 1) \
                > IN_BLOCKS_ABOVE:
            return data, axis, source, True
    data, axis, _ = read_image(path, channel_axis)
    return data, axis, str(path), False


def file_ids(paths) -> set:
    """``(device, inode)`` of those of ``paths`` that exist: which files an output must not be."""
    ids = set()
    for p in paths:
        if p and os.path.exists(p):
            st = os.stat(p)
            ids.add((st.st_dev, st.st_ino))
    return ids


def check_output(path, overwrite: bool, *, inputs=()) -> Path:
    """The output path, checked before any work.

    It must not be one of the ``inputs`` (paths) nor a folder holding one;
    it must not exist unless ``overwrite``, and a folder is replaced only if
    napari-mend wrote it (a ``.mend`` bundle or a ``.zarr`` output). Missing
    folders above it are created, and the folder must be writable. Temporaries
    that an earlier run writing ``path`` left when it was killed are removed
    (:func:`napari_mend.io.atomic.remove_stale`).
    """
    out = Path(path)
    inputs = [Path(p) for p in inputs if p]
    if file_ids([out]) & file_ids(inputs):
        raise CLIError(f"{out} is an input of this command; write the result elsewhere "
                       "(inputs are never replaced)")
    target = out.resolve()
    for source in inputs:
        if target in source.resolve().parents:
            raise CLIError(f"{out} holds the input {source}; write the result elsewhere "
                           "(inputs are never replaced)")
    if out.exists() or out.is_symlink():
        if not overwrite:
            raise CLIError(f"{out} exists; pass --overwrite to replace it")
        if out.is_dir() and not is_own_output_folder(out):
            raise CLIError(f"{out} is a folder that napari-mend did not write; it is not "
                           "replaced: choose another output name, or remove it yourself")
    make_folder(out.parent)
    remove_stale(out.parent, out.name)  # temporaries of an earlier run killed with SIGKILL
    return out


def make_folder(folder: Path) -> Path:
    """Create ``folder`` (and its parents) if missing; raise :class:`CLIError` unless it is a
    writable folder."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise CLIError(f"{folder} is a file, not a folder; choose another output folder") \
            from None
    except OSError as err:
        raise CLIError(f"cannot create the output folder {folder} ({err.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CLIError(f"cannot write in {folder} (permission denied); choose another output "
                       "folder")
    return folder


def is_own_output_folder(path: Path) -> bool:
    """Whether the folder ``path`` is an output napari-mend writes: a bundle, or a zarr array
    whose attributes hold napari-mend's provenance."""
    from .io.bundle import is_bundle

    if is_bundle(path):
        return True
    try:
        return "provenance" in _open_zarr(path).attrs
    except Exception:  # noqa: BLE001 - not a zarr array at all
        return False


def zarr_labels_path(out: Path) -> Path:
    """Where :func:`restore_file` writes the Labels of a zarr output ``NAME.zarr``."""
    return out.with_name(f"{out.stem}.labels.zarr")


@contextmanager
def restored_in_blocks(out: Path, data, axis, **options):
    """Restore ``data`` block by block into a hidden work folder beside ``out``.

    Yields the mended image and the Labels as zarr arrays
    (:func:`napari_mend.scale.lazy.restore_to_zarr`; ``options`` are its
    keyword options), each with the run's provenance in its ``provenance``
    attribute; the work folder is removed on the way out, also after an
    error or an interruption.
    """
    from .io.atomic import temporary_name
    from .scale.lazy import restore_to_zarr

    work = temporary_name(out)
    work.mkdir()
    try:
        yield tuple(_open_zarr(p) for p in restore_to_zarr(
            data, work / "mended.zarr", work / "labels.zarr", channel_axis=axis, **options))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def restore_file(out: Path, data, axis, source: str, *, in_blocks: bool, detector="learned",
                 fill="auto", threshold=None, classes=None, complete_text=True,
                 overwrite=False, progress=None, num_workers=None) -> dict:
    """Detect and mend ``data`` and write the result to ``out``.

    ``out`` ending in ``.mend`` gets a bundle (original, defects, mended,
    provenance), ``.zarr`` the mended image as a zarr array and the Labels in
    :func:`zarr_labels_path`, anything else the mended image in the format its suffix
    names (:mod:`napari_mend.io.formats`).
    With ``in_blocks`` (and always for zarr outputs) the image is restored
    block by block through zarr arrays (in a hidden temporary folder beside
    ``out`` unless ``out`` is a zarr array) and TIFFs are written a band of
    tiles at a time; otherwise in memory. ``num_workers``: dask threads of a
    block-by-block run (default one per core).

    Returns
    -------
    provenance : dict
        The run's provenance record (its ``mask.label_counts``: the pixels
        found per class).
    """
    from .scale.lazy import restore_to_zarr

    options = {"detector": detector, "fill": fill, "threshold": threshold, "classes": classes,
               "complete_text": complete_text}
    in_blocks_options = {"source": source, "progress": progress, "num_workers": num_workers,
                         **options}
    if out.suffix == ".zarr":
        _, labels_path = restore_to_zarr(data, out, zarr_labels_path(out),
                                         channel_axis=axis, overwrite=overwrite,
                                         **in_blocks_options)
        return _open_zarr(labels_path).attrs["provenance"]
    if in_blocks:
        with restored_in_blocks(out, data, axis, **in_blocks_options) as (mended, labels):
            provenance = labels.attrs["provenance"]
            _write(out, data, labels, mended, provenance, axis, overwrite)
            return provenance
    from .restore import restore, restore_provenance

    mended, labels = restore(data, channel_axis=axis, progress=progress, **options)
    provenance = restore_provenance(data, labels, source=source, channel_axis=axis, **options)
    _write(out, data, labels, mended, provenance, axis, overwrite)
    return provenance


def _write(out: Path, original, labels, mended, provenance, axis, overwrite) -> None:
    from .classes import DEFECT_CLASSES

    if out.suffix == ".mend":
        from .io.bundle import write_bundle

        write_bundle(out, original=original, labels=labels, mended=mended,
                     provenance=provenance, class_names=DEFECT_CLASSES, channel_axis=axis,
                     overwrite=overwrite)
    else:
        from .io.formats import write_image

        write_image(out, mended, provenance=provenance, channel_axis=axis, overwrite=overwrite)


def _open_zarr(path):
    import zarr

    return zarr.open_array(str(path), mode="r")

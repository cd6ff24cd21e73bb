"""Restoring one image file into one output: the batch's unit of work, and ``napari-mend restore``.

:func:`restore_file` restores one image and writes a bundle (``NAME.mend``),
a zarr array (``NAME.zarr``, Labels in ``NAME.labels.zarr``) or an image in
the format its suffix names. Zarr inputs, zarr outputs and TIFFs of more than
:data:`IN_BLOCKS_ABOVE` pixels go block by block
(:func:`napari_mend.restore.restore_to_zarr`) in bounded memory; other
images are restored in memory. :func:`mend_file` is what a batch worker runs
for each input file.
"""

from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from ..classes import DEFECT_CLASSES
from ..io.atomic import temporary_name
from ..io.bundle import write_bundle
from ..io.formats import write_image
from ..io.images import (
    TIFF_SUFFIXES,
    ImageFileError,
    open_image_lazily,
    open_zarr,
    read_image,
)
from ..restore import restore, restore_to_zarr
from ..threads import configure_threads

IN_BLOCKS_ABOVE = 8192 * 8192
"""TIFF inputs with more pixels than this (per channel) are restored block by block."""


def open_for_restore(path: Path, channel_axis: str):
    """``(data, axis, source, in_blocks)``: zarr arrays, and TIFFs of more than
    :data:`IN_BLOCKS_ABOVE` pixels, are opened lazily to be restored block by block;
    other images are read into memory.

    Raises
    ------
    napari_mend.io.images.ImageFileError
        The file is missing or cannot be read as an image.
    """
    suffix = path.suffix.lower()
    if suffix == ".zarr":
        return (*open_image_lazily(path, channel_axis), str(path), True)
    if suffix in TIFF_SUFFIXES and path.exists():
        try:
            data, axis = open_image_lazily(path, channel_axis)
        except ImageFileError:  # unreadable: reading it into memory reports why
            data = None
        if data is not None and data.size // (data.shape[axis] if axis is not None else 1) \
                > IN_BLOCKS_ABOVE:
            return data, axis, str(path), True
    image = read_image(path, channel_axis)
    return image.data, image.channel_axis, str(path), False


def zarr_labels_path(out: Path) -> Path:
    """Where :func:`restore_file` writes the Labels of a zarr output ``NAME.zarr``."""
    return out.with_name(f"{out.stem}.labels.zarr")


@contextmanager
def restored_in_blocks(out: Path, data, axis, **options):
    """Restore ``data`` block by block into a hidden work folder beside ``out``.

    Yields the mended image and the Labels as zarr arrays
    (:func:`napari_mend.restore.restore_to_zarr`; ``options`` are its
    keyword options), each with the run's provenance in its ``provenance``
    attribute; the work folder is removed on the way out, also after an
    error or an interruption.
    """
    work = temporary_name(out)
    work.mkdir()
    try:
        yield tuple(open_zarr(p) for p in restore_to_zarr(
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
    options = {"detector": detector, "fill": fill, "threshold": threshold, "classes": classes,
               "complete_text": complete_text}
    in_blocks_options = {"source": source, "progress": progress, "num_workers": num_workers,
                         **options}
    if out.suffix == ".zarr":
        _, labels_path = restore_to_zarr(data, out, zarr_labels_path(out),
                                         channel_axis=axis, overwrite=overwrite,
                                         **in_blocks_options)
        return open_zarr(labels_path).attrs["provenance"]
    if in_blocks:
        with restored_in_blocks(out, data, axis, **in_blocks_options) as (mended, labels):
            provenance = labels.attrs["provenance"]
            _write(out, data, labels, mended, provenance, axis, overwrite)
            return provenance
    mended, labels, provenance = restore(data, channel_axis=axis, progress=progress,
                                         return_provenance=True, source=source, **options)
    _write(out, data, labels, mended, provenance, axis, overwrite)
    return provenance


def _write(out: Path, original, labels, mended, provenance, axis, overwrite) -> None:
    if out.suffix == ".mend":
        write_bundle(out, original=original, labels=labels, mended=mended,
                     provenance=provenance, class_names=DEFECT_CLASSES, channel_axis=axis,
                     overwrite=overwrite)
    else:
        write_image(out, mended, provenance=provenance, channel_axis=axis, overwrite=overwrite)


def mend_file(source: str, output: str, options: dict) -> dict:
    """Detect and mend one image file into a bundle; never raises.

    Runs on a worker. ``options`` holds ``detector``, ``fill``,
    ``threshold``, ``classes`` and ``channel_axis`` (``'auto'``, ``'none'``
    or an integer as text).

    Returns
    -------
    entry : dict
        The file's manifest entry: ``input``, ``output`` (bundle name),
        ``status`` (``'done'`` or ``'failed'``), ``error``, ``seconds``,
        ``provenance``.
    """
    configure_threads(options.get("threads") or _worker_threads())
    start = time.perf_counter()
    entry = {"input": source, "output": Path(output).name, "status": "failed", "error": None,
             "seconds": None, "provenance": None}
    try:
        data, axis, source_name, in_blocks = open_for_restore(Path(source),
                                                              options["channel_axis"])
        provenance = restore_file(  # one dask thread: the worker's threads go to each kernel
            Path(output), data, axis, source_name, in_blocks=in_blocks, num_workers=1,
            **{key: options[key] for key in ("detector", "fill", "threshold", "classes")})
        entry.update(status="done", provenance=provenance)
    except ImageFileError as err:
        entry["error"] = str(err)
    except Exception as err:  # noqa: BLE001 - any failure of one file is logged, the rest go on
        entry["error"] = f"{source}: {type(err).__name__}: {err}"
    entry["seconds"] = round(time.perf_counter() - start, 3)
    return entry


def _worker_threads() -> int | None:
    """The threads of the dask worker this runs on (``dask worker --nthreads``), if any."""
    try:
        from distributed import get_worker  # deferred: distributed is optional (cluster extra)

        return get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):  # not on a distributed worker
        return None

"""Files of the commands: reading the input, checking outputs before any work.

Inputs are read through :mod:`napari_mend.io.images` (its
:class:`~napari_mend.io.images.ImageFileError` is reported like a
:class:`CLIError`). An output is checked by :func:`check_output` (never an
input, never replaced without ``--overwrite``, its folder writable) and by
:func:`image_output` and :func:`check_image_fits` (its suffix names a format
that can hold the image) before anything is computed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .._sample_data import sample_image
from ..arrays import as_dask
from ..batch.one_file import open_for_restore
from ..io.atomic import remove_stale
from ..io.bundle import is_bundle
from ..io.formats import (
    IMAGE_FORMATS,
    LOSSY_FORMATS,
    FormatError,
    check_storable,
    output_format,
)
from ..io.images import open_image_lazily, open_zarr, read_image


class CLIError(Exception):
    """A problem the user can fix; printed without a traceback, exit code 2."""


def read_input(args):
    """``(data, axis, source)``: the ``--sample`` image, or the INPUT file read into memory."""
    if getattr(args, "sample", None):
        data, _, axis = sample_image(args.sample)
        return data, axis, f"sample:{args.sample}"
    if not args.input:
        raise CLIError("give an input image file (or --sample NAME)")
    image = read_image(Path(args.input), args.channel_axis)
    return image.data, image.channel_axis, str(args.input)


def input_for_restore(args):
    """``(data, axis, source, in_blocks)``: a large TIFF or a zarr array is opened lazily, to
    be restored block by block (:func:`~napari_mend.batch.one_file.open_for_restore`); a
    sample or a smaller image is read into memory."""
    if args.input and not args.sample:
        return open_for_restore(Path(args.input), args.channel_axis)
    return (*read_input(args), False)


def lazy_input(args):
    """``(data, axis, source)``: the input as a dask array; TIFF files and zarr arrays are read
    block by block."""
    if args.input and not args.sample:
        return (*open_image_lazily(Path(args.input), args.channel_axis), str(args.input))
    data, axis, source = read_input(args)
    return as_dask(data), axis, source


def image_output(args, *, formats=IMAGE_FORMATS, what="image", extra=()) -> str:
    """The format of ``args.output`` from its suffix, refused before any work if unknown;
    a note on stderr when it is lossy."""
    try:
        fmt = output_format(args.output, formats, what=what, extra=extra)
    except FormatError as err:
        raise CLIError(str(err)) from None
    if fmt in LOSSY_FORMATS:
        print(f"napari-mend: note: {args.output} is lossy (JPEG): pixels outside the mended ones "
              "are not kept bit-identical; write .png or .tif to keep them", file=sys.stderr)
    return fmt


def check_image_fits(fmt, data, axis, args, *, lazy=False) -> None:
    """Refuse, before any work, an output format that cannot hold ``data``."""
    try:
        check_storable(fmt, data.dtype, data.shape, axis, lazy=lazy, path=args.output)
    except FormatError as err:
        raise CLIError(str(err)) from None


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
    if is_bundle(path):
        return True
    try:
        return "provenance" in open_zarr(path).attrs
    except Exception:  # noqa: BLE001 - not a zarr array at all
        return False

"""Bundles: one folder with an original image, its defect Labels, the mended image, provenance.

Layout of ``NAME.mend/``::

    bundle.json       format name and version, class names, channel axis, files
    original.tif      the input image (see :mod:`napari_mend.io.tiff`)
    defects.tif       the defect Labels, with class names
    mended.tif        the mended image, with provenance (absent before mending)
    provenance.json   the provenance record of the last step

Every file is lossless; a bundle is written into a temporary folder beside its
final name and renamed into place, so it exists complete or not at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from napari_mend.classes import DEFECT_CLASSES
from napari_mend.io.atomic import atomic_path
from napari_mend.io.confine import confined
from napari_mend.io.tiff import (
    array_or_lazy,
    read_image_tiff,
    read_labels_tiff,
    write_image_tiff,
    write_labels_tiff,
)
from napari_mend.limits import read_json

BUNDLE_SUFFIX = ".mend"
BUNDLE_FORMAT = "napari-mend-bundle"
BUNDLE_FORMAT_VERSION = 1
_FILES = {
    "original": "original.tif",
    "labels": "defects.tif",
    "mended": "mended.tif",
    "provenance": "provenance.json",
}


@dataclass(frozen=True)
class Bundle:
    """The contents of a bundle folder."""

    path: Path
    original: np.ndarray
    labels: np.ndarray
    mended: np.ndarray | None
    provenance: dict | None
    class_names: dict[int, str]
    channel_axis: int | None


def write_bundle(
    path,
    *,
    original,
    labels,
    mended,
    provenance,
    class_names=None,
    channel_axis=None,
    overwrite=False,
) -> Path:
    """Write a bundle folder ``NAME.mend``.

    Parameters
    ----------
    path : str or os.PathLike
        Bundle folder; its name must end with ``.mend``.
    original : array-like, shape (M, N[, ..., P][, C])
        The input image.
    labels : array-like of int, shape (M, N[, ..., P])
        Defect Labels: ``original``'s shape without the channel axis.
    mended : array-like or None
        The mended image, same shape and dtype as ``original``; ``None`` for
        a bundle saved before mending.
    provenance : dict or None
        Provenance record of the last step (see
        :func:`napari_mend.io.make_provenance`).
    class_names : dict of int to str, optional
        Label value -> class name; defaults to
        :data:`napari_mend.classes.DEFECT_CLASSES`.
    channel_axis : int or None, optional
        Colour channel axis of ``original`` and ``mended``.
    overwrite : bool, optional
        Replace an existing bundle (never a folder that is not a bundle).

    Returns
    -------
    path : pathlib.Path
        The bundle folder written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is false.
    ValueError
        If the name does not end with ``.mend``, the shapes or dtypes do
        not match, or ``path`` exists and is not a bundle.
    """
    path = Path(path)
    if path.suffix != BUNDLE_SUFFIX:
        raise ValueError(f"a bundle's name must end with {BUNDLE_SUFFIX!r}, got {path.name!r}")
    if overwrite and path.exists() and not is_bundle(path):
        raise ValueError(f"refusing to replace {path}: it is not a napari-mend bundle")
    original = array_or_lazy(original)
    labels = array_or_lazy(labels)
    mended = None if mended is None else array_or_lazy(mended)
    _check_shapes(original, labels, mended, channel_axis)
    if channel_axis is not None:
        channel_axis = int(channel_axis) % original.ndim - original.ndim
    class_names = dict(DEFECT_CLASSES if class_names is None else class_names)
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.mkdir()
        write_image_tiff(tmp / _FILES["original"], original, channel_axis=channel_axis)
        write_labels_tiff(
            tmp / _FILES["labels"], labels, class_names=class_names, provenance=provenance
        )
        if mended is not None:
            write_image_tiff(
                tmp / _FILES["mended"], mended, provenance=provenance, channel_axis=channel_axis
            )
        (tmp / _FILES["provenance"]).write_text(json.dumps(provenance, indent=2))
        files = dict(_FILES, mended=None if mended is None else _FILES["mended"])
        manifest = {
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_FORMAT_VERSION,
            "class_names": {str(k): v for k, v in class_names.items()},
            "channel_axis": channel_axis,
            "files": files,
        }
        (tmp / "bundle.json").write_text(json.dumps(manifest, indent=2))
    return path


def _check_shapes(original, labels, mended, channel_axis) -> None:
    spatial = original.shape
    if channel_axis is not None:
        if not -original.ndim <= channel_axis < original.ndim:
            raise ValueError(
                f"channel_axis={channel_axis} is out of range for {original.ndim}D data"
            )
        spatial = tuple(
            n for i, n in enumerate(original.shape) if i != channel_axis % original.ndim
        )
    if labels.shape != spatial:
        raise ValueError(
            f"labels shape {labels.shape} does not match the image's spatial shape {spatial}"
        )
    if mended is not None and (mended.shape != original.shape or mended.dtype != original.dtype):
        raise ValueError(
            f"mended image ({mended.shape}, {mended.dtype}) does not match the original "
            f"({original.shape}, {original.dtype})"
        )


def read_bundle(path) -> Bundle:
    """Read a bundle folder.

    Every file name in ``bundle.json`` must stay inside the bundle folder
    (see :func:`napari_mend.io.confine.confined`); images are checked against
    :mod:`napari_mend.limits` before they are read.

    Parameters
    ----------
    path : str or os.PathLike
        The ``NAME.mend`` folder or its ``bundle.json``.

    Returns
    -------
    bundle : Bundle

    Raises
    ------
    ValueError
        If ``path`` is not a bundle, was written by a newer napari-mend, its
        ``bundle.json`` is malformed or names a file outside the bundle, one
        of its files is missing, truncated or corrupt, or its layers do not
        match in shape.
    """
    root = _bundle_root(path)
    manifest = _read_manifest(root)
    if manifest is None:
        raise ValueError(f"{path} is not a napari-mend bundle (no valid bundle.json)")
    version = manifest.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise _malformed(root, "'version' must be an integer")
    if version > BUNDLE_FORMAT_VERSION:
        raise ValueError(
            f"{root} was written by a newer napari-mend (bundle format version "
            f"{version}); upgrade napari-mend to read it"
        )
    files = _member_paths(root, manifest.get("files"))
    original, _ = read_image_tiff(files["original"])
    labels, _, _ = read_labels_tiff(files["labels"])
    mended = read_image_tiff(files["mended"])[0] if files["mended"] else None
    provenance = read_json(files["provenance"])
    channel_axis = manifest.get("channel_axis")
    if channel_axis is not None and (not isinstance(channel_axis, int)
                                     or isinstance(channel_axis, bool)):
        raise _malformed(root, "'channel_axis' must be an integer or null")
    try:
        _check_shapes(original, labels, mended, channel_axis)
    except ValueError as err:
        raise ValueError(f"bundle {root} is inconsistent: {err}") from None
    return Bundle(
        path=root,
        original=original,
        labels=labels,
        mended=mended,
        provenance=provenance,
        class_names=_class_names(root, manifest.get("class_names")),
        channel_axis=channel_axis,
    )


def _malformed(root: Path, problem: str) -> ValueError:
    return ValueError(f"{root / 'bundle.json'} is malformed: {problem}; the bundle was not "
                      "written by napari-mend or was changed since")


def _member_paths(root: Path, files) -> dict[str, Path | None]:
    """The bundle's files, each confined to ``root`` and present (``mended`` may be None)."""
    if not isinstance(files, dict):
        raise _malformed(root, "'files' must map each part to a file name")
    paths = {}
    for key in _FILES:
        name = files.get(key)
        if name is None and key == "mended":
            paths[key] = None
            continue
        if not name:
            raise ValueError(f"{root / 'bundle.json'} lists no {key} file")
        try:
            paths[key] = confined(root, name)
        except ValueError as err:
            raise _malformed(root, str(err)) from None
        if not paths[key].is_file():
            raise ValueError(f"bundle {root} is incomplete: {name} is missing")
    return paths


def _class_names(root: Path, names) -> dict[int, str]:
    if names is None:
        return {}
    try:
        return {int(k): str(v) for k, v in names.items()}
    except (AttributeError, TypeError, ValueError):
        raise _malformed(root, "'class_names' must map label values to names") from None


def is_bundle(path) -> bool:
    """Whether ``path`` is a bundle folder (or its ``bundle.json``); never raises."""
    try:
        return _read_manifest(_bundle_root(path)) is not None
    except OSError:
        return False


def find_bundles(folder) -> list[Path]:
    """Bundle folders directly inside ``folder`` (e.g. a batch output folder), sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == BUNDLE_SUFFIX and is_bundle(p))


def _bundle_root(path) -> Path:
    path = Path(path)
    return path.parent if path.name == "bundle.json" else path


def _read_manifest(root: Path) -> dict | None:
    try:
        manifest_path = confined(root, "bundle.json")
        manifest = read_json(manifest_path) if manifest_path.is_file() else None
    except ValueError:
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        return None
    return manifest

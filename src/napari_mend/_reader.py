"""napari reader: bundles, folders of bundles, and TIFFs that napari-mend wrote.

Returns napari layer data tuples (plain data and keyword arguments); imports
nothing from napari. Any other file is left to napari's own readers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from napari_mend.batch.manifest import is_manifest, manifest_bundles
from napari_mend.classes import DEFECT_CLASSES
from napari_mend.io.bundle import find_bundles, is_bundle, read_bundle
from napari_mend.io.images import TIFF_SUFFIXES, read_image
from napari_mend.io.tiff import read_tiff_metadata
from napari_mend.layer_style import (
    defects_layer_kwargs,
    defects_layer_name,
    mended_layer_name,
)


def get_reader(path):
    """Return :func:`read_layers` if every path is napari-mend's, else ``None``.

    Parameters
    ----------
    path : str or list of str
        A ``NAME.mend`` bundle folder or its ``bundle.json``, a folder of
        bundles (a batch output folder) or a batch's ``manifest.json``, or a
        TIFF written by napari-mend.

    Returns
    -------
    reader : callable or None
    """
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if paths and all(_handles(p) for p in paths):
        return read_layers
    return None


def _handles(path) -> bool:
    try:
        return _is_ours(Path(path))
    except (OSError, ValueError):  # unreadable: leave it to napari's readers
        return False


def _is_ours(path: Path) -> bool:
    if is_bundle(path) or is_manifest(path):
        return True
    if path.is_dir():
        return bool(find_bundles(path))
    if path.suffix.lower() not in TIFF_SUFFIXES or not path.is_file():
        return False
    return read_tiff_metadata(path) is not None


def read_layers(path) -> list[tuple]:
    """Read napari-mend files as napari layer data tuples.

    Parameters
    ----------
    path : str or list of str
        Paths accepted by :func:`get_reader`.

    Returns
    -------
    layer_data : list of (data, kwargs, layer_type)
        A bundle gives its original image, its defect Labels (class name and
        colour per value) and, when present, the mended image with its
        provenance in ``metadata``; a TIFF gives one layer.

    Raises
    ------
    ValueError
        If a file is truncated, corrupt, malformed, too large (see
        :mod:`napari_mend.limits`), names a file outside its folder, or
        cannot be opened; the message names the file.
    """
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    layers = []
    for p in map(Path, paths):
        try:
            layers += _layers_of(p)
        except OSError as err:
            raise ValueError(f"cannot read {err.filename or p}: {err.strerror or err}") from None
    return layers


def _layers_of(path: Path) -> list[tuple]:
    if is_bundle(path):
        return _bundle_layers(path)
    if path.is_dir():
        bundles = find_bundles(path)
    elif is_manifest(path):  # the bundles a batch mended, in its order
        bundles = manifest_bundles(path)
    else:
        return [_tiff_layer(path)]
    return [layer for bundle_path in bundles for layer in _bundle_layers(bundle_path)]


def _bundle_layers(path: Path) -> list[tuple]:
    bundle = read_bundle(path)
    name = bundle.path.stem
    source = {"bundle": str(bundle.path)}
    layers = [
        _image_layer(bundle.original, name, bundle.channel_axis, dict(source)),
        _labels_layer(
            bundle.labels,
            defects_layer_name(name),
            bundle.class_names,
            dict(source, provenance=bundle.provenance),
        ),
    ]
    if bundle.mended is not None:
        layers.append(
            _image_layer(
                bundle.mended,
                mended_layer_name(name),
                bundle.channel_axis,
                dict(source, provenance=bundle.provenance),
            )
        )
    return layers


def _tiff_layer(path: Path) -> tuple:
    image = read_image(path, channel_axis="stored")
    metadata = {"provenance": image.provenance}
    if image.kind == "labels":
        return _labels_layer(image.data, path.stem, image.class_names, metadata)
    return _image_layer(image.data, path.stem, image.channel_axis, metadata)


def _image_layer(data, name, channel_axis, metadata) -> tuple:
    rgb = channel_axis is not None and data.shape[channel_axis] in (3, 4)
    if rgb:  # napari shows colour only with channels last
        data = np.moveaxis(data, channel_axis, -1)
    return data, {"name": name, "rgb": rgb, "metadata": metadata}, "image"


def _labels_layer(labels, name, class_names, metadata) -> tuple:
    kwargs = defects_layer_kwargs()
    class_names = class_names or DEFECT_CLASSES
    background = kwargs["features"]["class"][0]  # the layer style's name for value 0
    kwargs["features"] = {
        "index": [0, *class_names],
        "class": [background, *class_names.values()],
    }
    kwargs.update(name=name, metadata=dict(metadata, class_names=dict(class_names)))
    return labels, kwargs, "labels"

"""The viewer's layers as the docks read them, and the output layers they add."""

from __future__ import annotations

import numpy as np
from napari.layers import Image, Labels
from napari.utils.notifications import show_info

from ..arrays import is_lazy


def channel_axis(layer: Image):
    """The ``channel_axis`` of an image layer's data: ``-1`` for RGB(A), else ``None``."""
    return -1 if layer.rgb else None


def chosen_layer(choice):
    """The layer chosen in the combo box ``choice``; ``None``, after asking the curator to
    open or choose an image, when there is none."""
    layer = choice.value
    if layer is None:
        show_info("napari-mend: open or choose an image first")
    return layer


def layer_data(layer):
    """A layer's data: dask and zarr arrays stay lazy (bounded memory), the rest as numpy."""
    return layer.data if is_lazy(layer.data) else np.asarray(layer.data)


def layer_by_name(viewer, name: str):
    """The viewer's layer called ``name``, or ``None``."""
    return viewer.layers[name] if name in viewer.layers else None


def show_image_result(viewer, source: Image, data, name: str, metadata: dict) -> Image:
    """Put ``data`` in the image layer ``name``, made like ``source`` if it is new.

    An existing image layer of that name is updated in place (the curator's
    view settings stay); ``metadata`` (provenance, source) is merged in.
    """
    existing = layer_by_name(viewer, name)
    if isinstance(existing, Image):
        existing.data = data
        existing.metadata.update(metadata)
        return existing
    return viewer.add_image(data, name=name, rgb=source.rgb, colormap=source.colormap,
                            contrast_limits=source.contrast_limits, scale=source.scale,
                            translate=source.translate, metadata=metadata)


def show_labels_result(viewer, source: Image, labels, name: str, metadata: dict,
                       **style) -> Labels:
    """Put ``labels`` in the Labels layer ``name``, placed over ``source`` if it is new.

    An existing Labels layer of that name is updated in place; ``metadata``
    is merged in. ``style`` (colours, features) applies to a new layer.
    """
    existing = layer_by_name(viewer, name)
    if isinstance(existing, Labels):
        existing.data = labels
        existing.metadata.update(metadata)
        return existing
    ndim = np.ndim(labels)
    return viewer.add_labels(labels, name=name, scale=source.scale[-ndim:],
                             translate=source.translate[-ndim:], metadata=metadata, **style)

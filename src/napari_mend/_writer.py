"""napari writers: Image and Labels layers as TIFF, and layers together as a bundle.

npe2 writers receive plain data and the layer's state (``meta``) and return
the paths they wrote; nothing here imports napari. napari's save dialog has
already asked before replacing a file, so these writers replace existing
files (atomically), but never a folder that is not a bundle.
"""

from __future__ import annotations

from pathlib import Path

from napari_mend.classes import DEFECT_CLASSES
from napari_mend.io.bundle import BUNDLE_SUFFIX, write_bundle
from napari_mend.io.tiff import write_image_tiff, write_labels_tiff
from napari_mend.layer_style import mended_layer_name


def write_image(path, data, meta) -> list[str]:
    """Write an Image layer to a TIFF, dtype kept, provenance in the file's metadata."""
    out = write_image_tiff(
        path, data, provenance=_provenance(meta), channel_axis=_channel_axis(meta), overwrite=True
    )
    return [str(out)]


def write_labels(path, data, meta) -> list[str]:
    """Write a Labels layer to a TIFF with the name of each label value."""
    out = write_labels_tiff(
        path, data, class_names=_class_names(meta), provenance=_provenance(meta), overwrite=True
    )
    return [str(out)]


def write_bundle_layers(path, layer_data) -> list[str]:
    """Write one image, one Labels and optionally one mended image as a ``.mend`` bundle.

    Parameters
    ----------
    path : str
        Bundle folder; ``.mend`` is appended when missing.
    layer_data : list of (data, meta, layer_type)
        One or two ``'image'`` layers and one ``'labels'`` layer. With two
        images, the mended one is the one named ``"<name> mended"``, or else
        the later one in the list.

    Returns
    -------
    paths : list of str
        The bundle folder.

    Raises
    ------
    ValueError
        If the layers are not one or two images and one Labels, or their
        shapes do not match.
    """
    images = [(data, meta) for data, meta, kind in layer_data if kind == "image"]
    labels = [(data, meta) for data, meta, kind in layer_data if kind == "labels"]
    if len(labels) != 1 or len(images) not in (1, 2) or len(layer_data) != len(images) + 1:
        kinds = ", ".join(kind for _, _, kind in layer_data) or "nothing"
        raise ValueError(
            "a bundle holds one image, one Labels layer and optionally one mended image; "
            f"got {kinds}"
        )
    if len(images) == 2 and images[0][1].get("name") == mended_layer_name(images[1][1].get("name")):
        images.reverse()
    (original, original_meta), mended = images[0], (images[1] if len(images) == 2 else None)
    ((labels_data, labels_meta),) = labels
    # the last step's record: mending if there is a mended image, else detection
    provenance = (mended and _provenance(mended[1])) or _provenance(labels_meta)
    path = Path(path)
    if path.suffix != BUNDLE_SUFFIX:
        path = path.with_name(path.name + BUNDLE_SUFFIX)
    out = write_bundle(
        path,
        original=original,
        labels=labels_data,
        mended=None if mended is None else mended[0],
        provenance=provenance,
        class_names=_class_names(labels_meta),
        channel_axis=_channel_axis(original_meta),
        overwrite=True,
    )
    return [str(out)]


def _provenance(meta) -> dict | None:
    return (meta.get("metadata") or {}).get("provenance")


def _channel_axis(meta) -> int | None:
    return -1 if meta.get("rgb") else None


def _class_names(meta) -> dict[int, str]:
    names = (meta.get("metadata") or {}).get("class_names")
    if names:
        return {int(value): str(name) for value, name in names.items()}
    features = meta.get("features")
    if features is not None and "index" in features and "class" in features:
        return {
            int(value): str(name)
            for value, name in zip(features["index"], features["class"], strict=True)
            if int(value) != 0
        }
    return dict(DEFECT_CLASSES)

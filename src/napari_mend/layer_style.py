"""How napari-mend's layers look in napari, as plain keyword arguments (no napari import).

Shared by the widget, the readers and the sample data so a defects layer
looks the same wherever it comes from.
"""

from __future__ import annotations

from .classes import CLASS_COLORS, DEFECT_CLASSES


def defects_layer_kwargs() -> dict:
    """Keyword arguments for a defects ``Labels`` layer: colour and class name per value.

    The ``features`` table has one row per label value (``index``), so
    napari's status bar names the class under the cursor.
    """
    colormap = {None: "transparent", 0: "transparent", **CLASS_COLORS}
    values = [0, *DEFECT_CLASSES]
    names = ["clean", *DEFECT_CLASSES.values()]
    return {
        "colormap": colormap,
        "features": {"index": values, "class": names},
        "opacity": 0.7,
    }


def defects_layer_name(image_name: str) -> str:
    """Name of the defects layer of ``image_name``."""
    return f"{image_name} defects"


def mended_layer_name(image_name: str) -> str:
    """Name of the mended layer of ``image_name``."""
    return f"{image_name} mended"

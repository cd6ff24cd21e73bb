"""The "Remove watermark and moire" dock widget.

Watermarks and moire leave the real content underneath, so they get their
own removers instead of a fill: a watermark is inverted with its estimated
colour and opacity (one image, or every plane of a stack sharing the mark),
moire is filtered out of the spectrum. Both run off the GUI thread with the
shared progress bar and Cancel button, and their layers carry provenance.
The dock reports what changed in the image, in its own words.
"""

from __future__ import annotations

import napari
import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, PushButton, SpinBox, create_widget
from napari.layers import Image, Labels, Shapes
from napari.utils.notifications import show_info

from ..inpainting import fill_names
from ..models.registry import card_or_none
from ..moire.api import DEMOIRE_METHODS, auto_demoire_method, demoire
from ..watermark.api import (
    MIN_COLLECTION,
    WATERMARK_METHODS,
    remove_watermark,
    watermark_mask,
)
from ._worker import TaskRunner
from .dock_layout import Section, follow_viewer, hint, scroll_dock
from .viewer_layers import channel_axis, chosen_layer, show_image_result

WATERMARK_SUFFIX = "without watermark"
NO_MARK_HINT = (
    "napari-mend: choose the mark: paint it on a Labels layer (a broad brush round it will do), "
    "outline it on a Shapes layer, or Detect it in Mend defects, check the defects layer and "
    "choose that. On one image the detector alone finds too little of a mark, and too much "
    "that is not one, to remove it unchecked (its card does not mend watermarks unattended); "
    "a stack of four or more images sharing the mark reveals it without one")
MOIRE_SUFFIX = "without moire"


def mark_mask(layer, spatial_shape: tuple) -> np.ndarray:
    """The mark (or a rough hint of it) that a Labels or Shapes layer gives, as bool: a Labels
    layer's watermark class (else every label); the inside of a Shapes layer's rectangles,
    ellipses and polygons, in its own dimensions (one plane's, or the whole stack's)."""
    if isinstance(layer, Shapes):
        shape = tuple(spatial_shape[-layer.ndim:])
        if not len(layer.data):
            return np.zeros(shape, bool)
        return np.asarray(layer.to_masks(mask_shape=shape)).any(axis=0)
    return watermark_mask(layer.data)


def change_summary(before: np.ndarray, after: np.ndarray, *, channel_axis=None) -> str:
    """What a remover changed: the pixels that differ and their mean absolute change.

    A pixel (of every plane of a stack) counts once however many of its
    channels changed; the mean change is in the image's own units,
    averaged over the changed pixels and their channels.
    """
    difference = np.abs(np.asarray(after, np.float64) - np.asarray(before, np.float64))
    if channel_axis is not None:
        difference = np.moveaxis(difference, channel_axis, -1).mean(axis=-1)
    changed = difference > 0
    n = int(changed.sum())
    if n == 0:
        return "nothing changed: no watermark was found to remove"
    return (f"changed {n:,} of {changed.size:,} pixels ({100 * n / changed.size:.1f}%), "
            f"mean change {float(difference[changed].mean()):.3g}")


def repeats_note(provenance: dict) -> str:
    """``'; the mark repeats ...'`` when single-image removal used a tiled mark's copies."""
    planes = provenance["parameters"].get("repeated_mark_planes")
    if not planes:
        return ""
    where = "" if planes == [0] else f" in {len(planes)} plane(s)"
    return f"; the mark repeats{where}: estimated from its copies too"


def copies_note(provenance: dict) -> str:
    """``'; N other copies of the mark found ...'`` when ``find_copies`` found some."""
    copies = provenance["parameters"].get("copies")
    if copies is None:
        return ""
    if not copies:
        return "; no other copy of the mark found"
    return (f"; {len(copies)} other cop{'y' if len(copies) == 1 else 'ies'} of the mark "
            "found and mended")


def moire_summary(reports: list) -> str:
    """One line about the moire peaks found in each plane."""
    found = [r for r in reports if r["found"]]
    if not found:
        return "no periodic peaks found: image left as it was"
    periods = sorted({p["period_px"] for r in found for p in r["peaks"]})
    shown = ", ".join(f"{p:g}" for p in periods[:4]) + (", ..." if len(periods) > 4 else "")
    return f"moire in {len(found)}/{len(reports)} plane(s); periods {shown} px"


class SpecialWidget(Container):
    """Dock widget with a watermark section and a moire section."""

    def __init__(self, viewer: napari.viewer.Viewer):
        self._viewer = viewer
        self.runner = TaskRunner()
        self.image = create_widget(annotation=Image, label="image")
        self.mark = ComboBox(label="mark", choices=self._mark_layers, nullable=True, value=None)
        self.wm_method = ComboBox(label="images", choices=list(WATERMARK_METHODS), value="auto")
        self.fill = ComboBox(label="opaque fill", choices=list(fill_names()), value="auto")
        self.max_shift = SpinBox(label="mark shift (px)", min=0, max=16, value=4)
        self.find_copies = CheckBox(text="find the mark's other copies", value=False,
                                    tooltip="The mark is stamped or tiled over the image and "
                                            "the mark layer paints one copy: the others are "
                                            "found, and the mark comes off every one")
        self.wm_button = PushButton(text="Remove watermark")
        self.wm_result = hint("")
        self.moire_method = ComboBox(label="method", choices=list(DEMOIRE_METHODS), value="auto")
        self.moire_info = hint("")
        self.moire_button = PushButton(text="Remove moire")
        self.moire_result = hint("")
        self.sections = {
            "watermark": Section("Watermark", [
                self.mark,
                hint("mark: a Labels layer (its watermark class if it has one), or a Shapes "
                     "layer: an outline drawn close round the mark is enough. None: a stack "
                     f"of {MIN_COLLECTION} or more images sharing the mark reveals it; one "
                     "image needs a mark."),
                self.find_copies, self.wm_method, self.fill, self.max_shift, self.wm_button,
                self.wm_result]),
            "moire": Section("Moire", [self.moire_method, self.moire_info, self.moire_button,
                                       self.moire_result]),
        }
        super().__init__(labels=False)
        scroll_dock(self, Container(widgets=[self.image, *self.sections.values()]))
        self.runner.controls = [self.wm_button, self.moire_button]
        self.wm_button.changed.connect(self.run_watermark)
        self.moire_button.changed.connect(self.run_moire)
        self.moire_method.changed.connect(self._show_moire_method)
        self._show_moire_method()
        follow_viewer(self, viewer, self._refresh_choices)

    def _mark_layers(self, widget=None) -> list:
        """The layers that can give the mark: Labels and Shapes, by name."""
        return [(layer.name, layer) for layer in self._viewer.layers
                if isinstance(layer, (Labels, Shapes))]

    def _refresh_choices(self, event=None):
        self.image.reset_choices()
        self.mark.reset_choices()

    def _show_moire_method(self, event=None):
        method = self.moire_method.value
        if method == "auto":
            self.moire_info.value = f"auto uses: {auto_demoire_method()}"
        elif method == "learned":
            card = card_or_none("demoire")
            self.moire_info.value = (f"model: {card['name']}" if card
                                     else "no demoire model installed")
        else:
            self.moire_info.value = "notch: spectral peaks, where they occur"

    def _chosen_image(self):
        """``(layer, data, channel axis)`` of the chosen image; ``None`` (after a hint) if none."""
        layer = chosen_layer(self.image)
        return None if layer is None else (layer, np.asarray(layer.data), channel_axis(layer))

    def _add_result(self, layer, data, suffix, provenance):
        return show_image_result(self._viewer, layer, data, f"{layer.name} {suffix}",
                                 {"provenance": provenance, "source": layer.name})

    # --- Watermark -----------------------------------------------------
    def run_watermark(self, event=None):
        """Remove the watermark from the chosen image or stack (in a worker thread)."""
        if (chosen := self._chosen_image()) is None:
            return None
        layer, data, axis = chosen
        find_copies = bool(self.find_copies.value)
        method = self.wm_method.value
        if find_copies and method == "auto":  # copies are found image by image
            method = "single"
        options = {"method": method, "fill": self.fill.value,
                   "max_shift": int(self.max_shift.value), "find_copies": find_copies}
        mark_layer = self.mark.value
        if find_copies and mark_layer is None:
            show_info("napari-mend: to find the mark's other copies, paint one copy on a "
                      "Labels layer (or outline it on a Shapes layer) and choose it as mark")
            return None
        spatial = data.shape if axis is None else tuple(np.delete(data.shape, axis).tolist())
        planes = int(np.prod(spatial[:-2], dtype=np.int64))
        if mark_layer is None and (method == "single" or planes < MIN_COLLECTION):
            show_info(NO_MARK_HINT)
            return None
        mask = None
        if mark_layer is not None:
            mask = mark_mask(mark_layer, tuple(spatial))
            if not mask.any():
                show_info(f"napari-mend: {mark_layer.name!r} marks no pixels; paint the mark, "
                          "or draw an outline close round it, first")
                return None

        def compute(progress):
            return remove_watermark(data, mask=mask, channel_axis=axis, progress=progress,
                                    return_provenance=True, **options)

        def done(result):
            clean, provenance = result
            provenance["parameters"]["mark"] = None if mark_layer is None else mark_layer.name
            self._add_result(layer, clean, WATERMARK_SUFFIX, provenance)
            self.wm_result.value = (change_summary(data, clean, channel_axis=axis)
                                    + repeats_note(provenance) + copies_note(provenance))
            show_info(f"napari-mend: {layer.name!r}: {self.wm_result.value}")

        return self.runner.run(compute, done, "remove watermark", near=self.wm_button)

    # --- Moire ---------------------------------------------------------
    def run_moire(self, event=None):
        """Remove moire from the chosen image (in a worker thread)."""
        if (chosen := self._chosen_image()) is None:
            return None
        layer, data, axis = chosen
        method = self.moire_method.value

        def compute(progress):
            return demoire(data, channel_axis=axis, method=method, progress=progress,
                           return_report=True, return_provenance=True)

        def done(result):
            clean, reports, provenance = result
            self._add_result(layer, clean, MOIRE_SUFFIX, provenance)
            self.moire_result.value = moire_summary(reports)
            show_info(f"napari-mend: {self.moire_result.value}")

        return self.runner.run(compute, done, "remove moire", near=self.moire_button)

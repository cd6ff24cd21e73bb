"""The "Remove watermark and moire" dock widget.

Watermarks and moire leave the real content underneath, so they get their
own removers instead of a fill: a watermark is inverted with its estimated
colour and opacity (one image, or every plane of a stack sharing the mark),
moire is filtered out of the spectrum. Both run off the GUI thread with the
shared progress bar and Cancel button, and their layers carry provenance.
"""

from __future__ import annotations

import napari
import numpy as np
from magicgui.widgets import ComboBox, Container, Label, PushButton, SpinBox, create_widget
from napari.layers import Image, Labels
from napari.utils.notifications import show_info

from ..classes import CLASS_IDS
from ..inpainting.api import METHODS as FILL_METHODS
from ..io.provenance import make_provenance
from ..models.registry import card_or_none
from ..special import (DEMOIRE_METHODS, WATERMARK_METHODS, auto_demoire_method, demoire,
                       remove_watermark)
from ._worker import TaskRunner

WATERMARK_SUFFIX = "without watermark"
MOIRE_SUFFIX = "without moire"


def _channel_axis(layer: Image):
    return -1 if layer.rgb else None


def watermark_mask(labels: np.ndarray) -> np.ndarray:
    """The mark's pixels in a Labels array: its watermark class if present, else every label."""
    labels = np.asarray(labels)
    marked = labels == CLASS_IDS["watermark"]
    return marked if marked.any() else labels != 0


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
        self.image = create_widget(annotation=Image, label="image")
        self.mark = create_widget(annotation=Labels | None, label="mark",
                                  options={"nullable": True})
        self.mark_hint = Label(value="mark: a Labels layer (its watermark class if it has one); "
                                     "none: found by the detector, or from a stack's planes")
        self.wm_method = ComboBox(label="images", choices=list(WATERMARK_METHODS), value="auto")
        self.fill = ComboBox(label="opaque fill", choices=list(FILL_METHODS), value="auto")
        self.max_shift = SpinBox(label="mark shift (px)", min=0, max=16, value=4)
        self.wm_button = PushButton(text="Remove watermark")
        self.moire_method = ComboBox(label="method", choices=list(DEMOIRE_METHODS), value="auto")
        self.moire_info = Label(value="")
        self.moire_button = PushButton(text="Remove moire")
        self.moire_result = Label(value="")
        self.runner = TaskRunner()
        super().__init__(widgets=[
            self.image,
            Label(value="<b>Watermark</b>"), self.mark, self.mark_hint, self.wm_method, self.fill,
            self.max_shift, self.wm_button,
            Label(value="<b>Moire</b>"), self.moire_method, self.moire_info, self.moire_button,
            self.moire_result,
            self.runner,
        ])
        self.wm_button.changed.connect(self.run_watermark)
        self.moire_button.changed.connect(self.run_moire)
        self.moire_method.changed.connect(self._show_moire_method)
        self._show_moire_method()
        for event in (viewer.layers.events.inserted, viewer.layers.events.removed):
            event.connect(self._refresh_choices)

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

    def _add_result(self, layer, data, suffix, provenance):
        name = f"{layer.name} {suffix}"
        metadata = {"provenance": provenance, "source": layer.name}
        if name in self._viewer.layers and isinstance(self._viewer.layers[name], Image):
            target = self._viewer.layers[name]
            target.data = data
            target.metadata.update(metadata)
            return target
        return self._viewer.add_image(data, name=name, rgb=layer.rgb, colormap=layer.colormap,
                                      contrast_limits=layer.contrast_limits, scale=layer.scale,
                                      translate=layer.translate, metadata=metadata)

    # --- Watermark -----------------------------------------------------
    def run_watermark(self, event=None):
        """Remove the watermark from the chosen image or stack (in a worker thread)."""
        layer = self.image.value
        if layer is None:
            show_info("napari-mend: open or choose an image first")
            return None
        data = np.asarray(layer.data)
        mark_layer = self.mark.value
        mask = None if mark_layer is None else watermark_mask(mark_layer.data)
        options = {"method": self.wm_method.value, "fill": self.fill.value,
                   "max_shift": int(self.max_shift.value)}
        axis = _channel_axis(layer)

        def compute(progress):
            return remove_watermark(data, mask=mask, channel_axis=axis, progress=progress,
                                    return_mask=True, **options)

        def done(result):
            clean, changed = result
            provenance = make_provenance(
                operation="remove_watermark", method=options["method"],
                parameters={**options, "channel_axis": axis,
                            "mark": None if mark_layer is None else mark_layer.name},
                image=data, mask=changed)
            self._add_result(layer, clean, WATERMARK_SUFFIX, provenance)
            show_info(f"napari-mend: removed the watermark from {int(changed.sum())} pixels "
                      f"of {layer.name!r}")

        return self.runner.run(compute, done, "remove watermark")

    # --- Moire ---------------------------------------------------------
    def run_moire(self, event=None):
        """Remove moire from the chosen image (in a worker thread)."""
        layer = self.image.value
        if layer is None:
            show_info("napari-mend: open or choose an image first")
            return None
        data = np.asarray(layer.data)
        method = self.moire_method.value
        if method == "auto":
            method = auto_demoire_method()
        axis = _channel_axis(layer)

        def compute(progress):
            return demoire(data, channel_axis=axis, method=method, progress=progress,
                           return_report=True)

        def done(result):
            clean, reports = result
            changed = clean != data if axis is None else np.any(clean != data, axis=axis)
            provenance = make_provenance(
                operation="demoire", method=method,
                parameters={"requested": self.moire_method.value, "found": reports},
                image=data, mask=changed,
                model=card_or_none("demoire") if method == "learned" else None)
            self._add_result(layer, clean, MOIRE_SUFFIX, provenance)
            self.moire_result.value = moire_summary(reports)
            show_info(f"napari-mend: {self.moire_result.value}")

        return self.runner.run(compute, done, "remove moire")

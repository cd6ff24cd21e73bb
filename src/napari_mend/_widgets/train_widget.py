"""The "Train on these images" dock widget: fine-tune a model on image layers or a folder.

Choose image layers (or a folder), whether to avoid the regions their
defects layers mark, the kind of model and the model to start from, and the
minutes to train. Training runs in a worker thread
(:func:`napari_mend.finetune.finetune`); the loss curve beside the Train
button grows as it goes, and the held-out metric is shown before and after.
Stop keeps the checkpoint; Continue resumes it. A finished model is
announced on :data:`MODEL_EVENTS`, so the model choosers of the "Mend
defects" widget list it at once. A model can be exported as one file and
imported with one click.
"""

from __future__ import annotations

from pathlib import Path

import napari
import numpy as np
from magicgui.widgets import (
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    LineEdit,
    PushButton,
    Select,
)
from napari.layers import Image, Labels
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QObject
from qtpy.QtCore import Signal as QtSignal

from ..layer_style import defects_layer_name
from ..models.package import export_model, import_model
from ..models.registry import list_models
from ._events import MODEL_EVENTS, connect_while_alive
from ._worker import TaskRunner
from .dock_layout import Section, follow_viewer, hint, scroll_dock
from .file_choice import chosen_path
from .loss_plot import LossPlot
from .viewer_layers import layer_by_name

KINDS = ("detector", "inpainter")
METRIC = {"detector": ("f1_mean", "F1"), "inpainter": ("psnr_hole_mean", "PSNR dB")}
AVOID_DEFECTS, AVOID_NOTHING = "each image's defects layer", "nothing"
"""Choices of what training avoids: the regions an image's ``"<image> defects"`` layer marks."""


class _EventRelay(QObject):
    """Carries fine-tuning log records from the worker thread to the GUI thread."""

    received = QtSignal(object)


def metrics_text(kind: str, before: dict | None, after: dict | None) -> str:
    """One line: the held-out metric before and after (and the gain), on the synthesised
    defects and on the independent generator's."""
    key, label = METRIC[kind]
    if before is None:
        return ""

    def change(source, name):
        text = f"{name} {source(before)[key]:.3f}"
        if after is not None:
            text += f" -> {source(after)[key]:.3f} ({source(after)[key] - source(before)[key]:+.3f})"
        return text

    text = f"held-out {label}: " + change(lambda m: m, "own defects")
    if "independent" in before and (after is None or "independent" in after):
        text += "; " + change(lambda m: m["independent"], "independent defects")
    return text


class TrainWidget(Container):
    """Dock widget that fine-tunes a detector or inpainter on the curator's images."""

    def __init__(self, viewer: napari.viewer.Viewer):
        self._viewer = viewer
        self.runner = TaskRunner()
        self.runner.cancel.text = "Stop"
        self.layers = Select(label="image layers", choices=self._image_names)
        self.layers.native.setMaximumHeight(90)
        self.folder = FileEdit(label="or folder", mode="d", value="")
        self.avoid = ComboBox(label="avoid", choices=[AVOID_DEFECTS, AVOID_NOTHING],
                              value=AVOID_DEFECTS,
                              tooltip="regions training leaves out (marked defects are not "
                                      "examples of clean content)")
        self.avoid_info = hint("")
        self.kind = ComboBox(label="train", choices=list(KINDS), value="detector")
        self.from_model = ComboBox(label="from model", choices=self._model_names)
        self.minutes = FloatSpinBox(label="minutes", min=0.1, max=600.0, step=0.5, value=5.0)
        self.model_name = LineEdit(label="new model", value="")
        self.train_button = PushButton(text="Train")
        self.continue_button = PushButton(text="Continue", enabled=False)
        self.metrics = hint("")
        self.loss_plot = LossPlot(viewer)
        self.export_path = FileEdit(label="export to", mode="w", filter="*.mendmodel")
        self.export_button = PushButton(text="Export model")
        self.import_path = FileEdit(label="model file", mode="r", filter="*.mendmodel")
        self.import_button = PushButton(text="Import model")
        buttons = Container(widgets=[self.train_button, self.continue_button], labels=False)
        buttons.margins = (0, 0, 0, 0)
        self.run_row = Container(widgets=[buttons], layout="horizontal", labels=False)
        self.run_row.margins = (0, 0, 0, 0)
        self.run_row.native.layout().addWidget(self.loss_plot.canvas)  # the curve beside Train
        buttons.native.layout().addStretch()
        self.sections = {
            "images": Section("Images", [self.layers, self.folder, self.avoid,
                                         self.avoid_info]),
            "model": Section("Model", [self.kind, self.from_model, self.minutes,
                                       self.model_name]),
            "train": Section("Train", [self.run_row, self.metrics]),
            "share": Section("Share", [self.export_path, self.export_button,
                                       self.import_path, self.import_button], expanded=False),
        }
        super().__init__(labels=False)
        scroll_dock(self, Container(widgets=list(self.sections.values())))
        self.runner.controls = [self.train_button, self.continue_button, self.export_button,
                                self.import_button]
        self.before = self.after = None
        self._relay = _EventRelay()
        self._relay.received.connect(self._on_event)
        self.kind.changed.connect(self._kind_changed)
        self.model_name.changed.connect(self._update_continue)
        self.layers.changed.connect(self._show_avoided)
        self.avoid.changed.connect(self._show_avoided)
        self.train_button.changed.connect(lambda: self.start(resume=False))
        self.continue_button.changed.connect(lambda: self.start(resume=True))
        self.export_button.changed.connect(self.export)
        self.import_button.changed.connect(self.import_file)
        connect_while_alive(MODEL_EVENTS.changed, self.from_model.reset_choices, self)
        self._kind_changed()
        self._show_avoided()
        follow_viewer(self, viewer, self._layers_changed)

    @property
    def history(self) -> list[tuple[int, float]]:
        """The ``(step, loss)`` pairs of the current run."""
        return self.loss_plot.history

    # --- choices -------------------------------------------------------
    def _image_names(self, widget=None):
        return [layer.name for layer in self._viewer.layers if isinstance(layer, Image)]

    def _model_names(self, widget=None):
        kind = self.kind.value if hasattr(self, "kind") else KINDS[0]
        names = [card["name"] for card in list_models(kind)]
        return sorted(names, key=lambda n: (n != kind, n)) or [kind]

    def _layers_changed(self, event=None):
        self.layers.reset_choices()
        self._show_avoided()

    def _kind_changed(self, event=None):
        self.from_model.reset_choices()
        self.model_name.value = f"{self.from_model.value}-finetuned"
        self._update_continue()

    def _update_continue(self, event=None):
        from ..finetune import has_checkpoint  # deferred: imports torch

        try:
            resumable = bool(self.model_name.value) and has_checkpoint(self.model_name.value)
        except ValueError:
            resumable = False
        self.continue_button.enabled = resumable and not self.runner.busy

    # --- inputs --------------------------------------------------------
    def avoided_layers(self) -> dict:
        """Chosen image name -> the Labels layer whose marked regions training avoids, or None."""
        avoided = {}
        for name in self.layers.value:
            marked = layer_by_name(self._viewer, defects_layer_name(name))
            use = self.avoid.value == AVOID_DEFECTS and isinstance(marked, Labels)
            avoided[name] = marked if use else None
        return avoided

    def _show_avoided(self, event=None):
        """Say which layer each chosen image's training avoids."""
        avoided = self.avoided_layers()
        if not avoided:
            self.avoid_info.value = ""
        elif self.avoid.value == AVOID_NOTHING:
            self.avoid_info.value = "training uses every pixel of the chosen images"
        else:
            self.avoid_info.value = "avoids: " + "; ".join(
                f"{name}: {layer.name!r}" if layer is not None else f"{name}: nothing marked"
                for name, layer in avoided.items())

    def _inputs(self):
        """(images, masks): chosen layers (with the regions to avoid) or the folder."""
        avoided = self.avoided_layers()
        if avoided:
            images = [np.asarray(self._viewer.layers[name].data) for name in avoided]
            masks = [None if layer is None else np.asarray(layer.data)
                     for layer in avoided.values()]
            return images, masks
        folder = str(self.folder.value or "")
        if folder and folder != "." and Path(folder).is_dir():
            return folder, None
        return None, None

    # --- training ------------------------------------------------------
    def start(self, *, resume: bool):
        """Start (or continue) fine-tuning in a worker thread."""
        from ..finetune import finetune  # deferred: imports torch

        images, masks = self._inputs()
        if images is None:
            show_info("napari-mend: choose image layers or a folder of images to train on")
            return None
        kind, name = self.kind.value, self.model_name.value
        options = {"from_model": self.from_model.value, "name": name,
                   "minutes": float(self.minutes.value), "masks": masks, "resume": resume,
                   "overwrite": not resume}
        if not resume:
            self.before = self.after = None
            self.loss_plot.set_history([])
        relay = self._relay

        def compute(progress):
            return finetune(kind, images, progress=progress, on_event=relay.received.emit,
                            **options)

        def done(result):
            self.after = result.after
            self.metrics.value = metrics_text(kind, result.before, result.after)
            MODEL_EVENTS.changed.emit()
            show_info(f"napari-mend: saved model {result.name!r}; pick it in Mend defects")

        return self.runner.run(compute, done, "train", near=self.run_row,  # below Train
                               on_finished=self._update_continue)

    def _on_event(self, record: dict):
        event = record["event"]
        if event == "train":
            self.loss_plot.set_history([*self.history, (record["step"], record["loss"])])
        elif event == "start" and record.get("resumed"):
            self.metrics.value = f"continuing from step {record['step']}"
        elif event == "before":
            self.before = record
            self.metrics.value = metrics_text(self.kind.value, record, None)

    # --- sharing -------------------------------------------------------
    def export(self, event=None):
        """Write the new model (when trained) or the starting model as one file."""
        path = chosen_path(self.export_path, suffix=".mendmodel", what="the model",
                           overwrite=False)
        if path is None:
            return None
        installed = {card["name"] for card in list_models()}
        name = self.model_name.value
        if name not in installed:  # nothing trained yet: share the starting model
            name = self.from_model.value
        try:
            path = export_model(name, path)
        except Exception as err:  # shown to the curator, never a crash
            show_error(f"napari-mend: could not export {name!r}: {err}")
            return None
        show_info(f"napari-mend: wrote {path}")
        return path

    def import_file(self, event=None):
        """Install a model file; it appears in every model chooser."""
        if not self.import_path.line_edit.value.strip():
            show_info("napari-mend: choose a model file (.mendmodel) to import")
            return None
        try:
            card = import_model(self.import_path.value)
        except Exception as err:  # shown to the curator, never a crash
            show_error(f"napari-mend: could not import: {err}")
            return None
        MODEL_EVENTS.changed.emit()
        show_info(f"napari-mend: installed model {card['name']!r} ({card['kind']})")
        return card

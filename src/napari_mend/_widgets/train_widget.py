"""The "Train on these images" dock widget: fine-tune a model on image layers or a folder.

Choose image layers (or a folder), the kind of model and the model to start
from, and the minutes to train. Training runs in a worker thread
(:func:`napari_mend.finetune.finetune`); the dock shows the loss curve as it
goes and the held-out metric before and after. Stop keeps the checkpoint;
Continue resumes it. A finished model is announced on :data:`MODEL_EVENTS`,
so the model choosers of the "Mend defects" widget list it at once. A model
can be exported as one file and imported with one click.
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
    Label,
    LineEdit,
    PushButton,
    Select,
)
from napari.layers import Image, Labels
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QObject
from qtpy.QtCore import Signal as QtSignal

from ..layer_style import defects_layer_name
from ..models.registry import list_models
from ._events import MODEL_EVENTS, connect_while_alive
from ._worker import TaskRunner

KINDS = ("detector", "inpainter")
METRIC = {"detector": ("f1_mean", "F1"), "inpainter": ("psnr_hole_mean", "PSNR dB")}


class _EventRelay(QObject):
    """Carries fine-tuning log records from the worker thread to the GUI thread."""

    received = QtSignal(object)


def metrics_text(kind: str, before: dict | None, after: dict | None) -> str:
    """One line: the held-out metric before and after (and the gain)."""
    key, label = METRIC[kind]
    if before is None:
        return ""
    text = f"held-out {label}: before {before[key]:.3f}"
    if after is not None:
        text += f", after {after[key]:.3f} ({after[key] - before[key]:+.3f})"
    return text


class TrainWidget(Container):
    """Dock widget that fine-tunes a detector or inpainter on the curator's images."""

    def __init__(self, viewer: napari.viewer.Viewer):
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        self._viewer = viewer
        self.layers = Select(label="image layers", choices=self._image_names)
        self.layers.native.setMaximumHeight(90)
        self.folder = FileEdit(label="or folder", mode="d", value="")
        self.kind = ComboBox(label="train", choices=list(KINDS), value="detector")
        self.from_model = ComboBox(label="from model", choices=self._model_names)
        self.minutes = FloatSpinBox(label="minutes", min=0.1, max=600.0, step=0.5, value=5.0)
        self.model_name = LineEdit(label="new model", value="")
        self.train_button = PushButton(text="Train")
        self.continue_button = PushButton(text="Continue", enabled=False)
        self.metrics = Label(value="")
        self.runner = TaskRunner()
        self.runner.cancel.text = "Stop"
        self.export_path = FileEdit(label="export to", mode="w", filter="*.mendmodel")
        self.export_button = PushButton(text="Export model")
        self.import_path = FileEdit(label="model file", mode="r", filter="*.mendmodel")
        self.import_button = PushButton(text="Import model")
        super().__init__(widgets=[
            Label(value="<b>Images</b>"), self.layers, self.folder,
            Label(value="<b>Model</b>"), self.kind, self.from_model, self.minutes, self.model_name,
            self.train_button, self.continue_button, self.runner, self.metrics,
        ])
        self.figure = Figure(figsize=(3.0, 2.0), tight_layout=True)
        self.axes = self.figure.add_subplot(111)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(150)
        self.native.layout().addWidget(self.canvas)
        for widget in (Label(value="<b>Share</b>"), self.export_path, self.export_button,
                       self.import_path, self.import_button):
            self.append(widget)
        self.history: list[tuple[int, float]] = []
        self.before = self.after = None
        self._relay = _EventRelay()
        self._relay.received.connect(self._on_event)
        self.kind.changed.connect(self._kind_changed)
        self.model_name.changed.connect(self._update_continue)
        self.train_button.changed.connect(lambda: self.start(resume=False))
        self.continue_button.changed.connect(lambda: self.start(resume=True))
        self.export_button.changed.connect(self.export)
        self.import_button.changed.connect(self.import_file)
        for event in (viewer.layers.events.inserted, viewer.layers.events.removed):
            event.connect(lambda e: self.layers.reset_choices())
        connect_while_alive(MODEL_EVENTS.changed, self.from_model.reset_choices, self)
        self._kind_changed()

    # --- choices -------------------------------------------------------
    def _image_names(self, widget=None):
        return [layer.name for layer in self._viewer.layers if isinstance(layer, Image)]

    def _model_names(self, widget=None):
        kind = self.kind.value if hasattr(self, "kind") else KINDS[0]
        names = [card["name"] for card in list_models(kind)]
        return sorted(names, key=lambda n: (n != kind, n)) or [kind]

    def _kind_changed(self, event=None):
        self.from_model.reset_choices()
        self.model_name.value = f"{self.from_model.value}-finetuned"
        self._update_continue()

    def _update_continue(self, event=None):
        from ..finetune import has_checkpoint

        try:
            resumable = bool(self.model_name.value) and has_checkpoint(self.model_name.value)
        except ValueError:
            resumable = False
        self.continue_button.enabled = resumable and not self.runner.busy

    # --- inputs --------------------------------------------------------
    def _inputs(self):
        """(images, masks): chosen layers (defects layers mark regions to avoid) or the folder."""
        names = list(self.layers.value)
        if names:
            images, masks = [], []
            for name in names:
                layer = self._viewer.layers[name]
                images.append(np.asarray(layer.data))
                marked = self._viewer.layers[defects_layer_name(name)] \
                    if defects_layer_name(name) in self._viewer.layers else None
                masks.append(np.asarray(marked.data) if isinstance(marked, Labels) else None)
            return images, masks
        folder = str(self.folder.value or "")
        if folder and folder != "." and Path(folder).is_dir():
            return folder, None
        return None, None

    # --- training ------------------------------------------------------
    def start(self, *, resume: bool):
        """Start (or continue) fine-tuning in a worker thread."""
        from ..finetune import finetune

        images, masks = self._inputs()
        if images is None:
            show_info("napari-mend: choose image layers or a folder of images to train on")
            return None
        kind, name = self.kind.value, self.model_name.value
        options = {"from_model": self.from_model.value, "name": name,
                   "minutes": float(self.minutes.value), "masks": masks, "resume": resume,
                   "overwrite": not resume}
        if not resume:
            self.history, self.before, self.after = [], None, None
            self._draw()
        relay = self._relay

        def compute(progress):
            return finetune(kind, images, progress=progress, on_event=relay.received.emit,
                            **options)

        def done(result):
            self.after = result.after
            self.metrics.value = metrics_text(kind, result.before, result.after)
            MODEL_EVENTS.changed.emit()
            show_info(f"napari-mend: saved model {result.name!r}; pick it in Mend defects")

        worker = self.runner.run(compute, done, "train", on_finished=self._finished)
        if worker is not None:
            self.train_button.enabled = self.continue_button.enabled = False
        return worker

    def _finished(self):
        self.train_button.enabled = True
        self._update_continue()

    def _on_event(self, record: dict):
        event = record["event"]
        if event == "train":
            self.history.append((record["step"], record["loss"]))
            self._draw()
        elif event == "start" and record.get("resumed"):
            self.metrics.value = f"continuing from step {record['step']}"
        elif event == "before":
            self.before = record
            self.metrics.value = metrics_text(self.kind.value, record, None)

    def _draw(self):
        self.axes.clear()
        if self.history:
            steps, losses = zip(*self.history)
            self.axes.plot(steps, losses, lw=1)
        self.axes.set_xlabel("step")
        self.axes.set_ylabel("loss")
        self.canvas.draw_idle()

    # --- sharing -------------------------------------------------------
    def export(self, event=None):
        """Write the new model (when trained) or the starting model as one file."""
        from ..models.package import export_model

        installed = {card["name"] for card in list_models()}
        name = self.model_name.value
        if name not in installed:  # nothing trained yet: share the starting model
            name = self.from_model.value
        try:
            path = export_model(name, self.export_path.value)
        except Exception as err:  # shown to the curator, never a crash
            show_error(f"napari-mend: could not export: {err}")
            return None
        show_info(f"napari-mend: wrote {path}")
        return path

    def import_file(self, event=None):
        """Install a model file; it appears in every model chooser."""
        from ..models.package import import_model

        try:
            card = import_model(self.import_path.value)
        except Exception as err:  # shown to the curator, never a crash
            show_error(f"napari-mend: could not import: {err}")
            return None
        MODEL_EVENTS.changed.emit()
        show_info(f"napari-mend: installed model {card['name']!r} ({card['kind']})")
        return card

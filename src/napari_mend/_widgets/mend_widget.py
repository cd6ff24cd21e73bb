"""The "Mend defects" dock widget: image -> Detect -> edit defects -> Mend -> Save.

The Teach-by-example step lives in :mod:`.teach_section`; the layers the
dock reads and adds in :mod:`.viewer_layers`.
"""

from __future__ import annotations

import napari
import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    FloatSlider,
    PushButton,
    Select,
    create_widget,
)
from napari.layers import Image, Labels
from napari.utils.notifications import show_info

from ..arrays import is_lazy
from ..blocks import compute as lazy_compute
from ..classes import CLASS_COLORS, DEFECT_CLASSES, class_counts
from ..detection.api import DEFAULT_DETECTOR, detect_scores
from ..detection.api import METHODS as DETECT_METHODS
from ..detection.text_completion import complete_text, may_find_text
from ..inpainting import fill_names
from ..inpainting.api import DEFAULT_INPAINTER
from ..inpainting.api import method_model as fill_model
from ..io.bundle import write_bundle
from ..layer_style import defects_layer_kwargs, defects_layer_name, mended_layer_name
from ..models.registry import TAUGHT_KIND, card_or_none, list_models
from ..progress import scaled
from ..restore import mend_labels
from ._events import MODEL_EVENTS, connect_while_alive
from ._worker import TaskRunner
from .dock_layout import Section, fit_rows, follow_viewer, hint, scroll_dock
from .file_choice import chosen_path
from .folder_section import FolderSection
from .teach_section import TeachSection, strokes_layer_name
from .viewer_layers import (
    channel_axis,
    chosen_layer,
    layer_by_name,
    layer_data,
    show_image_result,
    show_labels_result,
)

__all__ = ["MendWidget", "strokes_layer_name"]  # the Teach step's layer names belong here too


def _model_choices(kind: str, default: str):
    """Model names of ``kind`` for a ComboBox, the shipped default first; for detectors the
    installed taught detectors follow the networks."""
    def choices(widget=None):
        names = [card["name"] for card in list_models(kind)]
        names = sorted(names, key=lambda n: (n != default, n)) or [default]
        if kind == "detector":
            names += sorted(card["name"] for card in list_models(TAUGHT_KIND)
                            if card["name"] not in names)
        return names

    return choices


def _class_legend() -> str:
    """Each defect class's colour swatch, value and name, as rich text."""
    return " ".join(f'<span style="color:{CLASS_COLORS[v]}">&#9632;</span>&nbsp;{v}&nbsp;{name}'
                    for v, name in DEFECT_CLASSES.items())


class MendWidget(Container):
    """Dock widget that detects defects, lets the curator edit them, and mends them."""

    def __init__(self, viewer: napari.viewer.Viewer):
        self._viewer = viewer
        self._scores = {}  # image layer id -> DefectScores
        self.runner = TaskRunner()

        self.image = create_widget(annotation=Image, label="image")
        self.detect_method = ComboBox(label="detector", choices=list(DETECT_METHODS),
                                      value=DETECT_METHODS[0])
        self.detector_model = ComboBox(label="model",
                                       choices=_model_choices("detector", DEFAULT_DETECTOR))
        self.model_info = hint("")
        self.classes = Select(label="classes", choices=list(DEFECT_CLASSES.values()),
                              value=list(DEFECT_CLASSES.values()))
        fit_rows(self.classes)
        self.legend = hint(_class_legend())
        self.detect_button = PushButton(text="Detect")
        self.detect_all_button = PushButton(text="Detect in every open image")
        self.sensitivity = FloatSlider(label="sensitivity", min=0.0, max=1.0, step=0.01,
                                       value=0.5)
        self.complete_text = CheckBox(text="grow found text to whole annotations", value=True,
                                      tooltip="missed glyphs next to found ones, anti-aliased "
                                              "rims and label backgrounds join the text")
        self.teach = TeachSection(viewer, image=self.image, runner=self.runner,
                                  base_model=self._teach_base_model, on_taught=self.run_detect)
        # the Teach section's controls, reachable from the dock as before
        self.use_taught, self.taught_info = self.teach.use_taught, self.teach.taught_info
        self.add_strokes_layer, self.run_teach = self.teach.add_strokes_layer, self.teach.run_teach
        self.defects = create_widget(annotation=Labels, label="defects")
        self.counts = hint("")  # what Mend will change, per class
        self._counted = None  # the defects layer whose edits update self.counts
        self.fill_method = ComboBox(label="fill", choices=list(fill_names()), value="auto")
        self.inpainter_model = ComboBox(label="fill model",
                                        choices=_model_choices("inpainter", DEFAULT_INPAINTER))
        self.mend_button = PushButton(text="Mend")
        self.save_path = FileEdit(label="bundle", mode="w", filter="*.mend")
        self.overwrite = CheckBox(text="overwrite", value=False,
                                  tooltip="replace a bundle of that name")
        self.save_button = PushButton(text="Save bundle")
        self.folder = FolderSection(runner=self.runner, detector=self._detector,
                                    fill=self._fill)

        self.sections = {
            "detect": Section("1. Detect", [
                self.detect_method, self.detector_model, self.model_info, self.classes,
                self.legend, self.detect_button, self.detect_all_button, self.sensitivity,
                self.complete_text]),
            "teach": self.teach,
            "check": Section("2. Check", [
                self.defects, hint("Edit the defects layer with napari's brush and eraser."),
                self.counts]),
            "mend": Section("3. Mend", [self.fill_method, self.inpainter_model, self.mend_button]),
            "save": Section("4. Save", [self.save_path, self.overwrite, self.save_button]),
            "folder": self.folder,
        }
        super().__init__(labels=False)
        scroll_dock(self, Container(widgets=[self.image, *self.sections.values()]))
        self.runner.controls = [self.detect_button, self.detect_all_button,
                                self.teach.teach_button, self.teach.save_taught_button,
                                self.mend_button, self.save_button,
                                self.folder.mend_folder_button]
        self.detect_button.changed.connect(self.run_detect)
        self.detect_all_button.changed.connect(self.run_detect_all)
        self.sensitivity.changed.connect(self._rethreshold)
        self.classes.changed.connect(self._rethreshold)
        self.complete_text.changed.connect(self._rethreshold)
        self.mend_button.changed.connect(self.run_mend)
        self.save_button.changed.connect(self.save_bundle)
        self.detect_method.changed.connect(self._show_model)
        self.detector_model.changed.connect(self._show_model)
        self.fill_method.changed.connect(self._show_fill_model)
        self.defects.changed.connect(self._watch_defects)
        self._show_fill_model()
        self._show_model()
        connect_while_alive(MODEL_EVENTS.changed, self._refresh_models, self)
        follow_viewer(self, viewer, self._refresh_choices)

    # --- helpers -------------------------------------------------------
    def _refresh_choices(self, event=None):
        self.image.reset_choices()
        self.defects.reset_choices()

    def _refresh_models(self, *args):
        """Re-list the models (a model was trained or imported)."""
        self.detector_model.reset_choices()
        self.inpainter_model.reset_choices()

    def _show_fill_model(self, event=None):
        self.inpainter_model.visible = fill_model(self.fill_method.value) is not None

    def _show_model(self, event=None):
        learned = self.detect_method.value != "classical"
        self.detector_model.visible = learned
        if not learned:
            self.model_info.value = "classical: scratch, dust, blotch"
            return
        card = card_or_none(self.detector_model.value)
        if card is None:
            self.model_info.value = "no detector model installed"
            return
        names = card.get("classes", DEFECT_CLASSES).values()  # label value -> class name
        self.model_info.value = f"model: {card['name']} ({', '.join(names)})"

    @property
    def threshold(self) -> float:
        return round(1.0 - self.sensitivity.value, 6)

    def _selected_classes(self):
        return list(self.classes.value)

    def _label_parameters(self) -> dict:
        return {"threshold": self.threshold, "classes": self._selected_classes(),
                "complete_text": self.complete_text.value}

    def _labels_task(self, scores, data, axis):
        """A worker task: Labels of ``scores`` at the current settings, as numpy.

        Text is completed from the image ``data`` when asked. Lazy (dask)
        scores are computed block by block with progress; the Labels
        themselves are always computed, since the curator edits them.
        """
        threshold, classes = self.threshold, self._selected_classes()
        complete = self.complete_text.value and may_find_text(scores.method, classes)

        def task(progress):
            labels = scores.labels(threshold=threshold, classes=classes)
            if complete:
                labels = complete_text(data, labels, channel_axis=axis)
            if is_lazy(labels):
                (labels,) = lazy_compute(labels, progress=progress)
            return labels

        return task

    def _teach_base_model(self):
        """The detector network the Teach step starts from (``None``: the classical features)."""
        return self.detector_model.value if self.detect_method.value == "learned" else None

    def _detector(self):
        """``(method, model)`` of the Detect step: the taught model when it is chosen."""
        if self.teach.taught_model is not None:
            return "learned", self.teach.taught_model
        return self.detect_method.value, self._teach_base_model()

    def _fill(self):
        """``(method, model)`` of the Mend step: the fill and its inpainter model, if any."""
        method = self.fill_method.value
        return method, fill_model(method, self.inpainter_model.value)

    # --- Detect --------------------------------------------------------
    def run_detect(self, event=None):
        """Start detection on the chosen image (in a worker thread)."""
        layer = chosen_layer(self.image)
        if layer is None:
            return None
        data = layer_data(layer)
        method, model = self._detector()
        axis = channel_axis(layer)

        def compute(progress):
            scores = detect_scores(data, channel_axis=axis, method=method, model=model,
                                   progress=progress)
            return scores, self._labels_task(scores, data, axis)(progress)

        return self.runner.run(compute, lambda r: self._detected(layer, data, *r), "detect",
                               near=self.detect_button)

    def run_detect_all(self, event=None):
        """Detect in every open image (not the napari-mend outputs), in one worker."""
        layers = [layer for layer in self._viewer.layers
                  if isinstance(layer, Image) and not layer.name.endswith(" mended")]
        if not layers:
            show_info("napari-mend: open some images first")
            return None
        method, model = self._detector()
        jobs = [(layer, layer_data(layer), channel_axis(layer)) for layer in layers]

        def compute(progress):
            results = []
            for i, (layer, data, axis) in enumerate(jobs):
                step = scaled(progress, i, len(jobs))
                scores = detect_scores(data, channel_axis=axis, method=method, model=model,
                                       progress=step)
                results.append((layer, data, scores,
                                self._labels_task(scores, data, axis)(step)))
            return results

        def done(results):
            for layer, data, scores, labels in results:
                self._detected(layer, data, scores, labels)

        return self.runner.run(compute, done, "detect all", near=self.detect_all_button)

    def _detected(self, layer, data, scores, labels):
        self._scores[id(layer)] = scores
        provenance = scores.provenance(data, labels, **self._label_parameters())
        target = show_labels_result(
            self._viewer, layer, labels, defects_layer_name(layer.name),
            {"provenance": provenance, "source": layer.name, "scores_of": layer.name},
            **defects_layer_kwargs())
        if layer is self.image.value:
            self.defects.value = target
        n = int((labels > 0).sum())
        show_info(f"napari-mend: {n} defect pixels found in {layer.name!r}")

    # --- Check ---------------------------------------------------------
    def _watch_defects(self, event=None):
        """Show the chosen defects layer's counts, and keep them current as it is edited."""
        if self._counted is not None:
            for emitter in (self._counted.events.data, self._counted.events.paint):
                emitter.disconnect(self._show_counts)
        self._counted = self.defects.value
        if self._counted is not None:
            for emitter in (self._counted.events.data, self._counted.events.paint):
                emitter.connect(self._show_counts)
        self._show_counts()

    def _show_counts(self, event=None):
        """What Mend will change: the pixels of each class in the defects layer."""
        layer = self.defects.value
        if layer is None or is_lazy(layer.data):
            self.counts.value = ""
            return
        counts = class_counts(layer.data)
        self.counts.value = ("Mend will change: " + ", ".join(
            f"{name} {n:,} px" for name, n in counts.items())) if counts else "nothing to mend"

    def _rethreshold(self, event=None):
        """Re-threshold cached scores into the defects layer.

        In-memory scores are re-thresholded at once, without recomputation;
        lazy scores (dask-backed images) are recomputed block by block in the
        background.
        """
        layer = self.image.value
        scores = self._scores.get(id(layer)) if layer is not None else None
        target = (layer_by_name(self._viewer, defects_layer_name(layer.name))
                  if layer is not None else None)
        if scores is None or not isinstance(target, Labels):
            return
        parameters = self._label_parameters()

        def apply(labels):
            target.data = labels
            target.metadata.setdefault("provenance", {}).setdefault("parameters", {})
            target.metadata["provenance"]["parameters"].update(parameters)

        task = self._labels_task(scores, layer_data(layer), channel_axis(layer))
        if is_lazy(scores.scores):
            self.runner.run(task, apply, "re-threshold", near=self.detect_button)
        else:
            apply(task(None))

    # --- Mend ----------------------------------------------------------
    def run_mend(self, event=None):
        """Mend the defects layer's pixels of the chosen image, each class with its remover.

        Scratches, dust, blotches and text are filled with the chosen method;
        watermark labels are inverted where their opacity allows and moire
        labels filtered (:func:`napari_mend.restore.mend_labels`). Runs in a
        worker thread.
        """
        layer, defects = self.image.value, self.defects.value
        if layer is None or defects is None:
            show_info("napari-mend: choose an image and a defects layer (press Detect first)")
            return None
        data = layer_data(layer)
        mask = np.asarray(defects.data).copy()
        method, model = self._fill()
        axis = channel_axis(layer)

        def compute(progress):
            return mend_labels(data, mask, channel_axis=axis, fill=method, model=model,
                               progress=progress, return_provenance=True)

        def done(result):
            self._mended(layer, mask, *result)

        return self.runner.run(compute, done, "mend", near=self.mend_button)

    def _mended(self, layer, mask, mended, provenance):
        show_image_result(self._viewer, layer, mended, mended_layer_name(layer.name),
                          {"provenance": provenance, "source": layer.name})
        show_info(f"napari-mend: mended {int((mask > 0).sum())} pixels of {layer.name!r}")

    # --- Save ----------------------------------------------------------
    def save_bundle(self, event=None):
        """Write original, defects, mended and provenance as a ``.mend`` bundle (in a worker)."""
        layer, defects = self.image.value, self.defects.value
        mended = (layer_by_name(self._viewer, mended_layer_name(layer.name))
                  if layer is not None else None)
        if layer is None or defects is None or mended is None:
            show_info("napari-mend: press Detect and Mend first, then Save bundle")
            return None
        overwrite = self.overwrite.value
        path = chosen_path(self.save_path, suffix=".mend", what="the bundle",
                           overwrite=overwrite)
        if path is None:
            return None
        original, labels, result = layer.data, defects.data, mended.data
        provenance = mended.metadata.get("provenance", {})
        axis = channel_axis(layer)

        def write(progress):
            return write_bundle(path, original=np.asarray(original), labels=np.asarray(labels),
                                mended=np.asarray(result), provenance=provenance,
                                channel_axis=axis, overwrite=overwrite)

        return self.runner.run(write, lambda p: show_info(f"napari-mend: saved {p}"), "save",
                               near=self.save_button)

"""The "Mend defects" dock widget: image -> Detect -> edit defects -> Mend -> Save."""

from __future__ import annotations

from pathlib import Path

import napari
import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    FloatSlider,
    Label,
    PushButton,
    Select,
    create_widget,
)
from napari.layers import Image, Labels
from napari.utils.notifications import show_info

from ..classes import CLASS_COLORS, DEFECT_CLASSES, class_counts
from ..detection.api import METHODS as DETECT_METHODS
from ..detection.api import detect_scores
from ..detection.api import DEFAULT_DETECTOR
from ..detection.text_completion import complete_text, may_find_text
from ..inpainting.api import DEFAULT_INPAINTER
from ..inpainting.api import METHODS as FILL_METHODS
from ..inpainting.api import method_model as fill_model
from ..io.provenance import make_provenance
from ..layer_style import defects_layer_kwargs, defects_layer_name, mended_layer_name
from ..models.registry import TAUGHT_KIND, card_or_none, list_models
from ..restore import mend_labels
from ..teach.model import CLEAN_LABEL
from ..scale.lazy import compute as lazy_compute
from ..scale.lazy import is_lazy
from ._events import MODEL_EVENTS, connect_while_alive
from ._worker import TaskRunner


def _channel_axis(layer: Image):
    return -1 if layer.rgb else None


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


def strokes_layer_name(image_name: str) -> str:
    """Name of the strokes layer the curator paints on ``image_name`` to teach a detector."""
    return f"{image_name} strokes"


def _strokes_layer_kwargs() -> dict:
    """The defects colours for 1..6 and green for :data:`CLEAN_LABEL`, with class names."""
    kwargs = defects_layer_kwargs()
    kwargs["colormap"] = {**kwargs["colormap"], CLEAN_LABEL: "#20c020"}
    kwargs["features"] = {"index": [*kwargs["features"]["index"], CLEAN_LABEL],
                          "class": [*kwargs["features"]["class"][:1], *DEFECT_CLASSES.values(),
                                    "clean (taught)"]}
    kwargs["features"]["class"][0] = "not marked"
    return kwargs


def _layer_data(layer):
    """A layer's data: dask and zarr arrays stay lazy (bounded memory), the rest as numpy."""
    return layer.data if is_lazy(layer.data) else np.asarray(layer.data)


class MendWidget(Container):
    """Dock widget that detects defects, lets the curator edit them, and mends them."""

    def __init__(self, viewer: napari.viewer.Viewer):
        self._viewer = viewer
        self._scores = {}  # image layer id -> DefectScores

        self.image = create_widget(annotation=Image, label="image")
        self.detect_method = ComboBox(label="detector", choices=list(DETECT_METHODS),
                                      value=DETECT_METHODS[0])
        self.detector_model = ComboBox(label="model",
                                       choices=_model_choices("detector", DEFAULT_DETECTOR))
        self.model_info = Label(value="")
        self.classes = Select(label="classes", choices=list(DEFECT_CLASSES.values()),
                              value=list(DEFECT_CLASSES.values()))
        self.classes.native.setMaximumHeight(110)
        self.legend = Label(value=" ".join(
            f'<span style="color:{CLASS_COLORS[v]}">&#9632;</span>&nbsp;{v}&nbsp;{name}'
            for v, name in DEFECT_CLASSES.items()))
        self.strokes_button = PushButton(
            text="Add strokes layer",
            tooltip=f"paint defects with their class (1..6) and clean pixels with {CLEAN_LABEL}")
        self.teach_button = PushButton(text="Teach",
                                       tooltip="fit a detector to the strokes, then detect")
        self.use_taught = CheckBox(text="detect with the taught model", value=False,
                                   enabled=False)
        self.taught_info = Label(value="")
        self.detect_all_button = PushButton(text="Detect in every open image")
        self.taught_path = FileEdit(label="taught model", mode="w", filter="*.mendmodel")
        self.save_taught_button = PushButton(text="Save taught model")
        self._taught = None  # the last TaughtModel
        self.detect_button = PushButton(text="Detect")
        self.sensitivity = FloatSlider(label="sensitivity", min=0.0, max=1.0, step=0.01,
                                       value=0.5)
        self.complete_text = CheckBox(text="grow found text to whole annotations", value=True,
                                      tooltip="missed glyphs next to found ones, anti-aliased "
                                              "rims and label backgrounds join the text")
        self.defects = create_widget(annotation=Labels, label="defects")
        self.edit_hint = Label(value="Edit the defects layer with napari's brush and eraser.")
        self.counts = Label(value="")  # what Mend will change, per class
        self._counted = None  # the defects layer whose edits update self.counts
        self.fill_method = ComboBox(label="fill", choices=list(FILL_METHODS), value="auto")
        self.inpainter_model = ComboBox(label="fill model",
                                        choices=_model_choices("inpainter", DEFAULT_INPAINTER))
        self.mend_button = PushButton(text="Mend")
        self.save_path = FileEdit(label="bundle", mode="w", filter="*.mend")
        self.save_button = PushButton(text="Save bundle")
        self.runner = TaskRunner()

        super().__init__(widgets=[
            self.image,
            Label(value="<b>1. Detect</b>"), self.detect_method, self.detector_model,
            self.model_info, self.classes, self.legend,
            Label(value=f"<i>Teach by example (optional): paint defects 1..6 and clean "
                        f"{CLEAN_LABEL}</i>"),
            self.strokes_button, self.teach_button, self.use_taught, self.taught_info,
            self.detect_button, self.detect_all_button, self.sensitivity, self.complete_text,
            Label(value="<b>2. Check</b>"), self.defects, self.edit_hint, self.counts,
            Label(value="<b>3. Mend</b>"), self.fill_method, self.inpainter_model, self.mend_button,
            Label(value="<b>4. Save</b>"), self.save_path, self.save_button,
            self.taught_path, self.save_taught_button,
            self.runner,
        ])
        self.detect_button.changed.connect(self.run_detect)
        self.strokes_button.changed.connect(self.add_strokes_layer)
        self.teach_button.changed.connect(self.run_teach)
        self.detect_all_button.changed.connect(self.run_detect_all)
        self.save_taught_button.changed.connect(self.save_taught)
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
        for event in (viewer.layers.events.inserted, viewer.layers.events.removed):
            event.connect(self._refresh_choices)

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

    def _layer_by_name(self, name):
        return self._viewer.layers[name] if name in self._viewer.layers else None

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

    # --- Teach ---------------------------------------------------------
    def add_strokes_layer(self, event=None):
        """Add (or select) an empty ``"<image> strokes"`` Labels layer to paint on."""
        layer = self.image.value
        if layer is None:
            show_info("napari-mend: open or choose an image first")
            return None
        name = strokes_layer_name(layer.name)
        existing = self._layer_by_name(name)
        if isinstance(existing, Labels):
            target = existing
        else:
            shape = layer.data.shape[:-1] if layer.rgb else layer.data.shape
            target = self._viewer.add_labels(
                np.zeros(shape, np.uint8), name=name, scale=layer.scale[-len(shape):],
                translate=layer.translate[-len(shape):], metadata={"source": layer.name},
                **_strokes_layer_kwargs())
        target.selected_label = 1
        target.mode = "paint"
        self._viewer.layers.selection.active = target
        return target

    def _strokes_pairs(self):
        """``(image layer, strokes)`` for every image with a painted strokes layer."""
        pairs = []
        for layer in list(self._viewer.layers):
            strokes = self._layer_by_name(strokes_layer_name(layer.name))
            if isinstance(layer, Image) and isinstance(strokes, Labels):
                marks = np.asarray(strokes.data)
                if marks.any():
                    pairs.append((layer, marks.copy()))
        return pairs

    def run_teach(self, event=None):
        """Fit a detector to every image's strokes (in a worker), then detect with it."""
        from ..teach import teach

        pairs = self._strokes_pairs()
        if not pairs:
            show_info("napari-mend: press 'Add strokes layer' and paint some defects "
                      f"(1..6) and clean pixels ({CLEAN_LABEL}) first")
            return None
        if len({layer.rgb for layer, _ in pairs}) > 1:
            show_info("napari-mend: the painted images mix gray and colour; paint images "
                      "of one kind")
            return None
        images = [np.asarray(layer.data) for layer, _ in pairs]
        strokes = [marks for _, marks in pairs]
        axis = _channel_axis(pairs[0][0])
        model = self.detector_model.value if self.detect_method.value == "learned" else None
        taught = {}

        def compute(progress):
            return teach(images, strokes, channel_axis=axis, base_model=model, progress=progress)

        def done(result):
            taught["model"] = result
            self._set_taught(result)

        def finished():
            if "model" in taught:  # detect with it once the runner is free
                self.run_detect()

        return self.runner.run(compute, done, "teach", on_finished=finished)

    def _set_taught(self, model):
        self._taught = model
        self.use_taught.enabled = True
        self.use_taught.value = True
        card = model.card
        self.taught_info.value = (
            f"taught: {', '.join(card['classes'].values())} vs clean "
            f"({sum(card['strokes'].values())} stroke px, {card['teach_seconds']:.1f} s)")

    def save_taught(self, event=None):
        """Write the taught model as a ``.mendmodel`` file to share."""
        if self._taught is None:
            show_info("napari-mend: teach a model first")
            return None
        path = Path(self.taught_path.value)
        model = self._taught
        return self.runner.run(lambda progress: model.save(path, overwrite=True),
                               lambda p: show_info(f"napari-mend: saved {p}"), "save model")

    def _detector(self):
        """``(method, model)`` of the Detect step: the taught model when it is chosen."""
        if self.use_taught.value and self._taught is not None:
            return "learned", self._taught
        method = self.detect_method.value
        return method, (self.detector_model.value if method == "learned" else None)

    def run_detect_all(self, event=None):
        """Detect in every open image (not the napari-mend outputs), in one worker."""
        suffixes = (" mended",)
        layers = [layer for layer in self._viewer.layers
                  if isinstance(layer, Image) and not layer.name.endswith(suffixes)]
        if not layers:
            show_info("napari-mend: open some images first")
            return None
        method, model = self._detector()
        jobs = [(layer, _layer_data(layer), _channel_axis(layer)) for layer in layers]
        threshold, classes = self.threshold, self._selected_classes()
        complete = self.complete_text.value

        def compute(progress):
            from ..progress import scaled

            results = []
            for i, (layer, data, axis) in enumerate(jobs):
                step = scaled(progress, i, len(jobs))
                scores = detect_scores(data, channel_axis=axis, method=method, model=model,
                                       progress=step)
                labels = scores.labels(threshold=threshold, classes=classes)
                if complete and may_find_text(scores.method, classes):
                    labels = complete_text(data, labels, channel_axis=axis)
                if is_lazy(labels):
                    (labels,) = lazy_compute(labels, progress=step)
                results.append((layer, data, scores, labels))
            return results

        def done(results):
            for layer, data, scores, labels in results:
                self._detected(layer, data, scores, labels)

        return self.runner.run(compute, done, "detect all")

    # --- Detect --------------------------------------------------------
    def run_detect(self, event=None):
        """Start detection on the chosen image (in a worker thread)."""
        layer = self.image.value
        if layer is None:
            show_info("napari-mend: open or choose an image first")
            return None
        data = _layer_data(layer)
        method, model = self._detector()
        axis = _channel_axis(layer)

        def compute(progress):
            scores = detect_scores(data, channel_axis=axis, method=method, model=model,
                                   progress=progress)
            return scores, self._labels_task(scores, data, axis)(progress)

        return self.runner.run(compute, lambda r: self._detected(layer, data, *r), "detect")

    def _detected(self, layer, data, scores, labels):
        self._scores[id(layer)] = scores
        name = defects_layer_name(layer.name)
        provenance = make_provenance(
            operation="detect", method=scores.method,
            parameters=self._label_parameters(), image=data, mask=labels, model=scores.model,
        )
        existing = self._layer_by_name(name)
        if isinstance(existing, Labels):
            existing.data = labels
            existing.metadata["provenance"] = provenance
            target = existing
        else:
            target = self._viewer.add_labels(
                labels, name=name, scale=layer.scale[-labels.ndim:],
                translate=layer.translate[-labels.ndim:],
                metadata={"provenance": provenance, "source": layer.name},
                **defects_layer_kwargs(),
            )
        target.metadata["scores_of"] = layer.name
        if layer is self.image.value:
            self.defects.value = target
        n = int((labels > 0).sum())
        show_info(f"napari-mend: {n} defect pixels found in {layer.name!r}")

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
        target = self._layer_by_name(defects_layer_name(layer.name)) if layer is not None else None
        if scores is None or not isinstance(target, Labels):
            return
        parameters = self._label_parameters()

        def apply(labels):
            target.data = labels
            target.metadata.setdefault("provenance", {}).setdefault("parameters", {})
            target.metadata["provenance"]["parameters"].update(parameters)

        task = self._labels_task(scores, _layer_data(layer), _channel_axis(layer))
        if is_lazy(scores.scores):
            self.runner.run(task, apply, "re-threshold")
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
        data = _layer_data(layer)
        mask = np.asarray(defects.data).copy()
        method = self.fill_method.value
        model = fill_model(method, self.inpainter_model.value)
        axis = _channel_axis(layer)

        def compute(progress):
            return mend_labels(data, mask, channel_axis=axis, fill=method, model=model,
                               progress=progress)

        def done(mended):
            self._mended(layer, data, mask, mended, method, model)

        return self.runner.run(compute, done, "mend")

    def _mended(self, layer, data, mask, mended, method, model=None):
        provenance = make_provenance(
            operation="mend_labels", method=method,
            parameters={"channel_axis": _channel_axis(layer), "fill": method},
            image=data, mask=mask, model=card_or_none(model),
        )
        name = mended_layer_name(layer.name)
        existing = self._layer_by_name(name)
        metadata = {"provenance": provenance, "source": layer.name}
        if isinstance(existing, Image):
            existing.data = mended
            existing.metadata.update(metadata)
        else:
            self._viewer.add_image(
                mended, name=name, rgb=layer.rgb, colormap=layer.colormap,
                contrast_limits=layer.contrast_limits, scale=layer.scale,
                translate=layer.translate, metadata=metadata,
            )
        show_info(f"napari-mend: mended {int((mask > 0).sum())} pixels of {layer.name!r}")

    # --- Save ----------------------------------------------------------
    def save_bundle(self, event=None):
        """Write original, defects, mended and provenance as a ``.mend`` bundle (in a worker)."""
        from ..io.bundle import write_bundle

        layer, defects = self.image.value, self.defects.value
        mended = self._layer_by_name(mended_layer_name(layer.name)) if layer is not None else None
        if layer is None or defects is None or mended is None:
            show_info("napari-mend: detect and mend first, then save the bundle")
            return None
        path = Path(self.save_path.value)
        if path.suffix != ".mend":
            path = path.with_suffix(".mend")
        original, labels, result = layer.data, defects.data, mended.data
        provenance = mended.metadata.get("provenance", {})
        axis = _channel_axis(layer)

        def write(progress):
            return write_bundle(path, original=np.asarray(original), labels=np.asarray(labels),
                                mended=np.asarray(result), provenance=provenance,
                                channel_axis=axis)

        return self.runner.run(write, lambda p: show_info(f"napari-mend: saved {p}"), "save")

"""The "Teach by example" section of the Mend defects dock.

The curator paints a few strokes on an image (defects with their class
1..6, clean pixels with :data:`~napari_mend.teaching.model.CLEAN_LABEL`);
Teach fits a detector to them in a worker thread, and the Detect step can
then use the taught model, which can be saved to share.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import CheckBox, FileEdit, PushButton
from napari.layers import Image, Labels
from napari.utils.notifications import show_info

from ..classes import CLEAN_LABEL, DEFECT_CLASSES
from ..layer_style import defects_layer_kwargs
from .dock_layout import Section, hint
from .file_choice import chosen_path
from .viewer_layers import channel_axis, chosen_layer, layer_by_name, show_labels_result


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


class TeachSection(Section):
    """Strokes layer, Teach, "detect with the taught model", and saving the taught model.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer whose image layers are painted on.
    image : magicgui widget
        The dock's image chooser: strokes are added to its image.
    runner : TaskRunner
        The dock's runner; teaching and saving run there.
    base_model : callable
        Returns the detector model name to teach on top of (or ``None``).
    on_taught : callable
        Called once a model was taught and the runner is free (the dock detects with it).
    """

    def __init__(self, viewer, *, image, runner, base_model, on_taught):
        self._viewer, self._image, self._runner = viewer, image, runner
        self._base_model, self._on_taught = base_model, on_taught
        self._taught = None  # the last TaughtModel
        self.strokes_button = PushButton(
            text="Add strokes layer",
            tooltip=f"paint defects with their class (1..6) and clean pixels with {CLEAN_LABEL}")
        self.from_base = CheckBox(
            text="start from the detector's decisions", value=True,
            tooltip="keep what the detector finds where your strokes agree with it, and give "
                    "a class it knows only where it scores the class at all; untick to learn "
                    "from your strokes alone (when it misses what you painted)")
        self.teach_button = PushButton(text="Teach",
                                       tooltip="fit a detector to the strokes, then detect")
        self.use_taught = CheckBox(text="detect with the taught model", value=False,
                                   enabled=False)
        self.taught_info = hint("")
        self.taught_path = FileEdit(label="taught model", mode="w", filter="*.mendmodel")
        self.save_taught_button = PushButton(text="Save taught model")
        super().__init__("Teach by example (optional)", [
            hint(f"Paint a few defects with their class (1..6) and clean pixels with "
                 f"{CLEAN_LABEL} on a strokes layer, then press Teach."),
            self.strokes_button, self.from_base, self.teach_button, self.use_taught,
            self.taught_info,
            self.taught_path, self.save_taught_button,
        ], expanded=False)
        self.strokes_button.changed.connect(self.add_strokes_layer)
        self.teach_button.changed.connect(self.run_teach)
        self.save_taught_button.changed.connect(self.save_taught)

    @property
    def taught_model(self):
        """The taught model when the curator chose to detect with it, else ``None``."""
        return self._taught if self.use_taught.value else None

    def add_strokes_layer(self, event=None):
        """Add (or select) an empty ``"<image> strokes"`` Labels layer to paint on."""
        layer = chosen_layer(self._image)
        if layer is None:
            return None
        name = strokes_layer_name(layer.name)
        target = layer_by_name(self._viewer, name)
        if not isinstance(target, Labels):
            shape = layer.data.shape[:-1] if layer.rgb else layer.data.shape
            target = show_labels_result(self._viewer, layer, np.zeros(shape, np.uint8), name,
                                        {"source": layer.name}, **_strokes_layer_kwargs())
        target.selected_label = 1
        target.mode = "paint"
        self._viewer.layers.selection.active = target
        return target

    def _strokes_pairs(self):
        """``(image layer, strokes)`` for every image with a painted strokes layer."""
        pairs = []
        for layer in list(self._viewer.layers):
            strokes = layer_by_name(self._viewer, strokes_layer_name(layer.name))
            if isinstance(layer, Image) and isinstance(strokes, Labels):
                marks = np.asarray(strokes.data)
                if marks.any():
                    pairs.append((layer, marks.copy()))
        return pairs

    def run_teach(self, event=None):
        """Fit a detector to every image's strokes (in a worker), then detect with it."""
        from ..teaching import teach  # deferred: torch, only when teaching

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
        axis = channel_axis(pairs[0][0])
        model = self._base_model()
        from_base = None if self.from_base.value else False  # None: teach's default
        taught = {}

        def compute(progress):
            return teach(images, strokes, channel_axis=axis, base_model=model,
                         from_base=from_base, progress=progress)

        def done(result):
            taught["model"] = result
            self._set_taught(result)

        def finished():
            if "model" in taught:  # detect with it once the runner is free
                self._on_taught()

        return self._runner.run(compute, done, "teach", near=self.teach_button,
                                on_finished=finished)

    def _set_taught(self, model):
        self._taught = model
        self.use_taught.enabled = True
        self.use_taught.value = True
        card = model.card
        self.taught_info.value = (
            f"taught: {', '.join(card['classes'].values())} vs clean "
            f"({sum(card['strokes'].values())} stroke px, {card['teach_seconds']:.1f} s); "
            f"{model.how_taught()}")

    def save_taught(self, event=None):
        """Write the taught model as a ``.mendmodel`` file to share."""
        if self._taught is None:
            show_info("napari-mend: teach a model first")
            return None
        path = chosen_path(self.taught_path, suffix=".mendmodel", what="the taught model")
        if path is None:
            return None
        model = self._taught
        return self._runner.run(lambda progress: model.save(path, overwrite=True),
                                lambda p: show_info(f"napari-mend: saved {p}"), "save model",
                                near=self.save_taught_button)

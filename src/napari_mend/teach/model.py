"""``TaughtModel``: a defect detector taught by example, usable wherever a detector model is."""

from __future__ import annotations

import numpy as np

from ..classes import DEFECT_CLASSES
from .features import FeatureSettings, pixel_features

CLEAN_LABEL = 7
"""Strokes label for pixels the curator marks as clean (not a defect).

It is the next label after the six defect classes, so in napari's Labels
layer controls the brush reaches it with one more click of the label
spin box (or by typing 7)."""

PREDICT_ROWS = 512
"""Rows of a 1024-pixel-wide plane classified at a time, and as many pixels of other widths
(bounds the memory of the class probabilities to about 30 MB; each call of the forest costs a
few milliseconds of thread start-up, so fewer, larger blocks are faster)."""


class TaughtModel:
    """Per-pixel classifier over :mod:`~napari_mend.teach.features`, taught from strokes.

    Made by :func:`napari_mend.teach`, read back by :func:`napari_mend.teach.load`.
    Pass it (or the path of its saved ``.mendmodel`` file) as ``model=`` to
    :func:`napari_mend.detect` / :func:`napari_mend.detect_scores`, or as
    ``detector=`` to :func:`napari_mend.restore`.

    Attributes
    ----------
    classifier : sklearn.ensemble.RandomForestClassifier
        Fitted on the strokes' features; its ``classes_`` are label values
        (``0`` standing for :data:`CLEAN_LABEL`).
    settings : FeatureSettings
        The features it reads.
    card : dict
        Model card: ``name``, ``kind`` (``'taught-detector'``), ``classes``
        (taught defect classes), ``strokes`` (pixels per class), ``samples``,
        ``features``, ``classifier``, ``base_model``, ``teach_seconds``, ...;
        ``sha256`` once saved or loaded.
    """

    kind = "taught-detector"

    def __init__(self, classifier, settings: FeatureSettings, card: dict):
        self.classifier = classifier
        self.settings = settings
        self.card = card

    @property
    def name(self) -> str:
        return self.card.get("name", "taught")

    @property
    def classes(self) -> list[int]:
        """Defect label values it was taught (the others always score 0)."""
        return [int(c) for c in self.classifier.classes_ if c != 0]

    def __repr__(self) -> str:
        names = ", ".join(DEFECT_CLASSES[c] for c in self.classes)
        return f"<TaughtModel {self.name!r}: {names} vs clean, {self.n_features} features>"

    @property
    def n_features(self) -> int:
        return int(self.classifier.n_features_in_)

    def plane_scores(self, raw_plane: np.ndarray, *, progress=None,
                     out: np.ndarray | None = None) -> np.ndarray:
        """Per-class scores ``(6, M, N)`` of one raw ``(M, N, C)`` plane (C = 1 or 3).

        A class's score is the classifier's probability of it: ``>= 0.5`` means it is more
        likely than clean and every other taught class together. Classes not taught score 0.
        """
        from ..progress import report, scaled

        height, width = raw_plane.shape[:2]
        if out is None:
            out = np.zeros((len(DEFECT_CLASSES), height, width), np.float32)
        else:
            out[...] = 0
        expected = self.settings.n_features(raw_plane.shape[-1])
        if expected != self.n_features:
            raise ValueError(f"this model was taught on {'colour' if self.n_features > expected else 'gray'}"
                             f" images ({self.n_features} features); this plane gives {expected}: "
                             "use it on images like those it was taught on")
        features = pixel_features(raw_plane, self.settings, progress=scaled(progress, 0, 2))
        rows = max(1, PREDICT_ROWS * 1024 // max(width, 1))
        columns = [int(c) - 1 for c in self.classifier.classes_]
        for top in range(0, height, rows):
            report(scaled(progress, 1, 2), top, height)
            block = features[top:top + rows].reshape(-1, features.shape[-1])
            proba = self.classifier.predict_proba(block).astype(np.float32)
            proba = proba.reshape(-1, width, proba.shape[-1])
            for j, c in enumerate(columns):
                if c >= 0:
                    out[c, top:top + rows] = proba[..., j]
        report(progress, 2, 2)
        return out

    def detect_scores(self, image, *, channel_axis=None, progress=None):
        """:class:`~napari_mend.DefectScores` of an image or stack (see :func:`napari_mend.detect_scores`)."""
        from .._validation import plane_view
        from ..detection.scores import DefectScores
        from ..progress import report, scaled

        view = plane_view(image, channel_axis=channel_axis)
        spatial = view.spatial_shape
        out = np.empty((view.n_planes, len(DEFECT_CLASSES)) + spatial[-2:], np.float16)
        for i in range(view.n_planes):
            report(progress, i, view.n_planes)
            out[i] = self.plane_scores(view.raw_plane(i),
                                       progress=scaled(progress, i, view.n_planes))
        report(progress, view.n_planes, view.n_planes)
        return DefectScores(scores=out.reshape(spatial[:-2] + out.shape[1:]), method="taught",
                            model=self.card, parameters={"model": self.name})

    def save(self, path, *, overwrite: bool = False):
        """Write the model as one ``.mendmodel`` file (see :mod:`napari_mend.teach.storage`).

        Returns
        -------
        path : pathlib.Path
        """
        from .storage import save

        return save(self, path, overwrite=overwrite)

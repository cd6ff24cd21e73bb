"""``TaughtModel``: a defect detector taught by example, usable wherever a detector model is."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .._validation import plane_view
from ..classes import DEFECT_CLASSES, N_SCORED
from ..detection.scores import DefectScores
from ..models.files import read_model_file
from ..progress import report, scaled
from . import storage
from .features import FeatureSettings, pixel_features

PREDICT_ROWS = 512
"""Rows of a 1024-pixel-wide plane classified at a time, and as many pixels of other widths
(bounds the memory of the class probabilities to about 30 MB; each call of the forest costs a
few milliseconds of thread start-up, so fewer, larger blocks are faster)."""


class TaughtModel:
    """Per-pixel classifier over :mod:`~napari_mend.teaching.features`, taught from strokes.

    Made by :func:`napari_mend.teach`, read back by :func:`napari_mend.teaching.load`.
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

    def plane_scores(self, raw_plane: np.ndarray, *, intensity=None, progress=None,
                     out: np.ndarray | None = None) -> np.ndarray:
        """Per-class scores ``(6, M, N)`` of one raw ``(M, N, C)`` plane (C = 1 or 3).

        A class's score is the classifier's probability of it: ``>= 0.5`` means it is more
        likely than clean and every other taught class together. Classes not taught score 0.
        ``intensity``: the ``(low, high)`` of the whole plane when this is a block of it
        (default the plane's own robust range; see :func:`.features.pixel_features`).
        """

        height, width = raw_plane.shape[:2]
        if out is None:
            out = np.zeros((N_SCORED, height, width), np.float32)
        else:
            out[...] = 0
        expected = self.settings.n_features(raw_plane.shape[-1])
        if expected != self.n_features:
            raise ValueError(f"this model was taught on {'colour' if self.n_features > expected else 'gray'}"
                             f" images ({self.n_features} features); this plane gives {expected}: "
                             "use it on images like those it was taught on")
        features = pixel_features(raw_plane, self.settings, intensity=intensity,
                                  progress=scaled(progress, 0, 2))
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

        view = plane_view(image, channel_axis=channel_axis)
        spatial = view.spatial_shape
        out = np.empty((view.n_planes, N_SCORED) + spatial[-2:], np.float16)
        for i in range(view.n_planes):
            report(progress, i, view.n_planes)
            out[i] = self.plane_scores(view.raw_plane(i),
                                       progress=scaled(progress, i, view.n_planes))
        report(progress, view.n_planes, view.n_planes)
        return DefectScores(scores=out.reshape(spatial[:-2] + out.shape[1:]), method="taught",
                            model=self.card, parameters={"model": self.name})

    def save(self, path, *, overwrite: bool = False):
        """Write the model as one ``.mendmodel`` file (see :mod:`napari_mend.teaching.storage`).

        Returns
        -------
        path : pathlib.Path
        """

        return storage.save(self, path, overwrite=overwrite)


_CACHE: dict = {}


def load(path):
    """Read a taught model file, checking everything before anything is built.

    Parameters
    ----------
    path : path-like
        A file written by :meth:`TaughtModel.save`.

    Returns
    -------
    model : TaughtModel

    Raises
    ------
    TaughtModelError
        (a :class:`napari_mend.models.ModelError`) Not a taught model file,
        larger than the limits, damaged or tampered with (sha256), values of
        the wrong types or out of bounds, or taught on another base network
        than the one installed.
    """
    path = Path(path)
    data = read_model_file(path, storage.TaughtModelError)
    digest = hashlib.sha256(data).hexdigest()
    if digest in _CACHE:
        return _CACHE[digest]
    model = loads(data, source=path)
    _CACHE.clear()  # one file's model kept: batch and the widget load the same file again
    _CACHE[digest] = model
    return model


def loads(data: bytes, *, source="model file"):
    """:func:`load` of the bytes of a file (``source`` names it in messages)."""
    from sklearn.ensemble import RandomForestClassifier  # deferred: scikit-learn is slow to import

    card, forest_bytes, (settings, n_features, params) = storage.card(data, source)
    arrays = storage.arrays(forest_bytes, source)
    classes = storage.check_forest(arrays, n_features, source)
    storage.check_base(card, settings, source)
    forest = RandomForestClassifier(**params)
    storage.rebuild(forest, arrays, classes, n_features)
    return TaughtModel(forest, settings, card)

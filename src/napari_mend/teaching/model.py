"""``TaughtModel``: a defect detector taught by example, usable wherever a detector model is."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from .._validation import plane_view
from ..classes import DEFECT_CLASSES, N_SCORED
from ..detection.scores import DefectScores
from ..models.files import read_model_file
from ..progress import report, scaled
from ..threads import run_side_by_side
from . import storage
from .features import FeatureSettings, feature_names, feature_rows, pixel_features

PREDICT_PIXELS = 1 << 16
"""Pixels classified at a time (64 rows of a 1024-pixel-wide plane). The blocks run side by
side on the configured threads, each forest on one thread: a block's features (8 MB) stay in
the CPU's cache while every tree reads them, where one call of a multi-threaded forest on half
a megapixel streamed them from memory once per tree (0.39 s -> 0.22 s for 32 trees on 1 MP,
2 threads)."""


BASE_THRESHOLD = 0.5
"""Score at which the base network's calibrated class scores call a pixel a defect: its
decision, which a model taught ``from_base`` keeps wherever the strokes agree with it."""
NETWORK_SUPPORT = 0.05
"""A model taught ``from_base`` gives a class the network knows on that class's strokes
(:func:`network_knows`) only where the network scores it at least this: the strokes extend
what the network finds, they do not make it up where the network rules it out. A class the
network does not know on the strokes (one it does not know at all, or a name used for
something else) is learnt freely. Chosen on the selection collections of
``benchmarks/bench_teach.py`` (``--seed 0``), where 0.02 to 0.2 gave about the same mean F1
(docs/teach.md)."""
SUPPORTED_SHARE = 0.1
"""The network knows a class on its strokes when it scores it at least :data:`NETWORK_SUPPORT`
on this share of them (and does not call most of them another class; see
:func:`network_knows`). Chosen on the selection collections of ``benchmarks/bench_teach.py``
(``--seed 0, 100, 200, 300``), where 0.02 to 0.1 gave the same mean F1 and 0.5, the share
before, less (docs/teach.md)."""


@dataclass(frozen=True)
class Branch:
    """The pixels where the base network decides ``root``, and what scores them.

    Attributes
    ----------
    root : int
        The base network's decision among the taught classes (0 clean, else
        the class whose score is highest and at least :data:`BASE_THRESHOLD`);
        -1: every pixel (a model taught on the strokes alone).
    forest : sklearn.ensemble.RandomForestClassifier or None
        Fitted on the strokes of these pixels, over all the model's label
        values; None where the strokes there agree with the base network (or
        there are none): its scores are kept.
    """

    root: int
    forest: object | None


class TaughtModel:
    """Per-pixel classifier over :mod:`~napari_mend.teaching.features`, taught from strokes.

    Made by :func:`napari_mend.teach`, read back by :func:`napari_mend.teaching.load`.
    Pass it (or the path of its saved ``.mendmodel`` file) as ``model=`` to
    :func:`napari_mend.detect` / :func:`napari_mend.detect_scores`, or as
    ``detector=`` to :func:`napari_mend.restore`.

    Attributes
    ----------
    branches : list of Branch
        One per decision of the base network among the taught classes (taught
        ``from_base``), or one for every pixel.
    labels : tuple of int
        Label values it tells apart: 0 (standing for :data:`CLEAN_LABEL`) and
        the taught classes.
    support : tuple of float
        Per label value, the base network's score below which a forest may
        not give that class (0: no such limit; see :data:`NETWORK_SUPPORT`).
    settings : FeatureSettings
        The features it reads.
    card : dict
        Model card: ``name``, ``kind`` (``'taught-detector'``), ``classes``
        (taught defect classes), ``strokes`` (pixels per class), ``samples``,
        ``features``, ``classifier``, ``from_base``, ``branches``, ``base_model``,
        ``teach_seconds``, ...; ``sha256`` once saved or loaded.
    """

    kind = "taught-detector"

    def __init__(self, branches, labels, settings: FeatureSettings, card: dict, support=None):
        self.branches = list(branches)
        self.labels = tuple(int(v) for v in labels)
        self.support = tuple(float(v) for v in (support if support is not None
                                                else [0.0] * len(self.labels)))
        self.settings = settings
        self.card = card
        for branch in self.branches:  # plane_scores runs blocks side by side, a forest each
            if branch.forest is not None:
                branch.forest.n_jobs = 1
        self._n_features = int(card["n_features"])
        # the features holding the network's score of each taught class, where parts read it
        split = self.branches[0].root >= 0
        self._columns = dict(zip(self.classes, score_columns(settings, self._n_features,
                                                             self.classes))) if split else {}
        self._floor = dict(zip(self.labels, self.support))
        # what it reads: the network's scores (where parts read them) and its trees' splits;
        # feature groups read by neither are not computed
        read = set(self._columns.values())
        for branch in self.branches:
            for tree in branch.forest.estimators_ if branch.forest is not None else ():
                read.update(tree.tree_.feature[tree.tree_.feature >= 0].tolist())
        self._read = sorted(read)

    @property
    def name(self) -> str:
        return self.card.get("name", "taught")

    @property
    def classes(self) -> list[int]:
        """Defect label values it was taught (the others always score 0)."""
        return [v for v in self.labels if v != 0]

    def __repr__(self) -> str:
        names = ", ".join(DEFECT_CLASSES[c] for c in self.classes)
        return f"<TaughtModel {self.name!r}: {names} vs clean, {self.n_features} features>"

    @property
    def n_features(self) -> int:
        return self._n_features

    def how_taught(self) -> str:
        """One line on what decides where: the base network, or forests fitted to the strokes."""
        if self.branches[0].root < 0:
            return "one forest fitted to the strokes alone"
        changed = [_part_name(b.root) for b in self.branches if b.forest is not None]
        kept = [_part_name(b.root) for b in self.branches if b.forest is None]
        if not changed:
            return "the network's decisions: every stroke agrees with them"
        text = f"the strokes correct the network where it finds {' or '.join(changed)}"
        if kept:
            text += f"; its decisions kept where it finds {' or '.join(kept)}"
        limited = [DEFECT_CLASSES[c] for c in self.classes if self._floor[c]]
        if limited:  # the strokes of these classes where the network rules them out are not learnt
            text += (f"; {' and '.join(limited)} given only where the network scores "
                     f"{'it' if len(limited) == 1 else 'them'} at least {NETWORK_SUPPORT:g}")
        return text

    def plane_scores(self, raw_plane: np.ndarray, *, intensity=None,
                     progress=None) -> np.ndarray:
        """Per-class scores ``(6, M, N)`` of one raw ``(M, N, C)`` plane (C = 1 or 3).

        A class's score is the base network's where the strokes agreed with it, else
        the classifier's probability of it (``>= 0.5``: more likely than clean and every
        other taught class together; 0 where the network's score is below the class's
        :attr:`support`). Classes not taught score 0.
        ``intensity``: the ``(low, high)`` of the whole plane when this is a block of it
        (default the plane's own robust range; see :func:`.features.pixel_features`).
        """

        height, width = raw_plane.shape[:2]
        out = np.zeros((N_SCORED, height, width), np.float32)
        expected = self.settings.n_features(raw_plane.shape[-1])
        if expected != self.n_features:
            raise ValueError(f"this model was taught on {'colour' if self.n_features > expected else 'gray'}"
                             f" images ({self.n_features} features); this plane gives {expected}: "
                             "use it on images like those it was taught on")
        features = pixel_features(raw_plane, self.settings, intensity=intensity,
                                  only=self._read, progress=scaled(progress, 0, 2))
        rows = max(1, PREDICT_PIXELS // max(width, 1))

        def score_rows(top):
            block = feature_rows(features, slice(top, top + rows))
            scores = np.zeros((N_SCORED, block.shape[0]), np.float32)
            self._score_block(block, scores)
            out[:, top:top + rows] = scores.reshape(N_SCORED, -1, width)

        run_side_by_side([partial(score_rows, top) for top in range(0, height, rows)],
                         progress=scaled(progress, 1, 2))
        report(progress, 2, 2)
        return out

    def _score_block(self, block: np.ndarray, dest: np.ndarray) -> None:
        """Write the scores of the pixels ``block`` (P, F) into ``dest`` (6, P)."""
        if self.branches[0].root < 0:  # one forest for every pixel
            self._branch_scores(self.branches[0], block, slice(None), dest)
            return
        decision = base_decision(block, self._columns)
        counts = {b.root: np.count_nonzero(decision == b.root) for b in self.branches}
        largest = max(self.branches, key=lambda b: counts[b.root])
        # the largest part scores the whole block (no copy of its rows), the others then
        # overwrite their own pixels
        self._branch_scores(largest, block, slice(None), dest)
        for branch in self.branches:
            if branch is not largest and counts[branch.root]:
                self._branch_scores(branch, block, np.flatnonzero(decision == branch.root), dest)

    def _branch_scores(self, branch: Branch, block: np.ndarray, where, dest: np.ndarray) -> None:
        """Write ``branch``'s scores of the pixels ``block[where]`` into ``dest[:, where]``."""
        if branch.forest is None:
            for c, column in self._columns.items():
                dest[c - 1, where] = block[where, column]
            return
        classes = [int(c) for c in branch.forest.classes_]
        given = [c for c in classes if c]
        if given and all(self._floor[c] for c in given):
            # every class it gives is limited to the network's support: the forest runs only
            # where some class has it (a few percent of a clean part), the rest scores 0
            where = np.arange(block.shape[0]) if isinstance(where, slice) else where
            supported = np.zeros(where.size, bool)
            for c in given:
                dest[c - 1, where] = 0
                supported |= block[where, self._columns[c]] >= self._floor[c]
            where = where[supported]
            if not where.size:
                return
        proba = branch.forest.predict_proba(block[where]).astype(np.float32)
        for j, c in enumerate(classes):
            if c:
                floor = self._floor[c]
                if floor:  # only where the network gives the class some support
                    proba[block[where, self._columns[c]] < floor, j] = 0
                dest[c - 1, where] = proba[:, j]

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


def save_in(model, folder) -> Path:
    """Write ``model`` into ``folder`` as ``taught-<its sha256, 12 digits>.mendmodel``, unless
    that file is there already with the same trees; its path.

    What a folder of outputs keeps beside them: the taught detector that made them.

    Raises
    ------
    FileExistsError
        A file of that name holds another model (or is not a taught model file).
    """
    digest = hashlib.sha256(storage.forest_bytes(model)).hexdigest()
    path = Path(folder) / f"taught-{digest[:12]}{storage.SUFFIX}"
    if not path.exists():
        return storage.save(model, path)
    try:
        same = load(path).card.get("sha256") == digest  # read as a hostile file
    except storage.TaughtModelError:
        same = False
    if not same:
        raise FileExistsError(f"{path} holds another model than the one taught; move it away "
                              "or choose another output folder")
    return path


def loads(data: bytes, *, source="model file"):
    """:func:`load` of the bytes of a file (``source`` names it in messages)."""
    card, forest_bytes, (settings, n_features, params), version = storage.card(data, source)
    arrays = storage.arrays(forest_bytes, source, version)
    labels = storage.check_forest(arrays, n_features, source)
    storage.check_branches(arrays, labels, settings, source)
    storage.check_base(card, settings, source)
    branches = [Branch(root, forest)
                for root, forest in storage.rebuild(arrays, labels, n_features, params)]
    return TaughtModel(branches, labels, settings, card, support=arrays["support"])


def _part_name(root: int) -> str:
    """What the base network decides in a part: ``'clean'`` or a class name."""
    return "clean" if root == 0 else DEFECT_CLASSES[root]


def score_columns(settings: FeatureSettings, n_features: int, classes) -> list[int]:
    """Feature indices of the base network's scores of ``classes`` (label values)."""
    n_color = 3 if settings.n_features(3) == n_features else 1
    names = feature_names(settings, n_color)
    return [names.index(f"net_score_{DEFECT_CLASSES[c]}") for c in classes]


def network_knows(strokes: np.ndarray, column: int, taught: list) -> bool:
    """Whether the base network knows a class on the features ``strokes`` (P, F) of that
    class's stroke pixels: it scores the class (feature ``column``) at least
    :data:`NETWORK_SUPPORT` on :data:`SUPPORTED_SHARE` of them, and calls at most half of them
    another of the taught classes (whose scores are the features ``taught``: at least
    :data:`BASE_THRESHOLD` and above the class's). Strokes of a class named for something else
    than what the network means by it (scratches painted as "dust" beside scratches painted
    as scratches) are mostly another taught class to it."""
    own = strokes[:, column]
    if np.mean(own >= NETWORK_SUPPORT) < SUPPORTED_SHARE:
        return False
    others = [c for c in taught if c != column]
    if not others:
        return True
    rival = strokes[:, others].max(axis=1)
    return bool(np.mean((rival >= BASE_THRESHOLD) & (rival > own)) <= 0.5)


def base_decision(features: np.ndarray, columns: dict) -> np.ndarray:
    """The base network's decision at each pixel of ``features`` (P, F) among the classes of
    ``columns`` (class -> feature of its score, :func:`score_columns`): the class with the
    highest score if it reaches :data:`BASE_THRESHOLD`, else 0."""
    classes = list(columns)
    scores = features[:, list(columns.values())]
    best = np.argmax(scores, axis=1)
    decided = scores[np.arange(scores.shape[0]), best] >= BASE_THRESHOLD
    return np.where(decided, np.asarray(classes)[best], 0)

"""``teach``: fit a defect detector to a curator's strokes (teaching by example)."""

from __future__ import annotations

import time

import numpy as np

from .._validation import plane_view
from .._version import __version__
from ..classes import CLEAN_LABEL, DEFECT_CLASSES, SCORED_CLASS_LIST, SCORED_CLASSES
from ..detection.learned import intensity_range, learned_scores
from ..models.registry import taught_or_none
from ..progress import report, scaled
from ..threads import configured_threads, thread_count
from .features import FeatureSettings, base_model_card, feature_names, pixel_features
from .model import (
    NETWORK_SUPPORT,
    Branch,
    TaughtModel,
    base_decision,
    load,
    network_knows,
    score_columns,
)
from .storage import TaughtModelError, branch_arrays, rebuild

MAX_SAMPLES_PER_CLASS = 4000
"""Stroke pixels per class the classifier is fitted on (drawn at random, the same number per


class where the strokes allow: a long clean stroke does not outweigh a few dust specks)."""
CROP_MARGIN = 64
"""Pixels around the strokes' bounding box whose features are computed while teaching."""
DEFAULT_CLASSIFIER = {"n_estimators": 32, "max_depth": 16, "min_samples_leaf": 2,
                      "max_features": "sqrt", "class_weight": "balanced", "random_state": 0}
"""RandomForestClassifier settings (``class_weight``: classes weigh alike however many
pixels they have)."""


def _as_list(value, what: str) -> list:
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            raise ValueError(f"{what}: give at least one array")
        return list(value)
    return [value]


def _check_strokes(strokes, view, i: int) -> np.ndarray:
    """``strokes`` as int ``(P, M, N)`` matching ``view``'s planes."""
    strokes = np.asarray(strokes)
    if strokes.dtype.kind not in "ui":
        raise TypeError(f"strokes {i} have dtype {strokes.dtype}; pass an integer Labels array "
                        f"(0 unmarked, 1..6 classes, {CLEAN_LABEL} clean)")
    spatial = view.spatial_shape
    if strokes.shape == spatial:
        flat = strokes.reshape((-1,) + spatial[-2:])
    elif strokes.shape == spatial[-2:] and view.n_planes == 1:
        flat = strokes[None]
    else:
        raise ValueError(f"strokes {i} have shape {strokes.shape} but image {i}'s spatial shape "
                         f"is {spatial}; paint the strokes on a Labels layer of the image's shape")
    allowed = np.zeros(256, bool)
    allowed[[0, *DEFECT_CLASSES, CLEAN_LABEL]] = True
    values = np.unique(flat)
    wrong = [int(v) for v in values if not (0 <= v < 256 and allowed[v])]
    if wrong:
        raise ValueError(f"strokes {i} hold the values {wrong[:8]}; use 0 (unmarked), "
                         f"1..6 ({', '.join(SCORED_CLASSES.values())}) or {CLEAN_LABEL} (clean)")
    return flat


def _class_name(label: int) -> str:
    return "clean" if label == CLEAN_LABEL else DEFECT_CLASSES[label]


def _crop(mask: np.ndarray, margin: int):
    """Row and column slices of ``mask``'s bounding box grown by ``margin``."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (slice(max(rows[0] - margin, 0), rows[-1] + margin + 1),
            slice(max(cols[0] - margin, 0), cols[-1] + margin + 1))


def _at_most(rng, indices: np.ndarray, count: int) -> np.ndarray:
    """``indices``, or ``count`` of them drawn at random (in order)."""
    if indices.size <= count:
        return indices
    return np.sort(rng.choice(indices, size=count, replace=False))


def teach(images, strokes, *, channel_axis=None, base_model=None, features=None,
          from_base=None, classifier=None, max_samples_per_class=MAX_SAMPLES_PER_CLASS, seed=0,
          progress=None) -> TaughtModel:
    """Teach a defect detector by example: fit a pixel classifier to painted strokes.

    Parameters
    ----------
    images : (M, N[, ..., P][, C]) ndarray or list of them
        Images (gray or colour, all alike; uint8, uint16, int8, int16 or float)
        or stacks with leading plane axes.
    strokes : integer ndarray or list of them
        One Labels array per image, of its spatial shape (or ``(M, N)`` for a
        single plane): 0 = not marked, 1..6 = the defect classes of
        :data:`napari_mend.DEFECT_CLASSES`, :data:`CLEAN_LABEL` (7) = marked
        clean. Both clean strokes and at least one defect class are needed.
    channel_axis : int or None, optional
        Colour axis of every image; ``None`` means gray.
    base_model : str, optional
        Detector model whose features are used (default the shipped
        ``'detector'``; a taught detector stands for the network it was taught
        on); ignored when ``features.network`` is False.
    features : FeatureSettings, optional
        Filter scales, top-hat radii, network features (default
        :class:`FeatureSettings`).
    from_base : bool, optional
        Start from the base network's decisions and change them only where
        the strokes disagree: the pixels are split by what the network
        decides among the taught classes (clean, or the class it finds), and
        a forest is fitted on the strokes of each part whose strokes are not
        all of the network's decision; the other parts keep the network's
        scores. A forest gives a class the network knows on its strokes
        (:func:`~napari_mend.teaching.model.network_knows`: it scores the class
        at least ``NETWORK_SUPPORT`` on a tenth of them and calls most of
        them no other taught class) only where the network scores it at least
        that much. False: one forest for every
        pixel, fitted on the strokes alone. Default: True when the features
        include the network (``features.network``), which True needs.
    classifier : dict, optional
        ``RandomForestClassifier`` parameters replacing those of
        :data:`DEFAULT_CLASSIFIER`.
    max_samples_per_class : int, optional
        Stroke pixels per class the forest is fitted on (a random subset).
    seed : int, optional
        Seed of the pixel subsampling (the forest has its own ``random_state``).
    progress : callable, optional
        ``progress(done, total)``; may raise :class:`napari_mend.Cancelled`.

    Returns
    -------
    model : TaughtModel
        Use it as ``detect(image, model=model)``, ``restore(image, detector=model)``;
        ``model.save('name.mendmodel')`` shares it.

    Raises
    ------
    ValueError
        Images and strokes of different counts or shapes, stroke values other
        than 0..7, images mixing gray and colour, no strokes, no clean strokes
        (without examples of clean pixels every pixel would be called a
        defect), no defect strokes, or ``from_base`` without network features.
    TypeError
        Unsupported image dtype, or strokes that are not integers.
    """
    from sklearn.ensemble import RandomForestClassifier  # deferred: scikit-learn is slow to import

    start = time.perf_counter()
    images, strokes = _as_list(images, "images"), _as_list(strokes, "strokes")
    if len(images) != len(strokes):
        raise ValueError(f"got {len(images)} images but {len(strokes)} strokes arrays; give one "
                         "strokes array per image")
    views = [plane_view(image, channel_axis=channel_axis, name=f"image {i}")
             for i, image in enumerate(images)]
    colours = {view.n_color for view in views}
    if len(colours) > 1:
        raise ValueError("the images mix gray and colour; teach a model on images of one kind")
    n_color = colours.pop()
    marks = [_check_strokes(s, view, i) for i, (s, view) in enumerate(zip(strokes, views))]
    counts = {}
    for flat in marks:
        for v, n in zip(*np.unique(flat, return_counts=True)):
            if v:
                counts[int(v)] = counts.get(int(v), 0) + int(n)
    if not counts:
        raise ValueError("the strokes mark no pixels: paint defects with their class (1..6) and "
                         f"clean pixels with {CLEAN_LABEL}")
    if CLEAN_LABEL not in counts:
        raise ValueError(f"no clean strokes: also paint some clean pixels with label {CLEAN_LABEL}"
                         " (the classifier needs examples of what is not a defect, else it "
                         "calls every pixel a defect)")
    if len(counts) < 2:
        raise ValueError("only clean strokes: also paint the defects, each with its class "
                         f"({SCORED_CLASS_LIST})")
    settings = features or FeatureSettings()
    if not isinstance(settings, FeatureSettings):
        raise TypeError("features must be a FeatureSettings")
    if from_base is None:
        from_base = settings.network
    if from_base and not settings.network:
        raise ValueError("from_base=True starts from the base network's decisions, but the "
                         "features have no network (network=False): pass from_base=False to "
                         "teach on the strokes alone")
    if base_model is not None:
        taught = taught_or_none(base_model)
        if taught is not None:  # a taught detector: teach on the network it was taught on
            base_model = taught.settings.base_model
        settings = settings.replace(base_model=base_model)
    base = base_model_card(settings)  # loads it: a missing model fails before the slow part

    # the same number of pixels of every class where the strokes allow (in each part of the
    # base network's decision: drawn here for all parts, then at most that many in each)
    rng = np.random.default_rng(seed)
    parts = sum(1 for v in counts if v != CLEAN_LABEL) + 1 if from_base else 1
    chosen = {}  # (image, plane) -> flat indices, labels
    for label, total in counts.items():
        take = np.sort(rng.choice(total, size=min(total, parts * max_samples_per_class),
                                  replace=False))
        seen = 0
        for i, flat in enumerate(marks):
            for p in range(flat.shape[0]):
                where = np.flatnonzero(flat[p] == label)
                picked = take[(take >= seen) & (take < seen + where.size)] - seen
                seen += where.size
                if picked.size:
                    idx, lab = chosen.setdefault((i, p), ([], []))
                    idx.append(where[picked])
                    lab.append(np.full(picked.size, label))
    n_features = settings.n_features(n_color)
    rows, labels = [], []
    jobs = sorted(chosen)
    for j, (i, p) in enumerate(jobs):
        report(progress, j, len(jobs) + 1)
        view, flat = views[i], marks[i][p]
        raw = view.raw_plane(p)

        intensity = intensity_range(raw)  # of the whole plane, crop or not
        idx = np.concatenate(chosen[(i, p)][0])
        r, c = np.unravel_index(idx, flat.shape)
        box = _crop(flat > 0, CROP_MARGIN)
        crop = raw[box]
        if crop.size > 0.7 * raw.size:
            box, crop = (slice(0, None), slice(0, None)), raw
        network_scores = None
        if crop is not raw and settings.network and settings.network_scoring == "detector":
            # the detector's coarse passes and moire check look beyond a crop: its scores
            # of the whole plane, as the taught model will see them
            network_scores = learned_scores(raw, model=settings.base_model,
                                            intensity=intensity)[(slice(None),) + box]
        plane_features = pixel_features(crop, settings, intensity=intensity,
                                        network_scores=network_scores,
                                        progress=scaled(progress, j, len(jobs) + 1))
        rows.append(plane_features[:, r - box[0].start, c - box[1].start].T)
        labels.append(np.concatenate(chosen[(i, p)][1]))
        del plane_features
    x = np.concatenate(rows)
    y = np.concatenate(labels)
    y[y == CLEAN_LABEL] = 0
    assert x.shape[1] == n_features
    params = dict(DEFAULT_CLASSIFIER, **(classifier or {}))
    report(progress, len(jobs), len(jobs) + 1)
    labels_taught = np.unique(y)
    classes = [int(v) for v in labels_taught if v]
    columns = dict(zip(classes, score_columns(settings, n_features, classes))) if from_base \
        else {}
    roots = base_decision(x, columns) if from_base else np.full(y.size, -1)
    picks = {}  # root -> the samples of its part, at most max_samples_per_class per label
    for root in ([0] + classes if from_base else [-1]):
        mine = np.flatnonzero(roots == root)
        picks[root] = np.concatenate([_at_most(rng, mine[y[mine] == v], max_samples_per_class)
                                      for v in labels_taught])
    fitted, branches = [], []
    for root, mine in picks.items():
        forest = None
        if np.any(y[mine] != root):  # the strokes disagree with the network's decision
            forest = RandomForestClassifier(n_jobs=configured_threads() or thread_count(),
                                            **params).fit(x[mine], y[mine])
        fitted.append((root, forest))
        branches.append({"base_decision": "any" if root < 0 else _class_name(root or CLEAN_LABEL),
                         "scored_by": "base network" if forest is None else "forest",
                         "samples": {_class_name(v or CLEAN_LABEL): int(n)
                                     for v, n in zip(*np.unique(y[mine], return_counts=True))}})
    # a class the network knows on its strokes: the forests give it only where the network
    # gives it some support
    support = [NETWORK_SUPPORT if v in columns
               and network_knows(x[y == v], columns[v], list(columns.values())) else 0.0
               for v in labels_taught]
    # the trees as a saved file holds them, so that a model read back scores alike
    arrays = branch_arrays(fitted, labels_taught, support)
    rebuilt = rebuild(arrays, labels_taught, n_features, params)
    report(progress, len(jobs) + 1, len(jobs) + 1)
    import sklearn  # deferred: scikit-learn is slow to import

    used = y[np.concatenate(list(picks.values()))]
    samples = {_class_name(v if v else CLEAN_LABEL): int(n)
               for v, n in zip(*np.unique(used, return_counts=True))}
    card = {
        "name": "taught",
        "kind": TaughtModel.kind,
        "classes": {str(v): DEFECT_CLASSES[v] for v in sorted(counts) if v != CLEAN_LABEL},
        "clean_label": CLEAN_LABEL,
        "strokes": {_class_name(v): counts[v] for v in sorted(counts)},
        "samples": samples,
        "images": len(images),
        "n_color": n_color,
        "features": settings.to_json(),
        "n_features": n_features,
        "feature_names": feature_names(settings, n_color),
        "classifier": {"type": "RandomForestClassifier", "library": "scikit-learn",
                       "version": sklearn.__version__, "params": params},
        "from_base": bool(from_base),
        "branches": branches,
        "network_support": {DEFECT_CLASSES[int(v)]: f for v, f in zip(labels_taught, support)
                            if v and f},
        "base_model": None if base is None else {"name": base["name"], "sha256": base["sha256"]},
        "threshold": 0.5,
        "teach_seconds": round(time.perf_counter() - start, 3),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "napari_mend": __version__,
    }
    return TaughtModel([Branch(root, forest) for root, forest in rebuilt], labels_taught,
                       settings, card, support=support)


# ``napari_mend.teach.load(path)`` (docs/teach.md): the function carries the reader of what
# it makes, and the classes around it.
teach.load = load
teach.TaughtModel = TaughtModel
teach.FeatureSettings = FeatureSettings
teach.TaughtModelError = TaughtModelError
teach.CLEAN_LABEL = CLEAN_LABEL

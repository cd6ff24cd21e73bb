"""Save and load taught models as one ``.mendmodel`` file, treated as hostile when read.

A taught model file is a zip (stored, not compressed) of exactly three members:

``package.json``
    ``{"format": "napari-mend-taught-model", "version": 2, "napari_mend": ...}``.
``card.json``
    The model card (see :class:`~napari_mend.teaching.model.TaughtModel`) with
    ``sha256``: the hex sha256 of ``forest.npz``.
``forest.npz``
    The fitted random forests as plain arrays (NumPy ``.npz``, no pickles):
    ``classes`` (K label values, 0 = clean), ``node_offsets`` (T + 1: where
    each tree's nodes start), per node ``left``, ``right``, ``feature``,
    ``threshold``, ``missing_left`` and ``value`` (K class fractions), and
    per branch of the model (:class:`~napari_mend.teaching.model.Branch`)
    ``branch_roots`` (B: the base network's decision it covers, -1 every
    pixel) and ``branch_trees`` (B + 1: where its trees start; a branch
    without trees keeps the base network's scores), and ``support`` (K:
    per label value, the base network's score below which a forest may not
    give that class; 0 for none). Version 1 files have none of these: one
    forest for every pixel.

Nothing in it is ever unpickled or executed. :func:`load` reads the file
whole, at most ``MAX_MODEL_BYTES`` (:mod:`napari_mend.limits`), checks every
member's declared and actual size, the header, every card entry's type and
bounds, the sha256, each array's ``.npy`` header (dtype and shape, before
NumPy allocates anything), every tree's structure (children after their
parent, one parent per node, features and values in range, so the
classifier's compiled tree walk never reads outside its arrays) and the
branches, and only then rebuilds scikit-learn trees from the arrays.
Features taken from the base detector network must come from the same
network: its sha256 is recorded and compared.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy

from .._version import __version__
from ..io.atomic import atomic_path
from ..limits import parse_json
from ..models.files import (
    TAUGHT_FORMAT,
    ModelError,
    check_header,
    file_kind,
    read_model_file,
    zip_members,
)
from .features import FeatureSettings, base_model_card

SUFFIX = ".mendmodel"
FORMAT = TAUGHT_FORMAT
VERSION = 2
READ_VERSIONS = (1, 2)
"""Format versions :func:`load` reads (1: one forest for every pixel, before branches)."""
MEMBERS = ("package.json", "card.json", "forest.npz")
ARRAYS = {"classes": "<i8", "node_offsets": "<i8", "left": "<i8", "right": "<i8",
          "feature": "<i8", "threshold": "<f8", "missing_left": "|u1", "value": "<f8"}
"""Arrays of ``forest.npz`` and their exact dtypes."""
BRANCH_ARRAYS = {"branch_roots": "<i8", "branch_trees": "<i8", "support": "<f8"}
"""Arrays of ``forest.npz`` since version 2."""
MAX_TREES = 1024
MAX_NODES = 1 << 22
"""Most nodes of all trees together (about 250 MB of arrays for 7 classes)."""
MAX_HEADER = 1 << 16
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CLASSIFIER_PARAMS = {
    "n_estimators": (int,), "max_depth": (int, type(None)), "min_samples_leaf": (int,),
    "min_samples_split": (int,), "max_features": (str, int, float, type(None)),
    "class_weight": (str, type(None)), "random_state": (int, type(None)),
    "criterion": (str,), "bootstrap": (bool,), "max_samples": (int, float, type(None)),
}
"""RandomForestClassifier parameters a card may record, and their JSON types."""
HINT = "the file is damaged or was not written by napari-mend; ask for it again"


class TaughtModelError(ModelError):
    """A taught model file is unreadable, out of bounds, tampered with, or needs another base model."""

# ------------------------------------------------------------------ writing


def forest_arrays(forest, labels) -> dict:
    """The plain arrays of a fitted ``RandomForestClassifier`` (see the module docstring), its
    class fractions in columns of ``labels`` (a superset of its classes)."""
    trees = [est.tree_ for est in forest.estimators_]
    offsets = np.zeros(len(trees) + 1, np.int64)
    offsets[1:] = np.cumsum([t.node_count for t in trees])
    own = np.concatenate([t.value[:, 0, :] for t in trees]).astype("<f8")
    sums = own.sum(axis=1, keepdims=True)  # fractions (scikit-learn >= 1.4 stores them so)
    own = np.divide(own, sums, out=np.zeros_like(own), where=sums > 0)
    value = np.zeros((own.shape[0], len(labels)), "<f8")
    value[:, [list(labels).index(int(c)) for c in forest.classes_]] = own
    leaf = np.concatenate([t.children_left == -1 for t in trees])
    return {
        "classes": np.asarray(labels, "<i8"),
        "node_offsets": offsets.astype("<i8"),
        "left": np.concatenate([t.children_left for t in trees]).astype("<i8"),
        "right": np.concatenate([t.children_right for t in trees]).astype("<i8"),
        "feature": np.where(leaf, -2, np.concatenate([t.feature for t in trees])).astype("<i8"),
        "threshold": np.where(leaf, -2.0,
                              np.concatenate([t.threshold for t in trees])).astype("<f8"),
        "missing_left": np.concatenate([t.missing_go_to_left for t in trees]).astype("|u1"),
        "value": value,
    }


def branch_arrays(branches, labels, support) -> dict:
    """The arrays of ``forest.npz`` of ``branches`` (``(root, forest or None)`` pairs): their
    forests' trees one after the other, where each branch's trees start, and the network
    ``support`` each label value needs (see the module docstring)."""
    forests = [forest_arrays(forest, labels) for _, forest in branches if forest is not None]
    trees = [0] + [0 if forest is None else len(forest.estimators_) for _, forest in branches]
    out = {"classes": np.asarray(labels, "<i8"),
           "branch_roots": np.array([root for root, _ in branches], "<i8"),
           "branch_trees": np.cumsum(trees).astype("<i8"),
           "support": np.asarray(support, "<f8")}
    node_offsets, start = [np.zeros(1, "<i8")], 0
    for forest in forests:
        node_offsets.append(forest["node_offsets"][1:] + start)
        start += int(forest["node_offsets"][-1])
    out["node_offsets"] = np.concatenate(node_offsets).astype("<i8")
    for key, dtype in ARRAYS.items():
        if key not in out:  # no forest at all: every branch keeps the network's scores
            empty = np.zeros((0, len(labels)) if key == "value" else 0, dtype)
            out[key] = np.concatenate([forest[key] for forest in forests] + [empty])
    return out


def model_arrays(model) -> dict:
    """The arrays of ``forest.npz`` of a :class:`~napari_mend.teaching.model.TaughtModel`."""
    return branch_arrays([(b.root, b.forest) for b in model.branches], model.labels,
                         model.support)


def save(model, path, *, overwrite: bool = False) -> Path:
    """Write ``model`` (a :class:`~napari_mend.teaching.model.TaughtModel`) to ``path``.

    :data:`SUFFIX` is appended when missing; the file appears complete or not
    at all (:func:`napari_mend.io.atomic.atomic_path`). ``model.card`` gets
    the file's ``sha256`` (of its forest) and ``name`` (the file's stem when it
    can name a model).

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is false.
    """

    path = Path(path)
    if path.suffix != SUFFIX:
        path = path.with_name(path.name + SUFFIX)
    forest = forest_bytes(model)
    card = dict(model.card, sha256=hashlib.sha256(forest).hexdigest())
    stem = path.name[:-len(SUFFIX)]
    if NAME.match(stem):
        card["name"] = stem
    header = {"format": FORMAT, "version": VERSION, "napari_mend": __version__}
    with atomic_path(path, overwrite=overwrite) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr("package.json", json.dumps(header, indent=2))
            zf.writestr("card.json", json.dumps(card, indent=2))
            zf.writestr("forest.npz", forest)
    model.card = card
    return path


def forest_bytes(model) -> bytes:
    """``forest.npz`` of ``model``, byte for byte as :func:`save` writes it (NumPy writes
    the same bytes for the same arrays)."""
    buffer = io.BytesIO()
    np.savez(buffer, **model_arrays(model))
    return buffer.getvalue()


# ------------------------------------------------------------------ reading


def is_taught_file(path) -> bool:
    """Whether ``path`` is a ``.mendmodel`` file whose header says it holds a taught model
    (:func:`napari_mend.models.package.file_kind`; it is not checked further: :func:`load`
    does that)."""
    path = Path(path)
    if path.suffix != SUFFIX or not path.is_file():
        return False
    try:
        return file_kind(path) == "taught"
    except ModelError:
        return False

_CACHE: dict = {}


def card(data: bytes, source) -> tuple:
    """``(card, forest bytes, (settings, n_features, params), version)``: header, card and
    sha256 checked; the forest's arrays are not read yet."""
    header, card, forest_bytes = _members(data, source)
    check_header(header, fmt=FORMAT, version=READ_VERSIONS, source=source,
                 what="taught napari-mend model file", remedy="teach the model again",
                 error=TaughtModelError)
    checked = _check_card(card, source)
    if hashlib.sha256(forest_bytes).hexdigest() != card["sha256"]:
        raise TaughtModelError(f"{source}: the forest does not match the card's sha256 "
                               "(corrupt or tampered with); ask for the file again")
    return card, forest_bytes, checked, header["version"]


def read_card(path) -> dict:
    """The card of a taught model file, for listing: the file's and members' sizes, the
    header, every card entry and the forest's sha256 are checked, the trees are not
    (:func:`load` checks everything).

    Raises
    ------
    TaughtModelError
    """
    return card(read_model_file(Path(path), TaughtModelError), Path(path))[0]


def _members(data: bytes, source) -> tuple:
    """``package.json``, ``card.json`` (parsed) and ``forest.npz`` (bytes), each size-capped;
    the zip must hold exactly these (:func:`napari_mend.models.package.zip_members`)."""
    parts = zip_members(data, dict(zip(MEMBERS, ("MAX_JSON_BYTES", "MAX_JSON_BYTES",
                                                 "MAX_MODEL_BYTES"))),
                        source=source, error=TaughtModelError, what="taught model file",
                        hint=HINT, exact=True)
    try:
        header = parse_json(parts["package.json"], source=f"{source}:package.json")
        card = parse_json(parts["card.json"], source=f"{source}:card.json")
    except ValueError as err:
        raise TaughtModelError(f"{err}; {HINT}") from None
    return header, card, parts["forest.npz"]


def _is(value, *kinds) -> bool:
    if isinstance(value, bool) and bool not in kinds:
        return False
    return isinstance(value, kinds)


def _check_card(card, source) -> tuple:
    """``(settings, n_features, classifier params)`` of a card, every entry type-checked."""
    def bad(what):
        return TaughtModelError(f"{source}: its card's {what}; {HINT}")

    if not isinstance(card, dict):
        raise bad("top level is not a mapping")
    required = {"name": str, "kind": str, "sha256": str, "features": dict, "n_features": int,
                "n_color": int, "classifier": dict, "classes": dict, "strokes": dict}
    for key, kind in required.items():
        if key not in card or not _is(card[key], kind):
            raise bad(f"entry {key!r} is missing or not a {kind.__name__}")
    if card["kind"] != "taught-detector":
        raise bad(f"kind is {card['kind'][:40]!r}, not 'taught-detector'")
    if not NAME.match(card["name"]):
        raise bad("name cannot name a model")
    if not re.fullmatch(r"[0-9a-f]{64}", card["sha256"]):
        raise bad("sha256 is not a hex digest")
    try:
        settings = FeatureSettings.from_json(card["features"])
    except (ValueError, TypeError) as err:
        raise bad(f"feature settings are invalid ({err})") from None
    if card["n_color"] not in (1, 3) or card["n_features"] != settings.n_features(card["n_color"]):
        raise bad("feature count does not match its feature settings")
    classifier = card["classifier"]
    if classifier.get("type") != "RandomForestClassifier" or not isinstance(
            classifier.get("params"), dict):
        raise bad("classifier is not a RandomForestClassifier with params")
    params = classifier["params"]
    for key, value in params.items():
        if key not in CLASSIFIER_PARAMS or not _is(value, *CLASSIFIER_PARAMS[key]):
            raise bad(f"classifier parameter {key[:40]!r} is unknown or of the wrong type")
        if isinstance(value, str) and len(value) > 32:
            raise bad(f"classifier parameter {key!r} is too long")
    params = {k: v for k, v in params.items() if k != "n_jobs"}
    return settings, card["n_features"], params


def arrays(data: bytes, source, version: int = VERSION) -> dict:
    """The arrays of ``forest.npz`` (of format ``version``), each ``.npy`` header checked
    before NumPy reads it."""
    expected = dict(ARRAYS, **(BRANCH_ARRAYS if version >= 2 else {}))
    raw = zip_members(data, {f"{key}.npy": "MAX_MODEL_BYTES" for key in expected},
                      source=f"{source}:forest.npz", error=TaughtModelError,
                      what="taught model's forest.npz", hint=HINT, exact=True)
    out = {}
    for key, dtype in expected.items():
        try:
            out[key] = _npy(raw[f"{key}.npy"], np.dtype(dtype), f"{source}:forest.npz:{key}")
        except (ValueError, SyntaxError, EOFError, OSError) as err:
            raise TaughtModelError(f"{source}: forest.npz is unreadable "
                                   f"({type(err).__name__}); {HINT}") from None
    if version < 2:  # one forest for every pixel
        out["branch_roots"] = np.array([-1], "<i8")
        out["branch_trees"] = np.array([0, out["node_offsets"].size - 1], "<i8")
        out["support"] = np.zeros(out["classes"].shape, "<f8")
    return out


def _npy(raw: bytes, dtype: np.dtype, source) -> np.ndarray:
    """A 1-D or 2-D array of exactly ``dtype`` from ``.npy`` bytes, its header checked first."""
    stream = io.BytesIO(raw)
    version = npy.read_magic(stream)
    if version == (1, 0):
        shape, fortran, found = npy.read_array_header_1_0(stream, max_header_size=MAX_HEADER)
    elif version == (2, 0):
        shape, fortran, found = npy.read_array_header_2_0(stream, max_header_size=MAX_HEADER)
    else:
        raise TaughtModelError(f"{source}: .npy format {version} is not read; {HINT}")
    if found != dtype or fortran or not 1 <= len(shape) <= 2:
        raise TaughtModelError(f"{source}: expected a 1-D or 2-D {dtype} array, found "
                               f"{str(found)[:40]} of {len(shape)} axes; {HINT}")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    body = raw[stream.tell():]
    if count < 0 or len(body) != count * dtype.itemsize:
        raise TaughtModelError(f"{source}: its header declares {count} values but it holds "
                               f"{len(body)} bytes; {HINT}")
    return np.frombuffer(body, dtype).reshape(shape).copy()


def check_forest(a: dict, n_features: int, source) -> np.ndarray:
    """Check the forest's arrays; returns the class labels."""
    def bad(what):
        return TaughtModelError(f"{source}: its forest {what}; {HINT}")

    classes, offsets = a["classes"], a["node_offsets"]
    if classes.ndim != 1 or not 2 <= classes.size <= 7 or np.any(np.diff(classes) <= 0) \
            or classes.min() < 0 or classes.max() > 6:
        raise bad("classes are not 2 to 7 increasing label values in 0..6")
    if offsets.ndim != 1 or not 1 <= offsets.size <= MAX_TREES + 1 or offsets[0] != 0 \
            or np.any(np.diff(offsets) < 1) or offsets[-1] > MAX_NODES:
        raise bad(f"has a bad tree layout (at most {MAX_TREES} trees, at most {MAX_NODES:,} "
                  "nodes)")
    n = int(offsets[-1])
    for key in ("left", "right", "feature", "threshold", "missing_left"):
        if a[key].shape != (n,):
            raise bad(f"array {key!r} does not have one value per node")
    if a["value"].shape != (n, classes.size):
        raise bad("values do not have one row per node and one column per class")
    if not np.isfinite(a["value"]).all() or np.any(a["value"] < 0):
        raise bad("values are not finite non-negative fractions")
    if np.any(a["missing_left"] > 1):
        raise bad("missing-value directions are not 0 or 1")
    for t in range(offsets.size - 1):
        lo, hi = int(offsets[t]), int(offsets[t + 1])
        left, right, feature = a["left"][lo:hi], a["right"][lo:hi], a["feature"][lo:hi]
        index = np.arange(hi - lo)
        leaf = left == -1
        if np.any((right == -1) != leaf):
            raise bad(f"tree {t} has a node with one child")
        inner = ~leaf
        if np.any(left[inner] <= index[inner]) or np.any(right[inner] <= index[inner]) \
                or np.any(left[inner] >= hi - lo) or np.any(right[inner] >= hi - lo):
            raise bad(f"tree {t} has a child that does not follow its parent")
        parents = np.bincount(np.concatenate([left[inner], right[inner]]), minlength=hi - lo)
        if parents[0] != 0 or np.any(parents[1:] != 1):
            raise bad(f"tree {t} is not a tree (a node without or with two parents)")
        if np.any(feature[inner] < 0) or np.any(feature[inner] >= n_features):
            raise bad(f"tree {t} splits on a feature it does not have")
        if not np.isfinite(a["threshold"][lo:hi][inner]).all():
            raise bad(f"tree {t} has a non-finite threshold")
    return classes


def check_branches(a: dict, labels: np.ndarray, settings: FeatureSettings, source) -> None:
    """Check the branches: one per label value of the model (the clean label and the taught
    classes: every decision of the base network has its branch) or one for every pixel, each
    an unbroken run of the trees; a split on the base network's decision needs its scores
    among the features."""
    def bad(what):
        return TaughtModelError(f"{source}: its forest's branches {what}; {HINT}")

    roots, trees, support = a["branch_roots"], a["branch_trees"], a["support"]
    n_trees = a["node_offsets"].size - 1
    if support.shape != labels.shape or not np.isfinite(support).all() \
            or np.any(support < 0) or np.any(support >= 1) or support[labels == 0].any():
        raise bad("need a network support that is not one value in [0, 1) per defect class")
    if roots.ndim != 1 or not 1 <= roots.size <= labels.size or trees.shape != (roots.size + 1,):
        raise bad("are not 1 to one per label value, with their trees' offsets")
    if trees[0] != 0 or trees[-1] != n_trees or np.any(np.diff(trees) < 0):
        raise bad("do not divide the trees into runs")
    if np.array_equal(roots, [-1]):
        if n_trees < 1:
            raise bad("leave every pixel without a forest")
        if support.any():
            raise bad("need the network's support without reading its decisions")
        return
    if np.unique(roots).size != roots.size:
        raise bad("repeat a root")
    if not np.array_equal(np.sort(roots), labels):
        raise bad("are not one per label value of the model (its decisions among them)")
    if not settings.network:
        raise bad("split on the base network's decision, but the model reads no network "
                  "features")


def check_base(card: dict, settings: FeatureSettings, source) -> None:
    """The installed base network must be the one the model was taught with."""
    if not settings.network:
        return
    base = card.get("base_model")
    if not isinstance(base, dict) or not _is(base.get("sha256"), str):
        raise TaughtModelError(f"{source}: its card does not record the base model's sha256; "
                               f"{HINT}")

    try:
        installed = base_model_card(settings)
    except ModelError as err:
        raise TaughtModelError(f"{source} was taught on base model {settings.base_model!r}, "
                               f"which cannot be loaded here ({err})") from None
    if installed["sha256"] != base["sha256"]:
        raise TaughtModelError(
            f"{source} was taught on base model {settings.base_model!r} with sha256 "
            f"{base['sha256'][:12]}..., but the installed one has {installed['sha256'][:12]}...: "
            "its features differ, so teach the model again with this base model")


def rebuild(a: dict, labels: np.ndarray, n_features: int, params: dict) -> list:
    """``(root, forest or None)`` of each branch, with scikit-learn trees built from the
    checked arrays."""
    from sklearn.ensemble import RandomForestClassifier  # deferred: scikit-learn is slow to import

    trees = _trees(a, labels, n_features)
    branches = []
    for b, root in enumerate(a["branch_roots"]):
        lo, hi = int(a["branch_trees"][b]), int(a["branch_trees"][b + 1])
        forest = None
        if hi > lo:
            forest = RandomForestClassifier(**params)
            _assemble(forest, trees[lo:hi], labels, n_features)
        branches.append((int(root), forest))
    return branches


def _trees(a: dict, classes: np.ndarray, n_features: int) -> list:
    """scikit-learn decision trees built from the checked arrays."""
    from sklearn.tree import DecisionTreeClassifier  # deferred: scikit-learn is slow to import
    from sklearn.tree._tree import NODE_DTYPE, Tree  # deferred: scikit-learn is slow to import

    k = classes.size
    offsets = a["node_offsets"]
    estimators = []
    for t in range(offsets.size - 1):
        lo, hi = int(offsets[t]), int(offsets[t + 1])
        nodes = np.zeros(hi - lo, dtype=NODE_DTYPE)
        nodes["left_child"], nodes["right_child"] = a["left"][lo:hi], a["right"][lo:hi]
        nodes["feature"], nodes["threshold"] = a["feature"][lo:hi], a["threshold"][lo:hi]
        nodes["missing_go_to_left"] = a["missing_left"][lo:hi]
        nodes["n_node_samples"], nodes["weighted_n_node_samples"] = 1, 1.0
        tree = Tree(n_features, np.array([k], dtype=np.intp), 1)
        tree.__setstate__({"max_depth": _depth(a["left"][lo:hi], a["right"][lo:hi]),
                           "node_count": hi - lo, "nodes": nodes,
                           "values": np.ascontiguousarray(a["value"][lo:hi].reshape(-1, 1, k))})
        est = DecisionTreeClassifier(random_state=None)
        est.tree_, est.n_outputs_, est.n_features_in_ = tree, 1, n_features
        est.classes_, est.n_classes_ = classes.copy(), k
        est.max_features_ = n_features
        estimators.append(est)
    return estimators


def _assemble(forest, estimators: list, classes: np.ndarray, n_features: int) -> None:
    """Give ``forest`` the fitted ``estimators`` over ``classes``."""
    from sklearn.tree import DecisionTreeClassifier  # deferred: scikit-learn is slow to import

    forest.estimator_ = DecisionTreeClassifier()
    forest.estimators_ = estimators
    forest.classes_, forest.n_classes_ = classes.copy(), classes.size
    forest.n_outputs_, forest.n_features_in_ = 1, n_features


def _depth(left: np.ndarray, right: np.ndarray) -> int:
    """Depth of a checked tree (root alone: 0)."""
    depth, frontier = 0, np.array([0])
    while True:
        children = np.concatenate([left[frontier], right[frontier]])
        children = children[children >= 0]
        if children.size == 0:
            return depth
        depth, frontier = depth + 1, children

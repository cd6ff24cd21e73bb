"""One registry for every model napari-mend can load.

A model is two files side by side: ``<name>.pt`` (a torch ``state_dict``) and
``<name>.json`` (its model card). Shipped models live in this package's
``weights/`` folder; models a user trains live in the user model folder
(:func:`user_model_dir`). The card names the architecture and the constructor
arguments, so loading never needs training code.

Card keys used here: ``name``, ``kind`` (``'detector'``, ``'inpainter'``,
``'demoire'``), ``architecture`` (a key of :data:`ARCHITECTURES`), ``config``
(constructor keyword arguments), ``sha256`` (of the ``.pt`` file). Other keys
(training, data, metrics, thresholds, ...) are documentation and settings for
the inference code of that kind.

Detectors taught by example (:mod:`napari_mend.teach`) are registry models too:
one ``<name>.mendmodel`` file in the user model folder (``napari-mend models
import``), kind :data:`TAUGHT_KIND`. :func:`locate` finds a model of either kind
by name or path; :func:`get_model` returns a taught model as a
:class:`LoadedModel` whose ``module`` is the
:class:`~napari_mend.teach.TaughtModel` (checked completely by
:func:`napari_mend.teach.load` each time its file changes).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

WEIGHTS_DIR = Path(__file__).parent / "weights"

ARCHITECTURES: dict[str, str] = {
    "detector_unet": "napari_mend.models.detector_net:DetectorUNet",
    "inpainter_net": "napari_mend.models.inpainter_net:InpainterNet",
    "demoire_net": "napari_mend.models.demoire_net:DemoireNet",
}
"""Architecture key -> ``module:class`` of its ``torch.nn.Module``."""

RESTORE_HINT = (
    "reinstall napari-mend (pip install --force-reinstall napari-mend) to restore "
    "the shipped weights, or retrain with 'napari-mend train'"
)


class ModelError(RuntimeError):
    """A model is unknown, missing, corrupt or incompatible."""


@dataclass(frozen=True)
class LoadedModel:
    """A network ready for inference with its model card."""

    name: str
    module: object  # torch.nn.Module, in eval mode, on ``device``, channels-last
    card: dict
    device: object  # torch.device


def user_model_dir() -> Path:
    """Folder of user-trained models (``NAPARI_MEND_MODEL_DIR`` overrides it)."""
    env = os.environ.get("NAPARI_MEND_MODEL_DIR")
    if env:
        return Path(env)
    try:
        from platformdirs import user_data_dir
    except ImportError:  # platformdirs ships with napari; keep compute usable without it
        return Path.home() / ".local" / "share" / "napari-mend" / "models"
    return Path(user_data_dir("napari-mend", appauthor=False)) / "models"


def _search_dirs() -> list[Path]:
    return [WEIGHTS_DIR, user_model_dir()]


TAUGHT_KIND = "taught-detector"
"""Kind of a detector taught by example (its card's ``kind``)."""
TAUGHT_SUFFIX = ".mendmodel"


def locate(name) -> tuple[str, Path]:
    """Where model ``name`` (a name, or a path to its file) is, and what it is.

    Returns
    -------
    kind, path : str, Path
        ``('network', card)`` for a ``.json`` + ``.pt`` model, ``('package', file)``
        for a network as one ``.mendmodel`` file, ``('taught', file)`` for a taught
        model's ``.mendmodel`` file. What a ``.mendmodel`` holds is read from its
        header (:func:`napari_mend.models.package.file_kind`); nothing else is checked.

    Raises
    ------
    ModelError
        Unknown name, or a ``.mendmodel`` file that is missing or not a model file.
    """
    name = os.fspath(name)
    path = Path(name)
    if path.suffix in (".json", ".pt"):
        return "network", path.with_suffix(".json")
    if path.suffix == TAUGHT_SUFFIX:  # one-file model (models.package)
        from .package import file_kind

        return ("taught" if file_kind(path) == "taught" else "package"), path
    for folder in _search_dirs():
        candidate = folder / f"{name}.json"
        if candidate.is_file():
            return "network", candidate
        candidate = folder / f"{name}{TAUGHT_SUFFIX}"
        if folder != WEIGHTS_DIR and candidate.is_file():
            return "taught", candidate
    known = ", ".join(repr(m["name"]) for m in list_models()) or "none"
    raise ModelError(f"unknown model {name[:200]!r}; known models: {known}")


def _card_path(name: str) -> Path:
    """Card file of network model ``name`` (a package is checked and unpacked first)."""
    kind, path = locate(name)
    if kind == "taught":
        raise ModelError(f"{name!r} is a taught model (a .mendmodel file), not a network; "
                         "it has no separate card or weight file")
    if kind == "package":
        from .package import unpacked_card

        return unpacked_card(path)
    return path


def taught_or_none(name):
    """The :class:`~napari_mend.teach.TaughtModel` that ``name`` names (an installed taught
    model or the path of its file), checked completely; None for networks and unknown names.

    Raises
    ------
    napari_mend.teach.TaughtModelError
        (a :class:`ModelError`) The file says it holds a taught model but fails a check.
    """
    try:
        kind, path = locate(name)
    except ModelError:
        return None
    if kind != "taught":
        return None
    from ..teach.storage import load

    return load(path)


def _read_card(path: Path) -> dict:
    from ..limits import read_json

    try:
        card = read_json(path)
    except FileNotFoundError:
        raise ModelError(f"model card {path} is missing; {RESTORE_HINT}") from None
    except (OSError, ValueError) as err:
        raise ModelError(f"model card {path} is unreadable ({err}); {RESTORE_HINT}") from None
    return check_card(card, f"model card {path}", hint=RESTORE_HINT)


CARD_KEYS = {"name": str, "kind": str, "architecture": str, "config": dict, "sha256": str}
"""The model card entries the registry uses, and their types."""


def check_card(card, source: str, *, hint: str) -> dict:
    """``card`` if it is a mapping holding :data:`CARD_KEYS` of the right types.

    Raises
    ------
    ModelError
        Naming ``source`` and ending with ``hint``.
    """
    if not isinstance(card, dict):
        raise ModelError(f"{source} is not a model card (not a JSON object); {hint}")
    for key, kind in CARD_KEYS.items():
        if key not in card:
            raise ModelError(f"{source} lacks the key {key!r}; {hint}")
        if not isinstance(card[key], kind):
            raise ModelError(f"{source}: its {key!r} is not a {kind.__name__}; {hint}")
    return card


def list_models(kind: str | None = None) -> list[dict]:
    """List the model cards of shipped and user models.

    Parameters
    ----------
    kind : str, optional
        Only models of this kind (``'detector'``, ``'inpainter'``, ``'demoire'``,
        :data:`TAUGHT_KIND`); default every model. Taught detectors are listed
        only for ``None`` and :data:`TAUGHT_KIND` (``'detector'`` means networks,
        which can be fine-tuned).

    Returns
    -------
    cards : list of dict
        One card per model, with an added ``'path'`` key (the ``.pt`` file, or a
        taught model's ``.mendmodel``) and ``'shipped'`` (bool). A taught model's
        ``name`` is its file's.
    """
    cards = []
    for folder in _search_dirs():
        if not folder.is_dir():
            continue
        for card_file in sorted(folder.glob("*.json")):
            try:
                card = _read_card(card_file)
            except ModelError:
                continue
            if kind is None or card["kind"] == kind:
                card = dict(card, path=str(card_file.with_suffix(".pt")),
                            shipped=folder == WEIGHTS_DIR)
                cards.append(card)
        if folder == WEIGHTS_DIR or kind not in (None, TAUGHT_KIND):
            continue
        from ..teach.storage import read_card

        for file in sorted(folder.glob(f"*{TAUGHT_SUFFIX}")):
            try:
                card = read_card(file)  # header, card and checksum; get_model checks the rest
            except ModelError:
                continue
            if (folder / f"{file.stem}.json").is_file():
                continue  # a network of that name is listed; locate finds it first
            cards.append(dict(card, name=file.stem, path=str(file), shipped=False))
    return cards


def model_card(name: str) -> dict:
    """Return the model card of ``name`` (a model name or a path to its file); a taught
    model's file is checked completely first."""
    taught = taught_or_none(name)
    if taught is not None:
        return taught.card
    return _read_card(_card_path(name))


def card_or_none(name: str | None) -> dict | None:
    """The card of model ``name``, or None when ``name`` is None or not installed."""
    if name is None:
        return None
    try:
        return model_card(name)
    except ModelError:
        return None


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_module(card: dict):
    """Instantiate the untrained network described by ``card``.

    The card's ``config`` is checked against :mod:`napari_mend.limits` first
    (plain integers or short lists of them, at most
    :data:`~napari_mend.limits.MAX_CONFIG_VALUE`; a network of at most
    ``MAX_PARAMS`` parameters, counted without allocating them), so a
    hostile card cannot make it allocate gigabytes.

    Raises
    ------
    ModelError
        An architecture this version lacks, or a ``config`` out of bounds or
        that the architecture refuses.
    """
    import torch

    from ..limits import limit

    cls = _architecture(card)
    config = _checked_config(card)
    try:
        with torch.device("meta"):  # shapes only: no memory for the parameters
            params = sum(p.numel() for p in cls(**config).parameters())
    except Exception as err:  # unknown keys or values the constructor refuses
        raise ModelError(f"model {card.get('name')!r}: its card's config does not describe a "
                         f"{card['architecture']} ({type(err).__name__}: {err}); the card is "
                         "damaged or was not written by napari-mend") from None
    if params > limit("MAX_PARAMS"):
        raise ModelError(f"model {card.get('name')!r}: its card describes a network of "
                         f"{params:,} parameters, more than the limit of {limit('MAX_PARAMS'):,};"
                         " if you trust the model, raise the limit with the environment "
                         "variable NAPARI_MEND_MAX_PARAMS")
    return cls(**config)


def _architecture(card: dict):
    """The ``nn.Module`` class that ``card['architecture']`` names."""
    target = ARCHITECTURES.get(card["architecture"])
    if target is None:
        raise ModelError(
            f"model {card.get('name')!r} needs architecture {card['architecture']!r}, "
            f"which this version of napari-mend does not have "
            f"(it has {', '.join(ARCHITECTURES)}); update napari-mend"
        )
    module_name, cls_name = target.split(":")
    return getattr(importlib.import_module(module_name), cls_name)


def _checked_config(card: dict) -> dict:
    """``card['config']`` if it holds only bounded integers and short lists of them."""
    from ..limits import MAX_CONFIG_LENGTH, MAX_CONFIG_VALUE

    config = card["config"]

    def bounded(value) -> bool:
        return (isinstance(value, int) and not isinstance(value, bool)
                and 0 <= value <= MAX_CONFIG_VALUE)

    if not isinstance(config, dict):
        raise ModelError(f"model {card.get('name')!r}: its card's config is not a mapping; the "
                         "card is damaged or was not written by napari-mend")
    for key, value in config.items():
        values = value if isinstance(value, list) else [value]
        if len(values) > MAX_CONFIG_LENGTH or not all(map(bounded, values)):
            raise ModelError(
                f"model {card.get('name')!r}: its card's config {key!r} must be an integer "
                f"from 0 to {MAX_CONFIG_VALUE} or a list of at most {MAX_CONFIG_LENGTH} of them; "
                "the card is damaged or was not written by napari-mend")
    return config


def load_network(card: dict, weights, *, source, hint: str = RESTORE_HINT):
    """The network of ``card`` (on the CPU) with the tensors of ``weights`` loaded.

    Parameters
    ----------
    card : dict
        Model card (see :func:`build_module`).
    weights : path-like or file-like
        A torch ``state_dict`` file; read with ``torch.load(weights_only=True)``,
        so it can hold tensors and plain values only, never code.
    source : str or os.PathLike
        What to name in error messages.
    hint : str, optional
        What to do about an error, appended to its message.

    Raises
    ------
    ModelError
        The card is out of bounds (see :func:`build_module`), or the weights
        are not a plain tensor file or do not fit the network.
    """
    import torch

    module = build_module(card)
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for bad files; messages may quote them
        raise ModelError(f"weight file {source} cannot be loaded as plain tensors "
                         f"({type(err).__name__}); {hint}") from None
    try:
        module.load_state_dict(state)
    except Exception as err:  # not a state dict, or one of another network
        raise ModelError(f"weight file {source} does not fit its model card ({err}); "
                         f"{hint}") from None
    return module


_CACHE: dict[tuple, LoadedModel] = {}
_LOCK = threading.Lock()


def get_model(name: str, *, device=None) -> LoadedModel:
    """Load a model by name (or path to its ``.pt``/``.json``), cached.

    The weights' sha256 is checked against the card before loading.

    Parameters
    ----------
    name : str
        Model name as listed by :func:`list_models`, or a file path (its
        ``.pt``/``.json``, or a one-file ``.mendmodel`` package). A taught
        model gives a :class:`LoadedModel` whose ``module`` is its
        :class:`~napari_mend.teach.TaughtModel` (on the CPU, whatever ``device``).
    device : str or torch.device, optional
        Defaults to :func:`napari_mend.models.device.default_device`.

    Returns
    -------
    model : LoadedModel

    Raises
    ------
    ModelError
        Unknown name, missing or corrupt files (the message names the file
        and how to restore it), or an architecture this version lacks.
    """
    import torch

    from .device import default_device

    taught = taught_or_none(name)
    if taught is not None:
        return LoadedModel(name=taught.name, module=taught, card=taught.card,
                           device=torch.device("cpu"))
    device = torch.device(device) if device is not None else default_device()
    card_file = _card_path(name)
    key = (str(card_file.resolve()), str(device))
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        card = _read_card(card_file)
        weights = card_file.with_suffix(".pt")
        if not weights.is_file():
            raise ModelError(f"weight file {weights} is missing; {RESTORE_HINT}")
        if sha256_of(weights) != card["sha256"]:
            raise ModelError(
                f"weight file {weights} does not match its model card's sha256 "
                f"(corrupt or tampered with); {RESTORE_HINT}"
            )
        module = load_network(card, weights, source=weights)
        module.eval().to(device, memory_format=torch.channels_last)  # faster convolutions
        loaded = LoadedModel(name=card["name"], module=module, card=card, device=device)
        _CACHE[key] = loaded
        return loaded


def clear_cache() -> None:
    """Forget loaded models (e.g. after a model file was replaced)."""
    with _LOCK:
        _CACHE.clear()


def update_card(name: str, **fields) -> Path:
    """Set top-level ``fields`` of model ``name``'s card file (a calibration an evaluation
    made), written atomically; loaded models are forgotten. Returns the card's path."""
    from ..io.atomic import atomic_path

    path = _card_path(name)
    card = _read_card(path)
    card.update(fields)
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    clear_cache()
    return path

"""Networks: build one from its card, load its checked weights, cache it.

The card names the architecture and the constructor arguments, so loading
never needs training code. Card keys used here: ``name``, ``kind``
(``'detector'``, ``'inpainter'``, ``'demoire'``), ``architecture`` (a key of
:data:`ARCHITECTURES`), ``config`` (constructor keyword arguments),
``sha256`` (of the ``.pt`` file). Other keys (training, data, metrics,
thresholds, ...) are documentation and settings for the inference code of
that kind. Inference code loads its networks here;
:mod:`napari_mend.models.registry` is the one registry of every model,
taught detectors included.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import threading
from dataclasses import dataclass
from pathlib import Path

from ..io.atomic import atomic_path
from ..limits import MAX_CONFIG_LENGTH, MAX_CONFIG_VALUE, limit, parse_json
from .device import default_device
from .files import (
    NAME_PATTERN,
    NETWORK_MEMBERS,
    PACKAGE_FORMAT,
    PACKAGE_SUFFIX,
    PACKAGE_VERSION,
    RESTORE_HINT,
    ModelError,
    check_card,
    check_header,
    locate,
    read_card_file,
    read_model_file,
    sha256_of,
    user_model_dir,
    zip_members,
)

ARCHITECTURES: dict[str, str] = {
    "detector_unet": "napari_mend.models.detector_net:DetectorUNet",
    "inpainter_net": "napari_mend.models.inpainter_net:InpainterNet",
    "demoire_net": "napari_mend.models.demoire_net:DemoireNet",
}
"""Architecture key -> ``module:class`` of its ``torch.nn.Module``."""


@dataclass(frozen=True)
class LoadedModel:
    """A network ready for inference with its model card."""

    name: str
    module: object  # torch.nn.Module, in eval mode, on ``device``, channels-last
    card: dict
    device: object  # torch.device


def network_card(name: str) -> dict:
    """The model card of network ``name`` (a name or a path to its files)."""
    return read_card_file(card_path(name))


def network_card_or_none(name: str | None) -> dict | None:
    """The card of network ``name``, or None when ``name`` is None or not installed."""
    if name is None:
        return None
    try:
        return network_card(name)
    except ModelError:
        return None


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
    import torch  # deferred: torch is heavy; loaded only when a network runs

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
    import torch  # deferred: torch is heavy; loaded only when a network runs

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


def get_network(name: str, *, device=None) -> LoadedModel:
    """Load a network by name (or path to its ``.pt``/``.json`` or ``.mendmodel``), cached.

    The weights' sha256 is checked against the card before loading.

    Parameters
    ----------
    name : str
        Network name as listed by :func:`napari_mend.models.registry.list_models`,
        or a file path (its ``.pt``/``.json``, or a one-file ``.mendmodel`` package).
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
    import torch  # deferred: torch is heavy; loaded only when a network runs

    device = torch.device(device) if device is not None else default_device()
    card_file = card_path(name)
    key = (str(card_file.resolve()), str(device))
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        card = read_card_file(card_file)
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

    path = card_path(name)
    card = read_card_file(path)
    card.update(fields)
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    clear_cache()
    return path


def card_path(name: str) -> Path:
    """Card file of network model ``name`` (a package is checked and unpacked first)."""
    kind, path = locate(name)
    if kind == "taught":
        raise ModelError(f"{name!r} is a taught model (a .mendmodel file), not a network; "
                         "it has no separate card or weight file")
    if kind == "package":
        return unpacked_card(path)
    return path


def read_package(path) -> tuple[dict, bytes]:
    """The card and weight bytes of a package file, checked.

    Nothing is written: the file's size, its members' sizes, the header,
    the card (keys, types, name, architecture bounds) and the weights
    (sha256, loadable with ``torch.load(weights_only=True)`` into the card's
    network) are all checked in memory.

    Raises
    ------
    ModelError
        Not a napari-mend model file, larger than the limits of
        :mod:`napari_mend.limits`, a format version this napari-mend cannot
        read, a card out of bounds, or weights that do not match the card's
        sha256 (corrupt or tampered with) or its network.
    """
    return _checked(read_model_file(path), Path(path))


def _checked(data: bytes, path: Path) -> tuple[dict, bytes]:
    """Card and weights of the package ``data`` (the file ``path``), every check passed."""
    header, card, weights = _members(data, path)
    check_header(header, fmt=PACKAGE_FORMAT, version=PACKAGE_VERSION, source=path,
                 what="napari-mend model file", remedy="re-export the model with this version")
    hint = "the file is damaged or was not written by napari-mend; ask for it again"
    check_card(card, f"{path}: its model card", hint=hint)
    if not NAME_PATTERN.match(card["name"]) or card["name"].endswith(PACKAGE_SUFFIX):
        raise ModelError(f"{path}: its model card's name {card['name'][:80]!r} cannot name a "
                         f"model (1 to 64 letters, digits, '_', '-' or '.'); {hint}")
    if hashlib.sha256(weights).hexdigest() != card["sha256"]:
        raise ModelError(f"{path}: the weights do not match the card's sha256 (corrupt or "
                         "tampered with); ask for the file again")
    load_network(card, io.BytesIO(weights), source=f"{path}:weights.pt", hint=hint)
    return card, weights


def _members(data: bytes, path: Path) -> tuple[object, object, bytes]:
    """``package.json`` and ``card.json`` (parsed) and ``weights.pt`` of a package, size-capped."""
    parts = zip_members(data, NETWORK_MEMBERS, source=path)
    try:
        header = parse_json(parts["package.json"], source=f"{path}:package.json")
        card = parse_json(parts["card.json"], source=f"{path}:card.json")
    except ValueError as err:
        raise ModelError(f"{path} is not a napari-mend model file ({err}); export one with "
                         "'napari-mend models export'") from None
    return header, card, parts["weights.pt"]


def unpacked_card(path) -> Path:
    """Card path of a package file unpacked into the cache (for ``get_model(path)``).

    The cache folder is named after the sha256 of the whole package file and
    holds ``model.json`` and ``model.pt``: names napari-mend chooses, never
    ones from the file. A package is checked completely (see
    :func:`read_package`) before anything is written, and its folder appears
    complete or not at all.
    """
    path = Path(path)
    data = read_model_file(path)
    folder = user_model_dir() / ".unpacked" / hashlib.sha256(data).hexdigest()
    card_path = folder / "model.json"
    if card_path.is_file():
        return card_path
    card, weights = _checked(data, path)
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(folder) as tmp:
            tmp.mkdir()
            (tmp / "model.pt").write_bytes(weights)
            (tmp / "model.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    except FileExistsError:  # unpacked meanwhile by another process
        pass
    return card_path

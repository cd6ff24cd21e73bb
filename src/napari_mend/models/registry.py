"""One registry for every model napari-mend can load: networks and taught detectors.

Shipped networks live in this package's ``weights/`` folder; models a user
trains, imports or teaches live in the user model folder
(:func:`~napari_mend.models.files.user_model_dir`). Detectors taught by
example (:mod:`napari_mend.teaching`) are registry models too: one
``<name>.mendmodel`` file in the user model folder (``napari-mend models
import``), kind :data:`TAUGHT_KIND`. :func:`locate` finds a model of either
kind by name or path; :func:`get_model` returns a taught model as a
:class:`LoadedModel` whose ``module`` is the
:class:`~napari_mend.teaching.TaughtModel` (checked completely by
:func:`napari_mend.teaching.load` each time its file changes), a network as
loaded by :func:`~napari_mend.models.networks.get_network`.
"""

from __future__ import annotations

from ..teaching.model import load
from ..teaching.storage import read_card
from .files import (
    TAUGHT_KIND,
    TAUGHT_SUFFIX,
    WEIGHTS_DIR,
    ModelError,
    locate,
    read_card_file,
    search_dirs,
    sha256_of,
    user_model_dir,
)
from .networks import (
    ARCHITECTURES,
    LoadedModel,
    build_module,
    clear_cache,
    get_network,
    load_network,
    network_card,
    update_card,
)

__all__ = ["ARCHITECTURES", "TAUGHT_KIND", "LoadedModel", "ModelError", "build_module",
           "card_or_none", "clear_cache", "get_model", "list_models", "load_network", "locate",
           "model_card", "sha256_of", "taught_or_none", "update_card", "user_model_dir",
           "WEIGHTS_DIR"]

def taught_or_none(name):
    """The :class:`~napari_mend.teaching.TaughtModel` that ``name`` names (an installed taught
    model or the path of its file), checked completely; None for networks and unknown names.

    Raises
    ------
    napari_mend.teaching.TaughtModelError
        (a :class:`ModelError`) The file says it holds a taught model but fails a check.
    """
    try:
        kind, path = locate(name)
    except ModelError:
        return None
    if kind != "taught":
        return None

    return load(path)


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
    for folder in search_dirs():
        if not folder.is_dir():
            continue
        for card_file in sorted(folder.glob("*.json")):
            try:
                card = read_card_file(card_file)
            except ModelError:
                continue
            if kind is None or card["kind"] == kind:
                card = dict(card, path=str(card_file.with_suffix(".pt")),
                            shipped=folder == WEIGHTS_DIR)
                cards.append(card)
        if folder == WEIGHTS_DIR or kind not in (None, TAUGHT_KIND):
            continue

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
    return network_card(name)


def card_or_none(name: str | None) -> dict | None:
    """The card of model ``name``, or None when ``name`` is None or not installed."""
    if name is None:
        return None
    try:
        return model_card(name)
    except ModelError:
        return None


def get_model(name: str, *, device=None) -> LoadedModel:
    """Load any model by name or path, cached: a taught detector (on the CPU, whatever
    ``device``) or a network (:func:`~napari_mend.models.networks.get_network`).

    Raises
    ------
    ModelError
        Unknown name, missing or corrupt files (the message names the file
        and how to restore it), or an architecture this version lacks.
    """
    taught = taught_or_none(name)
    if taught is not None:
        return LoadedModel(name=taught.name, module=taught, card=taught.card, device="cpu")
    return get_network(name, device=device)

"""A model as one file: weights and model card in a zip, to share between curators.

``export_model(name, path)`` writes ``<path>`` (suffix :data:`PACKAGE_SUFFIX`)
holding ``package.json`` (format and version), ``card.json`` and
``weights.pt``. ``import_model(path)`` checks it and installs the model into
the user model folder, where :func:`napari_mend.models.list_models` lists it;
:func:`napari_mend.models.get_model` also loads a package file directly
from its path (it is checked, then unpacked into a cache folder keyed by
the checksum of the whole file).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
import zlib
from pathlib import Path

from ..io.atomic import atomic_path
from ..limits import LimitError, parse_json, read_capped
from .registry import (ModelError, WEIGHTS_DIR, _card_path, _read_card, check_card, clear_cache,
                       load_network, sha256_of, user_model_dir)

PACKAGE_SUFFIX = ".mendmodel"
PACKAGE_FORMAT = "napari-mend-model"
PACKAGE_VERSION = 1
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(name: str) -> str:
    """Return ``name`` if it can name a user model, else raise ValueError."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or name.endswith(PACKAGE_SUFFIX):
        raise ValueError(f"model name {name!r}: use 1 to 64 letters, digits, '_', '-' or '.', "
                         "starting with a letter or digit")
    if (WEIGHTS_DIR / f"{name}.json").is_file():
        raise ValueError(f"model name {name!r} is taken by a model shipped with napari-mend; "
                         "choose another name")
    return name


def model_files(name: str) -> tuple[Path, Path]:
    """The card and weight files of an installed model (or of a path to one)."""
    card = _card_path(str(name))
    return card, card.with_suffix(".pt")


def export_model(name: str, path) -> Path:
    """Write model ``name`` (weights + card) as one file.

    Parameters
    ----------
    name : str
        An installed model (see :func:`~napari_mend.models.list_models`) or
        a path to its ``.json``/``.pt``.
    path : path-like
        Output file; :data:`PACKAGE_SUFFIX` is appended when missing. An
        existing file is not replaced.

    Returns
    -------
    path : Path
        The file written.

    Raises
    ------
    ModelError
        The model is unknown, or its weights do not match its card.
    FileExistsError
        ``path`` exists.
    """
    card_file, weights = model_files(name)
    card = _read_card(card_file)
    if not weights.is_file() or sha256_of(weights) != card["sha256"]:
        raise ModelError(f"weight file {weights} is missing or does not match its model card; "
                         "it cannot be exported")
    path = Path(path)
    if path.suffix != PACKAGE_SUFFIX:
        path = path.with_name(path.name + PACKAGE_SUFFIX)
    if path.exists():
        raise FileExistsError(f"{path} exists; choose another file name")
    from .. import __version__

    header = {"format": PACKAGE_FORMAT, "version": PACKAGE_VERSION, "napari_mend": __version__}
    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("package.json", json.dumps(header, indent=2))
        zf.writestr("card.json", json.dumps(card, indent=2))
        zf.write(weights, "weights.pt")
    os.replace(tmp, path)
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
    return _checked(_read_file(path), Path(path))


def _read_file(path) -> bytes:
    """The bytes of a package file, at most ``MAX_MODEL_BYTES`` of them."""
    try:
        with open(path, "rb") as stream:
            return read_capped(stream, "MAX_MODEL_BYTES", source=path)
    except FileNotFoundError:
        raise ModelError(f"{path}: no such model file") from None
    except LimitError as err:
        raise ModelError(str(err)) from None
    except OSError as err:
        raise ModelError(f"{path}: cannot read it ({err.strerror})") from None


def _checked(data: bytes, path: Path) -> tuple[dict, bytes]:
    """Card and weights of the package ``data`` (the file ``path``), every check passed."""
    header, card, weights = _members(data, path)
    if not isinstance(header, dict) or header.get("format") != PACKAGE_FORMAT:
        raise ModelError(f"{path} is not a napari-mend model file")
    if header.get("version") != PACKAGE_VERSION:
        raise ModelError(f"{path} is a model file of format version {header.get('version')!r} "
                         f"(napari-mend {header.get('napari_mend', '?')!r}); this napari-mend "
                         f"reads version {PACKAGE_VERSION}: update napari-mend, or re-export the "
                         "model with this version")
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
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            header = parse_json(_member(zf, "package.json", "MAX_JSON_BYTES", path),
                                source=f"{path}:package.json")
            card = parse_json(_member(zf, "card.json", "MAX_JSON_BYTES", path),
                              source=f"{path}:card.json")
            weights = _member(zf, "weights.pt", "MAX_MODEL_BYTES", path)
    except LimitError as err:
        raise ModelError(str(err)) from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, RuntimeError,
            NotImplementedError, zlib.error) as err:  # what zipfile raises for damaged files
        raise ModelError(f"{path} is not a napari-mend model file ({type(err).__name__}: {err});"
                         " export one with 'napari-mend models export'") from None
    return header, card, weights


def _member(zf: zipfile.ZipFile, name: str, limit_name: str, path: Path) -> bytes:
    """Member ``name`` of ``zf``: its declared size is checked, and reading stops past the limit."""
    info = zf.getinfo(name)
    with zf.open(info) as stream:
        return read_capped(stream, limit_name, source=f"{path}:{name}", declared=info.file_size)


def _install(card: dict, weights: bytes, folder: Path, name: str) -> Path:
    """Write ``<name>.pt`` then ``<name>.json`` into ``folder``; return the card path."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        (Path(tmp) / "w.pt").write_bytes(weights)
        (Path(tmp) / "c.json").write_text(json.dumps(dict(card, name=name), indent=2) + "\n",
                                          encoding="utf-8")
        os.replace(Path(tmp) / "w.pt", folder / f"{name}.pt")
        os.replace(Path(tmp) / "c.json", folder / f"{name}.json")
    return folder / f"{name}.json"


def import_model(path, *, name: str | None = None, overwrite: bool = False) -> dict:
    """Install a model file into the user model folder.

    Parameters
    ----------
    path : path-like
        A file written by :func:`export_model`.
    name : str, optional
        Name to install it under; default the name in its card.
    overwrite : bool, optional
        Replace a user model of that name.

    Returns
    -------
    card : dict
        The installed model's card.

    Raises
    ------
    ModelError
        The file is not a valid model file (see :func:`read_package`), or
        its architecture is unknown to this napari-mend.
    FileExistsError
        A user model of that name exists and ``overwrite`` is False.
    """
    card, weights = read_package(path)  # every check, before anything is installed
    name = check_name(name or card["name"])
    folder = user_model_dir()
    if (folder / f"{name}.json").exists() and not overwrite:
        raise FileExistsError(f"a model named {name!r} is installed; pass overwrite=True "
                              "(--overwrite) or choose another name")
    card_path = _install(card, weights, folder, name)
    clear_cache()
    return _read_card(card_path)


def unpacked_card(path) -> Path:
    """Card path of a package file unpacked into the cache (for ``get_model(path)``).

    The cache folder is named after the sha256 of the whole package file and
    holds ``model.json`` and ``model.pt``: names napari-mend chooses, never
    ones from the file. A package is checked completely (see
    :func:`read_package`) before anything is written, and its folder appears
    complete or not at all.
    """
    path = Path(path)
    data = _read_file(path)
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

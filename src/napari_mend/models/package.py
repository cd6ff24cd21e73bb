"""A model as one file: weights and model card in a zip, to share between curators.

``export_model(name, path)`` writes ``<path>`` (suffix :data:`PACKAGE_SUFFIX`)
holding ``package.json`` (format and version), ``card.json`` and
``weights.pt``. ``import_model(path)`` checks it and installs the model into
the user model folder, where :func:`napari_mend.models.list_models` lists it;
:func:`napari_mend.models.get_model` also loads a package file directly
from its path (it is unpacked into a cache folder keyed by its checksum).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from pathlib import Path

from .registry import ModelError, WEIGHTS_DIR, _card_path, _read_card, sha256_of, user_model_dir

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

    Raises
    ------
    ModelError
        Not a napari-mend model file, a format version this napari-mend
        cannot read, or weights that do not match the card's sha256
        (corrupt or tampered with).
    """
    import hashlib

    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            header = json.loads(zf.read("package.json"))
            card = json.loads(zf.read("card.json"))
            weights = zf.read("weights.pt")
    except FileNotFoundError:
        raise ModelError(f"{path}: no such model file") from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
        raise ModelError(f"{path} is not a napari-mend model file ({err}); export one with "
                         "'napari-mend models export'") from None
    if header.get("format") != PACKAGE_FORMAT:
        raise ModelError(f"{path} is not a napari-mend model file")
    if header.get("version") != PACKAGE_VERSION:
        raise ModelError(f"{path} is a model file of format version {header.get('version')} "
                         f"(napari-mend {header.get('napari_mend', '?')}); this napari-mend reads "
                         f"version {PACKAGE_VERSION}: update napari-mend, or re-export the model "
                         "with this version")
    for key in ("name", "kind", "architecture", "config", "sha256"):
        if key not in card:
            raise ModelError(f"{path}: its model card lacks {key!r}; the file is damaged")
    if hashlib.sha256(weights).hexdigest() != card["sha256"]:
        raise ModelError(f"{path}: the weights do not match the card's sha256 (corrupt or "
                         "tampered with); ask for the file again")
    return card, weights


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
    from .registry import build_module, clear_cache

    card, weights = read_package(path)
    build_module(card)  # an architecture this version lacks fails here, before installing
    name = check_name(name or card["name"])
    folder = user_model_dir()
    if (folder / f"{name}.json").exists() and not overwrite:
        raise FileExistsError(f"a model named {name!r} is installed; pass overwrite=True "
                              "(--overwrite) or choose another name")
    card_path = _install(card, weights, folder, name)
    clear_cache()
    return _read_card(card_path)


def unpacked_card(path) -> Path:
    """Card path of a package file unpacked into the cache (for ``get_model(path)``)."""
    card, weights = read_package(path)
    folder = user_model_dir() / ".unpacked" / card["sha256"][:16]
    if not (folder / f"{card['name']}.json").is_file():
        _install(card, weights, folder, card["name"])
    return folder / f"{card['name']}.json"

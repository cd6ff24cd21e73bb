"""A model as one file: weights and model card in a zip, to share between curators.

Two formats share the suffix :data:`PACKAGE_SUFFIX`, told apart by the
``format`` of their ``package.json`` (:func:`package_kind`, the one place that
dispatches on it):

* ``napari-mend-model`` (:data:`PACKAGE_FORMAT`), a network: ``package.json``,
  ``card.json`` and ``weights.pt``;
* ``napari-mend-taught-model``, a detector taught by example
  (:mod:`napari_mend.teaching.storage`): ``package.json``, ``card.json`` and
  ``forest.npz``.

``export_model(name, path)`` writes an installed model as one file.
``import_model(path)`` checks a file completely, then installs it into the user
model folder, where :func:`napari_mend.models.list_models` lists it: a network
as ``<name>.pt`` + ``<name>.json``, a taught model as ``<name>.mendmodel``.
:func:`napari_mend.models.registry.get_model` also loads a package file directly from its
path (a network is checked, then unpacked into a cache folder keyed by the
checksum of the whole file; a taught model is read in memory). Members are read
by :func:`zip_members`, with every size capped (:mod:`napari_mend.limits`), for
both formats.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

from .._version import __version__
from ..io.atomic import atomic_path
from ..teaching.model import loads
from ..teaching.storage import save
from .files import (
    PACKAGE_FORMAT,
    PACKAGE_SUFFIX,
    PACKAGE_VERSION,
    ModelError,
    check_name,
    locate,
    package_kind,
    read_card_file,
    read_model_file,
    sha256_of,
    user_model_dir,
)
from .networks import _checked, card_path, clear_cache


def _installed(name: str) -> list[Path]:
    """Files of user model ``name`` that exist (either kind)."""
    folder = user_model_dir()
    return [p for p in (folder / f"{name}.json", folder / f"{name}{PACKAGE_SUFFIX}") if p.exists()]


def model_files(name: str) -> tuple[Path, Path]:
    """The card and weight files of an installed model (or of a path to one)."""
    card = card_path(str(name))
    return card, card.with_suffix(".pt")


def export_model(name: str, path) -> Path:
    """Write model ``name`` as one file.

    Parameters
    ----------
    name : str
        An installed model (see :func:`~napari_mend.models.list_models`) or
        a path to its ``.json``/``.pt``; a taught model (installed, or its file)
        is checked completely and copied as it is.
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
        The model is unknown, or its weights do not match its card (a taught
        model: any check of :func:`napari_mend.teaching.load` fails).
    FileExistsError
        ``path`` exists.
    """

    kind, source = locate(str(name))
    path = Path(path)
    if path.suffix != PACKAGE_SUFFIX:
        path = path.with_name(path.name + PACKAGE_SUFFIX)
    if kind == "taught":
        data = read_model_file(source)
        loads(data, source=source)  # every check: never share a damaged file
        if path.exists():
            raise FileExistsError(f"{path} exists; choose another file name")
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        return path
    card_file, weights = model_files(name)
    card = read_card_file(card_file)
    if not weights.is_file() or sha256_of(weights) != card["sha256"]:
        raise ModelError(f"weight file {weights} is missing or does not match its model card; "
                         "it cannot be exported")
    if path.exists():
        raise FileExistsError(f"{path} exists; choose another file name")

    header = {"format": PACKAGE_FORMAT, "version": PACKAGE_VERSION, "napari_mend": __version__}
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr("package.json", json.dumps(header, indent=2))
            zf.writestr("card.json", json.dumps(card, indent=2))
            zf.write(weights, "weights.pt")
    return path


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
    """Install a model file (a network or a taught model) into the user model folder.

    Every check passes before anything is written: the file's and its members'
    sizes, its header, its card and its weights (:func:`read_package`) or forest
    (:func:`napari_mend.teaching.load`), then the name. A network is installed as
    ``<name>.pt`` + ``<name>.json``, a taught model as ``<name>.mendmodel``
    (written by napari-mend from the checked trees, atomically); file names are
    the checked name, never names from the file.

    Parameters
    ----------
    path : path-like
        A file written by :func:`export_model` or :meth:`TaughtModel.save
        <napari_mend.teaching.TaughtModel.save>`.
    name : str, optional
        Name to install it under; default the name in its card.
    overwrite : bool, optional
        Replace a user model of that name and kind.

    Returns
    -------
    card : dict
        The installed model's card.

    Raises
    ------
    ModelError
        The file is not a valid model file (see :func:`read_package` and
        :func:`napari_mend.teaching.load`), or its architecture is unknown to
        this napari-mend.
    ValueError
        The name cannot name a model, or is a shipped model's.
    FileExistsError
        A user model of that name exists and ``overwrite`` is False, or one of
        the other kind exists.
    """
    path = Path(path)
    data = read_model_file(path)
    kind = package_kind(data, path)
    if kind == "taught":
        model = loads(data, source=path)  # every check, before anything is installed
        card = model.card
    else:
        card, weights = _checked(data, path)  # every check, before anything is installed
    name = check_name(name or card["name"])
    folder = user_model_dir()
    own = folder / (f"{name}{PACKAGE_SUFFIX}" if kind == "taught" else f"{name}.json")
    for existing in _installed(name):
        if existing != own:
            raise FileExistsError(f"a model named {name!r} of another kind is installed "
                                  f"({existing.name}); choose another name")
        if not overwrite:
            raise FileExistsError(f"a model named {name!r} is installed; pass overwrite=True "
                                  "(--overwrite) or choose another name")
    if kind == "taught":
        folder.mkdir(parents=True, exist_ok=True)
        save(model, own, overwrite=overwrite)
        clear_cache()
        return dict(model.card)
    card_path = _install(card, weights, folder, name)
    clear_cache()
    return read_card_file(card_path)

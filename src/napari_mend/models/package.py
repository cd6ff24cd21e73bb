"""A model as one file: weights and model card in a zip, to share between curators.

Two formats share the suffix :data:`PACKAGE_SUFFIX`, told apart by the
``format`` of their ``package.json`` (:func:`package_kind`, the one place that
dispatches on it):

* ``napari-mend-model`` (:data:`PACKAGE_FORMAT`), a network: ``package.json``,
  ``card.json`` and ``weights.pt``;
* ``napari-mend-taught-model``, a detector taught by example
  (:mod:`napari_mend.teach.storage`): ``package.json``, ``card.json`` and
  ``forest.npz``.

``export_model(name, path)`` writes an installed model as one file.
``import_model(path)`` checks a file completely, then installs it into the user
model folder, where :func:`napari_mend.models.list_models` lists it: a network
as ``<name>.pt`` + ``<name>.json``, a taught model as ``<name>.mendmodel``.
:func:`napari_mend.models.get_model` also loads a package file directly from its
path (a network is checked, then unpacked into a cache folder keyed by the
checksum of the whole file; a taught model is read in memory). Members are read
by :func:`zip_members`, with every size capped (:mod:`napari_mend.limits`), for
both formats.
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
TAUGHT_FORMAT = "napari-mend-taught-model"
"""``package.json`` format of a taught model (:mod:`napari_mend.teach.storage`)."""
KINDS = {PACKAGE_FORMAT: "network", TAUGHT_FORMAT: "taught"}
"""``package.json`` format -> what the file holds."""
NETWORK_MEMBERS = {"package.json": "MAX_JSON_BYTES", "card.json": "MAX_JSON_BYTES",
                   "weights.pt": "MAX_MODEL_BYTES"}
"""Members of a network package and the limit on each one's size."""
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(name: str) -> str:
    """Return ``name`` if it can name a user model, else raise ValueError."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or name.endswith(PACKAGE_SUFFIX):
        raise ValueError(f"model name {name!r}: use 1 to 64 letters, digits, '_', '-' or '.', "
                         "starting with a letter or digit")
    if (WEIGHTS_DIR / f"{name}.json").is_file() or (WEIGHTS_DIR / f"{name}{PACKAGE_SUFFIX}").is_file():
        raise ValueError(f"model name {name!r} is taken by a model shipped with napari-mend; "
                         "choose another name")
    return name


def zip_members(data: bytes, caps: dict, *, source, error=ModelError, what="napari-mend model file",
                hint="export one with 'napari-mend models export'", exact: bool = False) -> dict:
    """The members ``caps`` names (name -> limit name) of the zip ``data``, each size-capped.

    Each member's declared size is checked against its limit before it is read, and
    reading stops one byte past the limit (:func:`napari_mend.limits.read_capped`), so a
    zip bomb or a member larger than it declares costs no memory. With ``exact``, the
    zip must hold exactly those members (nothing else, no duplicates).

    Raises
    ------
    error
        (a :class:`ModelError`) Not a zip, a member missing (or, with ``exact``, an
        extra one), or a member over its limit.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = [info.filename for info in zf.infolist()]
            if exact and sorted(names) != sorted(caps):
                raise error(f"{source} does not hold exactly the members of a {what} "
                            f"({', '.join(caps)}); it holds "
                            f"{', '.join(repr(n[:40]) for n in names[:8])}; {hint}")
            return {name: _member(zf, name, cap, source) for name, cap in caps.items()}
    except ModelError:
        raise
    except LimitError as err:
        raise error(str(err)) from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, RuntimeError,
            NotImplementedError, zlib.error) as err:  # what zipfile raises for damaged files
        raise error(f"{source} is not a {what} ({type(err).__name__}: {str(err)[:200]}); "
                    f"{hint}") from None


def package_kind(data: bytes, source) -> str:
    """What the package ``data`` holds, by its ``package.json`` format: ``'network'`` or
    ``'taught'`` (:data:`KINDS`). Only ``package.json`` is read (size-capped).

    Raises
    ------
    ModelError
        Not a zip, no readable ``package.json``, or a format napari-mend does not know.
    """
    raw = zip_members(data, {"package.json": "MAX_JSON_BYTES"}, source=source)["package.json"]
    try:
        header = parse_json(raw, source=f"{source}:package.json")
    except ValueError as err:
        raise ModelError(f"{err}; export one with 'napari-mend models export'") from None
    fmt = header.get("format") if isinstance(header, dict) else None
    if not isinstance(fmt, str) or fmt not in KINDS:
        raise ModelError(f"{source} is not a napari-mend model file")
    return KINDS[fmt]


def file_kind(path) -> str:
    """:func:`package_kind` of the file ``path`` (read whole, at most ``MAX_MODEL_BYTES``)."""
    return package_kind(read_model_file(path), Path(path))


def _installed(name: str) -> list[Path]:
    """Files of user model ``name`` that exist (either kind)."""
    folder = user_model_dir()
    return [p for p in (folder / f"{name}.json", folder / f"{name}{PACKAGE_SUFFIX}") if p.exists()]


def model_files(name: str) -> tuple[Path, Path]:
    """The card and weight files of an installed model (or of a path to one)."""
    card = _card_path(str(name))
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
        model: any check of :func:`napari_mend.teach.load` fails).
    FileExistsError
        ``path`` exists.
    """
    from .registry import locate

    kind, source = locate(str(name))
    path = Path(path)
    if path.suffix != PACKAGE_SUFFIX:
        path = path.with_name(path.name + PACKAGE_SUFFIX)
    if kind == "taught":
        from ..teach.storage import loads

        data = read_model_file(source)
        loads(data, source=source)  # every check: never share a damaged file
        if path.exists():
            raise FileExistsError(f"{path} exists; choose another file name")
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        return path
    card_file, weights = model_files(name)
    card = _read_card(card_file)
    if not weights.is_file() or sha256_of(weights) != card["sha256"]:
        raise ModelError(f"weight file {weights} is missing or does not match its model card; "
                         "it cannot be exported")
    if path.exists():
        raise FileExistsError(f"{path} exists; choose another file name")
    from .. import __version__

    header = {"format": PACKAGE_FORMAT, "version": PACKAGE_VERSION, "napari_mend": __version__}
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr("package.json", json.dumps(header, indent=2))
            zf.writestr("card.json", json.dumps(card, indent=2))
            zf.write(weights, "weights.pt")
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


def read_model_file(path, error=ModelError) -> bytes:
    """The bytes of a model file, at most ``MAX_MODEL_BYTES`` of them; problems raise
    ``error`` (a :class:`ModelError`)."""
    try:
        with open(path, "rb") as stream:
            return read_capped(stream, "MAX_MODEL_BYTES", source=path)
    except FileNotFoundError:
        raise error(f"{path}: no such model file") from None
    except LimitError as err:
        raise error(str(err)) from None
    except OSError as err:
        raise error(f"{path}: cannot read it ({err.strerror})") from None


def check_header(header, *, fmt: str, version: int, source, what: str, remedy: str,
                 error=ModelError) -> None:
    """Refuse a package whose ``package.json`` is not ``fmt`` at ``version``: raise ``error``
    saying ``source`` is not a ``what``, or what to do (``remedy``) about another version.
    Values from the file are quoted at most 20 characters long."""
    if not isinstance(header, dict) or header.get("format") != fmt:
        raise error(f"{source} is not a {what}")
    if header.get("version") != version:
        raise error(f"{source} is a {what} of format version {str(header.get('version'))[:20]}; "
                    f"this napari-mend reads version {version}: update napari-mend, or {remedy}")


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
    """Install a model file (a network or a taught model) into the user model folder.

    Every check passes before anything is written: the file's and its members'
    sizes, its header, its card and its weights (:func:`read_package`) or forest
    (:func:`napari_mend.teach.load`), then the name. A network is installed as
    ``<name>.pt`` + ``<name>.json``, a taught model as ``<name>.mendmodel``
    (written by napari-mend from the checked trees, atomically); file names are
    the checked name, never names from the file.

    Parameters
    ----------
    path : path-like
        A file written by :func:`export_model` or :meth:`TaughtModel.save
        <napari_mend.teach.TaughtModel.save>`.
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
        :func:`napari_mend.teach.load`), or its architecture is unknown to
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
        from ..teach.storage import loads, save

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

"""Model files on disk: where models are, their cards, and the one-file ``.mendmodel`` format.

The lowest floor of :mod:`napari_mend.models`: nothing here builds a network
or a taught model. A model is two files side by side, ``<name>.pt`` (a torch
``state_dict``) and ``<name>.json`` (its model card), or one ``.mendmodel``
zip file: two formats share that suffix, told apart by the ``format`` of
their ``package.json`` (:func:`package_kind`, the one place that dispatches
on it): ``napari-mend-model`` (:data:`PACKAGE_FORMAT`), a network
(``package.json``, ``card.json``, ``weights.pt``), and
``napari-mend-taught-model`` (:data:`TAUGHT_FORMAT`), a detector taught by
example (:mod:`napari_mend.teaching.storage`: ``package.json``,
``card.json``, ``forest.npz``). Members are read by :func:`zip_members`,
with every size capped (:mod:`napari_mend.limits`), for both formats.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
import zlib
from pathlib import Path

from ..limits import LimitError, parse_json, read_capped, read_json

WEIGHTS_DIR = Path(__file__).parent / "weights"


RESTORE_HINT = (
    "reinstall napari-mend (pip install --force-reinstall napari-mend) to restore "
    "the shipped weights, or retrain with 'napari-mend train'"
)


class ModelError(RuntimeError):
    """A model is unknown, missing, corrupt or incompatible."""


def user_model_dir() -> Path:
    """Folder of user-trained models (``NAPARI_MEND_MODEL_DIR`` overrides it)."""
    env = os.environ.get("NAPARI_MEND_MODEL_DIR")
    if env:
        return Path(env)
    try:
        from platformdirs import user_data_dir  # deferred: only for the user folder
    except ImportError:  # platformdirs ships with napari; keep compute usable without it
        return Path.home() / ".local" / "share" / "napari-mend" / "models"
    return Path(user_data_dir("napari-mend", appauthor=False)) / "models"


def search_dirs() -> list[Path]:
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

        return ("taught" if file_kind(path) == "taught" else "package"), path
    for folder in search_dirs():
        candidate = folder / f"{name}.json"
        if candidate.is_file():
            return "network", candidate
        candidate = folder / f"{name}{TAUGHT_SUFFIX}"
        if folder != WEIGHTS_DIR and candidate.is_file():
            return "taught", candidate
    known = ", ".join(repr(n) for n in installed_names()) or "none"
    raise ModelError(f"unknown model {name[:200]!r}; known models: {known}")


def read_card_file(path: Path) -> dict:
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


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def installed_names() -> list[str]:
    """Names of the installed models (networks and taught models), without reading them."""
    names = set()
    for folder in search_dirs():
        if folder.is_dir():
            names.update(p.stem for p in folder.glob("*.json"))
            if folder != WEIGHTS_DIR:
                names.update(p.stem for p in folder.glob(f"*{TAUGHT_SUFFIX}"))
    return sorted(names)


PACKAGE_SUFFIX = ".mendmodel"


PACKAGE_FORMAT = "napari-mend-model"


PACKAGE_VERSION = 1


TAUGHT_FORMAT = "napari-mend-taught-model"
"""``package.json`` format of a taught model (:mod:`napari_mend.teaching.storage`)."""


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
            return {name: capped_member(zf, name, cap, source) for name, cap in caps.items()}
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


def check_header(header, *, fmt: str, version, source, what: str, remedy: str,
                 error=ModelError) -> None:
    """Refuse a package whose ``package.json`` is not ``fmt`` at ``version`` (an int, or a
    tuple of the versions read): raise ``error`` saying ``source`` is not a ``what``, or what
    to do (``remedy``) about another version. Values from the file are quoted at most 20
    characters long."""
    versions = (version,) if isinstance(version, int) else tuple(version)
    if not isinstance(header, dict) or header.get("format") != fmt:
        raise error(f"{source} is not a {what}")
    found = header.get("version")
    if isinstance(found, bool) or found not in versions:
        readable = " or ".join(str(v) for v in versions)
        raise error(f"{source} is a {what} of format version {str(found)[:20]}; "
                    f"this napari-mend reads version {readable}: update napari-mend, or {remedy}")


def capped_member(zf: zipfile.ZipFile, name: str, limit_name: str, path: Path) -> bytes:
    """Member ``name`` of ``zf``: its declared size is checked, and reading stops past the limit."""
    info = zf.getinfo(name)
    with zf.open(info) as stream:
        return read_capped(stream, limit_name, source=f"{path}:{name}", declared=info.file_size)

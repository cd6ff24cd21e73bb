"""The batch manifest: one JSON file listing every input of a batch and what became of it.

``OUT_DIR/manifest.json`` holds the batch's settings and, per input file, its
status (``'done'``, ``'skipped'`` when a previous run had already made its
bundle, ``'failed'`` with the error), the bundle it produced and that
bundle's provenance record: which pixels changed (the mask summary), method,
models with their sha256, parameters, package version, the input's
checksum and the time. Each bundle also holds its own provenance, so the
manifest can be rebuilt from the bundles.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from .._version import __version__
from ..io.atomic import atomic_path
from ..io.confine import confined
from ..limits import read_json

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "napari-mend-batch-manifest"
MANIFEST_FORMAT_VERSION = 1
STATUSES = ("done", "skipped", "failed")


def utc_now() -> str:
    """The current UTC time in ISO 8601, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def build_manifest(entries, *, settings: dict, started: str, finished: str | None) -> dict:
    """Assemble the manifest of a batch.

    Parameters
    ----------
    entries : list of dict
        One per input, in input order: keys ``input``, ``output`` (bundle
        folder name, relative to the manifest), ``status``, ``error``,
        ``seconds``, ``provenance``.
    settings : dict
        The batch's options (detector, fill, threshold, classes, workers,
        scheduler, ...).
    started, finished : str
        UTC times; ``finished`` is ``None`` for an interrupted batch.

    Returns
    -------
    manifest : dict
    """
    counts = {status: sum(e["status"] == status for e in entries) for status in STATUSES}
    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_FORMAT_VERSION,
        "napari_mend_version": __version__,
        "started": started,
        "finished": finished,
        "settings": settings,
        "counts": dict(counts, total=len(entries)),
        "files": list(entries),
    }


def write_manifest(out_dir, manifest: dict) -> Path:
    """Write ``OUT_DIR/manifest.json`` atomically (replacing an older one)."""
    path = Path(out_dir) / MANIFEST_NAME
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def _manifest_path(path) -> Path:
    path = Path(path)
    return path / MANIFEST_NAME if path.is_dir() else path


def read_manifest(path) -> dict:
    """Read a batch manifest.

    Parameters
    ----------
    path : str or os.PathLike
        ``manifest.json`` or the batch output folder holding it.

    Raises
    ------
    ValueError
        If it is not a napari-mend batch manifest or was written by a newer
        napari-mend.
    """
    file = _manifest_path(path)
    try:
        manifest = read_json(file)
    except OSError as err:
        raise ValueError(f"cannot read {file} as a batch manifest ({err.strerror})") from None
    except ValueError as err:
        raise ValueError(f"cannot read {file} as a batch manifest ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{file} is not a napari-mend batch manifest")
    version = manifest.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"{file} is malformed: 'version' must be an integer")
    if version > MANIFEST_FORMAT_VERSION:
        raise ValueError(f"{file} was written by a newer napari-mend (manifest version "
                         f"{manifest['version']}); upgrade napari-mend to read it")
    return manifest


def is_manifest(path) -> bool:
    """Whether ``path`` is a batch ``manifest.json`` file; never raises."""
    path = Path(path)
    if path.name != MANIFEST_NAME or not path.is_file():
        return False
    try:
        read_manifest(path)
    except ValueError:
        return False
    return True


def manifest_bundles(path) -> list[Path]:
    """Bundle folders of the inputs a manifest lists as done or skipped, in its order.

    Raises
    ------
    ValueError
        If the manifest cannot be read (see :func:`read_manifest`), its
        ``files`` are not a list of entries, or an entry's ``output`` leads
        outside the manifest's folder (see :func:`napari_mend.io.confine.confined`).
    """
    file = _manifest_path(path)
    entries = read_manifest(file).get("files")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{file} is malformed: 'files' must be a list of entries; it was not "
                         "written by napari-mend or was changed since")
    return [confined(file.parent, e["output"]) for e in entries
            if e.get("status") in ("done", "skipped") and e.get("output")]

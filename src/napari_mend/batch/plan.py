"""Planning a batch: which input files, which bundle each becomes, and the output folder.

:func:`plan_jobs` expands the INPUTS of ``napari-mend batch`` (files, folders
searched recursively, glob patterns) into one :class:`Job` per image file;
:func:`prepare_output_dir` makes sure the output folder can be written and
removes the temporaries a killed batch left there. Files under the output
folder (an output folder inside an input folder) are never inputs.
"""

from __future__ import annotations

import glob
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..io.atomic import remove_stale
from ..io.bundle import BUNDLE_SUFFIX
from ..io.images import IMAGE_SUFFIXES


class BatchError(Exception):
    """A problem found before any work starts (bad inputs, output folder, cluster)."""


@dataclass(frozen=True)
class Job:
    """One input file and the bundle it becomes."""

    source: Path
    output: Path


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _folder_files(folder: Path, out_dir: Path) -> tuple[list[Path], list[Path]]:
    """Image files under ``folder`` (recursively), and the other files seen."""
    images, others = [], []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not d.endswith(BUNDLE_SUFFIX)
                         and not _is_within((here / d).resolve(), out_dir))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = here / name
            (images if path.suffix.lower() in IMAGE_SUFFIXES else others).append(path)
    return images, others


def _expand(item: str, out_dir: Path):
    """``(root, files, others)`` of one INPUT: a file, a folder or a glob pattern."""
    path = Path(item)
    if path.is_dir():
        images, others = _folder_files(path, out_dir)
        return path, images, others
    if path.is_file():
        return None, [path], []
    if glob.has_magic(item):
        matches = sorted(Path(p) for p in glob.glob(item, recursive=True))
        files = [p for p in matches if p.is_file()]
        if files:
            return None, files, []
        raise BatchError(f"{item}: the pattern matches no file")
    raise BatchError(f"{item}: no such file or folder")


def _bundle_name(source: Path, root: Path | None, *, keep_suffix: bool) -> str:
    rel = source.relative_to(root) if root is not None else Path(source.name)
    if not keep_suffix:
        rel = rel.with_suffix("")
    return rel.as_posix().replace("/", "__") + BUNDLE_SUFFIX


def plan_jobs(inputs, out_dir) -> tuple[list[Job], list[Path]]:
    """Expand INPUTS into jobs, one bundle per input file.

    Parameters
    ----------
    inputs : iterable of str
        Files, folders (image files found recursively; hidden entries and
        ``.mend`` bundles skipped) and glob patterns.
    out_dir : str or os.PathLike
        The output folder; files inside it are never inputs.

    Returns
    -------
    jobs : list of Job
        In input order, without duplicates. A bundle is named after the
        file's path relative to its input folder (``sub/a.png`` ->
        ``sub__a.mend``), keeping the suffix where names would clash
        (``a.png.mend`` and ``a.tif.mend``).
    ignored : list of pathlib.Path
        Files in input folders that are not images, or inside ``out_dir``.

    Raises
    ------
    BatchError
        An input that does not exist or matches nothing, or two inputs that
        would write the same bundle.
    """
    out_dir = Path(out_dir).resolve()
    found, ignored, seen = [], [], set()
    for item in inputs:
        root, files, others = _expand(str(item), out_dir)
        ignored += others
        for f in files:
            key = f.resolve()
            if _is_within(key, out_dir):
                ignored.append(f)
            elif key not in seen:
                seen.add(key)
                found.append((f, root))
    plain = [_bundle_name(f, r, keep_suffix=False) for f, r in found]
    clash = {n for n in plain if plain.count(n) > 1}
    jobs, owner = [], {}
    for (f, r), name in zip(found, plain, strict=True):
        if name in clash:
            name = _bundle_name(f, r, keep_suffix=True)
        if name in owner:
            raise BatchError(f"{owner[name]} and {f} would both be written to {name}; "
                             "rename one or run them in separate batches")
        owner[name] = f
        jobs.append(Job(f, out_dir / name))
    return jobs, ignored


def prepare_output_dir(out_dir) -> Path:
    """Create ``out_dir`` if needed and check that files can be written there.

    Leftover temporary folders of a killed batch are removed.

    Raises
    ------
    BatchError
        If the folder cannot be created or written to.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BatchError(f"cannot create the output folder {out_dir}: {err.strerror or err}") \
            from None
    probe = out_dir / f".napari-mend-write-test-{secrets.token_hex(4)}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise BatchError(f"cannot write into the output folder {out_dir}: "
                         f"{err.strerror or err}; pick a folder you may write to") from None
    remove_stale(out_dir)  # temporaries of runs killed with SIGKILL
    return out_dir

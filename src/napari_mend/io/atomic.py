"""Atomic writes: a file or folder appears complete under its name, or not at all.

Temporaries are hidden siblings of the output named by :func:`temporary_name`:
``.NAME.nmHOST-PID-TOKEN.tmp``. A process killed with SIGKILL (or a machine
that lost power) leaves its temporary behind; :func:`remove_stale` removes those
it can prove are napari-mend's and abandoned: the name's pattern, this machine's
``HOST`` and a ``PID`` that no longer runs. It runs once per command and
output (:func:`napari_mend.cli.files.check_output`) or per batch folder,
not on every write: listing a folder of thousands of outputs for each of them
would cost a batch time that grows with the square of its size.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import socket
from contextlib import contextmanager
from pathlib import Path

_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.nm(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]{8}"
                        r"\.(?:tmp|old)$")


def temporary_name(path, kind: str = "tmp") -> Path:
    """A hidden, unique sibling of ``path`` for this process (``kind``: ``'tmp'`` or
    ``'old'``), recognisable by :func:`remove_stale`."""
    path = Path(path)
    return path.parent / f".{path.name}.nm{_HOST}-{os.getpid()}-{secrets.token_hex(4)}.{kind}"


def remove_stale(folder, name: str | None = None) -> list[Path]:
    """Remove the temporaries in ``folder`` that napari-mend processes of this machine left
    when they were killed (their process no longer runs); only ``name``'s, if given.

    Returns
    -------
    removed : list of Path
    """
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if (match is None or match["host"] != _HOST or (name is not None and match["name"] != name)
                or _running(int(match["pid"]))):
            continue
        _remove(entry)
        removed.append(entry)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


@contextmanager
def atomic_path(path, *, overwrite=False):
    """Write to a temporary path beside ``path`` and move it into place at the end.

    The body of the ``with`` block writes a file or builds a folder at the
    yielded temporary path (in the same folder as ``path``, so the final
    rename never crosses file systems). On success its contents are flushed
    to disk and it is renamed to ``path``; if the block raises, the
    temporary file or folder is removed and ``path`` is left as it was.

    A file is replaced atomically (:func:`os.replace`). A folder replacing a
    folder is swapped in with two renames; the old one is deleted afterwards.

    Parameters
    ----------
    path : str or os.PathLike
        Final location.
    overwrite : bool, optional
        Replace an existing ``path``. Without it, an existing ``path`` raises
        before anything is written.

    Yields
    ------
    tmp : pathlib.Path
        Temporary location to write (does not exist yet).

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is false.
    FileNotFoundError
        If the folder that should hold ``path`` does not exist.
    """
    path = Path(path)
    if not overwrite and (path.exists() or path.is_symlink()):
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {path.parent} does not exist")
    tmp = temporary_name(path)
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"nothing was written for {path}")
        _fsync_tree(tmp)
        _move_into_place(tmp, path, overwrite=overwrite)
        _fsync_dir(path.parent)
    except BaseException:
        _remove(tmp)
        raise


def _move_into_place(tmp: Path, path: Path, *, overwrite: bool) -> None:
    if not overwrite and (path.exists() or path.is_symlink()):
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    if not (tmp.is_dir() and path.is_dir()):
        os.replace(tmp, path)
        return
    old = temporary_name(path, "old")
    os.replace(path, old)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.replace(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _fsync_tree(tmp: Path) -> None:
    if tmp.is_file():
        _fsync_file(tmp)
        return
    for folder, _, files in os.walk(tmp):
        for name in files:
            _fsync_file(Path(folder) / name)
        _fsync_dir(Path(folder))


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # folders cannot be opened on Windows; nothing to flush there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(tmp: Path) -> None:
    if tmp.is_dir() and not tmp.is_symlink():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.unlink(missing_ok=True)

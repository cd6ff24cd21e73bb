"""Confinement of paths read from file contents to the folder that holds them.

A bundle's ``bundle.json`` names its member files and a batch manifest names
its bundles. Those names come from a file napari-mend may not have written, so
each is resolved with :func:`confined` before it is opened: an absolute path,
``..`` or a symbolic link that leads out of the folder is refused.
"""

from __future__ import annotations

import os
from pathlib import Path


def confined(root, member) -> Path:
    """The path of ``member`` inside folder ``root``, refused if it leads anywhere else.

    Parameters
    ----------
    root : str or os.PathLike
        The folder the member must stay in (e.g. a bundle folder).
    member : str
        A relative path as read from a file (e.g. ``bundle.json``'s ``files``).

    Returns
    -------
    path : pathlib.Path
        ``root / member``, resolved (symbolic links followed): inside ``root``
        and not ``root`` itself.

    Raises
    ------
    ValueError
        ``member`` is not a non-empty string, is absolute, or it (or a
        symbolic link on its way) leads outside ``root``. The message names
        the member, never the contents of what it points to.
    """
    if not isinstance(member, str) or not member or "\0" in member:
        raise ValueError(f"{root}: a member path must be a non-empty string, got {member!r}")
    if os.path.isabs(member) or Path(member).is_absolute() or Path(member).drive:
        raise ValueError(f"{root}: refusing the absolute path {member!r}; the files of "
                         "napari-mend folders are named relative to the folder")
    try:
        base = Path(root).resolve()
        path = (base / member).resolve()
    except (OSError, RuntimeError):  # a loop of symbolic links (RuntimeError before 3.13)
        raise ValueError(f"{root}: refusing {member!r}: a loop of symbolic links") from None
    if path == base or not path.is_relative_to(base):
        raise ValueError(f"{root}: refusing {member!r}: it leads outside the folder (through "
                         "'..' or a symbolic link); the file was not written by napari-mend "
                         "or was changed since")
    return path

"""Paths typed or picked in the docks' file fields, checked before anything is written."""

from __future__ import annotations

from pathlib import Path

from napari.utils.notifications import show_info


def chosen_path(field, *, suffix: str, what: str, overwrite: bool = True) -> Path | None:
    """The path in a magicgui ``FileEdit``, with ``suffix``; ``None`` (and a hint) if unusable.

    An empty field is refused (it would mean the current folder), and so is
    an existing path unless ``overwrite``.

    Parameters
    ----------
    field : magicgui.widgets.FileEdit
        The file field, labelled in the dock.
    suffix : str
        The file name ending the path gets, e.g. ``".mend"``.
    what : str
        What is saved, in the dock's words (``"the bundle"``).
    overwrite : bool, optional
        Whether an existing path may be replaced.
    """
    if not field.line_edit.value.strip():
        show_info(f"napari-mend: type or choose where to save {what} (the "
                  f"'{field.label}' field is empty)")
        return None
    path = Path(field.value)
    if path.suffix != suffix:
        path = path.with_suffix(suffix)
    if path.exists() and not overwrite:
        show_info(f"napari-mend: {path.name} already exists; tick 'overwrite' to replace it, "
                  "or choose another name")
        return None
    return path

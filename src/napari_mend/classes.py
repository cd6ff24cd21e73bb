"""The one registry of defect classes: label value, name, colour and remover of each.

Adding a class is one call to :func:`register_class`; the Labels colours, the
class names accepted by ``classes=``, the widget's counts and
:func:`napari_mend.restore.mend_labels` follow from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

REMOVERS = ("inpaint", "watermark", "moire")
"""The built-in removers :func:`napari_mend.restore` knows by name: ``'inpaint'`` fills the
pixels (the content is lost), ``'watermark'`` inverts a semi-transparent mark where its
opacity allows, ``'moire'`` filters the pattern out of the spectrum."""

CLEAN_LABEL = 7
"""Strokes label for pixels the curator marks as clean when teaching (never a defect class).

It is the next label after the six defect classes, so in napari's Labels
layer controls the brush reaches it with one more click of the label
spin box (or by typing 7)."""


@dataclass(frozen=True)
class DefectClass:
    """A defect class: its label value, name, colour and how it is mended.

    Attributes
    ----------
    value : int
        Label value in a defects Labels layer (1..255, not :data:`CLEAN_LABEL`).
    name : str
        Name users pass in ``classes=``.
    colour : str
        Hex colour of the class in the defects layer.
    remover : str or callable
        One of :data:`REMOVERS`, or ``remover(image, where, *, channel_axis, fill, model,
        progress) -> image`` that mends the pixels ``where`` (bool, the image's spatial
        shape) and returns the image (same shape and dtype; other pixels untouched).
    summary : str
        One line for help texts.
    """

    value: int
    name: str
    colour: str
    remover: Union[str, Callable] = "inpaint"
    summary: str = ""


CLASSES: dict[int, DefectClass] = {}
"""Label value -> :class:`DefectClass`, in label order."""
DEFECT_CLASSES: dict[int, str] = {}
"""Label value -> class name. 0 is background (no defect)."""
CLASS_IDS: dict[str, int] = {}
"""Class name -> label value."""
CLASS_COLORS: dict[int, str] = {}
"""Label value -> hex colour used for the defects Labels layer."""


def register_class(defect_class: DefectClass) -> DefectClass:
    """Add a defect class: its label, name, colour and remover, everywhere at once.

    The shipped detectors score the :data:`N_SCORED` built-in classes; a class added
    here is labelled by hand (or by a taught model) and mended by its remover
    through :func:`napari_mend.restore.mend_labels`, in memory and block by block.

    Raises
    ------
    ValueError
        A value or name already taken, a value outside 1..255 or equal to
        :data:`CLEAN_LABEL`, or an unknown remover name.
    """
    value, name = defect_class.value, defect_class.name
    if not isinstance(value, int) or not 1 <= value <= 255 or value == CLEAN_LABEL:
        raise ValueError(f"a defect class needs a label value in 1..255 other than "
                         f"{CLEAN_LABEL} (the clean stroke), got {value!r}")
    if value in CLASSES or name in CLASS_IDS:
        raise ValueError(f"label value {value} or name {name!r} is taken; registered: "
                         f"{DEFECT_CLASSES}")
    if isinstance(defect_class.remover, str) and defect_class.remover not in REMOVERS:
        raise ValueError(f"unknown remover {defect_class.remover!r}; choose one of "
                         f"{', '.join(REMOVERS)} or pass a function")
    CLASSES[value] = defect_class
    DEFECT_CLASSES[value] = name
    CLASS_COLORS[value] = defect_class.colour
    CLASS_IDS[name] = value
    for table in (CLASSES, DEFECT_CLASSES, CLASS_COLORS):  # keep label order
        items = sorted(table.items())
        table.clear()
        table.update(items)
    return defect_class


for _builtin in (
    DefectClass(1, "scratch", "#ff3030", summary="scratches and hairs on film and slides"),
    DefectClass(2, "dust", "#ffd700", summary="dust specks"),
    DefectClass(3, "blotch", "#1e90ff", summary="stains and blotches"),
    DefectClass(4, "text", "#32cd32", summary="burned-in text and scale bars"),
    DefectClass(5, "watermark", "#ff00ff", "watermark", "semi-transparent watermarks, logos"),
    DefectClass(6, "moire", "#00ced1", "moire", "moire from scanned prints or screens"),
):
    register_class(_builtin)
del _builtin

SCORED_CLASSES: dict[int, str] = dict(DEFECT_CLASSES)
"""The built-in classes, value -> name in label order: the score channels of the shipped
detectors, the classes the defect synthesizer draws and a taught model learns. A class
registered later is labelled by hand and mended by its remover."""
N_SCORED = len(SCORED_CLASSES)
"""Score channels of the shipped detectors (6)."""
SCORED_CLASS_LIST = ", ".join(f"{value} {name}" for value, name in SCORED_CLASSES.items())
"""The built-in classes as ``'1 scratch, 2 dust, ...'``, for messages and help texts."""


def class_ids(classes=None) -> list[int]:
    """Return the label values for ``classes``.

    Parameters
    ----------
    classes : iterable of str or int, optional
        Class names (``'scratch'``) or label values (``1``). ``None`` means all
        classes.

    Returns
    -------
    ids : list of int
        Sorted label values.

    Raises
    ------
    ValueError
        If a class is unknown.
    """
    if classes is None:
        return sorted(DEFECT_CLASSES)
    if isinstance(classes, (str, int)):
        classes = [classes]
    ids = set()
    for c in classes:
        if isinstance(c, str) and c in CLASS_IDS:
            ids.add(CLASS_IDS[c])
        elif not isinstance(c, (str, bool)) and int(c) == c and int(c) in DEFECT_CLASSES:
            ids.add(int(c))
        else:
            raise ValueError(
                f"unknown defect class {c!r}; choose from "
                f"{', '.join(repr(n) for n in DEFECT_CLASSES.values())} "
                f"or their label values {sorted(DEFECT_CLASSES)}"
            )
    return sorted(ids)


def class_counts(labels) -> dict[str, int]:
    """Pixels per label value of a Labels array, by class name (other values as text), in
    label order; background (0) left out."""
    values, counts = np.unique(np.asarray(labels), return_counts=True)
    return {DEFECT_CLASSES.get(int(v), str(int(v))): int(c)
            for v, c in zip(values, counts, strict=True) if v != 0}

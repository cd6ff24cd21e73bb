"""Defect classes: the label values of a defects Labels layer, their names and colours."""

from __future__ import annotations

DEFECT_CLASSES: dict[int, str] = {
    1: "scratch",
    2: "dust",
    3: "blotch",
    4: "text",
    5: "watermark",
    6: "moire",
}
"""Label value -> class name. 0 is background (no defect)."""

CLASS_IDS: dict[str, int] = {name: value for value, name in DEFECT_CLASSES.items()}

CLASS_COLORS: dict[int, str] = {
    1: "#ff3030",  # scratch: red
    2: "#ffd700",  # dust: gold
    3: "#1e90ff",  # blotch: blue
    4: "#32cd32",  # text: green
    5: "#ff00ff",  # watermark: magenta
    6: "#00ced1",  # moire: turquoise
}
"""Label value -> hex colour used for the defects Labels layer."""


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
    import numpy as np

    values, counts = np.unique(np.asarray(labels), return_counts=True)
    return {DEFECT_CLASSES.get(int(v), str(int(v))): int(c)
            for v, c in zip(values, counts, strict=True) if v != 0}

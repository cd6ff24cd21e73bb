"""Defect class ids of the independent validation generator.

Kept local on purpose: the generator must not import the project's own
class registry, so that it stays a standalone, independent reference.
"""

CLASSES = {
    1: "scratch",
    2: "dust",
    3: "blotch",
    4: "text",
    5: "watermark",
    6: "moire",
}
"""dict of int to str: class id -> defect name (0 means an untouched pixel)."""

CLASS_IDS = {name: cid for cid, name in CLASSES.items()}
"""dict of str to int: defect name -> class id."""

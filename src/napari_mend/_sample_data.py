"""Sample images with synthesized defects (packaged images; no download)."""

from __future__ import annotations

import numpy as np

from .synthesis import synthesize_defects

SAMPLES = {
    "scratched_photo": ("Scratched and dusty photo", "chelsea", ("scratch", "dust"), -1, 11),
    "stained_micrograph": ("Stained micrograph", "cell", ("blotch", "dust"), None, 12),
    "annotated_slice": ("Slice with burned-in annotations", "moon", ("text", "scratch"), None, 13),
}
"""key -> (display name, packaged image, defect classes, channel_axis, seed)."""


def sample_image(key: str):
    """Return ``(damaged, truth_labels, channel_axis)`` for sample ``key``."""
    from skimage import data  # deferred: slow to import, only this path

    try:
        _, source, classes, channel_axis, seed = SAMPLES[key]
    except KeyError:
        raise ValueError(f"unknown sample {key!r}; choose one of {', '.join(SAMPLES)}") from None
    clean = getattr(data, source)()
    damage = synthesize_defects(clean, rng=np.random.default_rng(seed), classes=classes,
                                channel_axis=channel_axis)
    return damage.image, damage.labels, channel_axis


def _layer_data(key: str):
    damaged, _, channel_axis = sample_image(key)
    return [(damaged, {"name": key, "rgb": channel_axis is not None}, "image")]


def scratched_photo():
    """A colour photo with scratches and dust."""
    return _layer_data("scratched_photo")


def stained_micrograph():
    """A micrograph with stains and dust."""
    return _layer_data("stained_micrograph")


def annotated_slice():
    """A gray image with burned-in annotation text and a scratch."""
    return _layer_data("annotated_slice")

"""The damaged and clean images the detector evaluations score, as ``(name, plane, truth)``.

``truth`` is bool ``(6, M, N)`` (one mask per scored class), or None for a clean image.
"""

from __future__ import annotations

import numpy as np

from ..synthesis import corpus_images, synthesize_defects
from .cross import INDEPENDENT_SEED, independent_samples, truth_masks
from .cross import independent_clean as independent_clean_images


def own_cases(images=None, *, repeats: int = 2, seed: int = 2024):
    """The own validation images (default ``corpus_images('val')``), each clean once and
    damaged ``repeats`` times by :func:`~napari_mend.synthesis.synthesize_defects`."""
    if images is None:
        images = corpus_images("val")
    for i, (name, image) in enumerate(images):
        image = np.asarray(image, np.float32)
        yield name, image, None
        for r in range(repeats):
            damage = synthesize_defects(image, rng=np.random.default_rng([seed, i, r]),
                                        channel_axis=-1 if image.ndim == 3 else None)
            yield name, np.asarray(damage.image, np.float32), np.asarray(damage.masks, bool)


def independent_cases(*, n_per_class: int = 8, n_clean: int = 8, size: int = 256,
                      seed: int = INDEPENDENT_SEED):
    """Samples of the independent generator and its clean images (reporting only)."""
    for case in independent_samples(n_per_class, size=size, seed=seed):
        yield f"{case.name}:{case.index}", case.damaged, truth_masks(case.labels)
    for k, clean in enumerate(independent_clean_images(n_clean, size=size, seed=seed)):
        yield f"clean:{k}", clean, None

"""The damaged and clean images the detector evaluations score, as ``(name, plane, truth)``.

``truth`` is bool ``(6, M, N)`` (one mask per scored class), or None for a clean image.
"""

from __future__ import annotations

import numpy as np

from ..synthesis import corpus_images, degrade, synthesize_defects
from .cross import INDEPENDENT_SEED, independent_samples, truth_masks
from .cross import independent_clean as independent_clean_images


def own_cases(images=None, *, repeats: int = 2, seed: int = 2024, degraded: bool = False):
    """The own validation images (default ``corpus_images('val')``), each clean once and
    damaged ``repeats`` times by :func:`~napari_mend.synthesis.synthesize_defects`.

    With ``degraded`` every image, clean or damaged, then goes through
    :func:`~napari_mend.synthesis.degrade` (blur, resampling, noise, JPEG; each case its own
    seeded draw), as a camera or scanner and its storage would leave it; the labels stay."""
    if images is None:
        images = corpus_images("val")

    for i, (name, image) in enumerate(images):
        image = np.asarray(image, np.float32)
        axis = -1 if image.ndim == 3 else None

        def captured(plane, r, i=i, axis=axis):
            if not degraded:
                return plane
            return np.asarray(degrade(plane, np.random.default_rng([seed, i, r, 1]),
                                      channel_axis=axis), np.float32)

        yield name, captured(image, repeats), None
        for r in range(repeats):
            damage = synthesize_defects(image, rng=np.random.default_rng([seed, i, r]),
                                        channel_axis=axis)
            yield (name, captured(np.asarray(damage.image, np.float32), r),
                   np.asarray(damage.masks, bool))


def independent_cases(*, n_per_class: int = 8, n_clean: int = 8, size: int = 256,
                      seed: int = INDEPENDENT_SEED):
    """Samples of the independent generator and its clean images (reporting only)."""
    for case in independent_samples(n_per_class, size=size, seed=seed):
        yield f"{case.name}:{case.index}", case.damaged, truth_masks(case.labels)
    for k, clean in enumerate(independent_clean_images(n_clean, size=size, seed=seed)):
        yield f"clean:{k}", clean, None

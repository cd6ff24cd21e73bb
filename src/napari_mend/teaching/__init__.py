"""Teach a defect detector by example: paint a few strokes, fit a pixel classifier.

``teach(images, strokes)`` computes per-pixel features (the shipped detector
network's features and scikit-image filter banks, :mod:`.features`), fits a
scikit-learn random forest on a class-balanced sample of the stroke pixels
and returns a :class:`TaughtModel`, usable as ``detect(image, model=taught)``,
``detect_scores(image, model=taught)`` and ``restore(image, detector=taught)``.
``taught.save(path)`` writes a ``.mendmodel`` file that :func:`load` reads back
with every byte checked and nothing unpickled (:mod:`.storage`). Pure compute.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "features": ["FeatureSettings"],
        "api": ["CLEAN_LABEL", "teach"],
        "model": ["TaughtModel", "load"],
        "storage": ["SUFFIX", "TaughtModelError", "is_taught_file"],
    },
)

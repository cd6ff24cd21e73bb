"""Finding defects: classical and learned detectors, scores and labels.

Names load lazily (:mod:`lazy_loader`): importing this package imports none of
its modules until a name is used.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "api": ["METHODS", "detect", "detect_scores"],
        "scores": ["DefectScores", "scores_to_labels"],
        "text_completion": ["complete_text"],
    },
)

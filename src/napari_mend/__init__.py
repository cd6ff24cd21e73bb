"""napari-mend: find defects in images and mend them.

Public API (scikit-image conventions: keyword-only options, ``channel_axis``,
shape and dtype preserved, inputs never modified)::

    import napari_mend as nm
    labels = nm.detect(image, channel_axis=None, method='learned', threshold=0.5)
    mended = nm.inpaint(image, labels, method='auto')
    mended, labels = nm.restore(image)
    taught = nm.teach(image, strokes)       # strokes: 1..6 classes, nm.CLEAN_LABEL clean
    labels = nm.detect(other_image, model=taught)

The names load lazily (scikit-image's ``lazy_loader`` pattern): ``import
napari_mend`` is cheap, and each name imports its module on first use.
"""

import lazy_loader

from ._version import __version__

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "classes": ["CLASS_COLORS", "CLEAN_LABEL", "DEFECT_CLASSES"],
        "detection": ["DefectScores", "complete_text", "detect", "detect_scores"],
        "inpainting": ["inpaint"],
        "moire": ["demoire"],
        "progress": ["Cancelled"],
        "restore": ["restore"],
        "teaching": ["FeatureSettings", "TaughtModel", "TaughtModelError", "teach"],
        "threads": ["configure_threads"],
        "watermark": ["remove_watermark"],
    },
)
__all__ = [*__all__, "__version__"]

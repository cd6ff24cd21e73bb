"""napari-mend: find defects in images and mend them.

Public API (scikit-image conventions: keyword-only options, ``channel_axis``,
shape and dtype preserved, inputs never modified)::

    import napari_mend as nm
    labels = nm.detect(image, channel_axis=None, method='learned', threshold=0.5)
    mended = nm.inpaint(image, labels, method='auto')
    mended, labels = nm.restore(image)
"""

from importlib.metadata import PackageNotFoundError, version

from .classes import CLASS_COLORS, DEFECT_CLASSES
from .detection import DefectScores, complete_text, detect, detect_scores
from .inpainting import inpaint
from .progress import Cancelled
from .restore import restore
from .special import demoire, remove_watermark
from .threads import configure_threads

try:
    __version__ = version("napari-mend")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "CLASS_COLORS",
    "DEFECT_CLASSES",
    "Cancelled",
    "DefectScores",
    "complete_text",
    "configure_threads",
    "__version__",
    "demoire",
    "detect",
    "detect_scores",
    "inpaint",
    "remove_watermark",
    "restore",
]

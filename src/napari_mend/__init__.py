"""napari-mend: find defects in images and mend them.

Public API (scikit-image conventions: keyword-only options, ``channel_axis``,
shape and dtype preserved, inputs never modified)::

    import napari_mend as nm
    labels = nm.detect(image, channel_axis=None, method='learned', threshold=0.5)
    mended = nm.inpaint(image, labels, method='auto')
    mended, labels = nm.restore(image)
    taught = nm.teach(image, strokes)       # strokes: 1..6 classes, nm.CLEAN_LABEL clean
    labels = nm.detect(other_image, model=taught)
"""

from importlib.metadata import PackageNotFoundError, version

from .classes import CLASS_COLORS, DEFECT_CLASSES
from .detection import DefectScores, complete_text, detect, detect_scores
from .inpainting import inpaint
from .progress import Cancelled
from .restore import restore
from .special import demoire, remove_watermark
from .teach import CLEAN_LABEL, FeatureSettings, TaughtModel, TaughtModelError
from .teach import load as _load_taught
from .teach import teach
from .threads import configure_threads

# ``napari_mend.teach`` is the function; it also carries the teach package's helpers, so
# ``napari_mend.teach.load(path)`` reads a saved model (``napari_mend.teach`` the module
# stays importable as ``from napari_mend.teach import load``).
teach.load = _load_taught
teach.TaughtModel = TaughtModel
teach.FeatureSettings = FeatureSettings
teach.TaughtModelError = TaughtModelError
teach.CLEAN_LABEL = CLEAN_LABEL

try:
    __version__ = version("napari-mend")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "CLASS_COLORS",
    "CLEAN_LABEL",
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
    "teach",
]

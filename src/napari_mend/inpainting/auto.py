"""``auto`` fill: the best fill that is installed."""

from __future__ import annotations

import numpy as np

from .classical import fill_biharmonic, fill_telea, opencv_available


def fill_auto(image: np.ndarray, mask: np.ndarray, *, progress=None) -> np.ndarray:
    """Fill with OpenCV's Telea method when installed, else biharmonic."""
    if opencv_available():
        return fill_telea(image, mask)
    return fill_biharmonic(image, mask)

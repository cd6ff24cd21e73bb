"""Classical fills on the plane contract: float32 ``(M, N, C)`` and bool ``(M, N)``.

* ``biharmonic``: scikit-image's biharmonic inpainting (smooth, good for thin
  and small holes, slow for large ones).
* ``telea`` and ``ns``: OpenCV's fast-marching (Telea 2004) and
  Navier-Stokes fills, when ``opencv-python-headless`` is installed. OpenCV
  fills 8-bit colour or 16-bit single-channel images (its 32-bit float path
  is unreliable); here each channel is mapped linearly onto the full 16-bit
  range of its own min..max and filled, so uint16 data keep their precision
  (one grey level at most) and float data of any range keep 1/65535 of it.
"""

from __future__ import annotations

import numpy as np

from ..threads import opencv
from .fills import Fill, register_fill

OPENCV_HINT = "install the optional extra: pip install 'napari-mend[opencv]'"


def opencv_available() -> bool:
    """Whether OpenCV (``cv2``) can be imported."""
    return opencv() is not None


def fill_biharmonic(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill ``mask`` by biharmonic interpolation (scikit-image).

    Solved in float64: scikit-image solves in the image's float precision, and in float32
    the solution of a large hole drifts far off.
    """
    from skimage.restoration import inpaint_biharmonic  # deferred: slow to import

    filled = inpaint_biharmonic(np.asarray(image, np.float64), mask, channel_axis=-1)
    return filled.astype(np.float32)


def _fill_opencv(image: np.ndarray, mask: np.ndarray, flag_name: str, radius: float) -> np.ndarray:
    cv2 = opencv()
    if cv2 is None:
        raise ImportError(f"the '{flag_name}' fill needs OpenCV; {OPENCV_HINT}")
    flag = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}[flag_name]
    mask8 = mask.astype(np.uint8)
    out = np.empty_like(image, dtype=np.float32)
    for c in range(image.shape[-1]):
        channel = image[..., c]
        lo, hi = float(channel.min()), float(channel.max())
        span = hi - lo if hi > lo else 1.0
        q = np.rint((channel - lo) * (65535.0 / span)).astype(np.uint16)
        filled = cv2.inpaint(q, mask8, radius, flag)
        out[..., c] = filled.astype(np.float32) * np.float32(span / 65535.0) + np.float32(lo)
    return out


def fill_telea(image: np.ndarray, mask: np.ndarray, *, radius: float = 5) -> np.ndarray:
    """Fill ``mask`` with OpenCV's fast-marching method (Telea)."""
    return _fill_opencv(image, mask, "telea", radius)


def fill_ns(image: np.ndarray, mask: np.ndarray, *, radius: float = 5) -> np.ndarray:
    """Fill ``mask`` with OpenCV's Navier-Stokes method."""
    return _fill_opencv(image, mask, "ns", radius)


register_fill(Fill("biharmonic", fill_biharmonic,
                   summary="scikit-image's biharmonic inpainting: smooth, for thin and small holes"))
_NEEDS_OPENCV = f"needs OpenCV; {OPENCV_HINT}, or use 'biharmonic'"
register_fill(Fill("telea", fill_telea, summary="OpenCV's fast-marching fill (Telea 2004)",
                   available=opencv_available, hint=_NEEDS_OPENCV))
register_fill(Fill("ns", fill_ns, summary="OpenCV's Navier-Stokes fill",
                   available=opencv_available, hint=_NEEDS_OPENCV))

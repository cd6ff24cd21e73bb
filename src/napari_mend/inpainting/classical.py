"""Classical fills on the plane contract: float32 ``(M, N, C)`` and bool ``(M, N)``.

* ``biharmonic``: scikit-image's biharmonic inpainting (smooth, good for thin
  and small holes, slow for large ones).
* ``telea`` and ``ns``: OpenCV's fast-marching (Telea 2004) and
  Navier-Stokes fills, when ``opencv-python-headless`` is installed. OpenCV
  only fills 8-bit colour images; here each channel is filled as a 32-bit
  float image, so uint16 and float data keep their precision.
"""

from __future__ import annotations

import numpy as np

OPENCV_HINT = "install the optional extra: pip install 'napari-mend[opencv]'"


def opencv_available() -> bool:
    """Whether OpenCV (``cv2``) can be imported."""
    try:
        import cv2  # noqa: F401
    except ImportError:
        return False
    return True


def fill_biharmonic(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill ``mask`` by biharmonic interpolation (scikit-image)."""
    from skimage.restoration import inpaint_biharmonic

    filled = inpaint_biharmonic(image, mask, channel_axis=-1)
    return filled.astype(np.float32)


def _fill_opencv(image: np.ndarray, mask: np.ndarray, flag_name: str, radius: float) -> np.ndarray:
    try:
        import cv2
    except ImportError:
        raise ImportError(f"the '{flag_name}' fill needs OpenCV; {OPENCV_HINT}") from None
    flag = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}[flag_name]
    mask8 = mask.astype(np.uint8)
    out = np.empty_like(image, dtype=np.float32)
    for c in range(image.shape[-1]):
        channel = np.ascontiguousarray(image[..., c], dtype=np.float32)
        out[..., c] = cv2.inpaint(channel, mask8, radius, flag)
    return out


def fill_telea(image: np.ndarray, mask: np.ndarray, *, radius: float = 5) -> np.ndarray:
    """Fill ``mask`` with OpenCV's fast-marching method (Telea)."""
    return _fill_opencv(image, mask, "telea", radius)


def fill_ns(image: np.ndarray, mask: np.ndarray, *, radius: float = 5) -> np.ndarray:
    """Fill ``mask`` with OpenCV's Navier-Stokes method."""
    return _fill_opencv(image, mask, "ns", radius)

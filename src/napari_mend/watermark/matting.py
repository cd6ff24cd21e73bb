"""Shared pieces of watermark removal: normalisation, inversion, fills.

Watermark model (Dekel et al., CVPR 2017): a watermarked pixel is
``J = a * W + (1 - a) * I`` with ``a`` the mark's opacity, ``W`` its colour
and ``I`` the real content. Given ``a`` and ``a * W`` the content comes back
as ``I = (J - a * W) / (1 - a)``; where ``a`` is close to 1 the division
amplifies noise and quantisation without bound, so those pixels are filled
by inpainting instead.
"""

from __future__ import annotations

import numpy as np

from ..inpainting.api import inpaint
from ..inpainting.auto import classical_fill

MAX_INVERTIBLE_ALPHA = 0.85
"""Opacity above which a pixel is inpainted rather than inverted."""


def unit_range(plane: np.ndarray, known: np.ndarray | None = None) -> tuple[float, float]:
    """Offset and scale mapping the plane's known pixels to about ``[0, 1]``.

    Parameters
    ----------
    plane : (..., M, N, C) ndarray
        Any value range.
    known : (..., M, N) bool ndarray, optional
        Pixels to take the range from (all pixels when None or empty).
    """
    if known is not None and known.any():
        values = plane[known]
    else:
        values = plane.reshape(-1, plane.shape[-1])
    lo, hi = np.percentile(values, (0.1, 99.9))
    scale = float(hi - lo)
    if not scale > 1e-12 * max(abs(float(lo)), 1.0):
        scale = 1.0
    return float(lo), scale


def around(region: np.ndarray, pad: int) -> tuple[slice, slice]:
    """The bounding box of a non-empty ``(M, N)`` ``region``, grown by ``pad`` px within the array."""
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    return (slice(max(0, rows[0] - pad), min(region.shape[0], rows[-1] + pad + 1)),
            slice(max(0, cols[0] - pad), min(region.shape[1], cols[-1] + pad + 1)))


def background_fill(plane: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A quick guess of the content under ``mask`` (Telea with OpenCV, else biharmonic)."""

    if not mask.any() or mask.all():
        return plane.copy()
    return classical_fill("telea")(plane, mask)


def invert(plane: np.ndarray, alpha: np.ndarray, matte: np.ndarray) -> np.ndarray:
    """``(J - a * W) / (1 - a)`` where ``alpha > 0``; ``matte`` is ``a * W`` ``(M, N, C)``."""
    out = plane.copy()
    where = alpha > 0
    a = np.minimum(alpha[where], MAX_INVERTIBLE_ALPHA)[:, None]
    out[where] = (plane[where] - matte[where]) / (1 - a)
    return out


def fill_opaque(plane: np.ndarray, opaque: np.ndarray, fill: str) -> np.ndarray:
    """Inpaint the ``opaque`` pixels of a float32 plane with method ``fill``."""
    if not opaque.any():
        return plane
    if opaque.all():
        raise ValueError("the watermark is opaque over the whole image; nothing is left to "
                         "recover it from")

    return inpaint(plane, opaque, channel_axis=-1, method=fill)

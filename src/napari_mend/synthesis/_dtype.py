"""Conversions between an image's dtype and float32 in [0, 1]."""

from __future__ import annotations

import numpy as np


def to_unit(image):
    """Map an image to float32 in [0, 1]; also return the inverse's (offset, scale).

    Integers use their type's full range; floats within [0, 1] are kept, other
    floats are mapped from their finite min..max.
    """
    dtype = image.dtype
    if dtype == bool:
        raise TypeError("boolean images are not supported")
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return (image.astype(np.float32) - info.min) / (info.max - info.min), (info.min, info.max - info.min)
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"unsupported dtype {dtype}")
    finite = image[np.isfinite(image)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if lo >= 0 and hi <= 1:
        lo, hi = 0.0, 1.0
    scale = hi - lo if hi > lo else 1.0
    return ((image.astype(np.float64) - lo) / scale).astype(np.float32), (lo, scale)


def from_unit(unit, dtype, offset_scale):
    """Invert :func:`to_unit`: back to ``dtype`` (integers rounded and clipped)."""
    lo, scale = offset_scale
    if np.issubdtype(dtype, np.integer):
        return np.round(np.clip(unit, 0, 1) * scale + lo).astype(dtype)
    return (unit.astype(np.float64) * scale + lo).astype(dtype)

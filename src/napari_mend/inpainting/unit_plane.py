"""A plane kept in its own dtype that the fills read and write in float32 unit scale.

The fills work in place on a plane, a crop around each group of holes at a
time. Given a :class:`UnitPlane` instead of a float32 array they never need a
float32 copy of the whole plane (768 MiB for an 8192 x 8192 RGB image, four
times its uint8 size): each crop is converted when read, and filled pixels are
rounded back into the plane's dtype when written. Filled pixels that later
groups read as context are then at the plane's precision, which is all the
finished image keeps anyway.
"""

from __future__ import annotations

import numpy as np

from .._validation import from_unit_float, to_unit_float


class UnitPlane:
    """An ``(M, N, C)`` array read and written in float32 unit scale.

    Parameters
    ----------
    raw : (M, N, C) ndarray
        The plane in its own dtype (a view is fine); :meth:`store` writes into it.

    Notes
    -----
    ``plane[key]`` is ``to_unit_float(raw[key])``: a new float32 array (for
    integers, values divided by the dtype's maximum).
    """

    def __init__(self, raw: np.ndarray):
        self.raw = raw
        self.shape = raw.shape
        self.ndim = raw.ndim
        self.dtype = np.dtype(np.float32)

    def __getitem__(self, key) -> np.ndarray:
        return to_unit_float(self.raw[key])

    def store(self, crop: tuple, where: np.ndarray, values: np.ndarray) -> None:
        """Write unit-scale ``values`` into the pixels ``where`` of ``crop``."""
        part = self.raw[crop]
        part[where] = from_unit_float(values, self.raw.dtype)


def store(out, crop: tuple, where: np.ndarray, values: np.ndarray) -> None:
    """``out[crop][where] = values`` for a float32 array or a :class:`UnitPlane`."""
    if isinstance(out, UnitPlane):
        out.store(crop, where, values)
    else:
        out[crop][where] = values

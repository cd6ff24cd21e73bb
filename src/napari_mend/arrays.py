"""Array kinds on the ground floor: is an array lazy (dask, zarr), and turning one into another.

Nothing here imports dask or zarr at module level: :func:`is_lazy` looks the
types up only in modules already imported, so NumPy-only sessions never pay
for them.
"""

from __future__ import annotations

import sys

import numpy as np


def is_lazy(data) -> bool:
    """Whether ``data`` is a dask or zarr array (checked without importing either).

    Safe while another thread is importing dask or zarr: a module still being
    imported has no array type yet, and no array of that type can exist.
    """
    for module, name in (("dask.array", "Array"), ("zarr", "Array")):
        array_type = getattr(sys.modules.get(module), name, None)
        if array_type is not None and isinstance(data, array_type):
            return True
    return False


def materialize(data) -> np.ndarray:
    """``data`` as a NumPy array; a dask array is computed on local threads, never handed to
    a ``dask.distributed`` client (so this also works inside a task on a cluster worker)."""
    if is_lazy(data) and hasattr(data, "compute"):
        return np.asarray(data.compute(scheduler="threads"))
    return np.asarray(data)


def as_dask(data):
    """A dask array of ``data`` (dask as is; zarr and NumPy wrapped, nothing read)."""
    import dask.array as da  # deferred: dask is imported only for lazy images

    if isinstance(data, da.Array):
        return data
    zarr = sys.modules.get("zarr")
    if zarr is not None and isinstance(data, zarr.Array):
        return da.from_zarr(data)
    return da.from_array(np.asarray(data))

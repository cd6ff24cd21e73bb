"""Storing lazy arrays as zarr arrays on disk: block by block, atomically."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from ..arrays import as_dask
from ..blocks import compute
from .atomic import atomic_path


def check_targets(paths, overwrite: bool) -> list[Path]:
    """``paths`` as Paths, each its own and free to write (or a zarr array to replace)."""
    paths = [Path(p) for p in paths]
    if len({p.resolve() for p in paths}) < len(paths):
        raise ValueError(f"each array needs a path of its own, got {[str(p) for p in paths]}")
    for p in paths:
        if (p.exists() or p.is_symlink()) and not overwrite:
            raise FileExistsError(f"{p} already exists; pass overwrite=True to replace it")
        if p.is_dir() and not p.is_symlink() and not is_zarr_array(p):
            raise FileExistsError(f"{p} is a folder that is not a zarr array; it is not "
                                  "replaced: choose another path, or remove it yourself")
    return paths


def is_zarr_array(path: Path) -> bool:
    """Whether the folder ``path`` holds a zarr array (format 3 or 2) at its top."""
    if (path / ".zarray").is_file():
        return True
    try:
        with open(path / "zarr.json", "rb") as f:
            meta = json.loads(f.read(1 << 20))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("node_type") == "array"


def store(arrays, paths, *, progress=None, overwrite=False, scheduler="threads",
          num_workers=None) -> list[Path]:
    """Write dask arrays to zarr arrays on disk, block by block, in one computation.

    Each array is written to a temporary folder beside its path and moved
    into place when every array is complete: a failed or cancelled run
    leaves no zarr array, and an array it was to replace stays as it was.

    Parameters
    ----------
    arrays : sequence of dask.array.Array
        E.g. ``(mended, labels)`` from :func:`napari_mend.restore` of a lazy image: shared work runs once.
    paths : sequence of str or os.PathLike
        One zarr folder per array.
    progress : callable, optional
        ``progress(done, total)`` in tasks; may raise
        :class:`napari_mend.progress.Cancelled`.
    overwrite : bool, optional
        Replace existing zarr arrays.

    Returns
    -------
    paths : list of pathlib.Path
    """
    arrays = list(arrays)
    paths = check_targets(paths, overwrite)
    if len(arrays) != len(paths):
        raise ValueError(f"got {len(arrays)} arrays for {len(paths)} paths")
    with contextlib.ExitStack() as places:
        temporary = [places.enter_context(atomic_path(p, overwrite=overwrite)) for p in paths]
        writes = [zarr_write(a, t) for a, t in zip(arrays, temporary)]
        compute(*writes, progress=progress, scheduler=scheduler, num_workers=num_workers)
    return paths


def zarr_write(array, path: Path, attrs=None):
    """A lazy write of ``array`` to a new zarr array at ``path``, with ``attrs``."""
    import dask.array as da  # deferred: dask is imported only for lazy images
    import zarr  # deferred: zarr is imported only for lazy images

    array = as_dask(array)
    side = tuple(c[0] for c in array.chunks)
    if any(set(c[:-1]) - {n} or c[-1] > n for c, n in zip(array.chunks, side)):
        array = array.rechunk(side)  # one dask block per zarr chunk: writes never share one
    target = zarr.open_array(str(path), mode="w", shape=array.shape, dtype=array.dtype,
                             chunks=side)
    if attrs:
        target.attrs.update(attrs)
    return da.store(array, target, compute=False, lock=False)

"""The one executor: run a per-plane kernel over an image in memory or over dask blocks.

A *kernel* mends or scores one image plane and knows nothing of dask::

    kernel(plane, *others, plane_info=None) -> result

``plane`` is ``(m, n, C)`` (C = 1 gray or 3 RGB; alpha left out), in unit
float32 (``unit=True``) or the image's own dtype; ``others`` are ``(m, n)``
planes of spatial arrays given alongside (masks, Labels); ``plane_info`` is
the entry of a per-plane array (e.g. a plane's intensity range). The result
is the mended plane in the image's dtype (``out='image'``), one ``(m, n)``
plane (``out='plane'``) or ``(k, m, n)`` maps (``out=k``).

:func:`map_planes` runs a kernel plane by plane on a NumPy image (with
progress), or lazily on a dask or zarr image: each plane is cut into blocks
of ``chunk`` pixels along its two image axes (leading plane axes get chunks
of one plane, colour one chunk), and a block is processed with ``depth``
pixels of its neighbours (:func:`dask.array.overlap.overlap`, no padding at
the image's own edges) and trimmed back, so a result block sees the context
it needs and memory stays at a few blocks per thread. A lazy result is a
dask array: it runs when viewed, computed (:func:`compute`), stored, or
handed to a ``dask.distributed`` client.

This module imports nothing of the operations that use it.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ._validation import (
    PlaneView,
    plane_stack,
    plane_view,
    spatial_mismatch,
    to_unit_float,
)
from .arrays import as_dask, is_lazy
from .progress import report
from .threads import thread_count

DEFAULT_CHUNK = 1024
"""Side of the blocks processed at once (pixels)."""


@dataclass(frozen=True)
class Layout:
    """A lazy image as ``(..., M, N, C)`` blocks (channels last), and how to put it back."""

    work: object  # dask array (..., M, N, C)
    view: PlaneView  # validated layout of the input (its ``planes`` is a one-pixel proxy)

    @property
    def spatial_shape(self) -> tuple:
        return self.view.spatial_shape

    @property
    def depth_axes(self) -> tuple[int, int]:
        nd = self.work.ndim
        return nd - 3, nd - 2

    def depth(self, pixels: int) -> dict:
        """``overlap`` depth for the image axes of ``work`` (at most the image's size)."""
        return {axis: min(int(pixels), self.work.shape[axis]) for axis in self.depth_axes}

    def assemble(self, out):
        """``(..., M, N, C)`` back to the input's layout."""
        import dask.array as da  # deferred: dask is imported only for lazy images

        if self.view.channel_axis is None:
            return out[..., 0]
        return da.moveaxis(out, -1, self.view.channel_axis)


def layout(image, *, channel_axis=None, chunk: int = DEFAULT_CHUNK, name: str = "image") -> Layout:
    """Validate a dask, zarr or NumPy ``image`` without reading pixels; its :class:`Layout`."""
    import dask.array as da  # deferred: dask is imported only for lazy images

    x = as_dask(image)
    axis = None
    if channel_axis is not None and -x.ndim <= channel_axis < x.ndim:
        axis = channel_axis % x.ndim
    # Validate dtype, axes and channel axis on a one-pixel proxy: no pixel is read.
    proxy = np.zeros(tuple(n if i == axis else 1 for i, n in enumerate(x.shape)), x.dtype)
    view = plane_view(proxy, channel_axis=channel_axis, name=name)
    view = PlaneView(view.planes, tuple(x.shape), view.dtype, view.channel_axis, view.out_dtype)
    work = da.moveaxis(x, view.channel_axis, -1) if axis is not None else x[..., None]
    lead = work.ndim - 3
    work = work.rechunk({**dict.fromkeys(range(lead), 1), lead: chunk, lead + 1: chunk,
                         lead + 2: -1})
    return Layout(work, view)


def overlapped(x, depth: dict):
    """``x`` with ``depth`` pixels of each neighbouring block (no padding at the edges)."""
    from dask.array.overlap import (
        overlap,  # deferred: dask is imported only for lazy images
    )

    return overlap(x, depth=depth, boundary="none")  # deferred: dask is imported only for lazy images


def trimmed(x, depth: dict):
    """Inverse of :func:`overlapped`: each block's margin cut off."""
    from dask.array.overlap import trim_internal  # deferred: dask only for lazy images

    return trim_internal(x, depth, boundary="none")


def unit_plane(plane: np.ndarray) -> np.ndarray:
    """A block plane in unit float32; NaN or infinite values are refused."""
    unit = to_unit_float(plane)
    if plane.dtype.kind == "f" and not np.isfinite(unit).all():
        raise ValueError(
            "image contains NaN or infinite values; replace them first "
            "(e.g. image = dask.array.nan_to_num(image)) or mask them and inpaint"
        )
    return unit


def mask_values(mask, *, what: str = "mask") -> np.ndarray:
    """A bool, integer (non-zero) or float (``>= 0.5``) mask block as bool."""
    if mask.dtype.kind == "b":
        return mask
    if mask.dtype.kind in "ui":
        return mask != 0
    if not np.isfinite(mask).all() or mask.min(initial=0) < 0 or mask.max(initial=0) > 1:
        raise ValueError(
            f"float {what} must hold values in [0, 1] (>= 0.5 means fill); "
            "pass a bool or integer Labels array instead"
        )
    return mask >= 0.5


def spatial_like(x, image_layout: Layout, *, name: str, kinds: str = "buif"):
    """``x`` as a dask array of the image's spatial shape, chunked like its blocks.

    One plane's shape ``(M, N)`` is broadcast over a stack.
    """
    import dask.array as da  # deferred: dask is imported only for lazy images

    m = as_dask(x)
    if m.dtype.kind not in kinds:
        what = "a bool or integer Labels array" if "b" in kinds else "an integer Labels array"
        raise TypeError(f"{name} has dtype {m.dtype}; pass {what}")
    spatial = image_layout.spatial_shape
    if m.shape == spatial[-2:] and m.shape != spatial:
        m = da.broadcast_to(m, spatial)
    elif m.shape != spatial:
        raise spatial_mismatch(name, m.shape, spatial, image_layout.view.channel_axis)
    return m.rechunk(image_layout.work.chunks[:-1])


def _lead_start(block_info, n_lead: int) -> tuple:
    if not block_info or n_lead == 0:
        return (0,) * n_lead
    return tuple(loc[0] for loc in block_info[0]["array-location"][:n_lead])


def _out_block(block, out, dtype):
    if out == "image":
        return block.astype(dtype, copy=True)
    if out == "plane":
        return np.empty(block.shape[:-1], dtype)
    return np.empty(block.shape[:-1] + (out,), dtype)


def _put(target, result, out, n_color):
    if out == "image":
        target[..., :n_color] = result
    elif out == "plane":
        target[...] = result
    else:
        target[...] = np.moveaxis(result, 0, -1)


def _plane_block(block, *others, kernel, n_color, out, out_dtype, unit, plane_info,
                 block_info=None):
    """Run ``kernel`` on every plane of a ``(..., m, n, C)`` block."""
    result = _out_block(block, out, out_dtype)
    lead = block.shape[:-3]
    start = _lead_start(block_info, len(lead))
    for idx in np.ndindex(lead):
        plane = block[idx][..., :n_color]
        info = None
        if plane_info is not None:
            info = plane_info[tuple(s + i for s, i in zip(start, idx, strict=True))]
        planes = [np.asarray(o[idx][..., 0]) for o in others]
        _put(result[idx], kernel(unit_plane(plane) if unit else plane, *planes,
                                 plane_info=info), out, n_color)
    return result


def _lazy(kernel, image, others, *, channel_axis, depth, chunk, out, dtype, unit,
          plane_info, names):
    import dask.array as da  # deferred: dask is imported only for lazy images

    image_layout = layout(image, channel_axis=channel_axis, chunk=chunk)
    view = image_layout.view
    dtype = np.dtype(view.out_dtype if dtype is None else dtype)
    d = image_layout.depth(depth)
    src = overlapped(image_layout.work, d)
    extra = [overlapped(spatial_like(o, image_layout, name=n), d)[..., None]
             for o, n in zip(others, names, strict=True)]
    kw = {"kernel": kernel, "n_color": view.n_color, "out": out, "out_dtype": dtype,
          "unit": unit, "plane_info": plane_info}
    if out == "image":
        result = src.map_blocks(_plane_block, *extra, dtype=dtype, **kw)
        return image_layout.assemble(trimmed(result, d))
    if out == "plane":
        result = src.map_blocks(_plane_block, *extra, drop_axis=src.ndim - 1, dtype=dtype, **kw)
        return trimmed(result, d)
    result = src.map_blocks(_plane_block, *extra, dtype=dtype,
                            chunks=src.chunks[:-1] + ((out,),), **kw)
    return da.moveaxis(trimmed(result, d), -1, -3)


def _in_memory(kernel, image, others, *, channel_axis, out, dtype, unit, plane_info, names,
               progress):
    view = plane_view(image, channel_axis=channel_axis)
    dtype = np.dtype(view.out_dtype if dtype is None else dtype)
    extra = [plane_stack(np.asarray(o), view, name=n)
             for o, n in zip(others, names, strict=True)]
    info = None
    if plane_info is not None:
        info = np.asarray(plane_info)
        info = info.reshape((view.n_planes,) + info.shape[len(view.spatial_shape) - 2:])
    result = _out_block(view.planes, out, dtype)
    for i in range(view.n_planes):
        report(progress, i, view.n_planes)
        plane = view.plane(i) if unit else view.raw_plane(i)
        _put(result[i], kernel(plane, *(np.array(e[i]) for e in extra),
                               plane_info=None if info is None else info[i]), out, view.n_color)
    report(progress, view.n_planes, view.n_planes)
    if out == "image":
        return view.assemble(result)
    lead = view.spatial_shape[:-2]
    if out == "plane":
        return result.reshape(view.spatial_shape)
    return np.moveaxis(result, -1, -3).reshape(lead + (out,) + view.spatial_shape[-2:])


def map_planes(kernel, image, *others, channel_axis=None, out="image", dtype=None,
               unit: bool = True, depth: int = 0, chunk: int = DEFAULT_CHUNK, plane_info=None,
               names=None, progress=None):
    """Run a per-plane ``kernel`` over an image, in memory or over dask blocks.

    Parameters
    ----------
    kernel : callable
        ``kernel(plane, *others, plane_info=None)``; see the module notes.
    image : (M, N[, ..., P][, C]) ndarray, dask or zarr array
        Image or stack with leading plane axes.
    *others : array-like
        Spatial arrays (the image's shape without the channel axis, or one
        plane's ``(M, N)``), handed to the kernel plane by plane.
    channel_axis : int or None, optional
        Colour axis; ``None`` means gray.
    out : {'image', 'plane'} or int, optional
        What the kernel returns: the plane in the image's layout (pixels it
        leaves alone stay bit-identical), one ``(m, n)`` map, or ``(out, m, n)`` maps.
    dtype : dtype, optional
        Result dtype (default the image's; float16 gives float32).
    unit : bool, optional
        Hand the kernel unit float32 planes (else the image's own values).
    depth : int, optional
        Context in pixels around each block (lazy images).
    chunk : int, optional
        Block side in pixels (lazy images).
    plane_info : array-like, optional
        ``(..., X)`` per-plane values over the leading axes; the kernel gets
        its plane's entry as ``plane_info``.
    names : sequence of str, optional
        Names of ``others`` for error messages.
    progress : callable, optional
        ``progress(done, total)`` in planes (in-memory images; lazy results
        report while computed, see :func:`compute`).

    Returns
    -------
    result : ndarray or dask.array.Array
        Lazy when ``image`` or any of ``others`` is a dask or zarr array. Its
        shape: the image's (``'image'``), its spatial shape (``'plane'``), or
        ``(..., out, M, N)``.
    """
    names = list(names) if names is not None else [f"array {i}" for i in range(len(others))]
    if is_lazy(image) or any(is_lazy(o) for o in others):
        return _lazy(kernel, image, others, channel_axis=channel_axis, depth=depth,
                     chunk=chunk, out=out, dtype=dtype, unit=unit, plane_info=plane_info,
                     names=names)
    return _in_memory(kernel, image, others, channel_axis=channel_axis, out=out, dtype=dtype,
                      unit=unit, plane_info=plane_info, names=names, progress=progress)


def _task_progress(progress):
    """A dask local-scheduler callback calling ``progress(done, total)`` per finished task."""
    if progress is None:
        return contextlib.nullcontext()
    from dask.callbacks import (
        Callback,  # deferred: dask is imported only for lazy images
    )

    class TaskProgress(Callback):  # deferred: dask is imported only for lazy images
        total = 0

        def _start_state(self, dsk, state):
            self.total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))

        def _posttask(self, key, result, dsk, state, worker_id):
            progress(len(state["finished"]), self.total)

    return TaskProgress()


def compute(*arrays, progress=None, scheduler="threads", num_workers=None):
    """Compute dask arrays (or lazy writes) together, reporting ``progress(done, total)`` in
    tasks; ``progress`` may raise :class:`napari_mend.progress.Cancelled` to stop.

    On the local threads scheduler a stopped run (cancelled, failed, interrupted)
    returns only once the tasks already running have ended, so nothing writes
    into a temporary output after its caller has removed it.
    """
    import dask  # deferred: dask is imported only for lazy images

    if scheduler != "threads":
        with _task_progress(progress):
            return dask.compute(*arrays, scheduler=scheduler, num_workers=num_workers)
    pool = ThreadPoolExecutor(thread_count(num_workers))
    try:
        with _task_progress(progress):
            return dask.compute(*arrays, scheduler="threads", pool=pool)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

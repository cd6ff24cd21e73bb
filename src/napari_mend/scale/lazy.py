"""Lazy detection and mending of dask and zarr arrays, in bounded memory for any size.

The public :func:`napari_mend.detect_scores`, :func:`napari_mend.detect` and
:func:`napari_mend.inpaint` hand dask and zarr arrays to this module and return
dask arrays: nothing is computed until the result is viewed, computed or
stored, and then block by block.

Each plane is cut into blocks of ``chunk`` pixels along its two image axes
(the dask chunks; leading plane axes get chunks of one plane, colour one
chunk). A block is processed together with ``depth`` pixels of its
neighbours (:func:`dask.array.overlap.overlap`, no padding at the image's
own edges) and trimmed back, so a result block sees the context it needs
and memory stays at a few blocks per thread.

Detection
    ``'learned'``: blocks go through the network tile by tile
    (:func:`napari_mend.tiling.tiled_map`), normalised by the *plane's*
    robust intensity range, taken once from the same regular subsample the
    in-memory path uses; blocks therefore agree with each other, and with
    the in-memory result up to the blending of network tiles near block
    edges. ``depth`` is the model's tile overlap.
    ``'classical'``: each block with its margin is scored on its own, so the
    detector's plane-level statistics (intensity percentiles, noise floor,
    blotch background, the length that makes a scratch) are those of the
    block: pick ``chunk`` of the size of the images the detector was tuned
    on (the default is 1024).
Inpainting
    Blocks without masked pixels are returned as read (cast only for
    float16); others are filled with ``depth`` pixels of context. Holes
    larger than the margin are filled from the context each block sees.
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from .._validation import PlaneView, from_unit_float, plane_view, to_unit_float
from ..classes import DEFECT_CLASSES, class_ids
from ..detection.scores import DefectScores, scores_to_labels
from ..detection.text_completion import LINE_REACH
from ..io.atomic import atomic_path

DEFAULT_CHUNK = 1024
"""Side of the blocks processed at once (pixels)."""
CLASSICAL_DEPTH = 64
"""Margin of a block for the classical detector (its largest filters are ~40 px)."""
INPAINT_DEPTH = 64
"""Margin of a block for inpainting (context around holes near a block edge)."""
TEXT_DEPTH = LINE_REACH + 16
"""Margin of a block for completing detected text: colour growth reaches 27 px, straight strokes
are followed ``LINE_REACH`` px plus the rim (256 px)."""
N_CLASSES = len(DEFECT_CLASSES)


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
    import dask.array as da

    if isinstance(data, da.Array):
        return data
    zarr = sys.modules.get("zarr")
    if zarr is not None and isinstance(data, zarr.Array):
        return da.from_zarr(data)
    return da.from_array(np.asarray(data))


def open_lazy(path, *, chunk: int = DEFAULT_CHUNK):
    """Open an image file or zarr array on disk as a dask array, without reading its pixels.

    Parameters
    ----------
    path : str or os.PathLike
        A zarr array (folder), or a TIFF: uncompressed contiguous TIFFs are
        memory-mapped, tiled or striped ones are read tile by tile through
        tifffile's zarr interface (the first image of a pyramid).
    chunk : int, optional
        Chunk side along the image axes when the file imposes none.

    Returns
    -------
    data : dask.array.Array
    """
    import dask.array as da

    path = Path(path)
    if path.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        from ..io.tiff import warn_other_series

        with tifffile.TiffFile(path) as tif:
            warn_other_series(tif, path)
        try:
            mapped = tifffile.memmap(path, mode="r")
        except ValueError:  # compressed, tiled or striped: not one contiguous block
            import zarr

            node = zarr.open(tifffile.imread(path, aszarr=True), mode="r")
            array = node if isinstance(node, zarr.Array) else node[sorted(node.array_keys())[0]]
            return da.from_array(_NamedReads(array, path), chunks=array.chunks,
                                 meta=np.empty((0,) * array.ndim, array.dtype))
        colour = mapped.ndim >= 3 and mapped.shape[-1] <= 4
        image_axes = (chunk, chunk, -1) if colour else (chunk, chunk)
        return da.from_array(mapped, chunks=(1,) * (mapped.ndim - len(image_axes)) + image_axes)
    return da.from_zarr(str(path))


class _NamedReads:
    """A TIFF's zarr view whose failed reads (a damaged or truncated tile) raise an OSError
    naming the file, instead of the codec's own error from deep inside a dask task."""

    def __init__(self, array, path: Path):
        self.array, self.path = array, path
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim

    def __getitem__(self, key):
        try:
            return self.array[key]
        except Exception as err:  # noqa: BLE001 - zlib, imagecodecs, struct... all mean damage
            raise OSError(f"{self.path}: part of the image cannot be decoded "
                          f"({type(err).__name__}: {err}); the file is damaged or "
                          "truncated") from None


@dataclass(frozen=True)
class _Layout:
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
        import dask.array as da

        if self.view.channel_axis is None:
            return out[..., 0]
        return da.moveaxis(out, -1, self.view.channel_axis)


def _layout(image, *, channel_axis, chunk: int, name: str = "image") -> _Layout:
    import dask.array as da

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
    return _Layout(work, view)


def _overlapped(x, depth: dict):
    from dask.array.overlap import overlap

    return overlap(x, depth=depth, boundary="none")


def _trimmed(x, depth: dict):
    from dask.array.overlap import trim_internal

    return trim_internal(x, depth, boundary="none")


def _unit_plane(block_plane: np.ndarray, n_color: int) -> np.ndarray:
    plane = to_unit_float(block_plane[..., :n_color])
    if block_plane.dtype.kind == "f" and not np.isfinite(plane).all():
        raise ValueError(
            "image contains NaN or infinite values; replace them first "
            "(e.g. image = dask.array.nan_to_num(image)) or mask them and inpaint"
        )
    return plane


def _lead_start(block_info, n_lead: int) -> tuple:
    if not block_info or n_lead == 0:
        return (0,) * n_lead
    return tuple(loc[0] for loc in block_info[0]["array-location"][:n_lead])


# ---------------------------------------------------------------- detection


def _classical_plane(plane, _intensity):
    from ..detection.classical import classical_scores

    return classical_scores(plane)


def _learned_plane(plane, intensity, *, model: str):
    """Learned scores of a block with the plane's intensity range ``(low, high)``."""
    from ..detection.learned import learned_scores

    return learned_scores(plane, model=model, intensity=intensity)


def _block_planes(block, *, score_plane, intensity, n_color, block_info=None):
    """Yield ``(index, scores (6, m, n))`` for every plane of a ``(..., m, n, C)`` block."""
    lead = block.shape[:-3]
    start = _lead_start(block_info, len(lead))
    for idx in np.ndindex(lead):
        where = tuple(s + i for s, i in zip(start, idx, strict=True))
        plane_range = None if intensity is None else intensity[where]
        yield idx, score_plane(_unit_plane(block[idx], n_color), plane_range)


def _scores_block(block, **scoring):
    """Scores ``(..., m, n, 6)`` of a ``(..., m, n, C)`` block."""
    out = np.empty(block.shape[:-1] + (N_CLASSES,), np.float16)
    for idx, scores in _block_planes(block, **scoring):
        out[idx] = np.moveaxis(scores, 0, -1)
    return out


def _labels_block(block, *, threshold, classes, **scoring):
    """Labels ``(..., m, n)`` of a ``(..., m, n, C)`` block (no score block is kept).

    Scores are rounded to float16 first, as in-memory detection stores them, so a
    score just under the threshold that rounds onto it is labelled the same way.
    """
    out = np.empty(block.shape[:-1], np.uint8)
    for idx, scores in _block_planes(block, **scoring):
        out[idx] = scores_to_labels(scores.astype(np.float16), threshold=threshold,
                                    classes=classes)
    return out


def _plane_intensity(layout: _Layout) -> np.ndarray:
    """Robust intensity range of every plane, ``(..., 2)``, from one strided read."""
    from ..detection.learned import intensity_range

    work = layout.work
    m, n = work.shape[-3:-1]
    step = max(1, int(np.ceil(np.sqrt(m * n / (1 << 20)))))
    sample = materialize(work[..., ::step, ::step, : layout.view.n_color])
    ranges = np.empty(work.shape[:-3] + (2,), np.float64)
    for idx in np.ndindex(work.shape[:-3]):
        ranges[idx] = intensity_range(to_unit_float(sample[idx]))
    return ranges


def _scoring(layout: _Layout, method: str, model):
    """``(score_plane, intensity, depth, card)`` of a detection method."""
    from ..detection.api import DEFAULT_DETECTOR, METHODS

    if method == "classical":
        return _classical_plane, None, CLASSICAL_DEPTH, None
    if method == "learned":
        from ..detection.learned import DEFAULT_OVERLAP
        from ..models.registry import get_model

        name = model or DEFAULT_DETECTOR
        card = get_model(name).card
        depth = int(card.get("inference", {}).get("overlap", DEFAULT_OVERLAP))
        return partial(_learned_plane, model=name), _plane_intensity(layout), depth, card
    raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


@dataclass
class LazyDefectScores(DefectScores):
    """:class:`~napari_mend.DefectScores` holding a dask array; ``labels()`` stays lazy."""

    def labels(self, *, threshold: float = 0.5, classes=None, min_size: int = 2):
        """Lazy Labels at ``threshold`` (see :func:`.scores_to_labels`); nothing is computed."""
        class_ids(classes)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        nd = self.scores.ndim
        depth = dict.fromkeys((nd - 2, nd - 1), 1)  # components of min_size across block edges
        labels = _overlapped(self.scores, depth).map_blocks(
            scores_to_labels, threshold=threshold, classes=classes, min_size=min_size,
            drop_axis=nd - 3, dtype=np.uint8)
        return _trimmed(labels, dict.fromkeys((nd - 3, nd - 2), 1))


def detect_scores(image, *, channel_axis=None, method="learned", model=None,
                  chunk: int = DEFAULT_CHUNK, depth: int | None = None) -> LazyDefectScores:
    """Lazy per-class defect scores of a dask or zarr image.

    Parameters are those of :func:`napari_mend.detect_scores`, plus
    ``chunk``, the block side in pixels, and ``depth``, the margin of
    context around each block (default: the method's, see the module notes).

    Returns
    -------
    scores : LazyDefectScores
        ``scores.scores`` is a float16 dask array ``(..., 6, M, N)`` (as in memory);
        ``scores.labels()`` is a lazy uint8 Labels array.
    """
    layout = _layout(image, channel_axis=channel_axis, chunk=chunk)
    score_plane, intensity, default_depth, card = _scoring(layout, method, model)
    depth = default_depth if depth is None else depth
    src = _overlapped(layout.work, layout.depth(depth))
    scores = src.map_blocks(_scores_block, score_plane=score_plane, intensity=intensity,
                            n_color=layout.view.n_color, dtype=np.float16,
                            chunks=src.chunks[:-1] + ((N_CLASSES,),))
    scores = _trimmed(scores, layout.depth(depth))
    import dask.array as da

    scores = da.moveaxis(scores, -1, -3)
    return LazyDefectScores(scores=scores, method=method, model=card,
                            parameters={"model": model or "detector"} if card else {})


def detect(image, *, channel_axis=None, method="learned", threshold=0.5, classes=None,
           model=None, chunk: int = DEFAULT_CHUNK, depth: int | None = None):
    """Lazy Labels of a dask or zarr image: scores and thresholds fused per block.

    Parameters are those of :func:`napari_mend.detect`, plus ``chunk`` and
    ``depth`` (see :func:`detect_scores`).

    Returns
    -------
    labels : dask.array.Array of uint8
        The image's shape without the channel axis.
    """
    class_ids(classes)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    layout = _layout(image, channel_axis=channel_axis, chunk=chunk)
    score_plane, intensity, default_depth, _ = _scoring(layout, method, model)
    depth = max(default_depth if depth is None else depth, 1)  # min_size sees edge neighbours
    src = _overlapped(layout.work, layout.depth(depth))
    labels = src.map_blocks(_labels_block, score_plane=score_plane, intensity=intensity,
                            n_color=layout.view.n_color, threshold=threshold, classes=classes,
                            drop_axis=src.ndim - 1, dtype=np.uint8)
    nd = labels.ndim
    return _trimmed(labels, dict.fromkeys((nd - 2, nd - 1), depth))


# ---------------------------------------------------------------- inpainting


def _mask_block(mask, *, what):
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


def _lazy_spatial(x, layout: _Layout, *, name: str):
    """``x`` as a dask array of ``layout.work``'s shape without colour, same chunks."""
    import dask.array as da

    m = as_dask(x)
    spatial = layout.spatial_shape
    if m.shape == spatial[-2:] and m.shape != spatial:
        m = da.broadcast_to(m, spatial)
    elif m.shape != spatial:
        extra = (f" (channel axis {layout.view.channel_axis} left out)"
                 if layout.view.channel_axis is not None else "")
        raise ValueError(f"{name} has shape {m.shape} but the image's spatial shape is "
                         f"{spatial}{extra}; pass a mask of shape {spatial} or {spatial[-2:]}")
    return m.rechunk(layout.work.chunks[:-1])


def _lazy_mask(mask, layout: _Layout, *, name: str = "mask"):
    """``mask`` as a lazy bool array of ``layout.work``'s shape without colour, same chunks."""
    m = as_dask(mask)
    if m.dtype.kind not in "buif":
        raise TypeError(f"{name} has dtype {m.dtype}; pass a bool or integer Labels array")
    return _lazy_spatial(m, layout, name=name).map_blocks(_mask_block, what=name, dtype=bool)


def _lazy_labels(labels, layout: _Layout):
    """Defect ``labels`` (integer) as a lazy array of ``layout.work``'s shape, same chunks."""
    m = as_dask(labels)
    if m.dtype.kind not in "ui":
        raise TypeError(f"labels have dtype {m.dtype}; pass an integer Labels array (values of "
                        "napari_mend.DEFECT_CLASSES)")
    return _lazy_spatial(m, layout, name="labels")


def _fill_block(block, mask, *, fill, n_color, out_dtype):
    """Mend the marked pixels of a ``(..., m, n, C)`` block; others are kept bit for bit.

    ``mask`` is the block's ``(..., m, n, 1)`` bool mask or Labels;
    ``fill(unit_plane, mask_plane)`` mends one plane.
    """
    out = block.astype(out_dtype, copy=True)
    mask = mask[..., 0]
    for idx in np.ndindex(block.shape[:-3]):
        m = mask[idx]
        if not m.any():
            continue
        filled = fill(_unit_plane(block[idx], n_color), np.array(m))
        changed = m != 0
        out[idx][..., :n_color][changed] = from_unit_float(filled[changed], out_dtype)
    return out


def _fill_plane(plane, mask, *, fill):
    if mask.all():
        raise ValueError(
            "the mask covers a whole block of the image: there are no pixels left to "
            "fill from; shrink the mask or pass a larger chunk"
        )
    return fill(plane, mask)


def _mend_plane(plane, labels, *, fill, model, classes):
    from ..restore import mend_labels

    return mend_labels(plane, labels, channel_axis=-1, fill=fill, model=model, classes=classes)


def _mend_lazily(layout: _Layout, mask, fill, depth: int):
    d = layout.depth(depth)
    src = _overlapped(layout.work, d)
    holes = _overlapped(mask, d)[..., None]
    out = src.map_blocks(_fill_block, holes, fill=fill, n_color=layout.view.n_color,
                         out_dtype=layout.view.out_dtype, dtype=layout.view.out_dtype)
    return layout.assemble(_trimmed(out, d))


def inpaint(image, mask, *, channel_axis=None, method="auto", model=None,
            depth: int = INPAINT_DEPTH, chunk: int = DEFAULT_CHUNK):
    """Lazy fill of the masked pixels of a dask or zarr image.

    Parameters are those of :func:`napari_mend.inpaint` (``mask`` may be
    NumPy, dask or zarr), plus ``depth``, the context (pixels) a block sees
    around it, and ``chunk``.

    Returns
    -------
    out : dask.array.Array
        Same shape and dtype as ``image`` (float16 gives float32); pixels
        outside the mask are bit-identical to the input's.
    """
    from ..inpainting.api import plane_fill

    layout = _layout(image, channel_axis=channel_axis, chunk=chunk)
    fill = partial(_fill_plane, fill=plane_fill(method, model))
    return _mend_lazily(layout, _lazy_mask(mask, layout), fill, depth)


def _text_block(labels, block, *, n_color, options):
    """Text completion of each plane of a block (labels ``(..., m, n, 1)``)."""
    from ..detection.text_completion import complete_text_plane

    out = labels.copy()
    for idx in np.ndindex(block.shape[:-3]):
        out[idx][..., 0] = complete_text_plane(block[idx][..., :n_color], labels[idx][..., 0],
                                               **options)
    return out


def complete_text_lazily(image, labels, *, channel_axis=None, chunk: int = DEFAULT_CHUNK,
                         depth: int = TEXT_DEPTH, **options):
    """Lazy :func:`napari_mend.detection.complete_text`, block by block with ``depth`` px of context.

    ``options`` are those of :func:`~napari_mend.detection.complete_text`
    (``gap``, ``reach``, ``rim``).

    Returns
    -------
    labels : dask.array.Array
        The image's spatial shape, ``labels``' dtype.
    """
    layout = _layout(image, channel_axis=channel_axis, chunk=chunk)
    found = _lazy_labels(labels, layout)
    d = layout.depth(depth)
    out = _overlapped(found, d)[..., None].map_blocks(
        _text_block, _overlapped(layout.work, d), n_color=layout.view.n_color, options=options,
        dtype=found.dtype)
    return _trimmed(out, d)[..., 0]


def restore(image, *, channel_axis=None, detector="learned", fill="auto", threshold=None,
            classes=None, complete_text: bool = True, chunk: int = DEFAULT_CHUNK,
            depth: int = INPAINT_DEPTH):
    """Lazy :func:`napari_mend.restore` of a dask or zarr image.

    Each block is mended by :func:`napari_mend.restore.mend_labels` with
    ``depth`` pixels of context: holes inpainted, watermarks inverted,
    moire filtered, as in memory; detected text is first completed
    (``complete_text``, see :func:`napari_mend.restore.restore`).

    Returns
    -------
    mended, labels : dask.array.Array
        Store or compute them together (e.g. :func:`store`) so the
        detection runs once; :func:`restore_to_zarr` stores them in two
        passes, in less memory.
    """
    classes, threshold, labels = _restore_labels(
        image, channel_axis=channel_axis, detector=detector, threshold=threshold,
        classes=classes, complete_text=complete_text, chunk=chunk)
    return mend_labels(image, labels, channel_axis=channel_axis, fill=fill, classes=classes,
                       chunk=chunk, depth=depth), labels


def _restore_labels(image, *, channel_axis, detector, threshold, classes, complete_text, chunk):
    """``(classes, threshold, labels)`` of a lazy restore: the defaults resolved
    (:func:`napari_mend.detection.api.restore_defaults`), the lazy detection, text completed."""
    from ..detection.api import restore_defaults
    from ..detection.text_completion import may_find_text

    classes, threshold = restore_defaults(detector, classes=classes, threshold=threshold)
    labels = detect(image, channel_axis=channel_axis, method=detector, threshold=threshold,
                    classes=classes, chunk=chunk)
    if complete_text and may_find_text(detector, classes):
        labels = complete_text_lazily(image, labels, channel_axis=channel_axis, chunk=chunk)
    return classes, threshold, labels


def mend_labels(image, labels, *, channel_axis=None, fill="auto", model=None, classes=None,
                chunk: int = DEFAULT_CHUNK, depth: int = INPAINT_DEPTH):
    """Lazy :func:`napari_mend.restore.mend_labels`: each block mended with ``depth`` px of context.

    ``labels`` may be NumPy, dask or zarr, of the image's spatial shape (or
    one plane's, broadcast over a stack).

    Returns
    -------
    mended : dask.array.Array
        Same shape and dtype as ``image`` (float16 gives float32).
    """
    layout = _layout(image, channel_axis=channel_axis, chunk=chunk)
    found = _lazy_labels(labels, layout)
    mend = partial(_mend_plane, fill=fill, model=model, classes=classes)
    return _mend_lazily(layout, found, mend, depth)


# ---------------------------------------------------------------- computing with progress


def _task_progress(progress):
    """A dask local-scheduler callback calling ``progress(done, total)`` per finished task."""
    if progress is None:
        return contextlib.nullcontext()
    from dask.callbacks import Callback

    class TaskProgress(Callback):
        total = 0

        def _start_state(self, dsk, state):
            self.total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))

        def _posttask(self, key, result, dsk, state, worker_id):
            progress(len(state["finished"]), self.total)

    return TaskProgress()


def compute(*arrays, progress=None, scheduler="threads", num_workers=None):
    """Compute dask arrays together, reporting ``progress(done, total)`` in tasks.

    ``progress`` may raise :class:`napari_mend.progress.Cancelled` to stop.
    """
    import dask

    with _task_progress(progress):
        return dask.compute(*arrays, scheduler=scheduler, num_workers=num_workers)


def _check_targets(paths, overwrite: bool) -> list[Path]:
    paths = [Path(p) for p in paths]
    if len({p.resolve() for p in paths}) < len(paths):
        raise ValueError(f"each array needs a path of its own, got {[str(p) for p in paths]}")
    for p in paths:
        if (p.exists() or p.is_symlink()) and not overwrite:
            raise FileExistsError(f"{p} already exists; pass overwrite=True to replace it")
        if p.is_dir() and not p.is_symlink() and not _is_zarr_array(p):
            raise FileExistsError(f"{p} is a folder that is not a zarr array; it is not "
                                  "replaced: choose another path, or remove it yourself")
    return paths


def _is_zarr_array(path: Path) -> bool:
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
        E.g. ``(mended, labels)`` from :func:`restore`: shared work runs once.
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
    import dask

    arrays = list(arrays)
    paths = _check_targets(paths, overwrite)
    if len(arrays) != len(paths):
        raise ValueError(f"got {len(arrays)} arrays for {len(paths)} paths")
    with contextlib.ExitStack() as places:
        temporary = [places.enter_context(atomic_path(p, overwrite=overwrite)) for p in paths]
        writes = [_zarr_write(a, t) for a, t in zip(arrays, temporary)]
        with _task_progress(progress):
            dask.compute(*writes, scheduler=scheduler, num_workers=num_workers)
    return paths


def _zarr_write(array, path: Path, attrs=None):
    """A lazy write of ``array`` to a new zarr array at ``path``, with ``attrs``."""
    import dask.array as da
    import zarr

    array = as_dask(array)
    side = tuple(c[0] for c in array.chunks)
    if any(set(c[:-1]) - {n} or c[-1] > n for c, n in zip(array.chunks, side)):
        array = array.rechunk(side)  # one dask block per zarr chunk: writes never share one
    target = zarr.open_array(str(path), mode="w", shape=array.shape, dtype=array.dtype,
                             chunks=side)
    if attrs:
        target.attrs.update(attrs)
    return da.store(array, target, compute=False, lock=False)


def restore_to_zarr(image, mended_path, labels_path, *, channel_axis=None, detector="learned",
                    fill="auto", threshold=None, classes=None, complete_text: bool = True,
                    chunk: int = DEFAULT_CHUNK, depth: int = INPAINT_DEPTH, source=None,
                    progress=None, overwrite=False, scheduler="threads",
                    num_workers=None) -> tuple[Path, Path]:
    """Detect and mend a dask or zarr image into two zarr arrays, in two passes.

    :func:`restore` gives lazy results whose detection is held while the
    blocks are mended; this stores the labels first and mends from the
    stored labels, so the two steps never hold each other's blocks (less
    memory, see ``docs/scale.md``). Both arrays are moved into place only
    when both are complete; each carries the provenance record of the run
    in its ``provenance`` attribute (the image's and labels' digests, the
    models, the parameters).

    Parameters
    ----------
    image : dask.array.Array, zarr.Array or ndarray
        Image or stack, any size.
    mended_path, labels_path : str or os.PathLike
        Zarr folders for the mended image (the image's shape and dtype;
        float16 gives float32) and the defect Labels (uint8, the image's
        shape without the channel axis).
    channel_axis, detector, fill, threshold, classes, complete_text
        As for :func:`napari_mend.restore`.
    chunk, depth : int, optional
        Block side and inpainting margin (see :func:`restore`).
    source : str, optional
        Where the image came from, for the provenance.
    progress : callable, optional
        ``progress(done, total)`` over both passes; may raise
        :class:`napari_mend.progress.Cancelled` (nothing is left on disk).
    overwrite : bool, optional
        Replace existing zarr arrays at the two paths.
    scheduler, num_workers
        Dask scheduler and thread count.

    Returns
    -------
    mended_path, labels_path : pathlib.Path
    """
    import dask.array as da
    import zarr

    from ..progress import scaled
    from ..restore import restore_provenance

    mended_path, labels_path = _check_targets([mended_path, labels_path], overwrite)
    classes, threshold, labels = _restore_labels(
        image, channel_axis=channel_axis, detector=detector, threshold=threshold,
        classes=classes, complete_text=complete_text, chunk=chunk)
    run = {"scheduler": scheduler, "num_workers": num_workers}
    with atomic_path(labels_path, overwrite=overwrite) as labels_tmp, \
            atomic_path(mended_path, overwrite=overwrite) as mended_tmp:
        with _task_progress(scaled(progress, 0, 2)):
            da.compute(_zarr_write(labels, labels_tmp), **run)
        stored = da.from_zarr(str(labels_tmp))
        provenance = {"provenance": restore_provenance(
            image, stored, detector=detector, fill=fill, threshold=threshold, classes=classes,
            source=source, channel_axis=channel_axis, complete_text=complete_text, chunk=chunk)}
        zarr.open_array(str(labels_tmp), mode="r+").attrs.update(provenance)
        mended = mend_labels(image, stored, channel_axis=channel_axis, fill=fill, classes=classes,
                             chunk=chunk, depth=depth)
        with _task_progress(scaled(progress, 1, 2)):
            da.compute(_zarr_write(mended, mended_tmp, provenance), **run)
    return mended_path, labels_path

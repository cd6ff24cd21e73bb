"""Public ``inpaint``: fill masked pixels of any supported image."""

from __future__ import annotations

from functools import partial

import numpy as np

from .._validation import check_mask, from_unit_float, plane_view
from ..arrays import is_lazy
from ..blocks import DEFAULT_CHUNK, map_planes, mask_values, unit_plane
from ..io.provenance import make_provenance
from ..models.networks import network_card_or_none as card_or_none
from ..progress import report, scaled
from .auto import fill_auto  # noqa: F401  (registers 'auto' and, through it, every built-in fill)
from .fills import get_fill
from .unit_plane import UnitPlane

DEFAULT_INPAINTER = "inpainter"
INPAINT_DEPTH = 64
"""Margin of a block (lazy images) for inpainting: context around holes near a block edge."""


def method_model(method: str, model: str | None = None) -> str | None:
    """Name of the model a fill method uses (None for fills without a model)."""
    return (model or DEFAULT_INPAINTER) if get_fill(method).uses_model else None


def plane_fill(method: str, model: str | None = None):
    """The fill of one plane for ``method``, on the plane contract.

    Returns ``fill(plane, mask, *, progress=None, out=None)``: ``plane`` float32
    ``(M, N, C)``, ``mask`` bool ``(M, N)``. Fills that use a model (``auto``,
    ``learned``) use ``model``, report progress and may write into ``out``;
    the others ignore both.

    Raises
    ------
    ValueError
        Unknown method.
    ImportError
        What the fill needs is not installed (``'telea'``/``'ns'`` without OpenCV).
    """
    return get_fill(method).plane_fill(method_model(method, model))


def inpaint(image, mask, *, channel_axis=None, method="auto", model=None, progress=None,
            depth: int = INPAINT_DEPTH, chunk: int = DEFAULT_CHUNK, return_provenance=False):
    """Fill the masked pixels of an image.

    Parameters
    ----------
    image : (M, N[, ..., P][, C]) ndarray
        Image, or stack of images with leading plane axes (e.g. ``(Z, M, N)``),
        uint8, uint16, int8, int16 or float. Planes are filled one by one.
    mask : ndarray
        Pixels to fill, of the image's shape without the channel axis, or of
        one plane's shape ``(M, N)`` to use for every plane. Bool, an integer
        Labels array (non-zero = fill) or float in ``[0, 1]`` (``>= 0.5`` =
        fill).
    channel_axis : int or None, optional
        Axis of colour channels (1 to 4: gray, RGB, RGBA; alpha is kept as
        it is). ``None`` means gray.
    method : {'auto', 'learned', 'biharmonic', 'telea', 'ns'}, optional
        ``'auto'`` picks per hole among what is installed: a classical fill
        for thin holes, the network for thick ones, the biharmonic fill for
        thick ones in smooth surroundings (gradients, flat backgrounds),
        as calibrated in the model card; ``'telea'`` and ``'ns'`` need
        OpenCV.
    model : str, optional
        Name or path of an inpainter model (``'auto'`` and ``'learned'``);
        default the shipped ``'inpainter'``. Not for dask or zarr inputs.
    progress : callable, optional
        ``progress(done, total)``; may raise
        :class:`napari_mend.progress.Cancelled` to stop.
    depth, chunk : int, optional
        For a dask or zarr image: the context (pixels) each block sees around
        it, and the block side (:func:`napari_mend.blocks.map_planes`). Holes
        larger than ``depth`` are filled from the context each block sees.
    return_provenance : bool, optional
        Also return the provenance record (operation ``'inpaint'``: the
        image's and mask's digests, the fill and its model card, the
        parameters; lazy inputs are read once to digest them).

    Returns
    -------
    out : ndarray
        Same shape and dtype as ``image`` (float16 gives float32). Pixels
        outside the mask are bit-identical to the input's. A lazy dask array
        when ``image`` or ``mask`` is a dask or zarr array (blocks without
        masked pixels are returned as read, cast only for float16).
    provenance : dict, optional
        With ``return_provenance``.

    Raises
    ------
    ValueError
        Bad shapes, NaN/inf values, or a mask that covers a whole plane
        (there is nothing to fill from).
    TypeError
        Unsupported image or mask dtype.
    ImportError
        ``'telea'``/``'ns'`` without OpenCV.
    """
    fill = plane_fill(method, model)
    if is_lazy(image) or is_lazy(mask):
        out = map_planes(partial(fill_kernel, fill=fill), image, mask, channel_axis=channel_axis,
                         unit=False, depth=depth, chunk=chunk, names=["mask"])
    else:
        out = _fill_in_memory(image, mask, channel_axis=channel_axis, method=method, fill=fill,
                              progress=progress)
    if not return_provenance:
        return out
    return out, make_provenance(operation="inpaint", method=method,
                                parameters={"channel_axis": channel_axis, "model": model},
                                image=image, mask=mask,
                                model=card_or_none(method_model(method, model)))


def _fill_in_memory(image, mask, *, channel_axis, method, fill, progress):
    """:func:`inpaint` of NumPy inputs, plane by plane (model fills in place, a crop at a
    time)."""
    view = plane_view(image, channel_axis=channel_axis)
    fill_mask = check_mask(mask, view)
    out = view.planes.astype(view.out_dtype, copy=True)
    todo = [i for i in range(view.n_planes) if fill_mask[i].any()]
    for i in todo:
        if fill_mask[i].all():
            where = f" (plane {i})" if view.n_planes > 1 else ""
            raise ValueError(
                f"the mask covers the whole image{where}: there are no pixels left to fill "
                "from; shrink the mask (edit the defects layer) and try again"
            )
    n = view.n_color
    for k, i in enumerate(todo):
        report(progress, k, len(todo))
        m = np.array(fill_mask[i])  # writable (a 2D mask is broadcast over a stack)
        if get_fill(method).uses_model:
            # filled in place in the output, a crop at a time: no float32 copy of the plane
            target = UnitPlane(out[i, ..., :n])
            fill(target, m, out=target, progress=scaled(progress, k, len(todo)))
        else:
            out[i, ..., :n][m] = from_unit_float(fill(view.plane(i), m)[m], view.out_dtype)
    report(progress, len(todo), len(todo))
    return view.assemble(out)


def fill_kernel(raw, mask, *, plane_info=None, fill, what: str = "mask"):
    """Mend the marked pixels of one ``(m, n, C)`` block plane in its own dtype; the others
    are kept bit for bit. ``fill(unit_plane, bool_mask)`` mends; ``mask`` is bool, Labels
    (non-zero) or float (``>= 0.5``)."""
    out_dtype = np.float32 if raw.dtype == np.float16 else raw.dtype
    out = raw.astype(out_dtype, copy=True)
    holes = mask_values(mask, what=what)
    if not holes.any():
        return out
    if holes.all():
        raise ValueError(
            "the mask covers a whole block of the image: there are no pixels left to "
            "fill from; shrink the mask or pass a larger chunk"
        )
    filled = fill(unit_plane(raw), holes)
    out[holes] = from_unit_float(filled[holes], out_dtype)
    return out

"""Public ``inpaint``: fill masked pixels of any supported image."""

from __future__ import annotations

from functools import partial

import numpy as np

from .._validation import check_mask, from_unit_float, plane_view
from ..progress import report, scaled
from ..scale.lazy import is_lazy
from .unit_plane import UnitPlane

METHODS = ("auto", "learned", "biharmonic", "telea", "ns")
LEARNED_FILLS = ("auto", "learned")
"""Fills that use an inpainter model and fill a plane in place, a crop at a time."""
DEFAULT_INPAINTER = "inpainter"


def method_model(method: str, model: str | None = None) -> str | None:
    """Name of the model a fill method uses (None for the classical fills)."""
    return (model or DEFAULT_INPAINTER) if method in LEARNED_FILLS else None


def _fill_function(method: str):
    if method == "biharmonic":
        from .classical import fill_biharmonic

        return fill_biharmonic
    if method in ("telea", "ns"):
        from .classical import OPENCV_HINT, fill_ns, fill_telea, opencv_available

        if not opencv_available():
            raise ImportError(f"method={method!r} needs OpenCV; {OPENCV_HINT}, or use 'biharmonic'")
        return fill_telea if method == "telea" else fill_ns
    if method == "auto":
        from .auto import fill_auto

        return fill_auto
    if method == "learned":
        from .learned import fill_learned

        return fill_learned
    raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


def plane_fill(method: str, model: str | None = None):
    """The fill of one plane for ``method``, on the plane contract.

    Returns ``fill(plane, mask, *, progress=None, out=None)``: ``plane`` float32
    ``(M, N, C)``, ``mask`` bool ``(M, N)``. The learned fills (``auto``,
    ``learned``) use ``model``, report progress and may write into ``out``;
    the classical fills ignore both.

    Raises
    ------
    ValueError
        Unknown method.
    ImportError
        ``'telea'``/``'ns'`` without OpenCV.
    """
    fill = _fill_function(method)
    if method in LEARNED_FILLS:
        return partial(fill, model=method_model(method, model))

    def classical(plane, mask, *, progress=None, out=None):
        return fill(plane, mask)

    return classical


def inpaint(image, mask, *, channel_axis=None, method="auto", model=None, progress=None):
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

    Returns
    -------
    out : ndarray
        Same shape and dtype as ``image`` (float16 gives float32). Pixels
        outside the mask are bit-identical to the input's. A lazy dask array
        when ``image`` or ``mask`` is a dask or zarr array (see
        :mod:`napari_mend.scale.lazy`).

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
    if is_lazy(image) or is_lazy(mask):
        from ..scale import lazy

        return lazy.inpaint(image, mask, channel_axis=channel_axis, method=method, model=model)
    view = plane_view(image, channel_axis=channel_axis)
    fill_mask = check_mask(mask, view)
    fill = plane_fill(method, model)
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
        if method in LEARNED_FILLS:
            # filled in place in the output, a crop at a time: no float32 copy of the plane
            target = UnitPlane(out[i, ..., :n])
            fill(target, m, out=target, progress=scaled(progress, k, len(todo)))
        else:
            out[i, ..., :n][m] = from_unit_float(fill(view.plane(i), m)[m], view.out_dtype)
    report(progress, len(todo), len(todo))
    return view.assemble(out)

"""Public moire removal: the adaptive notch filter or the learned network, plane by plane.

Under a moire pattern the real content is still there: it is filtered out of
the spectrum (or by the network), not invented.
"""

from __future__ import annotations

import numpy as np

from .._validation import from_unit_float, plane_view
from ..io.provenance import make_provenance
from ..models.networks import network_card_or_none as card_or_none
from ..progress import report, scaled
from .learned import learned_filter
from .spectrum import find_moire, notch_filter

DEMOIRE_METHODS = ("auto", "notch", "learned")
DEFAULT_DEMOIRE_MODEL = "demoire"


def _moire_filter(method: str, model: str | None):
    if method == "notch":
        return lambda plane, progress: notch_filter(plane)
    name = model or DEFAULT_DEMOIRE_MODEL

    def learned(plane, progress):
        return learned_filter(plane, model=name, progress=progress), find_moire(plane)

    return learned


def auto_demoire_method(model: str | None = None) -> str:
    """The method ``method='auto'`` uses: the one the demoire model card names, else ``'notch'``.

    The card's ``auto_method`` is set from the evaluation on the validation
    images (``napari-mend evaluate moire``): the learned network only when it
    beat the notch filter there.
    """
    card = card_or_none(model or DEFAULT_DEMOIRE_MODEL)
    return (card or {}).get("auto_method", "notch")


def demoire(image, *, channel_axis=None, method="auto", model=None, progress=None,
            return_report=False, return_provenance=False):
    """Remove moire patterns.

    Parameters
    ----------
    image : (M, N[, ..., P][, C]) ndarray
        Image or stack (leading plane axes, processed plane by plane).
    channel_axis : int or None, optional
        Colour axis; ``None`` means gray.
    method : {'auto', 'notch', 'learned'}, optional
        ``'notch'``: find periodic peaks in the spectrum (in overlapping
        64-px windows, on the log of the image) and bring them down to the
        surrounding spectral level where they occur; planes without such
        peaks come back unchanged. ``'learned'``: the shipped multi-scale
        network (``model``). ``'auto'``: the method the model card
        recommends from the validation results, else ``'notch'``.
    model : str, optional
        Model name or path for ``'learned'`` (default ``'demoire'``).
    progress : callable, optional
        ``progress(done, total)``; may raise :class:`napari_mend.Cancelled`.
    return_report : bool, optional
        Also return, per plane, what the spectral analysis found.
    return_provenance : bool, optional
        Also return the provenance record (operation ``'demoire'``: the method
        used and the one asked for, what was found, the changed pixels, the
        network's card for ``'learned'``).

    Returns
    -------
    clean : ndarray
        Same shape and dtype as ``image`` (float16 gives float32).
    reports : list of dict, optional
        Per plane (``return_report``): ``found``, ``peaks`` (``frequency``
        ``(fy, fx)`` in cycles/px, ``period_px``, ``angle_deg``,
        ``strength``, ``channel``), ``region_pixels`` and ``region_bbox``
        (``[top, left, bottom, right]``) of where the pattern is.
    provenance : dict, optional
        With ``return_provenance``.
    """
    if method not in DEMOIRE_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(DEMOIRE_METHODS)}")
    view = plane_view(image, channel_axis=channel_axis)
    requested = method
    if method == "auto":
        method = auto_demoire_method(model)
    run = _moire_filter(method, model)
    n = view.n_color
    out = view.planes.astype(view.out_dtype, copy=True)
    reports = []
    for i in range(view.n_planes):
        report(progress, i, view.n_planes)
        filtered, found = run(view.plane(i), scaled(progress, i, view.n_planes))
        out[i, ..., :n] = from_unit_float(filtered, view.out_dtype)
        if method == "notch":  # bit-identical outside the pattern
            keep = ~found.region
            out[i, ..., :n][keep] = view.planes[i, ..., :n][keep]
        reports.append(found.as_dict())
    report(progress, view.n_planes, view.n_planes)
    result = view.assemble(out)
    results = [result] + ([reports] if return_report else [])
    if return_provenance:
        changed = np.any(result != image, axis=view.channel_axis) \
            if view.channel_axis is not None else result != image
        results.append(make_provenance(
            operation="demoire", method=method,
            parameters={"requested": requested, "channel_axis": channel_axis, "found": reports},
            image=image, mask=changed,
            model=card_or_none(model or DEFAULT_DEMOIRE_MODEL) if method == "learned" else None))
    return tuple(results) if len(results) > 1 else result

"""Learned fill: :class:`~napari_mend.models.inpainter_net.InpainterNet` around each hole.

Cost grows with the mask, not with the image. The mask is split into groups
(connected components, merged when closer than ``merge_distance``); each
group is filled from a crop around it with a context margin:

* holes thinner than the model's comfortable radius are filled at native
  resolution, in windows of at most ``window`` pixels that touch the hole
  (a long thin scratch costs its length, not its bounding box);
* thicker holes go through a coarse-to-fine path: the crop is downscaled so
  that the hole's radius fits the model, filled, upscaled, and the band of
  the hole within ``native_radius`` of the known pixels is filled again at
  native resolution with the coarse fill as context inside.

Values of any range are mapped to about ``[0, 1]`` by robust percentiles of
the known pixels and mapped back afterwards; gray planes are replicated to
RGB and averaged back. Pixels outside the mask are returned unchanged.

Each window's prediction is the mean of the network's predictions on the
window as it is and flipped (left-right, then up-down and both):
``flip_views`` of them at native resolution, ``coarse_flip_views`` on the
coarse-to-fine path, whose many windows along a large hole's band would
otherwise dominate the cost. Each window's fill is then matched to the known
pixels around the hole (``boundary='harmonic'``,
:func:`~napari_mend.inpainting.boundary.match_boundary`): the network's error
on them, limited to ``boundary_max_error`` (in the normalised range) and
interpolated harmonically into the hole, is added to its fill.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..models.device import inference_autocast
from ..models.networks import get_network as get_model
from .boundary import match_boundary
from .fills import Fill, register_fill
from .unit_plane import UnitPlane, store

DEFAULT_SETTINGS = {
    "window": 512,  # largest side of one network call
    "overlap": 64,  # overlap of neighbouring windows
    "native_radius": 40.0,  # holes up to this radius (px) are filled at native resolution
    "min_margin": 24,  # context around a hole (px), at least
    "context_factor": 1.5,  # ... and this many hole radii
    "merge_distance": 16,  # components closer than this are filled together
    "min_size": 64,  # smaller inputs are padded up to this (the net needs >= 40)
    "percentiles": [0.5, 99.5],  # robust range of the known pixels
    "flip_views": 4,  # predictions averaged over this many flips (1, 2 or 4) ...
    "coarse_flip_views": 2,  # ... and over this many on the coarse-to-fine path
    "boundary": "harmonic",  # each window's fill matched to its known pixels ('none': as predicted)
    "boundary_max_error": 0.2,  # ... counting errors up to this share of the value range
}
"""Inference settings; a model card's ``inference`` entry overrides them."""

_RANGE_SAMPLES = 1_000_000


def hole_groups(mask: np.ndarray, *, merge_distance: int = 16):
    """Split a mask into groups of nearby connected components.

    Parameters
    ----------
    mask : (M, N) ndarray of bool
        Pixels to fill.
    merge_distance : int, optional
        Components closer than about this many pixels form one group.

    Returns
    -------
    groups : list of (tuple of slice, (m, n) ndarray of bool)
        For each group, the slices of its bounding box in ``mask`` and the
        group's pixels inside that box (other groups' pixels excluded).
    """
    mask = np.asarray(mask, dtype=bool)
    if merge_distance > 0:  # non-zero where a hole is near
        near = ndi.maximum_filter(mask.view(np.uint8), size=2 * (merge_distance // 2) + 1)
    else:
        near = mask
    try:  # half the memory of int32 labels when the groups fit
        labels, _ = ndi.label(near, structure=np.ones((3, 3), bool), output=np.uint16)
    except RuntimeError:  # more than 65535 groups
        labels, _ = ndi.label(near, structure=np.ones((3, 3), bool))
    del near
    groups = []
    for index, box in enumerate(ndi.find_objects(labels), start=1):
        if box is None:
            continue
        pixels = (labels[box] == index) & mask[box]
        rows = np.flatnonzero(pixels.any(axis=1))
        cols = np.flatnonzero(pixels.any(axis=0))
        if rows.size == 0:
            continue
        tight = (slice(box[0].start + rows[0], box[0].start + rows[-1] + 1),
                 slice(box[1].start + cols[0], box[1].start + cols[-1] + 1))
        groups.append((tight, pixels[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]))
    return groups


def grow_box(box, margin: int, shape) -> tuple:
    """``box`` (a pair of slices) grown by ``margin`` px on every side, clipped to ``shape``."""
    return tuple(slice(max(b.start - margin, 0), min(b.stop + margin, n))
                 for b, n in zip(box, shape))


def group_crop(box, pixels: np.ndarray, margin: int, shape):
    """A group's bounding box grown by ``margin`` (clipped to ``shape``) and its pixels there.

    Parameters
    ----------
    box : tuple of slice
        Bounding box of the group, as returned by :func:`hole_groups`.
    pixels : ndarray of bool
        The group's pixels inside ``box``.
    margin : int
        Context in pixels on each side.
    shape : tuple of int
        ``(M, N)`` of the plane.

    Returns
    -------
    crop : tuple of slice
        The grown box.
    group : ndarray of bool
        The group's pixels inside ``crop``.
    """
    crop = grow_box(box, margin, shape)
    (r0, r1), (c0, c1) = ((c.start, c.stop) for c in crop)
    group = np.zeros((r1 - r0, c1 - c0), bool)
    group[box[0].start - r0:box[0].stop - r0, box[1].start - c0:box[1].stop - c0] = pixels
    return crop, group


def check_plane(image, mask, out=None):
    """Validate a plane, its mask and an optional output array.

    ``image`` may be a :class:`~napari_mend.inpainting.unit_plane.UnitPlane`
    when ``out`` is the same object (filled in place).

    Returns
    -------
    image : (M, N, C) ndarray or UnitPlane
    mask : (M, N) ndarray of bool
    out : (M, N, C) ndarray of float32 or UnitPlane
        ``out`` holding a copy of ``image`` (a new array when ``out`` is None).
    """
    in_place = isinstance(image, UnitPlane) and out is image
    if isinstance(image, UnitPlane) and not in_place:
        image = image[...]
    image = image if in_place else np.asarray(image)
    mask = np.asarray(mask)
    if image.ndim != 3 or image.shape[-1] not in (1, 3):
        raise ValueError(f"image must be (M, N, 1) or (M, N, 3), got shape {image.shape}")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} does not match image shape {image.shape[:2]}")
    if out is None:
        out = image.astype(np.float32, copy=True)
    elif not in_place:
        if out.shape != image.shape or out.dtype != np.float32 or not isinstance(out, np.ndarray):
            raise ValueError(f"out must be float32 of shape {image.shape}, got {out.dtype} "
                             f"{out.shape}")
        if out is not image:
            out[...] = image
    return image, mask.astype(bool, copy=False), out

RADIUS_TILE = 512
"""Holes with a larger bounding box are measured tile by tile (see :func:`hole_radius`)."""
RADIUS_REACH = 64
"""Context (px) around each tile; thinner holes are measured exactly from it."""


def tiles(box, size: int):
    """Tiles (pairs of slices) of at most ``size`` px covering the region ``box``."""
    for r in range(box[0].start, box[0].stop, size):
        for c in range(box[1].start, box[1].stop, size):
            yield (slice(r, min(r + size, box[0].stop)), slice(c, min(c + size, box[1].stop)))


def hole_radius(pixels: np.ndarray) -> float:
    """Radius (px) of the largest disc inside a hole: half its thickness.

    The largest Euclidean distance from a hole pixel to the nearest pixel
    outside the hole. A long thin scratch has a large bounding box but a
    small radius: it is measured tile by tile, each tile with
    ``RADIUS_REACH`` px of context, so memory follows the tile, not the box.
    Distances below the reach are exact that way; a thicker hole is measured
    over its whole box.
    """
    padded = np.pad(pixels, 1)
    m, n = padded.shape
    if max(m, n) <= RADIUS_TILE + 2 * RADIUS_REACH:
        return float(ndi.distance_transform_edt(padded).max())
    radius = 0.0
    for tile in tiles((slice(0, m), slice(0, n)), RADIUS_TILE):
        if not padded[tile].any():
            continue
        window = tuple(slice(max(t.start - RADIUS_REACH, 0), t.stop + RADIUS_REACH) for t in tile)
        depth = ndi.distance_transform_edt(padded[window])
        inside = tuple(slice(t.start - w.start, t.stop - w.start) for t, w in zip(tile, window))
        radius = max(radius, float(depth[inside].max()))
    if radius >= RADIUS_REACH:  # a window may have missed the nearest outside pixel
        return float(ndi.distance_transform_edt(padded).max())
    return radius


def robust_range(image: np.ndarray, mask: np.ndarray, *, percentiles=(0.5, 99.5)):
    """Offset and scale that map the known pixels to about ``[0, 1]``.

    Percentiles are taken on at most about a million known pixels (a regular
    subsample), so the cost does not grow with very large images.

    Returns
    -------
    lo, scale : float
        ``(image - lo) / scale`` is the normalised image; ``scale > 0``.
    """
    step = max(1, int(np.sqrt(mask.size / _RANGE_SAMPLES)))
    known = image[::step, ::step][~mask[::step, ::step]]
    if known.size == 0:
        known = image[::step, ::step].ravel()
    known = known[np.isfinite(known)]
    if known.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(known, percentiles)
    scale = float(hi - lo)
    if not scale > 1e-12 * max(abs(float(lo)), 1.0):
        scale = 1.0
    return float(lo), scale


def _to_tensor(rgb: np.ndarray, hole: np.ndarray, device):
    import torch  # deferred: torch is heavy; loaded only when a network runs

    x = np.concatenate([rgb * ~hole[..., None], hole[..., None]], axis=-1)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)).to(device)


def _predict(net, rgb: np.ndarray, hole: np.ndarray, *, min_size: int) -> np.ndarray:
    """One network call on a normalised ``(m, n, 3)`` crop; padded and cropped back."""
    import torch  # deferred: torch is heavy; loaded only when a network runs

    m, n = hole.shape
    mult = net.module.multiple

    def padding(size):
        target = max(size, min_size)
        target = -(-target // mult) * mult
        return (target - size) // 2, target - size - (target - size) // 2

    pad_m, pad_n = padding(m), padding(n)
    rgb_p = np.pad(rgb, (pad_m, pad_n, (0, 0)), mode="symmetric")
    hole_p = np.pad(hole, (pad_m, pad_n), mode="symmetric")
    with torch.inference_mode(), inference_autocast(net):
        x = _to_tensor(rgb_p, hole_p, net.device).contiguous(memory_format=torch.channels_last)
        out = net.module(x)
    out = out[0].float().cpu().numpy().transpose(1, 2, 0)
    return out[pad_m[0]:pad_m[0] + m, pad_n[0]:pad_n[0] + n]

FLIPS = ((False, False), (False, True), (True, False), (True, True))
"""(up-down, left-right) flips of the views, in the order they are added."""


def _predict_views(net, rgb: np.ndarray, hole: np.ndarray, *, min_size: int,
                   views: int) -> np.ndarray:
    """The mean of :func:`_predict` over the first ``views`` flips of the crop."""
    total = None
    for up_down, left_right in FLIPS[:views]:
        axes = tuple(a for a, flip in enumerate((up_down, left_right)) if flip)
        pred = _predict(net, np.flip(rgb, axes), np.flip(hole, axes), min_size=min_size)
        pred = np.flip(pred, axes)
        total = pred if total is None else total + pred
    return total / views


def _window_starts(size: int, window: int, step: int) -> list[int]:
    if size <= window:
        return [0]
    starts = list(range(0, size - window, step))
    return starts + [size - window]


def _ramp(size: int, overlap: int, at_start: bool, at_end: bool) -> np.ndarray:
    w = np.ones(size, np.float32)
    k = min(overlap, size // 2)
    if k > 0:
        ramp = (np.arange(k, dtype=np.float32) + 1) / (k + 1)
        if not at_start:
            w[:k] = ramp
        if not at_end:
            w[size - k:] = ramp[::-1]
    return w


def _window_fill(net, rgb: np.ndarray, hole: np.ndarray, settings: dict, views: int) -> np.ndarray:
    """One window's prediction, matched to its known pixels as ``settings['boundary']`` says."""
    pred = _predict_views(net, rgb, hole, min_size=settings["min_size"], views=views)
    if settings["boundary"] == "harmonic":
        return match_boundary(pred, rgb, hole, max_error=settings["boundary_max_error"])
    return pred


def _fill_windows(net, rgb: np.ndarray, hole: np.ndarray, settings: dict,
                  window: int, views: int) -> np.ndarray:
    """Fill ``hole`` in a normalised crop, in overlapping windows that touch the hole."""
    overlap = min(int(settings["overlap"]), window // 4)
    m, n = hole.shape
    if m <= window and n <= window:
        pred = _window_fill(net, rgb, hole, settings, views)
        return np.where(hole[..., None], pred, rgb)
    step = window - overlap
    acc = np.zeros(rgb.shape, np.float32)
    weight = np.zeros(hole.shape, np.float32)
    rows, cols = _window_starts(m, window, step), _window_starts(n, window, step)
    for r in rows:
        for c in cols:
            box = (slice(r, r + window), slice(c, c + window))
            if not hole[box].any():
                continue
            pred = _window_fill(net, rgb[box], hole[box], settings, views)
            wr = _ramp(pred.shape[0], overlap, r == 0, r + window >= m)
            wc = _ramp(pred.shape[1], overlap, c == 0, c + window >= n)
            wgt = wr[:, None] * wc[None, :]
            acc[box] += pred * wgt[..., None]
            weight[box] += wgt
    filled = acc / np.maximum(weight, 1e-12)[..., None]
    return np.where(hole[..., None], filled, rgb)


def resize_plane(array: np.ndarray, shape, *, mode: str) -> np.ndarray:
    """An ``(m, n, C)`` float array resized to ``shape`` (torch's ``'area'`` or ``'bilinear'``)."""
    import torch  # deferred: torch is heavy; loaded only when a network runs

    t = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)[None], dtype=np.float32))
    kwargs = {} if mode == "area" else {"align_corners": False}
    out = torch.nn.functional.interpolate(t, size=tuple(int(s) for s in shape), mode=mode, **kwargs)
    return out[0].numpy().transpose(1, 2, 0)


def shrink_known(rgb: np.ndarray, hole: np.ndarray, small) -> tuple:
    """A crop shrunk to ``small`` from its known pixels.

    Returns
    -------
    shrunk : (small[0], small[1], C) ndarray of float32
        Each coarse pixel: the mean of the known pixels it covers (0 where it covers none).
    cover : (small[0], small[1]) ndarray of float32
        The share of hole in each coarse pixel (``cover > 0``: the coarse hole).
    """
    shrunk = resize_plane(np.where(hole[..., None], 0, rgb), small, mode="area")
    cover = resize_plane(hole[..., None].astype(np.float32), small, mode="area")[..., 0]
    shrunk /= np.maximum(1 - cover, 1e-6)[..., None]
    return shrunk, cover


def _fill_group(net, rgb: np.ndarray, hole: np.ndarray, group: np.ndarray, radius: float,
                margin: int, settings: dict) -> np.ndarray:
    """Fill a normalised crop; ``group`` (within ``hole``) is the group being filled."""
    native = float(settings["native_radius"])
    scale = radius / native
    # thin holes: small windows, so that the cost follows the hole, not its bounding box
    window = int(min(settings["window"], max(128, 4 * (margin + min(radius, native)))))
    window = -(-window // 8) * 8
    if scale <= 1:
        return _fill_windows(net, rgb, hole, settings, window, settings["flip_views"])
    views = settings["coarse_flip_views"]
    m, n = hole.shape
    small = (max(1, round(m / scale)), max(1, round(n / scale)))
    rgb_s, cover = shrink_known(rgb, hole, small)
    coarse = _fill_windows(net, rgb_s, cover > 0, settings, window, views)
    coarse = resize_plane(coarse, (m, n), mode="bilinear")
    depth = ndi.distance_transform_edt(group)
    band = group & (depth <= native)
    context = np.where((group & ~band)[..., None], coarse, rgb)
    # the band needs context of about its own width: small windows along it
    band_window = -(-int(max(128, 4 * (settings["min_margin"] + native))) // 8) * 8
    return _fill_windows(net, context, band | (hole & ~group), settings,
                         min(window, band_window), views)


def inference_settings(card) -> dict:
    """The inference settings an inpainter card gives: :data:`DEFAULT_SETTINGS` and its overrides.

    Raises
    ------
    ValueError
        If the card's ``inference`` entry sets ``flip_views`` or
        ``coarse_flip_views`` to other than 1, 2 or 4, ``boundary`` to
        other than ``'harmonic'`` or ``'none'``, or ``boundary_max_error``
        to other than a positive number or ``None``.
    """
    settings = {**DEFAULT_SETTINGS, **card.get("inference", {})}
    for key in ("flip_views", "coarse_flip_views"):
        if settings[key] not in (1, 2, 4):
            raise ValueError(f"flip views must be 1, 2 or 4, not {settings[key]!r}; fix "
                             f"'{key}' in the model card's 'inference' settings")
    if settings["boundary"] not in ("harmonic", "none"):
        raise ValueError(f"boundary must be 'harmonic' or 'none', not {settings['boundary']!r}; "
                         "fix 'boundary' in the model card's 'inference' settings")
    limit = settings["boundary_max_error"]
    if limit is not None and not (isinstance(limit, (int, float)) and limit > 0):
        raise ValueError(f"boundary_max_error must be a positive number or null, not {limit!r}; "
                         "fix it in the model card's 'inference' settings")
    return settings


def fill_learned(image: np.ndarray, mask: np.ndarray, *, model: str = "inpainter",
                 progress=None, out=None) -> np.ndarray:
    """Fill ``mask`` with the learned inpainting model.

    Parameters
    ----------
    image : (M, N, C) ndarray of float32
        One plane, ``C`` = 1 (gray) or 3 (RGB), any value range.
    mask : (M, N) ndarray of bool
        Pixels to fill.
    model : str, optional
        Name of an inpainter model in the registry (or a path to its files).
    progress : callable, optional
        Called as ``progress(done, total)`` after each group of holes.
    out : (M, N, C) ndarray of float32 or UnitPlane, optional
        Where to write the result; may be ``image`` itself (which is then
        filled in place, saving a copy of the plane), also as a
        :class:`~napari_mend.inpainting.unit_plane.UnitPlane` (no float32
        copy of the plane at all).

    Returns
    -------
    filled : (M, N, C) ndarray of float32 or UnitPlane
        ``out``, or a new array; pixels outside ``mask`` equal the input's
        exactly.
    """
    image, mask, out = check_plane(image, mask, out)
    if not mask.any():
        return out
    net = get_model(model)
    settings = inference_settings(net.card)
    lo, scale = robust_range(out, mask, percentiles=settings["percentiles"])
    remaining = mask.copy()
    groups = hole_groups(mask, merge_distance=int(settings["merge_distance"]))
    for done, (box, pixels) in enumerate(groups, start=1):
        radius = hole_radius(pixels)
        margin = int(max(settings["min_margin"], settings["context_factor"] * radius))
        crop, group = group_crop(box, pixels, margin, mask.shape)
        rgb = (out[crop] - lo) / scale
        if rgb.shape[-1] == 1:
            rgb = np.repeat(rgb, 3, axis=-1)
        filled = _fill_group(net, rgb, remaining[crop], group, radius, margin, settings)
        filled = filled * scale + lo
        if out.shape[-1] == 1:
            filled = filled.mean(axis=-1, keepdims=True)
        store(out, crop, group, filled[group])
        remaining[crop] &= ~group
        if progress is not None:
            progress(done, len(groups))
    return out

register_fill(Fill("learned", fill_learned, uses_model=True,
                   summary="the inpainting network, for every hole"))

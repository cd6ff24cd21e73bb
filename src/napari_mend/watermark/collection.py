"""Watermark removal from a collection of images sharing one mark (Dekel et al., CVPR 2017).

Every image of the collection is ``J_k = a * W + (1 - a) * I_k`` with the
same opacity ``a`` and matte ``a * W``. Natural images have sparse
gradients, so the mark's edges stand out of the median over the collection
of the images' gradients, which also locates the mark when no mask is given;
marks that move by a few pixels between images are aligned first (integer
shifts maximising the signed correlation of the gradients; the shifts are
kept only where they leave less of the mark in the recovered images than no
shifts, since content can pull the correlation off marks that do not move). Integrating the
median gradients (a Poisson equation, solved with a DCT) gives the mark over
the median content, ``a (W - I^)``, and so the median content ``I^`` under
the mark. A rough opacity from the images' spread fixes the mark's colour,
and ``J^ - I^ = a (W - I^)`` the opacity per pixel
(:func:`.single.per_pixel_mark`). That closed-form estimate is refined by
joint matting over all the images (:mod:`.joint_matting`): the opacity and
matte under which no recovered image keeps a trace of the mark. Each image
is then inverted; pixels too opaque to invert are inpainted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.fft import dctn, idctn, irfft2, rfft2

from .joint_matting import MIN_JOINT_IMAGES, content_energy, joint_matting
from .matting import (
    MAX_INVERTIBLE_ALPHA,
    background_fill,
    fill_opaque,
    invert,
    unit_range,
)
from .single import per_pixel_mark

MIN_IMAGES_FOR_COLOUR = 4
"""From this many images on, the mark's colour comes from the images' deviations."""

MIN_MARK_STEP = 0.02
"""Smallest median gradient (in units of the collection's range) taken as a mark's edge."""

MIN_ALPHA = 0.01
"""Pixels of the support with a lower estimated opacity are left as they are."""

MIN_AGREEMENT = 0.8
"""Share of a collection's images that must show the same edge for it to be the mark's."""

MIN_LOCATE_IMAGES = 4
"""Fewer images cannot tell a shared mark from coincidences: a mask is then required."""

MIN_MARK_PIXELS = 20
"""Connected parts of the median-gradient map smaller than this are not a mark."""


class NoCommonMark(ValueError):
    """The images of a collection share no visible mark."""


def gradients(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward differences ``(gy, gx)`` of ``(..., M, N, C)`` images (0 on the last row/column)."""
    gy = np.zeros_like(images)
    gx = np.zeros_like(images)
    gy[..., :-1, :, :] = images[..., 1:, :, :] - images[..., :-1, :, :]
    gx[..., :, :-1, :] = images[..., :, 1:, :] - images[..., :, :-1, :]
    return gy, gx


def poisson_integrate(gy: np.ndarray, gx: np.ndarray) -> np.ndarray:
    """Least-squares image ``(M, N, C)`` whose forward differences are ``(gy, gx)`` (mean 0)."""
    div = gy.copy()
    div[1:] -= gy[:-1]
    div += gx
    div[:, 1:] -= gx[:, :-1]
    m, n = div.shape[:2]
    ky = 2 * np.cos(np.pi * np.arange(m) / m) - 2
    kx = 2 * np.cos(np.pi * np.arange(n) / n) - 2
    denom = ky[:, None] + kx[None, :]
    denom[0, 0] = 1.0
    spec = dctn(div, type=2, axes=(0, 1), norm="ortho") / denom[..., None]
    spec[0, 0] = 0
    return idctn(spec, type=2, axes=(0, 1), norm="ortho").astype(np.float32)


def _median_gradients(images: np.ndarray):
    gy, gx = gradients(images)
    return np.median(gy, axis=0), np.median(gx, axis=0)


def _agreement(images: np.ndarray) -> np.ndarray:
    """Per pixel, the share of images whose gradient repeats the median gradient.

    An image agrees in a direction when its gradient has the median's sign
    and at least half its size. On a mark's edges nearly every image agrees
    (each has the same step there); on content edges few do.
    """
    gy, gx = gradients(images)
    agree = np.zeros(images.shape[1:3])
    for g in (gy, gx):
        med = np.median(g, axis=0)
        size = np.abs(med).sum(-1)
        same = (g * np.sign(med)).sum(-1) >= 0.5 * size
        agree = np.maximum(agree, np.where(size > MIN_MARK_STEP, same.mean(axis=0), 0))
    return agree


def _components(strong: np.ndarray) -> np.ndarray:
    """``strong`` closed, without connected parts smaller than ``MIN_MARK_PIXELS``."""
    strong = ndi.binary_closing(strong, iterations=2)
    labels, n = ndi.label(strong)
    if n:
        sizes = ndi.sum(strong, labels, index=np.arange(1, n + 1))
        strong = np.isin(labels, 1 + np.flatnonzero(sizes >= MIN_MARK_PIXELS))
    return strong


def _edges(images: np.ndarray) -> np.ndarray:
    """The mark's edges: where most images have the same step."""
    return _components(_agreement(images) >= MIN_AGREEMENT)


def _loose_edges(images: np.ndarray, radius: int) -> np.ndarray:
    """Edges most images have within ``radius`` px of one another (marks that move)."""
    gy, gx = gradients(images)
    strong = (np.abs(gy) + np.abs(gx)).sum(-1) > 2 * MIN_MARK_STEP
    near = ndi.maximum_filter(strong, size=(1, 2 * radius + 1, 2 * radius + 1))
    return _components(near.mean(axis=0) >= MIN_AGREEMENT)


def _relative_mark(gy, gx, region):
    """The mark over the median content, ``a (W - I^)``, integrated in ``region`` (0 outside)."""
    relative = poisson_integrate(gy * region[..., None], gx * region[..., None])
    ring = ndi.binary_dilation(region, iterations=3) & ~region
    if ring.any():
        relative -= np.median(relative[ring], axis=0)
    relative[~region] = 0
    return relative


def _support(edges: np.ndarray, gy, gx) -> np.ndarray:
    """The mark's pixels: inside its edges' neighbourhood, where the integrated mark shows."""
    coarse = ndi.binary_fill_holes(ndi.binary_dilation(edges, iterations=3))
    level = np.abs(_relative_mark(gy, gx, coarse)).sum(-1)
    shows = level > max(MIN_MARK_STEP, 0.35 * np.percentile(level[coarse], 95))
    return ndi.binary_dilation((shows & coarse) | edges, iterations=2)


def _shift(image: np.ndarray, dy: int, dx: int, pad: int) -> np.ndarray:
    """``out[y, x] = image[y + dy, x + dx]`` with reflected borders."""
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    m, n = image.shape[:2]
    return padded[pad + dy:pad + dy + m, pad + dx:pad + dx + n]


def best_shift(gy, gx, ty, tx, region: np.ndarray, radius: int):
    """Integer shift ``(dy, dx)`` that best lines an image's gradients up with a template's.

    The score is the signed correlation of the gradients over ``region``: a
    mark's edges have the same sign in every image, content edges do not.
    All shifts up to ``radius`` are scored at once by FFT cross-correlation.
    """
    if not region.any():
        return 0, 0
    shape = (gy.shape[0] + radius, gy.shape[1] + radius)
    weight = region[..., None]
    spec = np.zeros((shape[0], shape[1] // 2 + 1), complex)
    for g, t in ((gy, ty), (gx, tx)):
        spec += (rfft2(g, s=shape, axes=(0, 1))
                 * np.conj(rfft2(t * weight, s=shape, axes=(0, 1)))).sum(-1)
    corr = irfft2(spec, s=shape)
    offsets = np.arange(-radius, radius + 1)
    scores = corr[np.ix_(offsets % shape[0], offsets % shape[1])]
    dy, dx = np.unravel_index(np.argmax(scores), scores.shape)
    return int(offsets[dy]), int(offsets[dx])


def _align(images: np.ndarray, region: np.ndarray, radius: int) -> list:
    """Per image, the shift that lines its mark up with the others' (see :func:`_shift`).

    Every image is first aligned to the first one, then twice to the median
    gradients of the aligned collection.
    """
    gy, gx = gradients(images)
    ty, tx = gy[0], gx[0]
    shifts = [(0, 0)] * len(images)
    for _ in range(3):
        shifts = [best_shift(gy[i], gx[i], ty, tx, region, radius) for i in range(len(images))]
        moved = [(_shift(gy[i], *shifts[i], radius), _shift(gx[i], *shifts[i], radius))
                 for i in range(len(images))]
        ty = np.median([m[0] for m in moved], axis=0)
        tx = np.median([m[1] for m in moved], axis=0)
    return shifts


def _deviation_opacity(images: np.ndarray, support: np.ndarray) -> np.ndarray:
    """A rough opacity from how much the images differ from one another.

    ``J_k - J^ = (1 - a)(I_k - I^)``: under the mark the images' spread is
    that of the content shrunk by ``1 - a``. The content's spread varies
    slowly over the frame, so it is interpolated into the mark from around it.
    """
    spread = ((images - np.median(images, axis=0)) ** 2).sum(axis=(0, -1))
    spread = np.maximum(ndi.uniform_filter(spread, 3), 0)  # (the filter's rounding)
    content = background_fill(spread[..., None].astype(np.float32),
                              ndi.binary_dilation(support, iterations=1))[..., 0]
    ratio = np.sqrt(spread / np.maximum(content, 1e-9))
    return np.where(content > 1e-6, 1 - np.clip(ratio, 0, 1), 0).astype(np.float32)


def _no_mark_message(k: int) -> str:
    return (f"no watermark common to the {k} images was found (their gradients share no mark); "
            "nothing was changed. Pass mask= to say where the mark is, or remove it image by "
            "image")


def estimate_collection(images: np.ndarray, *, mask=None, max_shift: int = 4):
    """Matte, opacity, support and per-image shifts of a mark shared by ``images``.

    Parameters
    ----------
    images : (K, M, N, C) float ndarray
        The collection, values about in ``[0, 1]``.
    mask : (M, N) bool ndarray, optional
        Where the mark is (in the first image's frame); default: found from
        the median gradients.
    max_shift : int, optional
        Largest shift (px) of the mark between images that is searched.

    Returns
    -------
    matte : (M, N, C) float32 ndarray
        ``Wm = a * W``, 0 outside ``support``.
    alpha : (M, N) float32 ndarray
        Opacity, 0 outside ``support``.
    support : (M, N) bool ndarray
        Pixels the mark covers (in the aligned frame).
    shifts : list of (int, int)
        Per image, the shift ``(dy, dx)`` such that ``J_k[y + dy, x + dx]``
        is aligned to the mark at ``(y, x)`` of the first image (up to
        ``2 * max_shift`` px: marks may move both ways).

    Raises
    ------
    NoCommonMark
        When no mark stands out of the collection's median gradients.
    ValueError
        ``mask`` is None and there are fewer than ``MIN_LOCATE_IMAGES`` images.
    """
    k = images.shape[0]
    gy, gx = _median_gradients(images)
    if mask is None:
        if k < MIN_LOCATE_IMAGES:
            raise ValueError(
                f"{k} images are too few to tell their common watermark from coincidences; "
                f"pass mask= (where the mark is) or give at least {MIN_LOCATE_IMAGES} images"
            )
        edges = _edges(images)
        loose = edges.sum() < MIN_MARK_PIXELS and max_shift > 0
        if loose:
            edges = _loose_edges(images, max_shift)
        if edges.sum() < MIN_MARK_PIXELS:
            raise NoCommonMark(_no_mark_message(k))
        support = _support(edges, gy, gx)
    else:
        support, loose = ndi.binary_dilation(mask, iterations=2), False
        if not support.any():
            raise NoCommonMark("the mask is empty: there is no watermark to remove")
    shifts, original = [(0, 0)] * k, images
    if max_shift > 0:
        # relative to the first image, marks can be twice as far apart
        reach = 2 * max_shift
        region = ndi.binary_dilation(support, iterations=reach + 2)
        shifts = _align(images, region, reach)
        images = np.stack([_shift(images[i], *shifts[i], reach) for i in range(k)])
        gy, gx = _median_gradients(images)
        if mask is None:
            edges = _edges(images)
            if edges.sum() >= MIN_MARK_PIXELS:
                support, loose = _support(edges, gy, gx), False
        if mask is None and loose:  # no edges agree even after alignment
            raise NoCommonMark(_no_mark_message(k))
    alpha, matte = _matting(images, support, gy, gx)
    if any(s != (0, 0) for s in shifts) and k >= MIN_JOINT_IMAGES:
        # marks that do not move can be misaligned by content: keep the better of the two
        still = _matting(original, support, *_median_gradients(original))
        if (content_energy(original, *still, support).sum()
                < content_energy(images, alpha, matte, support).sum()):
            shifts, (alpha, matte) = [(0, 0)] * k, still
    return matte, alpha, support, shifts


def _matting(images, support, gy, gx):
    """Opacity and matte of the mark in ``support`` of aligned images (closed form, then joint)."""
    # The median gradients integrate to the mark over the median content I^:
    # M = a (W - I^); the median image is J^ = a W + (1 - a) I^ = I^ + M.
    j_med = np.median(images, axis=0)
    i_med = j_med - _relative_mark(gy, gx, support)
    hint = _deviation_opacity(images, support) if len(images) >= MIN_IMAGES_FOR_COLOUR else None
    alpha, matte = per_pixel_mark(j_med, support, i_med, opacity_hint=hint)
    return joint_matting(images, alpha, matte, support)


@dataclass
class CollectionMark:
    """A collection's shared mark, estimated once, to remove from any image carrying it.

    From :func:`estimate_collection_mark`; :meth:`remove` takes one image at a
    time, so a collection of any size can be cleaned with the mark estimated
    on a sample of it.

    Attributes
    ----------
    matte, alpha, support
        As returned by :func:`estimate_collection` (unit range).
    lo, scale : float
        The collection's value range: ``(plane - lo) / scale`` is unit range.
    template : (gy, gx) of (M, N, C) ndarrays or None
        Median gradients of the aligned sample, which new images are aligned
        to (None when marks do not move, ``max_shift == 0``).
    max_shift : int
        Largest shift (px) of the mark between images.
    dtype : numpy.dtype or None
        The images' dtype, when known (set by
        :func:`napari_mend.watermark.api.collection_watermark`).
    """

    matte: np.ndarray
    alpha: np.ndarray
    support: np.ndarray
    lo: float
    scale: float
    template: tuple | None
    max_shift: int
    dtype: np.dtype | None = None

    def shift_of(self, unit: np.ndarray) -> tuple[int, int]:
        """Shift ``(dy, dx)`` that lines a unit-range ``(M, N, C)`` plane's mark up with this one."""
        if self.template is None:
            return 0, 0
        reach = 2 * self.max_shift
        gy, gx = gradients(unit[None])
        region = ndi.binary_dilation(self.support, iterations=reach + 2)
        return best_shift(gy[0], gx[0], *self.template, region, reach)

    def remove(self, plane: np.ndarray, *, shift=None, fill: str = "auto"):
        """The mark removed from one ``(M, N, C)`` float plane of the collection's range.

        Parameters
        ----------
        plane : (M, N, C) float32 ndarray
        shift : (int, int), optional
            The mark's shift in this plane (default: found, see :meth:`shift_of`).
        fill : str, optional
            Inpainting method for pixels too opaque to invert.

        Returns
        -------
        clean : (M, N, C) float32 ndarray
            New array.
        changed : (M, N) bool ndarray
        """
        unit = (plane - self.lo) / self.scale
        dy, dx = self.shift_of(unit) if shift is None else shift
        aligned = _shift(unit, dy, dx, 2 * self.max_shift) if self.max_shift > 0 else unit
        rec = invert(aligned, self.alpha, self.matte)
        rec = np.clip(rec, min(unit.min(), 0.0), max(unit.max(), 1.0))
        rec = fill_opaque(rec, self.support & (self.alpha > MAX_INVERTIBLE_ALPHA), fill)
        # back to the image's own frame: its pixel (y, x) is aligned pixel (y - dy, x - dx)
        m, n = self.support.shape
        where = np.zeros((m, n), bool)
        src = np.zeros((m, n), bool)
        ys, xs = np.nonzero(self.support & (self.alpha > MIN_ALPHA))
        ty, tx = ys + dy, xs + dx
        inside = (ty >= 0) & (ty < m) & (tx >= 0) & (tx < n)
        where[ty[inside], tx[inside]] = True
        src[ys[inside], xs[inside]] = True
        clean = plane.astype(np.float32, copy=True)
        clean[where] = rec[src] * self.scale + self.lo
        return clean, where


def estimate_collection_mark(planes: np.ndarray, *, mask=None, max_shift: int = 4):
    """Estimate the mark shared by ``planes`` (see :func:`estimate_collection`).

    Parameters
    ----------
    planes : (K, M, N, C) float32 ndarray
        The collection (or a sample of it), any value range.
    mask : (M, N) bool ndarray, optional
        Where the mark is; default found from the collection.
    max_shift : int, optional
        Largest shift (px) of the mark between images.

    Returns
    -------
    mark : CollectionMark
    shifts : list of (int, int)
        The mark's shift in each of ``planes``.
    """
    lo, scale = unit_range(planes)
    unit = (planes - lo) / scale
    matte, alpha, support, shifts = estimate_collection(unit, mask=mask, max_shift=max_shift)
    template = None
    if max_shift > 0:
        aligned = np.stack([_shift(u, dy, dx, 2 * max_shift) for u, (dy, dx) in zip(unit, shifts)])
        template = _median_gradients(aligned)
    return CollectionMark(matte, alpha, support, lo, scale, template, max_shift), shifts


def remove_collection(planes: np.ndarray, *, mask=None, max_shift: int = 4, fill: str = "auto",
                      progress=None):
    """Remove a mark shared by a collection of planes.

    Parameters
    ----------
    planes : (K, M, N, C) float32 ndarray
        The collection, any value range (one range for all planes).
    mask : (M, N) bool ndarray, optional
        Where the mark is; default found from the collection.
    max_shift : int, optional
        Largest shift (px) of the mark between images.
    fill : str, optional
        Inpainting method for pixels too opaque to invert.
    progress : callable, optional
        ``progress(done, total)`` per plane.

    Returns
    -------
    clean : (K, M, N, C) float32 ndarray
        New array.
    changed : (K, M, N) bool ndarray
        The pixels that were changed.
    """
    mark, shifts = estimate_collection_mark(planes, mask=mask, max_shift=max_shift)
    out = np.empty(planes.shape, np.float32)
    changed = np.zeros(planes.shape[:3], bool)
    for i, shift in enumerate(shifts):
        out[i], changed[i] = mark.remove(planes[i], shift=shift, fill=fill)
        if progress is not None:
            progress(i + 1, len(shifts))
    return out, changed

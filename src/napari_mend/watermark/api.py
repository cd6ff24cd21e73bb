"""Public watermark removal: one image, a collection sharing one mark, or a mark estimated
once and removed image by image.

Under a semi-transparent watermark the real content is still there, so it is
recovered rather than invented: the mark is inverted with its estimated colour
and opacity; only pixels too opaque to invert are inpainted.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .._validation import check_mask, from_unit_float, plane_view
from ..classes import CLASS_IDS
from ..detection.api import detect
from ..io.provenance import make_provenance
from ..progress import report, scaled
from .collection import estimate_collection_mark, remove_collection
from .copies import find_copies as _find_copies
from .copies import remove_copies
from .hint import mark_in_hint
from .repeats import REPEAT_SHARE, remove_repeated
from .single import remove_single

WATERMARK_METHODS = ("auto", "single", "collection")
MIN_COLLECTION = 4
"""``remove_watermark(method='auto')`` treats this many planes or more as a collection."""


def _stack(images):
    """``images`` as one array; a list of differently sized images is refused clearly."""
    if isinstance(images, (list, tuple)):
        shapes = {np.shape(im) for im in images}
        if len(shapes) > 1:
            listed = ", ".join(str(s) for s in sorted(shapes))
            raise ValueError(
                f"the images differ in size ({listed}); a collection must share one size so "
                "its watermark lines up: crop or pad them to a common size first, or remove "
                "the watermark image by image"
            )
        if not images:
            raise ValueError("no images given")
        return np.stack([np.asarray(im) for im in images])
    return np.asarray(images)


def resolved_method(method: str, n_planes: int) -> str:
    """The way ``remove_watermark`` treats ``n_planes`` planes: ``'auto'`` is
    ``'collection'`` from :data:`MIN_COLLECTION` planes on, else ``'single'``."""
    if method == "auto":
        return "collection" if n_planes >= MIN_COLLECTION else "single"
    return method


def watermark_mask(labels) -> np.ndarray:
    """The mark's pixels in a Labels array: its watermark class where it has one (a defects
    layer or file, checked and corrected), else every non-zero label (a painted mark)."""
    labels = np.asarray(labels)
    marked = labels == CLASS_IDS["watermark"]
    return marked if marked.any() else labels != 0


def _detected_watermark(image, channel_axis, detector, threshold, progress):
    labels = detect(image, channel_axis=channel_axis, method=detector, threshold=threshold,
                    classes=["watermark"], progress=progress)
    return labels != 0


def remove_watermark(images, *, mask=None, channel_axis=None, method="auto", fill="auto",
                     max_shift=4, detector="learned", threshold=0.5, find_copies=False,
                     progress=None, return_mask=False, return_provenance=False):
    """Remove a semi-transparent watermark from one image or a collection sharing it.

    A watermarked pixel is ``J = a * W + (1 - a) * I`` (opacity ``a``, mark
    colour ``W``, content ``I``). The mark's colour and opacity are estimated
    and the content recovered by inverting that relation; pixels whose
    opacity is too high to invert (above 0.85) are inpainted.

    Parameters
    ----------
    images : (M, N[, C]) or (P, M, N[, C]) ndarray, or list of arrays
        One image, or a collection of images of one size sharing one mark (a
        product catalogue, an archive, a microscope's burned-in overlay).
        Leading axes beyond the plane all count as the collection.
    mask : ndarray, optional
        Where the mark is: bool or Labels (non-zero = mark), of one plane's
        shape ``(M, N)`` or of the images' spatial shape. Default: the learned
        detector's watermark class for single images (which on average lowers
        a single image's PSNR: it misses most of a mark and inverts content it
        takes for one, see ``docs/watermark_moire.md``; the dock and the
        command line ask for the mark instead); for a collection, the
        mark is found from the images themselves (their median gradients).
    channel_axis : int or None, optional
        Colour axis; ``None`` means gray.
    method : {'auto', 'single', 'collection'}, optional
        ``'single'`` treats every plane on its own (a mark that repeats
        across the plane, a tiled logo or rows of words, is also estimated
        from its copies there: :mod:`napari_mend.watermark.repeats`);
        ``'collection'`` uses
        all planes together (after Dekel et al., CVPR 2017: the mark's
        gradients are the median of the images' gradients, marks that move
        by up to ``max_shift`` pixels are aligned first); ``'auto'`` picks
        ``'collection'`` from four planes on (with fewer, the collection's
        medians are no better than one image's own estimate).
    fill : str, optional
        Inpainting method for opaque pixels (see :func:`napari_mend.inpaint`).
    max_shift : int, optional
        Largest shift (px) of the mark between images of a collection.
    detector : {'learned', 'classical'}, optional
        Detector used to find the mark when ``mask`` is None (single images).
    threshold : float, optional
        Detection threshold for that detector.
    find_copies : bool, optional
        With ``mask`` on single images: the mask paints one copy of a mark
        stamped or tiled over the image (it may be a rough hint round it);
        the other copies are found (:mod:`napari_mend.watermark.copies`:
        where the image's gradients match the painted copy's), the mark is
        estimated from all copies together and removed at every one. A plane
        where no copy is found is treated as without this option. The
        provenance lists the copies found (``copies``).
    progress : callable, optional
        ``progress(done, total)``; may raise :class:`napari_mend.Cancelled`.
    return_mask : bool, optional
        Also return the pixels that were changed.
    return_provenance : bool, optional
        Also return the provenance record (operation ``'remove_watermark'``:
        the method used, the options, the input's digest and the changed
        pixels).

    Returns
    -------
    clean : ndarray
        Same shape and dtype as the input (float16 gives float32); pixels
        outside the mark are bit-identical to the input's.
    changed : bool ndarray, optional
        The changed pixels, of the input's spatial shape (``return_mask``).
    provenance : dict, optional
        With ``return_provenance``.

    Raises
    ------
    ValueError
        Images of different sizes, a bad mask, a collection with no common
        mark (nothing is changed then), or ``find_copies`` without a mask or
        with a collection.
    """
    if method not in WATERMARK_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(WATERMARK_METHODS)}")
    if find_copies and mask is None:
        raise ValueError("find_copies=True needs mask=: paint one copy of the mark (a rough "
                         "hint round it will do) and the others are found from it")
    image = _stack(images)
    view = plane_view(image, channel_axis=channel_axis, name="images")
    method = resolved_method(method, view.n_planes)
    if find_copies and method == "collection":
        raise ValueError("find_copies=True finds a mark's copies within one image; a collection "
                         "already holds the mark in every image: pass method='single' to treat "
                         "the images one by one, or leave find_copies off")
    if method == "collection" and view.n_planes < 2:
        raise ValueError("method='collection' needs at least two images sharing the mark")
    n = view.n_color
    out = view.planes.astype(view.out_dtype, copy=True)
    changed = np.zeros((view.n_planes,) + view.planes.shape[1:3], bool)
    if method == "collection":
        shared = None if mask is None else np.any(check_mask(mask, view), axis=0)
        planes = np.stack([view.plane(i) for i in range(view.n_planes)])
        clean, changed = remove_collection(planes, mask=shared, max_shift=max_shift, fill=fill,
                                           progress=progress)
        for i in range(view.n_planes):
            out[i, ..., :n][changed[i]] = from_unit_float(clean[i][changed[i]], view.out_dtype)
    else:
        if mask is None:
            marks = _detected_watermark(image, channel_axis, detector, threshold,
                                        scaled(progress, 0, 2))
            marks = check_mask(marks, view)
            progress = scaled(progress, 1, 2)
        else:
            marks = check_mask(mask, view)
        repeated = []  # planes whose mark repeats across them
        copies = []  # with find_copies: the copies found of each plane's painted mark
        for i in range(view.n_planes):
            report(progress, i, view.n_planes)
            m = np.array(marks[i])
            if not m.any():
                continue
            if mask is not None:  # a given mask may be a rough hint: the mark is found inside it
                m = mark_in_hint(view.plane(i), m)
            found = _find_copies(view.plane(i), m) if find_copies else []
            if found:  # one painted copy of a stamped or tiled mark: the others tell the mark
                clean, m = remove_copies(view.plane(i), m, found, fill=fill)
                copies += [{"plane": i, "shift": list(shift), "score": score}
                           for shift, score in found]
            else:
                clean, _ = remove_single(view.plane(i), m, fill=fill)
                again = remove_repeated(view.plane(i), m, fill=fill)
                if again is not None:  # a tiled mark: its copies tell what lies under each
                    clean = REPEAT_SHARE * again + (1 - REPEAT_SHARE) * clean
                    repeated.append(i)
            out[i, ..., :n][m] = from_unit_float(clean[m], view.out_dtype)
            changed[i] = m
        report(progress, view.n_planes, view.n_planes)
    result = view.assemble(out)
    changed = changed.reshape(view.spatial_shape)
    results = [result] + ([changed] if return_mask else [])
    if return_provenance:
        found_by = {"mask": "given"} if mask is not None else (
            {"mask": "from the images"} if method == "collection"
            else {"mask": "detected", "detector": detector, "threshold": threshold})
        if method == "single":
            found_by["repeated_mark_planes"] = repeated
            found_by["find_copies"] = find_copies
            if find_copies:
                found_by["copies"] = copies
        results.append(make_provenance(
            operation="remove_watermark", method=method,
            parameters={"fill": fill, "max_shift": max_shift, "channel_axis": channel_axis,
                        **found_by}, image=image, mask=changed))
    return tuple(results) if len(results) > 1 else result


def collection_watermark(images, *, mask=None, channel_axis=None, max_shift=4):
    """Estimate the watermark a collection shares, to remove it image by image.

    For collections too large to hold at once: estimate the mark on a sample
    (16 images already recover it well, see ``docs/watermark_moire.md``),
    then pass every image to :func:`remove_collection_watermark`.

    Parameters
    ----------
    images : (P, M, N[, C]) ndarray or list of arrays
        The collection or a sample of it: at least two images of one size and
        dtype (four to find the mark without ``mask``).
    mask, channel_axis, max_shift
        As for :func:`remove_watermark`.

    Returns
    -------
    mark : napari_mend.watermark.CollectionMark
        Also holds the dtype and plane shape the images must have.

    Raises
    ------
    ValueError
        Fewer than two images, or a collection with no common mark.
    """
    view = plane_view(_stack(images), channel_axis=channel_axis, name="images")
    if view.n_planes < 2:
        raise ValueError("a collection's watermark needs at least two images sharing the mark")
    shared = None if mask is None else np.any(check_mask(mask, view), axis=0)
    planes = np.stack([view.plane(i) for i in range(view.n_planes)])
    mark, _ = estimate_collection_mark(planes, mask=shared, max_shift=max_shift)
    return replace(mark, dtype=view.planes.dtype)


def remove_collection_watermark(image, mark, *, channel_axis=None, fill="auto",
                                return_mask=False):
    """Remove a collection's watermark (from :func:`collection_watermark`) from one image.

    The mark is aligned to the image first (it may have moved by up to the
    mark's ``max_shift`` px in either direction), then inverted; opaque
    pixels are inpainted with ``fill``.

    Parameters
    ----------
    image : (M, N[, C]) ndarray
        One image of the collection (or a stack of them), of the sample's
        plane shape and dtype.
    mark : napari_mend.watermark.CollectionMark
    channel_axis : int or None, optional
        Colour axis; ``None`` means gray.
    fill : str, optional
        Inpainting method for opaque pixels.
    return_mask : bool, optional
        Also return the changed pixels.

    Returns
    -------
    clean : ndarray
        Same shape and dtype as ``image``; pixels outside the mark are
        bit-identical to the input's.
    changed : bool ndarray, optional
        The image's spatial shape (``return_mask``).
    """
    view = plane_view(image, channel_axis=channel_axis)
    plane_shape = view.planes.shape[1:3]
    if plane_shape != mark.support.shape or view.planes.dtype != mark.dtype:
        raise ValueError(
            f"the image ({plane_shape[0]} x {plane_shape[1]}, {view.planes.dtype}) does not match "
            f"the collection the mark was estimated on ({mark.support.shape[0]} x "
            f"{mark.support.shape[1]}, {mark.dtype}): convert or crop it to match first")
    n = view.n_color
    out = view.planes.astype(view.out_dtype, copy=True)
    changed = np.zeros((view.n_planes,) + plane_shape, bool)
    for i in range(view.n_planes):
        clean, changed[i] = mark.remove(view.plane(i), fill=fill)
        out[i, ..., :n][changed[i]] = from_unit_float(clean[changed[i]], view.out_dtype)
    result = view.assemble(out)
    if return_mask:
        return result, changed.reshape(view.spatial_shape)
    return result

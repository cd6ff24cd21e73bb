"""Damaged samples and the labelled validation set.

Labelling rule
--------------
A pixel gets a defect's class id when the defect changed it visibly (by more
than 1/255 in some channel) and lies inside the defect's footprint.  Defects
are applied in order, so where several overlap the later one wins; a pixel
whose final value is back within 1/255 of the clean value is unlabelled.
Moire is the exception: it is a property of a region, so its label is the
whole affected rectangle (provided at least a fifth of it visibly changed).
"""

from typing import NamedTuple

import numpy as np

from .annotations import add_text
from .blotches import add_blotches
from .classes import CLASSES
from .clean_scenes import clean_image
from .compositing import visible_change
from .dust import add_dust
from .halftone_moire import add_moire
from .scratches import add_scratches
from .watermarks import add_watermark, blend_layers, watermark_layers

DEFECTS = {
    1: add_scratches,
    2: add_dust,
    3: add_blotches,
    4: add_text,
    5: add_watermark,
    6: add_moire,
}
"""dict of int to callable: class id -> ``f(image, rng, style=None) -> (damaged, footprint)``."""

MOIRE = 6
WATERMARK_COLLECTION = 100
"""Stream of :func:`watermarked_collection` in the seed sequence (not a class id)."""
STYLE = 101
"""Stream of a collection's shared look (``style=`` of :func:`damaged_sample`)."""
_MIN_PIXELS = 8
_MIN_MOIRE_FRACTION = 0.2
_ATTEMPTS = 6


class Sample(NamedTuple):
    """One validation sample; ``sample[:3]`` is the ``(clean, damaged, labels)`` triple."""

    clean: np.ndarray
    """float32 (H, W) or (H, W, 3) in [0, 1]."""
    damaged: np.ndarray
    """float32, same shape as ``clean``."""
    labels: np.ndarray
    """uint8 (H, W): class id of each damaged pixel, 0 elsewhere."""
    cls: int
    """The class id this sample was made for."""


def _apply(image, cls, rng, fonts_used, style):
    func = DEFECTS[cls]
    kwargs = {"fonts_used": fonts_used} if cls in (4, 5) else {}
    best = None
    for _ in range(_ATTEMPTS):
        # Every attempt starts the style's stream anew: an image redrawn for
        # want of a visible change keeps its collection's look.
        shared = None if style is None else np.random.default_rng(
            np.random.SeedSequence([int(style), STYLE, int(cls)]))
        after, footprint = func(image, rng, style=shared, **kwargs)
        changed = visible_change(image, after) & footprint
        if cls == MOIRE:
            good = changed.sum() >= _MIN_MOIRE_FRACTION * max(footprint.sum(), 1)
        else:
            good = changed.sum() >= _MIN_PIXELS
        if good:
            return after, footprint, changed
        if best is None or changed.sum() > best[2].sum():
            best = (after, footprint, changed)
    return best


def damaged_sample(clean, cls, rng, fonts_used=None, *, style=None):
    """Damage a clean image with one defect class (or several, in order).

    Parameters
    ----------
    clean : ndarray, shape (H, W) or (H, W, 3)
        Clean image with values in [0, 1]; it is not modified.
    cls : int or sequence of int
        Class id(s) from :data:`CLASSES`; with a sequence the defects are
        applied in that order and later ones win where they overlap.
    rng : numpy.random.Generator
        Source of randomness.
    fonts_used : list, optional
        If given, the paths of the fonts used for text and watermarks are
        appended to it.
    style : int, optional
        Seed of a look shared by a collection: images damaged with one
        ``style`` (and different ``rng``) have defects of one kind from one
        device, as a scanner, film stock or camera gives them: scratches of
        one polarity, direction and cross-section; dust of one polarity,
        defocus and colour; stains of one liquid; overlays of one layout, font
        and ink that say different things; one watermark at one place; one
        print screen and scanner. Where the defects lie, how many and how
        large stay ``rng``'s. Default: every look drawn from ``rng`` (the
        samples of :func:`dataset`).

    Returns
    -------
    damaged : ndarray of float32
        Same shape as ``clean``, values in [0, 1].
    labels : ndarray of uint8, shape (H, W)
        Class id of each damaged pixel, 0 where untouched.

    Notes
    -----
    If a defect leaves no visible change (a white watermark on a white
    page, say) it is redrawn, up to six times, from the same ``rng``.
    """
    clean = np.clip(np.asarray(clean, dtype=np.float32), 0, 1)
    if clean.ndim not in (2, 3) or (clean.ndim == 3 and clean.shape[2] != 3):
        raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {clean.shape}")
    classes = [int(cls)] if np.isscalar(cls) else [int(c) for c in cls]
    for c in classes:
        if c not in CLASSES:
            raise ValueError(f"unknown defect class {c}; expected one of {sorted(CLASSES)}")
    current = clean
    labels = np.zeros(clean.shape[:2], np.uint8)
    region_labelled = np.zeros(clean.shape[:2], bool)
    for c in classes:
        after, footprint, changed = _apply(current, c, rng, fonts_used, style)
        if c == MOIRE and changed.sum() >= _MIN_MOIRE_FRACTION * max(footprint.sum(), 1):
            labels[footprint] = c
            region_labelled |= footprint
            region_labelled[changed & ~footprint] = False
        else:
            labels[changed] = c
            region_labelled[changed] = False
        current = after
    unchanged = ~visible_change(clean, current)
    labels[unchanged & ~(region_labelled & (labels == MOIRE))] = 0
    return current.astype(np.float32), labels


def dataset(seed, n_per_class, size=256, classes=None):
    """Iterate over a reproducible labelled validation set.

    Sample ``i`` of class ``c`` depends only on ``(seed, c, i)``, so subsets
    and longer runs agree on the samples they share.

    Parameters
    ----------
    seed : int
        Seed of the whole set.
    n_per_class : int
        Samples per defect class.
    size : int or tuple of int
        Image side, or ``(H, W)``.
    classes : sequence of int, optional
        Class ids to include; all of :data:`CLASSES` by default.

    Yields
    ------
    Sample
        ``(clean, damaged, labels, cls)``, classes interleaved:
        sample 0 of every class, then sample 1 of every class, and so on.
    """
    classes = sorted(CLASSES) if classes is None else [int(c) for c in classes]
    for i in range(int(n_per_class)):
        for c in classes:
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), c, i]))
            clean = clean_image(rng, size)
            damaged, labels = damaged_sample(clean, c, rng)
            yield Sample(clean, damaged, labels, c)


class Collection(NamedTuple):
    """Images that share one watermark: the collection case of watermark removal."""

    clean: list
    """float32 (H, W, 3) images in [0, 1], of random scene kinds."""
    damaged: list
    """The same images with the watermark blended in."""
    labels: np.ndarray
    """bool (H, W): the pixels under the watermark (the same on every image)."""


def watermarked_collection(seed, trial, n, size=160):
    """``n`` colour images of random scenes with one watermark laid over all of them.

    The mark (a logo, a tiled text mark, or both: :mod:`.watermarks`) is drawn once
    and blended at the same place into every image, as a photo agency or an
    archive stamps a collection. Collection ``trial`` depends only on
    ``(seed, trial)``.

    Parameters
    ----------
    seed : int
        Seed of the set.
    trial : int
        Index of the collection.
    n : int
        Images in the collection.
    size : int or tuple of int
        Image side, or ``(H, W)``.

    Returns
    -------
    Collection
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), WATERMARK_COLLECTION,
                                                        int(trial)]))
    shape = (size, size) if np.isscalar(size) else tuple(size)
    layers = watermark_layers(rng, shape)
    clean = [clean_image(rng, shape, grey=False) for _ in range(int(n))]
    damaged, footprints = zip(*(blend_layers(image, layers) for image in clean))
    return Collection(clean, list(damaged), footprints[0])

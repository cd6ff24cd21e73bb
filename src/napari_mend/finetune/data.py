"""A curator's images prepared for fine-tuning: loading, region split and crop sampling.

Every image (or plane of a stack) is normalised to ``[0, 1]`` by its own
0.5 / 99.5 percentiles and split *by region* into a fine-tune part and a
held-out part: the last ``holdout`` share of the image along its longer side
is held out, the rest is for training. Crops are drawn only where their whole
window lies inside one part and outside the regions already marked as
defects, so the synthetic defects land on clean pixels and the held-out
pixels are never trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io.images import IMAGE_SUFFIXES, read_image

ORIGIN_STRIDE = 4  # crop corners are taken on this grid (keeps the corner lists small)


class NotEnoughImages(ValueError):
    """The given images do not hold enough clean area to fine-tune and evaluate."""


@dataclass(frozen=True)
class DomainImage:
    """One normalised image plane and where crops of each part may start.

    Attributes
    ----------
    name : str
        File name or ``'image <k>'`` (``'... plane <p>'`` for stacks).
    image : (M, N, C) float32 ndarray
        C = 1 or 3, in ``[0, 1]``.
    origins : dict
        ``'finetune'`` and ``'heldout'`` -> (K, 2) int array of crop corners.
    """

    name: str
    image: np.ndarray
    origins: dict

    @property
    def channels(self) -> int:
        return int(self.image.shape[-1])


def _expand_sources(images) -> list:
    """Paths of a folder, or the given sequence of paths and arrays."""
    if isinstance(images, (str, Path)):
        images = [images]
    items = []
    for item in images:
        if isinstance(item, (str, Path)) and Path(item).is_dir():
            files = sorted(p for p in Path(item).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise NotEnoughImages(f"{item}: holds no images ({', '.join(IMAGE_SUFFIXES)})")
            items.extend(files)
        elif isinstance(item, (str, Path)):
            if not Path(item).is_file():
                raise FileNotFoundError(f"{item}: no such image file")
            items.append(Path(item))
        else:
            items.append(np.asarray(item))
    return items


def _planes(data: np.ndarray, name: str) -> list[tuple[str, np.ndarray]]:
    """(name, (M, N, C)) planes of an array: the last axis of length 3 or 4 is colour."""
    if data.dtype.kind not in "uif" or data.ndim < 2 or data.size == 0:
        raise ValueError(f"{name}: not an image (dtype {data.dtype}, shape {data.shape})")
    colour = data.ndim >= 3 and data.shape[-1] in (3, 4)
    if colour:
        data = data[..., :3]  # alpha is not image content
    else:
        data = data[..., None]
    if data.ndim == 3:
        return [(name, data)]
    stack = data.reshape((-1,) + data.shape[-3:])
    return [(f"{name} plane {p}", plane) for p, plane in enumerate(stack)]


def normalise(plane: np.ndarray) -> np.ndarray:
    """Map a plane's 0.5 / 99.5 percentiles to 0 / 1 (clipped); float32."""
    values = np.asarray(plane, np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros(plane.shape, np.float32)
    low, high = np.percentile(finite, [0.5, 99.5])
    if not high > low:
        low, high = float(finite.min()), float(finite.max())
    scale = 1.0 / (high - low) if high > low else 0.0
    out = np.nan_to_num((values - low) * scale, nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def crop_origins(allowed: np.ndarray, size: int, *, stride: int = ORIGIN_STRIDE) -> np.ndarray:
    """Corners of the ``size`` x ``size`` windows that lie wholly inside ``allowed``.

    Parameters
    ----------
    allowed : (M, N) bool ndarray
    size : int
    stride : int, optional
        Corners are taken on this grid (and on the last row and column, so
        a part exactly one crop wide still has its crops).

    Returns
    -------
    origins : (K, 2) int64 ndarray
        Row and column of each window's top-left pixel.
    """
    m, n = allowed.shape
    if m < size or n < size:
        return np.zeros((0, 2), np.int64)
    bad = np.pad((~allowed).astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    window_sum = bad[size:, size:] - bad[:-size, size:] - bad[size:, :-size] + bad[:-size, :-size]
    inside = window_sum == 0
    rows = np.unique(np.r_[np.arange(0, inside.shape[0], stride), inside.shape[0] - 1])
    cols = np.unique(np.r_[np.arange(0, inside.shape[1], stride), inside.shape[1] - 1])
    r, c = np.nonzero(inside[np.ix_(rows, cols)])  # the grid plus the last row and column
    return np.stack([rows[r], cols[c]], axis=1).astype(np.int64)


def split_regions(shape, *, holdout: float, crop: int) -> np.ndarray:
    """Boolean map of the held-out part of an image of ``shape`` (M, N).

    The held-out part is the last ``holdout`` share of the longer side (at
    least ``crop`` pixels); the rest is the fine-tune part.
    """
    m, n = shape[:2]
    axis = 0 if m >= n else 1
    length = (m, n)[axis]
    band = max(int(round(holdout * length)), crop)
    held = np.zeros((m, n), bool)
    if axis == 0:
        held[length - band:] = True
    else:
        held[:, length - band:] = True
    return held


def prepare_images(images, *, masks=None, holdout: float = 0.25, crop: int = 128,
                   min_images: int = 1) -> list[DomainImage]:
    """Load, normalise and split a curator's images for fine-tuning.

    Parameters
    ----------
    images : path-like or sequence of path-like or ndarray
        A folder of images, image files, or arrays: ``(M, N)`` gray,
        ``(M, N, 3 or 4)`` colour (alpha dropped), or stacks of those with
        leading axes (every plane is an image). Gray and colour images may
        be mixed.
    masks : sequence of ndarray or None, optional
        One per entry of ``images`` (``None`` entries allowed): pixels
        already marked as defects (non-zero), of the image's shape without
        the colour axis. No crop touches them.
    holdout : float, optional
        Share of each image's longer side kept for evaluation.
    crop : int, optional
        Side of the training and evaluation crops.
    min_images : int, optional
        Fewest usable images (both parts hold a crop) accepted.

    Returns
    -------
    domain : list of DomainImage
        The usable images.

    Raises
    ------
    NotEnoughImages
        Fewer than ``min_images`` usable images; the message says how many
        and how large images must be.
    ValueError
        An entry is not an image, or a mask does not match its image.
    """
    if not 0.05 <= holdout <= 0.5:
        raise ValueError(f"holdout must be in [0.05, 0.5], got {holdout}")
    sources = _expand_sources(images)
    if masks is not None and len(masks) != len(sources):
        raise ValueError(f"got {len(masks)} masks for {len(sources)} images; give one per image "
                         "(None where nothing is marked)")
    domain, skipped = [], []
    for k, source in enumerate(sources):
        name = source.name if isinstance(source, Path) else f"image {k}"
        data = read_image(source, "none").data if isinstance(source, Path) else source
        planes = _planes(data, name)
        marked = None if masks is None or masks[k] is None else np.asarray(masks[k]) != 0
        if marked is not None:
            expected = planes[0][1].shape[:2]
            marked = marked.reshape((-1,) + marked.shape[-2:])
            if marked.shape[-2:] != expected or marked.shape[0] not in (1, len(planes)):
                raise ValueError(f"{name}: mask shape {np.shape(masks[k])} does not match the "
                                 f"image (planes of {expected})")
        for p, (plane_name, plane) in enumerate(planes):
            held = split_regions(plane.shape, holdout=holdout, crop=crop)
            free = (np.ones(plane.shape[:2], bool) if marked is None
                    else ~marked[min(p, len(marked) - 1)])
            origins = {"finetune": crop_origins(free & ~held, crop),
                       "heldout": crop_origins(free & held, crop)}
            if all(len(o) for o in origins.values()):
                domain.append(DomainImage(plane_name, normalise(plane), origins))
            else:
                skipped.append(f"{plane_name} {plane.shape[0]}x{plane.shape[1]}")
    if len(domain) < min_images:
        detail = (f"; too small or too covered by marked defects: {', '.join(skipped[:5])}"
                  if skipped else "")
        raise NotEnoughImages(
            f"fine-tuning needs at least {min_images} image(s) of at least {2 * crop} x {crop} px "
            f"with clean (unmarked) area in both the fine-tune and the held-out part; "
            f"got {len(domain)} usable of {len(domain) + len(skipped)}{detail}")
    return domain


def draw_crop(domain: list[DomainImage], part: str, crop: int, rng) -> np.ndarray:
    """A random ``crop`` x ``crop`` (x C) window of one part, images weighted by their area."""
    weights = np.array([len(d.origins[part]) for d in domain], np.float64)
    item = domain[int(rng.choice(len(domain), p=weights / weights.sum()))]
    r, c = item.origins[part][int(rng.integers(len(item.origins[part])))]
    return item.image[r:r + crop, c:c + crop].copy()


def augment(crop: np.ndarray, rng) -> np.ndarray:
    """Random rotation by quarter turns and mirror (the domain's intensities are kept)."""
    crop = np.rot90(crop, int(rng.integers(4)))
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return np.ascontiguousarray(crop)

"""Classical defect detector: scratches, dust and blotches, no training.

Works on the luminance of a plane. Each class has a contrast response
measured against the *local* contrast of the image, so texture does not
read as damage:

* **scratch** and **dust**: white and black top-hats (residue of a grey
  opening/closing) remove thin and small structures from the background;
  their height divided by the local detail level is the response. Connected
  components are then split by shape: long thin ones are scratches, short
  or compact ones are dust (specks, fibres).
* **blotch**: the difference between the image and a large median
  (computed on a reduced image) finds stains and missing areas much wider
  than scratches; components that are large, and compact enough, are kept.

Scores are ``response / (2 * k)`` clipped to ``[0, 1]``, so ``0.5`` is a
response of ``k`` local-contrast units; components that fail their class's
shape test score 0. Text, watermark and moire need the learned detector;
their scores are 0 here.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..classes import CLASS_IDS, N_SCORED

N_CLASSES = N_SCORED

# Response (in local-contrast units) that scores 0.5, per class.
K_SCRATCH = 8.0
K_DUST = 10.0
K_BLOTCH = 6.0
CANDIDATE = 0.7  # components are grown from responses above CANDIDATE * k


def luminance(image: np.ndarray) -> np.ndarray:
    """Mean over channels, robustly rescaled to about ``[0, 1]`` (0.5 / 99.5 percentiles)."""
    lum = image.mean(axis=-1, dtype=np.float32)
    lo, hi = np.percentile(lum, (0.5, 99.5))
    if hi - lo < 1e-12:
        lo, hi = float(lum.min()), float(lum.max())
    if hi - lo < 1e-12:
        return np.zeros_like(lum)
    return (lum - lo) / np.float32(hi - lo)


def _reduce(a: np.ndarray, f: int) -> np.ndarray:
    """Block mean by ``f`` (edges padded by reflection)."""
    if f == 1:
        return a
    m, n = a.shape
    pm, pn = (-m) % f, (-n) % f
    a = np.pad(a, ((0, pm), (0, pn)), mode="reflect") if (pm or pn) else a
    return a.reshape(a.shape[0] // f, f, a.shape[1] // f, f).mean(axis=(1, 3))


def _expand(a: np.ndarray, shape: tuple) -> np.ndarray:
    """Bilinear zoom of a reduced map back to ``shape``."""
    if a.shape == shape:
        return a
    zoomed = ndi.zoom(a, (shape[0] / a.shape[0], shape[1] / a.shape[1]), order=1, mode="nearest")
    out = np.empty(shape, np.float32)
    h, w = min(shape[0], zoomed.shape[0]), min(shape[1], zoomed.shape[1])
    out[:h, :w] = zoomed[:h, :w]
    if h < shape[0]:
        out[h:, :w] = zoomed[h - 1 : h, :w]
    if w < shape[1]:
        out[:, w:] = out[:, w - 1 : w]
    return out


def local_contrast(lum: np.ndarray) -> np.ndarray:
    """Local detail level: median of |lum - smoothed lum| over ~40 px, with a noise floor.

    The median ignores thin defects, so a scratch does not raise its own
    threshold; textured regions get a higher level than flat ones.
    """
    detail = np.abs(lum - ndi.gaussian_filter(lum, 1.5))
    f = max(1, min(lum.shape) // 64, 4) if min(lum.shape) >= 64 else 1
    small = _reduce(detail, f)
    size = max(3, int(round(40 / f)) | 1)
    level = ndi.median_filter(small, size=size, mode="reflect")
    level = _expand(level.astype(np.float32), lum.shape)
    noise_floor = max(float(np.median(detail)) * 0.5, 2e-3)
    return np.maximum(level * 1.4826 + noise_floor, 2e-3).astype(np.float32)


def _component_shapes(binary: np.ndarray):
    """Label components and return (labels, area, length, width) per component."""
    labels, n = ndi.label(binary, structure=np.ones((3, 3)))
    if n == 0:
        return labels, np.zeros(1), np.zeros(1), np.zeros(1)
    area = np.bincount(labels.ravel(), minlength=n + 1).astype(np.float64)
    slices = ndi.find_objects(labels)
    length = np.zeros(n + 1)
    for i, sl in enumerate(slices, start=1):
        dy, dx = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        length[i] = np.hypot(dy, dx)
    length[0] = 1
    width = area / np.maximum(length, 1)
    return labels, area, length, width


def _thin_and_small(lum: np.ndarray, contrast: np.ndarray):
    """Scratch and dust score maps from white/black top-hats."""
    size = 9  # structures thinner than ~9 px (scratches 1-5 px, specks up to ~15 px)
    white = lum - ndi.grey_opening(lum, size=(size, size))
    black = ndi.grey_closing(lum, size=(size, size)) - lum
    # Specks up to 15 px need a larger element; fibres and lines are caught by the small one.
    big = 17
    white_big = lum - ndi.grey_opening(lum, size=(big, big))
    black_big = ndi.grey_closing(lum, size=(big, big)) - lum
    thin = np.maximum(white, black) / contrast
    small = np.maximum(white_big, black_big) / contrast

    scratch = np.zeros(lum.shape, np.float32)
    dust = np.zeros(lum.shape, np.float32)
    # Candidate components at half the scoring response, then shape tests.
    cand = thin >= K_SCRATCH * CANDIDATE
    labels, area, length, width = _component_shapes(cand)
    # Scratches are long (film lines, long curves); shorter thin pieces are fibres and hairs (dust).
    min_length = max(40.0, 0.12 * min(lum.shape))
    is_line = (length >= min_length) & (width <= 5.0)
    is_line[0] = False
    line_px = is_line[labels]
    scratch[line_px] = np.clip(thin[line_px] / (2 * K_SCRATCH), 0, 1)

    cand_d = (small >= K_DUST * CANDIDATE) & ~line_px
    labels, area, length, width = _component_shapes(cand_d)
    compact = (area <= 600) & (length < max(60.0, 0.12 * min(lum.shape)))
    # Dust lies on the picture: isolated, unlike the many small details of texture.
    busy = ndi.uniform_filter(cand_d.astype(np.float32), size=41)
    index = np.arange(1, labels.max() + 1)
    crowding = np.zeros(len(compact))
    if len(index):
        crowding[1:] = ndi.mean(busy, labels, index) - area[1:] / 41.0**2
    compact &= crowding < 0.03
    compact[0] = False
    dust_px = compact[labels]
    dust[dust_px] = np.clip(small[dust_px] / (2 * K_DUST), 0, 1)
    return scratch, dust


def _blotches(lum: np.ndarray, contrast: np.ndarray) -> np.ndarray:
    """Blotch score map: wide, flattened departures from a large median background.

    Stains and missing areas shift the grey level over a wide region and
    flatten the texture under them; textured content that merely differs
    from its surroundings keeps its detail and is not flagged.
    """
    f = max(1, min(lum.shape) // 128)
    small = _reduce(lum, f)
    size = max(5, int(round(min(lum.shape) / (3 * f))) | 1)
    background = ndi.median_filter(small, size=size, mode="reflect")
    residual = np.abs(_expand((small - background).astype(np.float32), lum.shape))
    residual = ndi.gaussian_filter(residual, 2.0)
    scale = 1.4826 * float(np.median(residual)) + 0.01
    response = residual / scale
    detail = ndi.gaussian_filter(np.abs(lum - ndi.gaussian_filter(lum, 1.5)), 3.0)
    blotch = np.zeros(lum.shape, np.float32)
    cand = response >= K_BLOTCH * CANDIDATE
    labels, area, length, width = _component_shapes(cand)
    if labels.max() == 0:
        return blotch
    index = np.arange(1, labels.max() + 1)
    inner = np.zeros_like(area)
    around = np.zeros_like(area)
    inner[1:] = ndi.mean(detail, labels, index)
    around[1:] = ndi.mean(contrast, labels, index)
    flat = inner <= 0.6 * around
    keep = (area >= 150) & (area <= 0.25 * lum.size) & (width >= 6) & flat
    keep[0] = False
    px = keep[labels]
    blotch[px] = np.clip(response[px] / (2 * K_BLOTCH), 0, 1)
    return blotch


def classical_scores(image: np.ndarray) -> np.ndarray:
    """Per-class defect scores of one plane.

    Parameters
    ----------
    image : (M, N, C) float32 ndarray
        One plane in unit scale (any value range; it is rescaled robustly).

    Returns
    -------
    scores : (6, M, N) float32 ndarray
        Scores in ``[0, 1]`` in :data:`napari_mend.DEFECT_CLASSES` order;
        ``0.5`` is the default detection threshold. Text, watermark and
        moire are 0 (the classical detector does not find them).
    """
    lum = luminance(image)
    scores = np.zeros((N_CLASSES,) + lum.shape, np.float32)
    if min(lum.shape) < 3 or not lum.any():
        return scores
    contrast = local_contrast(lum)
    scratch, dust = _thin_and_small(lum, contrast)
    blotch = _blotches(lum, contrast)
    blotch[(scratch > 0) | (dust > 0)] = 0
    scores[CLASS_IDS["scratch"] - 1] = scratch
    scores[CLASS_IDS["dust"] - 1] = dust
    scores[CLASS_IDS["blotch"] - 1] = blotch
    return scores

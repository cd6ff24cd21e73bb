"""Spectral check of the learned detector's moire scores.

Moire is a periodic pattern, and a network also takes fine irregular texture
(star fields, fur, noise) for it. The check keeps moire scores only where the
image's spectrum shows a periodic pattern: block by block, a quick screen
(:func:`napari_mend.moire.spectrum.has_peaks`), then the analysis that
``demoire`` uses (:func:`napari_mend.moire.spectrum.find_moire`) on the
brightness and, for colour, two opponent channels (screen moire can be colour
fringes of nearly constant brightness); the region it points to, grown by
``MOIRE_MARGIN`` px, keeps its scores.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..moire.spectrum import TILE, find_moire, has_peaks

MOIRE_BLOCK = 1024
"""Side of the blocks whose spectrum is checked (bounds the analysis' memory)."""
MOIRE_MARGIN = 16
"""Moire scores are kept this many pixels around the region the spectrum points to."""
MOIRE_FLOOR = 0.05
"""Blocks whose moire scores all stay below this are not analysed."""


def _spans(n: int, size: int) -> list[slice]:
    """``n`` pixels cut into near-equal spans of at most ``size`` (no sliver at the end)."""
    count = max(1, -(-n // size))
    edges = np.linspace(0, n, count + 1).round().astype(int)
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def opponent_channels(plane: np.ndarray) -> np.ndarray:
    """Brightness, red - blue and (red + blue) / 2 - green of an RGB plane (gray: itself)."""
    plane = np.asarray(plane, np.float32)
    if plane.shape[-1] == 1:
        return plane
    r, g, b = plane[..., 0], plane[..., 1], plane[..., 2]
    return np.stack([plane.mean(axis=-1), r - b, 0.5 * (r + b) - g], axis=-1)


def spectral_moire_check(moire: np.ndarray, image: np.ndarray) -> None:
    """Zero the moire scores wherever the image's spectrum shows no periodic pattern.

    Parameters
    ----------
    moire : (M, N) float ndarray
        Moire scores of ``image``, changed in place.
    image : (M, N, C) ndarray
        The scored plane. Blocks smaller than the spectral analysis' window
        cannot be checked and keep their scores.
    """
    for rows in _spans(image.shape[0], MOIRE_BLOCK):
        for cols in _spans(image.shape[1], MOIRE_BLOCK):
            scores = moire[rows, cols]
            if min(scores.shape) < TILE or scores.max() < MOIRE_FLOOR:
                continue
            channels = opponent_channels(image[rows, cols])
            report = find_moire(channels) if has_peaks(channels) else None
            if report is not None and report.found and report.region.any():
                scores *= ndi.binary_dilation(report.region, iterations=MOIRE_MARGIN)
            else:
                scores[...] = 0

"""Defects drawn as layers over an image, and the mask rule they share.

Most defects are drawn as layers ``J = a * W + (1 - a) * I`` (``a`` the
layer's opacity map, ``W`` its colour, which may depend on ``I`` for stains).

Mask rule (all classes but moire): a pixel is in the mask iff the layer covers
it (``a > ALPHA_TOL``) and it visibly changed (the largest per-channel change
exceeds ``CHANGE_TOL``). Pixels outside the mask are returned exactly equal
to the input; a pixel whose change would stay below ``CHANGE_TOL`` is left
unchanged. For moire, a texture rather than an overlay, the mask is the
affected region (the whole image or a soft-edged part of it, where the
region's weight exceeds ``ALPHA_TOL``); the image is unchanged outside it.

A defect that changes nothing visibly (text placed where its colour matches
the image, say) is redrawn, up to four times, so masks are empty only on
degenerate images.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

ALPHA_TOL = 0.02
"""Layer opacity below which a pixel is not part of a defect."""

CHANGE_TOL = 2.0 / 255.0
"""Smallest per-pixel change (in [0, 1] units) that counts as visible."""


class Layer(NamedTuple):
    """What a drawer returns: the damaged image, its mask and the overlay's opacity."""

    image: np.ndarray  # (H, W, C) float32
    mask: np.ndarray  # (H, W) bool
    cover: np.ndarray  # (H, W) float32 opacity of the overlay (0 for textures)
    mark: np.ndarray | None = None  # (H, W, C) overlay colour (watermarks)


_TRIES = 4


def _as_hwc(image):
    image = np.asarray(image)
    if not np.issubdtype(image.dtype, np.floating):
        raise TypeError(
            f"expected a float image in [0, 1], got dtype {image.dtype}; "
            "use synthesize_defects for integer images"
        )
    if image.ndim == 2:
        return image[..., None].astype(np.float32), True
    if image.ndim == 3:
        return image.astype(np.float32), False
    raise ValueError(f"expected an image of shape (H, W) or (H, W, C), got {image.shape}")


def redraw(drawer, img, rng, **opts):
    """Draw ``drawer(img, rng, **opts)`` on ``img`` (H, W, C), redrawing (a few
    times at most) until it visibly changes something."""
    for _ in range(_TRIES):
        layer = drawer(img, rng, **opts)
        if layer.mask.any():
            break
    return layer


def draw_on(drawer, image, rng, opts):
    """Run a drawer on a public-API image (shape and dtype round trip)."""
    img3, squeeze = _as_hwc(image)
    layer = redraw(drawer, img3, np.random.default_rng(rng), **opts)
    out = (layer.image[..., 0] if squeeze else layer.image).astype(image.dtype)
    out[~layer.mask] = image[~layer.mask]  # exact, also for float64 inputs
    return out, layer.mask, layer


def finish(clean, out, cover):
    """Apply the mask rule; return the layer with unchanged pixels restored."""
    rows, cols = np.nonzero(cover > ALPHA_TOL)
    new = np.clip(out[rows, cols], 0, 1)
    diff = np.abs(new - clean[rows, cols])
    change = diff[:, 0]
    for k in range(1, diff.shape[1]):  # faster than max(axis=1) over few channels
        change = np.maximum(change, diff[:, k])
    keep = change > CHANGE_TOL
    rows, cols = rows[keep], cols[keep]
    mask = np.zeros(cover.shape, bool)
    mask[rows, cols] = True
    result = clean.copy()
    result[rows, cols] = new[keep]
    return Layer(result, mask, np.where(mask, cover, 0).astype(np.float32))


def composite(img, alpha, colour):
    """``alpha * colour + (1 - alpha) * img`` where ``alpha > 0``, as a new image.

    ``colour`` is a (C,) colour, a (H, W, C) colour map, or a function mapping
    the covered pixels (N, C) to their colours (N, C) (stains, relative
    colours); only covered pixels are computed.
    """
    rows, cols = np.nonzero(alpha > 0)
    px = img[rows, cols]
    if callable(colour):
        colour = colour(px)
    elif np.ndim(colour) == 3:
        colour = colour[rows, cols]
    out = img.copy()
    out[rows, cols] = px + alpha[rows, cols, None] * (colour - px)
    return out


def gray_or_colour(rng, channels, level, *, saturation=0.0):
    """A colour of mean ``level`` with random hue (RGB) or a gray level."""
    if channels != 3 or saturation <= 0:
        return np.full(channels, level, np.float32)
    hue = rng.random(3)
    hue = (hue - hue.mean()) / (np.ptp(hue) + 1e-6)
    return np.clip(level + saturation * hue, 0, 1).astype(np.float32)


def named_colour(rng, channels):
    """A colour as used for burned-in text and marks (white, yellow, black...)."""
    palette = np.array(
        [
            [1, 1, 1], [0, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [1, 0, 0],
            [1, 0.6, 0], [0.8, 0.8, 0.8], [0.3, 0.3, 0.3], [1, 0, 1], [0.2, 0.4, 1],
        ],
        np.float32,
    )
    p = np.array([0.3, 0.15, 0.12, 0.07, 0.05, 0.05, 0.05, 0.06, 0.05, 0.02, 0.03])
    c = palette[rng.choice(len(palette), p=p / p.sum())] if rng.random() < 0.85 else rng.random(3)
    c = np.clip(c + rng.normal(0, 0.04, 3), 0, 1).astype(np.float32)
    if channels == 3:
        return c
    return np.full(channels, c @ np.array([0.299, 0.587, 0.114], np.float32), np.float32)

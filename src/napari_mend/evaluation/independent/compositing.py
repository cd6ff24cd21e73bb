"""Blending helpers and the rule that decides which pixels are labelled."""

import numpy as np

VISIBLE_CHANGE = 1.0 / 255.0
"""float: a pixel counts as damaged when some channel moved by more than this."""

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luminance(colour):
    """Grey value of an RGB colour (or pass a scalar through).

    Parameters
    ----------
    colour : float or array_like of 3 floats

    Returns
    -------
    float
    """
    colour = np.asarray(colour, dtype=np.float32)
    if colour.ndim == 0:
        return float(colour)
    return float(colour @ _LUMA)


def colour_for(image, colour):
    """Adapt an RGB colour to the channel layout of ``image``.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
    colour : float or array_like of 3 floats

    Returns
    -------
    ndarray
        A scalar for grey images, a length-3 vector for colour images.
    """
    colour = np.asarray(colour, dtype=np.float32)
    if image.ndim == 2:
        return np.float32(luminance(colour))
    if colour.ndim == 0:
        return np.repeat(colour, 3)
    return colour


def over(image, alpha, colour):
    """Composite a colour over ``image`` with per-pixel opacity.

    Parameters
    ----------
    image : ndarray of float32, shape (H, W) or (H, W, 3)
    alpha : ndarray of float32, shape (H, W)
        Opacity in [0, 1].
    colour : float, array_like of 3 floats, or ndarray shaped like ``image``
        Paint colour (converted to grey for grey images).

    Returns
    -------
    ndarray of float32
    """
    if not (isinstance(colour, np.ndarray) and colour.shape == image.shape):
        colour = colour_for(image, colour)
    a = alpha[..., None] if image.ndim == 3 else alpha
    return (image * (1.0 - a) + colour * a).astype(np.float32)


def multiply(image, factor):
    """Multiply ``image`` by a per-pixel, per-channel transmission.

    Parameters
    ----------
    image : ndarray of float32, shape (H, W) or (H, W, 3)
    factor : ndarray of float32, shape (H, W, 3)
        Transmission in [0, 1] per colour channel (grey images use its luminance).

    Returns
    -------
    ndarray of float32
    """
    if image.ndim == 2:
        factor = factor @ _LUMA
    return (image * factor).astype(np.float32)


def visible_change(before, after, threshold=VISIBLE_CHANGE):
    """Pixels whose value changed by more than ``threshold`` in some channel.

    Parameters
    ----------
    before, after : ndarray, shape (H, W) or (H, W, 3)
    threshold : float

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    diff = np.abs(after.astype(np.float32) - before.astype(np.float32))
    if diff.ndim == 3:
        diff = diff.max(axis=2)
    return diff > threshold


def confine(image, damaged, footprint):
    """Clip to [0, 1] and keep ``image`` bit-exact outside the footprint.

    Parameters
    ----------
    image : ndarray of float32
        The image before the defect.
    damaged : ndarray
        The image after the defect.
    footprint : ndarray of bool, shape (H, W)
        Pixels the defect may touch.

    Returns
    -------
    ndarray of float32
    """
    damaged = np.clip(damaged, 0.0, 1.0).astype(np.float32)
    mask = footprint[..., None] if image.ndim == 3 else footprint
    return np.where(mask, damaged, image).astype(np.float32)

"""Random capture and storage degradations: blur, resampling, noise, JPEG."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from ._dtype import from_unit, to_unit


def _jpeg(unit, quality):
    """JPEG round trip of (H, W, C) float in [0, 1], C = 1 or 3."""
    u8 = np.round(np.clip(unit, 0, 1) * 255).astype(np.uint8)
    im = Image.fromarray(u8[..., 0] if u8.shape[-1] == 1 else u8)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as back:
        out = np.asarray(back, dtype=np.float32) / 255.0
    return out.reshape(unit.shape)


def _resample(unit, factor):
    """Down- then up-sample by ``factor`` < 1 (loses fine detail like a small sensor)."""
    h, w = unit.shape[:2]
    small = (max(1, int(w * factor)), max(1, int(h * factor)))
    planes = []
    for k in range(unit.shape[-1]):
        im = Image.fromarray(unit[..., k], mode="F")
        planes.append(np.asarray(im.resize(small, Image.BILINEAR).resize((w, h), Image.BICUBIC)))
    return np.stack(planes, axis=-1)


def degrade(image, rng, *, channel_axis=None):
    """Apply a random chain of capture and storage degradations.

    Each step happens with some probability: Gaussian blur (sigma 0.3-1.2 px),
    down- and up-sampling (factor 0.5-0.9), Gaussian or signal-dependent
    noise (sigma up to 0.03 of the range), JPEG compression (quality 30-95,
    on 3-channel or gray images). Use it on a damaged image after
    :func:`synthesize_defects` so that defects and background share the same
    degradation (a detector then cannot tell defects by their sharpness or
    lack of JPEG artefacts); the labels stay valid. For inpainting pairs,
    degrade the clean image first and damage or mask it afterwards.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C) with ``channel_axis``
        Integer or float image (as for :func:`synthesize_defects`).
    rng : numpy.random.Generator or int
        Random source (or seed).
    channel_axis : int, optional
        Axis of the colour channels; None for a grayscale image.

    Returns
    -------
    degraded : ndarray
        New image, same shape and dtype.
    """
    rng = np.random.default_rng(rng)
    image = np.asarray(image)
    work = image[..., None] if channel_axis is None else np.moveaxis(image, channel_axis, -1)
    if work.ndim != 3:
        raise ValueError(f"expected a 2D image (plus channels), got shape {image.shape}")
    unit, offset_scale = to_unit(work)
    finite = np.isfinite(unit)
    unit = np.where(finite, unit, 0).astype(np.float32)
    if rng.random() < 0.3:
        s = rng.uniform(0.3, 1.2)
        unit = ndi.gaussian_filter(unit, (s, s, 0), truncate=3.0)
    if rng.random() < 0.2 and min(unit.shape[:2]) >= 16:
        unit = _resample(unit, rng.uniform(0.5, 0.9))
    if rng.random() < 0.5:
        sigma = rng.uniform(0.002, 0.03)
        scale = np.sqrt(np.clip(unit, 1e-4, 1)) if rng.random() < 0.5 else 1.0
        unit = unit + sigma * scale * rng.standard_normal(unit.shape, dtype=np.float32)
    if rng.random() < 0.5 and unit.shape[-1] in (1, 3):
        unit = _jpeg(unit, rng.uniform(30, 95))
    out = from_unit(np.clip(unit, 0, 1), work.dtype, offset_scale)
    out = np.where(finite, out, work)
    return out[..., 0] if channel_axis is None else np.moveaxis(out, -1, channel_axis)

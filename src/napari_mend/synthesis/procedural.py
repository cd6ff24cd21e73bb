"""Procedurally generated clean images (training material besides the corpus)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from skimage.data import binary_blobs

from . import content
from ._draw import Canvas, ellipse_points, smooth_field, soften
from .text import pick_font, random_word, truetype

BASIC_KINDS = ("gradient", "fractal", "blobs", "shapes", "page")
"""Kinds :func:`procedural_image` draws from by default."""

CONTENT_KINDS = tuple(content.GENERATORS)
"""Kinds of content that resembles defects (lines, cells, fur, stars, weave)."""


def _gradient(rng, shape):
    H, W = shape
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    if rng.random() < 0.5:
        a = rng.uniform(0, 2 * np.pi)
        g = np.cos(a) * xx / max(W, 1) + np.sin(a) * yy / max(H, 1)
    else:
        cy, cx = rng.uniform(0, H), rng.uniform(0, W)
        g = np.hypot(yy - cy, xx - cx) / np.hypot(H, W)
    g = (g - g.min()) / (np.ptp(g) + 1e-6)
    return g ** rng.uniform(0.5, 2.0)


def _fractal(rng, shape):
    """1/f^beta noise (beta 1 to 3: rough to cloud-like)."""
    H, W = shape
    beta = rng.uniform(1.0, 3.0)
    fy = np.fft.fftfreq(H)[:, None]
    fx = np.fft.rfftfreq(W)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    spectrum = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f ** (beta / 2)
    spectrum[0, 0] = 0
    g = np.fft.irfft2(spectrum, s=(H, W)).astype(np.float32)
    return (g - g.min()) / (np.ptp(g) + 1e-6)


def _blobs(rng, shape):
    H, W = shape
    length = int(max(H, W))
    b = binary_blobs(
        length=length, blob_size_fraction=rng.uniform(0.03, 0.2),
        volume_fraction=rng.uniform(0.2, 0.6), rng=int(rng.integers(2**31)),
    )[:H, :W].astype(np.float32)
    lo, hi = sorted(rng.uniform(0, 1, 2))
    return soften(lo + (hi - lo) * b, rng.uniform(0, 2.0))


def _shapes(rng, shape):
    H, W = shape
    out = np.full(shape, rng.uniform(0, 1), np.float32)
    for _ in range(int(rng.integers(3, 20))):
        cv = Canvas(shape, scale=2)
        r = rng.uniform(0.03, 0.3) * min(H, W)
        c = (rng.uniform(0, W), rng.uniform(0, H))
        kind = rng.choice(["ellipse", "rect", "polygon"])
        if kind == "ellipse":
            cv.ellipse(c, (r, r * rng.uniform(0.3, 1)), angle=rng.uniform(0, np.pi))
        elif kind == "rect":
            cv.polygon(ellipse_points(c, (r, r * rng.uniform(0.3, 1)), angle=rng.uniform(0, np.pi), n=4))
        else:
            k = int(rng.integers(3, 9))
            t = np.sort(rng.uniform(0, 2 * np.pi, k))
            rr = r * rng.uniform(0.4, 1, k)
            cv.polygon(np.stack([c[0] + rr * np.cos(t), c[1] + rr * np.sin(t)], 1))
        cov = cv.coverage()
        out += cov * (rng.uniform(0, 1) - out)
    return soften(out, rng.uniform(0, 1.5))


def _page(rng, shape):
    """A page of text lines on paper (document-like)."""
    H, W = shape
    paper, ink = (rng.uniform(0.75, 1.0), rng.uniform(0.0, 0.35))
    if rng.random() < 0.2:
        paper, ink = ink, paper
    img = Image.new("L", (W, H), 0)
    draw = ImageDraw.Draw(img)
    size = int(np.clip(rng.uniform(0.02, 0.06) * min(H, W), 6, 40))
    font = truetype(pick_font(rng), size)
    y = rng.uniform(0, size)
    margin = rng.uniform(0, 0.1) * W
    while y < H:
        words = " ".join(random_word(rng) for _ in range(int(rng.integers(3, 16))))
        draw.text((margin, y), words, fill=255, font=font)
        y += size * rng.uniform(1.2, 2.2) * (2 if rng.random() < 0.1 else 1)
    text = np.asarray(img, dtype=np.float32) / 255.0
    return paper + (ink - paper) * text


_GENERATORS = {"gradient": _gradient, "fractal": _fractal, "blobs": _blobs, "shapes": _shapes, "page": _page,
               **content.GENERATORS}


def check_kinds(kinds):
    """Raise ValueError unless ``kinds`` names one or more known kinds."""
    unknown = sorted(set(kinds) - set(_GENERATORS))
    if unknown or not len(kinds):
        raise ValueError(f"kinds must name some of {sorted(_GENERATORS)}, got {list(kinds)}")


def _generate(rng, shape, kind):
    return _GENERATORS[kind](rng, shape)


def _colourise(rng, gray):
    """Map gray [0, 1] through a random colour ramp of 2 or 3 stops."""
    stops = rng.random((int(rng.integers(2, 4)), 3)).astype(np.float32)
    x = np.linspace(0, 1, len(stops))
    return np.stack([np.interp(gray, x, stops[:, k]) for k in range(3)], axis=-1).astype(np.float32)


def procedural_image(rng, shape, *, channels=1, kinds=BASIC_KINDS):
    """A random clean image: gradient, fractal noise, blobs, shapes, a text page, or a mix.

    Parameters
    ----------
    rng : numpy.random.Generator or int
        Random source (or seed).
    shape : tuple of int
        ``(H, W)``.
    channels : {1, 3}, optional
        1: grayscale (H, W); 3: RGB (H, W, 3).
    kinds : sequence of str, optional
        The kinds to draw from (one, or two mixed): any of :data:`BASIC_KINDS`
        and :data:`CONTENT_KINDS` (wires, branches and rims, cell networks,
        fur, star fields, woven and tiled textures: clean content that looks
        like defects).

    Returns
    -------
    image : ndarray of float32, shape (H, W) or (H, W, 3)
        Values in [0, 1].
    """
    rng = np.random.default_rng(rng)
    shape = (int(shape[0]), int(shape[1]))
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    check_kinds(kinds)
    kinds = list(rng.choice(tuple(kinds), size=2 if rng.random() < 0.35 and len(kinds) > 1 else 1, replace=False))

    def one(kind):
        g = _generate(rng, shape, kind)
        if channels == 1:
            return g
        if rng.random() < 0.5 or kind == "page" or kind in CONTENT_KINDS:  # one ramp: no colour fringes
            return _colourise(rng, g)
        return np.stack([g] + [_generate(rng, shape, kind) for _ in range(2)], axis=-1)

    img = one(kinds[0])
    if len(kinds) == 2:  # mix: blend, multiply or masked composite
        other = one(kinds[1])
        mode = rng.choice(["blend", "multiply", "mask"])
        if mode == "blend":
            img = img + rng.uniform(0.2, 0.8) * (other - img)
        elif mode == "multiply":
            img = img * other
        else:
            m = smooth_field(rng, shape, cells=int(rng.integers(2, 6))) > rng.uniform(0.3, 0.7)
            m = soften(m.astype(np.float32), 2.0)
            img = img + (m[..., None] if channels == 3 else m) * (other - img)
    lo, hi = np.percentile(img, [0.5, 99.5]) if rng.random() < 0.5 else (img.min(), img.max())
    contrast = rng.uniform(0.4, 1.0)
    offset = rng.uniform(0, 1 - contrast)
    img = offset + contrast * np.clip((img - lo) / (hi - lo + 1e-6), 0, 1)
    return np.clip(img, 0, 1).astype(np.float32)

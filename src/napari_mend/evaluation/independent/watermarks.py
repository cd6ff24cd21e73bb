"""Visible watermarks: multi-coloured logos and tiled diagonal text.

Stock-photo and document watermarks are alpha-blended overlays: a logo made
of a few flat-coloured shapes (ring, star, bar, chevron, initials) at 20-60 %
opacity somewhere in the frame, or a word repeated on a rotated grid across
the whole picture, sometimes outlined in a second colour.
"""

import numpy as np
from PIL import Image, ImageDraw

from .compositing import confine
from .fonts import PILLOW_DEFAULT, ascii_fallback, pick_font

_SS = 4

PALETTES = [
    [(0.85, 0.1, 0.1), (1.0, 1.0, 1.0), (0.1, 0.2, 0.7)],
    [(0.0, 0.55, 0.6), (1.0, 0.8, 0.0)],
    [(0.2, 0.2, 0.2), (0.9, 0.4, 0.0), (1.0, 1.0, 1.0)],
    [(0.4, 0.1, 0.6), (0.2, 0.8, 0.4), (0.95, 0.95, 0.95)],
    [(1.0, 1.0, 1.0), (0.1, 0.4, 0.9)],
]
"""list: two- and three-colour logo palettes (RGB in [0, 1])."""

WORDS = ["SAMPLE", "PREVIEW", "\u00a9 PhotoArchive", "CONFIDENTIAL", "proof", "DRAFT", "do not copy", "ImageBank"]
"""list of str: words used for tiled watermarks."""


def _star(cx, cy, r_out, r_in, points, rot):
    angles = rot + np.arange(2 * points) * np.pi / points
    radii = np.where(np.arange(2 * points) % 2 == 0, r_out, r_in)
    return [(cx + r * np.cos(a), cy + r * np.sin(a)) for r, a in zip(radii, angles)]


def logo(rng, side):
    """Render a multi-shape logo.

    Parameters
    ----------
    rng : numpy.random.Generator
    side : int
        Logo size in pixels.

    Returns
    -------
    rgb : ndarray of float32, shape (side, side, 3)
    alpha : ndarray of float32, shape (side, side)
    """
    n = side * _SS
    palette = [tuple(int(255 * c) for c in col) for col in PALETTES[int(rng.integers(len(PALETTES)))]]
    order = rng.permutation(len(palette))
    cols = [palette[i] + (255,) for i in order]
    im = Image.new("RGBA", (n, n), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    c = n / 2
    r = n * rng.uniform(0.38, 0.48)
    ring_w = int(n * rng.uniform(0.05, 0.1))
    draw.ellipse([c - r, c - r, c + r, c + r], outline=cols[0], width=ring_w)
    if rng.random() < 0.5:
        r2 = r - ring_w * rng.uniform(1.6, 2.5)
        draw.ellipse([c - r2, c - r2, c + r2, c + r2], outline=cols[-1], width=max(ring_w // 2, 1))
    shape = rng.choice(["star", "chevron", "disk"], p=[0.55, 0.25, 0.2])
    inner = r * rng.uniform(0.45, 0.65)
    if shape == "star":
        points = int(rng.integers(5, 9))
        star = _star(c, c, inner, inner * rng.uniform(0.38, 0.55), points, rng.uniform(0, np.pi))
        draw.polygon(star, fill=cols[1 % len(cols)])
    elif shape == "chevron":
        t = inner * 0.5
        draw.polygon([(c - inner, c - t), (c, c + t), (c + inner, c - t), (c + inner, c + t * 0.2),
                      (c, c + t * 2.2), (c - inner, c + t * 0.2)], fill=cols[1 % len(cols)])
    else:
        draw.ellipse([c - inner, c - inner, c + inner, c + inner], fill=cols[1 % len(cols)])
    if rng.random() < 0.7:  # crossing bar
        bh = n * rng.uniform(0.06, 0.12)
        y = c + (r * rng.uniform(-0.2, 0.35))
        draw.rounded_rectangle([c - r * 1.05, y - bh / 2, c + r * 1.05, y + bh / 2], radius=bh / 3, fill=cols[-1])
    small = im.resize((side, side), Image.Resampling.BOX)
    arr = np.asarray(small, dtype=np.float32) / 255.0
    return arr[..., :3], arr[..., 3]


def tiled_text(rng, shape, fonts_used=None):
    """A word repeated on a rotated grid covering the frame.

    Parameters
    ----------
    rng : numpy.random.Generator
    shape : tuple of int
        ``(H, W)`` of the image.
    fonts_used : list, optional
        Font paths are appended to it when given.

    Returns
    -------
    rgb : ndarray of float32, shape (H, W, 3)
    alpha : ndarray of float32, shape (H, W)
    """
    h, w = shape
    word = WORDS[int(rng.integers(len(WORDS)))]
    size = int(rng.integers(14, 32))
    font, path = pick_font(rng, size, word)
    if fonts_used is not None:
        fonts_used.append(path)
    if path == PILLOW_DEFAULT:
        word = ascii_fallback(word).replace("\u00a9", "(c)")
    side = int(np.hypot(h, w)) + 2 * size
    fill_im = Image.new("L", (side, side), 0)
    edge_im = Image.new("L", (side, side), 0)
    fd, ed = ImageDraw.Draw(fill_im), ImageDraw.Draw(edge_im)
    tw = font.getlength(word)
    dx = tw + rng.uniform(0.6, 2.0) * size
    dy = size * rng.uniform(2.2, 4.0)
    outlined = rng.random() < 0.4
    row = 0
    y = -size * rng.uniform(0, 2)
    while y < side:
        x = -dx * rng.uniform(0, 1) + (row % 2) * dx / 2
        while x < side:
            if outlined:
                ed.text((x, y), word, font=font, fill=255, stroke_width=max(1, size // 14), stroke_fill=255)
            fd.text((x, y), word, font=font, fill=255)
            x += dx
        y += dy
        row += 1
    angle = rng.choice([-1, 1]) * rng.uniform(20, 45)
    fill_r = np.asarray(fill_im.rotate(angle, resample=Image.Resampling.BILINEAR), np.float32) / 255
    edge_r = np.asarray(edge_im.rotate(angle, resample=Image.Resampling.BILINEAR), np.float32) / 255
    r0, c0 = (side - h) // 2, (side - w) // 2
    fill_r, edge_r = fill_r[r0:r0 + h, c0:c0 + w], edge_r[r0:r0 + h, c0:c0 + w]
    light = rng.random() < 0.7
    fill_col = np.full(3, rng.uniform(0.85, 1.0)) if light else np.full(3, rng.uniform(0.1, 0.35))
    if rng.random() < 0.3:
        fill_col = np.array(PALETTES[int(rng.integers(len(PALETTES)))][0])
    edge_col = np.full(3, 0.15) if light else np.full(3, 0.95)
    alpha = np.maximum(fill_r, edge_r)
    # Where glyph fill partly covers its outline, mix the two colours.
    mix = np.clip(fill_r / np.maximum(alpha, 1e-6), 0, 1)[..., None]
    rgb = fill_col * mix + edge_col * (1 - mix)
    return rgb.astype(np.float32), alpha.astype(np.float32)


def _blend(out, rgb, alpha):
    a = alpha[..., None] if out.ndim == 3 else alpha
    if out.ndim == 2:
        rgb = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    return (out * (1 - a) + rgb * a).astype(np.float32)


def watermark_layers(rng, shape, fonts_used=None):
    """The overlays of one watermark: a logo, a tiled text watermark, or both.

    Parameters
    ----------
    rng : numpy.random.Generator
    shape : tuple of int
        ``(H, W)`` of the images it is laid over.
    fonts_used : list, optional
        Font paths are appended to it when given.

    Returns
    -------
    list of (ndarray, ndarray)
        ``(rgb, alpha)`` pairs of shapes ``(H, W, 3)`` and ``(H, W)``, float32,
        blended in order by :func:`blend_layers`.
    """
    h, w = shape
    layers = []
    mode = rng.choice(["logo", "tiled", "both"], p=[0.45, 0.35, 0.2])
    if mode in ("tiled", "both"):
        rgb, alpha = tiled_text(rng, (h, w), fonts_used)
        alpha = alpha * rng.uniform(0.2, 0.5)
        layers.append((rgb, alpha))
    if mode in ("logo", "both"):
        side = int(min(rng.uniform(40, 120), 0.8 * min(h, w)))
        rgb, a = logo(rng, side)
        a = a * rng.uniform(0.2, 0.6)
        r0 = int(rng.integers(0, h - side + 1))
        c0 = int(rng.integers(0, w - side + 1))
        full_rgb = np.zeros((h, w, 3), np.float32)
        full_a = np.zeros((h, w), np.float32)
        full_rgb[r0:r0 + side, c0:c0 + side] = rgb
        full_a[r0:r0 + side, c0:c0 + side] = a
        layers.append((full_rgb, full_a))
    return layers


def blend_layers(image, layers):
    """Blend watermark overlays (:func:`watermark_layers`) into an image.

    Parameters
    ----------
    image : ndarray of float32, shape (H, W) or (H, W, 3)
        Clean image in [0, 1].
    layers : list of (ndarray, ndarray)
        ``(rgb, alpha)`` pairs of the image's spatial shape.

    Returns
    -------
    damaged : ndarray of float32
        Same shape as ``image``.
    footprint : ndarray of bool, shape (H, W)
        Pixels under the watermark.
    """
    out = image
    footprint = np.zeros(image.shape[:2], bool)
    for rgb, alpha in layers:
        out = _blend(out, rgb, alpha)
        footprint |= alpha > 0
    return confine(image, out, footprint), footprint


def add_watermark(image, rng, fonts_used=None, style=None):
    """Blend a logo, a tiled text watermark, or both, into an image.

    Parameters
    ----------
    image : ndarray of float32, shape (H, W) or (H, W, 3)
        Clean image in [0, 1].
    rng : numpy.random.Generator
        Source of the mark when ``style`` is not given.
    fonts_used : list, optional
        Font paths are appended to it when given.
    style : numpy.random.Generator, optional
        Source of the mark, its opacity and its place: a collection stamped by
        one agency shares all of it (see :func:`.generator.damaged_sample`).

    Returns
    -------
    damaged, footprint : ndarray
        As :func:`blend_layers` returns them.
    """
    return blend_layers(image, watermark_layers(rng if style is None else style, image.shape[:2],
                                                fonts_used))

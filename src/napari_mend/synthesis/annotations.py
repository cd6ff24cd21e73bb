"""Burned-in text: annotations, IDs, dates, scale bars and region-of-interest boxes."""

from __future__ import annotations

import numpy as np

from ._draw import Canvas, paste_max, place
from .layers import composite, draw_on, finish, named_colour
from .text import pick_font, random_annotation, random_scale_label, render_text


def _text_size(rng, shape):
    m = min(shape)
    return float(np.clip(rng.uniform(0.025, 0.07) * m, 7, 48))



def _scalebar_patch(rng, shape, size, font):
    """A scale bar with an optional label above or below it, as a coverage patch."""
    H, W = shape
    length = rng.uniform(0.08, 0.3) * W
    thick = max(1.0, rng.uniform(0.005, 0.025) * H)
    label = render_text(random_scale_label(rng), size=size, font=font) if rng.random() < 0.8 else None
    lh, lw = (0, 0) if label is None else label.shape
    bar_h = int(np.ceil(thick))
    patch_h, patch_w = bar_h + (lh + 1 if lh else 0), int(np.ceil(max(length, lw)))
    on_top = rng.random() < 0.5
    bar_top = lh + 1 if (lh and on_top) else 0
    cv = Canvas((patch_h, patch_w))
    x0 = (patch_w - length) / 2
    y = bar_top + (bar_h - 1) / 2
    cv.polyline([(x0, y), (x0 + length - 1, y)], width=thick)
    patch = cv.coverage()
    if label is not None:
        paste_max(patch, label, (0 if on_top else bar_h + 1, (patch_w - lw) // 2))
    return patch


def text_layers(rng, shape, *, count=None):
    """Burned-in annotation layers: list of (coverage (H, W), role).

    Roles: ``'fill'`` (glyphs, bars, box lines), ``'outline'`` (a contrasting
    outline or a label background drawn first). Text blocks, lines and scale
    bars do not overlap one another (an element with no free place is left
    out); region-of-interest boxes may cross them.
    """
    H, W = shape
    n = int(count) if count is not None else int(rng.integers(1, 5))
    layers = []
    taken = []  # (top, left, bottom, right) of placed elements

    def place_free(patch_shape, where):
        h, w = patch_shape
        for _ in range(6):
            r, c = place(rng, shape, patch_shape, where)
            if all(r + h + 1 < t or r > b + 1 or c + w + 1 < left or c > right + 1 for t, left, b, right in taken):
                taken.append((r, c, r + h, c + w))
                return r, c
        return None

    for _ in range(n):
        kind = rng.choice(["block", "line", "scalebar", "box", "free"], p=[0.35, 0.25, 0.15, 0.1, 0.15])
        size = _text_size(rng, shape)
        font = pick_font(rng)
        if kind == "box":  # a region of interest outline, maybe labelled
            bh, bw = rng.uniform(0.1, 0.6) * H, rng.uniform(0.1, 0.6) * W
            y, x = rng.uniform(0, H - bh), rng.uniform(0, W - bw)
            cv = Canvas(shape)
            cv.polygon([(x, y), (x + bw, y), (x + bw, y + bh), (x, y + bh)], outline_width=rng.uniform(1, 3))
            cov = cv.coverage()
            if rng.random() < 0.5:
                label = render_text(random_annotation(rng), size=size * 0.8, font=font)
                paste_max(cov, label, (y - label.shape[0] - 1, x))
            layers.append((cov, "fill"))
            continue
        if kind == "scalebar":
            patch, under = _scalebar_patch(rng, shape, size, font), None
            where = "corner"
        else:
            nlines = int(rng.integers(2, 6)) if kind == "block" else 1
            text = "\n".join(random_annotation(rng) for _ in range(nlines))
            align = rng.choice(["left", "right"]) if kind == "block" else "left"
            angle = 0.0
            if kind == "line" and rng.random() < 0.25:
                angle = float(rng.choice([90.0, -90.0]))
            elif kind == "free" and rng.random() < 0.4:
                angle = rng.uniform(-30, 30)
            patch = render_text(text, size=size, font=font, angle=angle, align=align)
            under = None
            if rng.random() < 0.15:  # label background
                under = np.ones((patch.shape[0] + 2, patch.shape[1] + 2), np.float32)
            elif rng.random() < 0.2:  # contrasting outline
                sw = int(rng.integers(1, 3))
                under = render_text(text, size=size, font=font, angle=angle, align=align, stroke_width=sw)
            where = {"block": "corner", "line": "edge", "free": "anywhere"}[kind]
        outer = patch if under is None else under
        pos = place_free(outer.shape, where)
        if pos is None:
            continue
        if under is not None:
            layers.append((paste_max(np.zeros(shape, np.float32), under, pos), "outline"))
            dr, dc = (under.shape[0] - patch.shape[0]) // 2, (under.shape[1] - patch.shape[1]) // 2
            pos = (pos[0] + dr, pos[1] + dc)
        layers.append((paste_max(np.zeros(shape, np.float32), patch, pos), "fill"))
    return layers


def draw_text(img, rng, *, count=None):
    out = img
    C = img.shape[-1]
    cover = np.zeros(img.shape[:2], np.float32)
    fill = named_colour(rng, C)
    for cov, role in text_layers(rng, img.shape[:2], count=count):
        if role == "outline":
            colour = 1 - fill if rng.random() < 0.7 else named_colour(rng, C)
            alpha = cov * rng.uniform(0.7, 1.0)
        else:
            if rng.random() < 0.3:
                fill = named_colour(rng, C)
            colour = fill
            alpha = cov * (1.0 if rng.random() < 0.7 else rng.uniform(0.6, 1.0))
        out = composite(out, alpha, colour)
        np.maximum(cover, alpha, out=cover)
    return finish(img, out, cover)


def add_text(image, rng, **opts):
    """Add burned-in text: annotations, IDs, dates, patient-style fields, scale bars, boxes.

    Text blocks sit in corners, single lines along edges (sometimes rotated
    90 degrees), free annotations anywhere; any colour, sometimes outlined or
    on a label background. All fonts are DejaVu.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Float image in [0, 1].
    rng : numpy.random.Generator or int
        Random source (or seed).
    count : int, optional
        Number of elements (text blocks, lines, scale bars, boxes); default
        random, 1 to 4.

    Returns
    -------
    damaged : ndarray
        New image, same shape and dtype.
    mask : ndarray of bool, shape (H, W)
        Pixels the text visibly changed.
    """
    return draw_on(draw_text, image, rng, opts)[:2]

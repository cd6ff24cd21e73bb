"""Synthetic defects, one function per defect class.

Every ``add_*`` function takes a float image of shape (H, W) or (H, W, C) with
values in [0, 1] and a :class:`numpy.random.Generator`, and returns a new
damaged image (same shape and dtype) and a boolean mask (H, W). The input is
never modified.

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
from PIL import Image
from scipy import ndimage as ndi

from ._draw import Canvas, blob, paste_max, random_walk, smooth_field, soften
from .logos import procedural_logo, watermark_text
from .text import _pick_font, random_annotation, random_scale_label, render_text

ALPHA_TOL = 0.02
"""Layer opacity below which a pixel is not part of a defect."""

CHANGE_TOL = 2.0 / 255.0
"""Smallest per-pixel change (in [0, 1] units) that counts as visible."""


class _Layer(NamedTuple):
    image: np.ndarray  # (H, W, C) float32
    mask: np.ndarray  # (H, W) bool
    cover: np.ndarray  # (H, W) float32 opacity of the overlay (0 for textures)
    mark: np.ndarray | None = None  # (H, W, C) overlay colour (watermarks)


_TRIES = 4


# ---------------------------------------------------------------- helpers


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


def _draw(name, img, rng, **opts):
    """Draw defect class ``name`` on ``img`` (H, W, C), redrawing (a few times at
    most) until it visibly changes something."""
    for _ in range(_TRIES):
        layer = _DRAWERS[name](img, rng, **opts)
        if layer.mask.any():
            break
    return layer


def _public(name, image, rng, opts):
    """Run a drawer on a public-API image (shape and dtype round trip)."""
    img3, squeeze = _as_hwc(image)
    layer = _draw(name, img3, np.random.default_rng(rng), **opts)
    out = (layer.image[..., 0] if squeeze else layer.image).astype(image.dtype)
    out[~layer.mask] = image[~layer.mask]  # exact, also for float64 inputs
    return out, layer.mask, layer


def _finish(clean, out, cover):
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
    return _Layer(result, mask, np.where(mask, cover, 0).astype(np.float32))


def _composite(img, alpha, colour):
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


def _gray_or_colour(rng, channels, level, *, saturation=0.0):
    """A colour of mean ``level`` with random hue (RGB) or a gray level."""
    if channels != 3 or saturation <= 0:
        return np.full(channels, level, np.float32)
    hue = rng.random(3)
    hue = (hue - hue.mean()) / (np.ptp(hue) + 1e-6)
    return np.clip(level + saturation * hue, 0, 1).astype(np.float32)


def _named_colour(rng, channels):
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


# ---------------------------------------------------------------- scratches


def _scratch_coverages(rng, shape, *, count=None, width=None):
    """Coverage of bright and dark scratches: dict polarity -> (H, W)."""
    H, W = shape
    diag = float(np.hypot(H, W))
    small = min(1.0, min(H, W) / 128)  # fewer, thinner scratches on small images
    n = int(count) if count is not None else 1 + int(rng.integers(0, 6) * small)
    canvases = {}
    for _ in range(n):
        polarity = "bright" if rng.random() < 0.55 else "dark"
        cv = canvases.setdefault(polarity, Canvas(shape))
        w = float(width) if width is not None else 1.0 + 4.0 * small * rng.random() ** 2
        kind = rng.choice(["vertical", "curve", "straight"], p=[0.4, 0.45, 0.15])
        if kind == "vertical":  # film line: nearly vertical, slow wander
            full = rng.random() < 0.6
            y0 = -2.0 if full else rng.uniform(0, H * 0.6)
            length = (H + 4.0) if full else rng.uniform(0.3, 1.0) * (H - y0)
            pts = random_walk(
                rng, (rng.uniform(0, W - 1), y0), length=length, step=2.0,
                angle=np.pi / 2 + rng.normal(0, 0.01), turn=0.002,
            )
        elif kind == "curve":
            pts = random_walk(
                rng, (rng.uniform(0, W), rng.uniform(0, H)), length=rng.uniform(0.2, 1.0) * diag,
                step=2.0, turn=rng.uniform(0.005, 0.05), drift=rng.normal(0, 0.004),
            )
        else:
            pts = random_walk(
                rng, (rng.uniform(0, W), rng.uniform(0, H)), length=rng.uniform(0.2, 1.0) * diag,
                step=4.0, turn=0.0,
            )
        cv.polyline(pts, width=w, value=rng.uniform(0.55, 1.0))
    out = {}
    for polarity, cv in canvases.items():
        cov = cv.coverage()
        if rng.random() < 0.7:  # partly faded, with gaps
            fade = smooth_field(rng, shape, cells=int(rng.integers(2, 9)))
            lo = rng.uniform(-0.6, 0.4)
            cov *= np.clip((fade - lo) / 0.3, 0, 1)
        out[polarity] = soften(cov, rng.uniform(0, 0.7))
    return out


def _draw_scratches(img, rng, *, count=None, width=None):
    out = img
    cover = np.zeros(img.shape[:2], np.float32)
    for polarity, cov in _scratch_coverages(rng, img.shape[:2], count=count, width=width).items():
        sign = 1.0 if polarity == "bright" else -1.0
        if rng.random() < 0.5:  # absolute colour
            level = rng.uniform(0.8, 1.0) if sign > 0 else rng.uniform(0.0, 0.2)
            colour = _gray_or_colour(rng, img.shape[-1], level, saturation=rng.uniform(0, 0.1))
        else:  # relative to the image
            delta = sign * rng.uniform(0.2, 0.6)

            def colour(px, delta=delta):
                return np.clip(px + delta, 0, 1)

        out = _composite(out, cov, colour)
        np.maximum(cover, cov, out=cover)
    return _finish(img, out, cover)


def add_scratches(image, rng, **opts):
    """Add film scratches: long thin curves and vertical lines, 1-5 px.

    Scratches are bright or dark, anti-aliased, often partly faded, sometimes
    slightly blurred; their colour is absolute or relative to the image.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Float image in [0, 1].
    rng : numpy.random.Generator or int
        Random source (or seed).
    count : int, optional
        Number of scratches (default: random, 1 to 6).
    width : float, optional
        Width in pixels (default: random per scratch, 1 to 5).

    Returns
    -------
    damaged : ndarray
        New image, same shape and dtype.
    mask : ndarray of bool, shape (H, W)
        Pixels the scratches visibly changed.
    """
    return _public("scratch", image, rng, opts)[:2]


# ---------------------------------------------------------------- dust


def _dust_coverages(rng, shape, *, count=None):
    """Coverage of dark and bright dust (specks, fibres, hairs): polarity -> (H, W)."""
    H, W = shape
    area = max(H * W / 256.0**2, 0.05)
    n = int(count) if count is not None else max(1, int(rng.integers(3, 25) * np.sqrt(area)))
    main = "dark" if rng.random() < 0.5 else "bright"
    canvases = {}
    kinds = rng.choice(["speck", "fibre", "hair"], size=n, p=[0.75, 0.18, 0.07])
    for kind in kinds:
        polarity = main if rng.random() < 0.85 else ({"dark": "bright", "bright": "dark"}[main])
        cv = canvases.setdefault(polarity, Canvas(shape))
        value = rng.uniform(0.6, 1.0)
        start = (rng.uniform(0, W), rng.uniform(0, H))
        if kind == "speck":
            r = 0.5 + 7.0 * rng.random() ** 2.5  # diameter 1-15 px, mostly small
            k = int(rng.integers(5, 11))
            t = np.sort(rng.uniform(0, 2 * np.pi, k))
            rr = r * rng.uniform(0.55, 1.0, k)
            pts = np.stack([start[0] + rr * np.cos(t), start[1] + rr * np.sin(t)], axis=1)
            cv.polygon(pts, value=value)
        elif kind == "fibre":
            pts = random_walk(rng, start, length=rng.uniform(5, 40), step=1.5, turn=rng.uniform(0.1, 0.35))
            cv.polyline(pts, width=rng.uniform(1.0, 2.2), value=value)
        else:
            pts = random_walk(
                rng, start, length=rng.uniform(20, 120), step=2.0,
                turn=rng.uniform(0.03, 0.12), drift=rng.normal(0, 0.02),
            )
            cv.polyline(pts, width=rng.uniform(0.8, 1.6), value=value)
    return {p: soften(cv.coverage(), rng.uniform(0, 1.0) ** 2) for p, cv in canvases.items()}


def _draw_dust(img, rng, *, count=None):
    out = img
    cover = np.zeros(img.shape[:2], np.float32)
    for polarity, cov in _dust_coverages(rng, img.shape[:2], count=count).items():
        level = rng.uniform(0.0, 0.25) if polarity == "dark" else rng.uniform(0.8, 1.0)
        out = _composite(out, cov, _gray_or_colour(rng, img.shape[-1], level, saturation=rng.uniform(0, 0.08)))
        np.maximum(cover, cov, out=cover)
    return _finish(img, out, cover)


def add_dust(image, rng, **opts):
    """Add dust: specks (1-15 px), fibres and hairs, dark or bright.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Float image in [0, 1].
    rng : numpy.random.Generator or int
        Random source (or seed).
    count : int, optional
        Number of particles (default: random, scaled with the image area).

    Returns
    -------
    damaged : ndarray
        New image, same shape and dtype.
    mask : ndarray of bool, shape (H, W)
        Pixels the dust visibly changed.
    """
    return _public("dust", image, rng, opts)[:2]


# ---------------------------------------------------------------- blotches

_BLOTCH_KINDS = ("stain", "light", "opaque", "missing")


def _blotch_coverages(rng, shape, *, count=None):
    """Soft irregular blotch shapes: list of (kind, coverage (H, W))."""
    H, W = shape
    n = int(count) if count is not None else int(rng.integers(1, 4))
    out = []
    for _ in range(n):
        kind = _BLOTCH_KINDS[int(rng.integers(len(_BLOTCH_KINDS)))]
        size = max(5.0, rng.uniform(0.06, 0.4) * min(H, W))
        roughness = rng.uniform(0.3, 0.9) if kind != "missing" else rng.uniform(0.8, 1.6)
        softness = {"stain": rng.uniform(0.2, 0.8), "light": rng.uniform(0.3, 0.9)}.get(
            kind, rng.uniform(0.02, 0.12)
        )
        b = blob(rng, size, roughness=roughness, softness=softness)
        aspect = np.exp(rng.normal(0, 0.35))
        b = np.asarray(
            Image.fromarray(b, mode="F").resize(
                (max(3, int(size * aspect)), max(3, int(size / aspect))), Image.BILINEAR
            ),
            dtype=np.float32,
        )
        if kind == "missing" and rng.random() < 0.6:  # torn at an edge or corner
            r0 = rng.choice([-b.shape[0] / 2, H - b.shape[0] / 2, rng.uniform(-b.shape[0] / 2, H - b.shape[0] / 2)])
            c0 = rng.choice([-b.shape[1] / 2, W - b.shape[1] / 2]) if rng.random() < 0.7 else rng.uniform(0, W) - b.shape[1] / 2
        else:
            r0 = rng.uniform(-b.shape[0] / 3, H - 2 * b.shape[0] / 3)
            c0 = rng.uniform(-b.shape[1] / 3, W - 2 * b.shape[1] / 3)
        cov = paste_max(np.zeros(shape, np.float32), b, (r0, c0))
        out.append((kind, cov))
    return out


def _draw_blotches(img, rng, *, count=None):
    out = img
    C = img.shape[-1]
    cover = np.zeros(img.shape[:2], np.float32)
    for kind, cov in _blotch_coverages(rng, img.shape[:2], count=count):
        if kind == "stain":  # tinted, darker rim like a water mark
            tint = np.array([0.8, 0.62, 0.38], np.float32) if rng.random() < 0.6 else rng.uniform(0.3, 0.9, 3)
            tint = tint * rng.uniform(0.6, 1.0)
            tint = (tint if C == 3 else np.full(C, tint.mean())).astype(np.float32)

            def colour(px, tint=tint):
                return px * tint

            rim = 4 * cov * (1 - cov) * rng.uniform(0, 0.6)
            alpha = np.clip(cov * rng.uniform(0.5, 1.0) + rim, 0, 1)
        elif kind == "light":  # bleached or faded spot
            k = rng.uniform(0.3, 0.8)

            def colour(px, k=k):
                return px + (1 - px) * k

            alpha = cov * rng.uniform(0.5, 1.0)
        elif kind == "opaque":  # paint, ink, glue: opaque or tinted with texture
            base = _named_colour(rng, C) if rng.random() < 0.5 else _gray_or_colour(rng, C, rng.uniform(0, 1), saturation=0.3)
            texture = (smooth_field(rng, img.shape[:2], cells=int(rng.integers(4, 16))) - 0.5) * rng.uniform(0, 0.2)
            colour = np.clip(base + texture[..., None], 0, 1)
            alpha = cov * rng.uniform(0.75, 1.0)
        else:  # missing, torn: paper or backing colour, hard edge
            level = rng.choice([rng.uniform(0.85, 1.0), rng.uniform(0.0, 0.1), rng.uniform(0.4, 0.7)])
            colour = _gray_or_colour(rng, C, level, saturation=rng.uniform(0, 0.1))
            alpha = cov
        out = _composite(out, alpha, colour)
        np.maximum(cover, alpha, out=cover)
    return _finish(img, out, cover)


def add_blotches(image, rng, **opts):
    """Add blotches: stains and water marks, bleached spots, paint, torn areas.

    Soft-edged tinted stains (with a darker rim), light faded spots, opaque
    blobs, and missing (torn) areas with hard irregular edges, often at an
    image edge or corner.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Float image in [0, 1].
    rng : numpy.random.Generator or int
        Random source (or seed).
    count : int, optional
        Number of blotches (default: random, 1 to 3).

    Returns
    -------
    damaged : ndarray
        New image, same shape and dtype.
    mask : ndarray of bool, shape (H, W)
        Pixels the blotches visibly changed.
    """
    return _public("blotch", image, rng, opts)[:2]


# ---------------------------------------------------------------- text


def _text_size(rng, shape):
    m = min(shape)
    return float(np.clip(rng.uniform(0.025, 0.07) * m, 7, 48))


def _place(rng, shape, patch_shape, where):
    """Top-left (row, col) of a patch placed in a corner, along an edge, or anywhere."""
    H, W = shape
    h, w = patch_shape
    margin = rng.uniform(1, max(2, 0.04 * min(H, W)))
    top, bottom = margin, H - h - margin
    left, right = margin, W - w - margin
    if where == "corner":
        return rng.choice([top, bottom]), rng.choice([left, right])
    if where == "edge":
        if rng.random() < 0.5:
            return rng.choice([top, bottom]), rng.uniform(min(left, right), max(left, right))
        return rng.uniform(min(top, bottom), max(top, bottom)), rng.choice([left, right])
    return rng.uniform(min(0, H - h), max(0, H - h)), rng.uniform(min(0, W - w), max(0, W - w))


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


def _text_layers(rng, shape, *, count=None):
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

    def place(patch_shape, where):
        h, w = patch_shape
        for _ in range(6):
            r, c = _place(rng, shape, patch_shape, where)
            if all(r + h + 1 < t or r > b + 1 or c + w + 1 < left or c > right + 1 for t, left, b, right in taken):
                taken.append((r, c, r + h, c + w))
                return r, c
        return None

    for _ in range(n):
        kind = rng.choice(["block", "line", "scalebar", "box", "free"], p=[0.35, 0.25, 0.15, 0.1, 0.15])
        size = _text_size(rng, shape)
        font = _pick_font(rng)
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
        pos = place(outer.shape, where)
        if pos is None:
            continue
        if under is not None:
            layers.append((paste_max(np.zeros(shape, np.float32), under, pos), "outline"))
            dr, dc = (under.shape[0] - patch.shape[0]) // 2, (under.shape[1] - patch.shape[1]) // 2
            pos = (pos[0] + dr, pos[1] + dc)
        layers.append((paste_max(np.zeros(shape, np.float32), patch, pos), "fill"))
    return layers


def _draw_text(img, rng, *, count=None):
    out = img
    C = img.shape[-1]
    cover = np.zeros(img.shape[:2], np.float32)
    fill = _named_colour(rng, C)
    for cov, role in _text_layers(rng, img.shape[:2], count=count):
        if role == "outline":
            colour = 1 - fill if rng.random() < 0.7 else _named_colour(rng, C)
            alpha = cov * rng.uniform(0.7, 1.0)
        else:
            if rng.random() < 0.3:
                fill = _named_colour(rng, C)
            colour = fill
            alpha = cov * (1.0 if rng.random() < 0.7 else rng.uniform(0.6, 1.0))
        out = _composite(out, alpha, colour)
        np.maximum(cover, alpha, out=cover)
    return _finish(img, out, cover)


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
    return _public("text", image, rng, opts)[:2]


# ---------------------------------------------------------------- watermark


def _as_l(coverage):
    return Image.fromarray(np.round(np.clip(coverage, 0, 1) * 255).astype(np.uint8), mode="L")


def _from_l(img):
    return np.asarray(img, dtype=np.float32) / 255.0


def _resize(coverage, scale):
    """Resize a coverage map by ``scale`` (8-bit internally: fast)."""
    h, w = coverage.shape
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    resample = Image.BILINEAR if scale >= 1 else Image.BOX
    return _from_l(_as_l(coverage).resize(size, resample))


def _rotate(coverage, angle):
    """Rotate a coverage map counter-clockwise by ``angle`` degrees, expanding it."""
    return _from_l(_as_l(coverage).rotate(angle, resample=Image.BILINEAR, expand=True))


def _watermark_coverage(rng, shape, *, layout=None):
    """Coverage (H, W) of a watermark: one logo, a tiled logo or diagonal text."""
    H, W = shape
    layout = layout or rng.choice(["single", "tiled", "diagonal"], p=[0.4, 0.3, 0.3])
    cov = np.zeros(shape, np.float32)
    if layout == "single":
        logo = procedural_logo(rng, height=max(8, rng.uniform(0.1, 0.35) * H))
        logo = _resize(logo, min(1.0, 0.9 * W / logo.shape[1]))
        where = rng.choice(["center", "corner", "anywhere"], p=[0.45, 0.35, 0.2])
        if where == "center":
            pos = ((H - logo.shape[0]) / 2, (W - logo.shape[1]) / 2)
        else:
            pos = _place(rng, shape, logo.shape, where)
        return paste_max(cov, logo, pos)
    if layout == "tiled":
        unit = procedural_logo(rng, height=max(6, rng.uniform(0.04, 0.14) * min(H, W)))
        unit = _resize(unit, min(1.0, 0.45 * W / unit.shape[1]))
        gy = int(unit.shape[0] * rng.uniform(1.5, 4.0))
        gx = int(unit.shape[1] * rng.uniform(1.1, 2.0))
        angle = rng.uniform(-45, 45) if rng.random() < 0.6 else 0.0
        side = int(np.hypot(H, W)) + max(gy, gx) * 2
        big = np.zeros((side, side), np.float32)
        stagger = rng.random() < 0.5
        for i, r in enumerate(range(0, side - unit.shape[0], gy)):
            off = (gx // 2) * (i % 2) if stagger else 0
            for c in range(off, side - unit.shape[1], gx):
                big[r : r + unit.shape[0], c : c + unit.shape[1]] = unit
        if angle:
            big = _rotate(big, angle)
        r0 = (big.shape[0] - H) // 2 + int(rng.integers(0, gy))
        c0 = (big.shape[1] - W) // 2 + int(rng.integers(0, gx))
        return np.ascontiguousarray(big[r0 : r0 + H, c0 : c0 + W])
    # diagonal text, maybe repeated in parallel rows
    text = watermark_text(rng)
    angle = rng.choice([-1, 1]) * rng.uniform(15, 50)
    patch = render_text(text, size=64, font=_pick_font(rng))
    target = rng.uniform(0.5, 1.0) * np.hypot(H, W)
    patch = _rotate(_resize(patch, target / patch.shape[1]), angle)
    if rng.random() < 0.3:
        step = patch.shape[0] * rng.uniform(0.6, 1.2)
        for k in range(-2, 3):
            paste_max(cov, patch, ((H - patch.shape[0]) / 2 + k * step * 0.5, (W - patch.shape[1]) / 2 + k * step))
        return cov
    return paste_max(cov, patch, ((H - patch.shape[0]) / 2, (W - patch.shape[1]) / 2))


def _draw_watermark(img, rng, *, layout=None, opacity=None):
    C = img.shape[-1]
    cov = soften(_watermark_coverage(rng, img.shape[:2], layout=layout), rng.uniform(0, 1.0) ** 2)
    opacity = rng.uniform(0.15, 0.7) if opacity is None else float(opacity)
    mark = _named_colour(rng, C) if rng.random() < 0.4 else _gray_or_colour(
        rng, C, rng.choice([1.0, 0.0, rng.uniform(0.3, 0.8)], p=[0.6, 0.25, 0.15])
    )
    style = rng.choice(["flat", "outlined", "embossed"], p=[0.65, 0.2, 0.15])
    if style == "flat":
        shape_cov, mark_map = cov, np.broadcast_to(mark, img.shape)
    else:
        if style == "outlined":  # fill colour inside a contrasting rim
            outer = ndi.grey_dilation(cov, size=int(rng.choice([3, 5])))
            inner = cov
        else:  # bevel: light on one side of the strokes, dark on the other
            shift = tuple(int(v) for v in rng.choice([-1, 1], 2) * rng.integers(1, 3, 2))
            moved = np.roll(cov, shift, axis=(0, 1))
            outer, inner = np.maximum(cov, moved), np.clip(cov - moved, 0, 1)
            mark = np.full(C, 1.0, np.float32)
        weight = np.divide(inner, outer, out=np.zeros_like(cov), where=outer > 0)[..., None]
        rim = 1 - mark if style == "outlined" else np.zeros(C, np.float32)
        shape_cov, mark_map = outer, weight * mark + (1 - weight) * rim
    alpha = shape_cov * opacity
    if rng.random() < 0.3:  # uneven opacity
        alpha = alpha * (0.6 + 0.4 * smooth_field(rng, img.shape[:2], cells=3))
    mark_map = np.ascontiguousarray(mark_map, dtype=np.float32)
    return _finish(img, _composite(img, alpha, mark_map), alpha)._replace(mark=mark_map)


def add_watermark(image, rng, **opts):
    """Add a semi-transparent watermark: ``J = a * M + (1 - a) * I``.

    The mark is a procedural logo (emblem shapes and a made-up brand name),
    placed once, tiled (maybe rotated), or a text across the diagonal; flat,
    outlined with a contrasting rim, or embossed (light and dark edges).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Float image in [0, 1].
    rng : numpy.random.Generator or int
        Random source (or seed).
    layout : {'single', 'tiled', 'diagonal'}, optional
        Default: random.
    opacity : float, optional
        Peak opacity; default random in [0.15, 0.7].

    Returns
    -------
    damaged : ndarray
        New image, same shape and dtype.
    mask : ndarray of bool, shape (H, W)
        Pixels the watermark visibly changed.
    info : dict
        ``'alpha'``: float32 (H, W) opacity map ``a`` (0 outside ``mask``) and
        ``'mark'``: float32 (H, W[, C]) mark colour ``M``, such that
        ``damaged = alpha * mark + (1 - alpha) * image`` (up to rounding).
    """
    damaged, mask, layer = _public("watermark", image, rng, opts)
    mark = layer.mark[..., 0] if np.ndim(image) == 2 else layer.mark
    return damaged, mask, {"alpha": layer.cover, "mark": mark}


# ---------------------------------------------------------------- moire


def _moire_region(rng, shape, region):
    """Weight map (H, W) in [0, 1] of where the moire is."""
    H, W = shape
    if region is None:
        region = rng.random() < 0.5
    if not region:
        return np.ones(shape, np.float32)
    kind = rng.choice(["rect", "blob"])
    if kind == "rect":
        h, w = rng.uniform(0.25, 0.8) * H, rng.uniform(0.25, 0.8) * W
        y, x = rng.uniform(0, H - h), rng.uniform(0, W - w)
        yy, xx = np.ogrid[0:H, 0:W]
        soft = max(1.0, rng.uniform(0.0, 0.15) * min(h, w))
        d = np.minimum(np.minimum(yy - y, y + h - yy), np.minimum(xx - x, x + w - xx))
        weight = np.clip(d / soft, 0, 1).astype(np.float32)
    else:
        b = blob(rng, rng.uniform(0.3, 0.9) * min(H, W), roughness=0.4, softness=rng.uniform(0.1, 0.5))
        weight = paste_max(
            np.zeros(shape, np.float32), b, (rng.uniform(-0.2, 0.8) * H - b.shape[0] / 4, rng.uniform(-0.2, 0.8) * W - b.shape[1] / 4)
        )
    return weight


def _moire_pattern(rng, shape, channels, *, kind=None):
    """Relative modulation (H, W, C) of a screen grid or halftone seen by a camera.

    The grid (pitch P camera pixels, slightly rotated and warped) is written
    as a few harmonics attenuated by a Gaussian camera blur; sampling them at
    the pixel centres aliases them into low-frequency moire fringes.
    """
    H, W = shape
    kind = kind or rng.choice(["lcd", "halftone"])
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    theta = np.deg2rad(rng.normal(0, 4) if rng.random() < 0.7 else rng.uniform(-45, 45))
    # a pitch near 1 or 2 camera pixels aliases into wide fringes; coarser
    # pitches also leave the grid itself visible
    pitch = float(rng.choice([rng.uniform(0.85, 1.2), rng.uniform(1.8, 2.3), rng.uniform(1.2, 4.0)], p=[0.5, 0.25, 0.25]))
    amp = rng.uniform(0, 3.0)
    wu = amp * (smooth_field(rng, shape, cells=2) - 0.5)
    wv = amp * (smooth_field(rng, shape, cells=2) - 0.5)
    c, s = float(np.cos(theta)), float(np.sin(theta))  # Python floats keep float32 arrays
    u = (c * xx + s * yy + wu) / pitch
    v = (-s * xx + c * yy + wv) / (pitch * rng.uniform(0.9, 1.1))
    sigma = rng.uniform(0.1, 0.4)

    def mtf(n):
        return float(np.exp(-2 * (np.pi * sigma * n / pitch) ** 2))

    if kind == "lcd":  # RGB subpixel stripes along u, dark rows (black matrix) along v
        duty = rng.uniform(0.5, 0.9)
        rows = 1 - (1 - duty) * (1 + mtf(1) * np.cos(2 * np.pi * v))
        harmonics = [(np.cos(2 * np.pi * n * u), np.sin(2 * np.pi * n * u)) for n in (1, 2)]
        stripes = []
        for k in range(3):  # cos(x - p) = cos x cos p + sin x sin p
            t = np.full(shape, 1 / 3, np.float32)
            for n, (cos_nu, sin_nu) in zip((1, 2), harmonics):
                a = 2 / (np.pi * n) * np.sin(np.pi * n / 3) * mtf(n)
                phase = 2 * np.pi * n * (k / 3 + 1 / 6)
                t += a * np.cos(phase) * cos_nu + a * np.sin(phase) * sin_nu
            stripes.append(t * 3 * rows)
        pattern = np.stack(stripes, axis=-1)
        if channels != 3:
            pattern = (pattern @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    else:  # halftone dots at one screen angle
        p = 1 + mtf(1) * np.cos(2 * np.pi * u) * np.cos(2 * np.pi * v) + 0.5 * mtf(2) * np.cos(4 * np.pi * u)
        pattern = p[..., None]
    pattern = pattern / pattern.mean() - 1
    pattern = pattern / (pattern.std() + 1e-6)  # unit contrast
    if pattern.shape[-1] != channels:
        pattern = np.broadcast_to(pattern[..., :1], (H, W, channels))
    return pattern.astype(np.float32)


def _draw_moire(img, rng, *, region=None, kind=None, strength=None):
    shape = img.shape[:2]
    weight = _moire_region(rng, shape, region)
    weight = np.where(weight > ALPHA_TOL, weight, 0).astype(np.float32)
    pattern = _moire_pattern(rng, shape, img.shape[-1], kind=kind)
    m = rng.uniform(0.07, 0.3) if strength is None else float(strength)
    moire = np.clip(img * (1 + m * pattern), 0, 1)
    if rng.random() < 0.3:  # slight softening, as through a lens
        s = rng.uniform(0.3, 0.7)
        moire = ndi.gaussian_filter(moire, (s, s, 0), truncate=3.0)
    out = img + weight[..., None] * (moire - img)  # exactly img where weight is 0
    return _Layer(out.astype(np.float32, copy=False), weight > 0, np.zeros(shape, np.float32))


def add_moire(image, rng, **opts):
    """Add moire: a screen's subpixel grid or a halftone screen resampled by a camera.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Float image in [0, 1].
    rng : numpy.random.Generator or int
        Random source (or seed).
    region : bool, optional
        True: a soft-edged part of the image; False: the whole image;
        default random.
    kind : {'lcd', 'halftone'}, optional
        Default random.
    strength : float, optional
        Standard deviation of the relative modulation ``J / I - 1``; default
        random in [0.07, 0.3].

    Returns
    -------
    damaged : ndarray
        New image, same shape and dtype.
    mask : ndarray of bool, shape (H, W)
        The affected region.
    """
    return _public("moire", image, rng, opts)[:2]


DEFECT_FUNCTIONS = {
    "scratch": add_scratches,
    "dust": add_dust,
    "blotch": add_blotches,
    "text": add_text,
    "watermark": add_watermark,
    "moire": add_moire,
}
"""Class name -> public ``add_*`` function."""

_DRAWERS = {
    "scratch": _draw_scratches,
    "dust": _draw_dust,
    "blotch": _draw_blotches,
    "text": _draw_text,
    "watermark": _draw_watermark,
    "moire": _draw_moire,
}
"""Class name -> internal drawer ``(img (H, W, C) float32, rng) -> _Layer``."""

"""Procedural logos and watermark texts (never read from image files)."""

from __future__ import annotations

import numpy as np

from ._draw import Canvas, ellipse_points
from .text import pick_font, random_word, render_text


def _star(center, r_out, r_in, n, angle):
    t = angle + np.arange(2 * n) * np.pi / n
    r = np.where(np.arange(2 * n) % 2 == 0, r_out, r_in)
    return np.stack([center[0] + r * np.cos(t), center[1] + r * np.sin(t)], axis=1)


def _regular(center, r, n, angle):
    t = angle + np.arange(n) * 2 * np.pi / n
    return np.stack([center[0] + r * np.cos(t), center[1] + r * np.sin(t)], axis=1)


def emblem(rng, size):
    """A procedural emblem: coverage (size, size) in [0, 1].

    One to three shapes (disc, ring, star, polygon, rotated square, bars,
    concentric rings), some cut out of others, maybe with an initial letter.
    """
    size = max(8, int(size))
    cv = Canvas((size, size))
    c = ((size - 1) / 2, (size - 1) / 2)
    R = size * 0.46
    lw = max(1.0, size * rng.uniform(0.04, 0.12))
    for i in range(int(rng.integers(1, 4))):
        kind = rng.choice(["disc", "ring", "star", "polygon", "square", "bars", "rings"])
        value = 1.0 if i == 0 or rng.random() < 0.6 else 0.0  # 0 cuts out
        r = R * (1.0 if i == 0 else rng.uniform(0.35, 0.8))
        ang = rng.uniform(0, 2 * np.pi)
        if kind == "disc":
            cv.ellipse(c, (r, r * rng.uniform(0.6, 1.0)), angle=ang, value=value)
        elif kind == "ring":
            cv.ellipse(c, (r - lw / 2, r - lw / 2), value=value, outline_width=lw)
        elif kind == "star":
            n = int(rng.integers(4, 9))
            cv.polygon(_star(c, r, r * rng.uniform(0.35, 0.6), n, ang), value=value)
        elif kind == "polygon":
            cv.polygon(_regular(c, r, int(rng.integers(3, 9)), ang), value=value)
        elif kind == "square":
            cv.polygon(_regular(c, r, 4, ang), value=value, outline_width=lw * (rng.random() < 0.5))
        elif kind == "bars":
            n = int(rng.integers(2, 5))
            for k in range(n):
                x = c[0] - r + (k + 0.5) * 2 * r / n
                h = r * rng.uniform(0.4, 1.0)
                cv.polyline([(x, c[1] + r), (x, c[1] + r - 2 * h)], width=1.6 * r / n * 0.7, value=value)
        else:  # concentric rings
            for k in range(int(rng.integers(2, 4))):
                rk = r * (1 - 0.3 * k)
                if rk > lw:
                    cv.polygon(ellipse_points(c, (rk, rk)), value=value, outline_width=lw * 0.7)
    cov = cv.coverage()
    if rng.random() < 0.35:  # an initial letter, cut out or drawn
        letter = render_text(
            random_word(rng)[0].upper(), size=size * 0.55, font=pick_font(rng)
        )
        h, w = letter.shape
        r0, c0 = (size - h) // 2, (size - w) // 2
        if r0 >= 0 and c0 >= 0:
            region = cov[r0 : r0 + h, c0 : c0 + w]
            region[:] = np.abs(region - letter) if region.mean() > 0.3 else np.maximum(region, letter)
    return cov


def brand_name(rng):
    """A made-up brand or photographer name for a logo."""
    w = random_word(rng, min_syllables=2)
    forms = (
        w.upper(),
        w.capitalize(),
        f"{w.capitalize()} {random_word(rng).capitalize()}",
        f"{w.capitalize()}{rng.choice(['Lab', 'Foto', 'Media', 'Stock', 'Pix', 'Imaging'])}",
        f"www.{w}.{rng.choice(['com', 'org', 'net', 'io', 'de'])}",
        f"© {w.capitalize()} {int(rng.integers(1990, 2036))}",
        f"@{w}",
    )
    return forms[int(rng.integers(len(forms)))]


def watermark_text(rng):
    """A text used as a watermark on its own (diagonal or tiled)."""
    if rng.random() < 0.45:
        return str(rng.choice(["SAMPLE", "PREVIEW", "CONFIDENTIAL", "DRAFT", "COPY", "PROOF", "DO NOT COPY", "SPECIMEN"]))
    return brand_name(rng)


def procedural_logo(rng, *, height):
    """A logo: emblem and/or brand text, as coverage (h, w) in [0, 1].

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    height : int
        Approximate height of the logo in pixels.

    Returns
    -------
    coverage : ndarray of float32, shape (h, w)
        Anti-aliased coverage, tightly cropped.
    """
    height = max(8, int(height))
    layout = rng.choice(["side", "stacked", "text", "emblem", "framed"], p=[0.3, 0.2, 0.2, 0.15, 0.15])
    font = pick_font(rng)
    if layout == "emblem":
        return emblem(rng, height)
    if layout == "text":
        return render_text(watermark_text(rng), size=height * 0.8, font=font)
    if layout == "framed":
        text = render_text(brand_name(rng), size=height * 0.55, font=font)
        h, w = text.shape
        pad = max(2, int(height * 0.15))
        cv = Canvas((h + 2 * pad, w + 2 * pad))
        lw = max(1.0, height * 0.06)
        box = [(lw, lw), (w + 2 * pad - 1 - lw, lw), (w + 2 * pad - 1 - lw, h + 2 * pad - 1 - lw), (lw, h + 2 * pad - 1 - lw)]
        cv.polygon(box, outline_width=lw)
        out = cv.coverage()
        np.maximum(out[pad : pad + h, pad : pad + w], text, out=out[pad : pad + h, pad : pad + w])
        return out
    em = emblem(rng, height if layout == "side" else int(height * 0.6))
    text = render_text(brand_name(rng), size=height * (0.5 if layout == "side" else 0.3), font=font)
    gap = max(1, height // 8)
    if layout == "side":
        h = max(em.shape[0], text.shape[0])
        out = np.zeros((h, em.shape[1] + gap + text.shape[1]), np.float32)
        out[(h - em.shape[0]) // 2 :][: em.shape[0], : em.shape[1]] = em
        r = (h - text.shape[0]) // 2
        out[r : r + text.shape[0], em.shape[1] + gap :] = text
    else:
        w = max(em.shape[1], text.shape[1])
        out = np.zeros((em.shape[0] + gap + text.shape[0], w), np.float32)
        c = (w - em.shape[1]) // 2
        out[: em.shape[0], c : c + em.shape[1]] = em
        c = (w - text.shape[1]) // 2
        out[em.shape[0] + gap :, c : c + text.shape[1]] = text
    return out

"""Drawing primitives shared by the defect, logo and mask generators.

Everything here works on coverage maps: float32 arrays of shape (H, W) with
values in [0, 1] (1 = fully covered). Shapes are drawn with Pillow on a
supersampled canvas and reduced, which anti-aliases their edges without
depending on OpenCV.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

SUPERSAMPLE = 3
"""Supersampling factor of :class:`Canvas` (anti-aliasing quality)."""


class Canvas:
    """A coverage map of shape ``shape`` drawn at ``SUPERSAMPLE`` times its size.

    Coordinates are ``(x, y)`` = ``(column, row)`` in output pixels, pixel
    centres at integers. ``value`` in [0, 1] is the coverage of what is drawn;
    later drawing replaces earlier drawing where they overlap.
    """

    def __init__(self, shape, *, scale=SUPERSAMPLE):
        self.shape = (int(shape[0]), int(shape[1]))
        self.scale = scale
        self._img = Image.new("L", (self.shape[1] * scale, self.shape[0] * scale), 0)
        self._draw = ImageDraw.Draw(self._img)

    def _xy(self, points):
        s = self.scale
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return [((x + 0.5) * s, (y + 0.5) * s) for x, y in pts]

    def polyline(self, points, *, width, value=1.0):
        """Draw a connected line through ``points`` (N, 2) of ``width`` pixels."""
        w = max(1, int(round(width * self.scale)))
        xy = self._xy(points)
        self._draw.line(xy, fill=int(round(255 * value)), width=w, joint="curve")
        if w > 2:  # round caps
            r = w / 2
            for x, y in (xy[0], xy[-1]):
                self._draw.ellipse((x - r, y - r, x + r, y + r), fill=int(round(255 * value)))

    def polygon(self, points, *, value=1.0, outline_width=0):
        """Fill the polygon ``points`` (N, 2), or stroke it if ``outline_width``."""
        xy = self._xy(points)
        fill = int(round(255 * value))
        if outline_width:
            w = max(1, int(round(outline_width * self.scale)))
            self._draw.line(xy + xy[:1], fill=fill, width=w, joint="curve")
        else:
            self._draw.polygon(xy, fill=fill)

    def ellipse(self, center, radii, *, angle=0.0, value=1.0, outline_width=0):
        """Draw an ellipse at ``center`` (x, y) with ``radii`` (rx, ry), rotated."""
        self.polygon(
            ellipse_points(center, radii, angle=angle),
            value=value,
            outline_width=outline_width,
        )

    def coverage(self):
        """Return the canvas as float32 coverage (H, W) in [0, 1]."""
        return np.asarray(self._img.reduce(self.scale), dtype=np.float32) / 255.0


def ellipse_points(center, radii, *, angle=0.0, n=None):
    """Vertices (N, 2) of an ellipse, ``angle`` in radians."""
    rx, ry = radii
    if n is None:
        n = int(np.clip(2 * np.pi * max(rx, ry), 12, 180))
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x, y = rx * np.cos(t), ry * np.sin(t)
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([center[0] + c * x - s * y, center[1] + s * x + c * y], axis=1)


def smooth_field(rng, shape, *, cells=4):
    """Smooth random field (H, W) in [0, 1] from a bicubic ``cells`` grid."""
    h, w = int(shape[0]), int(shape[1])
    grid = rng.random((int(cells) + 1, int(cells) + 1), dtype=np.float32)
    field = np.asarray(
        Image.fromarray(grid, mode="F").resize((w, h), Image.BICUBIC), dtype=np.float32
    )
    lo, hi = field.min(), field.max()
    return (field - lo) / (hi - lo) if hi > lo else np.full((h, w), 0.5, np.float32)


def random_walk(rng, start, *, length, step=2.0, angle=None, turn=0.05, drift=0.0):
    """Points (N, 2) of a smooth random curve of about ``length`` pixels.

    The heading starts at ``angle`` (radians, random if None), changes by a
    random amount with standard deviation ``turn`` per step (a smooth
    curvature), plus a constant ``drift`` per step (an arc).
    """
    n = max(2, int(length / step) + 1)
    a0 = rng.uniform(0, 2 * np.pi) if angle is None else angle
    # curvature itself is smooth: integrate twice-smoothed noise
    kappa = rng.normal(0, turn, n)
    kappa = ndi.uniform_filter1d(kappa, size=max(1, n // 8)) * np.sqrt(max(1, n // 8))
    heading = a0 + np.cumsum(kappa + drift)
    dx, dy = step * np.cos(heading), step * np.sin(heading)
    x = start[0] + np.concatenate([[0], np.cumsum(dx[:-1])])
    y = start[1] + np.concatenate([[0], np.cumsum(dy[:-1])])
    return np.stack([x, y], axis=1)


def blob(rng, size, *, roughness=0.5, softness=0.15):
    """Soft irregular blob (size, size) in [0, 1], roughly round, centred.

    ``roughness`` in [0, 1] makes the outline more irregular; ``softness`` is
    the width of the soft edge as a fraction of the radius (0: hard).
    """
    size = max(3, int(size))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c = (size - 1) / 2
    r = np.hypot(xx - c, yy - c) / max(c, 1)
    noise = 0.6 * smooth_field(rng, (size, size), cells=int(rng.integers(2, 5)))
    noise += 0.4 * smooth_field(rng, (size, size), cells=int(rng.integers(5, 11)))
    v = (1 - r) + roughness * (noise - 0.5)
    thr = 0.25
    soft = max(softness, 1e-3) * (1 - thr)
    return np.clip((v - thr) / soft, 0, 1).astype(np.float32)


def paste_max(canvas, patch, top_left):
    """Paste ``patch`` into ``canvas`` at ``top_left`` (row, col), keeping the max.

    Parts outside the canvas are clipped. ``canvas`` is modified in place (it is
    always a buffer owned by the caller).
    """
    r0, c0 = int(top_left[0]), int(top_left[1])
    h, w = patch.shape[:2]
    H, W = canvas.shape[:2]
    rs, cs = max(r0, 0), max(c0, 0)
    re, ce = min(r0 + h, H), min(c0 + w, W)
    if rs >= re or cs >= ce:
        return canvas
    sub = patch[rs - r0 : re - r0, cs - c0 : ce - c0]
    np.maximum(canvas[rs:re, cs:ce], sub, out=canvas[rs:re, cs:ce])
    return canvas


def soften(coverage, sigma):
    """Gaussian-blur a coverage map (no-op for ``sigma`` < 0.2)."""
    if sigma < 0.2:
        return coverage
    return ndi.gaussian_filter(coverage, sigma, truncate=3.0)


def place(rng, shape, patch_shape, where):
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

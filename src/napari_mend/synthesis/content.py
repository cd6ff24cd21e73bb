"""Procedural content that looks like defects but belongs to the image.

Clean training material for the detector's hard negatives: thin lines that are
part of a scene (wires, branches, rims, fences), cell and crack networks, fur
and grass, star fields, woven and tiled textures. Each generator returns a
gray float image (H, W), about [0, 1]; :func:`napari_mend.synthesis.procedural_image`
colours and mixes them like its other kinds.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree

from ._draw import Canvas, ellipse_points, random_walk, smooth_field, soften


def _background(rng, shape):
    """A smooth, lightly textured backdrop."""
    field = smooth_field(rng, shape, cells=int(rng.integers(2, 6)))
    detail = smooth_field(rng, shape, cells=int(rng.integers(8, 24)))
    level, spread = rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.5)
    return level + spread * (field - 0.5) + rng.uniform(0, 0.15) * (detail - 0.5)


def _branch(rng, cv, start, angle, length, width, depth):
    pts = random_walk(rng, start, length=length, step=2.0, angle=angle, turn=0.04)
    cv.polyline(pts, width=width, value=1.0)
    if depth == 0 or width < 1.0:
        return
    for _ in range(int(rng.integers(1, 4))):
        k = int(rng.integers(len(pts) // 3, len(pts)))
        side = rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 1.0)
        d = pts[k] - pts[max(k - 1, 0)]
        heading = float(np.arctan2(d[1], d[0])) + side
        _branch(rng, cv, pts[k], heading, length * rng.uniform(0.4, 0.7), width * rng.uniform(0.5, 0.8), depth - 1)


def structures(rng, shape):
    """Thin structures of a scene: wires, branches, rims, fence or window bars.

    Each structure is drawn with a shading of its own (a highlight beside a
    shadow, or a plain dark or bright line) over a smooth background.
    """
    H, W = shape
    img = _background(rng, shape)
    for _ in range(int(rng.integers(1, 5))):
        cv = Canvas(shape)
        kind = rng.choice(["wire", "branch", "rim", "bars"])
        if kind == "wire":  # sagging cable across the image
            x = np.linspace(-0.1 * W, 1.1 * W, 64)
            y0, sag = rng.uniform(0, H), rng.uniform(-0.3, 0.3) * H
            y = y0 + sag * (2 * (x / W) - 1) ** 2
            pts = np.stack([x, y], 1)
            if rng.random() < 0.5:
                pts = pts[:, ::-1]
            cv.polyline(pts, width=rng.uniform(1.0, 4.0))
        elif kind == "branch":
            start = (rng.uniform(0, W), H + 2.0) if rng.random() < 0.6 else (rng.uniform(0, W), rng.uniform(0, H))
            _branch(rng, cv, start, -np.pi / 2 + rng.normal(0, 0.5), rng.uniform(0.3, 0.9) * H,
                    rng.uniform(2.0, 7.0), int(rng.integers(1, 4)))
        elif kind == "rim":  # rims of cups, wheels, lenses
            c = (rng.uniform(0, W), rng.uniform(0, H))
            r = rng.uniform(0.1, 0.6) * min(H, W)
            cv.polygon(ellipse_points(c, (r, r * rng.uniform(0.2, 1.0)), angle=rng.uniform(0, np.pi)),
                       outline_width=rng.uniform(1.0, 5.0))
        else:  # fence or window bars: parallel lines
            n = int(rng.integers(2, 9))
            angle = rng.choice([0.0, np.pi / 2]) + rng.normal(0, 0.1)
            gap = rng.uniform(0.05, 0.25) * min(H, W)
            off = rng.uniform(0, min(H, W))
            d = np.array([np.cos(angle), np.sin(angle)])
            normal = np.array([-d[1], d[0]])
            centre = np.array([W / 2, H / 2])
            width = rng.uniform(1.0, 6.0)
            for i in range(n):
                p = centre + normal * (off - min(H, W) / 2 + i * gap)
                cv.polyline([p - 2 * max(H, W) * d, p + 2 * max(H, W) * d], width=width)
        cov = soften(cv.coverage(), rng.uniform(0, 0.8))
        tone = rng.uniform(0, 1)
        img = img + cov * (tone - img)
        if rng.random() < 0.5:  # lit from one side: highlight beside the line
            shift = ndi.shift(cov, (rng.uniform(-2, 2), rng.uniform(-2, 2)), order=1)
            img = img + 0.5 * np.clip(shift - cov, 0, 1) * ((1 - tone) - img)
    return img


def cells(rng, shape):
    """A cell, cobble or crack network: Voronoi regions with thin borders."""
    H, W = shape
    n = int(rng.integers(8, 120))
    seeds = np.stack([rng.uniform(0, H, n), rng.uniform(0, W, n)], 1)
    jitter = 4.0 * (smooth_field(rng, shape, cells=6) - 0.5)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    dist, index = cKDTree(seeds).query(np.stack([(yy + jitter).ravel(), xx.ravel()], 1), k=2)
    label = index[:, 0].reshape(shape)
    edge = (dist[:, 1] - dist[:, 0]).reshape(shape)  # 0 on a border
    border = np.clip(1 - edge / rng.uniform(0.8, 4.0), 0, 1)
    img = rng.uniform(0.2, 0.8, n).astype(np.float32)[label] * rng.uniform(0.3, 1.0)
    img = img + rng.uniform(0.0, 0.3) * (smooth_field(rng, shape, cells=12) - 0.5)
    return img + border * (rng.uniform(0, 1) - img)


def fur(rng, shape):
    """Fur, grass or hair: many short strokes along a smooth direction field."""
    H, W = shape
    img = _background(rng, shape)
    direction = smooth_field(rng, shape, cells=3) * rng.uniform(0.5, 3.0) + rng.uniform(0, 2 * np.pi)
    count = int(rng.integers(150, 600) * H * W / 256.0**2)
    length = rng.uniform(6, 30)
    for tone in (rng.uniform(0, 0.4), rng.uniform(0.6, 1.0)):
        cv = Canvas(shape, scale=2)
        for _ in range(count // 2):
            x, y = rng.uniform(0, W), rng.uniform(0, H)
            a = float(direction[int(y) % H, int(x) % W])
            cv.polyline(random_walk(rng, (x, y), length=length * rng.uniform(0.5, 1.5), step=2.0, angle=a, turn=0.05),
                        width=rng.uniform(0.7, 2.0), value=rng.uniform(0.3, 1.0))
        cov = soften(cv.coverage(), rng.uniform(0, 0.6))
        img = img + cov * (tone - img)
    return img


def stars(rng, shape):
    """A star field: point sources of every brightness over faint diffuse light."""
    H, W = shape
    img = rng.uniform(0, 0.1) + rng.uniform(0, 0.25) * smooth_field(rng, shape, cells=int(rng.integers(2, 6))) ** 2
    count = int(rng.integers(30, 400) * H * W / 256.0**2)
    points = np.zeros(shape, np.float32)
    rows, cols = rng.integers(0, H, count), rng.integers(0, W, count)
    np.add.at(points, (rows, cols), (rng.pareto(1.5, count) + 0.2).astype(np.float32))
    img = img + ndi.gaussian_filter(points, rng.uniform(0.5, 1.5)) * rng.uniform(3, 10)
    for _ in range(int(rng.integers(0, 4))):  # diffuse galaxies
        cv = Canvas(shape, scale=1)
        r = rng.uniform(3, 20)
        cv.ellipse((rng.uniform(0, W), rng.uniform(0, H)), (r, r * rng.uniform(0.2, 1)), angle=rng.uniform(0, np.pi))
        img = img + soften(cv.coverage(), r / 2) * rng.uniform(0.1, 0.5)
    img = img + rng.normal(0, rng.uniform(0, 0.02), shape)
    return np.clip(img, 0, 1)


def weave(rng, shape):
    """Woven fabric, basket, tiles or bricks: a slightly irregular periodic texture."""
    H, W = shape
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    u = np.cos(angle) * xx + np.sin(angle) * yy
    v = -np.sin(angle) * xx + np.cos(angle) * yy
    warp = rng.uniform(0, 3) * (smooth_field(rng, shape, cells=4) - 0.5)
    period = rng.uniform(4, 24)
    pu, pv = (u + warp) / period, (v + warp) / (period * rng.uniform(0.7, 1.4))
    if rng.random() < 0.5:  # over-under weave
        img = 0.5 + 0.25 * np.cos(2 * np.pi * pu) * np.sign(np.cos(np.pi * np.floor(pv) + np.pi * np.floor(pu)))
        img = img + 0.25 * np.cos(2 * np.pi * pv)
    else:  # tiles or bricks with mortar lines
        row = np.floor(pv)
        stagger = 0.5 * (row % 2) * (rng.random() < 0.5)  # bricks, or tiles in a grid
        col = np.floor(pu + stagger)
        fu, fv = (pu + stagger) % 1, pv % 1
        mortar = np.minimum(np.minimum(fu, 1 - fu), np.minimum(fv, 1 - fv)) < rng.uniform(0.03, 0.12)
        tile = ((row * 7919 + col * 104729) % 97) / 97.0
        img = np.where(mortar, rng.uniform(0, 1), 0.3 + 0.4 * tile)
    shade = smooth_field(rng, shape, cells=int(rng.integers(2, 5)))
    return (img * (0.6 + 0.4 * shade)).astype(np.float32)


GENERATORS = {"structures": structures, "cells": cells, "fur": fur, "stars": stars, "weave": weave}
"""Kind name -> generator ``(rng, (H, W)) -> gray float (H, W)``."""
